#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each). Not part of every CI run: run it before
# a release and after changing a parser. Usage: scripts/fuzz.sh [seconds-per-target]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz needs nightly flags (-Zsanitizer); RUSTC_BOOTSTRAP lets the stable toolchain accept them.
export RUSTC_BOOTSTRAP=1
# Seed the targets with real inputs so they start from valid ones: the sealed test vector, its payload
# JSON (behind the sealed_payload target's 9-byte header), a capture token, a sock_diag answer, the real
# App Attest object.
mkdir -p fuzz/corpus/open fuzz/corpus/sealed_payload fuzz/corpus/parsers fuzz/corpus/attestation
python3 - <<'PY'
import json, struct
v = json.load(open("docs/test-vectors/capture-v3.json"))
open("fuzz/corpus/open/vector", "wb").write(v["sealed_template"].encode() + b"\0" + v["sealed_payload"].encode())
p = dict(v["payload_plain"], session_id="11" * 16, capture_token="5a" * 16)
open("fuzz/corpus/sealed_payload/vector", "wb").write(b"\1" + struct.pack("<Q", v["now"]) + json.dumps(p).encode())
open("fuzz/corpus/parsers/token", "w").write("SIDCT1:WlpaWlpaWlpaWlpaWlpaWgDAn2YAAAAAAgEF")
# A sock_diag answer (request 1): a loopback listener on 27042, then the dump's end.
diag = bytes([2, 10, 0, 0]) + struct.pack(">H", 27042) + bytes(2) + bytes([127, 0, 0, 1]) + bytes(56) + struct.pack("<I", 4242)
msg = lambda ty, body: struct.pack("<IHHII", 16 + len(body), ty, 2, 1, 0) + body
open("fuzz/corpus/parsers/sock_diag", "wb").write(msg(20, diag) + msg(3, bytes(4)))
att = open("server/testdata/app_attest/attestation.b64").read().strip()
open("fuzz/corpus/attestation/app_attest", "w").write(att + ":" + "AAAA")
PY
for target in open sealed_payload parsers frame rasp_files attestation; do
  echo "== fuzz $target for ${secs}s"
  cargo fuzz run "$target" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1 | tail -n 4
done
