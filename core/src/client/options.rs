//! Client options, with the defaults of the official SDKs and the environment fallbacks that
//! let the guide's code run unchanged against a local broker.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::sas::DEFAULT_TOKEN_LIFETIME;
use crate::schema::ValidationMode;

/// The IoT Hub MQTT port.
pub const DEFAULT_PORT: u16 = 8883;

/// Environment variable naming a PEM CA file, used when the code supplies no CA.
pub const ENV_CA_FILE: &str = "IOTSEC_CA_FILE";

/// Environment variable giving the MQTT port, used when the code supplies no port.
pub const ENV_MQTT_PORT: &str = "IOTSEC_MQTT_PORT";

/// How the client reaches the broker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// MQTT over TLS 1.2+ with the server certificate verified (the only choice for IoT Hub).
    #[default]
    Tls,
    /// MQTT over plain TCP, allowed only when the host is a loopback address (local testing).
    /// There is no way to send credentials unencrypted to another machine.
    PlainTcpLoopbackOnly,
}

/// What a send does when the bounded queue of accepted, unacknowledged messages is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueuePolicy {
    /// Wait for room (back-pressure).
    #[default]
    Block,
    /// Fail at once with [`ErrorKind::QueueFull`].
    FailFast,
}

/// Reconnect back-off: `initial`, doubling up to `max`, each delay moved by up to `jitter`
/// (a fraction, e.g. 0.1 for ±10 %) so a fleet does not reconnect in lock step.
///
/// The back-off starts again from `initial` only when a connection that had been up for at
/// least 10 s is lost. A connection lost sooner (the broker dropping it right away, or
/// another client with the same device id displacing it) counts as one more failed attempt,
/// so two clients sharing a device id reconnect ever more rarely instead of displacing each
/// other forever.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// First delay.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Random spread as a fraction of the delay (0.0 to 1.0).
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(30), jitter: 0.1 }
    }
}

impl Backoff {
    /// The delay before reconnect attempt `attempt` (0-based), without jitter.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(20));
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// Options for a [`Client`](super::Client). Every field has a working default.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// PEM file with the CA certificate(s) to trust instead of the system roots
    /// (falls back to `IOTSEC_CA_FILE`).
    pub ca_file: Option<PathBuf>,
    /// PEM text with the CA certificate(s) to trust (takes precedence over `ca_file`).
    pub ca_pem: Option<String>,
    /// MQTT port (falls back to `IOTSEC_MQTT_PORT`, then 8883).
    pub port: Option<u16>,
    /// TLS (default) or plain TCP on loopback.
    pub transport: Transport,
    /// MQTT keep-alive (default 60 s; IoT Hub allows at most 1,767 s).
    pub keep_alive: Duration,
    /// How long a send waits for its PUBACK (default 60 s).
    pub puback_timeout: Duration,
    /// How long connecting may take, TCP + TLS + CONNACK (default 30 s).
    pub connect_timeout: Duration,
    /// Lifetime of each SAS token the client signs (default 3,600 s). The client renews it
    /// before it expires.
    pub token_lifetime: Duration,
    /// Schema validation of security messages before sending (default strict).
    pub validation: ValidationMode,
    /// PUBLISH packets in flight at once, awaiting PUBACK (default 100).
    pub max_in_flight: u16,
    /// Messages accepted but not yet acknowledged, in flight included (default 10,000).
    pub queue_capacity: usize,
    /// What a send does when that queue is full.
    pub queue_policy: QueuePolicy,
    /// Reconnect back-off after a lost connection.
    pub reconnect: Backoff,
    /// Client certificate (PEM) for `x509=true`.
    pub client_cert_file: Option<PathBuf>,
    /// Client private key (PEM) for `x509=true`.
    pub client_key_file: Option<PathBuf>,
    /// A file for the durable queue (redb): when set, every accepted message is stored there
    /// before the send goes on and removed on PUBACK, so messages survive a crash of this
    /// process and are re-sent when a client opens the same file again. Costs an fsync per
    /// batch of accepted messages.
    pub durable_queue: Option<PathBuf>,
    /// Whether a message sent without a message id gets one from the client (the C# SDK's
    /// `SdkAssignsMessageId`). Off by default, as in every official SDK: what is sent is
    /// then byte for byte what they send (WIRE.md's golden vectors).
    pub message_ids: MessageIdPolicy,
    /// The `{binding} {runtime version}` part of the user agent, e.g. `python 3.11.7`.
    /// Set by the language packages; Rust callers leave it unset.
    pub product_info: Option<String>,
}

