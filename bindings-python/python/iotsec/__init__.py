"""iotsec: build, validate and send Azure IoT security messages (Defender for IoT) over MQTT.

The API mirrors azure-iot-device 2.x, so code written for it runs with its imports changed::

    from iotsec.aio import IoTHubDeviceClient, IoTHubModuleClient
    from iotsec import Message

``iotsec.IoTHubDeviceClient`` / ``IoTHubModuleClient`` are the blocking clients,
``iotsec.aio`` has the asyncio ones, ``iotsec.security`` the typed event builders and the schema
validator, ``iotsec.exceptions`` the exceptions.
"""

import os
from typing import Union

from . import exceptions, security
from ._events import ConnectionEvent
from ._native import MAX_BODY_BYTES, SECURITY_INTERFACE_ID, Message, _after_fork_in_child, user_agent, version
from .sync_clients import IoTHubDeviceClient, IoTHubModuleClient

__version__: str = version()

if hasattr(os, "register_at_fork"):
    # A forked child must not share the parent's event-loop wake-up sockets.
    os.register_at_fork(after_in_child=_after_fork_in_child)

#: What ``send_message()`` accepts.
MessageLike = Union[Message, str, bytes, bytearray]

__all__ = [
    "ConnectionEvent",
    "IoTHubDeviceClient",
    "IoTHubModuleClient",
    "Message",
    "MessageLike",
    "MAX_BODY_BYTES",
    "SECURITY_INTERFACE_ID",
    "exceptions",
    "security",
    "user_agent",
    "__version__",
]
