//! The MQTT client: a device or module sending telemetry (and security messages) to IoT Hub.
//!
//! One [`Client`] serves devices and modules alike (the identity comes from the connection
//! string); [`Client::device_from_connection_string`] and
//! [`Client::module_from_connection_string`] insist on one or the other, as the SDKs'
//! `DeviceClient` and `ModuleClient` do.
//!
//! Sends are pipelined: each [`Client::send_message`] resolves when *its* PUBACK arrives, and
//! any number may be in flight at once over the one connection (up to
//! [`ClientOptions::max_in_flight`] on the wire, the rest queued). Security messages are
//! validated against the schema on the caller's thread before anything is queued.
//!
//! The futures returned here only wait on channels: any executor can drive them, and the
//! blocking variants ([`Client::send_message_blocking`], ...) simply park the calling thread.

mod connect;
mod durable;
mod inbox;
#[cfg(feature = "env-log")]
mod logging;
mod options;
mod session;
mod state;
mod tls;
mod tracker;

pub use connect::{user_agent, username, API_VERSION};
#[cfg(feature = "env-log")]
pub use logging::{init_logging_from_env, ENV_LOG};
pub use options::{Backoff, ClientOptions, MessageIdPolicy, QueuePolicy, Transport, DEFAULT_PORT, ENV_CA_FILE, ENV_MQTT_PORT};
pub use state::{ChangeReason, ConnectionState, ConnectionStatus, StateChange, StateChanges};
pub use tracker::Completion;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use state::StateCell;

use crate::connection_string::ConnectionString;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::Identity;
use crate::message::Message;
use crate::schema::{self, ValidationMode};
use crate::topic::telemetry_topic;

use connect::Endpoint;
use durable::{DurableQueue, Recovered};
use session::{Session, SessionConfig};
use tracker::Pending;

/// A device or module client. Cheap to clone: clones share one connection.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

struct Shared {
    identity: Identity,
    endpoint: Arc<Endpoint>,
    options: ClientOptions,
    permits: Arc<Semaphore>,
    state: Arc<StateCell>,
    session: Mutex<Option<Arc<Session>>>,
    closed: AtomicBool,
    durable: Option<Arc<DurableQueue>>,
    /// Durable-queue entries from an earlier run, re-sent when the next session starts.
    recovered: Mutex<Vec<Recovered>>,
}

/// A publish ready to hand to the session: topic encoded, body validated.
struct Prepared {
    topic: String,
    payload: Bytes,
}

fn closed_error() -> Error {
    Error::new(ErrorKind::Closed, "the client is closed")
}

impl Client {
    /// A client for the device or module named in `connection_string`.
    pub fn from_connection_string(connection_string: &str, options: ClientOptions) -> Result<Self> {
        Client::new(ConnectionString::parse(connection_string)?, options)
    }

    /// A device client; a connection string with a `ModuleId` is refused.
    pub fn device_from_connection_string(connection_string: &str, options: ClientOptions) -> Result<Self> {
        let cs = ConnectionString::parse(connection_string)?;
        if cs.identity.is_module() {
            return Err(Error::new(
                ErrorKind::InvalidConnectionString,
                "invalid connection string: it has a `ModuleId`; use a module client for a module",
            ));
        }
        Client::new(cs, options)
    }

    /// A module client; a connection string without a `ModuleId` is refused.
    pub fn module_from_connection_string(connection_string: &str, options: ClientOptions) -> Result<Self> {
        let cs = ConnectionString::parse(connection_string)?;
        if !cs.identity.is_module() {
            return Err(Error::new(
                ErrorKind::InvalidConnectionString,
                "invalid connection string: `ModuleId` is missing; a module client needs a module's connection string",
            ));
        }
        Client::new(cs, options)
    }

    /// A client for a parsed connection string. Nothing is sent until [`Client::connect`] or
    /// the first send.
    pub fn new(connection_string: ConnectionString, options: ClientOptions) -> Result<Self> {
        let endpoint = Arc::new(Endpoint::new(&connection_string, &options)?);
        let state = StateCell::new(ConnectionState::Disconnected { reason: None });
        let (durable, recovered) = match &options.durable_queue {
            Some(path) => {
                let (queue, recovered) = DurableQueue::open(path)?;
                (Some(Arc::new(queue)), recovered)
            }
            None => (None, Vec::new()),
        };
        let has_recovered = !recovered.is_empty();
        let client = Client {
            shared: Arc::new(Shared {
                identity: connection_string.identity,
                endpoint,
                permits: Arc::new(Semaphore::new(options.queue_capacity)),
                options,
                state: Arc::new(state),
                session: Mutex::new(None),
                closed: AtomicBool::new(false),
                durable,
                recovered: Mutex::new(recovered),
            }),
        };
        if has_recovered {
            // Messages a crashed run had accepted go out without waiting for a new send.
            tracing::info!("re-sending messages left in the durable queue by an earlier run");
            client.shared.session()?;
        }
        Ok(client)
    }

