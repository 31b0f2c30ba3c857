#!/usr/bin/env bash
# Android build inputs on a machine without the Android SDK or NDK, cached in $SMARTID_CACHE/android:
#   - android.jar (API 23) from Debian bullseye's libandroid-23-java, fetched with apt's own signature
#     checks into a private apt state (the machine's sources stay untouched); the Android layer and the
#     demo are compiled against it with -no-jdk, so only APIs Android has can be used;
#   - zig (PyPI `ziglang`, pinned) for linking the .so without an NDK (scripts/android/link.sh).
#
#   source scripts/android-env.sh; android_env_setup      # exports ANDROID_JAR, ZIG
#   bash scripts/android-env.sh                           # install (no-op when ready) and print them

ANDROID_CACHE="${SMARTID_CACHE:-/var/cache/smartid}/android"
ANDROID_API=23
ANDROID_JAR_PACKAGE=libandroid-23-java
ZIGLANG_VERSION=0.15.2

_android_jar_fetch() {
  local work="$ANDROID_CACHE/apt-bullseye"
  rm -rf "$work" && mkdir -p "$work/state/lists/partial" "$work/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main" \
    >"$work/sources.list"
  local apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State=$work/state" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
  apt-get -qq "${apt_opts[@]}" update >/dev/null
  (cd "$work" && apt-get -qq "${apt_opts[@]}" download "$ANDROID_JAR_PACKAGE" >/dev/null)
  local deb
  deb=$(ls "$work"/"$ANDROID_JAR_PACKAGE"_*.deb)
  dpkg-deb -x "$deb" "$work/x"
  cp "$work/x/usr/share/java/com.android.android-$ANDROID_API.jar" "$ANDROID_CACHE/android-$ANDROID_API.jar.tmp"
  basename "$deb" >"$ANDROID_CACHE/android-$ANDROID_API.source"
  mv "$ANDROID_CACHE/android-$ANDROID_API.jar.tmp" "$ANDROID_CACHE/android-$ANDROID_API.jar"
  rm -rf "$work"
}

_zig_install() {
  rm -rf "$ANDROID_CACHE/zig"
  python3 -m venv "$ANDROID_CACHE/zig"
  "$ANDROID_CACHE/zig/bin/pip" install -q --disable-pip-version-check "ziglang==$ZIGLANG_VERSION"
}

android_env_setup() {
  mkdir -p "$ANDROID_CACHE"
  (
    set -euo pipefail
    flock 9
    [ -s "$ANDROID_CACHE/android-$ANDROID_API.jar" ] || _android_jar_fetch
    [ "$("$ANDROID_CACHE/zig/bin/python" -m ziglang version 2>/dev/null)" = "$ZIGLANG_VERSION" ] || _zig_install
  ) 9>"$ANDROID_CACHE/.lock"
  export ANDROID_JAR="$ANDROID_CACHE/android-$ANDROID_API.jar"
  ZIG=$("$ANDROID_CACHE/zig/bin/python" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
  export ZIG ANDROID_API
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  android_env_setup
  echo "ANDROID_JAR=$ANDROID_JAR ($(cat "$ANDROID_CACHE/android-$ANDROID_API.source"))"
  echo "ZIG=$ZIG ($("$ZIG" version))"
fi
