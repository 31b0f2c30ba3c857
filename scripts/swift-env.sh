#!/usr/bin/env bash
# Cached Swift toolchain for a Debian 12 host: bookworm ships no Swift, trixie ships swiftlang 6.0.x,
# so we keep a trixie chroot (debootstrap, Debian's own packages only) and run swift inside it.
#
#   bash scripts/swift-env.sh setup                 # create the chroot once (no-op when ready)
#   bash scripts/swift-env.sh remove                # unmount anything left, then delete it
#   source scripts/swift-env.sh; swift_env_setup; swift_in_chroot "$PWD" bindings/swift swift test
#
# Needs root. SMARTID_CACHE (default /var/cache/smartid) holds swift-trixie/ and swift-trixie.log.
# SWIFT_EXTRA_BINDS="/host/dir:/inside/dir ..." adds bind mounts (e.g. a CARGO_TARGET_DIR with a .so).

SWIFT_CACHE="${SMARTID_CACHE:-/var/cache/smartid}"
SWIFT_ROOT="$SWIFT_CACHE/swift-trixie"
SWIFT_MARKER="$SWIFT_ROOT/.smartid-ready" # written last: holds `swift --version`
SWIFT_LOG="$SWIFT_CACHE/swift-trixie.log" # all tool output goes here; the console gets headings only
SWIFT_PACKAGES="swiftlang libc6-dev"

_swift_step() { printf '== %s\n' "$*"; }
_swift_root() { [ "$(id -u)" = 0 ] || { echo "swift-env: must run as root (debootstrap, chroot, mount)" >&2; return 1; }; }

# Run a command with output to the log; on failure show the log's tail and fail.
_swift_quiet() {
  "$@" >>"$SWIFT_LOG" 2>&1 && return 0
  local rc=$?
  echo "swift-env: failed ($rc): $*  -- last lines of $SWIFT_LOG:" >&2
  tail -n 25 "$SWIFT_LOG" >&2
  return "$rc"
}

# Run a step and print how long it took.
_swift_timed() {
  local name=$1 t0=$SECONDS
  shift
  "$@" || return
  _swift_step "$name: $((SECONDS - t0))s"
}

# The Debian mirror apt already uses here (first non-security URI in /etc/apt/sources.list*).
_swift_mirror() {
  local m
  m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    sed -nE 's/^[[:space:]]*(URIs:|deb)[[:space:]]+(\[[^]]*\][[:space:]]+)?([a-z]+:\/\/[^[:space:]]+).*/\3/p' |
    grep -E '/debian/?$' | grep -v security | head -n 1)
  echo "${m:-http://deb.debian.org/debian}"
}

# Mount points under the chroot, deepest first (from /proc/mounts).
_swift_mounts_under() { awk -v r="$SWIFT_ROOT" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r; }

# Unmount everything below the chroot; fails if anything is still mounted afterwards.
_swift_umount_all() {
  local m
  for m in $(_swift_mounts_under); do umount "$m" 2>/dev/null || umount -l "$m"; done
  [ -z "$(_swift_mounts_under)" ] || { echo "swift-env: still mounted under $SWIFT_ROOT" >&2; return 1; }
}

# Delete the chroot, but only once nothing is mounted in it (rm never crosses into a mount).
swift_chroot_remove() {
  _swift_root || return
  [ -e "$SWIFT_ROOT" ] || return 0
  mkdir -p "$SWIFT_CACHE" || return
  ( # the mount lock: never pull mounts from under a running swift_in_chroot
    flock 8 || exit 1
    _swift_umount_all || exit 1
    rm -rf --one-file-system "$SWIFT_ROOT"
  ) 8>"$SWIFT_CACHE/swift-trixie.mount.lock"
}

_swift_install_tools() {
  command -v debootstrap >/dev/null && return 0
  # apt-cache knows nothing before the first `apt-get update` on a fresh machine.
  if ! apt-cache show debootstrap >/dev/null 2>&1; then _swift_quiet apt-get update -q || return; fi
  _swift_quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
}

_swift_bootstrap() {
  _swift_quiet debootstrap --variant=minbase trixie "$SWIFT_ROOT" "$(_swift_mirror)" || return
  # No daemons may start inside the chroot during installs.
  printf '#!/bin/sh\nexit 101\n' >"$SWIFT_ROOT/usr/sbin/policy-rc.d" && chmod +x "$SWIFT_ROOT/usr/sbin/policy-rc.d"
}

_swift_install_swift() {
  # shellcheck disable=SC2086
  swift_in_chroot "" "" sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends $SWIFT_PACKAGES && apt-get clean" \
    >>"$SWIFT_LOG" 2>&1 || { echo "swift-env: installing $SWIFT_PACKAGES failed -- see $SWIFT_LOG" >&2; tail -n 25 "$SWIFT_LOG" >&2; return 1; }
}

