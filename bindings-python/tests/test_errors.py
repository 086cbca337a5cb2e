"""Bad input raises the documented exception, with a message that names what is wrong and never
contains a secret."""

import asyncio
import socket
import threading
from typing import Any, Iterator

import pytest

import iotsec
import iotsec.aio
from iotsec import _native, exceptions
from iotsec.exceptions import (
    ClientClosedError,
    ClientError,
    ConnectionFailedError,
    ConnectionStringError,
    CredentialError,
    InvalidArgumentError,
    InvalidCredentialError,
    IoTSecError,
    MessageTooLargeError,
    QueueFullError,
    SchemaValidationError,
    TlsError,
)

from conftest import TEST_KEY, Mosquitto, connection_string, guide_invalid_body, guide_valid_body, unique

SECRET_KEY = "c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWstISE="


# ---- the exception table --------------------------------------------------------------------


def test_every_core_error_kind_has_a_class_with_its_code() -> None:
    codes = [name for name, _ in _native.ERROR_CODES]
    assert len(codes) == 14
    for code in codes:
        cls = exceptions.exception_class(code)
        assert issubclass(cls, IoTSecError)
        assert cls.code == code, (code, cls)
        error = exceptions._from_native(code, "boom", [], None)
        assert type(error) is cls and error.code == code and str(error) == "boom"


def test_sdk_names_and_bases() -> None:
    assert issubclass(exceptions.ConnectionFailedError, ClientError)
    assert issubclass(exceptions.ConnectionDroppedError, ClientError)
    assert issubclass(exceptions.CredentialError, ClientError)
    assert issubclass(exceptions.NoConnectionError, ClientError)
    assert issubclass(exceptions.OperationTimeout, ClientError)
    assert issubclass(TlsError, ConnectionFailedError)
    assert issubclass(ClientClosedError, ClientError)
    for cls in (SchemaValidationError, ConnectionStringError, InvalidArgumentError, MessageTooLargeError):
        assert issubclass(cls, ValueError)
    assert issubclass(InvalidCredentialError, CredentialError) and issubclass(InvalidCredentialError, ValueError)
    assert issubclass(exceptions.IoError, OSError)


# ---- connection strings and options -----------------------------------------------------------


@pytest.mark.parametrize(
    "conn_str, names",
    [
        ("", "HostName"),
        ("HostName=h;SharedAccessKey=" + SECRET_KEY, "DeviceId"),
        ("DeviceId=d;SharedAccessKey=" + SECRET_KEY, "HostName"),
        ("HostName=h;DeviceId=d", "SharedAccessKey"),
        ("HostName=h;DeviceId=d;SharedAccessKey=not base64 " + SECRET_KEY, "SharedAccessKey"),
        ("this is not a connection string", "Key=Value"),
    ],
)
def test_wrong_connection_string(conn_str: str, names: str) -> None:
    for cls in (iotsec.IoTHubDeviceClient, iotsec.aio.IoTHubDeviceClient):
        with pytest.raises(ConnectionStringError) as caught:
            cls.create_from_connection_string(conn_str)
        error = caught.value
        assert isinstance(error, ValueError)
        assert error.code == "INVALID_CONNECTION_STRING"
        assert names in str(error), str(error)
        assert SECRET_KEY not in str(error) and SECRET_KEY not in repr(error)


def test_device_and_module_connection_strings_are_not_interchangeable() -> None:
    with pytest.raises(ConnectionStringError, match="ModuleId"):
        iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string("d", "m"))
    with pytest.raises(ConnectionStringError, match="ModuleId"):
        iotsec.aio.IoTHubModuleClient.create_from_connection_string(connection_string("d"))


def test_connection_string_must_be_str() -> None:
    with pytest.raises(TypeError, match="connection string must be a str"):
        iotsec.IoTHubDeviceClient.create_from_connection_string(b"HostName=h")  # type: ignore[arg-type]


def test_unknown_and_unsupported_options_are_named() -> None:
    cs = connection_string("d")
    with pytest.raises(TypeError) as caught:
        iotsec.IoTHubDeviceClient.create_from_connection_string(cs, prot=8883, colour="red")
    assert "`prot`" in str(caught.value) and "`colour`" in str(caught.value)
    assert "port" in str(caught.value)  # the supported list helps spot the typo
    with pytest.raises(TypeError, match="websockets"):
        iotsec.aio.IoTHubDeviceClient.create_from_connection_string(cs, websockets=True)


