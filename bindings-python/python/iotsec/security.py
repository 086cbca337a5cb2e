"""Security messages: typed event builders and the schema validator.

Azure Defender for IoT silently drops security messages that break its published schema, so
iotsec checks them before they leave. Build a valid message from typed records::

    from iotsec.security import SecurityMessage, ProcessCreate

    message = SecurityMessage("e89dc5f5-feac-4c3e-87e2-93c16f010c25", "1.0.0").add(
        ProcessCreate(executable="/usr/bin/myApp", process_id=11750, parent_process_id=1593,
                      user_id="1000", command_line="myApp -a -b"),
    ).to_message()          # an iotsec.Message, validated and flagged as a security message

or check a body you wrote yourself with :func:`validate` (every violation, with a JSON pointer
to the value at fault) or :func:`is_valid`.

The records are plain dataclasses with the schema's members in snake_case; each is turned into
a dict with the schema's names and handed to the core builder, which fills in each event's
``Name``, ``Category``, ``EventType``, ``IsEmpty``, ``PayloadSchemaVersion``, and (when not
given) ``Id`` and timestamps, then validates the whole message.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Iterable, List, Literal, Mapping, Optional, Tuple, Union

from ._native import (
    Message,
    TextPosition,
    Violation,
    build_security_body,
    build_security_message,
    check,
    event_kinds,
    is_valid,
    validate,
)

__all__ = [
    "validate",
    "is_valid",
    "check",
    "Violation",
    "TextPosition",
    "SecurityMessage",
    "Event",
    "Record",
    "EVENT_KINDS",
    "ProcessCreate",
    "ProcessTerminate",
    "ConnectionCreate",
    "Login",
    "ListeningPorts",
    "FirewallConfiguration",
    "LocalUsers",
    "ConnectedHardware",
    "OSBaseline",
    "SystemInformation",
    "Diagnostic",
    "ConfigurationError",
    "DroppedEventsStatistics",
    "MessageStatistics",
]

#: ``{name: (category, event_type, may_be_empty)}`` for the 14 event types of schema v1.0.
EVENT_KINDS: Dict[str, Tuple[str, str, bool]] = {
    name: (category, event_type, may_be_empty) for name, category, event_type, may_be_empty in event_kinds()
}

Direction = Literal["In", "Out"]
LoginResult = Literal["Fail", "Success"]
FirewallAction = Literal["Allow", "Deny", "Other"]
BaselineResult = Literal["Pass", "Fail", "Err"]
BaselineSeverity = Literal["Critical", "Important", "Warning", "Informational"]
DiagnosticSeverity = Literal["Fatal", "Error", "Warning", "Information", "Debug"]
ConfigurationErrorType = Literal["TypeMismatch", "NotOptimal", "Conflict"]
QueueName = Literal["High", "Low"]
ExtraDetails = Dict[str, str]


def _schema_name(f: "dataclasses.Field[Any]") -> str:
    name = f.metadata.get("name")
    if isinstance(name, str):
        return name
    return "".join(part[:1].upper() + part[1:] for part in f.name.split("_"))


class Record:
    """Base of the typed records; ``KIND`` is the event type the record belongs to."""

    KIND: ClassVar[str] = ""

    def to_dict(self) -> Dict[str, Any]:
        """The record as the schema spells it (members left as ``None`` are omitted)."""
        out: Dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue
            out[_schema_name(f)] = value
        return out


@dataclass
class ProcessCreate(Record):
    """A process started (Security, Triggered)."""

    KIND: ClassVar[str] = "ProcessCreate"
    executable: str
    process_id: int
    parent_process_id: int
    user_id: str
    command_line: str
    user_name: Optional[str] = None
    extra_details: Optional[ExtraDetails] = None


@dataclass
class ProcessTerminate(Record):
    """A process ended (Security, Triggered)."""

    KIND: ClassVar[str] = "ProcessTerminate"
    executable: str
    process_id: int
    exit_status: int
    extra_details: Optional[ExtraDetails] = None


@dataclass
class ConnectionCreate(Record):
    """A network connection was opened (Security, Triggered). Ports are strings (``"443"``)."""

    KIND: ClassVar[str] = "ConnectionCreate"
    remote_address: str
    remote_port: str
    direction: Direction
    protocol: str
    process_id: int
    executable: str
    local_address: Optional[str] = None
    local_port: Optional[str] = None
    user_id: Optional[str] = None
    command_line: Optional[str] = None
    extra_details: Optional[ExtraDetails] = None


@dataclass
class Login(Record):
    """A login attempt (Security, Triggered); the schema needs ``user_id`` or ``user_name``."""

    KIND: ClassVar[str] = "Login"
    process_id: int
    operation: str
    executable: str
    result: LoginResult
    user_id: Optional[str] = None
    user_name: Optional[str] = None
    remote_address: Optional[str] = None
    remote_port: Optional[str] = None
    local_port: Optional[str] = None
    extra_details: Optional[ExtraDetails] = None


@dataclass
class ListeningPorts(Record):
    """A listening port (Security, Periodic)."""

    KIND: ClassVar[str] = "ListeningPorts"
    local_port: str
    protocol: str
    local_address: Optional[str] = None
    remote_address: Optional[str] = None
    remote_port: Optional[str] = None
    extra_details: Optional[ExtraDetails] = None


@dataclass
class FirewallConfiguration(Record):
    """A firewall rule (Security, Periodic); ``action="Other"`` needs an explanation in
    ``extra_details``."""

    KIND: ClassVar[str] = "FirewallConfiguration"
    enabled: bool
    action: FirewallAction
    priority: Optional[int] = None
    direction: Optional[Direction] = None
    chain_name: Optional[str] = None
    application: Optional[str] = None
    source_address: Optional[str] = None
    source_port: Optional[str] = None
    destination_address: Optional[str] = None
    destination_port: Optional[str] = None
    protocol: Optional[str] = None
    extra_details: Optional[ExtraDetails] = None


@dataclass
class LocalUsers(Record):
    """A local user (Security, Periodic); group lists are ``;``-separated (``"0;1"``)."""

    KIND: ClassVar[str] = "LocalUsers"
    group_ids: str
    group_names: str
    user_id: str
    user_name: str
    extra_details: Optional[ExtraDetails] = None


@dataclass
class ConnectedHardware(Record):
    """A connected hardware device (Security, Periodic)."""

    KIND: ClassVar[str] = "ConnectedHardware"
    hardware_category: str
    hardware_sub_category: str
    hardware_name: str
    extra_details: Optional[ExtraDetails] = None


@dataclass
class OSBaseline(Record):
    """The result of one OS baseline rule (Security, Periodic); ``error`` is required (empty
    when there is none)."""

    KIND: ClassVar[str] = "OSBaseline"
    description: str
    cce_id: str
    result: BaselineResult
    error: str
    severity: BaselineSeverity
    extra_details: Optional[ExtraDetails] = None


@dataclass
class SystemInformation(Record):
    """Facts about the system (Security, Periodic); every member is optional."""

    KIND: ClassVar[str] = "SystemInformation"
    os_name: Optional[str] = field(default=None, metadata={"name": "OSName"})
    os_version: Optional[str] = field(default=None, metadata={"name": "OSVersion"})
    os_vendor: Optional[str] = field(default=None, metadata={"name": "OSVendor"})
    os_architecture: Optional[str] = None
    host_name: Optional[str] = None
    bios_version: Optional[str] = field(default=None, metadata={"name": "BIOSVersion"})
    boot_device: Optional[str] = None
    total_physical_memory_kb: Optional[int] = field(default=None, metadata={"name": "TotalPhysicalMemoryInKB"})
    free_physical_memory_kb: Optional[int] = field(default=None, metadata={"name": "FreePhysicalMemoryInKB"})
    total_virtual_memory_kb: Optional[int] = field(default=None, metadata={"name": "TotalVirtualMemoryInKB"})
    free_virtual_memory_kb: Optional[int] = field(default=None, metadata={"name": "FreeVirtualMemoryInKB"})
    extra_details: Optional[ExtraDetails] = None


@dataclass
class Diagnostic(Record):
    """An agent diagnostic log entry (Diagnostic, Triggered)."""

    KIND: ClassVar[str] = "Diagnostic"
    severity: DiagnosticSeverity
    message: str
    process_id: int
    thread_id: int
    correlation_id: Optional[str] = None
    extra_details: Optional[ExtraDetails] = None


@dataclass
class ConfigurationError(Record):
    """A problem in the agent's configuration (Operational, Triggered)."""

    KIND: ClassVar[str] = "ConfigurationError"
    configuration_name: str
    error_type: ConfigurationErrorType
    used_configuration: str
    message: str
    extra_details: Optional[ExtraDetails] = None


