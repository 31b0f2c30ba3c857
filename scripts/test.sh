#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian 12 machine: installs what it needs first.
# This is README's test command and what CI (.ci/run) calls.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# Build output lives outside the work tree so fresh clones (CI) reuse it; override with CARGO_TARGET_DIR.
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  if mkdir -p /var/cache/smartid/target 2>/dev/null && [ -w /var/cache/smartid/target ]; then
    export CARGO_TARGET_DIR=/var/cache/smartid/target
  fi
fi

step "toolchain"
command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
# clang assembles tract's arm64 kernels for the mobile checks (no NDK or Xcode needed for `cargo check`).
# strace is the real tracer the RASP debugger test runs the harness under.
need=()
for tool in clang llvm-ar strace cc; do command -v "$tool" >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq clang llvm strace gcc >/dev/null
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# Mobile targets: the RASP platform branches are compiled (not run) for Android and iOS.
rustup target add aarch64-linux-android aarch64-apple-ios >/dev/null

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
cargo test --workspace --locked
# The opening side alone (what a server links): builds and passes without the capture pipeline.
cargo clippy -p smartid-core --no-default-features --all-targets --locked -- -D warnings
cargo test -p smartid-core --no-default-features --lib --tests --locked

step "mobile targets compile (smartid-core, platform cfg branches; no linking)"
export CC_aarch64_linux_android=clang AR_aarch64_linux_android=llvm-ar
export CC_aarch64_apple_ios=clang AR_aarch64_apple_ios=llvm-ar
# cc-rs asks xcrun for an SDK unless SDKROOT is set; assembling needs no SDK headers. A fixed path, so
# the build script does not rerun (and rebuild tract for iOS) on every run.
if [ -z "${SDKROOT:-}" ]; then
  export SDKROOT="${CARGO_TARGET_DIR:-$PWD/target}/empty-ios-sdkroot"
  mkdir -p "$SDKROOT"
fi
for t in aarch64-linux-android aarch64-apple-ios; do
  cargo clippy -p smartid-core --lib --locked --target "$t" -- -D warnings
done

step "second implementation opens the sealed test vector (docs/payload-format.md)"
if ! python3 -c "import pyhpke" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check pyhpke \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages pyhpke
fi
python3 docs/test-vectors/open_capture.py
