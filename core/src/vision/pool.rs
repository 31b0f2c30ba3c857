//! ONNX `MaxPool` with a 2×2 window and stride 2, run by the SDK through `smartid-kernels`.
//!
//! Every MaxPool in MediaPipe's detector, mesh and Iris models is this one (the shortcut branch of
//! each downsampling block). tract walks it one output at a time, with bounds checks on each tap:
//! 13 % of the mesh's time in the test profile (`benches/model_ops.rs`). [`MaxPool2x2`]
//! folds each window the same way (`f32::MIN`, then `f32::max` over the four values in order, so NaN
//! and -∞ give what tract gives) in a loop built at opt-level 3. Any other pool is left to tract,
//! built as tract's ONNX parser builds it.

use std::sync::OnceLock;

use smartid_kernels::max_pool_2x2_plane;
use tract_onnx::Onnx;
use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::cnn::{HirMaxPool, PaddingSpec, PoolSpec};
use tract_onnx::tract_hir::ops::nn::DataFormat;

/// An ONNX operator parser, as tract's register holds them (its own alias is private).
type OpBuilder =
    fn(&ParsingContext, &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

/// The `MaxPool` parser registered before this module's (tract's, as `operators` adapts it), for the
/// nodes this module leaves to it.
static TRACT_MAX_POOL: OnceLock<OpBuilder> = OnceLock::new();

/// Parses ONNX `MaxPool` with this module from now on.
pub fn register(onnx: &mut Onnx) {
    if let Some(tract) = onnx.op_register.0.get("MaxPool") {
        let _ = TRACT_MAX_POOL.set(*tract);
        onnx.op_register.insert("MaxPool", parse);
    }
}

fn parse(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    if is_2x2_stride_2(node)? {
        let tract = HirMaxPool::new(
            PoolSpec {
                data_format: DataFormat::NCHW,
                kernel_shape: tvec!(2, 2),
                padding: PaddingSpec::ExplicitOnnxPool(tvec!(0, 0), tvec!(0, 0), false),
                dilations: node.get_attr_opt_tvec("dilations")?,
                strides: Some(tvec!(2, 2)),
                input_channels: 0,
                output_channels: 0,
            },
            None,
        );
        return Ok((expand(MaxPool2x2Expansion { tract }), vec![]));
    }
    let tract = TRACT_MAX_POOL
        .get()
        .ok_or_else(|| format_err!("tract's MaxPool parser was not registered"))?;
    tract(ctx, node)
}

/// A 2×2 window, stride 2, no padding, no dilation, floor rounding, one output (no indices).
fn is_2x2_stride_2(node: &NodeProto) -> TractResult<bool> {
    let kernel: TVec<usize> = node.get_attr_tvec("kernel_shape")?;
    let strides: Option<TVec<usize>> = node.get_attr_opt_tvec("strides")?;
    let pads: Option<TVec<usize>> = node.get_attr_opt_tvec("pads")?;
    let dilations: Option<TVec<usize>> = node.get_attr_opt_tvec("dilations")?;
    let ceil_mode: Option<isize> = node.get_attr_opt("ceil_mode")?;
    let auto_pad: Option<&str> = node.get_attr_opt("auto_pad")?;
    Ok(kernel[..] == [2, 2]
        && strides.is_some_and(|s| s[..] == [2, 2])
        && pads.is_none_or(|p| p[..] == [0, 0, 0, 0])
        && dilations.is_none_or(|d| d[..] == [1, 1])
        && ceil_mode.is_none_or(|c| c == 0)
        && auto_pad.is_none_or(|a| a == "NOTSET")
        && node.output.len() == 1)
}

/// The parsed node: [`MaxPool2x2`] when the input is a concrete f32 `[N, C, H, W]`, else tract's.
#[derive(Debug, Clone)]
struct MaxPool2x2Expansion {
    tract: HirMaxPool,
}

impl Expansion for MaxPool2x2Expansion {
    fn name(&self) -> StaticName {
        "MaxPool".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        self.tract.rules(s, inputs, outputs)
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let x = model.outlet_fact(inputs[0])?;
        if x.datum_type == f32::datum_type() && x.shape.as_concrete().is_some_and(|s| s.len() == 4)
        {
            return model.wire_node(name, MaxPool2x2, &[inputs[0]]);
        }
        self.tract.wire(name, model, inputs)
    }
}

/// 2×2 max pool, stride 2, of an f32 `[N, C, H, W]` input: `[N, C, H / 2, W / 2]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaxPool2x2;

impl Op for MaxPool2x2 {
    fn name(&self) -> StaticName {
        "SdkMaxPool2x2".into()
    }

    op_as_typed_op!();
}

impl EvalOp for MaxPool2x2 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let shape = x.shape();
        let [n, c, h, w] = *shape else {
            bail!("SdkMaxPool2x2: input of shape {shape:?}, not [N, C, H, W]");
        };
        let mut y = Tensor::zero::<f32>(&[n, c, h / 2, w / 2])?;
        if y.len() == 0 {
            return Ok(tvec!(y.into_tvalue()));
        }
        {
            let x = x.try_as_plain_ram()?;
            let x = x.as_slice::<f32>()?;
            let mut view = y.try_as_plain_ram_mut()?;
            let out = view.as_slice_mut::<f32>()?;
            let planes = x
                .chunks_exact(h * w)
                .zip(out.chunks_exact_mut((h / 2) * (w / 2)));
            for (input, output) in planes {
                max_pool_2x2_plane(input, h, w, output)
                    .ok_or_else(|| format_err!("SdkMaxPool2x2: a plane does not fit"))?;
            }
        }
        Ok(tvec!(y.into_tvalue()))
    }
}

