"""iotsec.security: the typed records match the published schema, build valid messages, and
invalid ones are refused with pointers."""

import dataclasses
import json
from typing import Any, Dict, List, Type

import pytest

import iotsec
from iotsec import security
from iotsec.exceptions import SchemaValidationError
from iotsec.security import Event, Record, SecurityMessage

from conftest import Mosquitto, connection_string, unique

AGENT = "e89dc5f5-feac-4c3e-87e2-93c16f010c25"

SAMPLES: List[Record] = [
    security.ProcessCreate(executable="/usr/bin/myApp", process_id=11750, parent_process_id=1593, user_id="1000",
                           command_line="myApp -a -b", user_name="alice", extra_details={"k": "v"}),
    security.ProcessTerminate(executable="/usr/bin/myApp", process_id=11750, exit_status=0),
    security.ConnectionCreate(remote_address="10.0.0.7", remote_port="443", direction="Out", protocol="TCP",
                              process_id=42, executable="/usr/bin/curl", local_address="::1", local_port="53248"),
    security.Login(process_id=7, operation="PAM:authentication", executable="/usr/sbin/sshd", result="Fail",
                   user_name="root", remote_address="192.168.1.9", remote_port="50022"),
    security.ListeningPorts(local_port="22", protocol="TCP", local_address="0.0.0.0"),
    security.FirewallConfiguration(enabled=True, action="Allow", priority=1, direction="In", chain_name="INPUT",
                                   source_address="10.0.0.0/8", destination_port="22", protocol="TCP"),
    security.LocalUsers(group_ids="0;1", group_names="root;daemon", user_id="0", user_name="root"),
    security.ConnectedHardware(hardware_category="USB", hardware_sub_category="Keyboard", hardware_name="Logitech K120"),
    security.OSBaseline(description="Ensure SSH root login is disabled", cce_id="CCE-4387-1", result="Fail", error="",
                        severity="Critical"),
    security.SystemInformation(os_name="Linux", os_version="6.1", os_architecture="x86_64", host_name="gw-7",
                               bios_version="1.2", total_physical_memory_kb=2048, free_physical_memory_kb=1024),
    security.Diagnostic(severity="Warning", message="queue almost full", process_id=1, thread_id=2,
                        correlation_id="c6f5b6a2-3d6e-4f58-9f1b-0c1f7d5a9e10"),
    security.ConfigurationError(configuration_name="interval", error_type="NotOptimal", used_configuration="PT1M",
                                message="too short"),
    security.DroppedEventsStatistics(queue="High", collected_events=10, dropped_events=1),
    security.MessageStatistics(messages_sent=100, messages_under_4kb=99, total_failed=1),
]


def schema_payload_items() -> Dict[str, Dict[str, Any]]:
    """The Payload item schema of each event type, read from the embedded schema files."""
    files = dict(iotsec._native.schema_files())
    out = {}
    for name, text in files.items():
        doc = json.loads(text)
        names = doc.get("properties", {}).get("Name", {}).get("enum")
        if names and len(names) == 1:
            out[names[0]] = doc["properties"]["Payload"]["items"]
    return out


def test_one_record_class_per_event_type() -> None:
    assert sorted(r.KIND for r in SAMPLES) == sorted(security.EVENT_KINDS)
    assert len(security.EVENT_KINDS) == 14


@pytest.mark.parametrize("record_type", [type(r) for r in SAMPLES], ids=lambda t: t.__name__)
def test_record_fields_are_the_schema_members(record_type: Type[Record]) -> None:
    """No drift between the dataclasses and the published schema: same members, same required set."""
    item = schema_payload_items()[record_type.KIND]
    fields = dataclasses.fields(record_type)  # type: ignore[arg-type]
    names = {security._schema_name(f): f for f in fields}
    assert set(names) == set(item["properties"]), record_type
    required = set(item.get("required", []))
    for name, f in names.items():
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        assert (name in required) == (not has_default), (record_type.__name__, name)


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: r.KIND)
def test_each_record_builds_a_valid_message(record: Record) -> None:
    body = SecurityMessage(AGENT, "1.0.0").add(record).build()
    assert security.validate(body) == []
    doc = json.loads(body)
    (event,) = doc["Events"]
    category, event_type, _ = security.EVENT_KINDS[record.KIND]
    assert (event["Name"], event["Category"], event["EventType"]) == (record.KIND, category, event_type)
    assert event["IsEmpty"] is False and event["PayloadSchemaVersion"] == "1.0" and len(event["Id"]) == 36
    assert event["Payload"] == [record.to_dict()]
    assert doc["AgentId"] == AGENT and doc["MessageSchemaVersion"] == "1.0"