/// Whether the client gives a message without a message id one of its own.
///
/// Delivery is at-least-once: a message whose PUBACK was lost in a reconnect is sent again.
/// Receivers drop such duplicates by message id (the local hub does), which only works when
/// every message has one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessageIdPolicy {
    /// Send each message as it is (the official SDKs' behaviour).
    #[default]
    Never,
    /// A message without a message id is sent with a new random UUID (v4) as its `$.mid`,
    /// chosen once when the message is accepted, so a re-send carries the same id. The
    /// caller's message is not changed.
    WhenUnset,
}

impl MessageIdPolicy {
    /// The name the language packages accept (`never`, `when_unset`; read by
    /// [`ClientOptions::set_by_name`], which also takes `WhenUnset` and `when-unset`).
    pub fn name(self) -> &'static str {
        match self {
            MessageIdPolicy::Never => "never",
            MessageIdPolicy::WhenUnset => "when_unset",
        }
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            ca_file: None,
            ca_pem: None,
            port: None,
            transport: Transport::Tls,
            keep_alive: Duration::from_secs(60),
            puback_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(30),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            validation: ValidationMode::Strict,
            max_in_flight: 100,
            queue_capacity: 10_000,
            queue_policy: QueuePolicy::Block,
            reconnect: Backoff::default(),
            client_cert_file: None,
            client_key_file: None,
            durable_queue: None,
            message_ids: MessageIdPolicy::Never,
            product_info: None,
        }
    }
}

impl ClientOptions {
    /// The port to use: the option, else `IOTSEC_MQTT_PORT`, else 8883.
    pub fn effective_port(&self) -> Result<u16> {
        if let Some(p) = self.port {
            return Ok(p);
        }
        match std::env::var(ENV_MQTT_PORT) {
            Ok(v) if !v.is_empty() => v.parse().map_err(|_| {
                Error::new(ErrorKind::InvalidArgument, format!("{ENV_MQTT_PORT}=`{v}` is not a port number"))
            }),
            _ => Ok(DEFAULT_PORT),
        }
    }

    /// The CA file to use: the option, else `IOTSEC_CA_FILE`.
    pub fn effective_ca_file(&self) -> Option<PathBuf> {
        self.ca_file.clone().or_else(|| std::env::var_os(ENV_CA_FILE).filter(|v| !v.is_empty()).map(PathBuf::from))
    }

    /// Checks ranges once, at client creation, so a bad option fails early and by name.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::new(ErrorKind::InvalidArgument, m.to_string()));
        if self.keep_alive > Duration::from_secs(1767) {
            return bad("keep_alive is over 1,767 s, IoT Hub's maximum");
        }
        if self.keep_alive < Duration::from_secs(5) && !self.keep_alive.is_zero() {
            return bad("keep_alive must be at least 5 s (or 0 to disable)");
        }
        if self.puback_timeout.is_zero() {
            return bad("puback_timeout must be more than 0");
        }
        if self.token_lifetime < Duration::from_secs(5) {
            return bad("token_lifetime must be at least 5 s");
        }
        if self.max_in_flight == 0 {
            return bad("max_in_flight must be at least 1");
        }
        if self.queue_capacity == 0 {
            return bad("queue_capacity must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.reconnect.jitter) || self.reconnect.initial.is_zero() {
            return bad("reconnect back-off needs an initial delay above 0 and a jitter between 0 and 1");
        }
        Ok(())
    }
}