impl TypedOp for MaxPool2x2 {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = inputs[0]
            .shape
            .as_concrete()
            .ok_or_else(|| format_err!("SdkMaxPool2x2: symbolic input shape"))?;
        let [n, c, h, w] = *shape else {
            bail!("SdkMaxPool2x2: input of shape {shape:?}, not [N, C, H, W]");
        };
        Ok(tvec!(f32::fact([n, c, h / 2, w / 2])))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::vision::frontend::onnx as sdk_onnx;
    use crate::vision::onnx_graphs::{bits, first_output, model, node, plan, sdk_plan, value};
    use tract_onnx::pb::attribute_proto::AttributeType;
    use tract_onnx::pb::tensor_proto::DataType;
    use tract_onnx::pb::{AttributeProto, GraphProto, ModelProto, TensorProto};

    fn ints(name: &str, values: &[i64]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: AttributeType::Ints as i32,
            ints: values.to_vec(),
            ..Default::default()
        }
    }

    fn int(name: &str, value: i64) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: AttributeType::Int as i32,
            i: value,
            ..Default::default()
        }
    }

    /// `y = MaxPool(x + 0)` with these attributes; the Add makes `x` an intermediate value, as in the
    /// real models. `outputs` 2 asks for the indices too.
    fn pool_model(x: &[usize], attributes: Vec<AttributeProto>, outputs: usize) -> ModelProto {
        let dims: Vec<i64> = x.iter().map(|d| *d as i64).collect();
        let mut pool = node("MaxPool", &["h"], "y");
        pool.attribute = attributes;
        if outputs == 2 {
            pool.output.push("indices".into());
        }
        model(GraphProto {
            node: vec![node("Add", &["x", "zero"], "h"), pool],
            initializer: vec![TensorProto {
                name: "zero".into(),
                data_type: DataType::Float as i32,
                float_data: vec![0.0],
                ..Default::default()
            }],
            input: vec![value("x", &dims)],
            output: vec![value("y", &[])],
            ..Default::default()
        })
    }

    fn runs_ours(plan: &TypedRunnableModel) -> bool {
        plan.model().nodes().iter().any(|n| n.op_is::<MaxPool2x2>())
    }

    /// Values with NaN, ±0, -∞ and +∞ among them.
    fn input(shape: &[usize]) -> Tensor {
        let len: usize = shape.iter().product();
        let mut values: Vec<f32> = (0..len).map(|i| ((i * 37) % 23) as f32 - 11.5).collect();
        let specials = [f32::NAN, -0.0, f32::NEG_INFINITY, 0.0, f32::INFINITY];
        for (v, s) in values.iter_mut().step_by(5).zip(specials.iter().cycle()) {
            *v = *s;
        }
        Tensor::from_shape(shape, &values).unwrap()
    }

    #[test]
    fn pools_2x2_stride_2_are_ours_and_answer_as_tract_does() {
        let attributes = || {
            vec![
                ints("kernel_shape", &[2, 2]),
                ints("strides", &[2, 2]),
                ints("pads", &[0, 0, 0, 0]),
            ]
        };
        // Even planes, odd ones (a last row and column dropped), a batch of two.
        for shape in [[1, 3, 4, 6], [1, 2, 5, 7], [2, 2, 2, 2]] {
            let proto = pool_model(&shape, attributes(), 1);
            let ours = sdk_plan(&sdk_onnx(), &proto, &shape);
            let theirs = plan(&tract_onnx::onnx(), &proto, &shape);
            assert!(runs_ours(&ours), "{shape:?}");
            assert!(!runs_ours(&theirs));
            let x = input(&shape);
            let (a, b) = (first_output(&ours, x.clone()), first_output(&theirs, x));
            assert_eq!(
                a.len(),
                shape[0] * shape[1] * (shape[2] / 2) * (shape[3] / 2)
            );
            assert_eq!(bits(&a), bits(&b), "{shape:?}");
        }
        // No pads and no strides attribute beyond the kernel's: the same pool.
        let bare = pool_model(
            &[1, 1, 4, 4],
            vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
            1,
        );
        assert!(runs_ours(&sdk_plan(&sdk_onnx(), &bare, &[1, 1, 4, 4])));
    }

    #[test]
    fn other_pools_stay_tracts() {
        let shape = [1, 2, 6, 6];
        let with = |extra: Vec<AttributeProto>| {
            let mut attributes = vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])];
            attributes.retain(|a| !extra.iter().any(|e| e.name == a.name));
            attributes.extend(extra);
            attributes
        };
        let cases = [
            ("3x3 window", with(vec![ints("kernel_shape", &[3, 3])]), 1),
            ("stride 1", with(vec![ints("strides", &[1, 1])]), 1),
            ("no strides", vec![ints("kernel_shape", &[2, 2])], 1),
            ("padding", with(vec![ints("pads", &[0, 0, 1, 1])]), 1),
            ("ceil mode", with(vec![int("ceil_mode", 1)]), 1),
            ("dilation", with(vec![ints("dilations", &[2, 2])]), 1),
        ];
        for (case, attributes, outputs) in cases {
            let proto = pool_model(&shape, attributes, outputs);
            let ours = sdk_plan(&sdk_onnx(), &proto, &shape);
            let theirs = plan(&tract_onnx::onnx(), &proto, &shape);
            assert!(!runs_ours(&ours), "{case}");
            let x = input(&shape);
            let (a, b) = (first_output(&ours, x.clone()), first_output(&theirs, x));
            assert_eq!(bits(&a), bits(&b), "{case}");
        }
        // The ONNX `Indices` output is not among what the SDK parses (`operators`): refused, named.
        let indices = pool_model(&shape, with(vec![]), 2);
        let refused = sdk_onnx().model_for_proto_model(&indices).unwrap_err();
        assert!(format!("{refused:#}").contains("Indices"), "{refused:#}");
    }

    #[test]
    fn the_operator_alone() {
        let eval = |x: Tensor| -> TractResult<TVec<TValue>> {
            MaxPool2x2
                .eval_out_of_plan(tvec!(x.into_tvalue()))?
                .ok_or_else(|| format_err!("no output"))
        };
        let flat = Tensor::from_shape(&[2, 4], &[0.0f32; 8]).unwrap();
        assert!(eval(flat).is_err(), "not [N, C, H, W]");
        let ints = Tensor::from_shape(&[1, 1, 2, 2], &[1i32, 2, 3, 4]).unwrap();
        assert!(eval(ints).is_err(), "not f32");
        let thin = Tensor::from_shape(&[1, 2, 1, 4], &[0.0f32; 8]).unwrap();
        assert_eq!(eval(thin).unwrap()[0].shape(), [1, 2, 0, 2]);
        let x = Tensor::from_shape(&[1, 1, 2, 2], &[1.0f32, f32::NAN, -3.0, 0.5]).unwrap();
        let y = eval(x).unwrap();
        assert_eq!(
            y[0].to_plain_array_view::<f32>()
                .unwrap()
                .as_slice()
                .unwrap(),
            [1.0]
        );
    }
}
