"""The blocking clients from several threads, and the process surviving fork()."""

import os
import sys
import threading
from typing import List

import pytest

import iotsec

from conftest import Mosquitto, connection_string, guide_valid_body, unique


def test_one_blocking_client_shared_by_threads(mosquitto: Mosquitto) -> None:
    device = unique("threads")
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
    threads_n, per_thread = 8, 50
    errors: List[BaseException] = []

    def worker(t: int) -> None:
        try:
            for i in range(per_thread):
                m = iotsec.Message(guide_valid_body(), message_id=f"t{t}-{i}")
                m.set_as_security_message()
                client.send_message(m)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.shutdown()
    assert errors == []
    records = mosquitto.for_device(device, count=threads_n * per_thread)
    ids = sorted(r["topic"].split("%24.mid=")[1].split("&")[0] for r in records)
    assert ids == sorted(f"t{t}-{i}" for t in range(threads_n) for i in range(per_thread))


def test_one_client_per_thread(mosquitto: Mosquitto) -> None:
    devices = [unique(f"thread{i}") for i in range(6)]
    errors: List[BaseException] = []

    def worker(device: str) -> None:
        try:
            c = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
            c.connect()
            for i in range(20):
                c.send_message(f"{device} {i}")
            c.disconnect()
            c.shutdown()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for d in devices:
        assert [r["payload"] for r in mosquitto.for_device(d, count=20)] == [f"{d} {i}".encode() for i in range(20)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
# Python 3.12+ warns about fork() in a process with threads (iotsec's runtime threads): surviving
# exactly that is what this test checks.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_fork_child_sends_with_a_new_client(mosquitto: Mosquitto) -> None:
    parent_device = unique("fork-parent")
    child_device = unique("fork-child")
    parent = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(parent_device),
                                                                    **mosquitto.options())
    parent.send_message("parent before fork")
    pid = os.fork()
    if pid == 0:  # the child: iotsec's runtime is rebuilt on first use
        code = 1
        try:
            child = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(child_device),
                                                                           **mosquitto.options())
            child.send_message("child after fork")
            child.shutdown()
            code = 0
        except BaseException as e:  # noqa: BLE001
            sys.stderr.write(f"child failed: {e!r}\n")
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    parent.send_message("parent after fork")
    parent.shutdown()
    assert [r["payload"] for r in mosquitto.for_device(child_device)] == [b"child after fork"]
    assert [r["payload"] for r in mosquitto.for_device(parent_device, count=2)] == [
        b"parent before fork",
        b"parent after fork",
    ]