def test_all_events_in_one_message_sent_for_real(mosquitto: Mosquitto) -> None:
    message = SecurityMessage(AGENT, "1.0.0", SAMPLES).to_message()
    assert message.is_security_message
    assert message.content_type == "application/json" and message.content_encoding == "utf-8"
    device = unique("builders")
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
    client.send_message(message)
    client.shutdown()
    (record,) = mosquitto.for_device(device)
    assert record["payload"] == message.body
    assert len(json.loads(record["payload"])["Events"]) == 14
    assert "%24.ct=application%2Fjson&%24.ce=utf-8&%24.ifid=" in record["topic"]


def test_event_options_and_raw_records() -> None:
    event = Event(
        {"LocalPort": "80", "Protocol": "TCP"},
        kind="ListeningPorts",
        id="072f3eca-3db0-45ba-8174-fa383bc93caf",
        timestamp_local="2019-01-27 15:48:52+02:00",
        timestamp_utc="2019-01-27T13:48:52Z",
    )
    doc = json.loads(SecurityMessage(AGENT, "1", [event]).build())
    e = doc["Events"][0]
    assert e["Id"] == "072f3eca-3db0-45ba-8174-fa383bc93caf" and e["TimestampLocal"] == "2019-01-27 15:48:52+02:00"
    assert e["Payload"] == [{"LocalPort": "80", "Protocol": "TCP"}]


def test_empty_events() -> None:
    body = SecurityMessage(AGENT, "1", [Event(kind="ListeningPorts")]).build()
    assert json.loads(body)["Events"][0]["IsEmpty"] is True
    with pytest.raises(SchemaValidationError) as caught:
        SecurityMessage(AGENT, "1", [Event(kind="ProcessCreate")]).build()
    assert any(v.pointer.startswith("/Events/0") for v in caught.value.violations)
    with pytest.raises(TypeError):
        Event()


def test_invalid_records_are_refused_with_pointers() -> None:
    login = security.Login(process_id=7, operation="x", executable="/bin/login", result="Success")  # no user
    with pytest.raises(SchemaValidationError) as caught:
        SecurityMessage(AGENT, "1").add(login).to_message()
    assert caught.value.violations and caught.value.violations[0].pointer.startswith("/Events/0/Payload/0")
    bad_ip = security.ListeningPorts(local_port="22", protocol="TCP", local_address="999.1.1.1")
    with pytest.raises(SchemaValidationError) as caught:
        SecurityMessage(AGENT, "1").add(bad_ip).build()
    assert caught.value.violations[0].pointer == "/Events/0/Payload/0/LocalAddress"
    with pytest.raises(SchemaValidationError):
        SecurityMessage("not-a-guid", "1").add(SAMPLES[0]).build()


def test_mixed_record_types_and_bad_input() -> None:
    with pytest.raises(TypeError, match="one type"):
        Event(SAMPLES[0], SAMPLES[1])
    with pytest.raises(ValueError, match="not an event name"):
        Event(kind="Nope")
    with pytest.raises(TypeError):
        SecurityMessage(AGENT, "1").add("ProcessCreate")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a JSON value"):
        SecurityMessage(AGENT, "1", [Event({"When": object()}, kind="Diagnostic")]).build()
    with pytest.raises(ValueError, match="ProcessId"):
        SecurityMessage(AGENT, "1", [Event({"ProcessId": float("nan")}, kind="Diagnostic")]).build()


def test_violation_objects() -> None:
    (v,) = security.validate(b"{\n  \"a\": tru }")
    assert (v.pointer, v.rule) == ("", "json")
    assert v.position == security.TextPosition(12, 2, 11)
    assert "line 2, column 11" in str(v)
    assert repr(v).startswith("Violation(pointer='', rule='json'")
    assert v == security.Violation(v.pointer, v.rule, v.message, v.position) and hash(v) == hash(
        security.Violation(v.pointer, v.rule, v.message, v.position)
    )
