#!/usr/bin/env bash
# Builds the FFI library and generates its Kotlin and Swift bindings into the build tree (never into the
# source tree: generated code is not edited or committed).
#
#   bash scripts/bindgen.sh [--testing]      prints the output folder
#
# --testing builds with the `testing` feature (the test-only exports the binding tests call).
# Output: $CARGO_TARGET_DIR/smartid-bindings/{kotlin,swift} and the library in $CARGO_TARGET_DIR/debug.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
out="$target/smartid-bindings"

if [ "${1:-}" = "--testing" ]; then
  # The same selection as the test command's builds (scripts/test.sh): nothing is built twice.
  cargo build --locked -q --workspace --all-targets --features smartid-ffi/testing
else
  cargo build --locked -q -p smartid-ffi
  cargo build --locked -q -p uniffi-bindgen
fi
lib="$target/debug/libsmartid_ffi.so"
rm -rf "$out"
mkdir -p "$out/kotlin" "$out/swift"
for lang in kotlin swift; do
  "$target/debug/uniffi-bindgen" generate --library "$lib" --language "$lang" \
    --out-dir "$out/$lang" --no-format --metadata-no-deps >/dev/null
done
echo "$out"
