#!/usr/bin/env bash
# Rust: unit tests, the shared vectors, and the client/hub/CLI end-to-end tests (each starts its
# own mosquitto or hub on free 127.0.0.1 ports).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
# shellcheck disable=SC2086
cargo test $CARGO_PROFILE_FLAG --workspace --locked

# Every public item of the libraries is documented (`missing_docs`) and every doc link resolves.
# shellcheck disable=SC2086
RUSTDOCFLAGS="-D warnings" cargo doc $CARGO_PROFILE_FLAG --no-deps -p iotsec -p iotsec-hub --locked
