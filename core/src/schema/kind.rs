//! The 14 event types of schema v1.0 and the fixed envelope values each one implies.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// One of the 14 event types of the security-message schema v1.0.
///
/// Each type fixes the event's `Name`, `Category` and `EventType` (read from the type's schema
/// file), so builders derive them from the kind and a user cannot get them wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// A process started (Security, Triggered).
    ProcessCreate,
    /// A process ended (Security, Triggered).
    ProcessTerminate,
    /// A network connection was opened (Security, Triggered).
    ConnectionCreate,
    /// A login attempt (Security, Triggered).
    Login,
    /// Snapshot of listening ports (Security, Periodic).
    ListeningPorts,
    /// Snapshot of firewall rules (Security, Periodic).
    FirewallConfiguration,
    /// Snapshot of local users (Security, Periodic).
    LocalUsers,
    /// Snapshot of connected hardware (Security, Periodic).
    ConnectedHardware,
    /// OS baseline rule results (Security, Periodic).
    OSBaseline,
    /// OS and machine facts (Security, Periodic).
    SystemInformation,
    /// An agent diagnostic log entry (Diagnostic, Triggered).
    Diagnostic,
    /// The agent found a problem in its configuration (Operational, Triggered).
    ConfigurationError,
    /// How many events the agent's queues dropped (Operational, Periodic).
    DroppedEventsStatistics,
    /// How many messages the agent sent (Operational, Periodic).
    MessageStatistics,
}

impl EventKind {
    /// Every kind, in the order of the list above.
    pub const ALL: [EventKind; 14] = [
        EventKind::ProcessCreate,
        EventKind::ProcessTerminate,
        EventKind::ConnectionCreate,
        EventKind::Login,
        EventKind::ListeningPorts,
        EventKind::FirewallConfiguration,
        EventKind::LocalUsers,
        EventKind::ConnectedHardware,
        EventKind::OSBaseline,
        EventKind::SystemInformation,
        EventKind::Diagnostic,
        EventKind::ConfigurationError,
        EventKind::DroppedEventsStatistics,
        EventKind::MessageStatistics,
    ];

    /// The event's `Name` as the schema spells it, e.g. `ProcessCreate`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::ProcessCreate => "ProcessCreate",
            EventKind::ProcessTerminate => "ProcessTerminate",
            EventKind::ConnectionCreate => "ConnectionCreate",
            EventKind::Login => "Login",
            EventKind::ListeningPorts => "ListeningPorts",
            EventKind::FirewallConfiguration => "FirewallConfiguration",
            EventKind::LocalUsers => "LocalUsers",
            EventKind::ConnectedHardware => "ConnectedHardware",
            EventKind::OSBaseline => "OSBaseline",
            EventKind::SystemInformation => "SystemInformation",
            EventKind::Diagnostic => "Diagnostic",
            EventKind::ConfigurationError => "ConfigurationError",
            EventKind::DroppedEventsStatistics => "DroppedEventsStatistics",
            EventKind::MessageStatistics => "MessageStatistics",
        }
    }

    /// The kind whose `Name` is exactly `name` (case-sensitive, as the schema is).
    pub fn from_name(name: &str) -> Option<Self> {
        EventKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// `Periodic` (a snapshot sent on a schedule, may be empty) or `Triggered` (something
    /// happened; never empty).
    pub fn category(self) -> &'static str {
        match self {
            EventKind::ProcessCreate
            | EventKind::ProcessTerminate
            | EventKind::ConnectionCreate
            | EventKind::Login
            | EventKind::Diagnostic
            | EventKind::ConfigurationError => "Triggered",
            _ => "Periodic",
        }
    }

    /// Whether the schema lets an event of this kind be empty (`IsEmpty: true`, no records):
    /// only `Periodic` ones.
    pub fn may_be_empty(self) -> bool {
        self.category() == "Periodic"
    }

    /// `Security`, `Diagnostic` or `Operational`.
    pub fn event_type(self) -> &'static str {
        match self {
            EventKind::Diagnostic => "Diagnostic",
            EventKind::ConfigurationError
            | EventKind::DroppedEventsStatistics
            | EventKind::MessageStatistics => "Operational",
            _ => "Security",
        }
    }

    /// The schema file (and `$id`) that defines this kind's payload.
    pub fn schema_file(self) -> &'static str {
        match self {
            EventKind::ProcessCreate => "messageEventSecurityProcessCreate_v1_0.json",
            EventKind::ProcessTerminate => "messageEventSecurityProcessTerminate_v1_0.json",
            EventKind::ConnectionCreate => "messageEventSecurityConnectionCreate_v1_0.json",
            EventKind::Login => "messageEventSecurityLogin_v1_0.json",
            EventKind::ListeningPorts => "messageEventSecurityListeningPorts_v1_0.json",
            EventKind::FirewallConfiguration => {
                "messageEventSecurityFirewallConfiguration_v1_0.json"
            }
            EventKind::LocalUsers => "messageEventSecurityLocalUsers_v1_0.json",
            EventKind::ConnectedHardware => "messageEventSecurityConnectedHardware_v1_0.json",
            EventKind::OSBaseline => "messageEventSecurityOSBaseline_v1_0.json",
            EventKind::SystemInformation => "messageEventSecuritySystemInformation_v1_0.json",
            EventKind::Diagnostic => "messageEventDiagnostic_v1_0.json",
            EventKind::ConfigurationError => "messageOperationalEventConfigurationError_v1_0.json",
            EventKind::DroppedEventsStatistics => "messageOperationalEventDroppedEvents_v1_0.json",
            EventKind::MessageStatistics => "messageOperationalEventMessageStatistics_v1_0.json",
        }
    }

    /// Position in [`EventKind::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EventKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        EventKind::from_name(s).ok_or_else(|| {
            Error::invalid_argument(format!(
                "`{s}` is not an event name; expected one of {}",
                names_list()
            ))
        })
    }
}

/// The 14 names, comma-separated, for messages.
pub(crate) fn names_list() -> String {
    EventKind::ALL.map(EventKind::name).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_index_matches_all() {
        for (i, kind) in EventKind::ALL.into_iter().enumerate() {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
            assert_eq!(kind.index(), i);
            assert_eq!(kind.to_string().parse::<EventKind>().ok(), Some(kind));
        }
        assert_eq!(EventKind::from_name("processcreate"), None);
        assert!("Nope".parse::<EventKind>().is_err());
    }

    /// The fixed values must be the ones the kind's own schema file enumerates.
    #[test]
    fn fixed_values_match_the_schema_files() {
        for kind in EventKind::ALL {
            let (_, text) = crate::schema::files::FILES
                .iter()
                .find(|(name, _)| *name == kind.schema_file())
                .expect("schema file embedded");
            let schema: serde_json::Value = serde_json::from_str(text).expect("json");
            let props = &schema["properties"];
            assert_eq!(
                props["Name"]["enum"],
                serde_json::json!([kind.name()]),
                "{kind}"
            );
            assert_eq!(
                props["Category"]["enum"],
                serde_json::json!([kind.category()]),
                "{kind}"
            );
            assert_eq!(
                props["EventType"]["enum"],
                serde_json::json!([kind.event_type()]),
                "{kind}"
            );
            assert_eq!(
                props["PayloadSchemaVersion"]["enum"],
                serde_json::json!(["1.0"]),
                "{kind}"
            );
        }
    }
}
