//! The one error type of iotsec.
//!
//! Every failure, in every language package, starts here as an [`Error`] with an [`ErrorKind`].
//! The kind's name and numeric code are stable: bindings map them to Python exception classes,
//! Node `.code` strings, Java/C# error-code enums and C result values, so changing one is a
//! breaking change in six languages at once.
//!
//! Messages never contain a key or signature value: code that builds an `Error` from user input
//! names the field at fault, never the secret in it.

use std::fmt;

use crate::schema::Violation;

/// Result alias used throughout iotsec.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as a stable category.
///
/// The numeric value ([`ErrorKind::code`]) and the name ([`ErrorKind::name`]) are part of the
/// public contract of every language package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument is missing, empty or out of range (a NULL handle, an empty property name, ...).
    InvalidArgument = 1,
    /// The connection string is malformed; the message names the key at fault.
    InvalidConnectionString = 2,
    /// A credential given outside a connection string is unusable before anything is sent (a
    /// client certificate or key file that cannot be read or parsed, a SAS token that does not
    /// parse). Inside a connection string the same faults are [`ErrorKind::InvalidConnectionString`],
    /// naming the key.
    InvalidCredential = 3,
    /// A security message body breaks the published schema; [`Error::violations`] says where.
    SchemaValidation = 4,
    /// The body is over 262,144 bytes or the topic over 65,535 bytes.
    MessageTooLarge = 5,
    /// The broker could not be reached (DNS, TCP, connect timeout).
    ConnectionFailed = 6,
    /// The TLS handshake failed (untrusted or mismatched server certificate, bad client
    /// certificate), or the CA the user supplied is not usable PEM.
    Tls = 7,
    /// The broker refused the credentials (CONNACK return code in [`Error::connack_code`]).
    CredentialRefused = 8,
    /// An established connection was lost before the operation completed.
    ConnectionLost = 9,
    /// The operation did not complete in time (no PUBACK, no CONNACK).
    Timeout = 10,
    /// The client was closed; it accepts no more operations.
    Closed = 11,
    /// The bounded send queue is full and the queue policy is to fail fast.
    QueueFull = 12,
    /// A local file or socket operation failed.
    Io = 13,
    /// A bug in iotsec (a caught panic, a broken invariant). Please report it.
    Internal = 14,
}

impl ErrorKind {
    /// Every kind, in code order (for bindings that generate their own enums and for tests).
    pub const ALL: [ErrorKind; 14] = [
        ErrorKind::InvalidArgument,
        ErrorKind::InvalidConnectionString,
        ErrorKind::InvalidCredential,
        ErrorKind::SchemaValidation,
        ErrorKind::MessageTooLarge,
        ErrorKind::ConnectionFailed,
        ErrorKind::Tls,
        ErrorKind::CredentialRefused,
        ErrorKind::ConnectionLost,
        ErrorKind::Timeout,
        ErrorKind::Closed,
        ErrorKind::QueueFull,
        ErrorKind::Io,
        ErrorKind::Internal,
    ];

    /// Stable numeric code (1..=14).
    pub fn code(self) -> u32 {
        self as u32
    }

    /// Stable upper-snake-case name, e.g. `SCHEMA_VALIDATION` (Node's `err.code`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::InvalidConnectionString => "INVALID_CONNECTION_STRING",
            ErrorKind::InvalidCredential => "INVALID_CREDENTIAL",
            ErrorKind::SchemaValidation => "SCHEMA_VALIDATION",
            ErrorKind::MessageTooLarge => "MESSAGE_TOO_LARGE",
            ErrorKind::ConnectionFailed => "CONNECTION_FAILED",
            ErrorKind::Tls => "TLS",
            ErrorKind::CredentialRefused => "CREDENTIAL_REFUSED",
            ErrorKind::ConnectionLost => "CONNECTION_LOST",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::Closed => "CLOSED",
            ErrorKind::QueueFull => "QUEUE_FULL",
            ErrorKind::Io => "IO",
            ErrorKind::Internal => "INTERNAL",
        }
    }

    /// The kind with this numeric code.
    pub fn from_code(code: u32) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An iotsec error: a stable [`ErrorKind`], a readable message, and for schema failures the
/// list of [`Violation`]s.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    violations: Vec<Violation>,
    connack_code: Option<u8>,
}

impl Error {
    /// A new error of `kind` with a readable `message` (which must not contain secrets).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), violations: Vec::new(), connack_code: None }
    }

    /// A [`ErrorKind::SchemaValidation`] error carrying `violations`; the message summarises the
    /// first one so a log line alone already points at the field at fault.
    pub fn schema(violations: Vec<Violation>) -> Self {
        let message = match violations.first() {
            None => "security message does not conform to the schema".to_string(),
            Some(first) if violations.len() == 1 => {
                format!("security message does not conform to the schema: {first}")
            }
            Some(first) => format!(
                "security message does not conform to the schema: {first} (and {} more)",
                violations.len() - 1
            ),
        };
        Error { kind: ErrorKind::SchemaValidation, message, violations, connack_code: None }
    }

    /// A [`ErrorKind::CredentialRefused`] error for a CONNACK return `code`.
    pub fn refused(code: u8, message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::CredentialRefused,
            message: message.into(),
            violations: Vec::new(),
            connack_code: Some(code),
        }
    }

    /// Shorthand for [`ErrorKind::InvalidArgument`].
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    /// The stable category.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The readable message (no secrets).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Schema violations (empty unless the kind is [`ErrorKind::SchemaValidation`]).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// The CONNACK return code for [`ErrorKind::CredentialRefused`].
    pub fn connack_code(&self) -> Option<u8> {
        self.connack_code
    }

    /// This error with `context: ` put in front of its message.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if !self.violations.is_empty() {
            d.field("violations", &self.violations);
        }
        if let Some(code) = self.connack_code {
            d.field("connack_code", &code);
        }
        d.finish()
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_round_trip() {
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(kind.code() as usize, i + 1);
            assert_eq!(ErrorKind::from_code(kind.code()), Some(*kind));
        }
        assert_eq!(ErrorKind::from_code(0), None);
        assert_eq!(ErrorKind::SchemaValidation.name(), "SCHEMA_VALIDATION");
    }

    #[test]
    fn schema_error_summarises_first_violation() {
        let v = Violation::new("/Events/0/Payload/0", "required", "`UserId` is a required property");
        let e = Error::schema(vec![v.clone(), v]);
        assert_eq!(e.kind(), ErrorKind::SchemaValidation);
        assert!(e.message().contains("/Events/0/Payload/0"), "{}", e.message());
        assert!(e.message().contains("and 1 more"), "{}", e.message());
        assert_eq!(e.violations().len(), 2);
    }
}
