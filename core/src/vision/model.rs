//! One ONNX model loaded with tract: checksum-verified bytes in, named float outputs out.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::manifest::{Colour, InputSpec, ModelSpec};
use crate::profile::{self, Stage};

use super::{frontend, operators, weights};

type Plan = Arc<TypedRunnableModel>;

pub struct OnnxModel {
    role: &'static str,
    stage: Stage,
    plan: Plan,
    outputs: HashMap<String, usize>,
    input: InputSpec,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OnnxModel({})", self.role)
    }
}

impl OnnxModel {
    /// Parses and optimises a model whose bytes already passed the manifest checksum. A model with
    /// an operator the SDK does not parse, or a tensor of an element type it does not compute in,
    /// fails here, naming it. Bytes passed by value are freed once decoded: otherwise the
    /// embedder's file (5.4 MiB) would sit beside its weights for the whole load.
    pub fn load(role: &'static str, spec: &ModelSpec, bytes: impl AsRef<[u8]>) -> Result<Self> {
        let err = |e: TractError| Error::ModelLoad {
            role: role.into(),
            detail: format!("{e}"),
        };
        let onnx = frontend::onnx();
        let mut proto = onnx
            .proto_model_for_read(&mut Cursor::new(bytes.as_ref()))
            .map_err(err)?;
        drop(bytes);
        if let Some((op, nodes)) = proto
            .graph
            .as_ref()
            .and_then(|g| operators::unsupported(&onnx, g))
        {
            return Err(Error::ModelLoad {
                role: role.into(),
                detail: format!(
                    "ONNX operator {op} ({nodes} nodes) is not one the SDK parses (core/src/vision/operators.rs)"
                ),
            });
        }
        if let Some((dt, place)) = proto
            .graph
            .as_ref()
            .and_then(operators::unsupported_element_type)
        {
            return Err(Error::ModelLoad {
                role: role.into(),
                detail: format!(
                    "ONNX element type {dt} ({place}) is not one the SDK computes in (core/src/vision/operators.rs)"
                ),
            });
        }
        let mut model = onnx.model_for_proto_model(&proto).map_err(err)?;
        if let Some(graph) = proto.graph.as_mut() {
            weights::unfold_int8_weights(graph, &mut model, spec.fp16_conv_kernels_from)
                .map_err(err)?;
        }
        drop(proto);
        let mut outputs = HashMap::new();
        for (ix, outlet) in model.output_outlets().map_err(err)?.iter().enumerate() {
            let label = model
                .outlet_label(*outlet)
                .map(str::to_string)
                .unwrap_or_else(|| model.node(outlet.node).name.clone());
            outputs.insert(label, ix);
        }
        let model = model
            .with_input_fact(0, f32::fact(spec.input.shape).into())
            .map_err(err)?;
        let plan = frontend::optimize(model, spec.fp16_conv_kernels_from)
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        Ok(Self {
            role,
            stage: Stage::for_role(role),
            plan,
            outputs,
            input: spec.input.clone(),
        })
    }

    /// Fails at load time, not on the first frame, when the manifest names an output the model lacks.
    pub fn require_output(&self, name: &str) -> Result<usize> {
        self.outputs.get(name).copied().ok_or_else(|| {
            Error::ManifestInvalid(format!("{}: model has no output named '{name}'", self.role))
        })
    }

    pub fn input_spec(&self) -> &InputSpec {
        &self.input
    }

    /// Runs on a crop already sized to the input; returns every output flattened.
    pub fn run(&self, crop: &RgbImage) -> Result<Vec<Vec<f32>>> {
        let start = std::time::Instant::now();
        let tensor = self.to_tensor(crop)?;
        profile::record(Stage::Tensor, start);
        let start = std::time::Instant::now();
        let out = self
            .plan
            .run(tvec!(tensor.into()))
            .map_err(|e| Error::Inference {
                role: self.role.into(),
                detail: format!("{e}"),
            })?;
        profile::record(self.stage, start);
        out.iter()
            .map(|v| {
                v.to_plain_array_view::<f32>()
                    .map(|a| a.iter().copied().collect())
                    .map_err(|e| Error::Inference {
                        role: self.role.into(),
                        detail: format!("{e}"),
                    })
            })
            .collect()
    }

