"""Shared fixtures: the real brokers started by scripts/test-python.sh, and what they received.

- mosquitto over TLS on 127.0.0.1 with a recorder subscribed to ``devices/#``
  (``IOTSEC_TEST_ENV`` names its env.json; ``received_file`` gets one JSON line per PUBLISH);
- the local hub (``IOTSEC_TEST_HUB_ENV`` names its hub.json), which checks SAS signatures and
  stores what it receives under ``data_dir/store``.

Nothing is mocked: each test sends over TLS and reads back what the broker got.
"""

import base64
import json
import os
import pathlib
import subprocess
import time
import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"
GUIDE = ROOT / "tests" / "guide"
TEST_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
SECURITY_IFID = "%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1"


def _load_env(var: str, what: str) -> Dict[str, Any]:
    path = os.environ.get(var)
    if not path:
        pytest.fail(f"{var} is not set: run the suite with scripts/test-python.sh, which starts {what}")
    with open(path) as f:
        env: Dict[str, Any] = json.load(f)
    return env


def unique(prefix: str) -> str:
    """A device id no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def connection_string(device: str, module: Optional[str] = None, key: str = TEST_KEY) -> str:
    """A connection string for mosquitto (which accepts any password)."""
    m = f";ModuleId={module}" if module else ""
    return f"HostName=localhost;DeviceId={device}{m};SharedAccessKey={key}"


class Mosquitto:
    """The mosquitto started by the test script, and the recorder's file."""

    def __init__(self, env: Dict[str, Any]) -> None:
        self.env = env
        self.port: int = env["tls_port"]
        self.ca_file: str = env["ca_file"]
        self.wrong_ca_file: str = env["wrong_ca_file"]
        self.received_file = pathlib.Path(env["received_file"])
        self.log_file = pathlib.Path(env["log_file"])

    def options(self, **extra: Any) -> Dict[str, Any]:
        """Client options reaching this broker."""
        return {"port": self.port, "ca_file": self.ca_file, **extra}

    def records(self) -> List[Dict[str, Any]]:
        if not self.received_file.exists():
            return []
        out = []
        for line in self.received_file.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                record["payload"] = base64.b64decode(record["payload_base64"])
                out.append(record)
        return out

    def wait_for(
        self, predicate: Callable[[Dict[str, Any]], bool], count: int = 1, timeout: float = 15.0
    ) -> List[Dict[str, Any]]:
        """The received records matching ``predicate``, once there are at least ``count``."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.records() if predicate(r)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def for_device(self, device: str, count: int = 1, timeout: float = 15.0) -> List[Dict[str, Any]]:
        """Records published by ``device`` (any module), once there are ``count``."""
        prefix = f"devices/{device}/"
        return self.wait_for(lambda r: str(r["topic"]).startswith(prefix), count, timeout)

    def usernames(self, client_id: str) -> List[str]:
        """MQTT usernames mosquitto logged for CONNECTs with ``client_id``."""
        out = []
        for line in self.log_file.read_text(errors="replace").splitlines():
            marker = f" as {client_id} ("
            if "New client connected" in line and marker in line:
                flags = line.split(marker, 1)[1]
                if "u'" in flags:
                    out.append(flags.split("u'", 1)[1].rstrip(").").rstrip("'"))
        return out


class Hub:
    """The local hub started by the test script (``iotsec hub``)."""

    def __init__(self, env: Dict[str, Any]) -> None:
        self.env = env
        self.port: int = env["tls_port"]
        self.ca_file: str = env["ca_file"]
        self.data_dir = pathlib.Path(env["data_dir"])
        self.binary = pathlib.Path(os.environ.get("IOTSEC_BIN", ROOT / "target" / "release" / "iotsec"))

    def add_device(self, device: str, module: Optional[str] = None) -> str:
        """Registers a device (or module) and returns its connection string."""
        cmd = [str(self.binary), "hub", "add-device", "--data-dir", str(self.data_dir), device]
        if module:
            cmd += ["--module", module]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30)
        lines = [line for line in out.stdout.splitlines() if line.startswith("HostName=")]
        assert lines, f"`iotsec hub add-device` printed no connection string: {out.stdout!r} {out.stderr!r}"
        return lines[-1].strip()

    def store(self, name: str) -> List[Dict[str, Any]]:
        path = self.data_dir / "store" / name
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def wait_for(self, name: str, device: str, count: int = 1, timeout: float = 15.0) -> List[Dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.store(name) if r.get("device_id") == device]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@pytest.fixture(scope="session")
def mosquitto() -> Mosquitto:
    return Mosquitto(_load_env("IOTSEC_TEST_ENV", "mosquitto"))


@pytest.fixture(scope="session")
def hub() -> Hub:
    return Hub(_load_env("IOTSEC_TEST_HUB_ENV", "the local hub (target/release/iotsec hub)"))


@pytest.fixture
def broker_env(mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mosquitto]:
    """CA and port through the environment (how the guide's unchanged code finds the broker)."""
    monkeypatch.setenv("IOTSEC_CA_FILE", mosquitto.ca_file)
    monkeypatch.setenv("IOTSEC_MQTT_PORT", str(mosquitto.port))
    yield mosquitto


def guide_valid_body() -> str:
    return (VECTORS / "guide" / "guide_message_valid.json").read_text()


def guide_invalid_body() -> str:
    return (VECTORS / "guide" / "guide_message.json").read_text()
