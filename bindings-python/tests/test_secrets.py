"""Secrets never leak: a full connect / send / token renewal session at TRACE logging
(``IOTSEC_LOG=trace``: iotsec, rumqttc and rustls on standard error) in a child process, and
the errors a wrong key, a malformed key, a fixed SAS token and a wrong CA produce. Neither the
log nor any error text nor any repr holds the key, a SAS token or a signature (computed here
for every expiry the session could have signed).

And TLS verification cannot be turned off: a wrong CA always fails, no option disables the
check, and the system roots do not trust the local hub's CA."""

import base64
import hashlib
import hmac
import json
import os
import pathlib
import subprocess
import sys
import urllib.parse
from typing import List

import pytest

import iotsec
from iotsec.exceptions import TlsError

from conftest import Hub, Mosquitto, connection_string, unique

HERE = pathlib.Path(__file__).resolve().parent
LIFETIME = 5


def encode(s: str) -> str:
    return urllib.parse.quote(s, safe="-._~")


def signature(key_b64: str, resource: str, expiry: int) -> str:
    to_sign = f"{encode(resource)}\n{expiry}".encode()
    return base64.b64encode(hmac.new(base64.b64decode(key_b64), to_sign, hashlib.sha256).digest()).decode()


def secret_forms(key_b64: str, resource: str, first: int, last: int) -> List[str]:
    """Every form a secret could take in text: the key (base64, hex, url-encoded), and the
    signature of every token the session may have signed (base64, url-encoded, hex)."""
    raw_key = base64.b64decode(key_b64)
    forms = [key_b64, encode(key_b64), raw_key.hex(), key_b64.rstrip("=")]
    for expiry in range(first, last + 1):
        sig = signature(key_b64, resource, expiry)
        forms += [sig, encode(sig), base64.b64decode(sig).hex(), sig.rstrip("=")]
    return forms


def test_trace_log_and_errors_of_a_session_with_renewals_hold_no_secret(hub: Hub, mosquitto: Mosquitto, tmp_path: pathlib.Path) -> None:
    device = unique("py-secrets")
    cs = hub.add_device(device)
    key = cs.split("SharedAccessKey=", 1)[1]
    resource = f"localhost/devices/{device}"
    # A fixed, expired SAS token for the same device, signed with its real key.
    expired_se = 1_000_000_000
    fixed_sig = signature(key, resource, expired_se)
    fixed_token = f"SharedAccessSignature sr={encode(resource)}&sig={encode(fixed_sig)}&se={expired_se}"
    other_key = base64.b64encode(os.urandom(32)).decode()
    config = {
        "connection_string": cs,
        "port": hub.port,
        "ca_file": hub.ca_file,
        "seconds": 7,
        "failing": [
            # a registered device with the wrong key: CREDENTIAL_REFUSED
            [f"HostName=localhost;DeviceId={device};SharedAccessKey={other_key}", {"port": hub.port, "ca_file": hub.ca_file}],
            # the right key, but not base64 any more: INVALID_CONNECTION_STRING
            [cs.replace("SharedAccessKey=", "SharedAccessKey=!"), {}],
            [cs + "x", {}],
            # an expired fixed token: refused by the hub
            [f"HostName=localhost;DeviceId={device};SharedAccessSignature={fixed_token}", {"port": hub.port, "ca_file": hub.ca_file}],
            # the right key against a broker whose certificate is not trusted: TLS
            [cs, {"port": mosquitto.port, "ca_file": mosquitto.wrong_ca_file}],
            # an unknown option name next to the key
            [cs, {"insecure": True}],
        ],
    }
    env = dict(os.environ, IOTSEC_LOG="trace", IOTSEC_SECRETS_CONFIG=json.dumps(config))
    env.pop("IOTSEC_CA_FILE", None)
    env.pop("IOTSEC_MQTT_PORT", None)
    proc = subprocess.run([sys.executable, str(HERE / "secret_session.py")], capture_output=True, text=True, env=env, timeout=120)
    (tmp_path / "stderr.log").write_text(proc.stderr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])

    # The session did what it should: traced, renewed its token, delivered every message.
    log = proc.stderr
    assert log.count("\n") > 100, "IOTSEC_LOG=trace logs on standard error"
    assert " TRACE " in log and "rumqttc" in log and "rustls" in log, "iotsec, rumqttc and rustls records are all there"
    assert "renewing the SAS token" in log
    renewals = [e for e in out["events"] if e[1] == "EXPIRED_SAS_TOKEN"]
    assert len(renewals) >= 1, out["events"]
    assert len(hub.wait_for("telemetry.jsonl", device, count=out["sent"])) == out["sent"]
    kinds = sorted(e["type"] for e in out["errors"])
    assert kinds == ["ConnectionStringError", "ConnectionStringError", "CredentialError", "CredentialError", "TlsError", "TypeError"], kinds

    # No secret anywhere: log lines, error texts, reprs, events.
    forms = secret_forms(key, resource, int(out["started"]) - 2, int(out["ended"]) + LIFETIME + 2)
    forms += [fixed_sig, encode(fixed_sig), fixed_token, other_key, encode(other_key)]
    haystacks = {"log": log, "stdout": proc.stdout}
    for name, text in haystacks.items():
        for form in forms:
            assert form not in text, f"a secret ({form[:6]}...) appears in the {name}"
        assert "SharedAccessSignature sr=" not in text
        assert "sig=" not in text
    for line in log.splitlines():
        assert "SharedAccessKey=" not in line, line


def test_tls_verification_cannot_be_turned_off(mosquitto: Mosquitto, hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IOTSEC_CA_FILE", raising=False)
    monkeypatch.delenv("IOTSEC_MQTT_PORT", raising=False)
    cs = connection_string(unique("py-tls"))
    # A wrong CA fails, as a file or as PEM text.
    wrong_pem = pathlib.Path(mosquitto.wrong_ca_file).read_text()
    for options in ({"ca_file": mosquitto.wrong_ca_file}, {"server_verification_cert": wrong_pem}):
        c = iotsec.IoTHubDeviceClient.create_from_connection_string(cs, port=mosquitto.port, **options)
        with pytest.raises(TlsError, match="UnknownIssuer|unknown issuer|certificate"):
            c.connect()
        c.shutdown()
    # No CA at all: the system roots do not know the local brokers' CA.
    c = iotsec.IoTHubDeviceClient.create_from_connection_string(cs, port=hub.port)
    with pytest.raises(TlsError):
        c.connect()
    c.shutdown()
    # No option turns verification off (or switches to plain TCP) in the Python package.
    for name in ("insecure", "verify", "tls_verify", "skip_verify", "cert_reqs", "check_hostname",
                 "transport", "plain_tcp", "tls", "ssl", "websockets", "cipher"):
        with pytest.raises(TypeError, match=name):
            iotsec.IoTHubDeviceClient.create_from_connection_string(cs, port=mosquitto.port, **{name: False})
    # The right CA works (so the failures above are about trust, not the broker).
    ok = iotsec.IoTHubDeviceClient.create_from_connection_string(cs, port=mosquitto.port, ca_file=mosquitto.ca_file)
    ok.connect()
    ok.shutdown()
