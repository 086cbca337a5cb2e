#!/usr/bin/env bash
# C: libiotsec.so / libiotsec.a and include/iotsec.h (bindings-c).
#
#  1. Rust side: unit tests, and the committed header against what cbindgen generates.
#  2. The library: SONAME, exported symbols = the header's functions, the header compiles as
#     C99 and C++.
#  3. C programs (bindings-c/tests/*.c) built with gcc against the header and libiotsec.so, run
#     against a real mosquitto over TLS and the local hub on 127.0.0.1: the guide's C code
#     verbatim, golden topics, NULL/invalid handles, Destroy with sends pending, schema errors,
#     hostile input (test_hostile), connection status callbacks across a hub killed by its PID
#     and restarted (test_connection), a session at IOTSEC_LOG=trace whose log holds no secret
#     (test_secrets + check_secrets.py).
#  4. test_guide linked statically against libiotsec.a (-lpthread -ldl -lm).
#  5. The same programs under valgrind: no memory errors, nothing definitely or possibly lost
#     (bindings-c/tests/valgrind.supp lists, with reasons, the few process-lifetime and TLS
#     reports that are not iotsec's).
#
# Prints "c: N passed, N failed" (each C test case, each check of this script, each valgrind run).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

WORK="$ROOT/target/c-tests"
rm -rf "$WORK"
mkdir -p "$WORK/bin" "$WORK/lib" "$WORK/logs"
TESTS="$ROOT/bindings-c/tests"
HEADER="$ROOT/bindings-c/include/iotsec.h"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"
MINOR="$(echo "$VERSION" | cut -d. -f2)"
MAJOR="$(echo "$VERSION" | cut -d. -f1)"
if [ "$MAJOR" = "0" ]; then SONAME="libiotsec.so.0.$MINOR"; else SONAME="libiotsec.so.$MAJOR"; fi

PASSED=0
FAILED=0
FAILURES=()

# check NAME COMMAND...: one test case of this script.
check() {
  local name="$1"; shift
  if "$@" >"$WORK/logs/$name.log" 2>&1; then
    PASSED=$((PASSED + 1)); echo "ok - $name"
  else
    FAILED=$((FAILED + 1)); FAILURES+=("$name"); echo "not ok - $name"; sed 's/^/#   /' "$WORK/logs/$name.log" | tail -30
  fi
}

# count_output LOG STATUS LABEL: adds the program's "ok -" / "not ok -" lines to the totals; a
# program that failed without reporting a failed case (crash, timeout) counts as one failure.
count_output() {
  local log="$1" status="$2" label="$3" ok bad
  ok=$(grep -c '^ok - ' "$log" || true)
  bad=$(grep -c '^not ok - ' "$log" || true)
  PASSED=$((PASSED + ok)); FAILED=$((FAILED + bad))
  if [ "$bad" -gt 0 ]; then FAILURES+=("$label: $(grep '^not ok - ' "$log" | sed 's/^not ok - //' | paste -sd, -)"); fi
  if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
    FAILED=$((FAILED + 1)); FAILURES+=("$label (exit status $status)")
    echo "not ok - $label exited with status $status"; tail -30 "$log" | sed 's/^/#   /'
  fi
}

# run LABEL SECONDS COMMAND...: runs a test program with its output shown and counted.
run() {
  local label="$1" seconds="$2"; shift 2
  local log="$WORK/logs/$label.log" status=0
  echo "# --- $label"
  timeout "$seconds" "$@" >"$log" 2>&1 || status=$?
  grep -E '^(ok|not ok) - |^#   |^# [a-z_]+: ' "$log" || true
  count_output "$log" "$status" "$label"
}

VALGRIND_STATUS=97
# run_valgrind LABEL COMMAND...: the program under memcheck; its cases count, and so does a
# clean valgrind verdict (no error, nothing definitely/possibly lost beyond the suppressions).
run_valgrind() {
  local label="$1"; shift
  local log="$WORK/logs/$label.log" status=0
  echo "# --- $label"
  IOTSEC_TEST_TIMEOUT_SCALE=20 timeout 1200 valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=$VALGRIND_STATUS --num-callers=40 \
    --suppressions="$TESTS/valgrind.supp" "$@" >"$log" 2>&1 || status=$?
  grep -E '^(ok|not ok) - |^#   |^# [a-z_]+: ' "$log" || true
  if [ "$status" -eq "$VALGRIND_STATUS" ]; then
    FAILED=$((FAILED + 1)); FAILURES+=("$label: valgrind found errors or leaks")
    echo "not ok - $label: valgrind found errors or leaks"; { grep -E '^==[0-9]+== ' "$log" | head -60 | sed 's/^/#   /'; } || true
    count_output "$log" 0 "$label"
  else
    count_output "$log" "$status" "$label"
    if [ "$status" -eq 0 ]; then PASSED=$((PASSED + 1)); echo "ok - $label: valgrind clean"; fi
  fi
}

