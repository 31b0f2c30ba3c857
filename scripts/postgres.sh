#!/usr/bin/env bash
# A throwaway PostgreSQL 15 on loopback for the server's tests: `source scripts/postgres.sh`, then
# `pg_up` (installs postgresql-15 from Debian if absent, initdb in a temp folder, starts on 127.0.0.1,
# exports SMARTID_TEST_DATABASE_URL) and `pg_down` (stops it and removes the folder).
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.

PG_BIN=/usr/lib/postgresql/15/bin

pg_install() {
  [ -x "$PG_BIN/postgres" ] && return 0
  local sudo_=""
  [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq postgresql-15 >/dev/null
}

pg_as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_up() {
  pg_install
  PG_DIR=$(mktemp -d /tmp/smartid-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U smartid --auth=trust -E UTF8 >/dev/null
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=on -c max_connections=200" start >/dev/null
  pg_as "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U smartid smartid_test
  export SMARTID_TEST_DATABASE_URL="postgres://smartid@127.0.0.1:$PG_PORT/smartid_test"
  echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT ($PG_DIR)"
}

pg_down() {
  [ -n "${PG_DIR:-}" ] || return 0
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  unset PG_DIR SMARTID_TEST_DATABASE_URL
}
