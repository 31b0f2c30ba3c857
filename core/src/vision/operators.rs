//! The ONNX operators the SDK parses: the 23 its five models use, each parsed as tract-onnx 0.23.9
//! parses it.
//!
//! tract's own front-end (`tract_onnx::onnx()`) registers every ONNX operator tract knows. Its table
//! holds a parser per operator, so the linker keeps every operator's parser and the tract-core code
//! behind it: recurrent layers, ML trees, resizing, attention and more. Registering only the
//! operators below took the stripped arm64 library from 11.84 to 10.45 MB (docs/performance.md,
//! "Only the ONNX operators the models use").
//!
//! A model that uses any other operator fails to load, and the error names it ([`unsupported`]).
//! To ship such a model, add its operator here, parsed as tract-onnx parses it. `frontend`'s tests
//! check that every shipped model answers bit for bit as under tract's full table.
//!
//! The parsers and the expansions below are adapted from tract-onnx 0.23.9 (Sonos, MIT OR
//! Apache-2.0; `src/ops/{mod,nn/mod,nn/batch_norm,nn/max_pool,math,math/gemm,array/mod,array/pad,
//! array/shape,array/unsqueeze,quant}.rs`). They are tract's own, with two changes: nothing unwraps
//! or indexes past the end of a model's values (Pad's pads, DequantizeLinear's scale), and a max
//! pool's ONNX `Indices` output is refused rather than computed.

use std::ops::Range;

use tract_onnx::Onnx;
use tract_onnx::model::{ParsingContext, optional_inputs};
use tract_onnx::pb::NodeProto;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb_helpers::OptionExt;
use tract_onnx::tract_core::ops::cast::cast;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops;
use tract_onnx::tract_hir::ops::array::{self, PadMode};
use tract_onnx::tract_hir::ops::cnn::{self, HirMaxPool, HirSumPool, PoolSpec};
use tract_onnx::tract_hir::ops::nn::DataFormat;
use tract_onnx::tract_hir::ops::quant::DequantizeLinearF32;

/// What a parser returns: the operator and the names of the graph values it closes on.
type Parsed = TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

/// Registers the SDK's operators in `onnx`, whose table should start empty (`Onnx::default()`).
pub fn register(onnx: &mut Onnx) {
    let reg = &mut onnx.op_register;
    // Graph plumbing.
    reg.insert("Constant", constant);
    reg.insert("Identity", |_, _| {
        Ok((Box::<ops::identity::Identity>::default(), vec![]))
    });
    reg.insert("Shape", shape);
    reg.insert("Gather", |_, node| {
        let axis = node.get_attr_opt("axis")?.unwrap_or(0);
        Ok((expand(array::Gather::new(axis)), vec![]))
    });
    reg.insert("Unsqueeze", unsqueeze);
    reg.insert("Concat", |_, node| {
        let axis = node.get_attr("axis")?;
        Ok((expand(array::Concat::new(axis)), vec![]))
    });
    reg.insert("Reshape", |_, node| {
        // allowzero was added in opset 14; absent, it defaults to 0.
        let allowzero = node.get_attr_opt::<i64>("allowzero")?.unwrap_or(0) != 0;
        Ok((expand(array::Reshape::new(allowzero)), vec![]))
    });
    reg.insert("Flatten", |_, node| {
        let axis: i64 = node.get_attr_opt("axis")?.unwrap_or(1);
        Ok((expand(array::Flatten::new(axis)), vec![]))
    });
    reg.insert("Transpose", |_, node| {
        let perm = node.get_attr_opt_vec("perm")?;
        Ok((
            expand(array::PermuteAxes::new(perm.map(|t| t.into()))),
            vec![],
        ))
    });
    reg.insert("Pad", pad);
    // Arithmetic.
    reg.insert("Add", |_, _| Ok((ops::math::Add.into_hir(), vec![])));
    reg.insert("Mul", |_, _| Ok((ops::math::Mul.into_hir(), vec![])));
    reg.insert("MatMul", |_, _| {
        Ok((expand(ops::matmul::MatMulInference::default()), vec![]))
    });
    reg.insert("Gemm", gemm);
    // Layers.
    reg.insert("Conv", conv);
    reg.insert("MaxPool", max_pool);
    reg.insert("AveragePool", average_pool);
    reg.insert("GlobalAveragePool", |_, _| {
        Ok((expand(ops::nn::GlobalAvgPool), vec![]))
    });
    reg.insert("BatchNormalization", batch_normalization);
    reg.insert("Relu", |_, _| {
        Ok((expand(ops::activations::Clip::new(Some(0.0), None)), vec![]))
    });
    reg.insert("Sigmoid", |_, _| {
        Ok((ops::nn::sigmoid().into_hir(), vec![]))
    });
    // `PRelu` is `prelu`'s; its registration follows this one.
    reg.insert("DequantizeLinear", dequantize_linear);
}

/// The first operator in `graph` the front-end `onnx` cannot parse, with how many nodes use it.
/// Checked before parsing: tract would otherwise build an "unimplemented" node and fail later,
/// naming the node rather than the operator.
pub fn unsupported(onnx: &Onnx, graph: &tract_onnx::pb::GraphProto) -> Option<(String, usize)> {
    let missing = |n: &&NodeProto| !onnx.op_register.0.contains_key(&n.op_type);
    let first = graph.node.iter().find(missing)?;
    let count = graph
        .node
        .iter()
        .filter(|n| n.op_type == first.op_type)
        .count();
    Some((first.op_type.clone(), count))
}

