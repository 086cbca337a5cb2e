//! # iotsec
//!
//! Build, validate and send Azure IoT *security messages* (Azure Security Center for IoT /
//! Defender for IoT) over MQTT, the way the official Azure IoT device SDKs do, but with schema
//! validation before a byte leaves, typed event builders and pipelined QoS 1 sending.
//!
//! A security message is ordinary device-to-cloud telemetry whose body conforms to the published
//! security-message schema and which carries one system property, `$.ifid`
//! ([`SECURITY_INTERFACE_ID`]). The service silently drops bodies that break the schema, so this
//! crate checks them first ([`schema::validate`]).
//!
//! This crate is the one core every language package (Python, Node.js, Java, C#, C) wraps: the
//! bindings translate types and errors, all behaviour lives here.
#![warn(missing_docs)]

pub mod error;
pub mod schema;

pub use error::{Error, ErrorKind, Result};
pub use schema::Violation;
pub mod connection_string;
pub mod identity;
pub mod message;
pub mod option_names;
pub mod sas;
pub mod topic;

pub use connection_string::{ConnectionString, Credential};
pub use identity::Identity;
pub use message::{Message, SystemProperties, MAX_BODY_BYTES, MAX_TOPIC_BYTES, SECURITY_INTERFACE_ID};
pub use schema::{Event, EventKind, SecurityMessage, ValidationMode};
pub mod client;
pub mod runtime;

pub use client::{ChangeReason, Client, ClientOptions, ConnectionState, ConnectionStatus, MessageIdPolicy, QueuePolicy, StateChange, StateChanges, Transport};
