//! One MQTT session: the task that drives rumqttc's event loop, and its watchdog.
//!
//! The task is the only owner of the [`EventLoop`]; senders push their publishes into the
//! session's [`Inbox`], whose feeder task hands them to rumqttc's request channel on a runtime
//! thread, and learn their outcome through the [`Tracker`]. The task reconnects with
//! back-off after a lost connection, signs a fresh token for every connection attempt, and
//! reconnects on purpose before a token expires. Unacknowledged publishes are re-sent after
//! every reconnect, whether or not the broker kept the session.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, NetworkOptions, Outgoing, Packet, Request};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorKind, Result};
use crate::sas::unix_now;

use super::connect::Endpoint;
use super::inbox::{Inbox, Request as SendRequest};
use super::options::Backoff;
use super::state::{ChangeReason, ConnectionState, StateCell};
use super::tracker::{Pending, Tracker};

/// Flags the client and the watchdog raise for the session task.
#[derive(Default)]
pub(crate) struct Control {
    /// A graceful disconnect is under way: the next DISCONNECT or error ends the task.
    closing: AtomicBool,
    /// The watchdog asked for a reconnect (token renewal or PUBACK timeout).
    reconnect_now: AtomicBool,
    /// Why the watchdog asked: [`PLANNED_RENEWAL`] or [`PLANNED_PUBACK_TIMEOUT`].
    planned: AtomicU8,
}

/// How long a connection must have been up for its loss to start the reconnect back-off again
/// from the first step. A connection the broker drops sooner (another client with the same
/// device id displacing this one, a broker that accepts and then closes) counts as one more
/// failed attempt: the next reconnect waits the next, longer step. Without this, two clients
/// sharing a device id would displace each other once a second forever.
pub(crate) const STABLE_CONNECTION: Duration = Duration::from_secs(10);

const PLANNED_RENEWAL: u8 = 1;
const PLANNED_PUBACK_TIMEOUT: u8 = 2;

/// The reason a planned reconnect reports (the connection is dropped on purpose).
fn renewal_reason() -> Error {
    Error::new(ErrorKind::ConnectionLost, "reconnecting with a new SAS token before the current one expires")
}

pub(crate) struct Session {
    client: AsyncClient,
    tracker: Arc<Tracker>,
    inbox: Arc<Inbox>,
    control: Arc<Control>,
    /// `None` until the first connection attempt ends, then its outcome.
    first_outcome: watch::Receiver<Option<Result<()>>>,
    task: JoinHandle<()>,
    watchdog: JoinHandle<()>,
    feeder: JoinHandle<()>,
}

/// What the session task needs besides the event loop.
pub(crate) struct SessionConfig {
    pub endpoint: Arc<Endpoint>,
    pub state: Arc<StateCell>,
    pub backoff: Backoff,
    pub puback_timeout: Duration,
    pub connect_timeout: Duration,
    /// Requests beyond the send queue's capacity the channel must hold: the durable queue's
    /// leftovers, which are re-sent without taking a place in the queue.
    pub extra_requests: usize,
}

