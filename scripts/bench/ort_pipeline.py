#!/usr/bin/env python3
"""The comparison point for scripts/bench/session.py: a face-capture pipeline written the
straightforward way in Python with onnxruntime (1 thread), on the same models and manifests as the SDK.

Per frame, no tracking: the detector on the letterboxed frame, the mesh on the detection's rotated ROI,
the Iris model on both eyes (eye aspect ratio); the anti-spoof model on every Nth frame when the
manifest has one; the embedding once, after a positioning phase. Crops with PIL's bilinear affine
transform, tensors with numpy. Prints one JSON object: load time, time to the first guidance, per-frame
ms and per-stage totals, and a few outputs to show the work was real (face found, eye ratios, live
probabilities, the embedding's norm).
"""
import argparse
import json
import math
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
T_START_NS = time.time_ns()

import tomllib  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STAGES = {k: 0.0 for k in ["detector", "mesh", "eyes", "antispoof", "embedder", "preprocess"]}


class Timer:
    def __init__(self, stage):
        self.stage = stage

    def __enter__(self):
        self.t = time.perf_counter()

    def __exit__(self, *_):
        STAGES[self.stage] += (time.perf_counter() - self.t) * 1000


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


class Model:
    def __init__(self, folder, spec):
        self.spec = spec
        self.sess = session(os.path.join(folder, spec["file"]))
        self.input = self.sess.get_inputs()[0].name
        self.outputs = [o.name for o in self.sess.get_outputs()]
        inp = spec["input"]
        self.mean = np.array(inp["mean"], np.float32).reshape(1, 3, 1, 1)
        self.std = np.array(inp["std"], np.float32).reshape(1, 3, 1, 1)
        self.size = inp["shape"][3], inp["shape"][2]
        self.bgr = inp["colour"] == "bgr"

    def run(self, crop, stage):
        with Timer("preprocess"):
            x = np.asarray(crop, np.float32)
            if self.bgr:
                x = x[..., ::-1]
            x = (x.transpose(2, 0, 1)[None] - self.mean) / self.std
        with Timer(stage):
            out = self.sess.run(None, {self.input: x.astype(np.float32)})
        return dict(zip(self.outputs, out))


def warp(img, size, a, b, c, d, tx, ty):
    """Output pixel (u, v) samples the frame at (a u + b v + tx, c u + d v + ty), bilinear."""
    with Timer("preprocess"):
        return img.transform(size, Image.Transform.AFFINE, (a, b, tx, c, d, ty),
                             resample=Image.Resampling.BILINEAR)


def rotated(centre, crop_centre, scale, angle):
    s, c = math.sin(angle), math.cos(angle)
    a, b, cc, d = c * scale, -s * scale, s * scale, c * scale
    return a, b, cc, d, centre[0] - (a * crop_centre[0] + b * crop_centre[1]), \
        centre[1] - (cc * crop_centre[0] + d * crop_centre[1])


