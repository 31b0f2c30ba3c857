#!/usr/bin/env bash
# The attack corpus (issue 12) on both shipped model sets, as docs/attacks.md's table: builds the
# harness, then runs `smartid attacks` with N runs per row (default 5). Fails if an attack passed or a
# genuine recording did not. Usage: scripts/attacks.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
cargo build -q -p smartid-harness --locked
bin="${CARGO_TARGET_DIR:-target}/debug/smartid"
status=0
for models in models/manifest.toml models/manifest-antispoof.toml; do
  start=$SECONDS
  "$bin" --models "$models" attacks --runs "$runs" || status=1
  echo "($models: $((SECONDS - start)) s)"
  echo
done
exit $status
