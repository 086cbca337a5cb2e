#!/usr/bin/env bash
# Fuzzes the parsers with cargo-fuzz (libFuzzer, nightly): connection strings, topic round
# trips, schema validation, SAS tokens.
#
#   ./scripts/fuzz.sh            20 s per target (what CI runs)
#   ./scripts/fuzz.sh 600        10 minutes per target
# Inputs that crashed once are kept in fuzz/regressions/<target>/ and replayed first.
. "$(dirname "$0")/lib.sh"
cd "$ROOT/fuzz"
SECONDS_PER_TARGET="${1:-20}"

if ! rustup toolchain list | grep -q nightly; then rustup toolchain install nightly --profile minimal; fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

targets=$(cargo +nightly fuzz list)
log "building fuzz targets"
cargo +nightly fuzz build -O
total_runs=0
for t in $targets; do
  if [ -d "regressions/$t" ] && [ -n "$(ls -A "regressions/$t")" ]; then
    cargo +nightly fuzz run -O "$t" regressions/"$t"/* >/dev/null 2>&1 || { echo "fuzz: $t regression input crashes again" >&2; exit 1; }
  fi
  out=$(cargo +nightly fuzz run -O "$t" -- -max_total_time="$SECONDS_PER_TARGET" 2>&1) || {
    echo "$out" | tail -30
    echo "fuzz: $t crashed; the input is in fuzz/artifacts/$t/ (move it to fuzz/regressions/$t/ once fixed)" >&2
    exit 1
  }
  runs=$(echo "$out" | grep -oE 'Done [0-9]+ runs' | grep -oE '[0-9]+' | tail -1)
  echo "fuzz: $t: ${runs:-0} executions in ${SECONDS_PER_TARGET}s, 0 crashes"
  total_runs=$((total_runs + ${runs:-0}))
done
echo "fuzz: $total_runs executions in all, 0 crashes"