/// The ONNX element types the SDK computes in. The workspace's tract-data leaves the arithmetic of
/// u16, u32, u64, i16 and f64 out (third_party/tract-data/SMARTID.md); strings and complex numbers
/// never were the SDK's. A model holding one would fail inside tract's optimiser, or at its first
/// run, with a message about a datum type; [`unsupported_element_type`] refuses it at load, naming
/// the tensor.
const ELEMENT_TYPES: [DataType; 7] = [
    DataType::Float,
    DataType::Float16,
    DataType::Int8,
    DataType::Uint8,
    DataType::Int32,
    DataType::Int64,
    DataType::Bool,
];

/// The first tensor or value in `graph` of an element type the SDK does not compute in: the type's
/// ONNX name and where it is (an initializer, a graph output, a value's declared type, a node's
/// constant). Checked before parsing, with [`unsupported`]. The graph's inputs are not: the SDK
/// gives the model's input its own f32 type. A value whose type is left undefined is inferred by
/// tract from the operators, which produce only the types above from them.
pub fn unsupported_element_type(graph: &tract_onnx::pb::GraphProto) -> Option<(String, String)> {
    let refused = |code: i32| match DataType::try_from(code) {
        Ok(DataType::Undefined) => None,
        Ok(dt) if ELEMENT_TYPES.contains(&dt) => None,
        Ok(dt) => Some(dt.as_str_name().to_string()),
        Err(_) => Some(format!("unknown ({code})")),
    };
    let declared = |v: &tract_onnx::pb::ValueInfoProto| match v.r#type.as_ref()?.value.as_ref()? {
        tract_onnx::pb::type_proto::Value::TensorType(t) => refused(t.elem_type),
    };
    let values = [
        ("graph output", &graph.output),
        ("value", &graph.value_info),
    ];
    for (place, list) in values {
        for v in list.iter() {
            if let Some(dt) = declared(v) {
                return Some((dt, format!("{place} '{}'", v.name)));
            }
        }
    }
    for t in &graph.initializer {
        if let Some(dt) = refused(t.data_type) {
            return Some((dt, format!("initializer '{}'", t.name)));
        }
    }
    for n in &graph.node {
        for a in &n.attribute {
            let tensors = a.t.iter().chain(a.tensors.iter());
            let typed = tensors.filter_map(|t| refused(t.data_type));
            let strings = (n.op_type == "Constant" && a.name.starts_with("value_string"))
                .then(|| "STRING".to_string());
            if let Some(dt) = typed.chain(strings).next() {
                return Some((dt, format!("attribute '{}' of node '{}'", a.name, n.name)));
            }
        }
    }
    None
}

fn constant(ctx: &ParsingContext, node: &NodeProto) -> Parsed {
    let value = if let Some(v) = node.get_attr_opt("value")? {
        ctx.load_tensor(v)?
    } else if let Some(i) = node.get_attr_opt::<i64>("value_int")? {
        tensor0(i)
    } else if let Some(v) = node.get_attr_opt::<f32>("value_float")? {
        tensor0(v)
    } else if let Some(ints) = node.get_attr_opt_slice::<i64>("value_ints")? {
        tensor1(ints)
    } else if let Some(floats) = node.get_attr_opt_slice::<f32>("value_floats")? {
        tensor1(floats)
    } else if let Some(s) = node.get_attr_opt::<String>("value_string")? {
        tensor0(s)
    } else if let Some(strings) = node.get_attr_opt_slice::<Vec<u8>>("value_strings")? {
        let strings: Vec<String> = strings
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        tensor1(&strings)
    } else {
        bail!("Could not extract value out of Constant node")
    };
    Ok((
        Box::new(ops::konst::Const::new(value.into_arc_tensor())?),
        vec![],
    ))
}

// ---- convolutions and pools (tract-onnx `ops/nn/mod.rs`, `ops/nn/max_pool.rs`) -------------------

fn padding(node: &NodeProto, pool_rules: bool) -> TractResult<cnn::PaddingSpec> {
    let ceil_mode = node.get_attr_opt::<isize>("ceil_mode")?.unwrap_or(0) == 1;
    let default = match node.get_attr_opt_vec::<isize>("kernel_shape")? {
        Some(shape) => {
            if pool_rules {
                cnn::PaddingSpec::ExplicitOnnxPool(
                    tvec!(0; shape.len()),
                    tvec!(0; shape.len()),
                    ceil_mode,
                )
            } else {
                cnn::PaddingSpec::Explicit(tvec!(0; shape.len()), tvec!(0; shape.len()))
            }
        }
        None => cnn::PaddingSpec::Valid,
    };
    if let Some(pads) = node.get_attr_opt_tvec("pads")? {
        let len = pads.len();
        let left = pads.iter().cloned().take(len / 2).collect();
        let right = pads.iter().cloned().skip(len / 2).collect();
        if pool_rules {
            return Ok(cnn::PaddingSpec::ExplicitOnnxPool(left, right, ceil_mode));
        } else {
            return Ok(cnn::PaddingSpec::Explicit(left, right));
        }
    }
    Ok(node
        .get_attr_opt("auto_pad")?
        .and_try(|s| {
            node.check_value(
                "auto_pad",
                match s {
                    "NOTSET" => Ok(default.clone()),
                    "VALID" => Ok(cnn::PaddingSpec::Valid),
                    "SAME_UPPER" => Ok(cnn::PaddingSpec::SameUpper),
                    "SAME_LOWER" => Ok(cnn::PaddingSpec::SameLower),
                    _ => Err(s),
                },
            )
        })?
        .unwrap_or(default))
}

