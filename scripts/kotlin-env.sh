#!/usr/bin/env bash
# Kotlin/JVM toolchain for testing the uniffi Kotlin bindings on a Debian 12 host, without Maven Central:
# kotlinc (+ stdlib, kotlinx-coroutines-core) from the npm package kotlin-compiler (pinned), JNA and
# JUnit 5 (console launcher) from Debian's packages. Debian's own `kotlin` (1.3) is too old.
#
#   bash scripts/kotlin-env.sh setup            # install once (no-op when ready), print versions and paths
#   bash scripts/kotlin-env.sh env              # print the exported variables (setup first)
#   source scripts/kotlin-env.sh; kotlin_env_setup
#   kotlin_compile out/tests.jar src/*.kt       # kotlinc against KOTLIN_COMPILE_CLASSPATH (+ KOTLIN_EXTRA_CP)
#   kotlin_junit out/tests.jar --select-class x.FooTest   # JUnit console launcher; last line "junit: N passed, N failed"
#
# Needs root for apt-get. SMARTID_CACHE (default /var/cache/smartid) holds kotlin/ and kotlin.log.
# After setup (or sourcing once ready) these are exported:
#   KOTLIN_HOME KOTLINC KOTLIN_VERSION KOTLIN_STDLIB KOTLIN_TEST_JAR KOTLINX_COROUTINES_JAR KOTLINX_COROUTINES_VERSION
#   KOTLIN_JAVA JNA_JAR JUNIT_CONSOLE_JAR JUNIT_JARS KOTLIN_COMPILE_CLASSPATH KOTLIN_TEST_CLASSPATH KOTLINC_JAVA_OPTS
# Gotchas: Debian's junit-jupiter-api has no Kotlin extensions (no reified `assertThrows<T> {}`): use
# `Assertions.assertThrows(T::class.java) { ... }` or kotlin.test's `assertFailsWith<T>` (kotlin-test.jar).
# A Rust cdylib is found by JNA through -Djna.library.path=DIR (or LD_LIBRARY_PATH).

KOTLIN_NPM_VERSION=2.4.20
KOTLIN_CACHE="${SMARTID_CACHE:-/var/cache/smartid}"
KOTLIN_PREFIX="$KOTLIN_CACHE/kotlin"                         # npm install --prefix
KOTLIN_HOME="$KOTLIN_PREFIX/node_modules/kotlin-compiler"      # bin/kotlinc, lib/*.jar
KOTLIN_MARKER="$KOTLIN_PREFIX/.smartid-ready"                  # written last: versions and jar paths
KOTLIN_LOG="$KOTLIN_CACHE/kotlin.log"                          # tool output; the console gets headings only
KOTLIN_APT_PACKAGES="libjna-java junit5"
KOTLIN_JAVA_DIR=/usr/share/java
# The jars that run org.junit.platform.console.ConsoleLauncher with the Jupiter engine when the standalone
# jar is absent (Debian's junit-platform-console shades picocli; apiguardian is annotations only).
KOTLIN_JUNIT_PARTS="junit-platform-console junit-platform-launcher junit-platform-engine junit-platform-commons
  junit-jupiter-engine junit-jupiter-api opentest4j apiguardian-api"
# C1 only: about a quarter less wall time for kotlinc on small inputs (JVM startup dominates).
: "${KOTLINC_JAVA_OPTS:=-Xmx1g -XX:TieredStopAtLevel=1}"

_kotlin_step() { printf '== %s\n' "$*"; }
_kotlin_root() { [ "$(id -u)" = 0 ] || { echo "kotlin-env: must run as root (apt-get)" >&2; return 1; }; }

# Run a command with output to the log; on failure show the log's tail and fail.
_kotlin_quiet() {
  "$@" >>"$KOTLIN_LOG" 2>&1 && return 0
  local rc=$?
  echo "kotlin-env: failed ($rc): $*  -- last lines of $KOTLIN_LOG:" >&2
  tail -n 25 "$KOTLIN_LOG" >&2
  return "$rc"
}

