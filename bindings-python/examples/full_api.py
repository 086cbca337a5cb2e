"""Every public name of iotsec in use, type-checked with ``mypy --strict`` by the tests.

Run it against a broker::

    IOTSEC_CONNECTION_STRING='HostName=...;DeviceId=...;SharedAccessKey=...' \\
    IOTSEC_CA_FILE=ca.pem IOTSEC_MQTT_PORT=8883 python examples/full_api.py
"""

import asyncio
import datetime
import os
import sys
from typing import Dict, List, Optional, Tuple, Union

import iotsec
import iotsec.aio
from iotsec import MAX_BODY_BYTES, SECURITY_INTERFACE_ID, Message, MessageLike, exceptions, security, user_agent
from iotsec.exceptions import (
    ClientClosedError,
    ClientError,
    ConnectionDroppedError,
    ConnectionFailedError,
    ConnectionStringError,
    CredentialError,
    InternalError,
    InvalidArgumentError,
    InvalidCredentialError,
    IoError,
    IoTSecError,
    MessageTooLargeError,
    NoConnectionError,
    OperationCancelled,
    OperationTimeout,
    QueueFullError,
    SchemaValidationError,
    TlsError,
)
from iotsec.security import (
    EVENT_KINDS,
    Event,
    SecurityMessage,
    TextPosition,
    Violation,
)

AGENT_ID = "e89dc5f5-feac-4c3e-87e2-93c16f010c25"


def build_messages() -> List[Message]:
    """Messages built with every Message feature and every record type."""
    plain = Message("hello", message_id="m-1", content_encoding="utf-8", content_type="text/plain", output_name=None)
    plain.correlation_id = "c-1"
    plain.user_id = "u-1"
    plain.to = None
    plain.component_name = None
    plain.expiry_time_utc = datetime.datetime(2031, 1, 1, tzinfo=datetime.timezone.utc)
    plain.custom_properties["site"] = "plant 7"
    plain.custom_properties["line"] = 3
    plain.custom_properties = dict(plain.custom_properties)
    data: object = plain.data
    assert data == "hello" and plain.body == b"hello" and plain.get_size() == 5
    assert plain.input_name is None and plain.ack is None and not plain.is_security_message
    expiry: Union[str, datetime.datetime, None] = plain.expiry_time_utc
    assert expiry is not None

    records: List[security.Record] = [
        security.ProcessCreate("/usr/bin/app", 10, 1, "1000", "app -x"),
        security.ProcessTerminate("/usr/bin/app", 10, 0),
        security.ConnectionCreate("10.0.0.1", "443", "Out", "TCP", 10, "/usr/bin/app"),
        security.Login(10, "PAM:authentication", "/usr/sbin/sshd", "Success", user_name="root"),
        security.ListeningPorts("22", "TCP"),
        security.FirewallConfiguration(True, "Deny", chain_name="INPUT"),
        security.LocalUsers("0", "root", "0", "root"),
        security.ConnectedHardware("USB", "Keyboard", "K120"),
        security.OSBaseline("rule", "CCE-1", "Pass", "", "Informational"),
        security.SystemInformation(os_name="Linux", total_physical_memory_kb=1024),
        security.Diagnostic("Information", "started", 1, 1),
        security.ConfigurationError("interval", "Conflict", "PT1M", "clash"),
        security.DroppedEventsStatistics("Low", 5, 0),
        security.MessageStatistics(10, 10, 0),
    ]
    assert sorted(r.KIND for r in records) == sorted(EVENT_KINDS)
    category, event_type, may_be_empty = EVENT_KINDS["ListeningPorts"]
    assert (category, event_type, may_be_empty) == ("Periodic", "Security", True)
    as_dict: Dict[str, object] = records[0].to_dict()
    assert as_dict["Executable"] == "/usr/bin/app"

    builder = SecurityMessage(AGENT_ID, "1.0.0", records[:2])
    builder.add(Event(records[2], id=None, timestamp_local=None, timestamp_utc=None), *records[3:])
    builder.add(Event(kind="ListeningPorts"))
    body: bytes = builder.build()
    secure: Message = builder.to_message()
    assert secure.is_security_message and secure.iothub_interface_id == SECURITY_INTERFACE_ID

    manual = Message(body)
    manual.set_as_security_message()
    return [plain, secure, manual]