@pytest.mark.parametrize(
    "options, error, needle",
    [
        ({"port": "8883"}, TypeError, "port"),
        ({"port": 70000}, InvalidArgumentError, "port"),
        ({"port": True}, TypeError, "port"),
        ({"keep_alive": "60"}, TypeError, "keep_alive"),
        ({"keep_alive": 5000}, InvalidArgumentError, "keep_alive"),
        ({"validation": "sometimes"}, InvalidArgumentError, "strict"),
        ({"queue_policy": "drop"}, InvalidArgumentError, "queue_policy"),
        ({"max_in_flight": 0}, InvalidArgumentError, "max_in_flight"),
        ({"server_verification_cert": "not a PEM"}, TlsError, "PEM"),
        ({"ca_file": "/nonexistent/ca.pem"}, IoTSecError, "ca.pem"),
    ],
)
def test_bad_option_values(options: Any, error: type, needle: str) -> None:
    with pytest.raises(error) as caught:
        iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string("d"), **options)
    assert needle in str(caught.value), str(caught.value)


# ---- message data -------------------------------------------------------------------------------


def test_message_data_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="Message data must be str, bytes"):
        iotsec.Message({"AgentId": "x"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="message_id must be str"):
        iotsec.Message("{}", message_id=5)  # type: ignore[arg-type]


def test_str_data_that_is_not_unicode() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        iotsec.Message("{\"a\": \"\udcff\"}")
    assert isinstance(caught.value, ValueError)
    assert "UTF-8" in str(caught.value) and "Message data" in str(caught.value)


@pytest.fixture
def client(mosquitto: Mosquitto) -> Iterator[Any]:
    device = unique("errors")
    c = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
    c.device = device
    yield c
    c.shutdown()


def test_non_utf8_security_message(client: Any, mosquitto: Mosquitto) -> None:
    data = b'{"AgentId": "\xff\xfe"}'
    message = iotsec.Message(data)
    message.set_as_security_message()
    with pytest.raises(SchemaValidationError) as caught:
        client.send_message(message)
    (violation,) = caught.value.violations
    assert violation.rule == "utf8" and violation.pointer == ""
    assert violation.position is not None and violation.position.offset == 13
    assert "not UTF-8" in str(caught.value) and "byte 13" in str(caught.value)
    # The same bytes without the security flag are ordinary telemetry and go out as they are.
    client.send_message(iotsec.Message(data))
    (record,) = mosquitto.for_device(client.device)
    assert record["payload"] == data


def test_schema_invalid_security_message_blocking(client: Any, mosquitto: Mosquitto) -> None:
    message = iotsec.Message(guide_invalid_body())
    message.set_as_security_message()
    with pytest.raises(SchemaValidationError) as caught:
        client.send_message(message)
    assert caught.value.violations[0].pointer == "/Events/0/Payload/0/UserId"
    assert "UserId" in str(caught.value)
    assert mosquitto.for_device(client.device, timeout=0.3) == []


def test_schema_invalid_security_message_async(mosquitto: Mosquitto) -> None:
    device = unique("errors-aio")

    async def main() -> None:
        c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
        message = iotsec.Message(guide_invalid_body())
        message.set_as_security_message()
        with pytest.raises(SchemaValidationError) as caught:
            await c.send_message(message)
        assert caught.value.violations[0].pointer == "/Events/0/Payload/0/UserId"
        # asyncio.gather(return_exceptions=True) gets the error as a result, the valid one goes out.
        valid = iotsec.Message(guide_valid_body())
        valid.set_as_security_message()
        results = await asyncio.gather(c.send_message(message), c.send_message(valid), return_exceptions=True)
        assert isinstance(results[0], SchemaValidationError) and results[1] is None
        await c.shutdown()

    asyncio.run(main())
    assert len(mosquitto.for_device(device)) == 1


def test_validation_warn_and_off_send_anyway(mosquitto: Mosquitto) -> None:
    for mode in ("warn", "off"):
        device = unique(f"errors-{mode}")
        c = iotsec.IoTHubDeviceClient.create_from_connection_string(
            connection_string(device), **mosquitto.options(validation=mode)
        )
        message = iotsec.Message(guide_invalid_body())
        message.set_as_security_message()
        c.send_message(message)
        c.shutdown()
        assert len(mosquitto.for_device(device)) == 1


def test_message_too_large(client: Any) -> None:
    with pytest.raises(MessageTooLargeError) as caught:
        client.send_message("a" * (iotsec.MAX_BODY_BYTES + 1))
    assert caught.value.code == "MESSAGE_TOO_LARGE" and isinstance(caught.value, ValueError)
    assert "262" in str(caught.value)


def test_send_message_of_the_wrong_type(client: Any) -> None:
    with pytest.raises(TypeError, match="iotsec.Message, str or bytes"):
        client.send_message(42)


# ---- closed clients --------------------------------------------------------------------------------


def test_closed_blocking_client(mosquitto: Mosquitto) -> None:
    c = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(unique("closed")), **mosquitto.options())
    c.connect()
    assert c.connected
    c.shutdown()
    assert not c.connected and c.connection_state == "closed"
    for call in (lambda: c.send_message("x"), c.connect, c.disconnect):
        with pytest.raises(ClientClosedError) as caught:
            call()
        assert isinstance(caught.value, ClientError) and caught.value.code == "CLOSED"
        assert "closed" in str(caught.value) or "shut down" in str(caught.value)
    c.shutdown()  # a second shutdown does nothing


