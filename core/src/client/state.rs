//! The connection state a client reports to its user (every language exposes these as events).

use std::fmt;

use crate::error::Error;

/// Where a client's connection stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connected: never connected, disconnected on request, or the first connect failed
    /// (`reason` says why).
    Disconnected {
        /// Why, when it was not on request.
        reason: Option<Error>,
    },
    /// The first connection attempt is under way.
    Connecting,
    /// Connected; sends flow.
    Connected,
    /// The connection was lost (or is being renewed); sends wait in the queue meanwhile.
    Reconnecting {
        /// Reconnect attempt number (0 for a planned reconnect such as token renewal).
        attempt: u32,
        /// What ended the previous connection.
        reason: Error,
    },
    /// Closed for good; sends fail with `CLOSED`.
    Closed,
}

impl ConnectionState {
    /// The state's stable lower-case name (`connected`, `reconnecting`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            ConnectionState::Disconnected { .. } => "disconnected",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting { .. } => "reconnecting",
            ConnectionState::Closed => "closed",
        }
    }

    /// Whether sends go out right now.
    pub fn is_connected(&self) -> bool {
        matches!(self, ConnectionState::Connected)
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionState::Disconnected { reason: Some(r) } => write!(f, "disconnected: {r}"),
            ConnectionState::Reconnecting { attempt, reason } => write!(f, "reconnecting (attempt {attempt}): {reason}"),
            other => f.write_str(other.name()),
        }
    }
}
