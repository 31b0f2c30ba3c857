#!/usr/bin/env python3
"""Store an ONNX model's large weights in fp16 or int8; the graph still computes in fp32.

Why: the dlib embedder is 22.4 MB in fp32, which every app that ships it pays for. Only storage
changes: each large float initializer is replaced by a smaller one plus a node that turns it back
into fp32 before use (`Cast` for fp16, per-output-channel `DequantizeLinear` for int8). tract folds
those constant subgraphs while optimising, so inference runs the same fp32 kernels as before.

Usage: compress_weights.py fp16|int8 in.onnx out.onnx
Deterministic: the same input gives byte-identical output (the manifest pins its sha256).
Needs: onnx, numpy (see tools/models/requirements.txt).
"""
import hashlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Small tensors (biases, scales) stay fp32: they cost nothing and carry the most precision per byte.
MIN_ELEMENTS = 1024


def compress(model: onnx.ModelProto, mode: str) -> onnx.ModelProto:
    graph = model.graph
    kept, new_nodes = [], []
    for init in graph.initializer:
        w = numpy_helper.to_array(init)
        if w.dtype != np.float32 or w.size < MIN_ELEMENTS:
            kept.append(init)
            continue
        name = init.name
        stored = name + "." + mode
        if mode == "fp16":
            kept.append(numpy_helper.from_array(w.astype(np.float16), stored))
            new_nodes.append(
                helper.make_node("Cast", [stored], [name], name=name + ".cast", to=TensorProto.FLOAT)
            )
        else:
            # Symmetric per-output-channel (axis 0: Conv OIHW and Gemm with transB=1 keep output
            # channels first), zero point 0, so a channel's largest weight maps to +-127.
            flat = w.reshape(w.shape[0], -1)
            scale = np.abs(flat).max(axis=1) / 127.0
            scale[scale == 0] = 1.0
            q = np.clip(np.round(flat / scale[:, None]), -127, 127).astype(np.int8).reshape(w.shape)
            kept.append(numpy_helper.from_array(q, stored))
            kept.append(numpy_helper.from_array(scale.astype(np.float32), stored + ".scale"))
            kept.append(numpy_helper.from_array(np.zeros(w.shape[0], np.int8), stored + ".zero"))
            new_nodes.append(
                helper.make_node(
                    "DequantizeLinear",
                    [stored, stored + ".scale", stored + ".zero"],
                    [name],
                    name=name + ".dequantize",
                    axis=0,
                )
            )
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = new_nodes + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    model.producer_name = "smartid tools/models/compress_weights.py"
    model.producer_version = mode
    onnx.checker.check_model(model)
    return model


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] not in ("fp16", "int8"):
        sys.exit(__doc__)
    mode, src, dst = sys.argv[1:]
    model = onnx.load(src)
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx") and op.version < 13:
            # Per-axis DequantizeLinear needs opset 13.
            op.version = 13
    out = compress(model, mode).SerializeToString(deterministic=True)
    with open(dst, "wb") as f:
        f.write(out)
    print(f"{dst}: {len(out)} bytes, sha256 {hashlib.sha256(out).hexdigest()}")


if __name__ == "__main__":
    main()
