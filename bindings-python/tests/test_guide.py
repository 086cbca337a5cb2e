"""The guide's Python snippet, read from tests/guide/python.py with only its two import lines
changed, sends a security message to mosquitto over TLS and to the local hub."""

import asyncio
import os
from typing import Any, Callable, Coroutine, Dict

import pytest

import iotsec
from iotsec.exceptions import SchemaValidationError

from conftest import GUIDE, SECURITY_IFID, Hub, Mosquitto, connection_string, guide_invalid_body, guide_valid_body, unique

ORIGINAL_IMPORTS = (
    "from azure.iot.device.aio import IoTHubDeviceClient, IoTHubModuleClient\n",
    "from azure.iot.device import Message\n",
)
IOTSEC_IMPORTS = (
    "from iotsec.aio import IoTHubDeviceClient, IoTHubModuleClient\n",
    "from iotsec import Message\n",
)


def guide_function() -> Callable[[Any], Coroutine[Any, Any, None]]:
    """`send_security_message_async` from the guide, its imports swapped and nothing else."""
    source = (GUIDE / "python.py").read_text()
    for original, replacement in zip(ORIGINAL_IMPORTS, IOTSEC_IMPORTS):
        assert source.count(original) == 1, f"the guide's snippet no longer has {original!r}"
        source = source.replace(original, replacement)
    changed = [
        (a, b) for a, b in zip((GUIDE / "python.py").read_text().splitlines(), source.splitlines()) if a != b
    ]
    assert len(changed) == 2, changed  # exactly the two import lines differ
    namespace: Dict[str, Any] = {"os": os}
    exec(compile(source, str(GUIDE / "python.py"), "exec"), namespace)
    function = namespace["send_security_message_async"]
    assert asyncio.iscoroutinefunction(function)
    return function  # type: ignore[no-any-return]


def test_guide_snippet_sends_to_mosquitto_over_tls(broker_env: Mosquitto, monkeypatch: pytest.MonkeyPatch) -> None:
    device = unique("guide-py")
    monkeypatch.setenv("<connection_string>", connection_string(device))
    body = guide_valid_body()

    asyncio.run(guide_function()(body))

    records = broker_env.for_device(device)
    assert len(records) == 1, records
    record = records[0]
    # The golden topic of WIRE.md ("security flag only"), for this device.
    assert record["topic"] == f"devices/{device}/messages/events/{SECURITY_IFID}"
    assert record["payload"] == body.encode()
    assert record["qos"] == 1 and record["retain"] is False
    # The CONNECT carried the iotsec user agent with the Python version.
    usernames = broker_env.usernames(device)
    assert usernames, "mosquitto logged no CONNECT for the device"
    assert usernames[0].startswith(f"localhost/{device}/?api-version=2021-04-12&DeviceClientType=iotsec%2F")
    assert "python%20" in usernames[0]


def test_guide_snippet_golden_device_dev1(broker_env: Mosquitto, monkeypatch: pytest.MonkeyPatch) -> None:
    """Byte for byte the golden topic: device dev1, security flag only."""
    monkeypatch.setenv("<connection_string>", connection_string("dev1"))
    golden = "devices/dev1/messages/events/%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1"
    body = guide_valid_body().encode()

    def is_golden(r: Dict[str, Any]) -> bool:
        return bool(r["topic"] == golden and r["payload"] == body)

    before = len(broker_env.wait_for(is_golden, timeout=0))
    asyncio.run(guide_function()(guide_valid_body()))
    assert len(broker_env.wait_for(is_golden, count=before + 1)) == before + 1


def test_guide_snippet_with_the_guides_own_message_is_refused(
    broker_env: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guide's example message lacks UserId: strict validation refuses it, nothing is sent."""
    device = unique("guide-invalid")
    monkeypatch.setenv("<connection_string>", connection_string(device))
    with pytest.raises(SchemaValidationError) as caught:
        asyncio.run(guide_function()(guide_invalid_body()))
    error = caught.value
    assert error.code == "SCHEMA_VALIDATION"
    assert isinstance(error, ValueError)
    assert [(v.pointer, v.rule) for v in error.violations] == [("/Events/0/Payload/0/UserId", "required")]
    assert "/Events/0/Payload/0/UserId" in str(error) and "UserId" in error.violations[0].message
    assert broker_env.for_device(device, timeout=0.5) == []


def test_guide_snippet_sends_to_the_local_hub(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    device = unique("guide-hub")
    monkeypatch.setenv("<connection_string>", hub.add_device(device))
    monkeypatch.setenv("IOTSEC_CA_FILE", hub.ca_file)
    monkeypatch.setenv("IOTSEC_MQTT_PORT", str(hub.port))
    body = guide_valid_body()

    asyncio.run(guide_function()(body))

    records = hub.wait_for("security.jsonl", device)
    assert records, f"the hub stored no security event for {device}; dropped: {hub.wait_for('dropped.jsonl', device, timeout=0)}"
    record = records[0]
    assert record["module_id"] is None
    assert record["topic"] == f"devices/{device}/messages/events/{SECURITY_IFID}"
    assert hub.wait_for("dropped.jsonl", device, timeout=0) == []


def test_guide_snippet_refused_by_the_hub_with_a_wrong_key(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub checks SAS signatures: a key it did not issue is refused (CredentialError)."""
    device = unique("guide-hub-badkey")
    real = hub.add_device(device)
    forged = real.split("SharedAccessKey=")[0] + "SharedAccessKey=" + "QUJD" * 11
    monkeypatch.setenv("<connection_string>", forged)
    monkeypatch.setenv("IOTSEC_CA_FILE", hub.ca_file)
    monkeypatch.setenv("IOTSEC_MQTT_PORT", str(hub.port))
    with pytest.raises(iotsec.exceptions.CredentialError) as caught:
        asyncio.run(guide_function()(guide_valid_body()))
    assert caught.value.code == "CREDENTIAL_REFUSED"
    assert caught.value.connack_code in (4, 5)
    assert "QUJD" not in str(caught.value)
