#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian 12 machine: installs what it needs first.
# This is README's test command and what CI (.ci/run) calls. Prints how long each stage took.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build output and toolchains live outside the work tree so fresh clones (CI) reuse them; override with
# CARGO_TARGET_DIR / SMARTID_CACHE.
export SMARTID_CACHE="${SMARTID_CACHE:-/var/cache/smartid}"
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  if mkdir -p "$SMARTID_CACHE/target" 2>/dev/null && [ -w "$SMARTID_CACHE/target" ]; then
    export CARGO_TARGET_DIR="$SMARTID_CACHE/target"
  fi
fi
target="${CARGO_TARGET_DIR:-$PWD/target}"

stages=()
t_all=$SECONDS
stage() {
  local name=$1 t0=$SECONDS
  shift
  printf '\n== %s\n' "$name"
  "$@"
  stages+=("$(printf '%-58s %5ss' "$name" $((SECONDS - t0)))")
  printf -- '-- %s: %ss\n' "$name" $((SECONDS - t0))
}

toolchain() {
  command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
  # clang assembles tract's arm64 kernels for the mobile builds (no NDK or Xcode needed for a staticlib).
  # strace is the real tracer the RASP debugger test runs the harness under. rsync assembles the Swift
  # package copy.
  local need=()
  for tool in clang llvm-ar strace cc rsync; do command -v "$tool" >/dev/null || need+=("$tool"); done
  # OkHttp (Debian's libokhttp-java) is the real HTTP client the server's code-transport test runs;
  # PostgreSQL 15 is the second database the server's suite runs on.
  local pkgs=()
  [ -f /usr/share/java/okhttp.jar ] || pkgs+=(libokhttp-java)
  command -v java >/dev/null || pkgs+=(default-jre-headless)
  [ -x /usr/lib/postgresql/15/bin/postgres ] || pkgs+=(postgresql-15)
  # The API fuzzer: schemathesis in a venv, the server reached with curl.
  command -v curl >/dev/null || pkgs+=(curl)
  python3 -c 'import ensurepip, venv' 2>/dev/null || pkgs+=(python3-venv)
  if [ ${#need[@]} -gt 0 ] || [ ${#pkgs[@]} -gt 0 ]; then
    local sudo_=""
    [ "$(id -u)" = 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq clang llvm strace gcc rsync \
      "${pkgs[@]}" >/dev/null
  fi
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
  # The AAR's three ABIs and the iOS device slice; the simulator slice builds std from rust-src.
  rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android aarch64-apple-ios >/dev/null
  rustup component add rust-src >/dev/null
  prune_stale_test_binaries
}

# Every change relinks the test binaries (hundreds of MB each with tract's debug info) under a new
# hash, and the old ones stay: in a shared target dir they filled a 250 GB disk. Keep the newest of each.
prune_stale_test_binaries() {
  local deps="$target/debug/deps"
  [ -d "$deps" ] || return 0
  find "$deps" -maxdepth 1 -type f -perm -u+x ! -name '*.*' -printf '%T@ %s %f\n' \
    | sort -rn | awk -v d="$deps" '
        { name = $3; sub(/-[0-9a-f]+$/, "", name) }
        seen[name]++ { print d "/" $3; freed += $2 }
        END { printf "pruned stale test binaries: %.1f GB\n", freed / 1e9 > "/dev/stderr" }' \
    | xargs -r rm -f
}

# Every host build selects the same packages, targets and features: cargo unifies features per
# invocation, and a different selection would build tract again with another feature set.
ws=(--workspace --all-targets --features smartid-ffi/testing --locked)
# The server's OkHttp test must run here, never skip (it skips only where java or the jar is absent).
export SMARTID_REQUIRE_OKHTTP=1

lints() {
  cargo fmt --all -- --check
  cargo clippy "${ws[@]}" -- -D warnings
}

rust_tests() {
  # Builds the test binaries and the normal ones (smartid, uniffi-bindgen, libsmartid_ffi.so) at once.
  cargo build -q "${ws[@]}"
  cargo test "${ws[@]}"
  # The opening side alone (what a minimal server or a fuzzer links): builds and passes without the models.
  cargo clippy -p smartid-core --no-default-features --all-targets --locked -- -D warnings
  cargo test -p smartid-core --no-default-features --lib --tests --locked
}

# The same suite with the other shipped model set, switched by configuration only (the tests and the
# harness read SMARTID_MODELS); the binaries are already built.
rust_tests_antispoof_set() {
  SMARTID_MODELS="$PWD/models/manifest-antispoof.toml" cargo test "${ws[@]}"
}

# The server's suite again on a real PostgreSQL (Debian's, started on loopback for this stage and
# stopped afterwards): the same code and migrations as the SQLite run above.
server_postgres() {
  # shellcheck source=scripts/postgres.sh
  source scripts/postgres.sh
  pg_up
  trap pg_down RETURN
  cargo test --workspace --features smartid-ffi/testing --locked --test api --test verification --test load --test okhttp \
    -- --nocapture
}

bindings() {
  bash scripts/bindgen.sh --testing >/dev/null
}

# Lints of the platform cfg branches (RASP on Android/iOS) for the phone targets.
mobile_lints() {
  export CC_aarch64_linux_android=clang AR_aarch64_linux_android=llvm-ar
  export CC_aarch64_apple_ios=clang AR_aarch64_apple_ios=llvm-ar
  # cc-rs asks xcrun for an SDK unless SDKROOT is set; assembling needs no SDK headers. A fixed path, so
  # the build script does not rerun (and rebuild tract for iOS) on every run.
  if [ -z "${SDKROOT:-}" ]; then
    export SDKROOT="$target/empty-ios-sdkroot"
    mkdir -p "$SDKROOT"
  fi
  local t
  for t in aarch64-linux-android aarch64-apple-ios; do
    cargo clippy -p smartid-core -p smartid-ffi --lib --locked --target "$t" -- -D warnings
  done
}

# The artifact checker's own tests (synthetic good and broken AARs, ELFs, XCFrameworks, Mach-Os).
artifact_checker() {
  python3 scripts/test_check_artifacts.py 2>&1 | tail -n 3
}

# The AAR as far as this machine goes: .so per ABI linked by zig's lld against Bionic stubs (no NDK;
# unoptimised, to keep the run short), bindings from it, classes.jar and the demo compiled against
# android.jar, assembled and checked. Shipped AARs: release profile, with an NDK (README "Android").
android_aar() {
  bash scripts/build-aar.sh --profile mobile-ci
}

# The XCFramework: device and simulator staticlibs (no Xcode: nothing links them), checked.
ios_xcframework() {
  export SDKROOT="${SDKROOT:-$target/empty-ios-sdkroot}"
  mkdir -p "$SDKROOT"
  bash scripts/build-xcframework.sh --profile mobile-ci
}

python_opener() {
  if ! python3 -c "import pyhpke" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check pyhpke \
      || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages pyhpke
  fi
  python3 docs/test-vectors/open_capture.py
}

stage "toolchain" toolchain
stage "format and lints" lints
stage "rust tests (default model set: models/manifest.toml)" rust_tests
stage "rust tests again (models/manifest-antispoof.toml)" rust_tests_antispoof_set
stage "server suite on postgresql 15 (loopback)" server_postgres
stage "server api fuzzing from docs/openapi.yaml (schemathesis, 60 s)" bash scripts/fuzz-server-api.sh 60
stage "ffi library and generated bindings (testing feature)" bindings
stage "kotlin sdk on the jvm" bash scripts/test-kotlin.sh "$target/smartid-bindings"
stage "swift sdk in a debian trixie chroot" bash scripts/test-swift.sh "$target/smartid-bindings"
stage "mobile targets: lints" mobile_lints
stage "artifact checker tests" artifact_checker
stage "android: aar (3 ABIs, zig link check), android.jar compile" android_aar
stage "ios: xcframework (device + simulator staticlibs)" ios_xcframework

printf '\n== stage times\n'
printf '%s\n' "${stages[@]}"
printf '%-58s %5ss\n' "total" $((SECONDS - t_all))

# Last, so its "N passed, N failed" summary closes the run.
printf '\n== second implementation opens the sealed test vector (docs/payload-format.md)\n'
python_opener
