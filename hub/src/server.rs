//! The MQTT 3.1.1 server side of the hub: TLS and plain listeners on 127.0.0.1, CONNECT
//! authentication with real CONNACK refusal codes, and a per-connection loop that stores each
//! batch of publishes before it acknowledges them.
//!
//! Packets are framed and encoded with rumqttc's MQTT 3.1.1 codec (`rumqttc::mqttbytes::v4`).
//! IoT Hub's device surface is small, and so is this: telemetry publishes at QoS 0 or 1,
//! PINGREQ, DISCONNECT, and SUBSCRIBE answered so that SDKs which subscribe at start-up keep
//! working (nothing is ever delivered to them). Like IoT Hub, the hub closes the connection of a
//! client that publishes on a topic that is not its own or with QoS 2, and when its SAS token
//! expires.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use iotsec::sas::unix_now;
use iotsec::{Identity, MAX_BODY_BYTES, MAX_TOPIC_BYTES};
use rumqttc::mqttbytes::Error as CodecError;
use rumqttc::{ConnAck, ConnectReturnCode, Packet, PubAck, PubComp, Publish, SubAck, SubscribeReasonCode, UnsubAck};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio_rustls::TlsAcceptor;

use crate::auth::{authenticate, code_number, Authenticated};
use crate::pipeline::Pipeline;
use crate::registry::Registry;
use crate::stats::{add, Counters};

/// The largest packet the hub reads: a 262,144-byte body, a 65,535-byte topic, and the
/// topic length and packet id fields. Anything bigger is refused before it is read.
pub(crate) const MAX_PACKET: usize = MAX_BODY_BYTES + MAX_TOPIC_BYTES + 4;

/// How long a new connection may take for TLS and CONNECT.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every connection shares.
pub(crate) struct Shared {
    pub registry: Registry,
    pub pipeline: Pipeline,
    pub counters: Arc<Counters>,
    /// Live sessions by client id: a new CONNECT with the same id closes the old one.
    pub sessions: Mutex<HashMap<String, (u64, Arc<Notify>)>>,
    pub next_id: AtomicU64,
}

/// Accepts connections until `shutdown` turns true.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = if tls.is_some() { "tls" } else { "plain" };
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let tls = tls.clone();
                let shared = shared.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move { connection(stream, peer, tls, name, shared, shutdown).await });
            }
            Err(e) => {
                // Out of file descriptors, usually: wait instead of spinning.
                tracing::warn!(listener = name, "accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    listener: &'static str,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    match tls {
        None => session(stream, peer, listener, shared, shutdown).await,
        Some(acceptor) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(tls_stream)) => session(tls_stream, peer, listener, shared, shutdown).await,
            Ok(Err(e)) => tracing::info!(%peer, "TLS handshake failed (does the client trust the hub's CA?): {e}"),
            Err(_) => tracing::info!(%peer, "TLS handshake did not finish within {} s", HANDSHAKE_TIMEOUT.as_secs()),
        },
    }
}

/// Why reading a packet failed.
pub(crate) enum ReadError {
    Closed,
    Io(std::io::Error),
    Codec(CodecError),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Closed => f.write_str("the client closed the connection"),
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Codec(CodecError::PayloadSizeLimitExceeded(n)) => {
                write!(f, "a packet of {n} bytes; the hub reads at most {MAX_PACKET} (a 262,144-byte body and a 65,535-byte topic)")
            }
            ReadError::Codec(e) => write!(f, "malformed MQTT packet: {e}"),
        }
    }
}