# Create the chroot once; a chroot without the marker (half-finished) is removed and redone.
swift_env_setup() {
  _swift_root || return
  mkdir -p "$SWIFT_CACHE" || return
  (
    flock 9 || exit 1 # one setup at a time (parallel CI jobs on one machine)
    if [ -s "$SWIFT_MARKER" ]; then
      _swift_step "swift chroot ready: $(head -n 1 "$SWIFT_MARKER")"
      exit 0
    fi
    t0=$SECONDS
    : >"$SWIFT_LOG"
    _swift_step "swift chroot: building $SWIFT_ROOT (log: $SWIFT_LOG)"
    swift_chroot_remove || exit 1
    _swift_timed "debootstrap installed" _swift_install_tools || exit 1
    _swift_timed "debootstrap trixie from $(_swift_mirror)" _swift_bootstrap || exit 1
    _swift_timed "apt-get install $SWIFT_PACKAGES" _swift_install_swift || exit 1
    version=$(swift_in_chroot "" "" swift --version 2>/dev/null) || { echo "swift-env: swift --version failed" >&2; exit 1; }
    printf '%s\n' "$version" >"$SWIFT_MARKER"
    _swift_step "swift chroot ready in $((SECONDS - t0))s: $(head -n 1 "$SWIFT_MARKER")"
  ) 9>"$SWIFT_CACHE/swift-trixie.lock"
}

# swift_in_chroot <repo_dir> <workdir_relative_to_repo> <command...>
# Binds repo_dir at /repo (skipped when empty), /proc, /dev and SWIFT_EXTRA_BINDS, runs the command in
# /repo/<workdir> with a clean environment, and always unmounts again (subshell + EXIT trap), even on
# failure or Ctrl-C. Runs are serialized by a lock because they share the mount points.
swift_in_chroot() (
  _swift_root || exit
  repo=$1 workdir=$2
  shift 2 || { echo "usage: swift_in_chroot <repo_dir> <workdir> <command...>" >&2; exit 2; }
  [ $# -gt 0 ] || { echo "swift_in_chroot: no command" >&2; exit 2; }
  [ -x "$SWIFT_ROOT/bin/sh" ] || { echo "swift-env: no chroot at $SWIFT_ROOT: run swift_env_setup" >&2; exit 1; }
  exec 8>"$SWIFT_CACHE/swift-trixie.mount.lock"
  flock 8 || exit 1
  child=
  trap '_swift_umount_all' EXIT
  # Stop the command first, then leave (EXIT unmounts; a busy mount is detached lazily).
  trap '[ -z "$child" ] || kill -TERM "$child" 2>/dev/null; wait; exit 143' INT TERM HUP
  _swift_umount_all || exit 1 # leftovers of a killed run (a SIGKILL skips traps)

  bind() { # bind <host_path> <path_inside_chroot>
    [ -d "$1" ] || { echo "swift-env: bind source $1 is not a directory" >&2; return 1; }
    mkdir -p "$SWIFT_ROOT$2" && mount --bind "$1" "$SWIFT_ROOT$2"
  }
  bind /proc /proc || exit 1 # swift-driver and swiftpm read /proc/self/*
  bind /dev /dev || exit 1   # /dev/null, /dev/urandom
  cp -L /etc/resolv.conf "$SWIFT_ROOT/etc/resolv.conf" 2>/dev/null || true # apt inside needs DNS
  if [ -n "$repo" ]; then bind "$(cd "$repo" && pwd)" /repo || exit 1; fi
  for spec in ${SWIFT_EXTRA_BINDS:-}; do bind "${spec%%:*}" "${spec#*:}" || exit 1; done

  dir=/; [ -n "$repo" ] && dir="/repo/$workdir"
  # env -i: host variables (CARGO_*, RUSTUP_*, PATH) mean nothing inside; HOME and a UTF-8 locale do.
  # Run in the background and `wait`, so a signal reaches the trap at once (bash defers traps while a
  # foreground child runs); `<&0` keeps stdin, which a background job would otherwise lose.
  chroot "$SWIFT_ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    /bin/sh -c 'cd "$1" && shift && exec "$@"' swift-env "$dir" "$@" <&0 &
  child=$!
  wait "$child"
)

# Run directly: bash scripts/swift-env.sh setup|remove
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-setup}" in
    setup) swift_env_setup ;;
    remove) swift_chroot_remove ;;
    *) echo "usage: $0 [setup|remove]" >&2; exit 2 ;;
  esac
fi
