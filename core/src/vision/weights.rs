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
//! A weight only convolutions read as their kernel, of at least the manifest's
//! `fp16_conv_kernels_from` weights, is unfolded to fp16 instead, behind a node that types it as
//! fp32 until `fp16_kernels` binds it to its convolutions: the load never holds it in fp32.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};
use tract_onnx::tract_hir::internal::*;

use super::fp16_kernels::widen_to_f32;

/// Replaces, in `model` (tract's parse of `graph`), every eligible `DequantizeLinear` by the fp32
/// constant it computes; returns how many. With `fp16_conv_kernels_from`, one whose only readers are
/// convolutions taking it as their kernel, of at least that many weights, becomes an fp16 constant
/// behind a [`widen_to_f32`] node instead (the same values, rounded once to fp16, as halving the
/// fp32 kernel later would give).
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
    fp16_conv_kernels_from: Option<usize>,
) -> TractResult<usize> {
    let kernels = conv_kernels_only(graph);
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
            let fp16_from = fp16_conv_kernels_from.filter(|_| {
                node.output
                    .first()
                    .is_some_and(|o| kernels.contains(o.as_str()))
            });
            if let Some(weights) = unfold(node, &index, &fed, fp16_from) {
                let mut patch = InferenceModelPatch::default();
                let name = &model.node(outlet.node).name;
                let constant = if weights.datum_type() == f16::datum_type() {
                    let half = patch.add_const(format!("{name}.fp16"), weights)?;
                    patch.wire_node(format!("{name}.widen"), widen_to_f32(), &[half])?[0]
                } else {
                    patch.add_const(format!("{name}.fp32"), weights)?
                };
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

/// The values only convolutions read, each as its kernel (input 1), and that are not graph outputs.
fn conv_kernels_only(graph: &GraphProto) -> HashSet<String> {
    let mut reads: HashMap<&str, (usize, usize)> = HashMap::new();
    for node in &graph.node {
        let conv = node.op_type == "Conv" && (node.domain.is_empty() || node.domain == "ai.onnx");
        for (slot, input) in node.input.iter().enumerate() {
            let (kernel, all) = reads.entry(input.as_str()).or_default();
            *kernel += usize::from(conv && slot == 1);
            *all += 1;
        }
    }
    reads
        .into_iter()
        .filter(|(name, (kernel, all))| {
            kernel == all && !graph.output.iter().any(|o| o.name == *name)
        })
        .map(|(name, _)| name.to_string())
        .collect()
}

/// tract labels each node's outputs with the ONNX value names.
fn outlets_by_label(model: &InferenceModel) -> HashMap<String, OutletId> {
    model
        .outlet_labels
        .iter()
        .map(|(outlet, label)| (label.clone(), *outlet))
        .collect()
}

/// The fp32 weights one node computes, or fp16 when `fp16_from` is at most their count (and fp16
/// holds every value); `None` when the node is not one this module unfolds.
fn unfold(
    node: &NodeProto,
    index: &HashMap<&str, &TensorProto>,
    fed: &[&str],
    fp16_from: Option<usize>,
) -> Option<Tensor> {
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
    if fp16_from.is_some_and(|from| len >= from)
        && let Some(half) = unfold_fp16(&values, &scale, &zero, &dims, channels, inner)
    {
        return Some(half);
    }
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

/// The same values as the fp32 unfold, each rounded once to fp16; `None` when one is beyond fp16's
/// range. Each run goes through a scratch run of fp32 first, so the arithmetic is the fp32 unfold's.
fn unfold_fp16(
    values: &Integers,
    scale: &[f32],
    zero: &[i32],
    dims: &[usize],
    channels: usize,
    inner: usize,
) -> Option<Tensor> {
    let mut weights = Tensor::zero::<f16>(dims).ok()?;
    let mut view = weights.try_as_plain_ram_mut().ok()?;
    let out = view.as_slice_mut::<f16>().ok()?;
    let mut run = vec![0f32; inner];
    for (k, out) in out.chunks_mut(inner).enumerate() {
        let c = k % channels;
        let z = zero[if zero.len() == 1 { 0 } else { c }];
        let start = k * inner;
        values.dequantize_into(start..start + inner, z, scale[c], &mut run)?;
        for (h, v) in out.iter_mut().zip(&run) {
            *h = f16::from_f32(*v);
            if !h.is_finite() {
                return None;
            }
        }
    }
    Some(weights)
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

    use super::*;
    use crate::vision::onnx_graphs::{
        dlib_embedder_proto, first_output, float, model, node, value,
    };
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
            unfold_int8_weights(&mut graph, &mut model, None).unwrap()
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
        assert!(unfold(&graph.node[0], &index, &[], None).is_some());
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
            assert!(unfold(&graph.node[0], &index, &[], None).is_none(), "{why}");
        }
        let mut blocked = graph.node[0].clone();
        blocked.attribute.push(int_attr("block_size", 2));
        assert!(
            unfold(&blocked, &index, &[], None).is_none(),
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
            assert_eq!(unfold_int8_weights(graph, &mut model, None).unwrap(), 1);
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
        let proto = dlib_embedder_proto();
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
}
