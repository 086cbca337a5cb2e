//! The connection state a client reports to its user (every language exposes these as events).
//!
//! Two ways to follow it:
//! - [`Client::watch_state`](super::Client::watch_state): a `tokio` watch receiver, the latest
//!   state (intermediate states may be skipped by a slow reader);
//! - [`Client::state_changes`](super::Client::state_changes): every change, in order, none
//!   skipped, each with the [`ChangeReason`] and the [`ConnectionStatus`] the official SDKs'
//!   connection status callbacks report. The language packages build their connection events
//!   on this one.

use std::fmt;
use std::sync::Mutex;

use tokio::sync::{mpsc, watch};

use crate::error::{Error, ErrorKind};

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
        /// Reconnect attempt number (0 for a planned reconnect: token renewal, or a PUBACK
        /// that did not come in time).
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

    /// The error that caused this state, if any (`Reconnecting`, or `Disconnected` after a
    /// failed first connect).
    pub fn error(&self) -> Option<&Error> {
        match self {
            ConnectionState::Reconnecting { reason, .. } | ConnectionState::Disconnected { reason: Some(reason) } => Some(reason),
            _ => None,
        }
    }

    /// What the official SDKs' connection status callbacks call this state, or `None` for
    /// `Connecting` (which they do not report).
    pub fn status(&self) -> Option<ConnectionStatus> {
        match self {
            ConnectionState::Connecting => None,
            ConnectionState::Connected => Some(ConnectionStatus::Connected),
            ConnectionState::Reconnecting { .. } => Some(ConnectionStatus::DisconnectedRetrying),
            ConnectionState::Disconnected { .. } | ConnectionState::Closed => Some(ConnectionStatus::Disconnected),
        }
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

/// The connection status of the official SDKs' status callbacks: Java's
/// `IotHubConnectionStatus`, C#'s `ConnectionStatus`, the C SDK's
/// `IOTHUB_CLIENT_CONNECTION_AUTHENTICATED` / `_UNAUTHENTICATED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionStatus {
    /// Connected.
    Connected,
    /// The connection is down and the client is reconnecting (sends wait meanwhile).
    DisconnectedRetrying,
    /// Not connected and not trying: disconnected or closed on request, or the first connect
    /// failed.
    Disconnected,
}

impl ConnectionStatus {
    /// The stable upper-snake-case name (`CONNECTED`, `DISCONNECTED_RETRYING`, `DISCONNECTED`),
    /// as Java's enum spells it.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionStatus::Connected => "CONNECTED",
            ConnectionStatus::DisconnectedRetrying => "DISCONNECTED_RETRYING",
            ConnectionStatus::Disconnected => "DISCONNECTED",
        }
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the connection state changed, in the terms of the official SDKs' status callbacks
/// (Java's `IotHubConnectionStatusChangeReason`, C#'s `ConnectionStatusChangeReason`, the C
/// SDK's `IOTHUB_CLIENT_CONNECTION_STATUS_REASON`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChangeReason {
    /// Connected (or connecting) normally.
    ConnectionOk,
    /// A planned reconnect that presents a fresh SAS token before the current one expires.
    ExpiredSasToken,
    /// The broker refused the credentials (CONNACK 4 or 5), or they are unusable.
    BadCredential,
    /// The broker could not be reached, or the connection was lost.
    NoNetwork,
    /// TLS failed, a CONNACK or PUBACK did not come in time, or the protocol broke.
    CommunicationError,
    /// Disconnected or closed on request.
    ClientClose,
}