    /// NCHW float tensor in the manifest's colour order and normalisation.
    fn to_tensor(&self, crop: &RgbImage) -> Result<Tensor> {
        let spec = &self.input;
        let (c, h, w) = (spec.channels(), spec.height(), spec.width());
        let err = |detail: String| Error::Inference {
            role: self.role.into(),
            detail,
        };
        if crop.width() as usize != w || crop.height() as usize != h {
            return Err(err("crop size differs from the model input".into()));
        }
        let px = crop.as_bytes();
        // Written in place: a tensor built from a slice would copy it once more.
        let mut tensor = Tensor::zero::<f32>(&spec.shape).map_err(|e| err(format!("{e}")))?;
        {
            let mut view = tensor
                .try_as_plain_ram_mut()
                .map_err(|e| err(format!("{e}")))?;
            let data = view
                .as_slice_mut::<f32>()
                .map_err(|e| err(format!("{e}")))?;
            match spec.colour {
                Colour::Rgb | Colour::Bgr => {
                    let order = if spec.colour == Colour::Rgb {
                        [0, 1, 2]
                    } else {
                        [2, 1, 0]
                    };
                    let (mean, std) = (channel_values(&spec.mean)?, channel_values(&spec.std)?);
                    smartid_kernels::rgb_to_planes(px, order, mean, std, data)
                        .ok_or_else(|| err("the input is not three channel planes".into()))?;
                }
                Colour::Grey => {
                    if data.len() != h * w || c != 1 {
                        return Err(err("the input is not one channel plane".into()));
                    }
                    for (v, p) in data.iter_mut().zip(px.chunks_exact(3)) {
                        *v = (crate::frame::luma(p[0], p[1], p[2]) - spec.mean[0]) / spec.std[0];
                    }
                }
            }
        }
        Ok(tensor)
    }
}

/// The manifest's three per-channel values (its validation requires three for RGB and BGR).
fn channel_values(values: &[f32]) -> Result<[f32; 3]> {
    values
        .try_into()
        .map_err(|_| Error::ManifestInvalid("mean and std need one value per channel".into()))
}

pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x.clamp(-80.0, 80.0)).exp())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::vision::onnx_graphs::{bits, model, node, sdk_plan, value};
    use tract_onnx::pb::GraphProto;

    /// A model whose output is its input, so `run` returns the input tensor as built.
    fn identity(shape: [usize; 4], colour: Colour, mean: Vec<f32>, std: Vec<f32>) -> OnnxModel {
        let dims: Vec<i64> = shape.iter().map(|d| *d as i64).collect();
        let proto = model(GraphProto {
            node: vec![node("Identity", &["x"], "y")],
            input: vec![value("x", &dims)],
            output: vec![value("y", &dims)],
            ..Default::default()
        });
        OnnxModel {
            role: "identity",
            stage: Stage::Tensor,
            plan: sdk_plan(&frontend::onnx(), &proto, &shape),
            outputs: HashMap::from([("y".to_string(), 0)]),
            input: InputSpec {
                shape,
                colour,
                mean,
                std,
            },
        }
    }

    /// Each colour order's planes, to the bit of `(pixel − mean) / std` in the manifest's order.
    #[test]
    fn input_planes_follow_the_colour_order_and_normalisation() {
        let (w, h) = (5u32, 3u32);
        let px: Vec<u8> = (0..w * h * 3).map(|i| (i * 53 % 256) as u8).collect();
        let crop = RgbImage::from_raw(w, h, px.clone()).unwrap();
        let (mean, std) = (vec![127.5, 3.0, 0.0], vec![127.5, 0.7, 255.0]);
        let n = (w * h) as usize;
        for (colour, order) in [(Colour::Rgb, [0, 1, 2]), (Colour::Bgr, [2, 1, 0])] {
            let m = identity(
                [1, 3, h as usize, w as usize],
                colour,
                mean.clone(),
                std.clone(),
            );
            let got = m.run(&crop).unwrap().remove(0);
            let mut want = Vec::new();
            for k in 0..3 {
                let c = order[k];
                want.extend((0..n).map(|i| (f32::from(px[i * 3 + c]) - mean[k]) / std[k]));
            }
            assert_eq!(bits(&got), bits(&want), "{colour:?}");
        }
        let grey = identity(
            [1, 1, h as usize, w as usize],
            Colour::Grey,
            vec![9.0],
            vec![2.0],
        );
        let got = grey.run(&crop).unwrap().remove(0);
        let want: Vec<f32> = px
            .chunks_exact(3)
            .map(|p| (crate::frame::luma(p[0], p[1], p[2]) - 9.0) / 2.0)
            .collect();
        assert_eq!(bits(&got), bits(&want));
        let small = RgbImage::from_raw(2, 2, vec![0; 12]).unwrap();
        assert!(matches!(grey.run(&small), Err(Error::Inference { .. })));
    }
}
