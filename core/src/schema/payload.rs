//! Typed records ("payload items") for the 14 event types.
//!
//! Each struct mirrors one event schema's `Payload.items`: field names serialize exactly as the
//! schema spells them, required members are plain fields, optional ones are `Option`s left out
//! when `None`, and members the schema limits to a few strings are enums. A typed record can
//! still break the schema in ways a type cannot express (an `Id` that is not 36 characters, a
//! Login with neither `UserId` nor `UserName`), so messages are validated when built anyway.
//!
//! Bindings in other languages pass records as JSON objects instead (see
//! [`Event::push_raw_record`](super::Event::push_raw_record)); both paths end as the same JSON.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::kind::EventKind;
use crate::error::{Error, ErrorKind};

/// `ExtraDetails`: free-form string pairs every record may carry.
pub type ExtraDetails = BTreeMap<String, String>;

/// A typed record of one event type.
pub trait Payload: Serialize {
    /// The event type this record belongs to.
    const KIND: EventKind;

    /// This record as the JSON object that goes into `Payload`.
    fn to_record(&self) -> crate::Result<Map<String, Value>> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(Error::new(
                ErrorKind::Internal,
                "a payload record did not serialize to an object",
            )),
            Err(e) => Err(Error::new(
                ErrorKind::Internal,
                format!("serializing a payload record: {e}"),
            )),
        }
    }
}

macro_rules! payload {
    ($type:ident) => {
        impl Payload for $type {
            const KIND: EventKind = EventKind::$type;
        }
    };
}

/// Connection direction (`In` or `Out`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum Direction {
    /// Inbound.
    #[default]
    In,
    /// Outbound.
    Out,
}

/// Result of a login attempt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum LoginResult {
    /// The login failed.
    #[default]
    Fail,
    /// The login succeeded.
    Success,
}

/// What a firewall rule does; `Other` needs an explanation in `ExtraDetails`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum FirewallAction {
    /// Traffic is allowed.
    #[default]
    Allow,
    /// Traffic is denied.
    Deny,
    /// Something else, described in `ExtraDetails`.
    Other,
}

/// Outcome of an OS baseline rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum BaselineResult {
    /// The rule passed.
    #[default]
    Pass,
    /// The rule failed.
    Fail,
    /// The rule could not be run.
    Err,
}

/// Severity of a failed OS baseline rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum BaselineSeverity {
    /// Critical.
    Critical,
    /// Important.
    Important,
    /// Warning.
    Warning,
    /// Informational.
    #[default]
    Informational,
}

/// Severity of a diagnostic event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum DiagnosticSeverity {
    /// Fatal.
    Fatal,
    /// Error.
    Error,
    /// Warning.
    Warning,
    /// Information.
    #[default]
    Information,
    /// Debug.
    Debug,
}

/// Kind of configuration problem.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum ConfigurationErrorType {
    /// A value has the wrong type.
    #[default]
    TypeMismatch,
    /// A value works but is not optimal.
    NotOptimal,
    /// Two values conflict.
    Conflict,
}

/// Which agent queue a statistic is about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum Queue {
    /// The high-priority queue.
    #[default]
    High,
    /// The low-priority queue.
    Low,
}

/// A process started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessCreate {
    /// Full path of the process executable.
    pub executable: String,
    /// The process id.
    pub process_id: i64,
    /// The parent process id.
    pub parent_process_id: i64,
    /// Id of the identity that started the process (required by the schema).
    pub user_id: String,
    /// Name of that identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Command line, executable path included.
    pub command_line: String,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(ProcessCreate);

/// A process ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessTerminate {
    /// Full path of the process executable.
    pub executable: String,
    /// The process id.
    pub process_id: i64,
    /// The exit status.
    pub exit_status: i64,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(ProcessTerminate);

/// A network connection was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionCreate {
    /// Remote IPv4 or IPv6 address.
    pub remote_address: String,
    /// Remote port (a string: `"443"`, `"53248-53250"`, `"*"`).
    pub remote_port: String,
    /// Local IPv4 or IPv6 address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_address: Option<String>,
    /// Local port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_port: Option<String>,
    /// In or out.
    pub direction: Direction,
    /// IP protocol, e.g. `TCP`.
    pub protocol: String,
    /// Id of the process that handled the connection.
    pub process_id: i64,
    /// Id of the user the process runs as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The executable that handled the connection.
    pub executable: String,
    /// Command line that opened the connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(ConnectionCreate);

/// A login attempt. The schema requires `user_id` or `user_name` (or both).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Login {
    /// The process id.
    pub process_id: i64,
    /// Id of the identity used to log in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Name of the identity used to log in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The operation, e.g. `PAM:authentication`.
    pub operation: String,
    /// The executable that handled the login.
    pub executable: String,
    /// Remote IPv4 or IPv6 address the attempt came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<String>,
    /// Remote port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_port: Option<String>,
    /// Local port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_port: Option<String>,
    /// Fail or Success.
    pub result: LoginResult,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(Login);

