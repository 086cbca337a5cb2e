"""What the blocking and the asyncio clients share (internal)."""

import threading
from typing import Any, Callable, ClassVar, Optional, Type, TypeVar

from . import _events, _native
from ._events import ConnectionEvent

_C = TypeVar("_C", bound="_ClientBase")
_HANDLERS_LOCK = threading.Lock()


class _ClientBase(_native.Client):
    _KIND: ClassVar[str] = "any"
    _on_state_change: Optional[Callable[[], Any]] = None
    _on_event: Optional[Callable[[ConnectionEvent], Any]] = None
    _events_thread: Optional[threading.Thread] = None

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
        - ``durable_queue`` (str or path): a file (created when missing) that keeps every
          accepted message until the broker acknowledges it, so messages survive a crash and are
          re-sent by the next client that opens the same file. Default: memory only.
        - ``reconnect_initial`` (seconds, default 1), ``reconnect_max`` (seconds, default 30),
          ``reconnect_jitter`` (fraction 0 to 1, default 0.1): reconnect back-off after a lost
          connection; the delay doubles from the first to the largest, each moved at random.
        - ``message_ids`` (``"never"`` (default) or ``"when_unset"``): with ``"when_unset"`` a
          message sent without a ``message_id`` gets a new UUID as its id, so the receiver can
          drop the duplicates of at-least-once delivery.

        Values are read by iotsec's core, the same in every language: a bad value raises
        :class:`~iotsec.exceptions.InvalidArgumentError` naming the option and what it
        accepts; a value of the wrong Python type raises ``TypeError``. Unknown options raise
        ``TypeError`` naming them; a malformed connection string raises
        :class:`~iotsec.exceptions.ConnectionStringError` naming the key at fault.
        """
        return cls(connection_string, cls._KIND, options)

    # ---- connection events --------------------------------------------------------------

    @property
    def on_connection_state_change(self) -> Optional[Callable[[], Any]]:
        """Handler called with no arguments whenever the client connects, loses its connection
        (iotsec then reconnects by itself) or is disconnected (azure-iot-device's handler);
        read ``connected`` or ``connection_state`` inside it. It runs on iotsec's connection
        event thread, one call at a time, in order; a coroutine function is run to completion
        there. What it raises is logged (logger ``iotsec``). ``None`` removes it."""
        return self._on_state_change

    @on_connection_state_change.setter
    def on_connection_state_change(self, handler: Optional[Callable[[], Any]]) -> None:
        self._set_handler("_on_state_change", handler)

    @property
    def on_connection_event(self) -> Optional[Callable[[ConnectionEvent], Any]]:
        """Handler called with a :class:`~iotsec.ConnectionEvent` for every change of the
        connection (iotsec extension): connecting, connected, each reconnect attempt with its
        number and the error that caused it, disconnected, closed; with the reason and status
        the official SDKs' callbacks report. Same thread and rules as
        ``on_connection_state_change``."""
        return self._on_event

    @on_connection_event.setter
    def on_connection_event(self, handler: Optional[Callable[[ConnectionEvent], Any]]) -> None:
        self._set_handler("_on_event", handler)

    def _set_handler(self, name: str, handler: Optional[Callable[..., Any]]) -> None:
        if handler is not None and not callable(handler):
            raise TypeError(f"a connection handler must be callable or None, not {type(handler).__name__}")
        with _HANDLERS_LOCK:
            setattr(self, name, handler)
            if handler is not None and self._events_thread is None and self.connection_state != "closed":
                self._events_thread = _events.start(self)

    def _deliver(self, event: ConnectionEvent) -> None:
        on_change, on_event = self._on_state_change, self._on_event
        if event.status is not None and on_change is not None:
            _events._call(on_change)
        if on_event is not None:
            _events._call(on_event, event)

    def __repr__(self) -> str:
        who = self.device_id if self.module_id is None else f"{self.device_id}/{self.module_id}"
        return f"<{type(self).__module__}.{type(self).__qualname__} {who} {self.connection_state}>"
