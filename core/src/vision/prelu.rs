//! ONNX `PRelu` with one slope per channel, as one in-place pass.
//!
//! tract expands `PRelu` into three whole-tensor operators (a comparison with zero, a multiplication by
//! the slopes, a select), each writing a new tensor. MediaPipe's mesh and Iris models and faceplugin's
//! anti-spoof model put a PRelu after nearly every convolution, and those three operators were 40–50 %
//! of the mesh's and Iris's time (`benches/model_ops.rs`). Where the slope is a constant with one value
//! per channel (axis 1), as in every PRelu of the shipped models, [`ChannelPrelu`] does the same
//! arithmetic (`x < 0 ? x × slope : x`, so the answers are bit-identical) over the input's own buffer
//! when the graph no longer needs it, in `smartid-kernels`' loop (built at opt-level 3, where it
//! vectorises). Any other slope keeps tract's expansion, wired as tract wires it.

use tract_onnx::Onnx;
use tract_onnx::tract_hir::internal::*;

/// Parses ONNX `PRelu` with this module from now on.
pub fn register(onnx: &mut Onnx) {
    onnx.op_register
        .insert("PRelu", |_, _| Ok((expand(PreluExpansion), vec![])));
}

/// The parsed ONNX node: decides at typing time, when shapes and constants are known.
#[derive(Debug, Clone)]
struct PreluExpansion;

impl Expansion for PreluExpansion {
    fn name(&self) -> StaticName {
        "Prelu".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let (x, slope) = (inputs[0], inputs[1]);
        if let Some(slopes) = per_channel_slopes(model.outlet_fact(x)?, model.outlet_fact(slope)?) {
            let slopes = model.add_const(format!("{name}.slopes"), slopes)?;
            return model.wire_node(name, ChannelPrelu, &[x, slopes]);
        }
        wire_as_tract_does(name, model, x, slope)
    }
}

/// The slopes as one value per channel of `x`, when that is what they are: `x` f32 with a known channel
/// count (axis 1), the slope a constant f32 that broadcasts along axis 1 only (`[C, 1, …]`, with or
/// without leading ones) or a single value. ONNX broadcasting is right-aligned, so a `[C]` slope on a
/// rank-4 `x` runs along the last axis and is not per channel.
fn per_channel_slopes(x: &TypedFact, slope: &TypedFact) -> Option<Tensor> {
    if x.datum_type != f32::datum_type() || slope.datum_type != f32::datum_type() {
        return None;
    }
    let rank = x.rank();
    let channels = x.shape.as_concrete()?.get(1).copied()?;
    let konst = slope.konst.as_ref()?;
    if konst.rank() > rank {
        return None;
    }
    let mut dims = vec![1usize; rank - konst.rank()];
    dims.extend_from_slice(konst.shape());
    let per_channel = dims[1] == channels;
    if dims
        .iter()
        .enumerate()
        .any(|(axis, d)| *d != 1 && !(axis == 1 && per_channel))
    {
        return None;
    }
    let values = konst
        .try_as_plain_ram()
        .ok()?
        .as_slice::<f32>()
        .ok()?
        .to_vec();
    let values = match values.as_slice() {
        [one] => vec![*one; channels],
        all if all.len() == channels => all.to_vec(),
        _ => return None,
    };
    Some(tensor1(&values))
}

/// tract-onnx 0.23.9's own expansion (private there): `iff(0 > x, x × slope, x)`.
fn wire_as_tract_does(
    name: &str,
    model: &mut TypedModel,
    x: OutletId,
    mut slope: OutletId,
) -> TractResult<TVec<OutletId>> {
    let rank = model.outlet_fact(x)?.rank();
    while model.outlet_fact(slope)?.rank() < rank {
        slope = model.wire_node(
            format!("{name}.add-axis-{}", model.outlet_fact(slope)?.rank()),
            AxisOp::Add(0),
            &[slope],
        )?[0];
    }
    let zero = tensor0(0.0)
        .cast_to_dt(model.outlet_fact(x)?.datum_type)?
        .into_owned()
        .broadcast_into_rank(rank)?;
    let scaled = model.wire_node(
        format!("{name}.mul"),
        tract_onnx::tract_hir::ops::math::mul(),
        &[x, slope],
    )?[0];
    let zero = model.add_const(format!("{name}.zero"), zero)?;
    let test = model.wire_node(
        format!("{name}.test"),
        tract_core::ops::binary::TypedBinOp(tract_core::ops::logic::comp_gt(), None),
        &[zero, x],
    )?;
    model.wire_node(
        format!("{name}.iff"),
        tract_core::ops::logic::Iff,
        &[test[0], scaled, x],
    )
}

