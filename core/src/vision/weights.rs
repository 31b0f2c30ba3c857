//! Weights stored as int8 (weight-only quantisation: an int8 initialiser read through
//! `DequantizeLinear`, as `tools/models/compress_weights.py` writes the dlib embedder) are unfolded to
//! fp32 constants in the parsed model, before tract types it.
//!
//! Why: tract folds such a node while typing the graph, through three generic constant ops per weight
//! (cast, subtract the zero point, multiply by the scale), each materialising a full fp32 copy, then
//! compares constants to deduplicate them: on the embedder (5.5 M weights) 0.9 of its load time. One
//! pass here computes the same values with the same f32 arithmetic (the outputs are bit-identical) and
//! builds each fp32 array once, straight into its tensor, one run of weights sharing a scale at a
//! time: the embedder loads in ≈ 0.16× tract's time in a release build (`benches/model_load.rs`).
//! Done one node at a time, with the int8 data dropped behind it, it also keeps the load's peak to
//! the fp32 weights plus one layer's packing (`benches/load_memory.rs`).
//!
//! Only what is fully understood is unfolded: a node whose inputs are all top-level initialisers held
//! inline, int8 or uint8 data, a per-tensor or per-axis f32 scale and a zero point of matching sizes,
//! no other attribute than `axis` (and `block_size` 0). Anything else is left for tract, as before.
//!
//! Once the model is typed and decluttered, the convolution kernels its manifest names by size
//! (`fp16_conv_kernels_from`) are held in fp16 ([`hold_conv_kernels_in_fp16`]): the dlib embedder's
//! weights take 12.8 MiB of memory instead of 22.6, still computed in fp32.

use std::collections::HashMap;

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::cnn::Conv;
use tract_onnx::tract_hir::tract_core::ops::konst::Const;

/// Replaces, in `model` (tract's parse of `graph`), every eligible `DequantizeLinear` by the fp32
/// constant it computes; returns how many.
///
/// One node at a time, so that the int8 weights are never held three times over beside the fp32
/// ones: each replaced node's int8 constant leaves `model` as soon as its fp32 constant is in, and
/// each initialiser's data leaves `graph` once the last node that reads it has been passed (the
/// caller drops the proto next; only its structure is left). On the dlib embedder this takes the
/// load's peak from the int8 weights twice plus the fp32 ones to the fp32 ones alone
/// (`benches/load_memory.rs`).
pub fn unfold_int8_weights(
    graph: &mut GraphProto,
    model: &mut InferenceModel,
) -> TractResult<usize> {
    // Names a caller may feed: an initialiser that is also a graph input is only a default.
    let fed: Vec<String> = graph.input.iter().map(|i| i.name.clone()).collect();
    let fed: Vec<&str> = fed.iter().map(String::as_str).collect();
    let position: HashMap<String, usize> = graph
        .initializer
        .iter()
        .enumerate()
        .map(|(k, t)| (t.name.clone(), k))
        .collect();
    // How many nodes read each initialiser: its data goes once the last of them is passed.
    let mut readers: HashMap<String, usize> = HashMap::new();
    for input in graph.node.iter().flat_map(|n| &n.input) {
        *readers.entry(input.clone()).or_default() += 1;
    }
    let mut by_label = outlets_by_label(model);
    let mut count = 0;
    for n in 0..graph.node.len() {
        let node = &graph.node[n];
        let outlet = node.output.first().and_then(|o| by_label.get(o)).copied();
        if let Some(outlet) = outlet
            && model.node(outlet.node).op.name() == "DequantizeLinear"
        {
            let index: HashMap<&str, &TensorProto> = node
                .input
                .iter()
                .filter_map(|name| {
                    Some((name.as_str(), graph.initializer.get(*position.get(name)?)?))
                })
                .collect();
            if let Some(weights) = unfold(node, &index, &fed) {
                let mut patch = InferenceModelPatch::default();
                let name = format!("{}.fp32", model.node(outlet.node).name);
                let constant = patch.add_const(name, weights)?;
                patch.shunt_outside(model, outlet, constant)?;
                patch.apply(model)?;
                // Drops the replaced node and the int8 constant only it read.
                model.compact()?;
                by_label = outlets_by_label(model);
                count += 1;
            }
        }
        for k in 0..graph.node[n].input.len() {
            let name = &graph.node[n].input[k];
            let Some(left) = readers.get_mut(name) else {
                continue;
            };
            *left = left.saturating_sub(1);
            if *left == 0
                && let Some(t) = position
                    .get(name)
                    .and_then(|k| graph.initializer.get_mut(*k))
            {
                t.raw_data = Vec::new();
                t.int32_data = Vec::new();
                t.float_data = Vec::new();
            }
        }
    }
    Ok(count)
}

