#!/usr/bin/env bash
# Builds the Android library: libsmartid_ffi.so for each ABI, the Kotlin bindings generated from it,
# classes.jar (bindings + facade + Android layer, compiled against android.jar API 23), the consumer
# R8 rules, the manifest, assembled into an AAR with its POM, then checked (scripts/check-artifacts.py).
#
#   bash scripts/build-aar.sh [--abis arm64-v8a,armeabi-v7a,x86_64] [--profile release|mobile-ci] [--out DIR]
#
# Two ways to link the .so:
#   - With an NDK (ANDROID_NDK_HOME set, `cargo ndk` installed): cargo-ndk, API 23, the NDK's clang
#     and its Bionic stubs and libunwind. This is the AAR to ship: smartid-<version>.aar.
#   - Without one (this machine): zig's lld against Bionic stub libraries generated from
#     scripts/android/bionic-imports.txt, and LLVM libunwind compiled by zig with musl's headers.
#     smartid-<version>-nondk.aar. It proves the Rust code links for each ABI with every import
#     resolved to a symbol Bionic exports at API <= 23 (weak ones aside), 16 KB LOAD alignment, the
#     uniffi exports, and the AAR's structure; it does NOT prove the library loads or runs on a device
#     (no Android here), and its libunwind is not the NDK's. Never ship it. README "Android".
# Output: $CARGO_TARGET_DIR/smartid-aar/ (AAR, POM, bindings, per-ABI libraries, check report).
set -euo pipefail
cd "$(dirname "$0")/.."

abis="arm64-v8a,armeabi-v7a,x86_64"
profile=release
target="${CARGO_TARGET_DIR:-$PWD/target}"
out="$target/smartid-aar"
while [ $# -gt 0 ]; do
  case "$1" in
    --abis) abis=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: build-aar.sh [--abis LIST] [--profile release|mobile-ci] [--out DIR]" >&2; exit 2 ;;
  esac
done
min_sdk=23
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# The versions the POM declares: what the facade was compiled and tested against.
jna_version=5.13.0
coroutines_version=1.8.1

triple_of() {
  case "$1" in
    arm64-v8a) echo aarch64-linux-android ;;
    armeabi-v7a) echo armv7-linux-androideabi ;;
    x86_64) echo x86_64-linux-android ;;
    x86) echo i686-linux-android ;;
    *) echo "build-aar: unknown ABI $1" >&2; return 1 ;;
  esac
}
# zig's musl target for compiling the stub libraries and libunwind of an ABI.
zig_target_of() {
  case "$1" in
    arm64-v8a) echo "aarch64-linux-musl" ;;
    armeabi-v7a) echo "arm-linux-musleabi -mcpu=generic+v7a+thumb2" ;;
    x86_64) echo "x86_64-linux-musl" ;;
    x86) echo "x86-linux-musl" ;;
  esac
}

IFS=, read -r -a abi_list <<<"$abis"
mkdir -p "$out"
rm -rf "$out/jni" "$out/aar"
mkdir -p "$out/jni"

