"""Hostile input through the Python API: None arguments, use after shutdown, text that is not
UTF-8, 10 MB bodies, 100,000 custom properties, deeply nested and self-containing JSON. Each
raises its documented exception quickly; none crashes the interpreter, hangs or overflows the
stack (each test runs in well under a second or two)."""

import asyncio
import time
from typing import Any, Callable, Iterator, List

import pytest

import iotsec
import iotsec.aio
from iotsec import security
from iotsec.exceptions import (
    ClientClosedError,
    ConnectionStringError,
    InvalidArgumentError,
    MessageTooLargeError,
    SchemaValidationError,
)

from conftest import Mosquitto, connection_string, guide_valid_body, unique

TEN_MB = 10 * 1024 * 1024
DEPTH = 100_000


@pytest.fixture
def offline_client() -> Iterator[iotsec.IoTHubDeviceClient]:
    """A client whose broker does not exist (port 1): every failure below must come before
    any connection attempt."""
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(unique("hostile")), port=1)
    yield client
    client.shutdown()


def fast(seconds: float = 2.0) -> Callable[[Callable[[], Any]], Any]:
    """Runs the call and checks it took less than ``seconds``."""

    def run(call: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            return call()
        finally:
            took = time.monotonic() - started
            assert took < seconds, f"took {took:.2f} s"

    return run


def deep_list(depth: int) -> List[Any]:
    value: List[Any] = []
    for _ in range(depth):
        value = [value]
    return value


# ---- None and wrong types ------------------------------------------------------------------


def test_none_arguments_raise_type_errors_naming_the_argument(offline_client: iotsec.IoTHubDeviceClient) -> None:
    for cls in (iotsec.IoTHubDeviceClient, iotsec.aio.IoTHubModuleClient):
        with pytest.raises(TypeError, match="connection string must be a str, not NoneType"):
            cls.create_from_connection_string(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Message data must be str, bytes"):
        iotsec.Message(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="send_message\\(\\) takes an iotsec.Message"):
        offline_client.send_message(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        security.validate(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        security.is_valid(None)  # type: ignore[arg-type]
    m = iotsec.Message("x")
    m.message_id = None  # None clears a property
    assert m.message_id is None
    with pytest.raises(TypeError, match="Message.message_id must be str or None"):
        m.message_id = 5  # type: ignore[assignment]
    m.custom_properties[None] = "v"  # type: ignore[index]
    with pytest.raises(TypeError, match="keys must be str"):
        offline_client.send_message(m)
    m.custom_properties = {"k": None}  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="must be str, int, float or bool"):
        offline_client.send_message(m)
    with pytest.raises(TypeError, match="option `port` must be an int"):
        iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string("d"), port="8883")
    # None as an option value means "the default".
    iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string("d"), port=None).shutdown()


# ---- use after shutdown --------------------------------------------------------------------


def test_everything_after_shutdown_raises_client_closed(mosquitto: Mosquitto) -> None:
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(unique("closed")), **mosquitto.options())
    client.send_message("before")
    client.shutdown()
    client.shutdown()  # a second shutdown does nothing
    for call in (client.connect, lambda: client.send_message("after"), client.disconnect):
        with pytest.raises(ClientClosedError):
            fast()(call)
    assert client.connection_state == "closed"

    async def aio() -> None:
        c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(connection_string(unique("aclosed")), **mosquitto.options())
        await c.shutdown()
        await c.shutdown()
        with pytest.raises(ClientClosedError):
            await c.send_message("after")
        with pytest.raises(ClientClosedError):
            await c.connect()

    asyncio.run(aio())


def test_sends_pending_at_shutdown_complete_with_an_error_not_a_hang(mosquitto: Mosquitto) -> None:
    async def main() -> None:
        c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(connection_string(unique("pend")), **mosquitto.options())
        futures = [c.send_message(f"m{i}") for i in range(2000)]
        c._close_now()
        results = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 10)
        assert all(r is None or isinstance(r, ClientClosedError) for r in results), {type(r) for r in results}

    asyncio.run(main())


# ---- text that is not UTF-8 ---------------------------------------------------------------


def test_lone_surrogates_raise_value_errors_naming_the_field(offline_client: iotsec.IoTHubDeviceClient) -> None:
    with pytest.raises(ConnectionStringError) as caught:
        iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string("d") + "\ud800")
    assert "surrogate" in str(caught.value) and "SharedAccessKey" not in str(caught.value)
    with pytest.raises(InvalidArgumentError, match="Message data"):
        iotsec.Message("\ud800")
    m = iotsec.Message("x")
    with pytest.raises(InvalidArgumentError, match="Message.message_id"):
        m.message_id = "\udfff"
    m.custom_properties["\ud800"] = "v"
    with pytest.raises(InvalidArgumentError, match="custom_properties key"):
        offline_client.send_message(m)
    m.custom_properties = {"k": "\ud800"}
    with pytest.raises(InvalidArgumentError, match="custom_properties value"):
        offline_client.send_message(m)
    with pytest.raises(InvalidArgumentError, match=r'data\["k"\]'):
        security.validate({"k": "\ud800"})
    with pytest.raises(InvalidArgumentError, match="option `validation`"):
        iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string("d"), validation="\ud800")


