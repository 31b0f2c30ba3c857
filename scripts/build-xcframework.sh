#!/usr/bin/env bash
# Builds SmartIdFFI.xcframework: the FFI static library for iOS devices (aarch64-apple-ios) and the
# Apple-silicon simulator (aarch64-apple-ios-sim), each slice with the generated C header and a module
# map declaring `smartid_ffiFFI`, plus the generated Swift bindings; then checks it
# (scripts/check-artifacts.py). bindings/swift/Package.swift consumes it as a binary target.
#
#   bash scripts/build-xcframework.sh [--profile release|mobile-ci] [--slices ios-arm64,ios-arm64-simulator] [--install]
#
# --install copies the XCFramework and SmartIdFFI.swift into bindings/swift (ignored by git), where a
# developer's Xcode resolves the package. With Xcode (xcodebuild on PATH) the bundle is made by
# `xcodebuild -create-xcframework`; without it (this machine) the same layout and Info.plist are written
# directly. rustup has no prebuilt std for the simulator target here, so that slice builds std from
# source (-Zbuild-std, accepted by stable with RUSTC_BOOTSTRAP=1; needs the rust-src component).
# Nothing here links an app or runs it: that needs Xcode (README "iOS").
# Output: $CARGO_TARGET_DIR/smartid-xcframework/
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
slices="ios-arm64,ios-arm64-simulator"
install=""
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=$2; shift 2 ;;
    --slices) slices=$2; shift 2 ;;
    --install) install=1; shift ;;
    *) echo "usage: build-xcframework.sh [--profile P] [--slices LIST] [--install]" >&2; exit 2 ;;
  esac
done
target="${CARGO_TARGET_DIR:-$PWD/target}"
out="$target/smartid-xcframework"
xcf="$out/SmartIdFFI.xcframework"
min_ios=15.0

# cc-rs (tract's assembly kernels) asks xcrun for an SDK unless SDKROOT is set; assembling needs no SDK
# headers. A fixed path keeps cargo's fingerprints (and the build) stable.
if ! command -v xcrun >/dev/null && [ -z "${SDKROOT:-}" ]; then
  export SDKROOT="$target/empty-ios-sdkroot"
  mkdir -p "$SDKROOT"
fi

build_slice() {
  local triple=$1 tl
  tl=$(echo "$triple" | tr '-' '_')
  local extra=()
  if ! rustup target list --installed 2>/dev/null | grep -qx "$triple" && ! rustup target add "$triple" >/dev/null 2>&1; then
    # No prebuilt std for this target: build it from source.
    rustup component add rust-src >/dev/null 2>&1 || true
    extra=(-Zbuild-std=std,panic_unwind)
    export RUSTC_BOOTSTRAP=1
  fi
  local cc=clang ar=llvm-ar
  command -v xcrun >/dev/null && { cc=$(xcrun --find clang); ar=$(xcrun --find ar); }
  env "CC_$tl=$cc" "AR_$tl=$ar" IPHONEOS_DEPLOYMENT_TARGET="$min_ios" \
    cargo rustc -q -p smartid-ffi --lib --crate-type staticlib --locked --target "$triple" --profile "$profile" \
    "${extra[@]}"
  unset RUSTC_BOOTSTRAP
  echo "$target/$triple/$profile/libsmartid_ffi.a"
}

IFS=, read -r -a slice_list <<<"$slices"
rm -rf "$out" && mkdir -p "$out/headers"
declare -A libs
for s in "${slice_list[@]}"; do
  case "$s" in
    ios-arm64) libs[$s]=$(build_slice aarch64-apple-ios) ;;
    ios-arm64-simulator) libs[$s]=$(build_slice aarch64-apple-ios-sim) ;;
    *) echo "build-xcframework: unknown slice $s" >&2; exit 2 ;;
  esac
done

# The Swift bindings and C header, generated from the library that ships (no `testing` exports).
bindgen="$target/debug/uniffi-bindgen"
[ -x "$bindgen" ] || cargo build -q --locked -p uniffi-bindgen
"$bindgen" generate --library "${libs[${slice_list[0]}]}" --language swift --out-dir "$out/swift" \
  --no-format --metadata-no-deps >/dev/null
if grep -q "func testing" "$out/swift/SmartIdFFI.swift"; then
  echo "build-xcframework: the bindings carry test-only functions" >&2
  exit 1
fi
cp "$out/swift/smartid_ffiFFI.h" "$out/headers/"
# The generated module map names the header and `use "Darwin"`; a static library needs no `link`.
cat >"$out/headers/module.modulemap" <<'EOF'
module smartid_ffiFFI {
    header "smartid_ffiFFI.h"
    export *
}
EOF

if command -v xcodebuild >/dev/null; then
  args=()
  for s in "${slice_list[@]}"; do args+=(-library "${libs[$s]}" -headers "$out/headers"); done
  xcodebuild -create-xcframework "${args[@]}" -output "$xcf" >/dev/null
else
  # What xcodebuild writes: one folder per slice (library + Headers) and an Info.plist naming them.
  pairs=()
  for s in "${slice_list[@]}"; do pairs+=("$s" "${libs[$s]}"); done
  python3 - "$xcf" "$out/headers" "${pairs[@]}" <<'PY'
import os, plistlib, shutil, sys
xcf, headers, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
entries = []
for ident, lib in zip(rest[0::2], rest[1::2]):
    d = os.path.join(xcf, ident)
    os.makedirs(d)
    shutil.copy(lib, os.path.join(d, "libsmartid_ffi.a"))
    shutil.copytree(headers, os.path.join(d, "Headers"))
    e = {"BinaryPath": "libsmartid_ffi.a", "HeadersPath": "Headers", "LibraryIdentifier": ident,
         "LibraryPath": "libsmartid_ffi.a", "SupportedArchitectures": ["arm64"], "SupportedPlatform": "ios"}
    if ident.endswith("-simulator"):
        e["SupportedPlatformVariant"] = "simulator"
    entries.append(e)
with open(os.path.join(xcf, "Info.plist"), "wb") as f:
    plistlib.dump({"AvailableLibraries": entries, "CFBundlePackageType": "XFWK",
                   "XCFrameworkFormatVersion": "1.0"}, f)
PY
fi
python3 scripts/check-artifacts.py xcframework "$xcf" --slices "$slices" \
  --forbid-prefix uniffi_smartid_ffi_fn_func_testing_ uniffi_smartid_ffi_checksum_func_testing_

if [ -n "$install" ]; then
  rm -rf bindings/swift/SmartIdFFI.xcframework
  cp -R "$xcf" bindings/swift/SmartIdFFI.xcframework
  mkdir -p bindings/swift/Sources/SmartIdFFI
  cp "$out/swift/SmartIdFFI.swift" bindings/swift/Sources/SmartIdFFI/SmartIdFFI.swift
  echo "installed into bindings/swift (SmartIdFFI.xcframework, Sources/SmartIdFFI/SmartIdFFI.swift)"
fi
echo "$xcf"