/// tract labels each node's outputs with the ONNX value names.
fn outlets_by_label(model: &InferenceModel) -> HashMap<String, OutletId> {
    model
        .outlet_labels
        .iter()
        .map(|(outlet, label)| (label.clone(), *outlet))
        .collect()
}

/// The fp32 weights one node computes; `None` when the node is not one this module unfolds.
fn unfold(node: &NodeProto, index: &HashMap<&str, &TensorProto>, fed: &[&str]) -> Option<Tensor> {
    if node.op_type != "DequantizeLinear" || !(node.domain.is_empty() || node.domain == "ai.onnx") {
        return None;
    }
    if !(2..=3).contains(&node.input.len()) || node.output.len() != 1 {
        return None;
    }
    let mut axis = 1i64;
    for attr in &node.attribute {
        match attr.name.as_str() {
            "axis" => axis = attr.i,
            "block_size" if attr.i != 0 => return None,
            "block_size" => {}
            // An attribute this module does not know may change the meaning: leave it to tract.
            _ => return None,
        }
    }
    let tensor = |k: usize| -> Option<&TensorProto> {
        let name = node.input.get(k)?;
        if name.is_empty() || fed.contains(&name.as_str()) {
            return None;
        }
        let t = index.get(name.as_str())?;
        let inline =
            t.segment.is_none() && t.data_location.unwrap_or(0) == 0 && t.external_data.is_empty();
        inline.then_some(*t)
    };
    let x = tensor(0)?;
    let values = Integers::of(x)?;
    let scale = floats(tensor(1)?)?;
    let zero: Vec<i32> = match node.input.get(2).filter(|n| !n.is_empty()) {
        Some(_) => {
            let z = tensor(2)?;
            (z.data_type == x.data_type).then_some(())?;
            let z = Integers::of(z)?;
            (0..z.len()).map(|i| z.get(i)).collect()
        }
        None => vec![0],
    };
    let dims: Vec<usize> = x
        .dims
        .iter()
        .map(|d| usize::try_from(*d).ok())
        .collect::<Option<_>>()?;
    let len = dims.iter().try_fold(1usize, |a, d| a.checked_mul(*d))?;
    if values.len() != len || len == 0 {
        return None;
    }
    // Which scale (and zero point) each weight uses: one for all, or one per index along `axis`.
    let (channels, inner) = if scale.len() == 1 {
        (1, len)
    } else {
        let rank = dims.len() as i64;
        let axis = usize::try_from(if axis < 0 { axis + rank } else { axis }).ok()?;
        let channels = *dims.get(axis)?;
        (channels, dims[axis + 1..].iter().product::<usize>().max(1))
    };
    if scale.len() != channels || !(zero.len() == 1 || zero.len() == channels) {
        return None;
    }
    // Runs of `inner` weights share a channel's scale and zero point; the runs cycle through the
    // channels. One run at a time keeps the inner loop free of divisions and per-weight lookups.
    // Written in place into the tensor tract keeps: built from a `Vec` it would be copied, a second
    // 22 MiB block for the dlib embedder.
    let mut weights = Tensor::zero::<f32>(&dims).ok()?;
    let mut view = weights.try_as_plain_ram_mut().ok()?;
    let out = view.as_slice_mut::<f32>().ok()?;
    for (run, (start, out)) in (0..len)
        .step_by(inner)
        .zip(out.chunks_mut(inner))
        .enumerate()
    {
        let c = run % channels;
        let z = zero[if zero.len() == 1 { 0 } else { c }];
        values.dequantize_into(start..start + inner, z, scale[c], out)?;
    }
    Some(weights)
}

