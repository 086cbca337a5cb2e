//! # iotsec-testkit
//!
//! What every end-to-end test needs: a real mosquitto over TLS on 127.0.0.1 ([`Mosquitto`])
//! and a subscriber that records what it received ([`Recorder`]). Rust tests use the library;
//! the other languages' test scripts run the `iotsec-testkit up` binary, which starts both and
//! writes their ports and file paths to `env.json`.
#![warn(missing_docs)]

pub mod mosquitto;
pub mod proxy;
pub mod recorder;

pub use mosquitto::{free_port, Mosquitto, MosquittoOptions};
pub use proxy::LatencyProxy;
pub use recorder::{Record, Recorder, RecorderOptions};

/// A connection string for `device` (and `module`) on `localhost` with a fixed test key.
/// mosquitto accepts any password; the local hub checks it.
pub fn test_connection_string(device: &str, module: Option<&str>) -> String {
    let module = module.map(|m| format!(";ModuleId={m}")).unwrap_or_default();
    format!("HostName=localhost;DeviceId={device}{module};SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
}

/// The guide's example message made schema-valid (the guide omits the required `UserId`).
pub const GUIDE_MESSAGE_VALID: &str = include_str!("../../tests/vectors/guide/guide_message_valid.json");

/// The guide's example message as published (invalid: no `UserId`).
pub const GUIDE_MESSAGE: &str = include_str!("../../tests/vectors/guide/guide_message.json");