    /// The device or module this client sends as.
    pub fn identity(&self) -> &Identity {
        &self.shared.identity
    }

    /// The options in effect.
    pub fn options(&self) -> &ClientOptions {
        &self.shared.options
    }

    /// The MQTT username this client presents (no secret in it).
    pub fn mqtt_username(&self) -> &str {
        &self.shared.endpoint.username
    }

    /// The connection state now.
    pub fn state(&self) -> ConnectionState {
        self.shared.state.borrow().clone()
    }

    /// Whether the client is connected right now.
    pub fn is_connected(&self) -> bool {
        self.shared.state.borrow().is_connected()
    }

    /// A receiver of the latest connection state. A slow reader may miss intermediate states;
    /// [`Client::state_changes`] reports every change.
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.shared.state.subscribe()
    }

    /// Every connection state change from now on, in order, none skipped, each with its
    /// [`ChangeReason`] and the [`ConnectionStatus`] an SDK-style status callback reports (the
    /// language packages' connection events). The stream ends when the client is dropped.
    pub fn state_changes(&self) -> StateChanges {
        self.shared.state.changes()
    }

    /// Connects (TLS, CONNECT, CONNACK). Resolves when connected, or with the reason the first
    /// attempt failed. Connecting an already connected client does nothing.
    pub async fn connect(&self) -> Result<()> {
        let session = self.shared.session()?;
        session.first_outcome().await
    }

    /// Sends `message` and resolves when the broker acknowledged it (PUBACK).
    ///
    /// A security message is validated first (per [`ClientOptions::validation`]); in strict
    /// mode an invalid one fails with [`ErrorKind::SchemaValidation`] and is never sent. A
    /// client that is not connected connects first.
    pub async fn send_message(&self, message: &Message) -> Result<()> {
        let rx = self.queue_message(message).await?;
        rx.await.unwrap_or_else(|_| Err(closed_error()))
    }

    /// Validates, takes a place in the queue, stores durably if configured, hands over.
    async fn queue_message(&self, message: &Message) -> Result<tokio::sync::oneshot::Receiver<Result<()>>> {
        let prepared = self.shared.prepare(message)?;
        let permit = self.shared.permit_async().await?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let completion: Completion = Box::new(move |r| {
            let _ = tx.send(r);
        });
        let completion = match &self.shared.durable {
            None => completion,
            Some(queue) => {
                let (stored_tx, stored_rx) = tokio::sync::oneshot::channel();
                let id = queue.insert(&prepared.topic, &prepared.payload, move |r| {
                    let _ = stored_tx.send(r);
                });
                stored_rx.await.unwrap_or_else(|_| Err(closed_error()))?;
                durable_completion(queue, id, completion)
            }
        };
        self.shared.enqueue(prepared, Pending::new(completion, Some(permit)))?;
        Ok(rx)
    }

    /// Sends every message pipelined over the one connection and resolves when all are
    /// acknowledged, with one outcome per message, in order.
    pub async fn send_messages(&self, messages: &[Message]) -> Vec<Result<()>> {
        let mut receivers = Vec::with_capacity(messages.len());
        for message in messages {
            receivers.push(self.queue_message(message).await);
        }
        let mut results = Vec::with_capacity(receivers.len());
        for r in receivers {
            results.push(match r {
                Ok(rx) => rx.await.unwrap_or_else(|_| Err(closed_error())),
                Err(e) => Err(e),
            });
        }
        results
    }

    /// Queues `message` and calls `completion` once with its outcome, on an iotsec thread
    /// (the C, Java and C# callback style). Errors found before queueing (schema, size,
    /// closed, queue full) are returned here and `completion` is not called.
    ///
    /// When the queue is full and the policy is [`QueuePolicy::Block`], this blocks the calling
    /// thread, except on an iotsec thread (inside a completion), where it fails with
    /// [`ErrorKind::QueueFull`] rather than deadlock.
    pub fn send_message_with(&self, message: &Message, completion: impl FnOnce(Result<()>) + Send + 'static) -> Result<()> {
        let prepared = self.shared.prepare(message)?;
        let permit = self.shared.permit_blocking()?;
        let completion: Completion = Box::new(completion);
        let completion = match &self.shared.durable {
            None => completion,
            Some(queue) => {
                let (stored_tx, stored_rx) = std::sync::mpsc::channel();
                let id = queue.insert(&prepared.topic, &prepared.payload, move |r| {
                    let _ = stored_tx.send(r);
                });
                stored_rx.recv().unwrap_or_else(|_| Err(closed_error()))?;
                durable_completion(queue, id, completion)
            }
        };
        self.shared.enqueue(prepared, Pending::new(completion, Some(permit)))
    }

    /// Gracefully disconnects: waits (up to the PUBACK timeout) for outstanding sends, then
    /// sends DISCONNECT. A later send or [`Client::connect`] connects again.
    pub async fn disconnect(&self) -> Result<()> {
        let session = self.shared.session.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(session) = session {
            let error = Error::new(ErrorKind::Closed, "the client disconnected before the broker acknowledged this message");
            let flush_timeout = self.shared.options.puback_timeout;
            // The shutdown sleeps between checks, so it runs on the shared runtime; this future
            // only waits for it to finish.
            let done = crate::runtime::handle().spawn(async move { session.shutdown(flush_timeout, error).await });
            done.await.map_err(|e| Error::new(ErrorKind::Internal, format!("disconnect did not finish: {e}")))?;
        }
        if !self.shared.closed.load(Ordering::SeqCst) {
            self.shared.state.send_replace(ConnectionState::Disconnected { reason: None });
        }
        Ok(())
    }

    /// Gracefully disconnects and closes the client for good: later operations fail with
    /// [`ErrorKind::Closed`].
    pub async fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.permits.close();
        let _ = self.disconnect().await;
        self.shared.state.send_replace(ConnectionState::Closed);
    }

    /// Closes at once without waiting: outstanding sends fail with [`ErrorKind::Closed`] and
    /// their completions have all run when this returns (the C SDK's `Destroy` semantics).
    pub fn close_now(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.permits.close();
        let session = self.shared.session.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(session) = session {
            session.abort(Error::new(ErrorKind::Closed, "the client was closed before the broker acknowledged this message"));
        }
        self.shared.state.send_replace(ConnectionState::Closed);
    }

    /// Whether the client was closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// [`Client::connect`], blocking the calling thread.
    pub fn connect_blocking(&self) -> Result<()> {
        crate::runtime::block_on(self.connect())
    }

    /// [`Client::send_message`], blocking the calling thread.
    pub fn send_message_blocking(&self, message: &Message) -> Result<()> {
        crate::runtime::block_on(self.send_message(message))
    }

    /// [`Client::disconnect`], blocking the calling thread.
    pub fn disconnect_blocking(&self) -> Result<()> {
        crate::runtime::block_on(self.disconnect())
    }

    /// [`Client::close`], blocking the calling thread.
    pub fn close_blocking(&self) {
        crate::runtime::block_on(self.close())
    }
}

