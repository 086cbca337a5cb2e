#!/usr/bin/env bash
# CI suite: every fuzz target for FUZZ_SECONDS (default 10) after replaying its regression
# inputs (fuzz/regressions/<target>/). Installs nightly and cargo-fuzz when missing. Prints
# per-target executions and `fuzz: N passed, N failed`. The longer run is scripts/fuzz.sh.
set -euo pipefail
exec "$(dirname "$0")/fuzz.sh" "${FUZZ_SECONDS:-10}"
