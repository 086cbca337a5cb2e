#!/usr/bin/env bash
# The benchmark, every language in one run: iotsec (Rust, Python, Node.js, Java, C#, C) against
# raw rumqttc (the floor) and the official Azure IoT SDKs (azure-iot-device 2.14.0 for Python,
# azure-iot-device 1.18.4 + azure-iot-device-mqtt 1.16.4 for Node.js), over TLS to one mosquitto
# on 127.0.0.1:8883 with a counting subscriber; writes docs/benchmarks.md and docs/benchmarks.png.
#
#   bench/run.sh                 20,000 messages per run, 5 rounds (about 8 minutes on 2 cores, plus the build)
#   bench/run.sh --quick         2,000 messages, 1 round, report in target/bench/ (a few minutes)
#   bench/run.sh --count N --rounds R --only rust,python,... --modes await,pipelined --out FILE
#
# This script builds and installs (release profile, everything under target/), then hands over
# to bench/driver.py, which runs the brokers and the clients. 127.0.0.1:8883 must be free: the
# official SDKs connect to no other port. Not part of CI (it measures; it asserts only that
# every message arrived).
. "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"

case "${1:-}" in
  -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; python3 bench/driver.py --help; exit 0 ;;
esac

WORK="$ROOT/target/bench"
mkdir -p "$WORK"
rm -rf "$WORK/unavailable"
mkdir -p "$WORK/unavailable"
# unavailable KEY REASON: the driver reports the client as not measured, with the reason.
unavailable() { log "bench: $1 not available: $2"; echo "$2" >"$WORK/unavailable/$1.txt"; }
started=$(date +%s)

if ss -ltn 2>/dev/null | awk '{print $4}' | grep -qE '(^|:)8883$'; then
  echo "bench: 127.0.0.1:8883 is in use; the official SDKs connect only to port 8883, so the benchmark needs it free." >&2
  ss -ltnp 'sport = :8883' >&2 || true
  exit 1
fi

if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then "$ROOT/scripts/install-deps.sh"; fi
if ! command -v mcs >/dev/null || ! command -v mono >/dev/null; then "$ROOT/scripts/install-deps.sh" || true; fi

# ---- Rust: the workspace artefacts, and bench/rust (floor, Rust client, subscriber) -------------
log "bench: building (release)"
cargo build --release --locked -p iotsec-testkit -p iotsec-c -p iotsec-java -p iotsec-node
# bench/rust is not a workspace member: it gets the workspace's lock file and target directory.
cp Cargo.lock bench/rust/Cargo.lock
CARGO_TARGET_DIR="$ROOT/target" cargo build --release --manifest-path bench/rust/Cargo.toml

# Snapshots of the native libraries: other builds may replace target/release/* during the run.
LIB="$WORK/lib"
rm -rf "$LIB"; mkdir -p "$LIB"
SONAME="$(readelf -d target/release/libiotsec.so | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
cp target/release/libiotsec.so "$LIB/$SONAME"
strip --strip-debug "$LIB/$SONAME"
ln -sf "$SONAME" "$LIB/libiotsec.so"

# ---- C ----------------------------------------------------------------------------------------
mkdir -p "$WORK/c"
if gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$WORK/c/bench_c" bench/c/bench.c -Ibindings-c/include -L"$LIB" -liotsec -lpthread; then :
else unavailable c "bench/c/bench.c did not compile"; fi
gcc -O2 -Wall -Wextra -o "$WORK/c/wakeup" bench/c/wakeup.c -lpthread || log "bench: WARNING: bench/c/wakeup.c did not compile"

# ---- C# (Mono's mcs, as scripts/test-csharp.sh) -------------------------------------------------
mkdir -p "$WORK/csharp"
if ! command -v mcs >/dev/null; then
  unavailable csharp "Mono's mcs is not installed (scripts/install-deps.sh installs it)"
elif [ ! -d bindings-csharp/src ]; then
  unavailable csharp "bindings-csharp/src is missing"
