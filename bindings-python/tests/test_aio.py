"""The asyncio clients: awaiting, gather, tasks, several loops, several threads."""

import asyncio
import threading
from typing import Any, List

import pytest

import iotsec
import iotsec.aio

from conftest import Mosquitto, connection_string, guide_valid_body, unique


def security_message(i: int = 0) -> iotsec.Message:
    m = iotsec.Message(guide_valid_body(), message_id=f"m-{i}")
    m.set_as_security_message()
    return m


def test_connect_send_disconnect_reconnect(mosquitto: Mosquitto) -> None:
    device = unique("aio")

    async def main() -> None:
        c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
        assert not c.connected
        await c.connect()
        assert c.connected and c.connection_state == "connected"
        await c.connect()  # connecting a connected client does nothing
        await c.send_message(security_message(1))
        await c.disconnect()
        assert not c.connected
        await c.send_message(security_message(2))  # connects again
        assert c.connected
        await c.shutdown()

    asyncio.run(main())
    topics = [r["topic"] for r in mosquitto.for_device(device, count=2)]
    assert [t.split("%24.mid=")[1].split("&")[0] for t in topics] == ["m-1", "m-2"]


def test_gather_many_without_connecting_first(mosquitto: Mosquitto) -> None:
    device = unique("aio-gather")
    n = 2000

    async def main() -> List[Any]:
        c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
        results = await asyncio.gather(*[c.send_message(security_message(i)) for i in range(n)])
        await c.shutdown()
        return results

    assert asyncio.run(main()) == [None] * n
    records = mosquitto.for_device(device, count=n)
    assert len(records) == n
    # One connection, pipelined: messages arrive in the order they were queued.
    assert [r["topic"].split("%24.mid=m-")[1].split("&")[0] for r in records] == [str(i) for i in range(n)]


def test_sdk_style_coroutine_use(mosquitto: Mosquitto) -> None:
    """Code written for the SDK's coroutine methods keeps working with the returned future."""
    device = unique("aio-compat")

    async def main() -> None:
        c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
        task = asyncio.create_task(c.send_message("via create_task"))
        assert await task is None
        assert asyncio.iscoroutine(c.send_message("iscoroutine"))
        await asyncio.wait_for(c.send_message("via wait_for"), timeout=10)
        # Like a coroutine, it goes to asyncio.wait() wrapped in a task.
        done, _ = await asyncio.wait([asyncio.create_task(c.send_message("via wait"))])
        assert len(done) == 1
        await asyncio.shield(c.send_message("via shield"))
        await c.shutdown()

    asyncio.run(main())
    payloads = {r["payload"] for r in mosquitto.for_device(device, count=5)}
    assert payloads == {b"via create_task", b"iscoroutine", b"via wait_for", b"via wait", b"via shield"}


def test_cancelling_a_send_future_is_harmless(mosquitto: Mosquitto) -> None:
    device = unique("aio-cancel")

    async def main() -> None:
        c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
        f = c.send_message("cancelled while waiting")
        f.cancel()
        with pytest.raises(asyncio.CancelledError):
            await f
        task = asyncio.create_task(c.send_message("task cancelled"))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await c.send_message("after")  # the client is unaffected
        await c.shutdown()

    asyncio.run(main())
    # Cancelling does not unsend: the messages were queued when send_message() was called.
    payloads = {r["payload"] for r in mosquitto.for_device(device, count=3)}
    assert b"after" in payloads


def test_one_client_across_event_loops(mosquitto: Mosquitto) -> None:
    """asyncio.run() twice with the same client (each run has its own loop)."""
    device = unique("aio-loops")
    c = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())

    async def send(text: str) -> None:
        await c.send_message(text)

    asyncio.run(send("first loop"))
    asyncio.run(send("second loop"))
    asyncio.run(c.shutdown())
    assert [r["payload"] for r in mosquitto.for_device(device, count=2)] == [b"first loop", b"second loop"]


def test_event_loops_in_several_threads(mosquitto: Mosquitto) -> None:
    """Each thread runs its own loop and client; one more client is shared by all loops."""
    shared_device = unique("aio-shared")
    shared = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(connection_string(shared_device),
                                                                        **mosquitto.options())
    devices = [unique(f"aio-thread{i}") for i in range(4)]
    errors: List[BaseException] = []

    def worker(device: str) -> None:
        async def main() -> None:
            own = iotsec.aio.IoTHubDeviceClient.create_from_connection_string(connection_string(device),
                                                                             **mosquitto.options())
            await asyncio.gather(*[own.send_message(security_message(i)) for i in range(200)])
            await asyncio.gather(*[shared.send_message(f"{device}:{i}") for i in range(50)])
            await own.shutdown()

        try:
            asyncio.run(main())
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for d in devices:
        assert len(mosquitto.for_device(d, count=200)) == 200
    assert len(mosquitto.for_device(shared_device, count=200)) == 200
    shared._close_now()
