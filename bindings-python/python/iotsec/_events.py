"""Connection events: the handler thread behind ``on_connection_state_change`` and
``on_connection_event`` (internal, except :class:`ConnectionEvent`)."""

import asyncio
import inspect
import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional

from .exceptions import IoTSecError

if TYPE_CHECKING:
    from . import _native
    from ._clients import _ClientBase

_LOG = logging.getLogger("iotsec")


class ConnectionEvent(NamedTuple):
    """One change of a client's connection, as ``on_connection_event`` handlers receive it.

    - ``state``: ``"connecting"``, ``"connected"``, ``"reconnecting"``, ``"disconnected"`` or
      ``"closed"`` (the client's ``connection_state`` after the change);
    - ``reason``: why, in the terms of the official SDKs' status callbacks:
      ``"CONNECTION_OK"``, ``"EXPIRED_SAS_TOKEN"`` (a planned reconnect with a new SAS token),
      ``"BAD_CREDENTIAL"``, ``"NO_NETWORK"``, ``"COMMUNICATION_ERROR"`` or ``"CLIENT_CLOSE"``;
    - ``status``: ``"CONNECTED"``, ``"DISCONNECTED_RETRYING"``, ``"DISCONNECTED"``, or ``None``
      for a change that does not change it (connecting, a further failed reconnect attempt);
      ``on_connection_state_change`` handlers are called exactly for changes with a status;
    - ``attempt``: the reconnect attempt for ``"reconnecting"`` (0 for a planned reconnect);
    - ``error``: the :class:`~iotsec.exceptions.IoTSecError` that caused the change, if any.
    """

    state: str
    reason: str
    status: Optional[str]
    attempt: Optional[int]
    error: Optional[IoTSecError]


Handler = Callable[..., Any]


def _call(handler: Handler, *args: Any) -> None:
    """Calls a user handler; a coroutine it returns is run to completion on this thread's own
    event loop. Whatever it raises is logged, never propagated."""
    try:
        result = handler(*args)
        if inspect.isawaitable(result):
            loop = _thread_loop()
            loop.run_until_complete(result)
    except Exception:  # noqa: BLE001 - a handler's error must not stop the events
        _LOG.exception("iotsec: a connection event handler raised")


_LOCAL = threading.local()


def _thread_loop() -> asyncio.AbstractEventLoop:
    loop: Optional[asyncio.AbstractEventLoop] = getattr(_LOCAL, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _LOCAL.loop = loop
    return loop


def _run(events: "_native.StateEvents", client_ref: "weakref.ReferenceType[_ClientBase]") -> None:
    """The handler thread: waits (in C, without the GIL) for a change, delivers every queued
    change in order, ends when the client is closed or gone."""
    fd = events.fileno()
    while True:
        try:
            woken = os.read(fd, 256)
        except InterruptedError:
            continue
        except OSError:
            return
        closed = False
        for state, reason, status, attempt, error in events.take():
            event = ConnectionEvent(state, reason, status, attempt, error if isinstance(error, IoTSecError) else None)
            client = client_ref()
            if client is None:
                return
            client._deliver(event)
            del client
            closed = closed or state == "closed"
        if closed or not woken:
            return


def start(client: "_ClientBase") -> threading.Thread:
    """Starts the handler thread of ``client``; it holds the client weakly."""
    events = client._state_events()
    thread = threading.Thread(
        target=_run, args=(events, weakref.ref(client)), name="iotsec-connection-events", daemon=True
    )
    thread.start()
    return thread