elif ! mcs -langversion:7 -optimize+ -nowarn:1591 -target:library -out:"$WORK/csharp/IotSec.dll" bindings-csharp/src/*.cs >"$WORK/csharp/build.log" 2>&1; then
  unavailable csharp "bindings-csharp did not compile with mcs (see $WORK/csharp/build.log)"
elif ! mcs -langversion:7 -optimize+ -target:exe -out:"$WORK/csharp/Bench.exe" -r:"$WORK/csharp/IotSec.dll" -r:System.Core bench/csharp/Bench.cs >>"$WORK/csharp/build.log" 2>&1; then
  unavailable csharp "bench/csharp/Bench.cs did not compile (see $WORK/csharp/build.log)"
fi

# ---- Java (the package's sources compiled here; the JNI library loaded from a snapshot) ---------
mkdir -p "$WORK/java"
rm -rf "$WORK/java/classes"; mkdir -p "$WORK/java/classes"
cp target/release/libiotsec_jni.so "$WORK/java/libiotsec_jni.so"
strip --strip-debug "$WORK/java/libiotsec_jni.so"
# shellcheck disable=SC2046
if ! javac -nowarn -d "$WORK/java/classes" $(find bindings-java/src/main/java -name '*.java') bench/java/Bench.java >"$WORK/java/build.log" 2>&1; then
  unavailable java "javac failed (see $WORK/java/build.log)"
fi
# The official Java SDK: tried once; compared only if it resolves (it never has here).
if [ ! -f "$WORK/java/official.txt" ] || ! grep -q resolves "$WORK/java/official.txt"; then
  if timeout 120 mvn -B -q dependency:get -Dartifact=com.microsoft.azure.sdk.iot:iot-device-client:2.5.1 >"$WORK/java/official-resolve.log" 2>&1; then
    echo "com.microsoft.azure.sdk.iot:iot-device-client:2.5.1 resolves, but bench/ has no runner for it yet" >"$WORK/java/official.txt"
  else
    echo "com.microsoft.azure.sdk.iot:iot-device-client:2.5.1 does not resolve from Maven Central here (tried once per run)" >"$WORK/java/official.txt"
  fi
fi

# ---- Node.js: the package staged as npm would install it; the official SDK from npm -------------
NODE_PKG="$WORK/node/iotsec"
rm -rf "$NODE_PKG"; mkdir -p "$NODE_PKG/native"
cp bindings-node/package.json bindings-node/index.js bindings-node/index.d.ts bindings-node/mqtt.js bindings-node/mqtt.d.ts "$NODE_PKG/"
cp target/release/libiotsec_node.so "$NODE_PKG/native/iotsec.linux-x64-gnu.node"
strip --strip-debug "$NODE_PKG/native/iotsec.linux-x64-gnu.node"
if [ ! -d bench/node/official/node_modules/azure-iot-device ]; then
  (cd bench/node/official && npm ci --no-audit --no-fund --loglevel=error) || unavailable node-official "npm ci in bench/node/official failed"
fi

# ---- Python: the wheel into one venv, azure-iot-device 2.14.0 into another ----------------------
if [ ! -x target/venv/bin/maturin ]; then "$ROOT/scripts/install-deps.sh"; fi
rm -rf "$WORK/wheels"
if target/venv/bin/maturin build --release --locked -m bindings-python/Cargo.toml --out "$WORK/wheels" >"$WORK/maturin.log" 2>&1; then
  WHEEL="$(ls "$WORK"/wheels/iotsec-*-cp39-abi3-*.whl | head -1)"
  [ -x "$WORK/py-iotsec/bin/python" ] || python3 -m venv "$WORK/py-iotsec"
  "$WORK/py-iotsec/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$WHEEL"
else
  unavailable python "maturin build failed (see $WORK/maturin.log)"
fi
if [ ! -x "$WORK/py-azure/bin/python" ] || ! "$WORK/py-azure/bin/python" -c 'import azure.iot.device' 2>/dev/null; then
  python3 -m venv "$WORK/py-azure"
  "$WORK/py-azure/bin/python" -m pip install --quiet --disable-pip-version-check "azure-iot-device==2.14.0" \
    || unavailable python-official "pip could not install azure-iot-device==2.14.0"
fi

# ---- the chart: matplotlib in its own venv ------------------------------------------------------
if [ ! -x "$WORK/plot-venv/bin/python" ] || ! "$WORK/plot-venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
  python3 -m venv "$WORK/plot-venv"
  "$WORK/plot-venv/bin/python" -m pip install --quiet --disable-pip-version-check "matplotlib>=3.7" \
    || log "bench: WARNING: matplotlib did not install; the report will have no chart"
fi

log "bench: built and installed in $(( $(date +%s) - started )) s"
python3 bench/driver.py "$@"