/// `x` (f32, channels on axis 1) and one slope per channel; negative values are multiplied by their
/// channel's slope, over `x`'s buffer when no other node reads it (tract hands over the last reference).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelPrelu;

impl Op for ChannelPrelu {
    fn name(&self) -> StaticName {
        "ChannelPrelu".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ChannelPrelu {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, slopes) = args_2!(inputs);
        let mut x = x.into_tensor();
        let slopes = slopes.try_as_plain_ram()?;
        let slopes = slopes.as_slice::<f32>()?;
        let shape = x.shape();
        ensure!(
            shape.len() >= 2 && shape[1] == slopes.len(),
            "ChannelPrelu: input of shape {shape:?} for {} slopes",
            slopes.len()
        );
        if x.len() == 0 {
            return Ok(tvec!(x.into_tvalue()));
        }
        // Every dimension is at least 1 here: channels and planes are not empty.
        let (channels, plane) = (shape[1], shape[2..].iter().product::<usize>());
        let mut view = x.try_as_plain_ram_mut()?;
        let data = view.as_slice_mut::<f32>()?;
        for (row, chunk) in data.chunks_mut(plane).enumerate() {
            smartid_kernels::prelu_plane(chunk, slopes[row % channels]);
        }
        Ok(tvec!(x.into_tvalue()))
    }
}