/// A listening port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListeningPorts {
    /// Remote IPv4 or IPv6 address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<String>,
    /// Remote port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_port: Option<String>,
    /// Local IPv4 or IPv6 address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_address: Option<String>,
    /// Local port (a string).
    pub local_port: String,
    /// IP protocol, e.g. `TCP`.
    pub protocol: String,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(ListeningPorts);

/// A firewall rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FirewallConfiguration {
    /// Rule priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Rule direction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Parent chain of the rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_name: Option<String>,
    /// The application the rule applies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// Whether the rule is enabled.
    pub enabled: bool,
    /// What the rule does.
    pub action: FirewallAction,
    /// Source address or tag (`10.0.0.0/8`, `Local subnet`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_address: Option<String>,
    /// Source port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_port: Option<String>,
    /// Destination address or tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_address: Option<String>,
    /// Destination port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_port: Option<String>,
    /// IP protocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(FirewallConfiguration);

/// A local user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LocalUsers {
    /// `;`-separated group ids, e.g. `0;1`.
    pub group_ids: String,
    /// `;`-separated group names, e.g. `root;daemon`.
    pub group_names: String,
    /// User id.
    pub user_id: String,
    /// User name.
    pub user_name: String,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(LocalUsers);

/// A connected hardware device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectedHardware {
    /// Category, e.g. `USB`.
    pub hardware_category: String,
    /// Sub-category, e.g. `Keyboard`.
    pub hardware_sub_category: String,
    /// Device name.
    pub hardware_name: String,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(ConnectedHardware);

/// The result of one OS baseline rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OSBaseline {
    /// What the rule checks.
    pub description: String,
    /// The rule's CCE id.
    pub cce_id: String,
    /// Pass, Fail or Err.
    pub result: BaselineResult,
    /// The error message (required; empty when there is none).
    pub error: String,
    /// Severity of the problem.
    pub severity: BaselineSeverity,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(OSBaseline);

/// Facts about the system; every member is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemInformation {
    /// OS name.
    #[serde(rename = "OSName", skip_serializing_if = "Option::is_none")]
    pub os_name: Option<String>,
    /// OS version.
    #[serde(rename = "OSVersion", skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// OS vendor.
    #[serde(rename = "OSVendor", skip_serializing_if = "Option::is_none")]
    pub os_vendor: Option<String>,
    /// OS architecture (the schema spells it `OsArchitecture`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_architecture: Option<String>,
    /// Host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    /// BIOS version.
    #[serde(rename = "BIOSVersion", skip_serializing_if = "Option::is_none")]
    pub bios_version: Option<String>,
    /// Boot device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_device: Option<String>,
    /// Installed physical memory, KB.
    #[serde(
        rename = "TotalPhysicalMemoryInKB",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_physical_memory_kb: Option<i64>,
    /// Free physical memory, KB.
    #[serde(
        rename = "FreePhysicalMemoryInKB",
        skip_serializing_if = "Option::is_none"
    )]
    pub free_physical_memory_kb: Option<i64>,
    /// Total virtual memory, KB.
    #[serde(
        rename = "TotalVirtualMemoryInKB",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_virtual_memory_kb: Option<i64>,
    /// Free virtual memory, KB.
    #[serde(
        rename = "FreeVirtualMemoryInKB",
        skip_serializing_if = "Option::is_none"
    )]
    pub free_virtual_memory_kb: Option<i64>,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(SystemInformation);

/// An agent diagnostic log entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Diagnostic {
    /// Correlation id (a 36-character GUID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Severity.
    pub severity: DiagnosticSeverity,
    /// The message.
    pub message: String,
    /// Id of the process the event occurred in.
    pub process_id: i64,
    /// Id of the thread the event occurred in.
    pub thread_id: i64,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(Diagnostic);

/// A problem in the agent's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigurationError {
    /// Name of the configuration at fault.
    pub configuration_name: String,
    /// Kind of problem.
    pub error_type: ConfigurationErrorType,
    /// The configuration the agent used instead.
    pub used_configuration: String,
    /// Details.
    pub message: String,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(ConfigurationError);

/// Events collected and dropped by one agent queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DroppedEventsStatistics {
    /// Which queue.
    pub queue: Queue,
    /// Events generated for the queue.
    pub collected_events: i64,
    /// Events dropped from the queue.
    pub dropped_events: i64,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(DroppedEventsStatistics);

/// Messages the agent sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageStatistics {
    /// Messages sent.
    pub messages_sent: i64,
    /// Messages under 4 KB.
    #[serde(rename = "MessagesUnder4KB")]
    pub messages_under_4kb: i64,
    /// Messages that failed to send.
    pub total_failed: i64,
    /// Free-form string pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<ExtraDetails>,
}
payload!(MessageStatistics);
