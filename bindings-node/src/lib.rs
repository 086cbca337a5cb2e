//! The native half of the Node.js package `iotsec` (napi-rs).
//!
//! This module is private to the package: `index.js` wraps it in the `azure-iot-device`-shaped
//! API (`Client`, `ModuleClient`, `Message`, `Mqtt`, ...). It only translates: every rule
//! (validation, topic encoding, SAS, the MQTT session, reconnects) lives in the Rust core.
//!
//! Threading: no call here blocks the JavaScript thread. Sends are converted on it and handed to
//! a per-client task on the shared iotsec runtime, which queues them with core's
//! completion-callback API ([`client`]); connect and close run there too; outcomes come back
//! through one thread-safe function per client, batched ([`sink`]). No second async runtime
//! exists (napi's `async` feature is off on purpose).
#![deny(clippy::unwrap_used)]
// napi-derive registers the exports only outside `cfg(test)`: there they look unused.
#![cfg_attr(test, allow(dead_code))]

mod client;
mod js;
mod schema;
mod sink;

use napi_derive::napi;

/// The package version (the workspace version of every iotsec package).
#[napi(catch_unwind)]
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The interface id that marks a security message (`$.ifid`).
#[napi(catch_unwind)]
pub fn security_interface_id() -> &'static str {
    iotsec::SECURITY_INTERFACE_ID
}

/// Every error kind as `[name, code]`, in code order.
#[napi(catch_unwind)]
pub fn error_kinds() -> Vec<(String, u32)> {
    iotsec::ErrorKind::ALL.iter().map(|k| (k.name().to_string(), k.code())).collect()
}

/// The user agent iotsec presents for `product_info` (e.g. `node 20.20.2`).
#[napi(catch_unwind)]
pub fn user_agent(product_info: String) -> String {
    iotsec::client::user_agent(Some(&product_info))
}
