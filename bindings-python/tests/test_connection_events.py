"""Connection events: ``on_connection_state_change`` (azure-iot-device's handler) and
``on_connection_event`` (every change, with reason, attempt and error), against a real local
hub that the test kills by its PID and starts again on the same port."""

import asyncio
import pathlib
import threading
import time
from typing import Callable, List

import pytest

import iotsec
import iotsec.aio
from iotsec import ConnectionEvent
from iotsec.exceptions import ClientClosedError, ConnectionDroppedError, CredentialError, TlsError

from conftest import Hub, Mosquitto, connection_string, unique
from hubproc import PrivateHub


class Recorder:
    """Collects events (any thread) and waits for one that matches."""

    def __init__(self) -> None:
        self.events: List[ConnectionEvent] = []
        self.state_changes: List[bool] = []
        self.threads: List[str] = []
        self.cond = threading.Condition()
        self.last = -1

    def on_event(self, event: ConnectionEvent) -> None:
        with self.cond:
            self.events.append(event)
            self.threads.append(threading.current_thread().name)
            self.cond.notify_all()

    def wait(self, predicate: Callable[[ConnectionEvent], bool], timeout: float = 15.0, after: int = -1) -> ConnectionEvent:
        """The first event after position ``after`` that matches; its position is ``self.last``."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, e in enumerate(self.events):
                    if i > after and predicate(e):
                        self.last = i
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching event within {timeout} s; got {self.events}")
                self.cond.wait(left)

    def states(self) -> List[str]:
        with self.cond:
            return [e.state for e in self.events]


def test_hub_killed_and_restarted_gives_events_in_order_and_the_outage_send_completes(tmp_path: pathlib.Path) -> None:
    hub = PrivateHub(tmp_path).start()
    try:
        device = unique("py-events")
        client = iotsec.IoTHubDeviceClient.create_from_connection_string(hub.add_device(device), **hub.options())
        rec = Recorder()
        calls: List[bool] = []
        client.on_connection_state_change = lambda: calls.append(client.connected)
        client.on_connection_event = rec.on_event
        client.connect()
        connected = rec.wait(lambda e: e.state == "connected")
        assert (connected.reason, connected.status, connected.attempt, connected.error) == ("CONNECTION_OK", "CONNECTED", None, None)
        assert rec.states()[:2] == ["connecting", "connected"]

        hub.kill()
        lost = rec.wait(lambda e: e.state == "reconnecting")
        lost_at = rec.last
        assert lost.attempt == 1
        assert lost.reason == "NO_NETWORK" and lost.status == "DISCONNECTED_RETRYING"
        assert isinstance(lost.error, ConnectionDroppedError) and lost.error.code == "CONNECTION_LOST"
        assert client.connection_state == "reconnecting" and not client.connected

        # A send made during the outage waits for the reconnect, then completes.
        outcome: List[BaseException] = []
        done = threading.Event()

        def send() -> None:
            try:
                m = iotsec.Message('{"during": "outage"}', message_id="outage-1")
                client.send_message(m)
            except BaseException as e:  # noqa: BLE001
                outcome.append(e)
            done.set()

        threading.Thread(target=send, daemon=True).start()
        assert not done.wait(0.3), "the send must wait while the hub is down"
        hub.start()  # same port, same data
        back = rec.wait(lambda e: e.state == "connected", after=lost_at)
        assert back.status == "CONNECTED"
        assert done.wait(15), "the outage send completed after the reconnect"
        assert outcome == []
        stored = hub.store("telemetry.jsonl", device)
        assert [r["message_id"] for r in stored] == ["outage-1"]

        client.shutdown()
        rec.wait(lambda e: e.state == "closed")
        # Every change in order, each reconnect attempt numbered 1, 2, ...
        states = rec.states()
        assert states[0:3] == ["connecting", "connected", "reconnecting"]
        assert states[-3:] == ["connected", "disconnected", "closed"]
        attempts = [e.attempt for e in rec.events if e.state == "reconnecting"]
        assert attempts == list(range(1, len(attempts) + 1))
        # The SDK handler: once per status change (connected, lost, connected, disconnected).
        assert calls == [True, False, True, False]
        assert set(rec.threads) == {"iotsec-connection-events"}
    finally:
        hub.stop()


def test_asyncio_client_with_coroutine_handlers_sees_token_renewal(hub: Hub) -> None:
    """A 5 s SAS token is renewed about 2 s before it expires: a planned reconnect
    (EXPIRED_SAS_TOKEN, attempt 0); the hub checks every new token's signature."""
    device = unique("py-renew")
    rec = Recorder()
    called = threading.Event()

    async def on_change() -> None:
        await asyncio.sleep(0)
        called.set()

    async def on_event(event: ConnectionEvent) -> None:
        rec.on_event(event)

    async def main() -> None:
        client = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(
            hub.add_device(device), port=hub.port, ca_file=hub.ca_file, sastoken_ttl=5
        )
        client.on_connection_state_change = on_change
        client.on_connection_event = on_event
        await client.connect()
        deadline = time.monotonic() + 8
        sent = 0
        while time.monotonic() < deadline and not any(e.reason == "EXPIRED_SAS_TOKEN" for e in rec.events):
            await client.send_message(iotsec.Message("tick", message_id=f"r-{sent}"))
            sent += 1
            await asyncio.sleep(0.1)
        renewal = rec.wait(lambda e: e.reason == "EXPIRED_SAS_TOKEN", timeout=1)
        assert (renewal.state, renewal.attempt, renewal.status) == ("reconnecting", 0, "DISCONNECTED_RETRYING")
        after = rec.wait(lambda e: e.state == "connected", timeout=10, after=rec.last)
        assert after.reason == "CONNECTION_OK"
        await client.send_message(iotsec.Message("after renewal", message_id="r-after"))
        await client.shutdown()
        assert len(hub.wait_for("telemetry.jsonl", device, count=sent + 1)) == sent + 1

    asyncio.run(main())
    assert called.is_set()