# ---- the sysroot of the no-NDK link: Bionic stub libraries + libunwind, per ABI -----------------------
# Stub libraries hold every symbol of bionic-imports.txt as an empty definition in a shared library of
# the right SONAME (libc.so, libm.so, libdl.so, liblog.so), so the linker records "import X from
# libc.so" exactly as against the NDK's stubs; nothing of them is copied into our library.
make_sysroot() {
  local abi=$1 zt dir key
  zt=$(zig_target_of "$abi")
  key=$( (cat scripts/android/bionic-imports.txt scripts/android/bionic-shim.c; echo "$zt $("$ZIG" version)") | sha256sum | cut -c1-16)
  dir="$SMARTID_CACHE/android/sysroot-$abi-$key"
  if [ ! -f "$dir/.ready" ]; then
    rm -rf "$dir" && mkdir -p "$dir/src" "$dir/obj"
    local lib
    for lib in c m dl log; do
      awk -v l="lib$lib.so" '$1 !~ /^#/ && $2 == l {
          if ($4 == "var") printf "char %s[64];\n", $1; else printf "void %s(void) {}\n", $1 }' \
        scripts/android/bionic-imports.txt >"$dir/src/lib$lib.c"
      # Compiled, then linked by lld alone: `zig cc` would link zig's compiler-rt into the stub, whose
      # own (hidden) math functions then shadow the stubs' cos, exp, sin...
      # shellcheck disable=SC2086
      "$ZIG" cc -target $zt -O2 -fPIC -fno-builtin -fno-unwind-tables -fno-asynchronous-unwind-tables \
        -c "$dir/src/lib$lib.c" -o "$dir/src/lib$lib.o"
      "$ZIG" ld.lld -shared -soname "lib$lib.so" "$dir/src/lib$lib.o" -o "$dir/lib$lib.so"
    done
    # LLVM libunwind (the unwinder Rust's panics need; the NDK ships it as libunwind.a), from zig's copy.
    local uw f x defs=""
    uw="$(dirname "$ZIG")/lib/libunwind"
    # 32-bit ARM unwinds with EHABI (no DWARF cache, so no lock needed); musl's pthread_rwlock_t is
    # smaller there than Bionic's, so libunwind is built without threads rather than with a wrong size.
    [ "$abi" = armeabi-v7a ] && defs="-D_LIBUNWIND_HAS_NO_THREADS"
    for f in libunwind.cpp Unwind-EHABI.cpp UnwindLevel1.c UnwindLevel1-gcc-ext.c Unwind-sjlj.c \
      UnwindRegistersRestore.S UnwindRegistersSave.S; do
      case $f in *.cpp) x="-std=c++17 -fno-exceptions -fno-rtti -nostdinc++" ;; *.c) x="-std=c99" ;; *) x="" ;; esac
      # shellcheck disable=SC2086
      "$ZIG" cc -target $zt -O2 -fPIC -funwind-tables -fvisibility=hidden -DNDEBUG -D_LIBUNWIND_IS_NATIVE_ONLY \
        -D_LIBUNWIND_DISABLE_VISIBILITY_ANNOTATIONS $defs -I"$uw/include" $x -c "$uw/src/$f" -o "$dir/obj/$f.o"
    done
    # shellcheck disable=SC2086
    "$ZIG" cc -target $zt -O2 -fPIC -c scripts/android/bionic-shim.c -o "$dir/obj/bionic-shim.o"
    "$ZIG" ar rcs "$dir/libunwind.a" "$dir"/obj/*.o
    touch "$dir/.ready"
  fi
  echo "$dir"
}

# Every import of a linked .so must be in bionic-imports.txt (the link's -z defs ensures it) and, unless
# weak (looked up at run time), exist in Bionic at API <= min_sdk: a newer one would fail dlopen on
# older phones. The NDK enforces this with per-API stubs; here the list records each symbol's API.
check_imports() {
  local so=$1 bad
  bad=$(llvm-readelf --dyn-syms --wide "$so" | awk '$7 == "UND" && $5 == "GLOBAL" { sub(/@.*/, "", $8); print $8 }' |
    sort -u | awk -v min="$min_sdk" '
      NR == FNR { if ($1 !~ /^#/ && NF >= 3) api[$1] = $3; next }
      !($1 in api) { print $1 " (not in bionic-imports.txt)"; next }
      api[$1] + 0 > min + 0 { print $1 " (Bionic API " api[$1] " > minSdk " min ")" }' scripts/android/bionic-imports.txt -)
  if [ -n "$bad" ]; then
    echo "build-aar: $so imports what Bionic lacks at API $min_sdk:" >&2
    echo "$bad" >&2
    return 1
  fi
}

# ---- libsmartid_ffi.so per ABI ---------------------------------------------------------------------
# Two lld flags for size, the same on both paths (arm64: 7.68 -> 7.27 MB stripped, docs/performance.md
# "Packed relocations"):
#   --pack-dyn-relocs=android: the ~16 000 relative relocations (vtables, string tables) in Android's
#     packed format, which the loader reads from API 23 (our minSdk): .rela.dyn 384 KB -> 52 KB.
#     RELR would be smaller still but loads only from API 28; check-artifacts.py refuses it.
#   --icf=all: identical functions folded (Rust's generics instantiate many), -78 KB.
# And one codegen flag, on both paths: -C force-unwind-tables=no. Android's targets ask rustc for
# asynchronous unwind tables on every function (exact at each instruction: profilers, and a crash
# report's top frame in a prologue or epilogue); without the flag LLVM still writes the tables a
# panic needs to unwind to the FFI boundary, exact at each call, for every function that can unwind
# (rust-lang/rust#83482). arm64: .eh_frame 0.74x, -151 KB; armeabi-v7a (ARM EHABI) and x86_64 come
# out the same. Checked on aarch64 under qemu (scripts/android/unwind-probe/run.sh): panics through
# frames with and without cleanups, inside a generic sort and on a thread are caught.
codegen_flags="-C force-unwind-tables=no"
ndk=""
if [ -n "${ANDROID_NDK_HOME:-}" ] && cargo ndk --version >/dev/null 2>&1; then
  ndk=1
  echo "== linking with the NDK at $ANDROID_NDK_HOME (cargo-ndk, API $min_sdk)"
  ndk_args=()
  for abi in "${abi_list[@]}"; do ndk_args+=(-t "$abi"); done
  RUSTFLAGS="${RUSTFLAGS:-} $codegen_flags -C link-arg=-Wl,-z,max-page-size=16384 \
    -C link-arg=-Wl,-soname,libsmartid_ffi.so -C link-arg=-Wl,--pack-dyn-relocs=android -C link-arg=-Wl,--icf=all" \
    cargo ndk "${ndk_args[@]}" --platform "$min_sdk" -o "$out/jni" \
    rustc -p smartid-ffi --lib --crate-type cdylib --locked --profile "$profile"
else
  echo "== no NDK (ANDROID_NDK_HOME unset or cargo-ndk missing): linking with zig's lld against Bionic stubs"
  # shellcheck source=scripts/android-env.sh
  source scripts/android-env.sh
  android_env_setup
  export SMARTID_ZIG="$ZIG" SMARTID_CACHE="${SMARTID_CACHE:-/var/cache/smartid}"
  for abi in "${abi_list[@]}"; do
    t=$(triple_of "$abi")
    rustup target add "$t" >/dev/null 2>&1 || true
    sysroot=$(make_sysroot "$abi")
    tu=$(echo "$t" | tr 'a-z-' 'A-Z_')
    tl=$(echo "$t" | tr '-' '_')
    # clang assembles tract's kernels (cc-rs); lld links. Fixed env values: cargo's fingerprints stay.
    # cc-rs gives a bare clang `--target=arm-none-linux-android` (no FPU) for armv7: name the NDK's.
    cflags=""
    [ "$abi" = armeabi-v7a ] && cflags="--target=armv7a-linux-androideabi$min_sdk -mfloat-abi=softfp -mfpu=neon"
    env "CC_$tl=clang" "AR_$tl=llvm-ar" "CFLAGS_$tl=$cflags" "CARGO_TARGET_${tu}_LINKER=$PWD/scripts/android/ld.lld" \
      SMARTID_ANDROID_SYSROOT="$sysroot" RUSTFLAGS="${RUSTFLAGS:-} $codegen_flags" \
      cargo rustc -q -p smartid-ffi --lib --crate-type cdylib --locked --target "$t" --profile "$profile"
    mkdir -p "$out/jni/$abi"
    cp "$target/$t/$profile/libsmartid_ffi.so" "$out/jni/$abi/libsmartid_ffi.so"
  done
fi
status=0
for abi in "${abi_list[@]}"; do check_imports "$out/jni/$abi/libsmartid_ffi.so" || status=1; done
[ "$status" = 0 ] || exit 1
if [ "${SMARTID_LINK_DISCOVER:-}" = 1 ]; then
  echo "build-aar: SMARTID_LINK_DISCOVER=1 build: imports checked, nothing packaged" >&2
  exit 1
fi

# ---- Kotlin bindings from the library that ships (no `testing` feature), classes.jar ----------------
first_abi=${abi_list[0]}
rm -rf "$out/bindings" && mkdir -p "$out/bindings/kotlin"
bindgen="$target/debug/uniffi-bindgen"
[ -x "$bindgen" ] || cargo build -q --locked -p uniffi-bindgen
"$bindgen" generate --library "$out/jni/$first_abi/libsmartid_ffi.so" --language kotlin \
  --out-dir "$out/bindings/kotlin" --no-format --metadata-no-deps >/dev/null
if grep -q "fun testing" "$out/bindings/kotlin/com/smartid/ffi/"*.kt; then
  echo "build-aar: the bindings carry test-only functions: the library was built with \`testing\`" >&2
  exit 1
fi
bash scripts/android-classes.sh "$out/bindings" "$out/classes"

# ---- the AAR and its POM ---------------------------------------------------------------------------
name="smartid-$version"
[ -n "$ndk" ] || name="$name-nondk"
linker_note="NDK $(basename "${ANDROID_NDK_HOME:-none}") via cargo-ndk"
[ -n "$ndk" ] || linker_note="zig $("$ZIG" version) lld against generated Bionic stubs: a link check, never loaded on a device; do not ship"
python3 - "$out" "$name" "$linker_note" "${abi_list[@]}" <<'PY'
import sys, zipfile
out, name, note, abis = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
# Fixed timestamps and order: the same inputs give the same AAR.
def add(z, arcname, path=None, data=None):
    info = zipfile.ZipInfo(arcname, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    z.writestr(info, open(path, "rb").read() if path else data)
with zipfile.ZipFile(f"{out}/{name}.aar", "w") as z:
    add(z, "AndroidManifest.xml", "bindings/kotlin/src/android/AndroidManifest.xml")
    add(z, "classes.jar", f"{out}/classes/classes.jar")
    add(z, "R.txt", data=b"")
    add(z, "proguard.txt", "bindings/kotlin/src/android/proguard.txt")
    for abi in abis:
        add(z, f"jni/{abi}/libsmartid_ffi.so", f"{out}/jni/{abi}/libsmartid_ffi.so")
    add(z, "META-INF/smartid-build.txt", data=f"linker: {note}\n".encode())
PY
cat >"$out/$name.pom" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.smartid</groupId>
  <artifactId>smartid</artifactId>
  <version>$version</version>
  <packaging>aar</packaging>
  <dependencies>
    <dependency><groupId>net.java.dev.jna</groupId><artifactId>jna</artifactId><version>$jna_version</version><type>aar</type></dependency>
    <dependency><groupId>org.jetbrains.kotlinx</groupId><artifactId>kotlinx-coroutines-core</artifactId><version>$coroutines_version</version></dependency>
  </dependencies>
</project>
EOF

# ---- check what was built ---------------------------------------------------------------------------
python3 scripts/check-artifacts.py aar "$out/$name.aar" --abis "$abis" \
  --forbid-prefix uniffi_smartid_ffi_fn_func_testing_ uniffi_smartid_ffi_checksum_func_testing_ \
  --json >"$out/check.json" || { python3 scripts/check-artifacts.py aar "$out/$name.aar" --abis "$abis"; exit 1; }
python3 scripts/check-artifacts.py aar "$out/$name.aar" --abis "$abis" \
  --forbid-prefix uniffi_smartid_ffi_fn_func_testing_ uniffi_smartid_ffi_checksum_func_testing_
echo "$out/$name.aar"
