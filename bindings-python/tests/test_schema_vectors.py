"""tests/vectors/schema/*.json (and Microsoft's upstream samples) through iotsec.security, and
through a real send: valid bodies reach mosquitto, invalid ones raise SchemaValidationError
with the same violations and are not sent."""

import base64
import json
from typing import Any, Dict, Iterator, List

import pytest

import iotsec
from iotsec import security
from iotsec.exceptions import SchemaValidationError

from conftest import VECTORS, Mosquitto, connection_string, unique


def load_cases() -> List[Dict[str, Any]]:
    cases: List[Dict[str, Any]] = []
    for path in sorted((VECTORS / "schema").glob("*.json")):
        doc = json.loads(path.read_text())
        assert isinstance(doc["description"], str)
        for case in doc["cases"]:
            cases.append({**case, "file": path.name})
    return cases


CASES = load_cases()


def body_of(case: Dict[str, Any]) -> bytes:
    """The body bytes (``body`` serialized compactly, as the Rust runner does)."""
    if "body" in case:
        return json.dumps(case["body"], separators=(",", ":"), ensure_ascii=False).encode()
    if "body_text" in case:
        return str(case["body_text"]).encode()
    return base64.b64decode(case["body_base64"])


def test_case_counts() -> None:
    valid = sum(1 for c in CASES if c["valid"])
    assert len(CASES) >= 40 and valid >= 14 and len(CASES) - valid >= 26


@pytest.mark.parametrize("case", CASES, ids=[f"{c['file']}:{c['name']}" for c in CASES])
def test_schema_vector(case: Dict[str, Any]) -> None:
    body = body_of(case)
    got = security.validate(body)
    assert security.is_valid(body) is case["valid"]
    assert (got == []) is case["valid"], got

    expected = case.get("violations", [])
    assert [(v.pointer, v.rule) for v in got] == [(e["pointer"], e["rule"]) for e in expected]
    for exp, v in zip(expected, got):
        if "position" in exp:
            assert v.position is not None
            assert (v.position.offset, v.position.line, v.position.column) == (
                exp["position"]["offset"],
                exp["position"]["line"],
                exp["position"]["column"],
            )
        for needle in exp.get("message_contains", []):
            assert needle in v.message, (needle, v.message)
        assert 0 < len(v.message) <= 400

    # Every entry point agrees: bytes, str, dict, Message.
    if "body" in case and isinstance(case["body"], dict):
        assert security.validate(case["body"]) == got
    try:
        text = body.decode()
    except UnicodeDecodeError:
        pass
    else:
        assert security.validate(text) == got
    message = iotsec.Message(body)
    assert security.validate(message) == got

    if case["valid"]:
        security.check(body)
    else:
        with pytest.raises(SchemaValidationError) as caught:
            security.check(body)
        assert caught.value.violations == got
        assert caught.value.code == "SCHEMA_VALIDATION"


def test_upstream_samples() -> None:
    samples = json.loads((VECTORS / "schema" / "upstream" / "samples.json").read_text())
    assert samples["valid"] and samples["invalid"]
    for i, message in enumerate(samples["valid"]):
        assert security.validate(message) == [], i
        assert security.is_valid(json.dumps(message))
    for i, message in enumerate(samples["invalid"]):
        assert security.validate(message) != [], i
        assert not security.is_valid(json.dumps(message).encode())


@pytest.fixture(scope="module")
def sender(mosquitto: Mosquitto) -> Iterator[Any]:
    device = unique("schema-vectors")
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(
        connection_string(device), **mosquitto.options()
    )
    client.device = device  # type: ignore[attr-defined]
    yield client
    client.shutdown()


def test_every_schema_vector_through_a_real_send(sender: Any, mosquitto: Mosquitto) -> None:
    """Strict validation on the send path gives the validator's verdict for every vector."""
    sent = []
    for case in CASES:
        body = body_of(case)
        message = iotsec.Message(body, content_type="application/json")
        message.set_as_security_message()
        if case["valid"]:
            sender.send_message(message)
            sent.append(body)
        else:
            with pytest.raises(SchemaValidationError) as caught:
                sender.send_message(message)
            assert caught.value.violations == security.validate(body), case["name"]
    records = mosquitto.for_device(sender.device, count=len(sent))
    assert sorted(r["payload"] for r in records) == sorted(sent)