def test_first_connect_failures_are_reported_with_reason_and_error(mosquitto: Mosquitto, hub: Hub) -> None:
    rec = Recorder()
    tls = iotsec.IoTHubDeviceClient.create_from_connection_string(
        connection_string(unique("py-ev-tls")), port=mosquitto.port, ca_file=mosquitto.wrong_ca_file
    )
    tls.on_connection_event = rec.on_event
    with pytest.raises(TlsError):
        tls.connect()
    failed = rec.wait(lambda e: e.state == "disconnected")
    assert (failed.reason, failed.status) == ("COMMUNICATION_ERROR", "DISCONNECTED")
    assert isinstance(failed.error, TlsError)
    tls.shutdown()

    rec2 = Recorder()
    wrong_key = connection_string(unique("py-ev-cred"))  # not registered with the hub
    refused = iotsec.IoTHubDeviceClient.create_from_connection_string(wrong_key, port=hub.port, ca_file=hub.ca_file)
    refused.on_connection_event = rec2.on_event
    with pytest.raises(CredentialError):
        refused.connect()
    failed = rec2.wait(lambda e: e.state == "disconnected")
    assert failed.reason == "BAD_CREDENTIAL" and isinstance(failed.error, CredentialError)
    assert failed.error.connack_code == 5
    refused.shutdown()


def test_handlers_are_checked_and_a_raising_handler_does_not_stop_events(
    mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(unique("py-ev-raise")), **mosquitto.options())
    with pytest.raises(TypeError, match="callable"):
        client.on_connection_state_change = "not a function"  # type: ignore[assignment]
    assert client.on_connection_state_change is None
    rec = Recorder()

    def boom() -> None:
        raise RuntimeError("handler failure")

    client.on_connection_state_change = boom
    client.on_connection_event = rec.on_event
    assert client.on_connection_state_change is boom
    with caplog.at_level("ERROR", logger="iotsec"):
        client.connect()
        rec.wait(lambda e: e.state == "connected")
        client.send_message("still works")
        client.on_connection_state_change = None
        client.shutdown()
        rec.wait(lambda e: e.state == "closed")
    assert any("handler raised" in r.getMessage() for r in caplog.records)
    # A closed client accepts handlers but has nothing more to report.
    client.on_connection_event = rec.on_event
    with pytest.raises(ClientClosedError):
        client.connect()


def test_clients_without_handlers_start_no_thread_and_are_collected(mosquitto: Mosquitto) -> None:
    import gc
    import weakref

    before = {t.name for t in threading.enumerate()}
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(unique("py-ev-gc")), **mosquitto.options())
    client.connect()
    assert "iotsec-connection-events" not in {t.name for t in threading.enumerate()} - before
    client.on_connection_event = lambda e: None
    thread = client._events_thread
    assert thread is not None and thread.is_alive()
    ref = weakref.ref(client)
    del client
    gc.collect()
    # The handler thread holds the client weakly: the client is collected, its connection
    # closed, and the thread ends.
    assert ref() is None
    thread.join(10)
    assert not thread.is_alive()
