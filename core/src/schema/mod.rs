//! The published security-message schema: validation and typed builders.
//!
//! Azure Defender for IoT silently drops security messages that break its schema, so iotsec
//! checks every body flagged as a security message before sending it. The schema files are the
//! published ones (draft-07), embedded verbatim with their licence and provenance in `files/`.
//!
//! - [`validate`] / [`validate_value`] return every [`Violation`] with the JSON pointer a user
//!   needs (`/Events/0/Payload/0/UserId`), not just the root `oneOf` failure.
//! - [`is_valid`] is the fast yes/no used on the send path; the detailed pass runs only on rejects.
//! - [`SecurityMessage`] and [`Event`] build valid messages for the 14 event types.
//!
//! Violations are deterministic (same body, same list, sorted by pointer then rule) and their
//! pointers name what to fix: a missing member's own pointer for `required`
//! (`/Events/0/Payload/0/UserId`), each unexpected member's pointer for `additionalProperties`,
//! `/Events/i/Name` (rule `enum`) for an unknown event name. `tests/vectors/README.md` lists
//! every convention; the shared vectors there pin them for all language packages.

mod compiled;
mod datetime;
mod describe;
mod detail;
mod event;
mod fast;
mod files;
mod kind;
pub mod payload;
mod security_message;
mod validate;
mod violation;

pub use datetime::is_date_time;
pub use event::Event;
pub use files::schema_files;
pub use kind::EventKind;
pub use payload::Payload;
pub use security_message::SecurityMessage;
pub use validate::{check, is_valid, is_valid_value, validate, validate_str, validate_value};
pub use violation::{TextPosition, Violation};

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind};

/// What a client does with a message flagged as a security message before sending it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ValidationMode {
    /// Refuse a body that breaks the schema with [`ErrorKind::SchemaValidation`] (the default).
    #[default]
    Strict,
    /// Send it anyway and report the violations through `tracing` at WARN level.
    Warn,
    /// Do not validate.
    Off,
}

impl ValidationMode {
    /// The lower-case name used in options of every language (`strict`, `warn`, `off`).
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationMode::Strict => "strict",
            ValidationMode::Warn => "warn",
            ValidationMode::Off => "off",
        }
    }
}

impl fmt::Display for ValidationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ValidationMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "strict" => Ok(ValidationMode::Strict),
            "warn" => Ok(ValidationMode::Warn),
            "off" => Ok(ValidationMode::Off),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("validation mode `{s}` is not one of `strict`, `warn`, `off`"),
            )),
        }
    }
}
