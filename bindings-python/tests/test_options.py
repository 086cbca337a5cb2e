"""Client options read by core (`ClientOptions::set_by_name`), over TLS to mosquitto on
127.0.0.1: message_ids, durable_queue and the reconnect back-off, and the errors of bad values."""

import pathlib
import re
from typing import Any

import pytest

import iotsec
from iotsec.exceptions import InvalidArgumentError

from conftest import Mosquitto, connection_string, unique

MID = re.compile(r"%24\.mid=([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})(&|$)")


def test_message_ids_when_unset_gives_a_message_without_an_id_a_mid(mosquitto: Mosquitto) -> None:
    device = unique("py-mid")
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(
        connection_string(device), message_ids="when_unset", **mosquitto.options()
    )
    try:
        client.send_message("no id of its own")
        client.send_message(iotsec.Message("an id of its own", message_id="mine-1"))
    finally:
        client.shutdown()
    records = mosquitto.for_device(device, count=2)
    topics = sorted(str(r["topic"]) for r in records)
    assert len(topics) == 2, topics
    assert any(t == f"devices/{device}/messages/events/%24.mid=mine-1" for t in topics), topics
    generated = [t for t in topics if MID.search(t)]
    assert len(generated) == 1, topics


def test_by_default_a_message_without_an_id_has_no_mid(mosquitto: Mosquitto) -> None:
    device = unique("py-nomid")
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string(device), **mosquitto.options())
    try:
        client.send_message("no id")
    finally:
        client.shutdown()
    (record,) = mosquitto.for_device(device)
    assert record["topic"] == f"devices/{device}/messages/events/"


def test_durable_queue_file_is_used(mosquitto: Mosquitto, tmp_path: pathlib.Path) -> None:
    device = unique("py-durable")
    queue = tmp_path / "queue.redb"
    client = iotsec.IoTHubDeviceClient.create_from_connection_string(
        connection_string(device),
        durable_queue=queue,  # os.PathLike, like ca_file
        reconnect_initial=0.2,
        reconnect_max=2,
        reconnect_jitter=0.2,
        **mosquitto.options(),
    )
    try:
        client.send_message("kept until acknowledged")
    finally:
        client.shutdown()
    assert queue.exists()
    (record,) = mosquitto.for_device(device)
    assert record["payload"] == b"kept until acknowledged"


@pytest.mark.parametrize(
    "options, needles",
    [
        ({"message_ids": "always"}, ["option `message_ids`", "`when_unset`"]),
        ({"reconnect_jitter": 1.5}, ["option `reconnect_jitter`", "0 to 1"]),
        ({"reconnect_initial": -1}, ["option `reconnect_initial`", "seconds"]),
        ({"reconnect_max": float("inf")}, ["option `reconnect_max`"]),
        ({"sastoken_ttl": -5}, ["option `sastoken_ttl`", "seconds"]),
        ({"send_timeout": float("nan")}, ["option `send_timeout`"]),
        ({"port": -1}, ["option `port`", "1 to 65535"]),
        ({"durable_queue": ""}, []),  # empty: no durable queue (the default)
    ],
)
def test_bad_values_raise_invalid_argument_naming_the_option(options: Any, needles: Any) -> None:
    if not needles:
        iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string("d"), **options).shutdown()
        return
    with pytest.raises(InvalidArgumentError) as caught:
        iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string("d"), **options)
    assert isinstance(caught.value, ValueError)
    for needle in needles:
        assert needle in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    "options, needle",
    [
        ({"message_ids": True}, "option `message_ids` must be str"),
        ({"reconnect_max": "30"}, "option `reconnect_max` must be a number"),
        ({"durable_queue": 5}, "option `durable_queue` must be a str or os.PathLike"),
        ({"reconnect_jitter": False}, "option `reconnect_jitter` must be a number"),
    ],
)
def test_values_of_the_wrong_type_raise_type_error(options: Any, needle: str) -> None:
    with pytest.raises(TypeError, match=re.escape(needle)):
        iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string("d"), **options)


def test_connection_retry_interval_points_to_the_reconnect_options() -> None:
    with pytest.raises(TypeError, match="reconnect_initial"):
        iotsec.IoTHubDeviceClient.create_from_connection_string(connection_string("d"), connection_retry_interval=5)
