#!/usr/bin/env bash
# Fuzzes the reference server's HTTP API from its OpenAPI description (docs/openapi.yaml) with
# schemathesis (PyPI), for a bounded time: the real `smartid-server` binary on a fresh SQLite file.
# Every check schemathesis has (server errors, status codes and bodies against the schema, invalid
# data rejected, auth not ignored, …) except `positive_data_acceptance`: a schema-valid Template is any
# string, and only a capture sealed to the server's key is accepted (412/407 otherwise), so that check
# cannot pass by design. Then: the server still answers and nothing was stored.
#   bash scripts/fuzz-server-api.sh [seconds]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
export SMARTID_CACHE="${SMARTID_CACHE:-/var/cache/smartid}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
venv="$SMARTID_CACHE/pyenv-schemathesis"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi
cargo build -q --workspace --features smartid-ffi/testing --locked --bins
bin="$target/debug/smartid-server"

tmp=$(mktemp -d /tmp/smartid-fuzz-api.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
key=$("$bin" init --dir "$tmp" --channel fuzz | tail -1)
# The fuzzer sends thousands of requests: lift this channel's rate limit.
sed -i 's/^rate_per_sec = .*/rate_per_sec = 100000.0/; s/^burst = .*/burst = 100000.0/' "$tmp/channels.toml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SMARTID_LOG=error "$bin" serve --listen "127.0.0.1:$port" --database "$tmp/smartid.db" \
  --data-keys "$tmp/data.keys" --server-keys "$tmp/server.sk" --channels "$tmp/channels.toml" &
server_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done

status=0
"$venv/bin/schemathesis" --config-file server/fuzz/schemathesis.toml run docs/openapi.yaml --url "http://127.0.0.1:$port" \
  --header "X-Api-Key: $key" --checks all --exclude-checks positive_data_acceptance \
  --max-time "$seconds" --workers 2 \
  --suppress-health-check all --warnings off --no-color || status=$?

curl -fs "http://127.0.0.1:$port/health" >/dev/null || { echo "server no longer answers" >&2; exit 1; }
kill -0 "$server_pid" || { echo "server died" >&2; exit 1; }
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from enrollments').fetchone()[0])" "$tmp/smartid.db")
echo "after fuzzing: server answers /health, $stored enrollment(s) stored (random data cannot seal a capture)"
[ "$stored" = 0 ] || exit 1
exit $status