impl Shared {
    /// Validates and encodes on the caller's thread, so a bad message fails before it takes
    /// a place in the queue and the session task only moves bytes. Sizes are checked first:
    /// a 10 MB body fails with `MESSAGE_TOO_LARGE` at once, without being parsed.
    fn prepare(&self, message: &Message) -> Result<Prepared> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(closed_error());
        }
        let with_id;
        let message = if self.options.message_ids == MessageIdPolicy::WhenUnset && message.message_id().is_none() {
            with_id = message.clone().with_message_id(uuid::Uuid::new_v4().to_string());
            &with_id
        } else {
            message
        };
        let topic = telemetry_topic(&self.identity, message)?;
        if message.is_security_message() {
            match self.options.validation {
                ValidationMode::Strict => schema::check(message.body())?,
                ValidationMode::Warn => {
                    if !schema::is_valid(message.body()) {
                        let error = Error::schema(schema::validate(message.body()));
                        tracing::warn!(count = error.violations().len(), "sending a security message that breaks the schema: {error}");
                    }
                }
                ValidationMode::Off => {}
            }
        }
        Ok(Prepared { topic, payload: message.body_bytes().clone() })
    }

    async fn permit_async(&self) -> Result<OwnedSemaphorePermit> {
        match self.permits.clone().try_acquire_owned() {
            Ok(p) => Ok(p),
            Err(tokio::sync::TryAcquireError::Closed) => Err(closed_error()),
            Err(tokio::sync::TryAcquireError::NoPermits) => match self.options.queue_policy {
                QueuePolicy::FailFast => Err(self.queue_full()),
                QueuePolicy::Block => self.permits.clone().acquire_owned().await.map_err(|_| closed_error()),
            },
        }
    }

    fn permit_blocking(&self) -> Result<OwnedSemaphorePermit> {
        match self.permits.clone().try_acquire_owned() {
            Ok(p) => Ok(p),
            Err(tokio::sync::TryAcquireError::Closed) => Err(closed_error()),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                let on_runtime_thread = tokio::runtime::Handle::try_current().is_ok();
                if self.options.queue_policy == QueuePolicy::FailFast || on_runtime_thread {
                    return Err(self.queue_full());
                }
                crate::runtime::block_on(self.permits.clone().acquire_owned()).map_err(|_| closed_error())
            }
        }
    }

    fn queue_full(&self) -> Error {
        Error::new(
            ErrorKind::QueueFull,
            format!("the send queue is full ({} messages awaiting PUBACK)", self.options.queue_capacity),
        )
    }

    /// The live session, started (connecting in the background) when there is none.
    fn session(self: &Arc<Self>) -> Result<Arc<Session>> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(closed_error());
        }
        let mut slot = self.session.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slot.as_ref().filter(|s| !s.is_finished()) {
            return Ok(s.clone());
        }
        let session = Session::start(SessionConfig {
            endpoint: self.endpoint.clone(),
            state: self.state.clone(),
            backoff: self.options.reconnect,
            puback_timeout: self.options.puback_timeout,
            connect_timeout: self.options.connect_timeout,
            // Room for the durable queue's leftovers on top of the send queue: without it, more
            // leftovers than the queue holds were refused and waited for the next process.
            extra_requests: self.recovered.lock().unwrap_or_else(|p| p.into_inner()).len(),
        });
        *slot = Some(session.clone());
        drop(slot);
        self.resend_recovered(&session);
        Ok(session)
    }

    /// Hands the durable queue's leftovers from an earlier run to a new session. One that
    /// fails (the session's first connect, say) goes back to the list for the next session.
    fn resend_recovered(self: &Arc<Self>, session: &Arc<Session>) {
        let (Some(queue), recovered) = (&self.durable, std::mem::take(&mut *self.recovered.lock().unwrap_or_else(|p| p.into_inner()))) else {
            return;
        };
        for entry in recovered {
            let (queue, weak) = (queue.clone(), Arc::downgrade(self));
            let Recovered { id, topic, payload } = entry;
            let retry = Recovered { id, topic: topic.clone(), payload: payload.clone() };
            let completion: Completion = Box::new(move |r: Result<()>| match r {
                Ok(()) => queue.remove(id),
                Err(_) => {
                    if let Some(shared) = weak.upgrade() {
                        shared.recovered.lock().unwrap_or_else(|p| p.into_inner()).push(retry);
                    }
                }
            });
            if let Err((pending, e)) = session.send(topic, payload, Pending::new(completion, None)) {
                pending.complete(Err(e));
            }
        }
    }

    fn enqueue(self: &Arc<Self>, prepared: Prepared, pending: Pending) -> Result<()> {
        let session = self.session()?;
        let Prepared { topic, payload } = prepared;
        // Only a push and a wake-up: the session's feeder, on a runtime thread, takes the
        // tracker's and rumqttc's locks (see `inbox`).
        match session.send(topic, payload, pending) {
            Ok(()) => Ok(()),
            // The session ended (e.g. its first connection attempt was refused at once) between
            // starting and taking this message. That is a delivery failure like any other: report
            // it through the completion, on the runtime, never from this call, so a send does not
            // fail sometimes here and sometimes later depending on timing.
            Err((pending, e)) if !self.closed.load(Ordering::SeqCst) => {
                crate::runtime::handle().spawn(async move { pending.complete(Err(e)) });
                Ok(())
            }
            Err((_pending, e)) => Err(e),
        }
    }
}

/// Wraps a completion so that an acknowledged message leaves the durable queue. A message
/// that failed stays there and is re-sent by the next client that opens the queue.
fn durable_completion(queue: &Arc<DurableQueue>, id: u64, completion: Completion) -> Completion {
    let queue = queue.clone();
    Box::new(move |r: Result<()>| {
        if r.is_ok() {
            queue.remove(id);
        }
        completion(r)
    })
}

impl Drop for Shared {
    fn drop(&mut self) {
        let session = self.session.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(session) = session {
            session.abort(Error::new(ErrorKind::Closed, "the client was dropped before the broker acknowledged this message"));
        }
    }
}
