//! One ONNX model loaded with tract: checksum-verified bytes in, named float outputs out.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::manifest::{Colour, InputSpec, ModelSpec};
use crate::profile::{self, Stage};

use super::{frontend, weights};

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
    /// Parses and optimises a model whose bytes already passed the manifest checksum.
    pub fn load(role: &'static str, spec: &ModelSpec, bytes: &[u8]) -> Result<Self> {
        let err = |e: TractError| Error::ModelLoad {
            role: role.into(),
            detail: format!("{e}"),
        };
        let onnx = frontend::onnx();
        let proto = onnx
            .proto_model_for_read(&mut Cursor::new(bytes))
            .map_err(err)?;
        let mut model = onnx.model_for_proto_model(&proto).map_err(err)?;
        if let Some(graph) = proto.graph.as_ref() {
            weights::unfold_int8_weights(graph, &mut model).map_err(err)?;
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
        let plan = frontend::optimize(model)
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
        if crop.width() as usize != w || crop.height() as usize != h {
            return Err(Error::Inference {
                role: self.role.into(),
                detail: "crop size differs from the model input".into(),
            });
        }
        let px = crop.as_bytes();
        let plane = h * w;
        let mut data = vec![0f32; c * plane];
        for i in 0..plane {
            let (r, g, b) = (px[i * 3], px[i * 3 + 1], px[i * 3 + 2]);
            match spec.colour {
                Colour::Rgb | Colour::Bgr => {
                    let vals = if spec.colour == Colour::Rgb {
                        [r, g, b]
                    } else {
                        [b, g, r]
                    };
                    for ch in 0..3 {
                        data[ch * plane + i] = (vals[ch] as f32 - spec.mean[ch]) / spec.std[ch];
                    }
                }
                Colour::Grey => {
                    data[i] = (crate::frame::luma(r, g, b) - spec.mean[0]) / spec.std[0];
                }
            }
        }
        Tensor::from_shape(&spec.shape, &data).map_err(|e| Error::Inference {
            role: self.role.into(),
            detail: format!("{e}"),
        })
    }
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
