//! Convolution kernels held in fp16 once a model is loaded, computed in fp32: the manifest's
//! `fp16_conv_kernels_from` (a model's kernels of at least that many weights).
//!
//! tract's typed `Conv` takes an fp16 kernel beside fp32 activations, and codegen packs it for the
//! `f16f32` matrix kernels, which widen each panel as they read it. ONNX's `Conv` types its kernel
//! like its input, though, so the parsed graph has to carry fp32 kernels until it is typed. Two ways
//! in, both finished between decluttering and codegen (`frontend::optimize`):
//! - int8 weights (`weights::unfold_int8_weights`) are unfolded straight to fp16, behind a
//!   [`WidenToF32`] node that types as fp32 and is never folded; [`bind_fp16_kernels`] then wires
//!   each convolution to the fp16 constant. The load never holds those kernels in fp32.
//! - fp32 kernels are halved one at a time ([`hold_conv_kernels_in_fp16`]).
//!
//! On the dlib embedder, from 100 000 weights: 12.6 MiB held instead of 22.6, for 1.03–1.11× the time
//! per embedding (docs/performance.md, "The embedder's large convolution kernels held in fp16").

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::cnn::Conv;
use tract_onnx::tract_hir::tract_core::ops::konst::Const;

/// Holds each convolution's constant fp32 kernel of at least `min_weights` weights as fp16 (the
/// manifest's `fp16_conv_kernels_from`); returns how many. Runs between decluttering and codegen, so
/// tract's declutter has folded what it folds into the fp32 kernels first. The convolution still
/// computes in fp32: codegen packs an fp16 kernel for tract's `f16f32` matrix kernels, which widen
/// each panel as they read it.
///
/// Why a size: those matrix kernels have narrow tiles (32×3 on x86-64 and arm64), so they cost time
/// in proportion to a convolution's output, while the memory saved is its kernel. In the dlib
/// embedder the large kernels are the deep layers with small outputs: from 100 000 weights, 92 % of
/// its weights go to fp16 (22.6 → 12.6 MiB held) for 1.03–1.11× the time per embedding; every
/// kernel would be 1.3–1.4× (docs/performance.md, "The embedder's large convolution kernels held in
/// fp16").
///
/// One kernel at a time, each fp32 constant dropped as soon as its fp16 one is wired, so the load
/// never holds both. Left in fp32: a kernel another node also reads, a quantised convolution, one
/// whose input is not fp32, and one with a value fp16 cannot hold (beyond ±65504).
pub fn hold_conv_kernels_in_fp16(model: &mut TypedModel, min_weights: usize) -> TractResult<usize> {
    let mut count = 0;
    for name in names_of::<Conv>(model) {
        let conv = model.node_id_by_name(&name)?;
        let Some(kernel) = fp32_kernel(model, conv)? else {
            continue;
        };
        if kernel.len() < min_weights {
            continue;
        }
        let halved = kernel.cast_to::<f16>()?.into_owned();
        let fits = halved
            .try_as_plain_ram()?
            .as_slice::<f16>()?
            .iter()
            .all(|v| v.is_finite());
        if !fits {
            continue;
        }
        let halved = model.wire_node(
            format!("{name}.kernel.fp16"),
            Const::new(halved.into_arc_tensor())?,
            &[],
        )?[0];
        model.add_edge(halved, InletId::new(conv, 1))?;
        drop(kernel);
        // Drops the fp32 constant nothing reads any more, before the next kernel is halved.
        model.compact()?;
        count += 1;
    }
    Ok(count)
}

/// The names of the nodes running `O`: names, because each rewrite compacts the graph and renumbers
/// its nodes.
fn names_of<O: Op>(model: &TypedModel) -> Vec<String> {
    model
        .nodes()
        .iter()
        .filter(|n| n.op_is::<O>())
        .map(|n| n.name.clone())
        .collect()
}

/// A float convolution's kernel, when it is an fp32 constant this convolution alone reads.
fn fp32_kernel(model: &TypedModel, conv: usize) -> TractResult<Option<Arc<Tensor>>> {
    let node = model.node(conv);
    let (Some(op), Some(&input), Some(&kernel)) = (
        node.op_as::<Conv>(),
        node.inputs.first(),
        node.inputs.get(1),
    ) else {
        return Ok(None);
    };
    let source = model.node(kernel.node);
    let fact = model.outlet_fact(kernel)?;
    let fp32 = |o: OutletId| -> TractResult<bool> {
        Ok(model.outlet_fact(o)?.datum_type == f32::datum_type())
    };
    let only_reader = source.outputs.get(kernel.slot).map(|o| o.successors.len()) == Some(1);
    if op.q_params.is_some()
        || !fp32(input)?
        || !fp32(kernel)?
        || !source.op_is::<Const>()
        || !only_reader
    {
        return Ok(None);
    }
    Ok(fact.konst.clone())
}