fn dilations(node: &NodeProto) -> TractResult<Option<TVec<usize>>> {
    node.get_attr_opt_tvec("dilations")
}

fn strides(node: &NodeProto) -> TractResult<Option<TVec<usize>>> {
    node.get_attr_opt_tvec("strides")
}

fn conv(_ctx: &ParsingContext, node: &NodeProto) -> Parsed {
    let mut op = ops::cnn::Conv::default().padding(padding(node, false)?);
    if let Some(kernel_shape) = node.get_attr_opt_tvec("kernel_shape")? {
        op = op.kernel_shape(kernel_shape);
    }
    if let Some(group) = node.get_attr_opt("group")? {
        op = op.group(group);
    }
    if let Some(v) = dilations(node)? {
        op = op.dilations(v);
    }
    if let Some(v) = strides(node)? {
        op = op.strides(v);
    }
    if node.input.len() == 3 {
        op = op.bias_input(2);
    }
    Ok((expand(op), vec![]))
}

fn max_pool(_ctx: &ParsingContext, node: &NodeProto) -> Parsed {
    if node.output.len() == 2 {
        bail!("MaxPool with an Indices output is not supported");
    }
    let kernel_shape = node.get_attr_tvec("kernel_shape")?;
    let pad = padding(node, true)?;
    let pool_spec = PoolSpec::new(
        DataFormat::NCHW,
        kernel_shape,
        pad,
        dilations(node)?,
        strides(node)?,
        0,
        0,
    );
    Ok((expand(HirMaxPool::new(pool_spec, None)), vec![]))
}

fn average_pool(_ctx: &ParsingContext, node: &NodeProto) -> Parsed {
    let kernel_shape = node.get_attr_tvec("kernel_shape")?;
    let pad = padding(node, true)?;
    let count_include_pad = node.get_attr_opt("count_include_pad")?.unwrap_or(false);
    let pool_spec = PoolSpec::new(
        DataFormat::NCHW,
        kernel_shape,
        pad,
        dilations(node)?,
        strides(node)?,
        0,
        0,
    );
    Ok((
        expand(HirSumPool::new(pool_spec, count_include_pad, true)),
        vec![],
    ))
}

// ---- BatchNormalization (tract-onnx `ops/nn/mod.rs`, `ops/nn/batch_norm.rs`) ---------------------

fn batch_normalization(_ctx: &ParsingContext, node: &NodeProto) -> Parsed {
    let epsilon = node.get_attr_opt("epsilon")?.unwrap_or(1e-5);
    let spatial = node.get_attr_opt("spatial")?.unwrap_or(1);
    if spatial != 1 {
        bail!(
            "BatchNormalization: attribute 'spatial' is not supported (deprecated by ONNX operator set 9)"
        )
    }
    Ok((expand(BatchNorm { epsilon }), vec![]))
}

/// Inference-time batch normalisation on NCHW data, folded into a per-channel slope and intercept.
#[derive(Debug, Clone)]
struct BatchNorm {
    epsilon: f32,
}

impl BatchNorm {
    fn to_slope_and_inter<T>(
        &self,
        c_dim: usize,
        scale: &Tensor,
        beta: &Tensor,
        mean: &Tensor,
        var: &Tensor,
    ) -> TractResult<(Tensor, Tensor)>
    where
        T: Datum + tract_num_traits::Float,
        f32: tract_num_traits::AsPrimitive<T>,
    {
        use tract_num_traits::AsPrimitive;
        let scale = scale
            .to_plain_array_view::<T>()?
            .into_shape_with_order((c_dim,))?;
        let beta = beta
            .to_plain_array_view::<T>()?
            .into_shape_with_order((c_dim,))?;
        let mean = mean
            .to_plain_array_view::<T>()?
            .into_shape_with_order((c_dim,))?;
        let var = var
            .to_plain_array_view::<T>()?
            .into_shape_with_order((c_dim,))?;
        let denominator = var.mapv(|x| (x + self.epsilon.as_()).sqrt());
        let slope = &scale / &denominator;
        let intercept = beta.to_owned() - (&mean * &scale) / denominator;
        Ok((slope.into_tensor(), intercept.into_tensor()))
    }
}

impl Expansion for BatchNorm {
    fn name(&self) -> StaticName {
        "BatchNorm".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 5)?;
        check_output_arity(outputs, 1)?;
        s.equals_all(tract_onnx::tract_hir::wrap!(
            &outputs[0].datum_type,
            &inputs[0].datum_type,
            &inputs[1].datum_type,
            &inputs[2].datum_type,
            &inputs[3].datum_type,
            &inputs[4].datum_type
        ))?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        s.equals_all(tract_onnx::tract_hir::wrap!(
            &inputs[1].shape,
            &inputs[2].shape,
            &inputs[3].shape,
            &inputs[4].shape
        ))?;
        s.given(&inputs[0].shape, move |s, shape| {
            let shape = DataFormat::NCHW.shape(shape)?;
            s.equals(&inputs[1].shape[0], shape.c_dim())
        })?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        target: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let x = target.outlet_fact(inputs[0])?;
        let params = (1..5)
            .map(|i| Ok(target.outlet_fact(inputs[i])?.konst.clone()))
            .collect::<TractResult<TVec<Option<Arc<Tensor>>>>>()?;
        let (Some(scale), Some(beta), Some(mean), Some(var)) =
            (&params[0], &params[1], &params[2], &params[3])
        else {
            bail!("Params are not const")
        };
        let x_shape = x.shape.to_tvec();
        let c_axis = DataFormat::NCHW.shape(&x_shape)?.c_axis();
        let c_dim = DataFormat::NCHW.shape(&x_shape)?.c_dim().to_usize()?;
        let (mut slope, mut inter) = dispatch_floatlike!(Self::to_slope_and_inter(x.datum_type)(
            self, c_dim, scale, beta, mean, var
        ))?;
        let mut const_shape = tvec!(1; x_shape.len());
        const_shape[c_axis] = c_dim;
        slope.set_shape(&const_shape)?;
        inter.set_shape(&const_shape)?;
        let slope = target.add_const(prefix.to_string() + ".slope", slope)?;
        let inter = target.add_const(prefix.to_string() + ".inter", inter)?;
        let wire = target.wire_node(
            format!("{prefix}.mul"),
            ops::math::mul(),
            &[slope, inputs[0]],
        )?;
        target.wire_node(prefix, ops::math::add(), &[inter, wire[0]])
    }
}

