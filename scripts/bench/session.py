#!/usr/bin/env python3
"""Side-by-side benchmark: our capture session (the `smartid` harness) against a reference pipeline in
Python + onnxruntime doing the same work the straightforward way (ort_pipeline.py), on the same
recorded frames, in one run, both pinned to one core.

Prints, per model set: CPU per session (user + system, whole process) and the ratio ours/reference,
per-frame median / p95 / max, time from process launch to the first guidance, peak RSS. Frames are
delivered at the recording's rate (`--pace`), as a camera does. Rounds alternate the two pipelines so
machine noise hits both. Use scripts/bench/session.sh, which builds the harness and the Python venv.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run_reaped(cmd, cpu):
    """As `run`, reaping the child with wait4 so its own rusage is read (not the whole family's)."""
    env = dict(os.environ, SMARTID_BENCH_T0_NS=str(time.time_ns()), OMP_NUM_THREADS="1")
    out_path = f"/tmp/smartid-bench-{os.getpid()}.json"
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        proc = subprocess.Popen(["taskset", "-c", str(cpu)] + cmd, stdout=out, stderr=err, env=env,
                                cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{open(out_path + '.err').read()[-2000:]}")
    with open(out_path) as f:
        data = json.load(f)
    return data, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def pct(values, q):
    """Nearest-rank percentile (as the harness computes it)."""
    v = sorted(values)
    return v[max(1, min(len(v), math.ceil(q * len(v)))) - 1] if v else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smartid", required=True, help="the harness binary (release build)")
    ap.add_argument("--python", default=sys.executable, help="interpreter with onnxruntime")
    ap.add_argument("--frames", default="fixtures/faces/carphone")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cpu", type=int, default=1, help="the core both pipelines are pinned to")
    ap.add_argument("--sets", default="models/manifest.toml,models/manifest-antispoof.toml")
    ap.add_argument("--json", help="also write the raw figures here")
    args = ap.parse_args()

    rows, raw = [], {}
    for manifest in args.sets.split(","):
        name = "antispoof" if "antispoof" in manifest else "clean"
        ours_cmd = [args.smartid, "--models", manifest, "capture", "--frames", args.frames,
                    "--challenges", "blink", "--seed", "1", "--pace", "--timings", "--json"]
        results = {"ours": [], "reference": []}
        for _ in range(args.rounds):
            data, cpu, rss = run_reaped(ours_cmd, args.cpu)
            if data.get("result") != "success":
                sys.exit(f"our capture failed: {data}")
            t = data["timings"]
            results["ours"].append({"cpu": cpu, "rss": rss, "frames": t["frames"],
                                    "frame_ms": t["frame_ms"], "first": t["first_guidance_ms"],
                                    "first_after_load": t["first_guidance_after_load_ms"],
                                    "load": t["load_ms"], "stages": t["caller_stage_ms"],
                                    "worker": t["worker_stage_ms"],
                                    "rss_end": t.get("rss_at_end_mib") or float("nan")})
            # The reference does the same work on the frames our session used.
            ref_cmd = [args.python, "scripts/bench/ort_pipeline.py", "--manifest", manifest,
                       "--frames", args.frames, "--pace", "--max-frames", str(t["frames"])]
            data, cpu, rss = run_reaped(ref_cmd, args.cpu)
            results["reference"].append({"cpu": cpu, "rss": rss, "frames": data["frames"],
                                         "frame_ms": data["frame_ms"],
                                         "first": data["first_guidance_ms"],
                                         "load": data["load_ms"], "stages": data["stage_ms"],
                                         "rss_end": data.get("rss_at_end_mib") or float("nan")})
        raw[name] = results

        def med(side, key):
            return statistics.median(r[key] for r in results[side])

        def frame_stat(side, q):
            return statistics.median(pct(r["frame_ms"], q) for r in results[side])

        ours_cpu, ref_cpu = med("ours", "cpu"), med("reference", "cpu")
        rows.append((name, results["ours"][0]["frames"], ours_cpu, ref_cpu, ours_cpu / ref_cpu,
                     frame_stat("ours", 0.5), frame_stat("reference", 0.5),
                     frame_stat("ours", 0.95), frame_stat("reference", 0.95),
                     frame_stat("ours", 1.0), frame_stat("reference", 1.0),
                     med("ours", "first"), med("ours", "first_after_load"), med("reference", "first"),
                     med("ours", "rss"), med("reference", "rss"),
                     med("ours", "rss_end"), med("reference", "rss_end")))

    print(f"one core (cpu {args.cpu}), frames paced at the recording's rate, median of {args.rounds} "
          f"alternating rounds; ours = `smartid capture` (release build), reference = onnxruntime")
    print()
    print("| model set | frames | CPU ours s | CPU ref s | **ratio** | median ms ours / ref | "
          "p95 ms ours / ref | max ms ours / ref | first guidance ms ours (after load) / ref | "
          "peak RSS MiB ours / ref | RSS at the last frame MiB ours / ref |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | **{r[4]:.2f}x** | {r[5]:.1f} / {r[6]:.1f} "
              f"| {r[7]:.1f} / {r[8]:.1f} | {r[9]:.1f} / {r[10]:.1f} | {r[11]:.0f} ({r[12]:.0f}) / "
              f"{r[13]:.0f} | {r[14]:.0f} / {r[15]:.0f} | {r[16]:.0f} / {r[17]:.0f} |")
    print()
    for name, results in raw.items():
        o, ref = results["ours"][-1], results["reference"][-1]
        print(f"{name}: stage totals, last round (ms) - ours on the caller's thread: "
              + ", ".join(f"{k} {v:.0f}" for k, v in o["stages"].items() if v >= 0.5)
              + "; ours on the worker: "
              + ", ".join(f"{k} {v:.0f}" for k, v in o["worker"].items() if v >= 0.5)
              + "; reference: " + ", ".join(f"{k} {v:.0f}" for k, v in ref["stages"].items())
              + f"; model load ms ours {o['load']:.0f} / ref {ref['load']:.0f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)


if __name__ == "__main__":
    main()