@dataclass
class DroppedEventsStatistics(Record):
    """Events collected and dropped by one agent queue (Operational, Periodic)."""

    KIND: ClassVar[str] = "DroppedEventsStatistics"
    queue: QueueName
    collected_events: int
    dropped_events: int
    extra_details: Optional[ExtraDetails] = None


@dataclass
class MessageStatistics(Record):
    """Messages the agent sent (Operational, Periodic)."""

    KIND: ClassVar[str] = "MessageStatistics"
    messages_sent: int
    messages_under_4kb: int = field(metadata={"name": "MessagesUnder4KB"})
    total_failed: int
    extra_details: Optional[ExtraDetails] = None


RecordLike = Union[Record, Mapping[str, Any]]


class Event:
    """One event: its records (all of one type), and optionally its ``Id`` and timestamps.

    The type comes from the records; give ``kind`` (the event name, e.g.
    ``"ListeningPorts"``) for an event with no records (only ``Periodic`` types may be empty)
    or with raw dict records. Missing ``id`` / timestamps are generated when the message is built.
    """

    def __init__(
        self,
        *records: RecordLike,
        kind: Optional[str] = None,
        id: Optional[str] = None,
        timestamp_local: Optional[str] = None,
        timestamp_utc: Optional[str] = None,
    ) -> None:
        kinds = {r.KIND for r in records if isinstance(r, Record)}
        if kind is not None:
            kinds.add(kind)
        if len(kinds) > 1:
            raise TypeError(f"an Event holds records of one type, not {sorted(kinds)}")
        if not kinds:
            raise TypeError("Event(kind=...) is needed when there are no typed records")
        self.kind: str = kinds.pop()
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"{self.kind!r} is not an event name; expected one of {', '.join(EVENT_KINDS)}")
        self.records: List[RecordLike] = list(records)
        self.id = id
        self.timestamp_local = timestamp_local
        self.timestamp_utc = timestamp_utc

    def _native(self) -> Tuple[str, List[Mapping[str, Any]], Optional[str], Optional[str], Optional[str]]:
        records = [r.to_dict() if isinstance(r, Record) else r for r in self.records]
        return (self.kind, records, self.id, self.timestamp_local, self.timestamp_utc)

    def __repr__(self) -> str:
        return f"Event(kind={self.kind!r}, records={self.records!r})"