# Run a step and print how long it took.
_kotlin_timed() {
  local name=$1 t0=$SECONDS
  shift
  "$@" || return
  _kotlin_step "$name: $((SECONDS - t0))s"
}

# A jar under /usr/share/java, resolved to its real (versioned) file.
_kotlin_sysjar() { [ -f "$KOTLIN_JAVA_DIR/$1.jar" ] && readlink -f "$KOTLIN_JAVA_DIR/$1.jar"; }

# Everything the toolchain needs is on disk (npm package at the pinned version, Debian jars, java).
_kotlin_present() {
  [ -x "$KOTLIN_HOME/bin/kotlinc" ] && [ -f "$KOTLIN_HOME/lib/kotlin-stdlib.jar" ] &&
    [ -f "$KOTLIN_HOME/lib/kotlinx-coroutines-core-jvm.jar" ] &&
    [ "$(cat "$KOTLIN_HOME/build.txt" 2>/dev/null)" = "$KOTLIN_NPM_VERSION" ] &&
    _kotlin_sysjar jna >/dev/null && _kotlin_sysjar junit-jupiter-api >/dev/null &&
    _kotlin_sysjar junit-platform-console >/dev/null && command -v java >/dev/null
}

_kotlin_apt_install() {
  local need=() p
  for p in $KOTLIN_APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  command -v java >/dev/null || need+=(openjdk-17-jre-headless)
  [ ${#need[@]} -gt 0 ] || return 0
  # apt-cache knows nothing before the first `apt-get update` on a fresh machine.
  if ! apt-cache show "${need[@]}" >/dev/null 2>&1; then _kotlin_quiet apt-get update -q || return; fi
  _kotlin_quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
}

_kotlin_npm_install() {
  command -v npm >/dev/null || { echo "kotlin-env: npm not found (Node.js is needed to fetch kotlin-compiler)" >&2; return 1; }
  mkdir -p "$KOTLIN_PREFIX" || return
  _kotlin_quiet npm install --prefix "$KOTLIN_PREFIX" --save-exact --no-audit --no-fund --loglevel=error \
    "kotlin-compiler@$KOTLIN_NPM_VERSION" || return
  chmod +x "$KOTLIN_HOME"/bin/* # npm keeps the modes, but be sure
}

# Set and export the variables (does not install anything); fails if something is missing.
kotlin_env_export() {
  _kotlin_present || { echo "kotlin-env: toolchain missing under $KOTLIN_PREFIX: run kotlin_env_setup" >&2; return 1; }
  export KOTLIN_HOME
  export KOTLINC="$KOTLIN_HOME/bin/kotlinc"
  export KOTLIN_VERSION="$KOTLIN_NPM_VERSION"
  export KOTLIN_STDLIB="$KOTLIN_HOME/lib/kotlin-stdlib.jar"
  export KOTLIN_TEST_JAR="$KOTLIN_HOME/lib/kotlin-test.jar"
  export KOTLINX_COROUTINES_JAR="$KOTLIN_HOME/lib/kotlinx-coroutines-core-jvm.jar"
  KOTLINX_COROUTINES_VERSION=$(python3 -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read("META-INF/kotlinx_coroutines_core.version").decode().strip())' \
    "$KOTLINX_COROUTINES_JAR" 2>/dev/null || unzip -p "$KOTLINX_COROUTINES_JAR" META-INF/kotlinx_coroutines_core.version 2>/dev/null)
  export KOTLINX_COROUTINES_VERSION="${KOTLINX_COROUTINES_VERSION:-unknown}"
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then KOTLIN_JAVA="$JAVA_HOME/bin/java"; else KOTLIN_JAVA=$(command -v java); fi
  export KOTLIN_JAVA
  export JNA_JAR; JNA_JAR=$(_kotlin_sysjar jna)
  # Debian's junit-platform-console-standalone is a real fat jar (platform, Jupiter, Vintage, opentest4j,
  # apiguardian, shaded picocli); its manifest Class-Path also names a few /usr/share/java jars (harmless).
  local p parts=()
  local jar
  for p in $KOTLIN_JUNIT_PARTS; do
    jar=$(_kotlin_sysjar "$p") || { echo "kotlin-env: $KOTLIN_JAVA_DIR/$p.jar missing" >&2; return 1; }
    parts+=("$jar")
  done
  export JUNIT_JARS; JUNIT_JARS=$(IFS=:; echo "${parts[*]}")
  export JUNIT_CONSOLE_JAR; JUNIT_CONSOLE_JAR=$(_kotlin_sysjar junit-platform-console-standalone) || JUNIT_CONSOLE_JAR=""
  local junit="${JUNIT_CONSOLE_JAR:-$JUNIT_JARS}"
  # To compile tests: kotlinc adds the stdlib itself.
  export KOTLIN_COMPILE_CLASSPATH="$KOTLINX_COROUTINES_JAR:$JNA_JAR:$junit"
  # To run tests: the test jar(s) go in front of this (the console launcher's own jars are on it too).
  export KOTLIN_TEST_CLASSPATH="$KOTLIN_STDLIB:$KOTLINX_COROUTINES_JAR:$JNA_JAR:$junit"
  export KOTLINC_JAVA_OPTS
}

# Install once; a missing marker (or a missing file) means install again. Then export the variables.
kotlin_env_setup() {
  _kotlin_root || return
  mkdir -p "$KOTLIN_CACHE" || return
  (
    flock 9 || exit 1 # one setup at a time (parallel CI jobs on one machine)
    if [ -s "$KOTLIN_MARKER" ] && _kotlin_present; then exit 0; fi
    t0=$SECONDS
    : >"$KOTLIN_LOG"
    rm -f "$KOTLIN_MARKER"
    _kotlin_step "kotlin toolchain: installing into $KOTLIN_PREFIX (log: $KOTLIN_LOG)"
    _kotlin_timed "apt-get install $KOTLIN_APT_PACKAGES" _kotlin_apt_install || exit 1
    if [ "$(cat "$KOTLIN_HOME/build.txt" 2>/dev/null)" != "$KOTLIN_NPM_VERSION" ] || [ ! -x "$KOTLIN_HOME/bin/kotlinc" ]; then
      _kotlin_timed "npm install kotlin-compiler@$KOTLIN_NPM_VERSION" _kotlin_npm_install || exit 1
    fi
    kotlin_env_export || exit 1
    # kotlinc -version prints to stderr; it proves the compiler starts on this JVM.
    _kotlin_timed "kotlinc -version" _kotlin_quiet "$KOTLINC" -version || exit 1
    {
      echo "kotlinc $KOTLIN_VERSION ($KOTLINC)"
      echo "kotlinx-coroutines-core $KOTLINX_COROUTINES_VERSION ($KOTLINX_COROUTINES_JAR)"
      echo "jna $(dpkg-query -W -f='${Version}' libjna-java) ($JNA_JAR)"
      echo "junit5 $(dpkg-query -W -f='${Version}' junit5) (${JUNIT_CONSOLE_JAR:-$JUNIT_JARS})"
    } >"$KOTLIN_MARKER.tmp" && mv "$KOTLIN_MARKER.tmp" "$KOTLIN_MARKER"
    _kotlin_step "kotlin toolchain ready in $((SECONDS - t0))s"
  ) 9>"$KOTLIN_CACHE/kotlin.lock" || return
  kotlin_env_export || return
  _kotlin_step "kotlin toolchain: $(head -n 1 "$KOTLIN_MARKER")"
}

# kotlin_compile <out.jar|out_dir> <sources...> [kotlinc options...]
# Compiles against KOTLIN_COMPILE_CLASSPATH plus KOTLIN_EXTRA_CP; kotlinc's own flags may follow the sources.
kotlin_compile() {
  [ $# -ge 2 ] || { echo "usage: kotlin_compile <out.jar|dir> <sources...> [kotlinc options]" >&2; return 2; }
  [ -n "${KOTLINC:-}" ] || kotlin_env_export || return
  local out=$1
  shift
  JAVA_OPTS="$KOTLINC_JAVA_OPTS" "$KOTLINC" -cp "$KOTLIN_COMPILE_CLASSPATH${KOTLIN_EXTRA_CP:+:$KOTLIN_EXTRA_CP}" \
    -d "$out" "$@"
}

# A count from the launcher's summary box, e.g. "[         4 tests successful      ]" (0 when absent).
_kotlin_count() {
  local n
  n=$(sed -nE "s/^\[ *([0-9]+) tests $1 *\]$/\1/p" "$2" | tail -n 1)
  echo "${n:-0}"
}

# kotlin_junit <test_classpath> [ConsoleLauncher options...]
# Runs the JUnit console launcher over <test_classpath> (plus KOTLIN_TEST_CLASSPATH). Without a selector
# among the options it scans <test_classpath> (--scan-classpath); without --details it uses tree (a second
# --details would bring the banner back; --details=none prints nothing, not even the summary, in 1.9.1).
# Java options via KOTLIN_JUNIT_JAVA_OPTS, e.g. "-Djna.library.path=$CARGO_TARGET_DIR/debug".
# Ends with "junit: N passed, N failed, N skipped" (skipped counts aborted ones: failed assumptions).
# Returns the launcher's exit code: 0 all passed, 1 a test failed, 2 no tests found (--fail-if-no-tests
# is always on), 255 a discovery or usage error (e.g. a selected class that does not exist).
kotlin_junit() {
  [ $# -ge 1 ] || { echo "usage: kotlin_junit <test_classpath> [launcher options]" >&2; return 2; }
  [ -n "${KOTLIN_TEST_CLASSPATH:-}" ] || kotlin_env_export || return
  local tests=$1 out rc a selector="" details=""
  shift
  for a in "$@"; do
    case "$a" in
      --select* | --scan-class* | -[cdfimopru] | -[cdfimopru]?*) selector=1 ;;
      --details | --details=*) details=1 ;;
    esac
  done
  [ -n "$selector" ] || set -- "$@" --scan-classpath "$tests"
  [ -n "$details" ] || set -- --details=tree "$@"
  out=$(mktemp) || return
  # shellcheck disable=SC2086
  # errexit off around the pipe: a failing run must still print the summary line below.
  local had_e=0
  case $- in *e*) had_e=1 ;; esac
  set +e
  "$KOTLIN_JAVA" ${KOTLIN_JUNIT_JAVA_OPTS:-} -cp "${JUNIT_CONSOLE_JAR:-$JUNIT_JARS}" org.junit.platform.console.ConsoleLauncher \
    --disable-banner --disable-ansi-colors --fail-if-no-tests -cp "$tests:$KOTLIN_TEST_CLASSPATH" "$@" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  [ "$had_e" = 0 ] || set -e
  printf 'junit: %s passed, %s failed, %s skipped\n' \
    "$(_kotlin_count successful "$out")" "$(_kotlin_count failed "$out")" \
    "$(($(_kotlin_count skipped "$out") + $(_kotlin_count aborted "$out")))"
  rm -f "$out"
  return "$rc"
}

# Run directly: bash scripts/kotlin-env.sh setup|env
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-setup}" in
    setup)
      kotlin_env_setup
      cat "$KOTLIN_MARKER"
      ;;
    env)
      kotlin_env_export
      for v in KOTLIN_HOME KOTLINC KOTLIN_VERSION KOTLIN_STDLIB KOTLIN_TEST_JAR KOTLINX_COROUTINES_JAR KOTLINX_COROUTINES_VERSION \
        KOTLIN_JAVA JNA_JAR JUNIT_CONSOLE_JAR JUNIT_JARS KOTLIN_COMPILE_CLASSPATH KOTLIN_TEST_CLASSPATH KOTLINC_JAVA_OPTS; do
        printf '%s=%q\n' "$v" "${!v}"
      done
      ;;
    *) echo "usage: $0 [setup|env]" >&2; exit 2 ;;
  esac
fi
