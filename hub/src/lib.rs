//! # iotsec-hub
//!
//! A local stand-in for Azure IoT Hub, for developing and testing device software without a
//! cloud account: it authenticates devices like IoT Hub, receives their telemetry, and shows
//! which security messages the service would have dropped, and why.
//!
//! - **MQTT 3.1.1 over TLS on 127.0.0.1** (plus an optional plain TCP port), with a CA and
//!   server certificate made on first start ([`pki`]); ports may be 0 (any free port).
//! - **Device registry** ([`Registry`], `DATA_DIR/registry.json`): devices and modules with
//!   generated keys; [`DeviceCredentials::connection_string`] is ready to paste.
//! - **Authentication like IoT Hub**: client id `{device}` or `{device}/{module}`, user name
//!   `{host}/{clientId}/?api-version=...`, password a SAS token for that identity, signed with
//!   its registry key, not expired. Anything else gets a CONNACK refusal (4 or 5; 1 for a wrong
//!   protocol, 2 for a bad client id) and a log line saying why.
//! - **Routing like the service** ([`Store`]): security messages (`$.ifid`) are validated
//!   with core's schema validator; valid ones are stored one line per event in
//!   `security.jsonl`, invalid ones with their violations in `dropped.jsonl` (the service drops
//!   them silently), other telemetry in `telemetry.jsonl`. Re-deliveries (same device, `$.mid`,
//!   topic and body) are counted, not stored twice.
//! - **Nothing acknowledged is lost**: each batch of publishes is written to the stores before
//!   the hub sends their PUBACKs, and TCP back-pressure slows a client the hub cannot keep up
//!   with.
//!
//! ```no_run
//! use iotsec_hub::{Hub, HubConfig};
//!
//! let hub = Hub::start(HubConfig::new("target/my-hub").plain_port(0))?;
//! let dev1 = hub.add_device("dev1", None)?;
//! println!("{} on port {} (CA {})", dev1.redacted_connection_string(), hub.tls_port(), hub.ca_file().display());
//! // ... a device sends ...
//! for event in hub.store().security_records()? {
//!     println!("{} sent {}", event.device_id, event.event["Name"]);
//! }
//! hub.stop();
//! # Ok::<(), iotsec_hub::HubError>(())
//! ```
//!
//! The `iotsec hub` command (crate `iotsec-cli`) runs the same hub as a process, for tests in
//! other languages: `iotsec hub --data-dir D --port 0 --ready-file F` writes the ports and CA
//! path to `F` ([`HubInfo`]) once it listens.
#![warn(missing_docs)]

mod auth;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod hub;
mod pipeline;
pub mod pki;
pub mod registry;
mod server;
pub mod stats;
pub mod store;

pub use error::HubError;
pub use hub::{running_hub_pid, Hub, HubConfig, HubInfo, IOT_HUB_PORT, PID_FILE};
pub use pipeline::DEFAULT_DEDUPE_WINDOW;
pub use registry::{DeviceCredentials, Registry, DEFAULT_HOST_NAME};
pub use stats::Stats;
pub use store::{DroppedRecord, SecurityRecord, Store, StoreCounts, StoredViolation, TelemetryRecord};
