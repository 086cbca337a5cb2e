"""Exceptions raised by iotsec.

The names azure-iot-device users already catch are here (``ClientError``,
``ConnectionFailedError``, ``ConnectionDroppedError``, ``CredentialError``,
``NoConnectionError``, ``OperationTimeout``, ``OperationCancelled``), plus iotsec's own.
Every iotsec exception derives from :class:`IoTSecError` and carries ``code``: the stable
name of the core error kind (the same name in every iotsec language package).

=========================== =============================== ===================================
code                        exception                       also an instance of
=========================== =============================== ===================================
INVALID_ARGUMENT            InvalidArgumentError            ValueError
INVALID_CONNECTION_STRING   ConnectionStringError           ValueError
INVALID_CREDENTIAL          InvalidCredentialError          CredentialError, ValueError
SCHEMA_VALIDATION           SchemaValidationError           ValueError
MESSAGE_TOO_LARGE           MessageTooLargeError            ValueError
CONNECTION_FAILED           ConnectionFailedError           ClientError
TLS                         TlsError                        ConnectionFailedError, ClientError
CREDENTIAL_REFUSED          CredentialError                 ClientError
CONNECTION_LOST             ConnectionDroppedError          ClientError
TIMEOUT                     OperationTimeout                ClientError
CLOSED                      ClientClosedError               ClientError
QUEUE_FULL                  QueueFullError                  ClientError
IO                          IoError                         ClientError, OSError
INTERNAL                    InternalError                   ClientError
=========================== =============================== ===================================

``NoConnectionError`` and ``OperationCancelled`` exist for code written against the official
SDK but are never raised: iotsec connects on the first send when not connected and keeps sends
queued while it reconnects, and it never cancels an operation itself.
"""

from typing import Dict, List, Optional, Sequence, Type

from ._native import Violation

__all__ = [
    "IoTSecError",
    "ClientError",
    "ConnectionFailedError",
    "ConnectionDroppedError",
    "CredentialError",
    "NoConnectionError",
    "OperationTimeout",
    "OperationCancelled",
    "InvalidArgumentError",
    "ConnectionStringError",
    "InvalidCredentialError",
    "SchemaValidationError",
    "MessageTooLargeError",
    "TlsError",
    "ClientClosedError",
    "QueueFullError",
    "IoError",
    "InternalError",
]


class IoTSecError(Exception):
    """Base class of every iotsec exception.

    ``code`` is the stable name of the error kind (``"SCHEMA_VALIDATION"``, ...);
    ``message`` the readable explanation (never contains a key or signature).
    """

    code: str = "INTERNAL"

    def __init__(self, message: str = "", *, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ClientError(IoTSecError):
    """A client operation failed (the official SDK's generic client error)."""


class ConnectionFailedError(ClientError):
    """The broker could not be reached (DNS, TCP, timeout, TLS)."""

    code = "CONNECTION_FAILED"


class TlsError(ConnectionFailedError):
    """The TLS handshake failed (untrusted or mismatched server certificate, bad client certificate)."""

    code = "TLS"


class ConnectionDroppedError(ClientError):
    """An established connection was lost before the operation completed."""

    code = "CONNECTION_LOST"


class CredentialError(ClientError):
    """The credentials were refused by the broker, or are unusable.

    ``connack_code`` is the MQTT CONNACK return code when the broker refused them.
    """

    code = "CREDENTIAL_REFUSED"
    connack_code: Optional[int] = None


class NoConnectionError(ClientError):
    """Defined for compatibility with azure-iot-device; iotsec never raises it."""


class OperationTimeout(ClientError):
    """The operation did not complete in time (no PUBACK, no CONNACK)."""

    code = "TIMEOUT"


class OperationCancelled(ClientError):
    """Defined for compatibility with azure-iot-device; iotsec never raises it."""


class ClientClosedError(ClientError):
    """The client was shut down; it accepts no more operations."""

    code = "CLOSED"


class QueueFullError(ClientError):
    """The send queue is full and the queue policy is ``"fail_fast"``."""

    code = "QUEUE_FULL"


class IoError(ClientError, OSError):
    """A local file or socket operation failed."""

    code = "IO"


class InternalError(ClientError):
    """A bug in iotsec (a caught panic, a broken invariant). Please report it."""

    code = "INTERNAL"


class InvalidArgumentError(IoTSecError, ValueError):
    """An argument or option is missing, empty or out of range; the message names it."""

    code = "INVALID_ARGUMENT"


class ConnectionStringError(IoTSecError, ValueError):
    """The connection string is malformed; the message names the key at fault (never its value)."""

    code = "INVALID_CONNECTION_STRING"


class InvalidCredentialError(CredentialError, ValueError):
    """A credential is unusable before anything is sent (a key that is not base64, a
    certificate file that cannot be read)."""

    code = "INVALID_CREDENTIAL"


class MessageTooLargeError(IoTSecError, ValueError):
    """The body is over 262,144 bytes (IoT Hub's limit) or the topic over 65,535 bytes."""

    code = "MESSAGE_TOO_LARGE"


class SchemaValidationError(IoTSecError, ValueError):
    """A security message breaks the published schema and was not sent.

    ``violations`` lists every problem, each with a JSON pointer to the value at fault
    (``/Events/0/Payload/0/UserId``), the rule that failed and an explanation.
    """

    code = "SCHEMA_VALIDATION"

    def __init__(
        self,
        message: str = "",
        violations: Sequence[Violation] = (),
        *,
        code: Optional[str] = None,
    ) -> None:
        super().__init__(message, code=code)
        self.violations: List[Violation] = list(violations)


_BY_CODE: Dict[str, Type[IoTSecError]] = {
    "INVALID_ARGUMENT": InvalidArgumentError,
    "INVALID_CONNECTION_STRING": ConnectionStringError,
    "INVALID_CREDENTIAL": InvalidCredentialError,
    "SCHEMA_VALIDATION": SchemaValidationError,
    "MESSAGE_TOO_LARGE": MessageTooLargeError,
    "CONNECTION_FAILED": ConnectionFailedError,
    "TLS": TlsError,
    "CREDENTIAL_REFUSED": CredentialError,
    "CONNECTION_LOST": ConnectionDroppedError,
    "TIMEOUT": OperationTimeout,
    "CLOSED": ClientClosedError,
    "QUEUE_FULL": QueueFullError,
    "IO": IoError,
    "INTERNAL": InternalError,
}


def exception_class(code: str) -> Type[IoTSecError]:
    """The exception class raised for the error kind named ``code``."""
    return _BY_CODE.get(code, InternalError)


def _from_native(
    code: str, message: str, violations: List[Violation], connack_code: Optional[int]
) -> IoTSecError:
    """Builds the exception for a core error (called by the native module)."""
    cls = exception_class(code)
    error: IoTSecError
    if cls is SchemaValidationError:
        error = SchemaValidationError(message, violations, code=code)
    else:
        error = cls(message, code=code)
    if isinstance(error, CredentialError):
        error.connack_code = connack_code
    return error
