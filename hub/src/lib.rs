//! # iotsec-hub
//!
//! A local stand-in for Azure IoT Hub, for developing and testing device software without a
//! cloud account: it authenticates devices like IoT Hub, receives their telemetry, and shows
//! which security messages the service would have dropped, and why.
#![warn(missing_docs)]

pub mod pki;