/// Holds each convolution's constant fp32 kernel of at least `min_weights` weights as fp16 (the
/// manifest's `fp16_conv_kernels_from`); returns how many. Runs between decluttering and codegen, so
/// tract's declutter has folded what it folds into the fp32 kernels first. The convolution still
/// computes in fp32: codegen packs an fp16 kernel for tract's `f16f32` matrix kernels, which widen
/// each panel as they read it.
///
/// Why a size: those matrix kernels have narrow tiles (32×3 on x86-64 and arm64), so they cost time
/// in proportion to a convolution's output, while the memory saved is its kernel. In the dlib
/// embedder the large kernels are the deep layers with small outputs: from 100 000 weights, 92 % of
/// its weights go to fp16 (22.6 → 12.8 MiB held) for 1.03–1.11× the time per embedding; every
/// kernel would be 1.3–1.4× (docs/performance.md, "The embedder's large convolution kernels held in
/// fp16").
///
/// One kernel at a time, each fp32 constant dropped as soon as its fp16 one is wired, so the load
/// never holds both. Left in fp32: a kernel another node also reads, a quantised convolution, one
/// whose input is not fp32, and one with a value fp16 cannot hold (beyond ±65504).
pub fn hold_conv_kernels_in_fp16(model: &mut TypedModel, min_weights: usize) -> TractResult<usize> {
    let convs: Vec<String> = model
        .nodes()
        .iter()
        .filter(|n| n.op_is::<Conv>())
        .map(|n| n.name.clone())
        .collect();
    let mut count = 0;
    for name in convs {
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

/// An int8 or uint8 initialiser's values, read in place from `raw_data` or `int32_data`.
enum Integers<'a> {
    Signed(&'a [u8]),
    Unsigned(&'a [u8]),
    Wide(&'a [i32]),
}

impl<'a> Integers<'a> {
    fn of(t: &'a TensorProto) -> Option<Self> {
        let signed = if t.data_type == DataType::Int8 as i32 {
            true
        } else if t.data_type == DataType::Uint8 as i32 {
            false
        } else {
            return None;
        };
        if !t.raw_data.is_empty() {
            return Some(if signed {
                Integers::Signed(&t.raw_data)
            } else {
                Integers::Unsigned(&t.raw_data)
            });
        }
        let range = if signed { -128..=127 } else { 0..=255 };
        t.int32_data
            .iter()
            .all(|v| range.contains(v))
            .then_some(Integers::Wide(&t.int32_data))
    }

    fn len(&self) -> usize {
        match self {
            Integers::Signed(b) | Integers::Unsigned(b) => b.len(),
            Integers::Wide(w) => w.len(),
        }
    }

    /// Writes the values in `range` into `out` as tract folds them: cast to f32, subtract the zero
    /// point, multiply by the scale. `None` when the range is out of bounds or not `out`'s length.
    fn dequantize_into(
        &self,
        range: std::ops::Range<usize>,
        zero: i32,
        scale: f32,
        out: &mut [f32],
    ) -> Option<()> {
        let zero = zero as f32;
        let slots = out.iter_mut();
        match self {
            Integers::Signed(b) => {
                let values = b.get(range)?;
                (values.len() == slots.len()).then_some(())?;
                for (w, v) in slots.zip(values) {
                    *w = (*v as i8 as f32 - zero) * scale;
                }
            }
            Integers::Unsigned(b) => {
                let values = b.get(range)?;
                (values.len() == slots.len()).then_some(())?;
                for (w, v) in slots.zip(values) {
                    *w = (*v as f32 - zero) * scale;
                }
            }
            Integers::Wide(x) => {
                let values = x.get(range)?;
                (values.len() == slots.len()).then_some(())?;
                for (w, v) in slots.zip(values) {
                    *w = (*v as f32 - zero) * scale;
                }
            }
        }
        Some(())
    }

    /// Callers index below `len()`; out of range reads as 0 rather than panicking.
    fn get(&self, i: usize) -> i32 {
        match self {
            Integers::Signed(b) => b.get(i).map_or(0, |v| *v as i8 as i32),
            Integers::Unsigned(b) => b.get(i).map_or(0, |v| *v as i32),
            Integers::Wide(w) => w.get(i).copied().unwrap_or(0),
        }
    }
}

/// An f32 initialiser's values, from `raw_data` or `float_data`.
fn floats(t: &TensorProto) -> Option<Vec<f32>> {
    if t.data_type != DataType::Float as i32 {
        return None;
    }
    if t.raw_data.is_empty() {
        return Some(t.float_data.clone());
    }
    t.raw_data.len().is_multiple_of(4).then(|| {
        t.raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Cursor;

    use super::*;
    use crate::vision::onnx_graphs::{first_output, model, node, value};
    use tract_onnx::pb::attribute_proto::AttributeType;
    use tract_onnx::pb::{AttributeProto, ModelProto, ValueInfoProto};
    use tract_onnx::tract_hir::tract_core::ops::konst::Const;

    fn int8(name: &str, dims: &[i64], v: &[i8]) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: DataType::Int8 as i32,
            raw_data: v.iter().map(|x| *x as u8).collect(),
            ..Default::default()
        }
    }

    fn float(name: &str, v: &[f32]) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: vec![v.len() as i64],
            data_type: DataType::Float as i32,
            float_data: v.to_vec(),
            ..Default::default()
        }
    }

    fn dequantize(inputs: &[&str], out: &str, axis: Option<i64>) -> NodeProto {
        NodeProto {
            op_type: "DequantizeLinear".into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.into()],
            attribute: axis.map_or(vec![], |i| vec![int_attr("axis", i)]),
            ..Default::default()
        }
    }

    fn int_attr(name: &str, i: i64) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: AttributeType::Int as i32,
            i,
            ..Default::default()
        }
    }

    /// x [1, 2] · W [2, 3], W stored int8 with one scale and zero point per column (axis 1).
    fn matmul_model() -> ModelProto {
        let w = int8("w.q", &[2, 3], &[-128, -1, 0, 1, 64, 127]);
        let graph = GraphProto {
            node: vec![
                dequantize(&["w.q", "w.scale", "w.zero"], "w", Some(1)),
                node("MatMul", &["x", "w"], "y"),
            ],
            initializer: vec![
                w,
                float("w.scale", &[0.5, 0.031, 1.7]),
                int8("w.zero", &[3], &[0, -3, 5]),
            ],
            input: vec![value("x", &[1, 2])],
            output: vec![value("y", &[1, 3])],
            ..Default::default()
        };
        model(graph)
    }

    /// tract's parse of the model, with the int8 weights unfolded or not; and how many were.
    fn parse(proto: &ModelProto, unfolded: bool) -> (InferenceModel, usize) {
        let mut model = tract_onnx::onnx().model_for_proto_model(proto).unwrap();
        let count = if unfolded {
            let mut graph = proto.graph.clone().unwrap();
            unfold_int8_weights(&mut graph, &mut model).unwrap()
        } else {
            0
        };
        (model, count)
    }

    fn dequantize_nodes(model: &InferenceModel) -> usize {
        model
            .nodes()
            .iter()
            .filter(|n| n.op.name() == "DequantizeLinear")
            .count()
    }

    fn run(model: InferenceModel, x: &[f32]) -> Vec<f32> {
        let plan = model.into_optimized().unwrap().into_runnable().unwrap();
        first_output(&plan, Tensor::from_shape(&[1, x.len()], x).unwrap())
    }

    /// The fp32 constant that replaced the weights, as a flat list.
    fn unfolded_weights(model: &InferenceModel) -> Vec<f32> {
        let node = model
            .nodes()
            .iter()
            .find(|n| n.name.ends_with(".fp32"))
            .unwrap();
        let konst = node.op_as::<Const>().unwrap();
        let view = konst.val().to_plain_array_view::<f32>().unwrap();
        view.iter().copied().collect()
    }

    #[test]
    fn unfolded_weights_answer_exactly_as_tract_folds_them() {
        let proto = matmul_model();
        let (model, count) = parse(&proto, true);
        assert_eq!(count, 1);
        assert_eq!(dequantize_nodes(&model), 0);
        // Per column (axis 1): (q - zero) × scale.
        let expected = [-64.0, 0.062, -8.5, 0.5, 2.077, 207.4];
        for (got, want) in unfolded_weights(&model).iter().zip(expected) {
            assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        }
        // No int8 constant is left behind.
        assert!(model.nodes().iter().all(|n| {
            n.op_as::<Const>()
                .is_none_or(|c| c.val().datum_type() != i8::datum_type())
        }));
        for x in [[1.0, 0.0], [0.25, -3.5], [7.0, 11.0]] {
            assert_eq!(
                run(parse(&proto, false).0, &x),
                run(parse(&proto, true).0, &x)
            );
        }
    }

    #[test]
    fn per_tensor_scale_and_uint8_without_zero_point() {
        let mut proto = matmul_model();
        let graph = proto.graph.as_mut().unwrap();
        graph.node[0] = dequantize(&["w.q", "w.scale"], "w", None);
        graph.initializer[0].data_type = DataType::Uint8 as i32;
        graph.initializer[1] = float("w.scale", &[0.25]);
        let (model, count) = parse(&proto, true);
        assert_eq!(count, 1);
        assert_eq!(
            unfolded_weights(&model),
            [32.0, 63.75, 0.0, 0.25, 16.0, 31.75]
        );
        assert_eq!(
            run(parse(&proto, false).0, &[0.5, 2.0]),
            run(model, &[0.5, 2.0])
        );
    }

    #[test]
    fn what_it_does_not_understand_is_left_for_tract() {
        type Edit = Box<dyn Fn(&mut GraphProto)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "a scale per axis that is not the axis' length",
                Box::new(|g| g.initializer[1] = float("w.scale", &[0.5, 0.25])),
            ),
            (
                "an attribute it does not know",
                Box::new(|g| g.node[0].attribute.push(int_attr("saturate", 1))),
            ),
            (
                "weights the caller can feed",
                Box::new(|g| g.input.push(value("w.q", &[2, 3]))),
            ),
            (
                "an axis beyond the rank",
                Box::new(|g| g.node[0].attribute = vec![int_attr("axis", 2)]),
            ),
            (
                "int32 data out of the int8 range",
                Box::new(|g| {
                    let w = &mut g.initializer[0];
                    w.int32_data = vec![0, 1, 2, 3, 4, 300];
                    w.raw_data.clear();
                }),
            ),
        ];
        for (why, edit) in cases {
            let mut proto = matmul_model();
            edit(proto.graph.as_mut().unwrap());
            let (model, count) = parse(&proto, true);
            assert_eq!(count, 0, "{why}");
            assert_eq!(dequantize_nodes(&model), 1, "{why}");
        }
        // Inputs tract itself would refuse are not unfolded either (tract reports them, not this).
        let graph = matmul_model().graph.unwrap();
        let index: HashMap<&str, &TensorProto> = graph
            .initializer
            .iter()
            .map(|t| (t.name.as_str(), t))
            .collect();
        assert!(unfold(&graph.node[0], &index, &[]).is_some());
        let mut short = graph.initializer[0].clone();
        short.raw_data.truncate(5);
        let mut external = graph.initializer[0].clone();
        external.data_location = Some(1);
        let mut other_zero = graph.initializer[2].clone();
        other_zero.data_type = DataType::Uint8 as i32;
        for (why, name, t) in [
            ("data shorter than its shape", "w.q", &short),
            ("weights stored outside the file", "w.q", &external),
            ("a zero point of another type", "w.zero", &other_zero),
        ] {
            let mut index = index.clone();
            index.insert(name, t);
            assert!(unfold(&graph.node[0], &index, &[]).is_none(), "{why}");
        }
        let mut blocked = graph.node[0].clone();
        blocked.attribute.push(int_attr("block_size", 2));
        assert!(
            unfold(&blocked, &index, &[]).is_none(),
            "blocked quantisation"
        );
    }

    #[test]
    fn int8_weights_another_node_reads_are_kept() {
        let mut proto = matmul_model();
        let graph = proto.graph.as_mut().unwrap();
        graph.node.push(node("Identity", &["w.q"], "w.copy"));
        graph.output.push(ValueInfoProto {
            name: "w.copy".into(),
            ..Default::default()
        });
        let (model, count) = parse(&proto, true);
        assert_eq!(count, 1);
        let int8 = model
            .nodes()
            .iter()
            .filter_map(|n| n.op_as::<Const>())
            .filter(|c| c.val().datum_type() == i8::datum_type())
            .count();
        assert_eq!(int8, 1, "still read by the Identity");
    }

    /// Each initialiser's data leaves the graph once its last reader is passed, and not before: a
    /// node that reads the int8 weights ahead of the `DequantizeLinear` leaves them for it.
    #[test]
    fn the_graph_gives_up_each_initialisers_data_after_its_last_reader() {
        for reader_first in [false, true] {
            let mut proto = matmul_model();
            let graph = proto.graph.as_mut().unwrap();
            let identity = node("Identity", &["w.q"], "w.copy");
            if reader_first {
                graph.node.insert(0, identity);
            } else {
                graph.node.push(identity);
            }
            graph.output.push(ValueInfoProto {
                name: "w.copy".into(),
                ..Default::default()
            });
            let mut model = tract_onnx::onnx().model_for_proto_model(&proto).unwrap();
            let graph = proto.graph.as_mut().unwrap();
            assert_eq!(unfold_int8_weights(graph, &mut model).unwrap(), 1);
            assert_eq!(
                unfolded_weights(&model),
                unfolded_weights(&parse(&matmul_model(), true).0)
            );
            for t in &graph.initializer {
                assert!(
                    t.raw_data.is_empty() && t.int32_data.is_empty() && t.float_data.is_empty(),
                    "{} kept its data (reader first: {reader_first})",
                    t.name
                );
            }
        }
    }

    /// The shipped embedder: every `DequantizeLinear` unfolded, and the same embedding to the bit.
    #[test]
    fn the_dlib_embedder_unfolds_whole_and_embeds_identically() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/dlib/dlib_face_recognition_resnet_model_v1.int8.onnx"
        );
        let bytes = std::fs::read(path).unwrap();
        let proto = tract_onnx::onnx()
            .proto_model_for_read(&mut Cursor::new(&bytes))
            .unwrap();
        let quantized = proto
            .graph
            .as_ref()
            .unwrap()
            .node
            .iter()
            .filter(|n| n.op_type == "DequantizeLinear")
            .count();
        assert!(quantized >= 29, "{quantized} int8 weight tensors");
        let (unfolded, count) = parse(&proto, true);
        assert_eq!(count, quantized);
        assert_eq!(dequantize_nodes(&unfolded), 0);
        let typed = |model: InferenceModel| {
            model
                .with_input_fact(0, f32::fact([1, 3, 150, 150]).into())
                .unwrap()
        };
        let theirs = typed(parse(&proto, false).0)
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        // Ours as `OnnxModel::load` builds it with fp32 kernels: unfolded, then the SDK's optimiser.
        let ours = crate::vision::frontend::optimize(typed(unfolded), None)
            .unwrap()
            .into_runnable()
            .unwrap();
        let input: Tensor =
            tract_ndarray::Array4::from_shape_fn((1, 3, 150, 150), |(_, c, y, x)| {
                ((c * 61 + y * 7 + x * 3) % 256) as f32
            })
            .into();
        let a = theirs.run(tvec!(input.clone().into())).unwrap();
        let b = ours.run(tvec!(input.into())).unwrap();
        let (a, b) = (
            a[0].to_plain_array_view::<f32>().unwrap(),
            b[0].to_plain_array_view::<f32>().unwrap(),
        );
        assert_eq!(a.len(), 128);
        assert_eq!(a, b);
    }

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

    /// The shipped embedder, as its manifest loads it: the 13 convolutions with at least 100 000
    /// weights hold fp16 kernels (5 160 960 weights of its 5 603 936), and it embeds within 0.001 of
    /// its fp32 plan (every genuine and impostor margin on real faces moves by less than 0.001,
    /// `tests/vision_real.rs`), against 0.6 for a match.
    #[test]
    fn the_dlib_embedder_holds_fp16_kernels_and_embeds_as_in_fp32() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/dlib/dlib_face_recognition_resnet_model_v1.int8.onnx"
        );
        let bytes = std::fs::read(path).unwrap();
        let proto = tract_onnx::onnx()
            .proto_model_for_read(&mut Cursor::new(&bytes))
            .unwrap();
        let plan = |fp16_from| {
            let (unfolded, _) = parse(&proto, true);
            let model = unfolded
                .with_input_fact(0, f32::fact([1, 3, 150, 150]).into())
                .unwrap();
            crate::vision::frontend::optimize(model, fp16_from)
                .unwrap()
                .into_runnable()
                .unwrap()
        };
        let manifest =
            crate::manifest::Manifest::parse(include_str!("../../../models/manifest.toml"))
                .unwrap();
        let fp16_from = manifest.embedder.model.fp16_conv_kernels_from;
        assert_eq!(fp16_from, Some(100_000));
        let (half, full) = (plan(fp16_from), plan(None));
        assert_eq!(constants_of(&half, f16::datum_type()), 13);
        let input: Tensor =
            tract_ndarray::Array4::from_shape_fn((1, 3, 150, 150), |(_, c, y, x)| {
                ((c * 61 + y * 7 + x * 3) % 256) as f32
            })
            .into();
        let (a, b) = (
            first_output(&half, input.clone()),
            first_output(&full, input),
        );
        assert_eq!(a.len(), 128);
        let distance = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f32>()
            .sqrt();
        assert!(distance > 0.0 && distance < 1e-3, "{distance}");
    }
}