def check_validation() -> None:
    violations: List[Violation] = security.validate(b"{")
    position: Optional[TextPosition] = violations[0].position
    assert position is not None and position.line == 1 and position.column >= 1 and position.offset >= 0
    assert violations[0].rule == "json" and violations[0].pointer == "" and violations[0].message
    assert not security.is_valid("{}")
    assert security.validate({"AgentId": AGENT_ID}) != []
    try:
        security.check("{}")
    except SchemaValidationError as e:
        assert e.code == "SCHEMA_VALIDATION" and isinstance(e, ValueError) and e.violations
    else:
        raise AssertionError("an empty object passed validation")


def check_errors(conn_str: str) -> None:
    try:
        iotsec.IoTHubDeviceClient.create_from_connection_string("DeviceId=x")
    except ConnectionStringError as e:
        assert e.code == "INVALID_CONNECTION_STRING" and "HostName" in e.message
    try:
        iotsec.IoTHubDeviceClient.create_from_connection_string(conn_str, keep_alive=10_000)
    except InvalidArgumentError as e:
        assert "keep_alive" in str(e)
    try:
        Message("x" * (MAX_BODY_BYTES + 1))  # building is fine; sending would raise
    except MessageTooLargeError:
        raise AssertionError("size is checked when sending")
    families: Tuple[type, ...] = (
        ClientError, ConnectionFailedError, TlsError, ConnectionDroppedError, CredentialError,
        InvalidCredentialError, NoConnectionError, OperationTimeout, OperationCancelled, ClientClosedError,
        QueueFullError, IoError, InternalError, IoTSecError,
    )
    for family in families:
        assert issubclass(family, IoTSecError)
    assert exceptions.exception_class("TIMEOUT") is OperationTimeout


def blocking(conn_str: str, messages: List[Message]) -> None:
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(
        conn_str, keep_alive=60, validation="strict", sastoken_ttl=3600, send_timeout=30, connect_timeout=10,
        max_in_flight=100, queue_capacity=1000, queue_policy="block",
    )
    changes: List[bool] = []
    events: List[iotsec.ConnectionEvent] = []

    def on_change() -> None:
        changes.append(client.connected)

    def on_event(event: iotsec.ConnectionEvent) -> None:
        state: str = event.state
        reason: str = event.reason
        status: Optional[str] = event.status
        attempt: Optional[int] = event.attempt
        error: Optional[IoTSecError] = event.error
        assert state and reason and (status, attempt, error) is not None
        events.append(event)

    client.on_connection_state_change = on_change
    client.on_connection_event = on_event
    assert client.on_connection_event is on_event and client.on_connection_state_change is on_change
    client.connect()
    assert client.connected and client.connection_state == "connected"
    assert client.device_id and client.module_id is None and "api-version" in client.mqtt_username
    for m in messages:
        client.send_message(m)
    text: MessageLike = "plain text"
    client.send_message(text)
    client.send_message(b"raw bytes")
    client.disconnect()
    client.shutdown()
    try:
        client.send_message("after shutdown")
    except ClientClosedError as e:
        assert e.code == "CLOSED"


async def asynchronous(conn_str: str, messages: List[Message]) -> None:
    client = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(conn_str, validation="warn")

    async def on_change() -> None:
        await asyncio.sleep(0)

    client.on_connection_state_change = on_change
    await client.connect()
    await client.send_message(messages[0])
    results = await asyncio.gather(*(client.send_message(m) for m in messages))
    assert results == [None] * len(messages)
    pending: "asyncio.Future[None]" = client.send_message(b"future")
    await pending
    await client.disconnect()
    await client.shutdown()


def module_clients(conn_str: str) -> None:
    module_conn_str = conn_str + ";ModuleId=example-module"
    sync_module = iotsec.IoTHubModuleClient.create_from_connection_string(module_conn_str)
    async_module = iotsec.aio.IoTHubModuleClient.create_from_connection_string(module_conn_str)
    assert sync_module.module_id == async_module.module_id == "example-module"
    sync_module.send_message("from a module")
    sync_module.shutdown()
    asyncio.run(async_module.shutdown())


def main() -> int:
    conn_str = os.environ.get("IOTSEC_CONNECTION_STRING")
    if not conn_str:
        print("set IOTSEC_CONNECTION_STRING (and IOTSEC_CA_FILE / IOTSEC_MQTT_PORT for a local broker)")
        return 2
    print(f"iotsec {iotsec.__version__}, {user_agent()}")
    messages = build_messages()
    check_validation()
    check_errors(conn_str)
    blocking(conn_str, messages)
    asyncio.run(asynchronous(conn_str, messages))
    module_clients(conn_str)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
