#!/usr/bin/env bash
# Builds src/main.rs for aarch64 Linux with and without `-C force-unwind-tables=no` and runs both
# under qemu: every panic must be caught either way (scripts/build-aar.sh passes the flag for the
# Android library). Not part of the test command: it needs qemu and an aarch64 C toolchain,
#   apt-get install qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
# Usage: bash scripts/android/unwind-probe/run.sh
set -euo pipefail
cd "$(dirname "$0")"
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
work=${CARGO_TARGET_DIR:-/tmp/smartid-unwind-probe}
for tables in yes no; do
  RUSTFLAGS="-C force-unwind-tables=$tables" CARGO_TARGET_DIR="$work/$tables" \
    cargo build -q --release --target aarch64-unknown-linux-gnu
  bin="$work/$tables/aarch64-unknown-linux-gnu/release/unwind-probe"
  eh=$(llvm-readelf -S -W "$bin" | awk '{for (i = 1; i < NF; i++) if ($i == ".eh_frame") print $(i + 4)}')
  printf 'force-unwind-tables=%-3s .eh_frame %6d bytes: ' "$tables" "$((16#$eh))"
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$bin"
done
