#!/usr/bin/env bash
# Installs what the tests need on a bare machine (Debian): mosquitto (the reference broker),
# Mono's C# compiler and NUnit (no dotnet SDK is reachable here), and a Python venv with the
# build and test tools. Safe to run again: it installs only what is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

apt_install() {
  local missing=()
  local pkg
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "installing ${missing[*]}" >&2
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
}

apt_install mosquitto mono-mcs nunit-console libnunit-cil-dev valgrind

VENV="$ROOT/target/venv"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade "maturin>=1.7,<2" "pytest>=8" "pytest-asyncio>=0.23" "mypy>=1.10" >/dev/null
echo "dependencies ready" >&2