impl Session {
    /// Starts a session on the shared runtime; it connects in the background.
    pub fn start(config: SessionConfig) -> Arc<Session> {
        let (password, expiry) = config.endpoint.password();
        let mqtt_options = config.endpoint.mqtt_options(&password);
        let (client, mut eventloop) = AsyncClient::new(mqtt_options, config.endpoint.request_capacity() + config.extra_requests);
        let mut network = NetworkOptions::new();
        network.set_connection_timeout(config.connect_timeout.as_secs().max(1));
        eventloop.set_network_options(network);

        let tracker = Arc::new(Tracker::default());
        let inbox = Arc::new(Inbox::default());
        let control = Arc::new(Control::default());
        let (outcome_tx, first_outcome) = watch::channel(None);
        let renew_at = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
        // A Rust caller inside a multi-threaded tokio runtime gets its session on that runtime,
        // so awaiting a send hands over between tasks on one thread instead of waking another
        // runtime's thread (about half the cost of a send that awaits each PUBACK). Not on a
        // current-thread runtime: a caller blocking it (a sync callback API, a blocking
        // receive) would starve its own session. Callers from other languages have no tokio
        // context and use the shared runtime.
        let handle = tokio::runtime::Handle::try_current()
            .ok()
            .filter(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
            .unwrap_or_else(crate::runtime::handle);
        let task = handle.spawn(run(
            eventloop,
            client.clone(),
            config.endpoint.clone(),
            tracker.clone(),
            inbox.clone(),
            control.clone(),
            config.state.clone(),
            outcome_tx,
            config.backoff,
            expiry,
            renew_at.clone(),
        ));
        let watchdog = handle.spawn(watchdog(
            client.clone(),
            tracker.clone(),
            control.clone(),
            config.puback_timeout,
            renew_at,
        ));
        let feeder = handle.spawn(inbox.clone().feed(tracker.clone(), client.clone()));
        Arc::new(Session { client, tracker, inbox, control, first_outcome, task, watchdog, feeder })
    }

    /// Queues a publish for the session, which completes `pending` exactly once. A session
    /// that has ended gives it back with the reason.
    ///
    /// A caller without a tokio context (every language package's thread) only pushes into
    /// the inbox and wakes the feeder: the tracker and rumqttc's channel are left to runtime
    /// threads. A caller inside a tokio runtime (a Rust application's task or `block_on`, a
    /// completion callback on an iotsec worker) hands the publish over itself when nothing
    /// waits in the inbox, as rumqttc's own API does: no lock is held across a thread
    /// wake-up there, and it saves waking the feeder for every send when the queue is full
    /// and each PUBACK lets one more in. Checking the inbox first keeps a caller's sends in
    /// order: while any of its earlier sends is still in the inbox, a send goes behind it.
    pub fn send(&self, topic: String, payload: Bytes, pending: Pending) -> std::result::Result<(), (Pending, Error)> {
        if tokio::runtime::Handle::try_current().is_ok() && self.inbox.outstanding() == 0 {
            let client = &self.client;
            return self.tracker.accept(pending, || {
                client
                    .try_publish(topic, rumqttc::QoS::AtLeastOnce, false, Vec::from(payload))
                    .map_err(|e| Error::new(ErrorKind::Internal, format!("the session did not take the message: {e}")))
            });
        }
        self.inbox.push(SendRequest { topic, payload, pending }).map_err(|(r, e)| (r.pending, e))
    }

    /// Sends accepted and not yet completed (in the inbox, queued in rumqttc or in flight).
    pub fn outstanding(&self) -> usize {
        self.inbox.outstanding() + self.tracker.outstanding()
    }

    /// Waits for the first connection attempt to end.
    pub async fn first_outcome(&self) -> Result<()> {
        let mut rx = self.first_outcome.clone();
        let outcome = match rx.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or(Ok(())),
            Err(_) => Err(Error::new(ErrorKind::Closed, "the client was closed while connecting")),
        };
        outcome
    }

    /// Graceful end: waits (up to `flush_timeout`) for outstanding sends to be acknowledged,
    /// sends DISCONNECT, then stops. Sends still outstanding fail with `error`.
    pub async fn shutdown(&self, flush_timeout: Duration, error: Error) {
        let deadline = Instant::now() + flush_timeout;
        while self.outstanding() > 0 && Instant::now() < deadline && !self.task.is_finished() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.control.closing.store(true, Ordering::SeqCst);
        if self.client.try_disconnect().is_ok() {
            let waited = Instant::now();
            while !self.task.is_finished() && waited.elapsed() < Duration::from_secs(2) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        self.abort(error);
    }

    /// Immediate end: stops the task; outstanding sends fail with `error`, their completions
    /// running on the calling thread. The tracker is closed before the task is aborted: a
    /// runtime worker dropping the aborted task would otherwise race to complete them itself
    /// (the C API promises `Destroy` runs them on the destroying thread).
    pub fn abort(&self, error: Error) {
        self.control.closing.store(true, Ordering::SeqCst);
        // The inbox first: sends still in it fail here, and once it is closed no batch is on
        // its way to the tracker, so closing the tracker fails all the others here too.
        self.inbox.close_and_fail(&error);
        self.tracker.close(&error);
        self.task.abort();
        self.watchdog.abort();
        self.feeder.abort();
    }

    /// Whether the session task has ended (first connect failed, or shut down).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
        self.watchdog.abort();
        self.feeder.abort();
    }
}

