#!/usr/bin/env bash
# Swift SDK tests on Linux: the SwiftPM package in bindings/swift (the `SID` facade) with the generated
# bindings, XCTest against the host-built libsmartid_ffi.so (testing feature), the real models and the
# carphone recording, inside the Swift chroot of scripts/swift-env.sh (created on first use).
#
#   bash scripts/test-swift.sh <bindings dir from scripts/bindgen.sh --testing>
#
# The package is assembled in $CARGO_TARGET_DIR/smartid-swift (never in the source tree): the sources of
# bindings/swift, the generated SmartIdFFI.swift and smartid_ffiFFI.h, and a Linux module map. Files are
# copied only when their content changed, so the package's .build there stays incremental; generated
# files always follow the bindings dir and sources deleted from bindings/swift are deleted there too.
# Needs root (the chroot). Exits non-zero when the build or any test fails.
set -euo pipefail
gen="${1:?usage: test-swift.sh <bindings dir>}"
gen=$(cd "$gen" && pwd) # relative to the caller's directory
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
mkdir -p "$target" && target=$(cd "$target" && pwd)
lib="$target/debug/libsmartid_ffi.so"
for f in "$gen/swift/SmartIdFFI.swift" "$gen/swift/smartid_ffiFFI.h" "$lib"; do
  [ -f "$f" ] || { echo "test-swift: $f is missing: run scripts/bindgen.sh --testing first" >&2; exit 1; }
done

# shellcheck source=scripts/swift-env.sh
source scripts/swift-env.sh
swift_env_setup

pkg="$target/smartid-swift"
src=bindings/swift
# Paths in $pkg that do not come from $src (kept by the sync below).
generated=(Sources/SmartIdFFI/SmartIdFFI.swift Sources/smartid_ffiFFI/smartid_ffiFFI.h Sources/smartid_ffiFFI/module.modulemap)

# put <file> <dest>: copy when the content differs (an unchanged file keeps its mtime: no rebuild).
put() {
  cmp -s "$1" "$2" 2>/dev/null && return 0
  mkdir -p "$(dirname "$2")" && cp "$1" "$2"
}

echo "== assembling the package in $pkg"
mkdir -p "$pkg"
# The committed sources (a generated file placed in the source tree by mistake is skipped).
while IFS= read -r -d '' f; do
  f=${f#./}
  case " ${generated[*]} " in *" $f "*) continue ;; esac
  put "$src/$f" "$pkg/$f"
done < <(cd "$src" && find . -type f ! -path './.build/*' ! -path './.swiftpm/*' ! -path './SmartIdFFI.xcframework/*' -print0)
# Whatever is no longer in the sources goes (not the build, the recording or the generated files).
while IFS= read -r -d '' f; do
  f=${f#./}
  case " ${generated[*]} " in *" $f "*) continue ;; esac
  [ -e "$src/$f" ] || rm -f "$pkg/$f"
done < <(cd "$pkg" && find . -type f ! -path './.build/*' ! -path './.swiftpm/*' ! -path ./carphone.y4m ! -path ./test.log -print0)
# The generated bindings, and a module map of our own: the generated one says `use "Darwin"` (no such
# module on Linux) and does not link the library.
put "$gen/swift/SmartIdFFI.swift" "$pkg/Sources/SmartIdFFI/SmartIdFFI.swift"
put "$gen/swift/smartid_ffiFFI.h" "$pkg/Sources/smartid_ffiFFI/smartid_ffiFFI.h"
cat >"$pkg/module.modulemap.new" <<'EOF'
module smartid_ffiFFI {
    header "smartid_ffiFFI.h"
    link "smartid_ffi"
    export *
}
EOF
put "$pkg/module.modulemap.new" "$pkg/Sources/smartid_ffiFFI/module.modulemap"
rm -f "$pkg/module.modulemap.new"

# The carphone recording as Y4M, written by the harness (built once if missing).
harness="$target/debug/smartid"
if [ ! -x "$harness" ]; then
  echo "== building the harness (smartid) for the Y4M recording"
  CARGO_TARGET_DIR="$target" cargo build --locked -q -p smartid-harness
fi
"$harness" y4m --frames fixtures/faces/carphone --out "$pkg/carphone.y4m.new" >/dev/null
mv -f "$pkg/carphone.y4m.new" "$pkg/carphone.y4m"

# Inside the chroot: /repo is this repository, /target is $target.
run_swift() {
  SWIFT_EXTRA_BINDS="$target:/target" swift_in_chroot "$PWD" "" env \
    LD_LIBRARY_PATH=/target/debug SMARTID_REPO=/repo SMARTID_CARPHONE_Y4M=/target/smartid-swift/carphone.y4m \
    swift "$@" --package-path /target/smartid-swift -Xlinker -L/target/debug
}

t0=$SECONDS
echo "== swift build --build-tests"
run_swift build --build-tests
echo "== swift build: $((SECONDS - t0))s"

t0=$SECONDS
log="$pkg/test.log"
echo "== swift test"
set +e
run_swift test --skip-build --disable-swift-testing 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
echo "== swift test: $((SECONDS - t0))s"
# XCTest's totals ("Executed N tests, with M failures ..."); none means the test process died.
summary=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1 || true)
if [ -z "$summary" ]; then
  echo "test-swift: no XCTest summary: the test process crashed (exit $rc)" >&2
  exit $((rc == 0 ? 1 : rc))
fi
echo "== swift test summary: $(echo "$summary" | sed -E 's/^[[:space:]]+//')"
exit "$rc"