impl ChangeReason {
    /// The stable upper-snake-case name (`CONNECTION_OK`, `EXPIRED_SAS_TOKEN`, `BAD_CREDENTIAL`,
    /// `NO_NETWORK`, `COMMUNICATION_ERROR`, `CLIENT_CLOSE`), as Java's enum spells it.
    pub fn name(self) -> &'static str {
        match self {
            ChangeReason::ConnectionOk => "CONNECTION_OK",
            ChangeReason::ExpiredSasToken => "EXPIRED_SAS_TOKEN",
            ChangeReason::BadCredential => "BAD_CREDENTIAL",
            ChangeReason::NoNetwork => "NO_NETWORK",
            ChangeReason::CommunicationError => "COMMUNICATION_ERROR",
            ChangeReason::ClientClose => "CLIENT_CLOSE",
        }
    }

    /// The reason an error gives for losing (or not getting) a connection.
    pub fn of_error(error: &Error) -> ChangeReason {
        match error.kind() {
            ErrorKind::CredentialRefused | ErrorKind::InvalidCredential => ChangeReason::BadCredential,
            ErrorKind::ConnectionFailed | ErrorKind::ConnectionLost | ErrorKind::Io => ChangeReason::NoNetwork,
            _ => ChangeReason::CommunicationError,
        }
    }

    /// The reason of an unplanned change into `state`.
    pub fn of_state(state: &ConnectionState) -> ChangeReason {
        match state {
            ConnectionState::Connecting | ConnectionState::Connected => ChangeReason::ConnectionOk,
            ConnectionState::Reconnecting { reason, .. } | ConnectionState::Disconnected { reason: Some(reason) } => {
                ChangeReason::of_error(reason)
            }
            ConnectionState::Disconnected { reason: None } | ConnectionState::Closed => ChangeReason::ClientClose,
        }
    }
}

impl fmt::Display for ChangeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One change of a client's connection state, as [`StateChanges`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// The new state.
    pub state: ConnectionState,
    /// Why it changed.
    pub reason: ChangeReason,
    /// What an SDK-style status callback reports for this change, or `None` when it reports
    /// nothing: `Connecting`, and a change whose status is the one last reported to this
    /// receiver since the last `Connecting` (a second failed reconnect attempt, `Closed` right
    /// after a disconnect).
    pub status: Option<ConnectionStatus>,
}

/// Every connection state change of one client, in order, none skipped
/// ([`Client::state_changes`](super::Client::state_changes)).
///
/// Ends (`None`) when the client is gone (dropped). Changes wait here until read, so read
/// them; a receiver that is dropped stops the client from keeping them.
pub struct StateChanges {
    rx: mpsc::UnboundedReceiver<(ConnectionState, ChangeReason)>,
    last_status: Option<ConnectionStatus>,
}

impl StateChanges {
    /// The next change, waiting for it; `None` once the client is gone.
    pub async fn next(&mut self) -> Option<StateChange> {
        let (state, reason) = self.rx.recv().await?;
        Some(self.report(state, reason))
    }

    /// [`StateChanges::next`], blocking the calling thread (not an async task's).
    pub fn blocking_next(&mut self) -> Option<StateChange> {
        crate::runtime::block_on(self.next())
    }

    fn report(&mut self, state: ConnectionState, reason: ChangeReason) -> StateChange {
        if state == ConnectionState::Connecting {
            // A new connection begins: whatever it ends in is news (a failed first connect
            // reports `Disconnected` even right after a disconnect).
            self.last_status = None;
        }
        let status = state.status().filter(|s| Some(*s) != self.last_status);
        if status.is_some() {
            self.last_status = status;
        }
        StateChange { state, reason, status }
    }
}

impl fmt::Debug for StateChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateChanges").field("last_status", &self.last_status).finish_non_exhaustive()
    }
}

/// Where a client keeps its state: the watch channel for the latest state, and the change
/// streams of every [`StateChanges`] receiver.
pub(crate) struct StateCell {
    watch: watch::Sender<ConnectionState>,
    listeners: Mutex<Vec<mpsc::UnboundedSender<(ConnectionState, ChangeReason)>>>,
}

impl StateCell {
    pub fn new(initial: ConnectionState) -> Self {
        StateCell { watch: watch::Sender::new(initial), listeners: Mutex::new(Vec::new()) }
    }

    /// Moves to `state` for the reason the state itself gives.
    pub fn send_replace(&self, state: ConnectionState) {
        let reason = ChangeReason::of_state(&state);
        self.set(state, reason);
    }

    /// Moves to `state` for `reason`. Listeners hear of it unless it is the state already in
    /// place; the watch channel always gets it.
    pub fn set(&self, state: ConnectionState, reason: ChangeReason) {
        // One lock orders both channels, so every listener sees the changes in watch order.
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        let unchanged = *self.watch.borrow() == state;
        if !unchanged && !listeners.is_empty() {
            listeners.retain(|l| l.send((state.clone(), reason)).is_ok());
        }
        self.watch.send_replace(state);
    }

