#!/usr/bin/env bash
# Node.js package (bindings-node/): installs the npm dev dependencies (napi-rs CLI, TypeScript),
# builds the native module with the napi CLI, starts mosquitto over TLS and the local hub (both on
# 127.0.0.1), and runs `node --test` (which includes `tsc --strict` on examples/full-api.ts and
# `npm pack` → install into an empty folder → the guide snippet). Prints "node: N passed, N failed".
#
# Called by scripts/test.sh after `cargo build --workspace`; runs alone too (it builds what it uses).
. "$(dirname "$0")/lib.sh"
PKG="$ROOT/bindings-node"
WORK="$ROOT/target/test-node"
mkdir -p "$WORK"

if [ ! -x "$TARGET_DIR/iotsec-testkit" ] || [ ! -x "$TARGET_DIR/iotsec" ]; then
  log "node: building iotsec-testkit and the iotsec CLI (hub)"
  # shellcheck disable=SC2086
  cargo build $CARGO_PROFILE_FLAG -p iotsec-testkit -p iotsec-cli --locked
fi

cd "$PKG"
log "node: npm ci"
npm ci --no-audit --no-fund --loglevel=error

t0=$(date +%s)
# By default the suite packages the cdylib `cargo build --workspace` already made (scripts/test.sh
# builds every Rust artefact once), under the name napi build gives it. IOTSEC_NODE_USE_WORKSPACE_BUILD=0
# runs `napi build` instead, as a user building from source does; it passes --target, so it
# compiles the dependency tree a second time under target/<triple>/ (minutes on 2 cores).
if [ "${IOTSEC_NODE_USE_WORKSPACE_BUILD:-1}" = 1 ] && [ -f "$TARGET_DIR/libiotsec_node.so" ]; then
  log "node: using the workspace build of the native module"
  mkdir -p native
  cp "$TARGET_DIR/libiotsec_node.so" native/iotsec.linux-x64-gnu.node
else
  log "node: napi build ($PROFILE)"
  case "$PROFILE" in
    release) napi_flags=(--release) ;;
    dev | debug) napi_flags=() ;;
    *) napi_flags=(--profile "$PROFILE") ;;
  esac
  npx --no-install napi build --platform "${napi_flags[@]}" --no-js --output-dir native
fi
# The workspace profile keeps line tables for Rust backtraces; the package does not need them
# (72 MB → 14 MB, which keeps `npm pack` quick).
if command -v strip >/dev/null 2>&1; then strip --strip-debug native/*.node; fi
log "node: native module built in $(( $(date +%s) - t0 )) s"

log "node: starting mosquitto (TLS) and the local hub"
start_mosquitto "$WORK/mosquitto"
start_hub "$WORK/hub"

log "node: node --test"
REPORT="$WORK/tap.txt"
set +e
node --test --test-reporter=tap __test__/ 2>&1 | tee "$REPORT"
status=${PIPESTATUS[0]}
set -e

passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$REPORT" | tail -1)
failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$REPORT" | tail -1)
cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$REPORT" | tail -1)
skipped=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$REPORT" | tail -1)
passed=${passed:-0}
failed=$(( ${failed:-0} + ${cancelled:-0} ))
echo "node: $passed passed, $failed failed, ${skipped:-0} skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
