#!/usr/bin/env python3
"""onnxruntime latency of the shipped models (1 thread), for comparison with tract.

Run right after `cargo bench -p smartid-core --bench models` on an idle machine and compare ratios.
Needs: pip install onnxruntime numpy
"""
import os
import sys
import time

import numpy as np
import onnxruntime as ort

try:
    import tomllib
except ImportError:  # Python < 3.11
    sys.exit("needs Python 3.11+")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
# Both shipped sets; the anti-spoof set adds one model to the clean one.
manifest = tomllib.load(open(os.path.join(ROOT, "manifest-antispoof.toml"), "rb"))
print("| role | model | onnxruntime median ms |")
print("|---|---|---|")
for role in ["detector", "mesh", "eyes", "antispoof", "embedder"]:
    spec = manifest[role]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(os.path.join(ROOT, spec["file"]), so, providers=["CPUExecutionProvider"])
    shape = spec["input"]["shape"]
    x = np.sin(np.arange(np.prod(shape), dtype=np.float32) * np.float32(0.001)).reshape(shape)
    feed = {s.get_inputs()[0].name: x}
    for _ in range(5):
        s.run(None, feed)
    ts = []
    for _ in range(50):
        t = time.perf_counter()
        s.run(None, feed)
        ts.append((time.perf_counter() - t) * 1000)
    print(f"| {role} | {spec['id']} | {np.median(ts):.2f} |")
