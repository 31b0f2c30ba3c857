#!/usr/bin/env bash
# Compiles the Android SDK's JVM classes against Android's own class library (android.jar API 23 with
# -no-jdk: a JDK-only API fails to compile) and the Android demo's Kotlin against them.
#
#   bash scripts/android-classes.sh <bindings dir from scripts/bindgen.sh> [out dir]
#
# Output (default $CARGO_TARGET_DIR/smartid-android): classes.jar = the generated bindings + the facade
# (bindings/kotlin/src/main) + the Android layer (bindings/kotlin/src/android), what the AAR ships;
# demo-classes.jar = android-demo's Kotlin compiled against classes.jar (proves the guide's call and
# the demo compile; it is not an APK: there is no Android Gradle plugin here).
set -euo pipefail
cd "$(dirname "$0")/.."
gen="${1:?usage: android-classes.sh <bindings dir> [out dir]}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
out="${2:-$target/smartid-android}"
# shellcheck source=scripts/kotlin-env.sh
source scripts/kotlin-env.sh
kotlin_env_setup >/dev/null
# shellcheck source=scripts/android-env.sh
source scripts/android-env.sh
android_env_setup

mkdir -p "$out"
mapfile -t sdk_src < <(find "$gen/kotlin" bindings/kotlin/src/main/kotlin bindings/kotlin/src/android/kotlin -name '*.kt' | sort)
# Against android.jar only (no JDK), with what the AAR's POM declares: kotlinx-coroutines and JNA.
KOTLIN_COMPILE_CLASSPATH="$ANDROID_JAR:$KOTLINX_COROUTINES_JAR:$JNA_JAR" \
  kotlin_compile "$out/classes.jar" "${sdk_src[@]}" -no-jdk -jvm-target 1.8 -Werror
echo "android classes: $(unzip -l "$out/classes.jar" | tail -n 1 | awk '{print $2}') entries in $out/classes.jar"

if [ -d android-demo ]; then
  mapfile -t demo_src < <(find android-demo -name '*.kt' -not -path '*/build/*' | sort)
  KOTLIN_COMPILE_CLASSPATH="$ANDROID_JAR:$KOTLINX_COROUTINES_JAR:$JNA_JAR:$out/classes.jar" \
    kotlin_compile "$out/demo-classes.jar" "${demo_src[@]}" -no-jdk -jvm-target 1.8 -Werror
  echo "android demo: ${#demo_src[@]} Kotlin files compiled against android.jar and the SDK"
fi