/// When to renew a token that expires at `expiry`: a fifth of its lifetime early, at least two
/// minutes early (the SDKs renew 120 to 900 s before expiry).
fn renewal_time(expiry: u64) -> u64 {
    let now = unix_now();
    let lifetime = expiry.saturating_sub(now);
    expiry.saturating_sub((lifetime / 5).max(120).min(lifetime / 2))
}

#[allow(clippy::too_many_arguments)]
async fn run(
    mut eventloop: EventLoop,
    client: AsyncClient,
    endpoint: Arc<Endpoint>,
    tracker: Arc<Tracker>,
    inbox: Arc<Inbox>,
    control: Arc<Control>,
    state: Arc<StateCell>,
    first_outcome: watch::Sender<Option<Result<()>>>,
    backoff: Backoff,
    mut expiry: Option<u64>,
    renew_at: Arc<std::sync::atomic::AtomicU64>,
) {
    // If this task is dropped without finishing (its runtime shut down, or it was aborted),
    // every send still waiting must hear about it rather than wait forever.
    let _guard = CloseOnDrop(tracker.clone(), inbox.clone());
    let mut established = false;
    let mut attempt: u32 = 0;
    // When the current (or last) connection was established.
    let mut connected_at: Option<Instant> = None;
    state.send_replace(ConnectionState::Connecting);
    loop {
        let connecting = eventloop.network.is_none();
        let saved = if connecting {
            if established {
                // Every connection attempt presents a fresh token.
                let (password, new_expiry) = endpoint.password();
                eventloop.mqtt_options.set_credentials(endpoint.username.clone(), password);
                expiry = new_expiry;
            }
            // rumqttc drops its re-send queue when the broker kept no session; keep it, so
            // nothing accepted is lost (delivery is at-least-once).
            std::mem::take(&mut eventloop.pending)
        } else {
            VecDeque::new()
        };
        let event = eventloop.poll().await;
        if connecting {
            let mut restored = saved;
            restored.extend(eventloop.pending.drain(..));
            eventloop.pending = restored;
        }
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                established = true;
                connected_at = Some(Instant::now());
                if let Some(e) = expiry.filter(|_| endpoint.can_renew()) {
                    renew_at.store(renewal_time(e), Ordering::Relaxed);
                }
                tracing::info!(client_id = %endpoint.client_id, address = %endpoint.address(), "connected");
                state.send_replace(ConnectionState::Connected);
                first_outcome.send_if_modified(|o| o.is_none() && { *o = Some(Ok(())); true });
            }
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => tracker.on_publish(pkid),
            Ok(Event::Incoming(Packet::PubAck(ack))) => tracker.on_puback(ack.pkid),
            Ok(Event::Outgoing(Outgoing::AwaitAck(pkid))) => tracker.on_collision(pkid),
            Ok(Event::Outgoing(Outgoing::Disconnect)) if control.closing.load(Ordering::SeqCst) => break,
            Ok(_) => {}
            Err(e) => {
                if control.closing.load(Ordering::SeqCst) {
                    break;
                }
                if !connecting {
                    // rumqttc just moved the unsent requests into its replay queue.
                    requeue_unsent(&mut eventloop, &client, &tracker);
                }
                if !connecting && connected_at.is_some_and(|t| t.elapsed() >= STABLE_CONNECTION) {
                    // A connection that lasted: the back-off starts again from its first step.
                    attempt = 0;
                }
                let error = map_connection_error(&e, &endpoint, established);
                if !established {
                    tracing::warn!(client_id = %endpoint.client_id, "connect failed: {error}");
                    inbox.close_and_fail(&error);
                    tracker.close(&error);
                    first_outcome.send_if_modified(|o| o.is_none() && { *o = Some(Err(error.clone())); true });
                    state.send_replace(ConnectionState::Disconnected { reason: Some(error) });
                    break;
                }
                if control.reconnect_now.swap(false, Ordering::SeqCst) {
                    tracing::info!(client_id = %endpoint.client_id, "reconnecting on purpose (token renewal or PUBACK timeout)");
                    let (reason, why) = match control.planned.swap(0, Ordering::SeqCst) {
                        PLANNED_RENEWAL => (renewal_reason(), ChangeReason::ExpiredSasToken),
                        PLANNED_PUBACK_TIMEOUT => (
                            Error::new(ErrorKind::Timeout, "reconnecting because a PUBACK did not come in time"),
                            ChangeReason::CommunicationError,
                        ),
                        _ => {
                            let why = ChangeReason::of_error(&error);
                            (error, why)
                        }
                    };
                    state.set(ConnectionState::Reconnecting { attempt: 0, reason }, why);
                    continue;
                }
                let delay = jittered(backoff.base_delay(attempt), backoff.jitter);
                attempt = attempt.saturating_add(1);
                tracing::warn!(client_id = %endpoint.client_id, attempt, delay_ms = delay.as_millis() as u64, "connection lost: {error}");
                state.send_replace(ConnectionState::Reconnecting { attempt, reason: error });
                tokio::time::sleep(delay).await;
                continue;
            }
        }
        if !connecting && unix_now() >= renew_at.load(Ordering::Relaxed) {
            // Token renewal: drop the connection (re-send queue kept) and reconnect at once
            // with a fresh token.
            renew_at.store(u64::MAX, Ordering::Relaxed);
            control.reconnect_now.store(false, Ordering::SeqCst);
            control.planned.store(0, Ordering::SeqCst);
            tracing::info!(client_id = %endpoint.client_id, "renewing the SAS token");
            state.set(ConnectionState::Reconnecting { attempt: 0, reason: renewal_reason() }, ChangeReason::ExpiredSasToken);
            eventloop.clean();
            requeue_unsent(&mut eventloop, &client, &tracker);
        }
    }
    if !matches!(*state.borrow(), ConnectionState::Disconnected { .. }) {
        state.send_replace(ConnectionState::Disconnected { reason: None });
    }
    let closed = Error::new(ErrorKind::Closed, "the client disconnected before the broker acknowledged this message");
    // After this, the inbox and the tracker refuse new sends, so none can slip into a dead
    // session.
    inbox.close_and_fail(&closed);
    tracker.close(&closed);
    first_outcome.send_if_modified(|o| {
        o.is_none() && {
            *o = Some(Err(Error::new(ErrorKind::Closed, "the client was closed while connecting")));
            true
        }
    });
}

