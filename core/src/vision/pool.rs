//! ONNX `MaxPool` with a 2×2 window and stride 2, run by the SDK through `smartid-kernels`.
//!
//! Every MaxPool in MediaPipe's detector, mesh and Iris models is this one (the shortcut branch of
//! each downsampling block). tract walks it one output at a time, with bounds checks on each tap:
//! 13 % of the mesh's time for a pass over 16 channel planes (`benches/model_ops.rs`). [`MaxPool2x2`]
//! folds each window the same way (`f32::MIN`, then `f32::max` over the four values in order, so NaN
//! and -∞ give what tract gives) in a loop built at opt-level 3. Any other pool is left to tract,
//! built as tract's ONNX parser builds it.

use std::sync::OnceLock;

use smartid_kernels::max_pool_2x2_plane;
use tract_onnx::Onnx;
use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// An ONNX operator parser, as tract's register holds them (its own alias is private).
type OpBuilder =
    fn(&ParsingContext, &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;
use tract_onnx::tract_hir::ops::cnn::{HirMaxPool, PaddingSpec, PoolSpec};
use tract_onnx::tract_hir::ops::nn::DataFormat;

/// tract's own `MaxPool` parser, for the nodes this module leaves to it.
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