/// The parsed-graph node between an fp16 kernel and its convolution (see the module's doc).
pub fn widen_to_f32() -> Box<dyn InferenceOp> {
    expand(WidenExpansion)
}

#[derive(Debug, Clone)]
struct WidenExpansion;

impl Expansion for WidenExpansion {
    fn name(&self) -> StaticName {
        "WidenToF32".into()
    }

    /// Not evaluated while the graph is analysed: that would put the fp32 kernel back in memory.
    fn runs_out_of_plan(&self) -> bool {
        false
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        model.wire_node(name, WidenToF32, inputs)
    }
}

/// A tensor widened to fp32. In a typed graph only until [`bind_fp16_kernels`] takes it out; it
/// computes correctly if it ever runs, but tract's constant folding never runs it (that would hold
/// the fp32 copy the fp16 kernel is there to avoid).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WidenToF32;

impl Op for WidenToF32 {
    fn name(&self) -> StaticName {
        "WidenToF32".into()
    }

    op_as_typed_op!();
}

impl EvalOp for WidenToF32 {
    fn eval_out_of_plan(&self, _inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(None)
    }

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        Ok(tvec!(x.cast_to::<f32>()?.into_owned().into_tvalue()))
    }
}

impl TypedOp for WidenToF32 {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(inputs[0].shape.clone())))
    }
}