struct CloseOnDrop(Arc<Tracker>, Arc<Inbox>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let error = Error::new(ErrorKind::Closed, "the session ended (client closed, or its runtime shut down) before the broker acknowledged this message");
        self.1.close_and_fail(&error);
        self.0.close(&error);
    }
}

/// Puts the requests rumqttc never sent back into the request channel after a connection ended,
/// keeping only the re-sends of unacknowledged publishes in its replay queue.
///
/// When a connection ends, rumqttc moves into `eventloop.pending` both the publishes in flight
/// (packet ids assigned, to be re-sent) and every request still waiting in the channel (not yet
/// sent, no packet id). It replays `pending` ignoring the in-flight limit and keeps a single
/// "collision" slot: once the packet ids are all taken, each further publish overwrites the
/// previous collision, so those messages are never sent and their sends never complete (the
/// soak over an 80 ms link lost about 5,000 of 15,000 messages at one broker restart). The
/// replay also waits a timer tick per request (about 1 ms each, so 10,000 queued messages took
/// 10 s to drain even on loopback). Back in the channel, they go out at full speed within the
/// in-flight limit.
///
/// The tracker's lock is held throughout, so no new send enters the channel meanwhile (the
/// inbox's feeder needs that lock to hand one over; sends still in the inbox are naturally
/// behind): the channel's order stays the tracker's FIFO order. Requests that entered the channel after
/// rumqttc emptied it are collected again (`clean()` again) so they stay behind the older ones.
fn requeue_unsent(eventloop: &mut EventLoop, client: &AsyncClient, tracker: &Tracker) {
    tracker.exclusive(|| {
        eventloop.clean();
        let mut keep = VecDeque::new();
        let mut unsent = VecDeque::new();
        for request in eventloop.pending.drain(..) {
            match request {
                Request::Publish(p) if p.pkid == 0 => unsent.push_back(p),
                // A reconnect the watchdog asked for: the connection is being renewed anyway.
                Request::Disconnect(_) => {}
                other => keep.push_back(other),
            }
        }
        while let Some(p) = unsent.pop_front() {
            let (topic, qos, retain) = (p.topic.clone(), p.qos, p.retain);
            if client.try_publish(topic, qos, retain, p.payload.to_vec()).is_err() {
                // Cannot happen: the channel has room for every accepted send and was just
                // emptied. Should it happen, rumqttc replays the rest (ahead of the channel, so
                // PUBACKs may then complete the wrong sends).
                tracing::error!(left = unsent.len() + 1, "could not requeue unsent publishes; rumqttc replays them");
                keep.push_back(Request::Publish(p));
                keep.extend(unsent.drain(..).map(Request::Publish));
            }
        }
        eventloop.pending = keep;
    });
}

