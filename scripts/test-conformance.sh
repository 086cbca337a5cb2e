#!/usr/bin/env bash
# Cross-language conformance (tests/conformance/): starts one mosquitto over TLS (with its
# recorder) and one local hub on 127.0.0.1, then for Rust, Python, Node.js, Java, C# and C
# installs the package the way a user does, runs the guide's snippet against both brokers, sends
# every wire vector, validates every schema vector and checks bad input; then checks that the six
# languages agree byte for byte. Prints one matrix and "conformance: N passed, N failed".
#
# Called by scripts/test.sh after `cargo build --release --workspace --all-targets`; run alone,
# it makes the same build first (a no-op when it is up to date).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

log "conformance: building the workspace (profile: $PROFILE; a no-op after scripts/test.sh)"
# The same command as scripts/test.sh, so nothing is rebuilt with other features.
# shellcheck disable=SC2086
cargo build $CARGO_PROFILE_FLAG --workspace --all-targets --locked

for tool in mcs mono mosquitto; do
  if ! command -v "$tool" >/dev/null 2>&1; then "$ROOT/scripts/install-deps.sh"; break; fi
done
if [ ! -x "$ROOT/target/venv/bin/maturin" ]; then "$ROOT/scripts/install-deps.sh"; fi

WORK="$ROOT/target/conformance"
mkdir -p "$WORK"
log "conformance: starting mosquitto (TLS) and the local hub"
start_mosquitto "$WORK/mosquitto"
start_hub "$WORK/hub"

export TARGET_DIR
log "conformance: tests/conformance/run.py"
python3 "$ROOT/tests/conformance/run.py" "$@"
