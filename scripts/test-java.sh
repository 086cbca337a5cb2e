#!/usr/bin/env bash
# Java package (bindings-java): JUnit 5 through Maven against real brokers on 127.0.0.1.
#   - builds (or reuses) the jni cdylib, strips its debug info into target/java-native/ and lets
#     Maven pack it into the JAR (never committed);
#   - starts mosquitto over TLS (iotsec-testkit) and the local hub (iotsec hub);
#   - runs `mvn verify`: unit and end-to-end tests (surefire), then the packaged-JAR tests (failsafe);
#   - prints "java: N passed, N failed, N skipped" from the Surefire/Failsafe XML reports.
# Maven's local repository is the usual ~/.m2 (override with MAVEN_REPO_LOCAL=dir).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

if ! command -v javac >/dev/null || ! command -v mvn >/dev/null; then
  log "java: installing a JDK and Maven (Debian packages)"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven >/dev/null \
    || { $sudo apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven >/dev/null; }
fi

log "java: building the native library, the test kit and the CLI ($PROFILE)"
# shellcheck disable=SC2086
cargo build $CARGO_PROFILE_FLAG --locked -p iotsec-java -p iotsec-testkit
# shellcheck disable=SC2086
cargo build $CARGO_PROFILE_FLAG --locked -p iotsec-cli || log "java: WARNING: the iotsec CLI (local hub) did not build; the hub tests will fail"

NATIVE_DIR="$ROOT/target/java-native"
mkdir -p "$NATIVE_DIR"
cp "$TARGET_DIR/libiotsec_jni.so" "$NATIVE_DIR/libiotsec_jni.so"
# Line tables make the library ~70 MB; the JAR carries it without them (symbols stay).
strip --strip-debug "$NATIVE_DIR/libiotsec_jni.so" 2>/dev/null || true

WORK="$ROOT/target/java-test"
mkdir -p "$WORK"
start_mosquitto "$WORK/mosquitto"
if [ -x "$TARGET_DIR/iotsec" ]; then
  start_hub "$WORK/hub" || log "java: WARNING: the local hub did not start; the hub tests will fail"
fi
# The guide's code takes no CA and no port: the core reads these (mosquitto's TLS listener).
IOTSEC_CA_FILE="$(json_get "$IOTSEC_TEST_ENV" ca_file)"
IOTSEC_MQTT_PORT="$(json_get "$IOTSEC_TEST_ENV" tls_port)"
export IOTSEC_CA_FILE IOTSEC_MQTT_PORT
export IOTSEC_CLI="$TARGET_DIR/iotsec"

cd "$ROOT/bindings-java"
rm -rf target/surefire-reports target/failsafe-reports
MVN_ARGS=(-B -q -Diotsec.native.dir="$NATIVE_DIR" -Dmaven.test.failure.ignore=true)
[ -n "${MAVEN_REPO_LOCAL:-}" ] && MVN_ARGS+=(-Dmaven.repo.local="$MAVEN_REPO_LOCAL")
log "java: mvn verify"
mvn_rc=0
mvn "${MVN_ARGS[@]}" verify || mvn_rc=$?

read -r total failed skipped < <(python3 - target/surefire-reports target/failsafe-reports <<'PY'
import glob, sys, xml.etree.ElementTree as ET
t = f = s = 0
for d in sys.argv[1:]:
    for path in glob.glob(d + "/TEST-*.xml"):
        r = ET.parse(path).getroot()
        t += int(r.get("tests", 0)); f += int(r.get("failures", 0)) + int(r.get("errors", 0)); s += int(r.get("skipped", 0))
print(t, f, s)
PY
)
passed=$((total - failed - skipped))
echo "java: $passed passed, $failed failed, $skipped skipped"
if [ "$mvn_rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  [ "$mvn_rc" -ne 0 ] && echo "java: mvn exited $mvn_rc" >&2
  exit 1
fi
