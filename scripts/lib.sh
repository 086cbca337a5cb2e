# Shared helpers for the test scripts. Source it: `. "$(dirname "$0")/lib.sh"`.
# Every process a script starts is recorded and stopped by its PID on exit; nothing else is touched.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# One build profile for every suite, so each Rust artefact is built once (see scripts/test.sh).
PROFILE="${IOTSEC_PROFILE:-release}"
export IOTSEC_PROFILE="$PROFILE"
if [ "$PROFILE" = "dev" ] || [ "$PROFILE" = "debug" ]; then TARGET_DIR="$ROOT/target/debug"; CARGO_PROFILE_FLAG=""; else TARGET_DIR="$ROOT/target/$PROFILE"; CARGO_PROFILE_FLAG="--profile $PROFILE"; fi
export TARGET_DIR CARGO_PROFILE_FLAG

_STARTED_PIDS=()
_cleanup() {
  local pid
  for pid in "${_STARTED_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${_STARTED_PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
}
trap _cleanup EXIT

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# wait_for_file FILE SECONDS: waits until FILE exists.
wait_for_file() {
  local file="$1" secs="${2:-30}" i=0
  while [ ! -s "$file" ]; do
    i=$((i + 1))
    if [ "$i" -gt $((secs * 10)) ]; then echo "timed out waiting for $file" >&2; return 1; fi
    sleep 0.1
  done
}

# json_get FILE KEY: prints one top-level value of a JSON file.
json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# start_mosquitto DIR: mosquitto over TLS on 127.0.0.1 plus a recorder (iotsec-testkit up).
# Exports IOTSEC_TEST_ENV=DIR/env.json (ports, CA, log and received-messages files).
start_mosquitto() {
  local dir="$1"
  rm -rf "$dir"; mkdir -p "$dir"
  "$TARGET_DIR/iotsec-testkit" up --dir "$dir" >"$dir/testkit.out" 2>&1 &
  _STARTED_PIDS+=("$!")
  wait_for_file "$dir/env.json" 30
  export IOTSEC_TEST_ENV="$dir/env.json"
}

# start_hub DIR: the local hub (iotsec hub) on free ports, TLS and plain.
# Exports IOTSEC_TEST_HUB_ENV=DIR/hub.json (ports, CA, data dir).
start_hub() {
  local dir="$1"
  rm -rf "$dir"; mkdir -p "$dir"
  "$TARGET_DIR/iotsec" hub --data-dir "$dir/data" --port 0 --plain-port 0 --ready-file "$dir/hub.json" >"$dir/hub.out" 2>&1 &
  _STARTED_PIDS+=("$!")
  wait_for_file "$dir/hub.json" 30
  export IOTSEC_TEST_HUB_ENV="$dir/hub.json"
}
