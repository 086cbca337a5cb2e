#!/usr/bin/env bash
# The short soak for CI (issue 12): a few thousand security messages per mode, two restarts by
# PID at random points (mosquitto by SIGTERM, the local hub by SIGKILL, the sending process with
# its durable queue by SIGKILL), plus one run over a 40 ms (each way) link. Nothing may be lost.
# Prints "soak: N passed, N failed". The full-size soak is scripts/soak.sh.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

MESSAGES="${SOAK_MESSAGES:-3000}"
RESTARTS="${SOAK_RESTARTS:-2}"
TIMEOUT="${SOAK_TIMEOUT:-180}"
WORK="$ROOT/target/tmp/soak-ci"

# scripts/test.sh has built every target already; a standalone run builds the example.
if [ ! -x "$TARGET_DIR/examples/soak" ] || [ "$ROOT/core/examples/soak.rs" -nt "$TARGET_DIR/examples/soak" ]; then
  log "building the soak program (profile $PROFILE)"
  # shellcheck disable=SC2086
  cargo build $CARGO_PROFILE_FLAG -p iotsec --example soak >&2
fi
SOAK="$TARGET_DIR/examples/soak"
rm -rf "$WORK"; mkdir -p "$WORK"

passed=0; failed=0
run() {
  local name="$1"; shift
  local out="$WORK/$name.log" status=0
  timeout --kill-after=10 $((TIMEOUT + 60)) "$SOAK" "$@" --messages "$MESSAGES" --restarts "$RESTARTS" \
    --timeout "$TIMEOUT" --dir "$WORK/$name" >"$out" 2>"$WORK/$name.err" || status=$?
  cat "$out"
  if [ "$status" -eq 0 ] && grep -q ' PASS$' "$out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "  (exit $status; client log: $WORK/$name.err, files: $WORK/$name)" >&2
    tail -n 20 "$WORK/$name.err" >&2 || true
  fi
}

run mosquitto mosquitto
run hub hub
run durable durable
run mosquitto-slow-link mosquitto --latency-ms 40

echo "soak: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