def test_closed_async_client(mosquitto: Mosquitto) -> None:
    async def main() -> None:
        c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(
            connection_string(unique("closed-aio")), **mosquitto.options()
        )
        await c.connect()
        await c.shutdown()
        with pytest.raises(ClientClosedError):
            await c.send_message("x")
        with pytest.raises(ClientClosedError):
            await c.connect()
        with pytest.raises(ClientClosedError):
            await c.disconnect()
        await c.shutdown()

    asyncio.run(main())


def test_sends_pending_at_close_now_fail_with_closed(mosquitto: Mosquitto) -> None:
    async def main() -> None:
        c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(
            connection_string(unique("close-now")), **mosquitto.options()
        )
        pending = c.send_message("queued before the connection is up")
        c._close_now()
        with pytest.raises(ClientClosedError):
            await pending

    asyncio.run(main())


# ---- connection failures -------------------------------------------------------------------------


def test_untrusted_server_certificate(mosquitto: Mosquitto) -> None:
    c = iotsec.IoTHubDeviceClient.create_from_connection_string(
        connection_string(unique("tls"), key=SECRET_KEY), port=mosquitto.port, ca_file=mosquitto.wrong_ca_file
    )
    with pytest.raises(TlsError) as caught:
        c.connect()
    assert isinstance(caught.value, ConnectionFailedError) and caught.value.code == "TLS"
    assert SECRET_KEY not in str(caught.value)
    c.shutdown()


def test_server_verification_cert_as_pem_text(mosquitto: Mosquitto) -> None:
    with open(mosquitto.ca_file) as f:
        pem = f.read()
    device = unique("pem")
    c = iotsec.IoTHubDeviceClient.create_from_connection_string(
        connection_string(device), port=mosquitto.port, server_verification_cert=pem
    )
    c.send_message("hello")
    c.shutdown()
    assert mosquitto.for_device(device)[0]["payload"] == b"hello"


def test_nothing_listening(mosquitto: Mosquitto) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = iotsec.IoTHubDeviceClient.create_from_connection_string(
        connection_string(unique("refused")), port=port, ca_file=mosquitto.ca_file
    )
    with pytest.raises(ConnectionFailedError) as caught:
        c.connect()
    assert caught.value.code == "CONNECTION_FAILED"
    assert str(port) in str(caught.value) or "refused" in str(caught.value).lower()
    c.shutdown()


def test_connect_timeout_releases_the_gil(mosquitto: Mosquitto) -> None:
    """A server that accepts TCP and never answers: connect() times out, and while it waits
    other Python threads keep running (the GIL is released)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    c = iotsec.IoTHubDeviceClient.create_from_connection_string(
        connection_string(unique("silent")), port=port, ca_file=mosquitto.ca_file, connect_timeout=1.0
    )
    outcome: list = []

    def connect() -> None:
        try:
            c.connect()
        except BaseException as e:  # noqa: BLE001 - recorded for the assertion below
            outcome.append(e)

    t = threading.Thread(target=connect)
    t.start()
    spins = 0
    while t.is_alive():
        spins += 1
    t.join()
    server.close()
    assert len(outcome) == 1 and isinstance(outcome[0], exceptions.OperationTimeout), outcome
    assert outcome[0].code == "TIMEOUT"
    assert spins > 100_000, f"the main thread only ran {spins} iterations while connect() waited"
    c.shutdown()


def test_queue_full_with_fail_fast(mosquitto: Mosquitto) -> None:
    """A broker that accepts TCP and never answers keeps the first message queued."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    async def main() -> None:
        c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(
            connection_string(unique("queue")), port=server.getsockname()[1], ca_file=mosquitto.ca_file,
            queue_capacity=1, queue_policy="fail_fast", connect_timeout=30,
        )
        first = c.send_message("one")  # waits for a connection that never comes: holds the only place
        with pytest.raises(QueueFullError) as caught:
            await c.send_message("two")
        assert caught.value.code == "QUEUE_FULL" and "1" in str(caught.value)
        assert not first.done()
        c._close_now()
        with pytest.raises(ClientClosedError):
            await first

    try:
        asyncio.run(main())
    finally:
        server.close()


def test_async_client_needs_a_running_loop(mosquitto: Mosquitto) -> None:
    c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(connection_string("d"), **mosquitto.options())
    with pytest.raises(RuntimeError, match="event loop"):
        c.send_message("x")
    c._close_now()


def test_secrets_stay_out_of_repr_and_username(mosquitto: Mosquitto) -> None:
    c = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string("d", key=SECRET_KEY))
    assert SECRET_KEY not in repr(c) and SECRET_KEY not in c.mqtt_username
    assert TEST_KEY not in c.mqtt_username
    c.shutdown()
