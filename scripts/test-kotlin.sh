#!/usr/bin/env bash
# Kotlin SDK tests on the JVM: generated bindings + the facade (bindings/kotlin) compiled with kotlinc,
# JUnit 5 against the host-built libsmartid_ffi.so (testing feature), the real models and recordings.
#   bash scripts/test-kotlin.sh <bindings dir from scripts/bindgen.sh --testing>
set -euo pipefail
cd "$(dirname "$0")/.."
gen="${1:?usage: test-kotlin.sh <bindings dir>}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
# shellcheck source=scripts/kotlin-env.sh
source scripts/kotlin-env.sh
kotlin_env_setup

out="$target/smartid-kotlin"
rm -rf "$out" && mkdir -p "$out"
sdk=bindings/kotlin/src
mapfile -t main_src < <(find "$gen/kotlin" "$sdk/main/kotlin" "$sdk/jvm/kotlin" -name '*.kt' | sort)
mapfile -t test_src < <(find "$sdk/test/kotlin" -name '*.kt' | sort)

# -Werror: the facade compiles without warnings (generated code is compiled with it, and is clean).
kotlin_compile "$out/smartid-sdk.jar" "${main_src[@]}" -jvm-target 1.8 -Werror
KOTLIN_EXTRA_CP="$out/smartid-sdk.jar" kotlin_compile "$out/smartid-tests.jar" "${test_src[@]}" -jvm-target 1.8

KOTLIN_JUNIT_JAVA_OPTS="-Djna.library.path=$target/debug -Dsmartid.repo=$PWD" \
  KOTLIN_TEST_CLASSPATH="$out/smartid-sdk.jar:$KOTLIN_TEST_CLASSPATH" kotlin_junit "$out/smartid-tests.jar"
