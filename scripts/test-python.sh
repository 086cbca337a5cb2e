#!/usr/bin/env bash
# Python package (bindings-python): builds the abi3 wheel with maturin, installs it into a fresh
# venv, starts mosquitto (TLS) and the local hub on 127.0.0.1, and runs the pytest suite against
# them. Prints "python: N passed, N failed".
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

BUILD_VENV="$ROOT/target/venv"               # maturin, made by scripts/install-deps.sh
TEST_VENV="$ROOT/target/py-test-venv"        # fresh for every run: only the wheel + test tools
WHEELS="$ROOT/target/wheels"
WORK="$ROOT/target/tmp/python-suite"

if [ ! -x "$BUILD_VENV/bin/maturin" ]; then
  log "no maturin in $BUILD_VENV: running scripts/install-deps.sh"
  "$ROOT/scripts/install-deps.sh"
fi

# The brokers' binaries (scripts/test.sh has built the workspace already; a standalone run builds them).
if [ ! -x "$TARGET_DIR/iotsec-testkit" ] || [ ! -x "$TARGET_DIR/iotsec" ]; then
  log "building iotsec-testkit and the iotsec CLI"
  # shellcheck disable=SC2086
  cargo build $CARGO_PROFILE_FLAG -p iotsec-testkit -p iotsec-cli || log "warning: could not build them all"
fi

log "building the wheel (maturin, profile $PROFILE)"
mkdir -p "$WHEELS"
rm -f "$WHEELS"/iotsec-*.whl
if [ "$PROFILE" = "release" ]; then MATURIN_PROFILE=(--release); else MATURIN_PROFILE=(--profile "$PROFILE"); fi
"$BUILD_VENV/bin/maturin" build "${MATURIN_PROFILE[@]}" --locked -m bindings-python/Cargo.toml --out "$WHEELS" >&2
WHEEL="$(ls "$WHEELS"/iotsec-*-cp39-abi3-*.whl | head -n 1)"
log "wheel: $(basename "$WHEEL") ($(du -h "$WHEEL" | cut -f1))"

log "installing it into a fresh venv ($TEST_VENV)"
rm -rf "$TEST_VENV"
python3 -m venv "$TEST_VENV"
"$TEST_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "pytest>=8" "mypy>=1.10" "$WHEEL"

mkdir -p "$WORK"
log "starting mosquitto (TLS) and the local hub"
start_mosquitto "$WORK/mosquitto"
if [ -x "$TARGET_DIR/iotsec" ]; then
  start_hub "$WORK/hub" || log "warning: the local hub did not start (see $WORK/hub/hub.out); hub tests will fail"
else
  log "warning: $TARGET_DIR/iotsec is missing; the hub tests will fail"
fi
export IOTSEC_BIN="$TARGET_DIR/iotsec"

log "running pytest"
JUNIT="$WORK/junit.xml"
rm -f "$JUNIT"
set +e
(
  cd "$ROOT/bindings-python/tests"
  PYTHONDONTWRITEBYTECODE=1 MYPY_CACHE_DIR=/dev/null "$TEST_VENV/bin/python" -m pytest -p no:cacheprovider \
    -q -ra --junitxml="$JUNIT" "$@"
)
status=$?
set -e

read -r passed failed skipped < <(python3 - "$JUNIT" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1, 0); sys.exit()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
tests = sum(int(s.get("tests", 0)) for s in suites)
failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - failed - skipped, failed, skipped)
EOF
)
echo "python: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
