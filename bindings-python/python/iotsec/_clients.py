"""What the blocking and the asyncio clients share (internal)."""

from typing import Any, ClassVar, Type, TypeVar

from . import _native

_C = TypeVar("_C", bound="_ClientBase")


class _ClientBase(_native.Client):
    _KIND: ClassVar[str] = "any"

    @classmethod
    def create_from_connection_string(cls: Type[_C], connection_string: str, **options: Any) -> _C:
        """Creates a client from an IoT Hub connection string
        (``HostName=...;DeviceId=...;SharedAccessKey=...``). Nothing is sent until
        ``connect()`` or the first ``send_message()``.

        Options (all keyword, all optional):

        - ``server_verification_cert`` (str): PEM text of the CA certificate(s) to trust instead
          of the system roots, as in azure-iot-device.
        - ``ca_file`` (str or path): a PEM file to trust (else ``IOTSEC_CA_FILE``, else system roots).
        - ``port`` (int): MQTT port (else ``IOTSEC_MQTT_PORT``, else 8883).
        - ``keep_alive`` (seconds, default 60; at most 1,767).
        - ``validation`` (``"strict"`` (default), ``"warn"`` or ``"off"``): schema validation of
          security messages before sending; strict refuses invalid ones with
          :class:`~iotsec.exceptions.SchemaValidationError`.
        - ``sastoken_ttl`` (seconds, default 3,600): lifetime of each SAS token; renewed before expiry.
        - ``send_timeout`` (seconds, default 60): how long a send waits for its PUBACK.
        - ``connect_timeout`` (seconds, default 30).
        - ``max_in_flight`` (int, default 100): messages on the wire awaiting PUBACK.
        - ``queue_capacity`` (int, default 10,000): messages accepted and not yet acknowledged.
        - ``queue_policy`` (``"block"`` (default) or ``"fail_fast"``): what a send does when that
          queue is full: wait for room (in the asyncio clients, blocking the event loop meanwhile),
          or raise :class:`~iotsec.exceptions.QueueFullError`.
        - ``x509_cert_file``, ``x509_key_file``: client certificate and key for ``x509=true``.

        Unknown options raise ``TypeError`` naming them; a malformed connection string raises
        :class:`~iotsec.exceptions.ConnectionStringError` naming the key at fault.
        """
        return cls(connection_string, cls._KIND, options)

    def __repr__(self) -> str:
        who = self.device_id if self.module_id is None else f"{self.device_id}/{self.module_id}"
        return f"<{type(self).__module__}.{type(self).__qualname__} {who} {self.connection_state}>"