/// Reads until one whole packet is framed.
async fn read_packet<R: AsyncRead + Unpin>(rd: &mut R, buf: &mut BytesMut) -> Result<Packet, ReadError> {
    loop {
        match Packet::read(buf, MAX_PACKET) {
            Ok(p) => return Ok(p),
            Err(CodecError::InsufficientBytes(n)) => buf.reserve(n.max(1024)),
            Err(e) => return Err(ReadError::Codec(e)),
        }
        match rd.read_buf(buf).await {
            Ok(0) => return Err(ReadError::Closed),
            Ok(_) => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
}

async fn refuse<W: AsyncWrite + Unpin>(wr: &mut W, code: ConnectReturnCode) {
    let mut out = BytesMut::with_capacity(4);
    if ConnAck::new(code, false).write(&mut out).is_ok() {
        let _ = wr.write_all(&out).await;
        let _ = wr.flush().await;
    }
    let _ = wr.shutdown().await;
}

/// What the hub does with the first packet of a connection.
pub(crate) enum ConnectOutcome {
    /// A device or module proved who it is: answer CONNACK 0 and serve the connection.
    Accepted {
        auth: Authenticated,
        /// The CONNECT's keep-alive, in seconds.
        keep_alive: u16,
    },
    /// Answer CONNACK with this refusal code, then close (`reason` is logged already).
    Refused { code: ConnectReturnCode, reason: String },
    /// Close without an answer.
    Closed,
}

/// Decides on the first packet read from a connection (or why reading it failed): the
/// protocol check and the authentication against the registry. `now` is unix seconds.
pub(crate) fn on_first_packet(shared: &Shared, peer: SocketAddr, first: Result<Packet, ReadError>, now: u64) -> ConnectOutcome {
    let connect = match first {
        Ok(Packet::Connect(c)) => c,
        Ok(other) => {
            tracing::warn!(%peer, "the first packet was {:?}, not CONNECT: closing", packet_name(&other));
            return ConnectOutcome::Closed;
        }
        Err(ReadError::Codec(e @ (CodecError::InvalidProtocolLevel(_) | CodecError::InvalidProtocol))) => {
            add(&shared.counters.connections_refused, 1);
            tracing::warn!(%peer, code = 1, "refused CONNECT: {e}; IoT Hub speaks MQTT 3.1.1 (protocol level 4)");
            return ConnectOutcome::Refused {
                code: ConnectReturnCode::RefusedProtocolVersion,
                reason: format!("{e}; IoT Hub speaks MQTT 3.1.1 (protocol level 4)"),
            };
        }
        Err(e) => {
            tracing::info!(%peer, "no valid CONNECT: {e}");
            return ConnectOutcome::Closed;
        }
    };
    if connect.protocol != rumqttc::Protocol::V4 {
        add(&shared.counters.connections_refused, 1);
        tracing::warn!(%peer, client_id = %connect.client_id, code = 1, "refused CONNECT: MQTT 5; IoT Hub speaks MQTT 3.1.1 (protocol level 4)");
        return ConnectOutcome::Refused {
            code: ConnectReturnCode::RefusedProtocolVersion,
            reason: "MQTT 5; IoT Hub speaks MQTT 3.1.1 (protocol level 4)".to_string(),
        };
    }
    let login = connect.login.as_ref();
    let auth = authenticate(
        &shared.registry,
        &connect.client_id,
        login.map(|l| l.username.as_str()),
        login.map(|l| l.password.as_str()),
        now,
    );
    match auth {
        Ok(auth) => ConnectOutcome::Accepted { auth, keep_alive: connect.keep_alive },
        Err(refusal) => {
            add(&shared.counters.connections_refused, 1);
            tracing::warn!(
                %peer,
                client_id = %connect.client_id,
                code = code_number(refusal.code),
                "refused CONNECT: {}",
                refusal.reason
            );
            ConnectOutcome::Refused { code: refusal.code, reason: refusal.reason }
        }
    }
}

/// Handles every whole packet in `buf` from the connection of `identity`: publishes are
/// routed and stored batch by batch, and the answers (PUBACK, SUBACK, PINGRESP, ...) are
/// queued in `out`. A partial packet stays in `buf`. Returns why the connection ends, if it
/// does (and whether that is the client's fault), after the packets before it were handled.
pub(crate) fn handle_packets(
    shared: &Shared,
    identity: &Identity,
    buf: &mut BytesMut,
    publishes: &mut Vec<Publish>,
    out: &mut BytesMut,
) -> Option<(String, bool)> {
    let mut end: Option<(String, bool)> = None;
    loop {
        let packet = match Packet::read(buf, MAX_PACKET) {
            Ok(p) => p,
            Err(CodecError::InsufficientBytes(n)) => {
                buf.reserve(n.max(1024));
                break;
            }
            Err(e) => {
                // The publishes before a malformed packet are stored and acknowledged first, as
                // they would be had the malformed one come in a later read.
                end = Some(match store_batch(shared, identity, publishes, out) {
                    Err(why) => (why, true),
                    Ok(()) => (ReadError::Codec(e).to_string(), true),
                });
                break;
            }
        };
        if let Packet::Publish(p) = packet {
            publishes.push(p);
            continue;
        }
        if let Err(why) = store_batch(shared, identity, publishes, out) {
            end = Some((why, true));
            break;
        }
        match packet {
            Packet::PingReq => {
                let _ = rumqttc::PingResp.write(out);
            }
            Packet::Subscribe(s) => {
                let codes = s.filters.iter().map(|f| subscription(identity, &f.path, f.qos)).collect();
                let _ = SubAck::new(s.pkid, codes).write(out);
            }
            Packet::Unsubscribe(u) => {
                let _ = UnsubAck::new(u.pkid).write(out);
            }
            Packet::PubRel(r) => {
                let _ = PubComp::new(r.pkid).write(out);
            }
            Packet::Disconnect => {
                end = Some(("the client disconnected".to_string(), false));
                break;
            }
            // Acknowledgements of publishes the hub never sends: ignore.
            Packet::PubAck(_) | Packet::PubRec(_) | Packet::PubComp(_) => {}
            other => {
                end = Some((format!("unexpected {} from a connected client", packet_name(&other)), true));
                break;
            }
        }
    }
    if end.is_none() {
        if let Err(why) = store_batch(shared, identity, publishes, out) {
            end = Some((why, true));
        }
    }
    end
}

async fn session<S: AsyncRead + AsyncWrite + Unpin + Send>(
    stream: S,
    peer: SocketAddr,
    listener: &'static str,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf = BytesMut::with_capacity(16 * 1024);

    let first = match tokio::time::timeout(HANDSHAKE_TIMEOUT, read_packet(&mut rd, &mut buf)).await {
        Ok(r) => r,
        Err(_) => {
            tracing::info!(%peer, "no CONNECT within {} s: closing", HANDSHAKE_TIMEOUT.as_secs());
            return;
        }
    };
    let (Authenticated { identity, expires_at, user_agent }, keep_alive_secs) = match on_first_packet(&shared, peer, first, unix_now()) {
        ConnectOutcome::Accepted { auth, keep_alive } => (auth, keep_alive),
        ConnectOutcome::Refused { code, .. } => {
            refuse(&mut wr, code).await;
            return;
        }
        ConnectOutcome::Closed => return,
    };

    // A new connection with the same client id takes over (MQTT 3.1.1, 3.1.4-2).
    let client_id = identity.client_id();
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let kicked = Arc::new(Notify::new());
    let previous = shared.sessions.lock().unwrap_or_else(|p| p.into_inner()).insert(client_id.clone(), (id, kicked.clone()));
    if let Some((_, old)) = previous {
        old.notify_one();
    }

    let mut out = BytesMut::with_capacity(4 * 1024);
    let _ = ConnAck::new(ConnectReturnCode::Success, false).write(&mut out);
    if wr.write_all(&out).await.is_err() {
        forget(&shared, &client_id, id);
        return;
    }
    out.clear();
    add(&shared.counters.connections_accepted, 1);
    tracing::info!(
        %peer,
        %client_id,
        listener,
        keep_alive = keep_alive_secs,
        user_agent = user_agent.as_deref().unwrap_or(""),
        "device connected"
    );

    let keep_alive = (keep_alive_secs > 0).then(|| Duration::from_secs(u64::from(keep_alive_secs)) * 3 / 2);
    // Capped: a token may claim to expire in the year 500,000,000,000.
    let token_left = Duration::from_secs(expires_at.saturating_sub(unix_now()).min(100 * 365 * 86_400));
    let token_expiry = tokio::time::Instant::now() + token_left;
    let mut publishes: Vec<Publish> = Vec::new();
    let reason = loop {
        // Packets that arrived with the CONNECT (a client need not wait for the CONNACK) are
        // handled before the first read, then whatever each read brings.
        let end = handle_packets(&shared, &identity, &mut buf, &mut publishes, &mut out);
        if !out.is_empty() {
            if let Err(e) = wr.write_all(&out).await {
                break format!("write failed: {e}");
            }
            out.clear();
        }
        if let Some((why, error)) = end {
            if error {
                add(&shared.counters.connections_closed_for_errors, 1);
                tracing::warn!(%client_id, "closing the connection: {why}");
            }
            break why;
        }
        let read = async {
            match keep_alive {
                Some(limit) => tokio::time::timeout(limit, rd.read_buf(&mut buf)).await,
                None => Ok(rd.read_buf(&mut buf).await),
            }
        };
        let read = tokio::select! {
            r = read => r,
            _ = kicked.notified() => break "a newer connection with the same client id took over".to_string(),
            _ = shutdown.changed() => break "the hub is stopping".to_string(),
            _ = tokio::time::sleep_until(token_expiry) => break "its SAS token expired (IoT Hub closes the connection then; the client must reconnect with a new token)".to_string(),
        };
        match read {
            Err(_) => break format!("no packet within 1.5 x its keep-alive of {keep_alive_secs} s"),
            Ok(Ok(0)) => break "the client closed the connection".to_string(),
            Ok(Err(e)) => break format!("read failed: {e}"),
            Ok(Ok(_)) => {}
        }
    };
    let _ = wr.shutdown().await;
    forget(&shared, &client_id, id);
    tracing::info!(%client_id, "device disconnected: {reason}");
}

/// Stores the publishes read so far and queues their acknowledgements.
fn store_batch(shared: &Shared, identity: &Identity, publishes: &mut Vec<Publish>, out: &mut BytesMut) -> Result<(), String> {
    if publishes.is_empty() {
        return Ok(());
    }
    let routed = shared.pipeline.route(identity, publishes);
    for p in &publishes[..routed.accepted] {
        if p.qos == rumqttc::QoS::AtLeastOnce {
            let _ = PubAck::new(p.pkid).write(out);
        }
    }
    publishes.clear();
    routed.error.map_or(Ok(()), Err)
}

/// The SUBACK code for a filter: the device-side topics IoT Hub allows are granted (at most
/// QoS 1; nothing is ever delivered on them), anything else fails.
fn subscription(identity: &Identity, filter: &str, qos: rumqttc::QoS) -> SubscribeReasonCode {
    let own = format!("devices/{}/", identity.device_id());
    let allowed = (filter.starts_with(&own) && (filter.contains("/messages/devicebound/") || filter.contains("/inputs/")))
        || filter.starts_with("$iothub/twin/")
        || filter.starts_with("$iothub/methods/");
    if allowed {
        SubscribeReasonCode::Success(if qos == rumqttc::QoS::AtMostOnce { qos } else { rumqttc::QoS::AtLeastOnce })
    } else {
        SubscribeReasonCode::Failure
    }
}

fn forget(shared: &Shared, client_id: &str, id: u64) {
    let mut sessions = shared.sessions.lock().unwrap_or_else(|p| p.into_inner());
    if sessions.get(client_id).is_some_and(|(current, _)| *current == id) {
        sessions.remove(client_id);
    }
}

fn packet_name(p: &Packet) -> &'static str {
    match p {
        Packet::Connect(_) => "CONNECT",
        Packet::ConnAck(_) => "CONNACK",
        Packet::Publish(_) => "PUBLISH",
        Packet::PubAck(_) => "PUBACK",
        Packet::PubRec(_) => "PUBREC",
        Packet::PubRel(_) => "PUBREL",
        Packet::PubComp(_) => "PUBCOMP",
        Packet::Subscribe(_) => "SUBSCRIBE",
        Packet::SubAck(_) => "SUBACK",
        Packet::Unsubscribe(_) => "UNSUBSCRIBE",
        Packet::UnsubAck(_) => "UNSUBACK",
        Packet::PingReq => "PINGREQ",
        Packet::PingResp => "PINGRESP",
        Packet::Disconnect => "DISCONNECT",
    }
}