    pub fn borrow(&self) -> watch::Ref<'_, ConnectionState> {
        self.watch.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<ConnectionState> {
        self.watch.subscribe()
    }

    /// A new change stream, starting after the current state.
    pub fn changes(&self) -> StateChanges {
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        let (tx, rx) = mpsc::unbounded_channel();
        listeners.push(tx);
        let last_status = self.watch.borrow().status();
        StateChanges { rx, last_status }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost() -> Error {
        Error::new(ErrorKind::ConnectionLost, "lost")
    }

    #[test]
    fn every_change_is_reported_in_order_with_sdk_status_once() {
        let cell = StateCell::new(ConnectionState::Disconnected { reason: None });
        let mut changes = cell.changes();
        cell.send_replace(ConnectionState::Connecting);
        cell.send_replace(ConnectionState::Connected);
        cell.send_replace(ConnectionState::Reconnecting { attempt: 1, reason: lost() });
        cell.send_replace(ConnectionState::Reconnecting { attempt: 2, reason: lost() });
        cell.set(ConnectionState::Connected, ChangeReason::ConnectionOk);
        cell.set(ConnectionState::Reconnecting { attempt: 0, reason: lost() }, ChangeReason::ExpiredSasToken);
        cell.send_replace(ConnectionState::Connected);
        cell.send_replace(ConnectionState::Connected); // unchanged: not reported
        cell.send_replace(ConnectionState::Disconnected { reason: None });
        cell.send_replace(ConnectionState::Connecting);
        cell.send_replace(ConnectionState::Disconnected { reason: Some(Error::new(ErrorKind::Tls, "untrusted")) });
        cell.send_replace(ConnectionState::Closed);
        drop(cell);
        let mut seen = Vec::new();
        while let Some(c) = changes.blocking_next() {
            seen.push((c.state.name(), c.reason, c.status));
        }
        use ChangeReason as R;
        use ConnectionStatus as S;
        assert_eq!(
            seen,
            vec![
                ("connecting", R::ConnectionOk, None),
                ("connected", R::ConnectionOk, Some(S::Connected)),
                ("reconnecting", R::NoNetwork, Some(S::DisconnectedRetrying)),
                ("reconnecting", R::NoNetwork, None),
                ("connected", R::ConnectionOk, Some(S::Connected)),
                ("reconnecting", R::ExpiredSasToken, Some(S::DisconnectedRetrying)),
                ("connected", R::ConnectionOk, Some(S::Connected)),
                ("disconnected", R::ClientClose, Some(S::Disconnected)),
                ("connecting", R::ConnectionOk, None),
                ("disconnected", R::CommunicationError, Some(S::Disconnected)),
                ("closed", R::ClientClose, None),
            ]
        );
    }

    #[test]
    fn reasons_follow_the_error_kind() {
        let refused = Error::refused(5, "no");
        assert_eq!(ChangeReason::of_error(&refused), ChangeReason::BadCredential);
        assert_eq!(ChangeReason::of_error(&Error::new(ErrorKind::Tls, "t")), ChangeReason::CommunicationError);
        assert_eq!(ChangeReason::of_error(&Error::new(ErrorKind::ConnectionFailed, "t")), ChangeReason::NoNetwork);
        let failed = ConnectionState::Disconnected { reason: Some(refused) };
        assert_eq!(ChangeReason::of_state(&failed), ChangeReason::BadCredential);
        assert_eq!(failed.status(), Some(ConnectionStatus::Disconnected));
        assert_eq!(ChangeReason::ExpiredSasToken.name(), "EXPIRED_SAS_TOKEN");
        assert_eq!(ConnectionStatus::DisconnectedRetrying.name(), "DISCONNECTED_RETRYING");
    }

    #[test]
    fn a_late_receiver_starts_from_the_current_status() {
        let cell = StateCell::new(ConnectionState::Connected);
        let mut changes = cell.changes();
        cell.send_replace(ConnectionState::Reconnecting { attempt: 1, reason: lost() });
        let c = changes.blocking_next().unwrap();
        assert_eq!(c.status, Some(ConnectionStatus::DisconnectedRetrying));
        drop(changes);
        // A dropped receiver is forgotten at the next change.
        cell.send_replace(ConnectionState::Connected);
        assert!(cell.listeners.lock().unwrap().is_empty());
    }
}
