"""tests/vectors/wire/*.json through the Python API: each message is built with iotsec.Message,
sent to mosquitto over TLS, and the topic and payload mosquitto received are compared with the
vector's exact bytes."""

import base64
import json
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

import iotsec
from iotsec.exceptions import IoTSecError, exception_class

from conftest import VECTORS, Mosquitto, connection_string


def load_cases() -> List[Dict[str, Any]]:
    cases: List[Dict[str, Any]] = []
    for path in sorted((VECTORS / "wire").glob("*.json")):
        cases.extend(json.loads(path.read_text())["cases"])
    return cases


CASES = load_cases()


def build_message(v: Dict[str, Any]) -> iotsec.Message:
    """The message a vector describes, built the way an application would."""
    data: Any
    if "body_text" in v:
        data = v["body_text"]
    elif "body_base64" in v:
        data = base64.b64decode(v["body_base64"])
    else:
        data = v["body_repeat"]["text"] * v["body_repeat"]["count"]
    message = iotsec.Message(
        data,
        message_id=v.get("message_id"),
        content_encoding=v.get("content_encoding"),
        content_type=v.get("content_type"),
        output_name=v.get("output_name"),
    )
    message.correlation_id = v.get("correlation_id")
    message.user_id = v.get("user_id")
    message.to = v.get("to")
    message.expiry_time_utc = v.get("expiry_time_utc")
    message.component_name = v.get("component_name")
    if "interface_id" in v:
        message.iothub_interface_id = v["interface_id"]
    if v.get("security"):
        message.set_as_security_message()
    for key, value in v.get("properties", []):
        message.custom_properties[key] = value
    return message


def expected_body(v: Dict[str, Any]) -> bytes:
    if "body_text" in v:
        return str(v["body_text"]).encode()
    if "body_base64" in v:
        return base64.b64decode(v["body_base64"])
    return str(v["body_repeat"]["text"] * v["body_repeat"]["count"]).encode()


@pytest.fixture(scope="module")
def clients(mosquitto: Mosquitto) -> Iterator[Dict[Tuple[str, Optional[str]], iotsec.IoTHubDeviceClient]]:
    """One blocking client per identity (validation off: the vectors are about topics)."""
    made: Dict[Tuple[str, Optional[str]], Any] = {}
    yield made
    for client in made.values():
        client.shutdown()


def client_for(
    made: Dict[Tuple[str, Optional[str]], Any], mosquitto: Mosquitto, device: str, module: Optional[str]
) -> Any:
    key = (device, module)
    if key not in made:
        cls = iotsec.IoTHubModuleClient if module else iotsec.IoTHubDeviceClient
        made[key] = cls.create_from_connection_string(
            connection_string(device, module), **mosquitto.options(validation="off")
        )
    return made[key]


def test_there_are_enough_vectors() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_wire_vector(case: Dict[str, Any], mosquitto: Mosquitto, clients: Dict[Any, Any]) -> None:
    client = client_for(clients, mosquitto, case["device_id"], case.get("module_id"))
    message = build_message(case["message"])
    if "error" in case:
        with pytest.raises(IoTSecError) as caught:
            client.send_message(message)
        assert caught.value.code == case["error"]
        assert isinstance(caught.value, exception_class(case["error"]))
        return
    topic: str = case["topic"]
    body = expected_body(case["message"])

    def matches(r: Dict[str, Any]) -> bool:
        return bool(r["topic"] == topic and r["payload"] == body)

    before = len(mosquitto.wait_for(matches, timeout=0))
    client.send_message(message)
    received = mosquitto.wait_for(matches, count=before + 1)
    assert len(received) == before + 1, (
        f"mosquitto did not receive topic {topic!r}; last topics: {[r['topic'] for r in mosquitto.records()[-3:]]}"
    )
    assert received[-1]["qos"] == 1
