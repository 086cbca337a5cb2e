#!/usr/bin/env bash
# Runs every test of iotsec on a fresh machine: installs what is missing, builds each Rust
# artefact once, runs the Rust tests, then each language package's tests against real brokers
# (mosquitto over TLS and the local hub, both on 127.0.0.1), then the cross-language suite.
#
#   ./scripts/test.sh            everything
#   ./scripts/test.sh rust c     only the named suites (rust soak c python node java csharp conformance fuzz)
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

SUITES=("$@")
[ "${#SUITES[@]}" -eq 0 ] && SUITES=(rust soak c python node java csharp conformance fuzz)

started=$(date +%s)
log "installing dependencies"
"$ROOT/scripts/install-deps.sh"

log "building the workspace once (profile: $PROFILE)"
# shellcheck disable=SC2086
cargo build $CARGO_PROFILE_FLAG --workspace --all-targets --locked

declare -A RESULT
for suite in "${SUITES[@]}"; do
  script="$ROOT/scripts/test-$suite.sh"
  if [ ! -x "$script" ]; then echo "no suite named $suite ($script)" >&2; exit 2; fi
  log "suite: $suite"
  t0=$(date +%s)
  if "$script"; then RESULT[$suite]="passed"; else RESULT[$suite]="FAILED"; fi
  RESULT[$suite]="${RESULT[$suite]} ($(( $(date +%s) - t0 )) s)"
done

log "summary ($(( $(date +%s) - started )) s in all)"
failed=0
for suite in "${SUITES[@]}"; do
  printf '  %-12s %s\n' "$suite" "${RESULT[$suite]}"
  case "${RESULT[$suite]}" in FAILED*) failed=1 ;; esac
done
exit $failed