// ---- Gemm (tract-onnx `ops/math/gemm.rs`) --------------------------------------------------------

fn gemm(_ctx: &ParsingContext, node: &NodeProto) -> Parsed {
    let op = Gemm {
        alpha: node.get_attr_opt("alpha")?.unwrap_or(1.),
        beta: node.get_attr_opt("beta")?.unwrap_or(1.),
        trans_a: node.get_attr_opt("transA")?.unwrap_or(false),
        trans_b: node.get_attr_opt("transB")?.unwrap_or(false),
    };
    Ok((expand(op), vec![]))
}

/// `alpha · A·B + beta · C`, A and B optionally transposed.
#[derive(Debug, Clone)]
struct Gemm {
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
}

impl Expansion for Gemm {
    fn name(&self) -> StaticName {
        "Gemm".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        if inputs.len() < 2 {
            bail!(
                "Wrong input number. Rules expect at least 2, node has {}.",
                inputs.len()
            );
        }
        if inputs.len() == 3 {
            s.equals(&inputs[2].datum_type, &outputs[0].datum_type)?;
        }
        s.equals(&inputs[0].rank, 2)?;
        s.equals(&inputs[1].rank, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].rank, 2)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[1].datum_type, &outputs[0].datum_type)?;
        let (ca, ra) = if self.trans_a { (0, 1) } else { (1, 0) };
        let (cb, rb) = if self.trans_b { (0, 1) } else { (1, 0) };
        s.equals(&inputs[0].shape[ra], &outputs[0].shape[0])?;
        s.equals(&inputs[0].shape[ca], &inputs[1].shape[rb])?;
        s.equals(&inputs[1].shape[cb], &outputs[0].shape[1])?;
        Ok(())
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let (a, b, c) = (inputs[0], inputs[1], inputs.get(2).copied());
        let axes = AxesMapping::for_numpy_matmul(2, self.trans_a, self.trans_b, false)?;
        let mut wire = model.wire_node(
            format!("{name}.ab"),
            EinSum::new(axes, model.outlet_fact(a)?.datum_type),
            [a, b].as_ref(),
        )?[0];
        if self.alpha != 1.0 {
            let alpha = tensor0(self.alpha).broadcast_into_rank(model.outlet_fact(wire)?.rank())?;
            let alpha = model.add_const(name.to_string() + ".alpha_ab.cst", alpha)?;
            wire = model.wire_node(
                name.to_string() + ".alpha_ab",
                ops::math::mul(),
                &[alpha, wire],
            )?[0];
        }
        if let (true, Some(mut c)) = (self.beta != 0.0f32, c) {
            while model.outlet_fact(wire)?.rank() > model.outlet_fact(c)?.rank() {
                c = model.wire_node(
                    format!("{}.c_add_axis_{}", name, model.outlet_fact(c)?.rank()),
                    tract_onnx::tract_core::ops::change_axes::AxisOp::Add(0),
                    &[c],
                )?[0];
            }
            let beta = tensor0(self.beta).broadcast_into_rank(model.outlet_fact(wire)?.rank())?;
            let beta = model.add_const(name.to_string() + ".beta_c.cst", beta)?;
            let beta_c =
                model.wire_node(name.to_string() + ".beta_c", ops::math::mul(), &[beta, c])?[0];
            wire = model.wire_node(name, ops::math::add(), &[wire, beta_c])?[0];
        }
        Ok(tvec!(wire))
    }
}

// ---- Pad (tract-onnx `ops/array/pad.rs`) ---------------------------------------------------------

fn pad(ctx: &ParsingContext, node: &NodeProto) -> Parsed {
    let mode = pad_mode(node)?;
    match ctx.onnx_operator_set_version {
        // Pads as an attribute.
        2..=10 => {
            let pads = node.get_attr_tvec("pads")?;
            let rank = pads.len() / 2;
            let pads = (0..rank).map(|ax| (pads[ax], pads[ax + rank])).collect();
            Ok((Box::new(array::Pad::new(pads, mode)), vec![]))
        }
        // Pads, and optionally the constant and the axes, as inputs (18 is a superset of 11).
        11.. => {
            let mut inputs = optional_inputs(node).skip(2);
            let op = Pad18 {
                mode,
                constant_input: inputs.next().flatten(),
                axes_input: inputs.next().flatten(),
            };
            Ok((expand(op), vec![]))
        }
        _ => bail!("Unsupported operator set for Pad operator"),
    }
}