def test_bodies_that_are_not_utf8_fail_validation_with_the_offset(offline_client: iotsec.IoTHubDeviceClient) -> None:
    body = b'{"AgentId": "\xff\xfe"}'
    [v] = security.validate(body)
    assert v.rule == "utf8" and v.position is not None and v.position.offset == 13
    m = iotsec.Message(body)
    m.set_as_security_message()
    with pytest.raises(SchemaValidationError) as caught:
        offline_client.send_message(m)
    assert caught.value.violations[0].rule == "utf8"


# ---- sizes ----------------------------------------------------------------------------------


def test_ten_megabyte_bodies_are_too_large_at_once(offline_client: iotsec.IoTHubDeviceClient) -> None:
    for data in (b"[" * TEN_MB, "x" * TEN_MB, bytearray(TEN_MB), memoryview(b"{" * TEN_MB)):
        m = iotsec.Message(data)
        m.set_as_security_message()  # too large is reported before (instead of) schema errors
        with pytest.raises(MessageTooLargeError, match="262144"):
            fast()(lambda: offline_client.send_message(m))
        assert m.get_size() == TEN_MB
    with pytest.raises(MessageTooLargeError):
        fast()(lambda: offline_client.send_message(b"\x00" * TEN_MB))
    violations = fast(5)(lambda: security.validate(b'{"AgentId":"' + b"x" * TEN_MB + b'"}'))
    assert violations


def test_a_hundred_thousand_custom_properties_are_too_large_quickly(offline_client: iotsec.IoTHubDeviceClient) -> None:
    m = iotsec.Message("{}")
    for i in range(100_000):
        m.custom_properties[f"property-{i}"] = i
    with pytest.raises(MessageTooLargeError, match="65535"):
        fast()(lambda: offline_client.send_message(m))

    async def aio() -> None:
        c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(connection_string(unique("props")), port=1)
        with pytest.raises(MessageTooLargeError):
            await fast()(lambda: c.send_message(m))
        await c.shutdown()

    asyncio.run(aio())


def test_many_properties_that_fit_are_sent_intact(mosquitto: Mosquitto) -> None:
    device = unique("manyprops")
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
    m = iotsec.Message(guide_valid_body(), message_id="mp-1")
    m.set_as_security_message()
    for i in range(5_000):
        m.custom_properties[f"p{i}"] = "v"
    fast(5)(lambda: client.send_message(m))
    client.shutdown()
    [record] = mosquitto.for_device(device)
    assert record["topic"].count("&") == 5_000 + 1  # $.mid, $.ifid, then 5,000 properties
    assert record["topic"].endswith("&p4999=v")


# ---- deep nesting -----------------------------------------------------------------------------


def test_deeply_nested_json_bodies_give_one_json_violation(offline_client: iotsec.IoTHubDeviceClient) -> None:
    for body in (b"[" * DEPTH + b"]" * DEPTH, b'{"a":' * DEPTH + b"}" * DEPTH, "[" * DEPTH):
        [v] = fast()(lambda: security.validate(body))
        assert v.rule == "json" and "recursion limit" in v.message
        assert not security.is_valid(body)
        with pytest.raises(SchemaValidationError):
            security.check(body)
    # As a security message (kept under the 256 KiB body limit: 100,000 levels of `[`).
    for body in (b"[" * DEPTH, b'{"a":' * 40_000 + b"}" * 40_000):
        m = iotsec.Message(body)
        m.set_as_security_message()
        with pytest.raises(SchemaValidationError) as caught:
            fast()(lambda: offline_client.send_message(m))
        assert caught.value.violations[0].rule == "json"


def test_deeply_nested_and_self_containing_values_are_refused_not_a_crash() -> None:
    deep = deep_list(DEPTH)
    with pytest.raises(InvalidArgumentError, match="nested more than 128 levels"):
        fast()(lambda: security.validate(deep))
    with pytest.raises(InvalidArgumentError, match="nested more than 128 levels"):
        fast()(lambda: security.is_valid({"Events": deep}))
    looped: List[Any] = []
    looped.append(looped)
    with pytest.raises(InvalidArgumentError, match="contains itself"):
        fast()(lambda: security.validate(looped))
    cyclic: dict = {}  # type: ignore[type-arg]
    cyclic["a"] = cyclic
    with pytest.raises(InvalidArgumentError):
        fast()(lambda: security.validate(cyclic))
    # Long keys at every level: the error path is short and built once.
    nested: Any = None
    for _ in range(200):
        nested = {"k" * 100_000: nested}
    with pytest.raises(InvalidArgumentError) as caught:
        fast()(lambda: security.validate(nested))
    assert len(str(caught.value)) < 10_000
    # 128 levels are fine (and simply invalid as a security message).
    assert security.validate(deep_list(120))


def test_deeply_nested_records_in_the_builder_are_refused() -> None:
    event = security.Event(security.ListeningPorts(local_port="22", protocol="TCP"))
    event.records.append({"Protocol": deep_list(DEPTH)})  # type: ignore[arg-type]
    msg = security.SecurityMessage("e89dc5f5-feac-4c3e-87e2-93c16f010c25", "1.0").add(event)
    with pytest.raises(InvalidArgumentError, match="nested more than 128 levels"):
        fast()(msg.to_message)
