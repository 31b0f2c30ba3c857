#!/usr/bin/env bash
# Our capture session against an onnxruntime reference pipeline, side by side on one core
# (scripts/bench/session.py says what is measured). Builds the harness in the release profile (what
# ships) and a Python venv with onnxruntime in /var/cache/smartid. Extra arguments go to session.py,
# e.g. --rounds 5 --cpu 0 --json /tmp/bench.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/smartid/target}"
venv=/var/cache/smartid/pyenv-bench
if ! "$venv/bin/python" -c 'import onnxruntime, numpy, PIL' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q onnxruntime==1.32.0 numpy==2.4.6 pillow==13.0.0
fi
cargo build --release --locked -q -p smartid-harness
exec "$venv/bin/python" scripts/bench/session.py --smartid "$CARGO_TARGET_DIR/release/smartid" \
    --python "$venv/bin/python" "$@"