fn pad_mode(node: &NodeProto) -> TractResult<PadMode> {
    let value: f32 = node.get_attr_opt("value")?.unwrap_or(0.0);
    let mode = match node.get_attr_opt("mode")? {
        None | Some("constant") => None,
        Some(mode) => node.check_value(
            "mode",
            match mode {
                "reflect" => TractResult::Ok(Some(PadMode::Reflect)),
                "edge" => Ok(Some(PadMode::Edge)),
                _ => bail!("Unsupported mode {mode}"),
            },
        )?,
    }
    .unwrap_or_else(|| PadMode::Constant(Arc::new(value.into())));
    Ok(mode)
}

/// The pads of the `ix`th padded axis, (before, after), from ONNX's `[begins..., ends...]`; an error
/// rather than a panic when there are fewer pads than axes.
fn pad_pair<T: Clone>(pads: &[T], ix: usize) -> TractResult<(T, T)> {
    let half = pads.len() / 2;
    ensure!(ix < half, "Pad has {} pads for axis {ix}", pads.len());
    match (pads.get(ix), pads.get(ix + half)) {
        (Some(before), Some(after)) => Ok((before.clone(), after.clone())),
        _ => bail!("Pad has {} pads for axis {ix}", pads.len()),
    }
}

/// ONNX `Pad` from operator set 11 on: the pads (and the constant, the axes) are inputs, which must
/// be constants by the time the graph is typed.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Pad18 {
    mode: PadMode,
    constant_input: Option<usize>,
    axes_input: Option<usize>,
}

impl Expansion for Pad18 {
    fn name(&self) -> StaticName {
        "Pad".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(
            inputs,
            2 + self.constant_input.is_some() as usize + self.axes_input.is_some() as usize,
        )?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].rank, &outputs[0].rank)?;
        s.equals(&inputs[1].rank, 1)?;
        if let Some(constant) = self.constant_input {
            s.equals(&inputs[0].datum_type, &inputs[constant].datum_type)?;
            s.equals(&inputs[constant].rank, 0)?;
        }

        fn do_output_shape<'r, 'p: 'r>(
            s: &mut Solver<'r>,
            inputs: &'p [TensorProxy],
            outputs: &'p [TensorProxy],
            axes: Vec<usize>,
        ) -> TractResult<()> {
            s.given(&inputs[1].value, move |s, pads| {
                let pads = pads.cast_to::<TDim>()?;
                let pads = pads.try_as_plain_ram()?.as_slice::<TDim>()?;
                for (ix, axis) in axes.iter().enumerate() {
                    let (left, right) = pad_pair(pads, ix)?;
                    s.equals(
                        &outputs[0].shape[*axis],
                        inputs[0].shape[*axis].bex() + left + right,
                    )?;
                }
                Ok(())
            })?;
            Ok(())
        }

        if let Some(axes) = self.axes_input {
            s.equals(&inputs[axes].rank, 1)?;
            s.equals(&inputs[1].shape[0], 2 * inputs[axes].shape[0].bex())?;
            s.given_2(
                &inputs[0].rank,
                &inputs[axes].value,
                move |s, rank, axes| {
                    let axes = axes
                        .cast_to::<i64>()?
                        .try_as_plain_ram()?
                        .as_slice::<i64>()?
                        .iter()
                        .map(|x| (if *x < 0 { *x + rank } else { *x }) as usize)
                        .collect();
                    do_output_shape(s, inputs, outputs, axes)
                },
            )
        } else {
            s.equals(&inputs[1].shape[0], 2 * inputs[0].rank.bex().to_dim())?;
            s.given(&inputs[0].rank, move |s, rank| {
                let axes = (0..rank as usize).collect();
                do_output_shape(s, inputs, outputs, axes)
            })
        }
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let mode = if let Some(constant) = self.constant_input {
            if let Some(c) = model.outlet_fact(inputs[constant])?.konst.clone() {
                PadMode::Constant(c)
            } else {
                bail!("Pad constant input must be constant")
            }
        } else {
            self.mode.clone()
        };
        let rank = model.outlet_fact(inputs[0])?.rank();
        let axes: Vec<usize> = if let Some(axes) = self.axes_input {
            model
                .outlet_fact(inputs[axes])?
                .konst
                .as_ref()
                .context("Axes must be a constant")?
                .cast_to::<i64>()?
                .try_as_plain_ram()?
                .as_slice::<i64>()?
                .iter()
                .map(|x| (if *x < 0 { *x + rank as i64 } else { *x }) as usize)
                .collect()
        } else {
            (0..rank).collect()
        };
        let pads = model
            .outlet_fact(inputs[1])?
            .konst
            .as_ref()
            .context("Expect padding to be constant")?
            .cast_to::<i64>()?;
        let pads = pads.try_as_plain_ram()?.as_slice::<i64>()?;
        let mut fixed_pads = vec![(0, 0); rank];
        for (ix, &axis) in axes.iter().enumerate() {
            let (left, right) = pad_pair(pads, ix)?;
            *fixed_pads
                .get_mut(axis)
                .context("Pad axis out of the input's rank")? = (left as usize, right as usize);
        }
        model.wire_node(
            name,
            array::Pad {
                mode,
                pads: fixed_pads,
            },
            &inputs[0..1],
        )
    }
}

// ---- Shape (tract-onnx `ops/array/shape.rs`) -----------------------------------------------------

fn shape(_ctx: &ParsingContext, node: &NodeProto) -> Parsed {
    let start = node.get_attr_opt("start")?.unwrap_or(0);
    let end = node.get_attr_opt("end")?;
    Ok((expand(Shape { start, end }), vec![]))
}

