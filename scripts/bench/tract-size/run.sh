#!/usr/bin/env bash
# What tract weighs in the FFI library, by front-end (docs/performance.md, "What tract weighs").
# Builds this directory's cdylib four ways with the workspace's release profile and prints each one's
# stripped size: the ONNX front-end the SDK ships, NNEF with tract's registries, and both again with
# tract-nnef patched (tract-nnef.patch: its two calls of `nnef()`, the full registry, taken out), the
# NNEF one reading with a registry of only our operators. Then the five shipped models, converted to
# NNEF, are loaded and run through the smallest build, and the ONNX files through the first (host only).
#
# Usage: scripts/bench/tract-size/run.sh [--android-arm64]
#   --android-arm64: build for aarch64-linux-android instead, linked as scripts/build-aar.sh links
#   without an NDK (run that once first: it prepares the Bionic stub sysroot). Such a library links but
#   is never loaded on a device; the models are then not run.
# Not part of the test command: each build compiles tract (≈ 3 min on two cores).
set -euo pipefail
cd "$(dirname "$0")/../../.."
repo=$PWD
cache=${SMARTID_CACHE:-/var/cache/smartid}
work=$cache/tract-size
target_args=() strip=strip triple=""
if [ "${1:-}" = --android-arm64 ]; then
  triple=aarch64-linux-android
  sysroot=$(ls -d "$cache"/android/sysroot-arm64-v8a-* 2>/dev/null | head -n 1)
  [ -n "$sysroot" ] || { echo "no arm64 sysroot in $cache/android: run scripts/build-aar.sh once" >&2; exit 1; }
  # shellcheck source=scripts/android-env.sh
  source scripts/android-env.sh
  android_env_setup
  export SMARTID_ZIG="$ZIG" SMARTID_ANDROID_SYSROOT="$sysroot" CC_aarch64_linux_android=clang \
    AR_aarch64_linux_android=llvm-ar CARGO_TARGET_AARCH64_LINUX_ANDROID_LINKER="$repo/scripts/android/ld.lld"
  rustup target add "$triple" >/dev/null 2>&1 || true
  target_args=(--target "$triple") strip=llvm-strip
fi
mkdir -p "$work"
rm -rf "$work/crate" && cp -r scripts/bench/tract-size "$work/crate"
# The workspace's lock: the same tract and dependency versions as the SDK.
cp Cargo.lock "$work/crate/Cargo.lock"
cd "$work/crate"
cargo fetch -q
registry_copy=$(cargo metadata --format-version 1 --quiet --features nnef |
  python3 -c 'import json,sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "tract-nnef"))')
rm -rf "$work/tract-nnef" && cp -r "$(dirname "$registry_copy")" "$work/tract-nnef"
(cd "$work/tract-nnef" && patch -s -p1 <"$work/crate/tract-nnef.patch")

declare -A size
build() { # name features patched
  local name=$1 features=$2 patched=$3 dir="$work/target-$1${triple:+-$triple}"
  if [ "$patched" = 1 ]; then
    grep -q '^\[patch.crates-io\]' Cargo.toml ||
      printf '\n[patch.crates-io]\ntract-nnef = { path = "%s" }\n' "$work/tract-nnef" >>Cargo.toml
  else
    python3 - <<'PY'
s = open("Cargo.toml").read()
open("Cargo.toml", "w").write(s.split("\n[patch.crates-io]")[0])
PY
  fi
  local t0=$SECONDS
  # The patched copy is a path dependency, so its warnings (code the patch left unused) would print.
  if ! CARGO_TARGET_DIR=$dir cargo build -q --release --lib --features "$features" "${target_args[@]}" \
    2>"$work/build-$name.log"; then
    cat "$work/build-$name.log" >&2
    exit 1
  fi
  $strip --strip-unneeded -o "$work/$name.so" "$dir/${triple:+$triple/}release/libtract_size.so"
  size[$name]=$(stat -c %s "$work/$name.so")
  echo "built $name in $((SECONDS - t0)) s: ${size[$name]} bytes stripped" >&2
}
build onnx onnx 0
build nnef nnef 0
build onnx-patched onnx 1
build ours-patched ours 1

echo
echo "| build (${triple:-host}) | stripped MB | / onnx |"
echo "|---|---|---|"
for name in onnx nnef onnx-patched ours-patched; do
  python3 -c "print(f'| $name | {${size[$name]}/1e6:.2f} | {${size[$name]}/${size[onnx]}:.2f}x |')"
done
[ -z "$triple" ] || exit 0

# The models: converted with tract-core's operators only, then run through the smallest build.
python3 - <<'PY'
s = open("Cargo.toml").read()
open("Cargo.toml", "w").write(s.split("\n[patch.crates-io]")[0])
PY
mkdir -p "$work/nnef"
CARGO_TARGET_DIR="$work/target-convert" cargo run -q --release --bin convert --features onnx,nnef -- \
  "$work/nnef" "$repo"/models/mediapipe/*.onnx "$repo"/models/faceplugin/fr_liveness.onnx "$repo"/models/dlib/*.onnx
python3 - "$work" "$repo" <<'PY'
import ctypes, glob, os, sys
work, repo = sys.argv[1:]
def run(lib, path):
    data = open(path, "rb").read()
    return ctypes.CDLL(os.path.join(work, lib)).tract_size_run(ctypes.create_string_buffer(data, len(data)), len(data))
bad = 0
for onnx in sorted(glob.glob(f"{repo}/models/*/*.onnx")):
    stem = os.path.basename(onnx)[:-5]
    a, b = run("onnx.so", onnx), run("ours-patched.so", f"{work}/nnef/{stem}.nnef.tar")
    print(f"{stem}: outputs {a} (onnx build, ONNX file) / {b} (ours-patched build, NNEF archive)")
    bad += a <= 0 or a != b
sys.exit(1 if bad else 0)
PY
