#!/usr/bin/env bash
# Fuzzes iotsec with cargo-fuzz (libFuzzer, nightly, AddressSanitizer), target by target:
#
#   connection_string  connection-string parser (no panic, no secret in errors)
#   topic_round_trip   topic encoder -> decoder round trip
#   schema_validate    schema validator (fast check == detailed pass)
#   sas_token          SAS token parse / sign / verify
#   hub_packets        the hub's CONNECT authentication and PUBLISH handling on arbitrary MQTT
#   c_abi              the C API's entry points on arbitrary call sequences, against a model
#
#   ./scripts/fuzz.sh              300 s per target (the longer run)
#   ./scripts/fuzz.sh 3600         an hour per target
#   FUZZ_TARGETS="hub_packets c_abi" ./scripts/fuzz.sh 600     only those
#
# Before fuzzing a target, every input in fuzz/regressions/<target>/ (inputs that once found a
# bug) is replayed; they also seed the corpus (fuzz/corpus/<target>/, not in git). A crash
# leaves its input in fuzz/artifacts/<target>/: fix the bug, then move the input to
# fuzz/regressions/<target>/ and add a test to the owning crate.
# scripts/test-fuzz.sh runs this for a few seconds per target in CI.
#
# Environment: FUZZ_TARGETS (default: every target), FUZZ_SANITIZER (default address; `none`
# builds faster), FUZZ_TARGET_DIR (default fuzz/target; a directory kept between runs makes
# later builds incremental).
. "$(dirname "$0")/lib.sh"
cd "$ROOT/fuzz"
SECONDS_PER_TARGET="${1:-300}"
SANITIZER="${FUZZ_SANITIZER:-address}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$ROOT/fuzz/target}"

# A bare machine: the nightly toolchain and cargo-fuzz, through rustup and crates.io. Without
# a nightly toolchain, stable's compiler with RUSTC_BOOTSTRAP=1 takes the -Z flags (its
# sanitizer runtimes ship with it).
TOOLCHAIN=+nightly
if ! rustup toolchain list | grep -q '^nightly'; then
  log "installing the nightly toolchain"
  if ! rustup toolchain install nightly --profile minimal; then
    log "no nightly toolchain: using stable with RUSTC_BOOTSTRAP=1"
    TOOLCHAIN=+stable
    export RUSTC_BOOTSTRAP=1
  fi
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

targets="${FUZZ_TARGETS:-$(cargo "$TOOLCHAIN" fuzz list)}"
flags=(-O -s "$SANITIZER")
log "building the fuzz targets (release, sanitizer: $SANITIZER)"
t0=$(date +%s)
cargo "$TOOLCHAIN" fuzz build "${flags[@]}"
echo "fuzz: built in $(( $(date +%s) - t0 )) s"

passed=0
failed=0
total_runs=0
for t in $targets; do
  mkdir -p "corpus/$t"
  regressions=()
  if [ -d "regressions/$t" ]; then
    for f in "regressions/$t"/*; do [ -f "$f" ] && regressions+=("$f"); done
  fi
  if [ "${#regressions[@]}" -gt 0 ]; then
    if ! out=$(cargo "$TOOLCHAIN" fuzz run "${flags[@]}" "$t" "${regressions[@]}" -- -timeout=30 2>&1); then
      echo "$out" | grep -v '^\s*at \|^ *[0-9]*: ' | tail -40
      echo "fuzz: $t: FAILED: a regression input (fuzz/regressions/$t/) fails again" >&2
      failed=$((failed + 1))
      continue
    fi
  fi
  seeds=("corpus/$t")
  [ "${#regressions[@]}" -gt 0 ] && seeds+=("regressions/$t")
  if ! out=$(cargo "$TOOLCHAIN" fuzz run "${flags[@]}" "$t" "${seeds[@]}" -- -max_total_time="$SECONDS_PER_TARGET" -timeout=30 2>&1); then
    echo "$out" | grep -v '^\s*at \|^ *[0-9]*: ' | tail -40
    echo "fuzz: $t: FAILED: the input is in fuzz/artifacts/$t/ (fix the bug, then move it to fuzz/regressions/$t/)" >&2
    failed=$((failed + 1))
    continue
  fi
  runs=$(echo "$out" | grep -oE 'Done [0-9]+ runs' | grep -oE '[0-9]+' | tail -1)
  echo "fuzz: $t: ${runs:-0} executions in ${SECONDS_PER_TARGET} s, ${#regressions[@]} regression inputs replayed, 0 crashes"
  total_runs=$((total_runs + ${runs:-0}))
  passed=$((passed + 1))
done
echo "fuzz: $total_runs executions in all"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
