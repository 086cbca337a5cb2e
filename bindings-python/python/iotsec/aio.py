"""The asyncio clients: ``iotsec.aio.IoTHubDeviceClient`` and ``iotsec.aio.IoTHubModuleClient``.

They run on iotsec's own threads (one shared runtime for every client); the event loop only
queues messages and is woken once per batch of acknowledgements, so ``asyncio.gather`` over
thousands of sends costs little more than the sends themselves.
"""

import asyncio
from typing import Union

from ._clients import _ClientBase
from ._native import Message

__all__ = ["IoTHubDeviceClient", "IoTHubModuleClient"]


class _AsyncClient(_ClientBase):
    async def connect(self) -> None:
        """Connects (TLS, MQTT CONNECT, CONNACK). Connecting a connected client does nothing.
        Raises ``ConnectionFailedError``, ``TlsError``, ``CredentialError`` or ``OperationTimeout``."""
        await self._connect_async()

    def send_message(self, message: Union[Message, str, bytes, bytearray]) -> "asyncio.Future[None]":
        """Sends ``message``; await the result to wait for the broker's acknowledgement (PUBACK).

        Unlike the official SDK's coroutine, the message is validated and queued as soon as this
        is called, and the awaitable returned is an ``asyncio.Future`` (which also works where a
        coroutine is expected, e.g. ``asyncio.create_task``). Errors, including
        ``SchemaValidationError`` for an invalid security message in strict mode, are raised
        when it is awaited. Cancelling the future does not unsend the message.
        """
        return self._send_async(message)

    async def disconnect(self) -> None:
        """Waits for outstanding sends (up to ``send_timeout``), then disconnects. A later
        ``connect()`` or send connects again."""
        await self._disconnect_async()

    async def shutdown(self) -> None:
        """Disconnects and closes the client for good: later calls raise
        ``ClientClosedError`` (a ``ClientError``). Calling it again does nothing."""
        await self._shutdown_async()


class IoTHubDeviceClient(_AsyncClient):
    """An asyncio device client (azure-iot-device's ``aio.IoTHubDeviceClient``)."""

    _KIND = "device"


class IoTHubModuleClient(_AsyncClient):
    """An asyncio module client (azure-iot-device's ``aio.IoTHubModuleClient``); its
    connection string must have a ``ModuleId``."""

    _KIND = "module"