/// Takes every [`WidenToF32`] out of a typed model; returns how many convolution kernels it bound
/// to their fp16 constant. A widened constant that only convolutions read as their kernel is wired
/// to them as it is; anything else (another reader, or no constant behind it) gets tract's own cast.
/// Done one node at a time, each compacted away before the next.
pub fn bind_fp16_kernels(model: &mut TypedModel) -> TractResult<usize> {
    let mut bound = 0;
    for name in names_of::<WidenToF32>(model) {
        let id = model.node_id_by_name(&name)?;
        let node = model.node(id);
        let Some(&half) = node.inputs.first() else {
            bail!("{name}: a widening without its input");
        };
        let Some(readers) = node.outputs.first().map(|o| o.successors.clone()) else {
            bail!("{name}: a widening without its output");
        };
        let widened = OutletId::new(id, 0);
        let kernels_only = model.node(half.node).op_is::<Const>()
            && !model.outputs.contains(&widened)
            && readers.iter().all(|inlet| {
                inlet.slot == 1
                    && model
                        .node(inlet.node)
                        .op_as::<Conv>()
                        .is_some_and(|c| c.q_params.is_none())
            });
        if kernels_only {
            for inlet in &readers {
                model.add_edge(half, *inlet)?;
            }
            bound += readers.len();
        } else {
            let mut patch = TypedModelPatch::default();
            let tap = patch.tap_model(model, half)?;
            let cast = patch.wire_node(
                format!("{name}.cast"),
                tract_onnx::tract_hir::tract_core::ops::cast::cast(f32::datum_type()),
                &[tap],
            )?[0];
            patch.shunt_outside(model, widened, cast)?;
            patch.apply(model)?;
        }
        model.compact()?;
    }
    Ok(bound)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::vision::onnx_graphs::{
        dlib_embedder_proto, first_output, float, model, node, value,
    };
    use tract_onnx::pb::tensor_proto::DataType;
    use tract_onnx::pb::{GraphProto, ModelProto, TensorProto};

    /// x [1, 3, 6, 6] convolved with w [4, 3, 3, 3]; with `shared`, a second convolution of relu(x)
    /// reads the same w and the two are added.
    fn conv_model(w: &[f32], shared: bool) -> ModelProto {
        let mut nodes = vec![node("Conv", &["x", "w"], "y1")];
        if shared {
            nodes.push(node("Relu", &["x"], "r"));
            nodes.push(node("Conv", &["r", "w"], "y2"));
            nodes.push(node("Add", &["y1", "y2"], "y"));
        } else {
            nodes.push(node("Identity", &["y1"], "y"));
        }
        model(GraphProto {
            node: nodes,
            initializer: vec![TensorProto {
                dims: vec![4, 3, 3, 3],
                ..float("w", w)
            }],
            input: vec![value("x", &[1, 3, 6, 6])],
            output: vec![value("y", &[1, 4, 4, 4])],
            ..Default::default()
        })
    }

    fn conv_typed(proto: &ModelProto) -> TypedModel {
        let mut typed = crate::vision::frontend::onnx()
            .model_for_proto_model(proto)
            .unwrap()
            .with_input_fact(0, f32::fact([1, 3, 6, 6]).into())
            .unwrap()
            .into_typed()
            .unwrap();
        crate::vision::frontend::declutter(&mut typed).unwrap();
        typed
    }

    fn conv_plan(proto: &ModelProto, fp16_from: Option<usize>) -> Arc<TypedRunnableModel> {
        let model = crate::vision::frontend::onnx()
            .model_for_proto_model(proto)
            .unwrap()
            .with_input_fact(0, f32::fact([1, 3, 6, 6]).into())
            .unwrap();
        crate::vision::frontend::optimize(model, fp16_from)
            .unwrap()
            .into_runnable()
            .unwrap()
    }

    /// How many constants of type `dt` a plan holds (a packed kernel keeps its element type).
    fn constants_of(plan: &TypedRunnableModel, dt: DatumType) -> usize {
        plan.model()
            .nodes()
            .iter()
            .filter_map(|n| n.op_as::<Const>())
            .filter(|c| c.val().datum_type() == dt)
            .count()
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// Weights fp16 cannot hold exactly (`sin` of odd multiples), and the same weights rounded to fp16.
    fn conv_weights_and_rounded() -> (Vec<f32>, Vec<f32>) {
        let w: Vec<f32> = (0..108)
            .map(|i| (i as f32 * 0.37 + 0.1).sin() * 0.3)
            .collect();
        let rounded = w.iter().map(|v| f16::from_f32(*v).to_f32()).collect();
        (w, rounded)
    }

    fn conv_input() -> Tensor {
        tract_ndarray::Array4::from_shape_fn((1, 3, 6, 6), |(_, c, y, x)| {
            ((c * 7 + y * 5 + x * 3) % 11) as f32 / 11.0 - 0.4
        })
        .into()
    }

    /// With `fp16_conv_kernels_from` at or below its size the plan holds the kernel in fp16 and no
    /// fp32 copy, and computes in fp32 from the rounded weights: its outputs are those of the fp32
    /// plan given the rounded weights (up to summation order), not those of the unrounded ones.
    #[test]
    fn conv_kernels_held_in_fp16_compute_in_fp32_from_the_rounded_weights() {
        let (w, rounded) = conv_weights_and_rounded();
        let half = conv_plan(&conv_model(&w, false), Some(108));
        let full = conv_plan(&conv_model(&w, false), None);
        let full_of_rounded = conv_plan(&conv_model(&rounded, false), None);
        assert_eq!(constants_of(&half, f16::datum_type()), 1);
        assert_eq!(constants_of(&full, f16::datum_type()), 0);
        let small = conv_plan(&conv_model(&w, false), Some(109));
        assert_eq!(
            constants_of(&small, f16::datum_type()),
            0,
            "108 weights < 109"
        );
        let f32_constants = |plan: &TypedRunnableModel| constants_of(plan, f32::datum_type());
        assert_eq!(
            f32_constants(&half) + 1,
            f32_constants(&full),
            "the fp32 kernel is gone"
        );
        let y = |plan: &Arc<TypedRunnableModel>| first_output(plan, conv_input());
        let (y_half, y_full, y_rounded) = (y(&half), y(&full), y(&full_of_rounded));
        let from_rounded = max_diff(&y_half, &y_rounded);
        let from_full = max_diff(&y_half, &y_full);
        assert!(
            from_rounded * 10.0 < from_full,
            "{from_rounded} from the rounded weights' answers, {from_full} from fp32's"
        );
        assert!(from_rounded < 1e-5, "{from_rounded}");
    }

    /// What stays fp32: a kernel two convolutions read (halving it would keep both copies), and one
    /// with a value beyond fp16's range.
    #[test]
    fn shared_kernels_and_values_beyond_fp16_stay_fp32() {
        let (w, _) = conv_weights_and_rounded();
        let mut too_large = w.clone();
        too_large[5] = 70_000.0;
        for (proto, halved) in [
            (conv_model(&w, false), 1),
            (conv_model(&w, true), 0),
            (conv_model(&too_large, false), 0),
        ] {
            let mut typed = conv_typed(&proto);
            let convs = typed.nodes().iter().filter(|n| n.op_is::<Conv>()).count();
            assert!(convs >= 1);
            assert_eq!(hold_conv_kernels_in_fp16(&mut typed, 0).unwrap(), halved);
            let f16s = typed
                .nodes()
                .iter()
                .filter_map(|n| n.op_as::<Const>())
                .filter(|c| c.val().datum_type() == f16::datum_type())
                .count();
            assert_eq!(f16s, halved);
        }
    }

    /// The shipped embedder, as its manifest loads it: its int8 kernels of at least 100 000 weights
    /// unfolded straight to fp16 (13 convolutions, 5 160 960 of its 5 603 936 weights). It answers to
    /// the bit as when they are unfolded to fp32 and halved after decluttering (the same fp16 values,
    /// the same plan), and within 0.001 of its fp32 plan (every genuine and impostor margin on real
    /// faces moves by less than 0.001, `tests/vision_real.rs`), against 0.6 for a match.
    #[test]
    fn the_dlib_embedder_holds_fp16_kernels_and_embeds_as_in_fp32() {
        let proto = dlib_embedder_proto();
        // The kernels' size from which the unfold writes fp16, and from which the optimiser halves.
        let plan = |unfold_from: Option<usize>, halve_from: Option<usize>| {
            let mut model = tract_onnx::onnx().model_for_proto_model(&proto).unwrap();
            let mut graph = proto.graph.clone().unwrap();
            crate::vision::weights::unfold_int8_weights(&mut graph, &mut model, unfold_from)
                .unwrap();
            let model = model
                .with_input_fact(0, f32::fact([1, 3, 150, 150]).into())
                .unwrap();
            crate::vision::frontend::optimize(model, halve_from)
                .unwrap()
                .into_runnable()
                .unwrap()
        };
        let manifest =
            crate::manifest::Manifest::parse(include_str!("../../../models/manifest.toml"))
                .unwrap();
        let fp16_from = manifest.embedder.model.fp16_conv_kernels_from;
        assert_eq!(fp16_from, Some(100_000));
        // Unfolded to fp16 (and nothing left for the optimiser to halve), or halved after decluttering.
        let (half, halved_late, full) = (
            plan(fp16_from, None),
            plan(None, fp16_from),
            plan(None, None),
        );
        assert_eq!(constants_of(&half, f16::datum_type()), 13);
        assert_eq!(constants_of(&halved_late, f16::datum_type()), 13);
        assert!(!half.model().nodes().iter().any(|n| n.op_is::<WidenToF32>()));
        let input: Tensor =
            tract_ndarray::Array4::from_shape_fn((1, 3, 150, 150), |(_, c, y, x)| {
                ((c * 61 + y * 7 + x * 3) % 256) as f32
            })
            .into();
        let (a, b) = (
            first_output(&half, input.clone()),
            first_output(&full, input.clone()),
        );
        assert_eq!(a.len(), 128);
        assert_eq!(a, first_output(&halved_late, input));
        let distance = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f32>()
            .sqrt();
        assert!(distance > 0.0 && distance < 1e-3, "{distance}");
    }

    /// x [1, 3, 6, 6] convolved with w [4, 3, 3, 3] stored int8, one scale per output channel; with
    /// `also_output`, w itself is a second output of the graph.
    fn int8_conv_model(also_output: bool) -> ModelProto {
        let q: Vec<u8> = (0..108).map(|i| ((i * 37) % 255) as u8).collect();
        let mut output = vec![value("y", &[1, 4, 4, 4])];
        if also_output {
            output.push(value("w", &[4, 3, 3, 3]));
        }
        let mut dequantize = node("DequantizeLinear", &["w.q", "w.scale"], "w");
        dequantize.attribute.push(tract_onnx::pb::AttributeProto {
            name: "axis".into(),
            r#type: tract_onnx::pb::attribute_proto::AttributeType::Int as i32,
            i: 0,
            ..Default::default()
        });
        model(GraphProto {
            node: vec![dequantize, node("Conv", &["x", "w"], "y")],
            initializer: vec![
                TensorProto {
                    name: "w.q".into(),
                    dims: vec![4, 3, 3, 3],
                    data_type: DataType::Int8 as i32,
                    raw_data: q,
                    ..Default::default()
                },
                float("w.scale", &[0.0031, 0.0017, 0.0023, 0.0041]),
            ],
            input: vec![value("x", &[1, 3, 6, 6])],
            output,
            ..Default::default()
        })
    }

    /// Unfolded with `unfold_from`, optimised with `halve_from`: the parsed model's fp16 constants
    /// and the plan.
    fn int8_conv_plan(
        proto: &ModelProto,
        unfold_from: Option<usize>,
        halve_from: Option<usize>,
    ) -> (usize, Arc<TypedRunnableModel>) {
        let mut model = crate::vision::frontend::onnx()
            .model_for_proto_model(proto)
            .unwrap();
        let mut graph = proto.graph.clone().unwrap();
        assert_eq!(
            crate::vision::weights::unfold_int8_weights(&mut graph, &mut model, unfold_from)
                .unwrap(),
            1
        );
        let parsed_f16 = model
            .nodes()
            .iter()
            .filter(|n| {
                n.outputs[0]
                    .fact
                    .datum_type
                    .concretize()
                    .is_some_and(|dt| dt == f16::datum_type())
            })
            .count();
        let model = model
            .with_input_fact(0, f32::fact([1, 3, 6, 6]).into())
            .unwrap();
        let plan = crate::vision::frontend::optimize(model, halve_from)
            .unwrap()
            .into_runnable()
            .unwrap();
        (parsed_f16, plan)
    }

    /// An int8 kernel only a convolution reads is unfolded straight to fp16 (the parsed model never
    /// holds it in fp32) and answers to the bit as the fp32 unfold halved later. Read by anything
    /// else, or smaller than the setting, it is unfolded to fp32 as before.
    #[test]
    fn int8_kernels_only_convolutions_read_unfold_straight_to_fp16() {
        let only_conv = int8_conv_model(false);
        // Not halved by the optimiser: only the unfold can have made it fp16.
        let (parsed_f16, straight) = int8_conv_plan(&only_conv, Some(108), None);
        assert_eq!(parsed_f16, 1);
        assert_eq!(constants_of(&straight, f16::datum_type()), 1);
        assert!(
            !straight
                .model()
                .nodes()
                .iter()
                .any(|n| n.op_is::<WidenToF32>())
        );
        let (parsed_f16, late) = int8_conv_plan(&only_conv, None, Some(108));
        assert_eq!(parsed_f16, 0);
        assert_eq!(constants_of(&late, f16::datum_type()), 1);
        let (_, full) = int8_conv_plan(&only_conv, None, None);
        let y = |plan: &Arc<TypedRunnableModel>| first_output(plan, conv_input());
        assert_eq!(y(&straight), y(&late));
        assert_ne!(y(&straight), y(&full), "the kernel is fp16, not fp32");
        for (proto, from) in [(int8_conv_model(true), Some(108)), (only_conv, Some(109))] {
            let (parsed_f16, plan) = int8_conv_plan(&proto, from, None);
            assert_eq!(parsed_f16, 0);
            assert_eq!(constants_of(&plan, f16::datum_type()), 0);
            assert_eq!(y(&plan), y(&full));
        }
    }

    /// A widened constant something else reads keeps tract's cast: the graph computes the same.
    #[test]
    fn a_widened_constant_read_elsewhere_is_cast() {
        let half: Vec<f16> = [0.1f32, -2.5, 3.75, 1e-3]
            .iter()
            .map(|v| f16::from_f32(*v))
            .collect();
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([4])).unwrap();
        let w = model.add_const("w", tensor1(&half)).unwrap();
        let wide = model.wire_node("w.widen", WidenToF32, &[w]).unwrap()[0];
        let y = model
            .wire_node(
                "y",
                tract_onnx::tract_hir::tract_core::ops::math::add(),
                &[x, wide],
            )
            .unwrap();
        model.select_output_outlets(&y).unwrap();
        assert_eq!(bind_fp16_kernels(&mut model).unwrap(), 0);
        assert!(!model.nodes().iter().any(|n| n.op_is::<WidenToF32>()));
        let plan = model.into_optimized().unwrap().into_runnable().unwrap();
        let got = first_output(&plan, tensor1(&[1f32, 2.0, 3.0, 4.0]));
        let want: Vec<f32> = half
            .iter()
            .zip([1f32, 2.0, 3.0, 4.0])
            .map(|(h, x)| x + h.to_f32())
            .collect();
        assert_eq!(got, want);
    }
}