/// Wakes an idle session for what only time can trigger: a PUBACK that never came, a token
/// about to expire. It fails late sends itself and asks the task to reconnect by sending a
/// DISCONNECT (the only request that makes an idle rumqttc event loop act).
async fn watchdog(
    client: AsyncClient,
    tracker: Arc<Tracker>,
    control: Arc<Control>,
    puback_timeout: Duration,
    renew_at: Arc<std::sync::atomic::AtomicU64>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if control.closing.load(Ordering::SeqCst) {
            return;
        }
        let expired = tracker.expire(puback_timeout, || {
            Error::new(ErrorKind::Timeout, format!("no PUBACK within {} s", puback_timeout.as_secs_f64()))
        });
        // The task renews by itself when it sees traffic; give it a few seconds first.
        let renewal_overdue = unix_now() >= renew_at.load(Ordering::Relaxed).saturating_add(5);
        if (expired > 0 || renewal_overdue) && !control.reconnect_now.swap(true, Ordering::SeqCst) {
            if renewal_overdue {
                renew_at.store(u64::MAX, Ordering::Relaxed);
            }
            control.planned.store(if renewal_overdue { PLANNED_RENEWAL } else { PLANNED_PUBACK_TIMEOUT }, Ordering::SeqCst);
            let _ = client.try_disconnect();
        }
    }
}

fn jittered(delay: Duration, jitter: f64) -> Duration {
    let spread = (fastrand::f64() * 2.0 - 1.0) * jitter;
    delay.mul_f64((1.0 + spread).max(0.0))
}

/// Turns rumqttc's error into iotsec's: which kind, and a message that says what to check.
fn map_connection_error(e: &ConnectionError, endpoint: &Endpoint, established: bool) -> Error {
    let address = endpoint.address();
    if let ConnectionError::ConnectionRefused(code) = e {
        let (number, meaning) = connack_meaning(*code);
        return Error::refused(
            number,
            format!("{address} refused the connection: {meaning} (CONNACK {number}); check the device id and key"),
        );
    }
    if let Some(tls) = find_rustls_error(e) {
        let hint = match tls {
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
                "; pass the CA that signed the server certificate (server_verification_cert / ca / IOTSEC_CA_FILE)"
            }
            rustls::Error::InvalidCertificate(_) => "; the server certificate does not match the host or is not valid",
            _ => "",
        };
        return Error::new(ErrorKind::Tls, format!("TLS handshake with {} failed: {tls}{hint}", endpoint.host));
    }
    match e {
        ConnectionError::Tls(t) => Error::new(ErrorKind::Tls, format!("TLS connection to {address} failed: {t}")),
        ConnectionError::NetworkTimeout if !established => {
            Error::new(ErrorKind::Timeout, format!("no CONNACK from {address} in time"))
        }
        ConnectionError::Io(io) if !established => {
            Error::new(ErrorKind::ConnectionFailed, format!("cannot connect to {address}: {io}"))
        }
        other if !established => Error::new(ErrorKind::ConnectionFailed, format!("cannot connect to {address}: {other}")),
        other => Error::new(ErrorKind::ConnectionLost, format!("connection to {address} lost: {other}")),
    }
}

fn connack_meaning(code: rumqttc::ConnectReturnCode) -> (u8, &'static str) {
    use rumqttc::ConnectReturnCode as C;
    match code {
        C::Success => (0, "accepted"),
        C::RefusedProtocolVersion => (1, "unacceptable protocol version"),
        C::BadClientId => (2, "identifier rejected"),
        C::ServiceUnavailable => (3, "server unavailable"),
        C::BadUserNamePassword => (4, "bad user name or password"),
        C::NotAuthorized => (5, "not authorized"),
    }
}

fn find_rustls_error(e: &ConnectionError) -> Option<&rustls::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                    return Some(tls);
                }
            }
        }
        source = err.source();
    }
    None
}
