"""The blocking clients: ``iotsec.IoTHubDeviceClient`` and ``iotsec.IoTHubModuleClient``.

Every method blocks the calling thread with the GIL released, so other Python threads run
meanwhile; one client may be used from several threads at once (sends are pipelined over its
one connection).
"""

from typing import Union

from ._clients import _ClientBase
from ._native import Message

__all__ = ["IoTHubDeviceClient", "IoTHubModuleClient"]


class _BlockingClient(_ClientBase):
    def connect(self) -> None:
        """Connects (TLS, MQTT CONNECT, CONNACK); returns when connected. Connecting a connected
        client does nothing. Raises ``ConnectionFailedError``, ``TlsError``, ``CredentialError``
        or ``OperationTimeout``."""
        self._connect_blocking()

    def send_message(self, message: Union[Message, str, bytes, bytearray]) -> None:
        """Sends ``message`` and returns when the broker acknowledged it (PUBACK).

        A ``str`` or ``bytes`` is sent as a plain message, as the official SDK does. A message
        flagged with ``set_as_security_message()`` is validated first; in strict mode an invalid
        one raises ``SchemaValidationError`` and is not sent. Connects first if needed.
        """
        self._send_blocking(message)

    def disconnect(self) -> None:
        """Waits for outstanding sends (up to ``send_timeout``), then disconnects. A later
        ``connect()`` or send connects again."""
        self._disconnect_blocking()

    def shutdown(self) -> None:
        """Disconnects and closes the client for good: later calls raise
        ``ClientClosedError`` (a ``ClientError``). Calling it again does nothing."""
        self._shutdown_blocking()


class IoTHubDeviceClient(_BlockingClient):
    """A blocking device client (azure-iot-device's ``IoTHubDeviceClient``)."""

    _KIND = "device"


class IoTHubModuleClient(_BlockingClient):
    """A blocking module client (azure-iot-device's ``IoTHubModuleClient``); its connection
    string must have a ``ModuleId``."""

    _KIND = "module"
