//! Small ONNX graphs built by hand, for the tests of the passes over tract's parse (`weights`) and of
//! the operators the SDK parses itself (`prelu`, `pool`, `frontend`).
#![allow(clippy::unwrap_used)]

use tract_onnx::Onnx;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{Dimension, dimension};
use tract_onnx::pb::{
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto,
    TypeProto, ValueInfoProto, type_proto,
};
use tract_onnx::prelude::*;

/// A float tensor of a fixed shape, as a graph input or output.
pub fn value(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(dimension::Value::DimValue(*d)),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A node without attributes.
pub fn node(op_type: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        op_type: op_type.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

/// The graph as a model of the default domain, opset 13.
pub fn model(graph: GraphProto) -> ModelProto {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..Default::default()
    }
}

/// A 1-D f32 initialiser (give it `dims` for another shape).
pub fn float(name: &str, v: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![v.len() as i64],
        data_type: DataType::Float as i32,
        float_data: v.to_vec(),
        ..Default::default()
    }
}

/// The shipped dlib embedder (int8 weights) as tract's protobuf.
pub fn dlib_embedder_proto() -> ModelProto {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/dlib/dlib_face_recognition_resnet_model_v1.int8.onnx"
    );
    let bytes = std::fs::read(path).unwrap();
    tract_onnx::onnx()
        .proto_model_for_read(&mut std::io::Cursor::new(&bytes))
        .unwrap()
}

/// The plan's first output for one input, flattened.
pub fn first_output(plan: &Arc<TypedRunnableModel>, input: Tensor) -> Vec<f32> {
    let out = plan.run(tvec!(input.into())).unwrap();
    out[0]
        .to_plain_array_view::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect()
}

/// The graph parsed by `front_end` and optimised for one f32 input of `shape`, ready to run.
pub fn plan(front_end: &Onnx, proto: &ModelProto, shape: &[usize]) -> Arc<TypedRunnableModel> {
    front_end
        .model_for_proto_model(proto)
        .unwrap()
        .with_input_fact(0, f32::fact(shape).into())
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap()
}

/// The graph parsed by `front_end` and optimised as the SDK does (`frontend::optimize`), ready to run.
pub fn sdk_plan(front_end: &Onnx, proto: &ModelProto, shape: &[usize]) -> Arc<TypedRunnableModel> {
    let model = front_end
        .model_for_proto_model(proto)
        .unwrap()
        .with_input_fact(0, f32::fact(shape).into())
        .unwrap();
    crate::vision::frontend::optimize(model, None)
        .unwrap()
        .into_runnable()
        .unwrap()
}

/// The values' bit patterns: comparing them tells -0 from +0 and compares NaNs.
pub fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}
