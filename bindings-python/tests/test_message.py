"""iotsec.Message behaves like azure-iot-device's Message, and what is set reaches the wire."""

import datetime
from typing import Any

import iotsec

from conftest import SECURITY_IFID, Mosquitto, connection_string, unique


def test_constructor_and_attributes_like_the_sdk() -> None:
    m = iotsec.Message("payload", message_id="m-1", content_encoding="utf-8", content_type="application/json",
                       output_name="out1")
    assert m.data == "payload" and m.message_id == "m-1" and m.output_name == "out1"
    assert m.content_encoding == "utf-8" and m.content_type == "application/json"
    assert m.custom_properties == {} and m.correlation_id is None and m.user_id is None
    assert m.expiry_time_utc is None and m.iothub_interface_id is None and m.to is None
    assert m.input_name is None and m.ack is None
    assert str(m) == "payload"
    m.correlation_id = "c"
    m.user_id = "u"
    m.message_id = None
    assert (m.correlation_id, m.user_id, m.message_id) == ("c", "u", None)


def test_data_keeps_the_object_given() -> None:
    raw = b"\x00\x01binary"
    m = iotsec.Message(raw)
    assert m.data is raw and m.body == raw and m.get_size() == len(raw)
    m.data = "é"
    assert m.data == "é" and m.body == "é".encode() and m.get_size() == 2
    assert iotsec.Message(bytearray(b"ab")).body == b"ab"
    assert iotsec.Message(memoryview(b"cd")).body == b"cd"


def test_security_flag_changes_only_the_interface_id() -> None:
    m = iotsec.Message("{}", content_encoding="utf-16")
    assert not m.is_security_message
    m.set_as_security_message()
    assert m.is_security_message
    assert m.iothub_interface_id == iotsec.SECURITY_INTERFACE_ID == "urn:azureiot:Security:SecurityAgent:1"
    assert m.content_encoding == "utf-16" and m.data == "{}"


def test_repr_shows_what_is_set() -> None:
    m = iotsec.Message("x", message_id="id'1")
    m.custom_properties["k"] = "v"
    text = repr(m)
    assert text.startswith("Message(data='x'") and "message_id=\"id'1\"" in text and "{'k': 'v'}" in text


def test_expiry_time_accepts_str_and_datetime(mosquitto: Mosquitto) -> None:
    device = unique("expiry")
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
    m = iotsec.Message("a")
    when = datetime.datetime(2030, 1, 2, 3, 4, 5)
    m.expiry_time_utc = when
    assert m.expiry_time_utc is when
    client.send_message(m)
    m.expiry_time_utc = "2031-01-01T00:00:00"
    client.send_message(m)
    client.shutdown()
    topics = [r["topic"] for r in mosquitto.for_device(device, count=2)]
    base = f"devices/{device}/messages/events/"
    assert topics == [base + "%24.exp=2030-01-02T03%3A04%3A05", base + "%24.exp=2031-01-01T00%3A00%3A00"]


def test_custom_properties_reach_the_wire_in_insertion_order(mosquitto: Mosquitto) -> None:
    device = unique("props")
    m = iotsec.Message("{}")
    m.set_as_security_message()
    props: Any = m.custom_properties
    props["zeta"] = "1"
    props["alpha"] = "two words"
    props["count"] = 3
    props["ratio"] = 0.5
    props["flag"] = True
    m.message_id = "golden-msg-0001"
    client_validation_off = iotsec.IoTHubDeviceClient.create_from_connection_string(
        connection_string(device), **mosquitto.options(validation="off")
    )
    client_validation_off.send_message(m)
    # Changing the dict after a send changes the next send; replacing it works too.
    del props["zeta"]
    props["zeta"] = "last"
    client_validation_off.send_message(m)
    m.custom_properties = {"only": "one"}
    client_validation_off.send_message(m)
    client_validation_off.shutdown()
    topics = [r["topic"] for r in mosquitto.for_device(device, count=3)]
    base = f"devices/{device}/messages/events/%24.mid=golden-msg-0001&{SECURITY_IFID}&"
    assert topics == [
        base + "zeta=1&alpha=two%20words&count=3&ratio=0.5&flag=True",
        base + "alpha=two%20words&count=3&ratio=0.5&flag=True&zeta=last",
        base + "only=one",
    ]


def test_custom_property_of_an_unsupported_type_is_named(mosquitto: Mosquitto) -> None:
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(unique("badprop")),
                                                                    **mosquitto.options())
    m = iotsec.Message("x")
    m.custom_properties["nested"] = {"a": 1}
    try:
        client.send_message(m)
    except TypeError as e:
        assert "custom_properties['nested']" in str(e) or 'custom_properties["nested"]' in str(e)
    else:
        raise AssertionError("a dict property value was accepted")
    finally:
        client.shutdown()


def test_str_and_bytes_are_sent_as_plain_messages(mosquitto: Mosquitto) -> None:
    device = unique("plain")
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
    client.send_message("text body")
    client.send_message(b"bytes body")
    client.shutdown()
    records = mosquitto.for_device(device, count=2)
    assert [(r["topic"], r["payload"]) for r in records] == [
        (f"devices/{device}/messages/events/", b"text body"),
        (f"devices/{device}/messages/events/", b"bytes body"),
    ]


def test_module_client_topic(mosquitto: Mosquitto) -> None:
    device = unique("modpy")
    client = iotsec.IoTHubModuleClient.create_from_connection_string(connection_string(device, "mod1"),
                                                                    **mosquitto.options())
    assert client.module_id == "mod1" and client.device_id == device
    m = iotsec.Message("x", output_name="alerts")
    client.send_message(m)
    client.shutdown()
    (record,) = mosquitto.for_device(device)
    assert record["topic"] == f"devices/{device}/modules/mod1/messages/events/%24.on=alerts"
    assert mosquitto.usernames(f"{device}/mod1")[0].startswith(f"localhost/{device}/mod1/?api-version=")
