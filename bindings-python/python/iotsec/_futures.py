"""The future the asyncio clients return (internal).

``send_message()`` queues the message at once and returns this future, resolved when the
broker acknowledges the message. It is an ``asyncio.Future``, so ``await``, ``asyncio.gather``,
``asyncio.wait_for`` and ``asyncio.ensure_future`` take it without wrapping it in a Task; it
also follows the coroutine protocol, so code written for the official SDK's coroutine methods
(``asyncio.create_task(client.send_message(m))``, ``asyncio.iscoroutine``) keeps working.
"""

import asyncio
import collections.abc
from typing import Any, NoReturn, Optional


class SendFuture(asyncio.Future):  # type: ignore[type-arg]
    """An ``asyncio.Future[None]`` that can also be driven like a coroutine."""

    __slots__ = ()

    # The coroutine protocol, used only when a Task drives this future as its coroutine.
    def send(self, value: Any) -> "SendFuture":
        if not self.done():
            self._asyncio_future_blocking = True
            return self
        raise StopIteration(self.result())

    def throw(self, typ: Any, val: Optional[BaseException] = None, tb: Any = None) -> NoReturn:
        if val is None:
            val = typ() if isinstance(typ, type) else typ
        assert isinstance(val, BaseException)
        raise val.with_traceback(tb) if tb is not None else val

    def close(self) -> None:
        pass


collections.abc.Coroutine.register(SendFuture)