impl TypedOp for ChannelPrelu {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.clone())))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::vision::frontend::onnx as sdk_onnx;
    use crate::vision::onnx_graphs::{first_output, model, node, plan, sdk_plan, value};
    use tract_onnx::pb::tensor_proto::DataType;
    use tract_onnx::pb::{GraphProto, ModelProto, TensorProto};

    const X: [usize; 4] = [1, 3, 2, 4];

    /// `y = PRelu(x + 0, slope)`: the Add makes `x` an intermediate value, as in the real models.
    fn prelu_model(slope_dims: &[i64], slope: &[f32]) -> ModelProto {
        let float = |name: &str, dims: &[i64], values: &[f32]| TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: DataType::Float as i32,
            float_data: values.to_vec(),
            ..Default::default()
        };
        let dims: Vec<i64> = X.iter().map(|d| *d as i64).collect();
        model(GraphProto {
            node: vec![
                node("Add", &["x", "zero"], "h"),
                node("PRelu", &["h", "slope"], "y"),
            ],
            initializer: vec![
                float("slope", slope_dims, slope),
                float("zero", &[], &[0.0]),
            ],
            input: vec![value("x", &dims)],
            output: vec![value("y", &dims)],
            ..Default::default()
        })
    }

    fn uses_channel_prelu(plan: &TypedRunnableModel) -> bool {
        plan.model()
            .nodes()
            .iter()
            .any(|n| n.op_is::<ChannelPrelu>())
    }

    fn run(plan: &Arc<TypedRunnableModel>, input: &Tensor) -> Vec<f32> {
        first_output(plan, input.clone())
    }

    fn input(shape: &[usize]) -> Tensor {
        let len: usize = shape.iter().product();
        let mut values: Vec<f32> = (0..len).map(|i| ((i * 37) % 23) as f32 - 11.5).collect();
        values[..3].copy_from_slice(&[f32::NAN, -0.0, f32::NEG_INFINITY]);
        Tensor::from_shape(shape, &values).unwrap()
    }

    #[test]
    fn per_channel_slopes_are_one_pass_and_answer_as_tract_does() {
        let slopes = [0.25, -1.5, 0.0];
        for dims in [&[3, 1, 1][..], &[1, 3, 1, 1], &[1], &[]] {
            let values = if dims.contains(&3) {
                &slopes[..]
            } else {
                &slopes[..1]
            };
            let proto = prelu_model(dims, values);
            let ours = sdk_plan(&sdk_onnx(), &proto, &X);
            let theirs = plan(&tract_onnx::onnx(), &proto, &X);
            assert!(uses_channel_prelu(&ours), "slope {dims:?}");
            assert!(!uses_channel_prelu(&theirs));
            let x = input(&X);
            let (a, b) = (run(&ours, &x), run(&theirs, &x));
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "slope {dims:?}"); // NaN too
            // Channel 1 (slope -1.5) of an element below zero.
            let at = 8 + 1; // x[0, 1, 0, 1] = (9 · 37) % 23 - 11.5 = -0.5
            let expected = if dims.contains(&3) { 0.75 } else { -0.125 };
            assert_eq!(a[at], expected, "slope {dims:?}");
        }
    }

    #[test]
    fn slopes_not_per_channel_keep_tracts_expansion() {
        // [W] runs along the last axis (right-aligned broadcasting); [C, H, W] is one slope per value.
        let last_axis = prelu_model(&[4], &[0.5, -1.0, 2.0, 0.1]);
        let full: Vec<f32> = (0..24).map(|i| i as f32 / 10.0 - 1.0).collect();
        let per_value = prelu_model(&[3, 2, 4], &full);
        for proto in [last_axis, per_value] {
            let ours = sdk_plan(&sdk_onnx(), &proto, &X);
            let theirs = plan(&tract_onnx::onnx(), &proto, &X);
            assert!(!uses_channel_prelu(&ours));
            let x = input(&X);
            assert_eq!(
                format!("{:?}", run(&ours, &x)),
                format!("{:?}", run(&theirs, &x))
            );
        }
    }

    #[test]
    fn a_slope_that_is_not_a_constant_keeps_tracts_expansion() {
        let x = f32::fact([1, 3, 2, 4]);
        let slope = f32::fact([3, 1, 1]);
        assert!(per_channel_slopes(&x, &slope).is_none());
        let konst =
            TypedFact::try_from(tensor1(&[1.0f32, 2.0, 3.0]).into_shape(&[3, 1, 1]).unwrap())
                .unwrap();
        assert!(per_channel_slopes(&x, &konst).is_some());
        assert!(per_channel_slopes(&f32::fact([1, 2, 2, 4]), &konst).is_none());
        let ints =
            TypedFact::try_from(tensor1(&[1i32, 2, 3]).into_shape(&[3, 1, 1]).unwrap()).unwrap();
        assert!(per_channel_slopes(&x, &ints).is_none());
    }

    /// Evaluated outside a plan: per channel, batches included; a mismatch is an error, not a panic.
    #[test]
    fn the_operator_alone() {
        let eval = |x: Tensor, slopes: &[f32]| {
            ChannelPrelu.eval_out_of_plan(tvec!(x.into_tvalue(), tensor1(slopes).into_tvalue()))
        };
        let x = Tensor::from_shape(
            &[2, 2, 2],
            &[-1.0f32, 2.0, -3.0, 4.0, -5.0, 6.0, -7.0, -0.0],
        )
        .unwrap();
        let out = eval(x, &[0.5, -2.0]).unwrap().unwrap();
        let out: Vec<f32> = out[0]
            .to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(
            format!("{out:?}"),
            "[-0.5, 2.0, 6.0, 4.0, -2.5, 6.0, 14.0, -0.0]"
        );
        let three = Tensor::from_shape(&[1, 3], &[1.0f32, -1.0, 2.0]).unwrap();
        assert!(eval(three, &[0.5, 0.5]).is_err());
        let flat = Tensor::from_shape(&[2], &[1.0f32, -1.0]).unwrap();
        assert!(eval(flat, &[]).is_err());
        let empty = Tensor::from_shape(&[1, 0, 4], &[] as &[f32]).unwrap();
        assert_eq!(eval(empty, &[]).unwrap().unwrap()[0].len(), 0);
    }
}