class SecurityMessage:
    """A security message under construction: the agent's identity plus events.

    :meth:`build` and :meth:`to_message` refuse to produce what the service would drop: they
    raise :class:`~iotsec.exceptions.SchemaValidationError` listing every violation.
    """

    def __init__(self, agent_id: str, agent_version: str, events: Iterable[Union[Event, Record]] = ()) -> None:
        self.agent_id = agent_id
        self.agent_version = agent_version
        self.events: List[Event] = []
        self.add(*events)

    def add(self, *events: Union[Event, Record]) -> "SecurityMessage":
        """Adds events; a bare record becomes an event of its own. Returns ``self``."""
        for e in events:
            if isinstance(e, Event):
                self.events.append(e)
            elif isinstance(e, Record):
                self.events.append(Event(e))
            else:
                raise TypeError(f"SecurityMessage.add() takes Event or record objects, not {type(e).__name__}")
        return self

    def _native(self) -> List[Tuple[str, List[Mapping[str, Any]], Optional[str], Optional[str], Optional[str]]]:
        return [e._native() for e in self.events]

    def build(self) -> bytes:
        """The body: compact UTF-8 JSON, validated."""
        return build_security_body(self.agent_id, self.agent_version, self._native())

    def to_message(self) -> Message:
        """An :class:`iotsec.Message` ready to send: the validated body, flagged as a security
        message, content type ``application/json``, content encoding ``utf-8``."""
        return build_security_message(self.agent_id, self.agent_version, self._native())

    def __repr__(self) -> str:
        return f"SecurityMessage(agent_id={self.agent_id!r}, agent_version={self.agent_version!r}, events={self.events!r})"
