#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each). Not part of every CI run: run it before
# a release and after changing a parser. Usage: scripts/fuzz.sh [seconds-per-target]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz needs nightly flags (-Zsanitizer); RUSTC_BOOTSTRAP lets the stable toolchain accept them.
export RUSTC_BOOTSTRAP=1
# Seed the opening target with the real test vector so it starts from a valid pair.
mkdir -p fuzz/corpus/open
python3 - <<'PY'
import json
v = json.load(open("docs/test-vectors/capture-v2.json"))
open("fuzz/corpus/open/vector", "wb").write(v["sealed_template"].encode() + b"\0" + v["sealed_payload"].encode())
PY
for target in open parsers frame rasp_files; do
  echo "== fuzz $target for ${secs}s"
  cargo fuzz run "$target" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1 | tail -n 4
done