/// The input's shape (from operator set 15, the axes `start..end` of it), a constant once typed.
#[derive(Debug, Clone, Default, Hash, PartialEq, Eq)]
struct Shape {
    start: i64,
    end: Option<i64>,
}

impl Shape {
    fn resolve(&self, rank: i64) -> Range<usize> {
        let clamp =
            |axis: i64| (if axis >= 0 { axis } else { axis + rank }).clamp(0, rank) as usize;
        let start = clamp(self.start);
        let end = self.end.map(clamp).unwrap_or(rank as usize);
        // Both bounds are clamped to [0, rank]; a start past the end selects nothing.
        start..end.max(start)
    }
}

impl Expansion for Shape {
    fn name(&self) -> StaticName {
        "Shape".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].rank, 1)?;
        s.equals(&outputs[0].datum_type, TDim::datum_type())?;
        s.given(&inputs[0].shape, |s, shape| {
            let rank = shape.len() as i64;
            let range = self.resolve(rank);
            s.equals(&outputs[0].value, rctensor1(&shape[range]))?;
            Ok(())
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?;
        let range = self.resolve(fact.rank() as i64);
        let shape = fact.shape.to_tvec();
        let wire = model.add_const(prefix, tensor1(&shape[range]))?;
        Ok(tvec!(wire))
    }
}

// ---- Unsqueeze (tract-onnx `ops/array/unsqueeze.rs`) ---------------------------------------------

fn unsqueeze(ctx: &ParsingContext, node: &NodeProto) -> Parsed {
    if ctx.onnx_operator_set_version < 13 {
        let axes = node
            .get_attr_vec::<i64>("axes")?
            .into_iter()
            .map(|x| x as isize)
            .collect();
        Ok((expand(array::AddDims::new(axes)), vec![]))
    } else {
        Ok((expand(Unsqueeze13), vec![]))
    }
}

/// ONNX `Unsqueeze` from operator set 13 on: the axes are an input, a constant once typed.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Unsqueeze13;

fn axes_of(axes: &Tensor) -> TractResult<Vec<isize>> {
    Ok(axes
        .cast_to::<i64>()?
        .try_as_plain_ram()?
        .as_slice::<i64>()?
        .iter()
        .map(|i| *i as isize)
        .collect())
}

