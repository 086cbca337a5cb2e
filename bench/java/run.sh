#!/usr/bin/env bash
# Java send throughput (a benchmark, not a test): iotsec's Java package against the raw rumqttc
# floor (core/examples/bench_send.rs), same 499-byte guide-sized security message, same TLS
# mosquitto on 127.0.0.1, awaiting each PUBACK and pipelined.
#
#   bench/java/run.sh [COUNT] [INFLIGHT]        (defaults 20000 and 100)
#
# The official Java SDK (com.microsoft.azure.sdk.iot:iot-device-client) is tried once through
# Maven; it is run and compared only if Maven Central serves it (it does not on these machines).
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
COUNT="${1:-20000}"
INFLIGHT="${2:-100}"

log "bench/java: building"
# shellcheck disable=SC2086
cargo build $CARGO_PROFILE_FLAG --locked -p iotsec-java -p iotsec-testkit
# shellcheck disable=SC2086
cargo build $CARGO_PROFILE_FLAG --locked -p iotsec --example bench_send
NATIVE_DIR="$ROOT/target/java-native"
mkdir -p "$NATIVE_DIR"
cp "$TARGET_DIR/libiotsec_jni.so" "$NATIVE_DIR/libiotsec_jni.so"
strip --strip-debug "$NATIVE_DIR/libiotsec_jni.so" 2>/dev/null || true
(cd bindings-java && mvn -B -q -Dmaven.test.skip=true -Diotsec.native.dir="$NATIVE_DIR" package)
JAR="$(ls "$ROOT"/bindings-java/target/iotsec-*.jar | head -1)"
WORK="$ROOT/target/java-bench"
rm -rf "$WORK/classes"; mkdir -p "$WORK/classes"
javac -d "$WORK/classes" -cp "$JAR" bench/java/Bench.java

start_mosquitto "$WORK/mosquitto"
PORT="$(json_get "$IOTSEC_TEST_ENV" tls_port)"
CA="$(json_get "$IOTSEC_TEST_ENV" ca_file)"
BODY="$ROOT/tests/vectors/guide/bench_message.json"

log "bench/java: $COUNT messages, $INFLIGHT in flight, mosquitto TLS on 127.0.0.1:$PORT"
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
"$TARGET_DIR/examples/bench_send" --port "$PORT" --ca "$CA" --count "$COUNT" --inflight "$INFLIGHT" --modes raw-await,raw-pipelined --json | tee -a "$RESULTS"
java -cp "$JAR:$WORK/classes" Bench --port "$PORT" --ca "$CA" --body "$BODY" --count "$COUNT" --inflight "$INFLIGHT" | tee -a "$RESULTS"

OFFICIAL="not run"
if mvn -B -q dependency:get -Dartifact=com.microsoft.azure.sdk.iot:iot-device-client:2.5.1 >"$WORK/official-resolve.log" 2>&1; then
  OFFICIAL="resolves now, but this script has no runner for it yet: it was never served here, so none could be written and checked (it also needs mosquitto on 127.0.0.1:8883)"
else
  OFFICIAL="com.microsoft.azure.sdk.iot:iot-device-client:2.5.1 does not resolve from Maven Central here (tried once; see $WORK/official-resolve.log)"
fi

python3 - "$RESULTS" "$OFFICIAL" <<'PY'
import json, sys
rows = {r["mode"]: r for r in map(json.loads, filter(None, open(sys.argv[1]).read().splitlines()))}
print()
print(f"{'mode':<16}{'msg/s':>10}{'µs CPU/msg':>12}{'vs raw':>9}")
for mode, floor in (("raw-await", None), ("java-await", "raw-await"), ("raw-pipelined", None), ("java-pipelined", "raw-pipelined")):
    r = rows.get(mode)
    if not r:
        continue
    ratio = f"{r['msgs_per_sec'] / rows[floor]['msgs_per_sec']:.2f}x" if floor and floor in rows else ""
    print(f"{mode:<16}{r['msgs_per_sec']:>10.0f}{r['cpu_us_per_msg']:>12.1f}{ratio:>9}")
print(f"official Java SDK: {sys.argv[2]}")
PY