def anchors(spec, size):
    out, strides, layer = [], spec["strides"], 0
    while layer < len(strides):
        last, per_cell = layer, 0
        while last < len(strides) and strides[last] == strides[layer]:
            per_cell += spec["anchors_per_layer"]
            last += 1
        f = -(-size // strides[layer])
        for y in range(f):
            for x in range(f):
                out += [((x + spec["anchor_offset"]) / f, (y + spec["anchor_offset"]) / f)] * per_cell
        layer = last
    return np.array(out, np.float32)


def detect(model, anc, img):
    """The best face: box (x1, y1, x2, y2) and keypoints in frame pixels, or None."""
    spec, (iw, ih), (w, h) = model.spec, model.size, img.size
    s = min(iw / w, ih / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    ox, oy = (iw - nw) // 2, (ih - nh) // 2
    with Timer("preprocess"):
        box = Image.new("RGB", (iw, ih))
        box.paste(img.resize((nw, nh), Image.Resampling.BILINEAR), (ox, oy))
    out = model.run(box, "detector")
    reg, cls = out[spec["regressors_output"]].reshape(len(anc), -1), out[spec["scores_output"]].ravel()
    best = int(np.argmax(cls))
    if 1 / (1 + math.exp(-cls[best])) < spec["score_threshold"]:
        return None
    r, (ax, ay) = reg[best], anc[best]
    cx, cy = r[0] + ax * iw, r[1] + ay * ih
    unbox = lambda x, y: ((x - ox) / s, (y - oy) / s)  # noqa: E731
    x1, y1 = unbox(cx - r[2] / 2, cy - r[3] / 2)
    x2, y2 = unbox(cx + r[2] / 2, cy + r[3] / 2)
    kps = [unbox(r[4 + 2 * k] + ax * iw, r[5 + 2 * k] + ay * ih) for k in range(len(spec["keypoints"]))]
    return (x1, y1, x2, y2), kps


def mesh(model, img, box, kps):
    spec, (w, _) = model.spec, model.size
    (x1, y1, x2, y2), (re, le) = box, kps[:2]
    side = spec["roi_scale"] * max(x2 - x1, y2 - y1)
    angle = math.atan2(le[1] - re[1], le[0] - re[0])
    m = rotated(((x1 + x2) / 2, (y1 + y2) / 2), (w / 2, w / 2), side / w, angle)
    out = model.run(warp(img, (w, w), *m), "mesh")
    lm = out[spec["landmarks_output"]].reshape(-1, 3)
    presence = 1 / (1 + math.exp(-float(out[spec["presence_output"]].ravel()[0])))
    pts = np.stack([m[0] * lm[:, 0] + m[1] * lm[:, 1] + m[4], m[2] * lm[:, 0] + m[3] * lm[:, 1] + m[5]], 1)
    return pts, presence


def eye_ratio(model, img, pts, idx, mirror):
    spec, (w, h) = model.spec, model.size
    a, b = pts[idx[0]], pts[idx[3]]
    width = float(np.hypot(*(b - a)))
    m = list(rotated((a + b) / 2, ((w - 1) / 2, (h - 1) / 2), width * spec["crop_side"] / w,
                     math.atan2(b[1] - a[1], b[0] - a[0])))
    if mirror:
        m[4] += m[0] * (w - 1)
        m[5] += m[2] * (w - 1)
        m[0], m[2] = -m[0], -m[2]
    out = model.run(warp(img, (w, h), *m), "eyes")
    c = out[spec["contour_output"]].reshape(-1, 3)[: spec["contour_points"], :2]
    corners = np.hypot(*(c[spec["corners"][0]] - c[spec["corners"][1]]))
    return float(np.mean([np.hypot(*(c[u] - c[lo])) for u, lo in spec["lid_pairs"]]) / corners)


def live(model, img, box):
    spec, (w, h) = model.spec, img.size
    x1, y1, x2, y2 = box
    bh, cx = y2 - y1, (x1 + x2) / 2
    cy, side = (y1 + y2) / 2 + spec["box_shift_y"] * bh, spec["box_side"] * bh
    b = [max(cx - side / 2, 0), max(cy - side / 2, 0), min(cx + side / 2, w - 1), min(cy + side / 2, h - 1)]
    bw, bh = max(b[2] - b[0], 1), max(b[3] - b[1], 1)
    scale = min(spec["crop_scale"], (h - 1) / bh, (w - 1) / bw)
    nw, nh, ccx, ccy = bw * scale, bh * scale, b[0] + bw / 2, b[1] + bh / 2
    l, t = min(max(ccx - nw / 2, 0), w - 1 - nw), min(max(ccy - nh / 2, 0), h - 1 - nh)
    iw, ih = model.size
    sx, sy = nw / iw, nh / ih
    out = model.run(warp(img, (iw, ih), sx, 0, 0, sy, l + 0.5 * sx - 0.5, t + 0.5 * sy - 0.5), "antispoof")
    logits = out[spec["output"]].ravel()
    p = np.exp(logits - logits.max())
    return float(p[spec["live_class"]] / p.sum())


def embed(model, img, pts):
    spec = model.spec
    ref = np.array([p["at"] for p in spec["alignment"]["points"]], np.float64)
    found = np.array([pts[p["landmarks"]].mean(0) for p in spec["alignment"]["points"]], np.float64)
    # Least-squares similarity chip -> frame: [x, y] = [[a, -b], [b, a]] [u, v] + t.
    rows, rhs = [], []
    for (u, v), (x, y) in zip(ref, found):
        rows += [[u, -v, 1, 0], [v, u, 0, 1]]
        rhs += [x, y]
    a, b, tx, ty = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    n = model.size[0]
    out = model.run(warp(img, (n, n), a, -b, b, a, tx, ty), "embedder")
    e = out[spec["output"]].ravel()
    return float(np.linalg.norm(e))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", default="models/manifest.toml")
    ap.add_argument("--frames", default="fixtures/faces/carphone")
    ap.add_argument("--fps", type=float, default=29.97)
    ap.add_argument("--antispoof-every", type=int, default=5)
    ap.add_argument("--embed-after", type=int, default=30)
    ap.add_argument("--max-frames", type=int, default=0)
    ap.add_argument("--pace", action="store_true", help="deliver frames at the recording's rate")
    args = ap.parse_args()
    t0 = int(os.environ.get("SMARTID_BENCH_T0_NS", T_START_NS))

    manifest_path = os.path.join(ROOT, args.manifest)
    folder = os.path.dirname(manifest_path)
    with open(manifest_path, "rb") as f:
        m = tomllib.load(f)
    t = time.perf_counter()
    det, msh, eyes = (Model(folder, m[k]) for k in ("detector", "mesh", "eyes"))
    emb = Model(folder, m["embedder"])
    spoof = Model(folder, m["antispoof"]) if "antispoof" in m else None
    load_ms = (time.perf_counter() - t) * 1000
    anc = anchors(m["detector"], det.size[0])
    lm = m["mesh"]["landmarks"]

    names = sorted(n for n in os.listdir(os.path.join(ROOT, args.frames)) if n.endswith(".png"))
    if args.max_frames:
        names = names[: args.max_frames]
    frame_ms, ratios, lives, first, norm, faces = [], [], [], None, None, 0
    started = time.perf_counter()
    for i, name in enumerate(names):
        img = Image.open(os.path.join(ROOT, args.frames, name)).convert("RGB")
        img.load()
        if args.pace:
            time.sleep(max(0.0, i / args.fps - (time.perf_counter() - started)))
        t = time.perf_counter()
        found, ratio = detect(det, anc, img), None
        if found:
            pts, presence = mesh(msh, img, *found)
            if presence >= m["mesh"]["presence_threshold"]:
                faces += 1
                ratio = (eye_ratio(eyes, img, pts, lm["right_eye"], False)
                         + eye_ratio(eyes, img, pts, lm["left_eye"], m["eyes"]["mirror_left"])) / 2
                if spoof and i % args.antispoof_every == 0:
                    lives.append(live(spoof, img, found[0]))
                if norm is None and i >= args.embed_after:
                    norm = embed(emb, img, pts)
        frame_ms.append((time.perf_counter() - t) * 1000)
        ratios.append(ratio)
        if first is None:
            first = (time.time_ns() - t0) / 1e6
    print(json.dumps({
        "pipeline": "onnxruntime", "ort_version": ort.__version__, "frames": len(names), "faces": faces,
        "load_ms": load_ms, "first_guidance_ms": first, "frame_ms": frame_ms,
        "stage_ms": STAGES, "eye_ratio": ratios, "live": lives, "embedding_norm": norm,
        "rss_at_end_mib": resident_mib(),
    }))


def resident_mib():
    """VmRSS as the last frame is done, the models still loaded (as `smartid capture --timings`)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


if __name__ == "__main__":
    main()