log "c: building (profile: $PROFILE)"
# shellcheck disable=SC2086
cargo build $CARGO_PROFILE_FLAG --locked -p iotsec-c -p iotsec-testkit -p iotsec-cli
if ! command -v valgrind >/dev/null 2>&1; then "$ROOT/scripts/install-deps.sh"; fi

log "c: Rust unit tests and header drift"
cargo_log="$WORK/logs/cargo-test-iotsec-c.log"
cargo_status=0
# shellcheck disable=SC2086
cargo test $CARGO_PROFILE_FLAG --locked -p iotsec-c >"$cargo_log" 2>&1 || cargo_status=$?
grep -E '^test |^test result' "$cargo_log" || true
# cargo prints "test result: ok. N passed; M failed": count those as cases too.
cargo_passed=$(grep -E '^test result' "$cargo_log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
cargo_failed=$(grep -E '^test result' "$cargo_log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
if [ "$cargo_status" -ne 0 ] && [ "$cargo_failed" -eq 0 ]; then cargo_failed=1; tail -30 "$cargo_log"; fi
PASSED=$((PASSED + cargo_passed)); FAILED=$((FAILED + cargo_failed))
if [ "$cargo_failed" -gt 0 ]; then FAILURES+=("cargo test -p iotsec-c (see $cargo_log)"); fi

log "c: the library files"
LIB_SO="$TARGET_DIR/libiotsec.so"
LIB_A="$TARGET_DIR/libiotsec.a"
ln -sf "$LIB_SO" "$WORK/lib/$SONAME"
check library_files_exist test -f "$LIB_SO" -a -f "$LIB_A"
check soname_is_versioned bash -c "readelf -d '$LIB_SO' | grep -F 'Library soname: [$SONAME]'"
exports_match_header() {
  local exported declared
  exported=$(nm -D --defined-only "$LIB_SO" | awk '$2 == "T" {print $3}' | sort)
  declared=$(grep -Eo '\b(IoTHub[A-Za-z_]+|iotsec_[a-z_]+|MQTT_Protocol)\(' "$HEADER" | tr -d '(' | sort -u)
  echo "exported, not declared:"; comm -23 <(echo "$exported") <(echo "$declared")
  echo "declared, not exported:"; comm -13 <(echo "$exported") <(echo "$declared")
  [ "$exported" = "$declared" ] && [ "$(echo "$declared" | wc -l)" -ge 50 ]
}
check exported_symbols_are_exactly_the_header_functions exports_match_header
check header_compiles_as_c99 bash -c "echo '#include \"iotsec.h\"' | gcc -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only -I'$ROOT/bindings-c/include' -x c -"
check header_compiles_as_cpp bash -c "echo '#include \"iotsec.h\"' | g++ -std=c++11 -Wall -Wextra -pedantic -Werror -fsyntax-only -I'$ROOT/bindings-c/include' -x c++ -"

log "c: compiling the C tests"
CFLAGS=(-std=c11 -Wall -Wextra -Werror -g -O1)
for t in test_message test_client test_guide test_hub test_hostile test_connection test_secrets; do
  check "compile_$t" gcc "${CFLAGS[@]}" -o "$WORK/bin/$t" "$TESTS/$t.c" -L"$TARGET_DIR" -liotsec -lpthread
done
check compile_test_guide_static gcc "${CFLAGS[@]}" -o "$WORK/bin/test_guide_static" "$TESTS/test_guide.c" "$LIB_A" -lpthread -ldl -lm
check static_binary_does_not_need_libiotsec bash -c "! ldd '$WORK/bin/test_guide_static' | grep -q libiotsec"

log "c: brokers"
start_mosquitto "$WORK/mosquitto"
start_hub "$WORK/hub"
HUB_DATA="$(json_get "$IOTSEC_TEST_HUB_ENV" data_dir)"
hub_module_cs() { "$TARGET_DIR/iotsec" hub add-device --data-dir "$HUB_DATA" "$1" --module "$2" 2>/dev/null; }

export LD_LIBRARY_PATH="$WORK/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export IOTSEC_TEST_VERSION="$VERSION"
export IOTSEC_TEST_GUIDE_MESSAGE="$ROOT/tests/vectors/guide/guide_message.json"
export IOTSEC_TEST_GUIDE_MESSAGE_VALID="$ROOT/tests/vectors/guide/guide_message_valid.json"
export IOTSEC_TEST_CA_FILE; IOTSEC_TEST_CA_FILE="$(json_get "$IOTSEC_TEST_ENV" ca_file)"
export IOTSEC_TEST_WRONG_CA_FILE; IOTSEC_TEST_WRONG_CA_FILE="$(json_get "$IOTSEC_TEST_ENV" wrong_ca_file)"
export IOTSEC_TEST_TLS_PORT; IOTSEC_TEST_TLS_PORT="$(json_get "$IOTSEC_TEST_ENV" tls_port)"
export IOTSEC_TEST_RECEIVED_FILE; IOTSEC_TEST_RECEIVED_FILE="$(json_get "$IOTSEC_TEST_ENV" received_file)"
export IOTSEC_TEST_LOG_FILE; IOTSEC_TEST_LOG_FILE="$(json_get "$IOTSEC_TEST_ENV" log_file)"
export IOTSEC_TEST_HUB_CA_FILE; IOTSEC_TEST_HUB_CA_FILE="$(json_get "$IOTSEC_TEST_HUB_ENV" ca_file)"
export IOTSEC_TEST_HUB_PORT; IOTSEC_TEST_HUB_PORT="$(json_get "$IOTSEC_TEST_HUB_ENV" tls_port)"
# The tests set what they need; nothing from the caller's environment may redirect them.
unset IOTSEC_CA_FILE IOTSEC_MQTT_PORT

log "c: tests against libiotsec.so"
run test_message 300 "$WORK/bin/test_message"
run test_client 300 "$WORK/bin/test_client"
IOTSEC_TEST_RUN=so run test_guide 300 "$WORK/bin/test_guide"
IOTSEC_TEST_HUB_MODULE_CS="$(hub_module_cs dev-c-hub mod-so)" run test_hub 300 "$WORK/bin/test_hub"
run check_hub_store 120 python3 "$TESTS/check_hub_store.py" "$HUB_DATA" dev-c-hub mod-so
run test_hostile 300 "$WORK/bin/test_hostile"
IOTSEC_TEST_HUB_BIN="$TARGET_DIR/iotsec" IOTSEC_TEST_WORK_DIR="$WORK" run test_connection 300 "$WORK/bin/test_connection"
# A session at TRACE logging; then every line of its log (stdout and stderr) is searched for secrets.
SECRETS_CS="$("$TARGET_DIR/iotsec" hub add-device --data-dir "$HUB_DATA" dev-c-secrets 2>/dev/null | tail -1)"
SECRETS_TOKEN="$(python3 "$TESTS/check_secrets.py" fixed-token "$SECRETS_CS")"
SECRETS_OTHER_KEY="$(python3 "$TESTS/check_secrets.py" other-key)"
IOTSEC_LOG=trace IOTSEC_TEST_SECRETS_CS="$SECRETS_CS" IOTSEC_TEST_SECRETS_FIXED_TOKEN="$SECRETS_TOKEN" \
  IOTSEC_TEST_SECRETS_OTHER_KEY="$SECRETS_OTHER_KEY" run test_secrets 300 "$WORK/bin/test_secrets"
run check_secrets 60 python3 "$TESTS/check_secrets.py" "$WORK/logs/test_secrets.log" "$SECRETS_CS" "$SECRETS_TOKEN" "$SECRETS_OTHER_KEY"

log "c: test_guide linked statically"
IOTSEC_TEST_RUN=static run test_guide_static 300 env -u LD_LIBRARY_PATH "$WORK/bin/test_guide_static"

log "c: the same tests under valgrind"
run_valgrind valgrind_test_message "$WORK/bin/test_message"
run_valgrind valgrind_test_client "$WORK/bin/test_client"
IOTSEC_TEST_RUN=vg run_valgrind valgrind_test_guide "$WORK/bin/test_guide"
IOTSEC_TEST_HUB_MODULE_CS="$(hub_module_cs dev-c-hub mod-vg)" run_valgrind valgrind_test_hub "$WORK/bin/test_hub"
run_valgrind valgrind_test_hostile "$WORK/bin/test_hostile"
run check_hub_store_valgrind 120 python3 "$TESTS/check_hub_store.py" "$HUB_DATA" dev-c-hub mod-vg

echo
if [ "${#FAILURES[@]}" -gt 0 ]; then
  echo "failed:"; printf '  %s\n' "${FAILURES[@]}"
fi
echo "c: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