impl Expansion for Unsqueeze13 {
    fn name(&self) -> StaticName {
        "Unsqueeze13".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.given_2(&inputs[0].shape, &inputs[1].value, move |s, shape, axes| {
            let op = array::AddDims::new(axes_of(&axes)?);
            let out_shape = op.output_shape(&shape);
            s.equals(&outputs[0].shape, out_shape)
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let Some(axes) = model.outlet_fact(inputs[1])?.konst.as_ref() else {
            bail!("Need axes to be a constant")
        };
        let op = array::AddDims::new(axes_of(axes)?);
        op.wire(prefix, model, &inputs[0..1])
    }
}

// ---- DequantizeLinear (tract-onnx `ops/quant.rs`) ------------------------------------------------
// `weights` unfolds the embedder's int8 weights before the graph is typed; any other
// `DequantizeLinear` runs as tract runs it.

fn dequantize_linear(_ctx: &ParsingContext, node: &NodeProto) -> Parsed {
    let block_size = node.get_attr_opt::<i64>("block_size")?.unwrap_or(0);
    ensure!(
        block_size == 0,
        "{}: blocked quantization is not supported",
        node.op_type
    );
    let op = DequantizeLinear {
        optional_zero_point_input: (node.input.len() == 3).then_some(2),
        axis: node.get_attr_opt("axis")?.unwrap_or(1),
    };
    Ok((expand(op), vec![]))
}

/// Reshapes a per-axis scale or zero point so that it broadcasts along `axis` of a rank `rank`
/// tensor, as f32.
fn per_axis_param(param: &Tensor, axis: i64, rank: usize) -> TractResult<Tensor> {
    let axis = if axis < 0 { axis + rank as i64 } else { axis };
    ensure!(
        (0..rank as i64).contains(&axis),
        "quantization axis {axis} out of range"
    );
    let mut shape = tvec![1; rank];
    shape[axis as usize] = param.len();
    param.cast_to::<f32>()?.into_owned().into_shape(&shape)
}

/// `(x - zero_point) · scale`, per tensor or per axis.
#[derive(Debug, Clone, Default, Hash, PartialEq, Eq)]
struct DequantizeLinear {
    optional_zero_point_input: Option<usize>,
    axis: i64,
}

impl Expansion for DequantizeLinear {
    fn name(&self) -> StaticName {
        "DequantizeLinear".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> TractResult<()> {
        check_input_arity(
            inputs,
            2 + self.optional_zero_point_input.is_some() as usize,
        )?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[1].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        if self.optional_zero_point_input.is_some() {
            s.equals(&inputs[0].datum_type, &inputs[2].datum_type)?;
        }
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        target: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let scales = target
            .outlet_fact(inputs[1])?
            .konst
            .clone()
            .context("y_scale must be a const")?;
        let zero_point = if self.optional_zero_point_input.is_some() {
            target
                .outlet_fact(inputs[2])?
                .konst
                .as_ref()
                .context("y_zero_point must be a const")?
                .clone()
        } else {
            rctensor0(0u8)
        };
        if scales.len() > 1 || zero_point.len() > 1 {
            let rank = target.outlet_fact(inputs[0])?.rank();
            let scale = per_axis_param(&scales, self.axis, rank)?;
            let scale = target.add_const(format!("{prefix}.scale"), scale)?;
            let zero_point = per_axis_param(&zero_point, self.axis, rank)?;
            let zero_point = target.add_const(format!("{prefix}.zero_point"), zero_point)?;
            let x = target.wire_node(
                format!("{prefix}.cast"),
                cast(f32::datum_type()),
                &[inputs[0]],
            )?;
            let x = target.wire_node(
                format!("{prefix}.sub"),
                ops::math::sub(),
                &[x[0], zero_point],
            )?;
            return target.wire_node(prefix, ops::math::mul(), &[x[0], scale]);
        }
        // One scale and one zero point (an empty one is refused, not indexed).
        let one = "y_scale and y_zero_point must hold a value";
        let scale = *scales
            .try_as_plain_ram()?
            .as_slice::<f32>()?
            .first()
            .context(one)?;
        let zero_point = zero_point.try_as_plain_ram()?;
        let zero = if zero_point.datum_type() == u8::datum_type() {
            *zero_point.as_slice::<u8>()?.first().context(one)? as i32
        } else if zero_point.datum_type() == i8::datum_type() {
            *zero_point.as_slice::<i8>()?.first().context(one)? as i32
        } else {
            *zero_point.as_slice::<i32>()?.first().context(one)?
        };
        let op: Box<dyn TypedOp> = Box::new(DequantizeLinearF32::new(scale, zero));
        target.wire_node(prefix, op, &[inputs[0]])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;

    use prost::Message;
    use tract_onnx::pb::ModelProto;

    use super::*;
    use crate::error::Error;
    use crate::manifest::Manifest;
    use crate::vision::frontend;
    use crate::vision::model::OnnxModel;
    use crate::vision::onnx_graphs::{float, model, node, value};

    fn shipped_protos() -> Vec<(String, ModelProto)> {
        let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let text =
            std::fs::read_to_string(format!("{repo}/models/manifest-antispoof.toml")).unwrap();
        let manifest = Manifest::parse(&text).unwrap();
        let mut protos: Vec<(String, ModelProto)> = Vec::new();
        for (_, spec) in manifest.models() {
            let bytes = std::fs::read(format!("{repo}/models/{}", spec.file)).unwrap();
            let proto = frontend::onnx()
                .proto_model_for_read(&mut std::io::Cursor::new(bytes))
                .unwrap();
            protos.push((spec.file.clone(), proto));
        }
        protos
    }

    /// The table holds what the five shipped models use and nothing more: an operator no model
    /// uses is code in every app for nothing, and a model's new operator is found here first.
    #[test]
    fn the_table_is_exactly_the_shipped_models_operators() {
        let protos = shipped_protos();
        assert_eq!(protos.len(), 5);
        let used: BTreeSet<String> = protos
            .iter()
            .flat_map(|(_, p)| p.graph.as_ref().unwrap().node.iter())
            .map(|n| n.op_type.clone())
            .collect();
        let registered: BTreeSet<String> = frontend::onnx().op_register.0.keys().cloned().collect();
        assert_eq!(registered, used);
        assert_eq!(used.len(), 23);
        for (file, proto) in &protos {
            assert_eq!(
                unsupported(&frontend::onnx(), proto.graph.as_ref().unwrap()),
                None,
                "{file}"
            );
            assert_eq!(
                unsupported_element_type(proto.graph.as_ref().unwrap()),
                None,
                "{file}"
            );
        }
    }

    /// The detector's spec, for a test graph of `shape`.
    fn spec_of_shape(shape: [usize; 4]) -> crate::manifest::ModelSpec {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/manifest.toml"
        ))
        .unwrap();
        let mut spec = Manifest::parse(&text).unwrap().detector.model;
        spec.input.shape = shape;
        spec
    }

    /// A tensor of an element type the workspace's tract-data has no arithmetic for fails at load,
    /// named with its place, before tract parses anything: an f64 initializer, a u32 output, an i16
    /// constant and a string constant. Without the check, the f64 initializer's model loads, types
    /// its output f64 and fails only at its first frame, where the SDK reads f32 outputs.
    #[test]
    fn a_tensor_of_another_element_type_fails_to_load_naming_it() {
        use tract_onnx::pb::attribute_proto::AttributeType;
        use tract_onnx::pb::{AttributeProto, GraphProto, TensorProto};
        let graph = |extra: Vec<NodeProto>, init: Vec<TensorProto>, output_type: DataType| {
            let mut output = value("y", &[1, 1, 1, 4]);
            if let Some(tract_onnx::pb::type_proto::Value::TensorType(t)) =
                output.r#type.as_mut().and_then(|t| t.value.as_mut())
            {
                t.elem_type = output_type as i32;
            }
            let mut nodes = extra;
            nodes.push(node("Add", &["x", "c"], "y"));
            GraphProto {
                node: nodes,
                input: vec![value("x", &[1, 1, 1, 4])],
                output: vec![output],
                initializer: init,
                ..Default::default()
            }
        };
        let double = TensorProto {
            name: "c".into(),
            dims: vec![4],
            data_type: DataType::Double as i32,
            double_data: vec![1.0; 4],
            ..Default::default()
        };
        let constant = |attr: AttributeProto| NodeProto {
            op_type: "Constant".into(),
            name: "k".into(),
            output: vec!["c".into()],
            attribute: vec![attr],
            ..Default::default()
        };
        let int16 = AttributeProto {
            name: "value".into(),
            r#type: AttributeType::Tensor as i32,
            t: Some(TensorProto {
                dims: vec![4],
                data_type: DataType::Int16 as i32,
                int32_data: vec![1; 4],
                ..Default::default()
            }),
            ..Default::default()
        };
        let string = AttributeProto {
            name: "value_string".into(),
            r#type: AttributeType::String as i32,
            s: b"1".to_vec(),
            ..Default::default()
        };
        let cases = [
            (
                graph(vec![], vec![double], DataType::Float),
                "DOUBLE (initializer 'c')",
            ),
            (
                graph(vec![], vec![float("c", &[1.0; 4])], DataType::Uint32),
                "UINT32 (graph output 'y')",
            ),
            (
                graph(vec![constant(int16)], vec![], DataType::Float),
                "INT16 (attribute 'value' of node 'k')",
            ),
            (
                graph(vec![constant(string)], vec![], DataType::Float),
                "STRING (attribute 'value_string' of node 'k')",
            ),
        ];
        for (g, expected) in cases {
            let bytes = model(g).encode_to_vec();
            let err = OnnxModel::load("detector", &spec_of_shape([1, 1, 1, 4]), bytes).unwrap_err();
            assert!(
                matches!(&err, Error::ModelLoad { role, detail }
                    if role == "detector" && detail.contains(expected)),
                "{expected}: {err:?}"
            );
        }
        // The same graph with an f32 initializer loads: the refusal is the element type's.
        let g = graph(vec![], vec![float("c", &[1.0; 4])], DataType::Float);
        OnnxModel::load(
            "detector",
            &spec_of_shape([1, 1, 1, 4]),
            model(g).encode_to_vec(),
        )
        .unwrap();
    }

    /// A model with an operator outside the table fails at load with an error that names the
    /// operator and how many nodes use it, before tract builds anything.
    #[test]
    fn a_model_with_another_operator_fails_to_load_naming_it() {
        let graph = tract_onnx::pb::GraphProto {
            node: vec![
                node("Relu", &["x"], "r"),
                node("Softmax", &["r"], "s"),
                node("Softmax", &["s"], "y"),
            ],
            input: vec![value("x", &[1, 4])],
            output: vec![value("y", &[1, 4])],
            ..Default::default()
        };
        let bytes = model(graph).encode_to_vec();
        let err = OnnxModel::load("detector", &spec_of_shape([1, 1, 1, 4]), bytes).unwrap_err();
        assert!(
            matches!(&err, Error::ModelLoad { role, detail }
                if role == "detector" && detail.contains("Softmax (2 nodes)")),
            "{err:?}"
        );
        // tract's own table parses it: the refusal is the SDK's.
        let full = tract_onnx::onnx();
        assert!(full.op_register.0.contains_key("Softmax"));
    }

    /// ONNX pads are `[begins..., ends...]`; fewer than two per axis is an error, never an index
    /// past the end.
    #[test]
    fn pads_pair_up_per_axis_and_too_few_is_an_error() {
        let pads = [1i64, 2, 3, 4, 5, 6];
        assert_eq!(pad_pair(&pads, 0).unwrap(), (1, 4));
        assert_eq!(pad_pair(&pads, 2).unwrap(), (3, 6));
        assert!(pad_pair(&pads, 3).is_err());
        assert!(pad_pair(&pads[..1], 0).is_err());
        assert!(pad_pair::<i64>(&[], 0).is_err());
    }

    /// The workspace's tract-data (third_party/tract-data) has no casts from u16, u32, u64 or i16,
    /// and its dispatch macros leave them and f64 out: the crates.io copy has both, and 0.22 MB
    /// more of arm64 library. f64 stays a cast's source and destination: tract's own
    /// `GlobalAveragePool` divides by an f64 count cast to the input's type, and its optimiser reads
    /// constants as f64.
    #[test]
    fn tract_datas_dispatch_leaves_out_the_types_no_model_computes_in() {
        for t in [
            tensor1(&[1u16, 2]),
            tensor1(&[1u32, 2]),
            tensor1(&[1u64, 2]),
            tensor1(&[1i16, 2]),
        ] {
            assert!(t.cast_to::<f32>().is_err(), "{:?}", t.datum_type());
        }
        assert_eq!(tensor0(2.0f64).cast_to_scalar::<f32>().unwrap(), 2.0);
        assert_eq!(tensor0(2.5f32).cast_to_scalar::<f64>().unwrap(), 2.5);
        assert_eq!(tensor1(&[3i64]).cast_to_scalar::<i32>().unwrap(), 3);
        // What tract-data dispatches (zeros here, tract's pads, max pools and einsums alike).
        for dt in [
            DatumType::U16,
            DatumType::U32,
            DatumType::U64,
            DatumType::I16,
            DatumType::F64,
        ] {
            assert!(Tensor::zero_dt(dt, &[2]).is_err(), "{dt:?}");
        }
        for dt in [
            DatumType::F32,
            DatumType::F16,
            DatumType::I64,
            DatumType::U8,
        ] {
            assert!(Tensor::zero_dt(dt, &[2]).is_ok(), "{dt:?}");
        }
    }

    /// The workspace's tract-nnef (third_party/tract-nnef) leaves its `patch` model transform out:
    /// registered, it keeps every NNEF registry, every tract-core operator and rustfft in the
    /// library (2.8 MB of the arm64 one). tract's own transforms are still found.
    #[test]
    fn tract_nnefs_patch_transform_is_not_registered() {
        use tract_onnx::tract_core::transform::get_transform;
        assert!(matches!(get_transform("patch"), Ok(None)));
        assert!(matches!(get_transform("conv_nhwc"), Ok(Some(_))));
    }
}
