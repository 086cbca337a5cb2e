//! What the hub received, as append-only JSON Lines files in `DATA_DIR/store/`:
//!
//! | file | one line per |
//! |---|---|
//! | `security.jsonl` | event of a valid security message ([`SecurityRecord`]) |
//! | `dropped.jsonl` | security message that breaks the schema, with its violations ([`DroppedRecord`]) |
//! | `telemetry.jsonl` | other message ([`TelemetryRecord`]) |
//!
//! Every record has `device_id`, `module_id` (or `null`), `topic` (exactly as received),
//! `properties` (the decoded property bag: wire keys such as `$.mid` and custom names, in topic
//! order), `message_id` (or `null`) and `received_at` (RFC 3339, UTC).
//!
//! The hub writes each batch of lines with one `write` before it acknowledges the messages
//! (PUBACK), so a message a client saw acknowledged is in the store. Readers skip a last line
//! that has no newline yet (a write in progress). The files survive restarts.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::HubError;

/// The store directory's name inside the data directory.
pub const STORE_DIR: &str = "store";
/// Valid security messages, one line per event.
pub const SECURITY_FILE: &str = "security.jsonl";
/// Security messages that break the schema.
pub const DROPPED_FILE: &str = "dropped.jsonl";
/// Other telemetry.
pub const TELEMETRY_FILE: &str = "telemetry.jsonl";

/// The decoded property bag: wire key (`$.mid`, `$.ct`, ..., or a custom name) → value, in
/// topic order.
pub type Properties = Map<String, Value>;

/// One event of a valid security message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityRecord {
    /// The sending device.
    pub device_id: String,
    /// The sending module, if a module sent it.
    pub module_id: Option<String>,
    /// The topic, exactly as received.
    pub topic: String,
    /// The decoded property bag.
    pub properties: Properties,
    /// `$.mid`, if the message had one.
    pub message_id: Option<String>,
    /// When the hub received it (RFC 3339, UTC).
    pub received_at: String,
    /// The message's `AgentId`.
    pub agent_id: Option<String>,
    /// The message's `AgentVersion`.
    pub agent_version: Option<String>,
    /// The message's `MessageSchemaVersion`.
    pub message_schema_version: Option<String>,
    /// Where this event is in the message's `Events` (0-based).
    pub event_index: usize,
    /// The event object, as sent.
    pub event: Value,
}

/// A schema violation as stored (the same fields as [`iotsec::Violation`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredViolation {
    /// JSON pointer into the body; `""` is the whole body.
    pub pointer: String,
    /// The schema keyword that failed, or `json` / `utf8`.
    pub rule: String,
    /// A readable explanation.
    pub message: String,
    /// For `json` / `utf8`: where reading stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Value>,
}

impl From<&iotsec::Violation> for StoredViolation {
    fn from(v: &iotsec::Violation) -> Self {
        StoredViolation {
            pointer: v.pointer.clone(),
            rule: v.rule.clone(),
            message: v.message.clone(),
            position: v.position.and_then(|p| serde_json::to_value(p).ok()),
        }
    }
}

/// A security message the service would have dropped silently, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DroppedRecord {
    /// The sending device.
    pub device_id: String,
    /// The sending module, if a module sent it.
    pub module_id: Option<String>,
    /// The topic, exactly as received.
    pub topic: String,
    /// The decoded property bag.
    pub properties: Properties,
    /// `$.mid`, if the message had one.
    pub message_id: Option<String>,
    /// When the hub received it (RFC 3339, UTC).
    pub received_at: String,
    /// Every way the body breaks the schema.
    pub violations: Vec<StoredViolation>,
    /// The body as text, when it is UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body in base64, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

/// A message without the security flag.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TelemetryRecord {
    /// The sending device.
    pub device_id: String,
    /// The sending module, if a module sent it.
    pub module_id: Option<String>,
    /// The topic, exactly as received.
    pub topic: String,
    /// The decoded property bag.
    pub properties: Properties,
    /// `$.mid`, if the message had one.
    pub message_id: Option<String>,
    /// When the hub received it (RFC 3339, UTC).
    pub received_at: String,
    /// The body as text, when it is UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body in base64, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

macro_rules! property_accessor {
    ($t:ty) => {
        impl $t {
            /// The value of property `key` (`$.mid`, `$.ifid`, or a custom name).
            pub fn property(&self, key: &str) -> Option<&str> {
                self.properties.get(key).and_then(Value::as_str)
            }
        }
    };
}
property_accessor!(SecurityRecord);
property_accessor!(DroppedRecord);
property_accessor!(TelemetryRecord);

/// The body as text when it is UTF-8, else as base64.
pub(crate) fn body_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    use base64::Engine as _;
    match std::str::from_utf8(body) {
        Ok(text) => (Some(text.to_string()), None),
        Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(body))),
    }
}

/// How many records each store holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreCounts {
    /// Lines in `security.jsonl` (events of valid security messages).
    pub security_events: u64,
    /// Lines in `dropped.jsonl`.
    pub dropped_messages: u64,
    /// Lines in `telemetry.jsonl`.
    pub telemetry_messages: u64,
}

/// Which store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Security = 0,
    Dropped = 1,
    Telemetry = 2,
}

/// Read access to the stores of a data directory (a running hub may be appending).
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The stores of `data_dir` (they need not exist yet).
    pub fn new(data_dir: &Path) -> Store {
        Store { dir: data_dir.join(STORE_DIR) }
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `security.jsonl`.
    pub fn security_file(&self) -> PathBuf {
        self.dir.join(SECURITY_FILE)
    }

    /// `dropped.jsonl`.
    pub fn dropped_file(&self) -> PathBuf {
        self.dir.join(DROPPED_FILE)
    }

    /// `telemetry.jsonl`.
    pub fn telemetry_file(&self) -> PathBuf {
        self.dir.join(TELEMETRY_FILE)
    }

    /// Every stored security event, oldest first.
    pub fn security_records(&self) -> Result<Vec<SecurityRecord>, HubError> {
        read_lines(&self.security_file())
    }

    /// Every dropped security message, oldest first.
    pub fn dropped_records(&self) -> Result<Vec<DroppedRecord>, HubError> {
        read_lines(&self.dropped_file())
    }

    /// Every other telemetry message, oldest first.
    pub fn telemetry_records(&self) -> Result<Vec<TelemetryRecord>, HubError> {
        read_lines(&self.telemetry_file())
    }

    /// How many complete lines each store holds.
    pub fn counts(&self) -> Result<StoreCounts, HubError> {
        Ok(StoreCounts {
            security_events: count_lines(&self.security_file())?,
            dropped_messages: count_lines(&self.dropped_file())?,
            telemetry_messages: count_lines(&self.telemetry_file())?,
        })
    }
}

fn read_complete(path: &Path) -> Result<Vec<u8>, HubError> {
    match std::fs::read(path) {
        Ok(mut bytes) => {
            // A line without its newline is being written right now.
            let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            bytes.truncate(complete);
            Ok(bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(HubError::io(format!("cannot read {}", path.display()))(e)),
    }
}

fn read_lines<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, HubError> {
    let bytes = read_complete(path)?;
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| serde_json::from_slice(line).map_err(|e| HubError::corrupt(path, format!("line {}: {e}", i + 1))))
        .collect()
}

/// Counts newlines in 64 KiB chunks (stores can be large; they are not read whole for this).
fn count_lines(path: &Path) -> Result<u64, HubError> {
    use std::io::Read as _;
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(HubError::io(format!("cannot read {}", path.display()))(e)),
    };
    let mut chunk = vec![0u8; 64 * 1024];
    let mut lines = 0u64;
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(lines),
            Ok(n) => lines += chunk[..n].iter().filter(|b| **b == b'\n').count() as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(HubError::io(format!("cannot read {}", path.display()))(e)),
        }
    }
}

/// The hub's appending side: one file handle per store, each behind a lock so the lines of
/// one batch stay together. (In memory for [`crate::fuzzing`], which must not write to disk
/// on every input.)
pub(crate) struct StoreWriter {
    sink: Sink,
}

enum Sink {
    Files([Mutex<File>; 3]),
    Memory(Mutex<[Vec<u8>; 3]>),
}

impl StoreWriter {
    pub fn open(store: &Store) -> Result<StoreWriter, HubError> {
        std::fs::create_dir_all(store.dir()).map_err(HubError::io(format!("cannot create {}", store.dir().display())))?;
        let open = |path: PathBuf| -> Result<Mutex<File>, HubError> {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(HubError::io(format!("cannot open {}", path.display())))?;
            Ok(Mutex::new(file))
        };
        let files = [open(store.security_file())?, open(store.dropped_file())?, open(store.telemetry_file())?];
        Ok(StoreWriter { sink: Sink::Files(files) })
    }

    /// A writer that keeps the lines in memory ([`StoreWriter::take_lines`] hands them out).
    pub fn in_memory() -> StoreWriter {
        StoreWriter { sink: Sink::Memory(Mutex::new(Default::default())) }
    }

    /// The lines written so far to an in-memory writer (security, dropped, telemetry), which
    /// it then forgets; empty for a file writer.
    pub fn take_lines(&self) -> [Vec<u8>; 3] {
        match &self.sink {
            Sink::Files(_) => Default::default(),
            Sink::Memory(lines) => std::mem::take(&mut *lines.lock().unwrap_or_else(|p| p.into_inner())),
        }
    }

    /// Appends `lines` (complete lines, each ending in `\n`) to one store with a single write.
    pub fn append(&self, kind: Kind, lines: &[u8]) -> std::io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        match &self.sink {
            Sink::Files(files) => {
                let mut file = files[kind as usize].lock().unwrap_or_else(|p| p.into_inner());
                file.write_all(lines)
            }
            Sink::Memory(memory) => {
                memory.lock().unwrap_or_else(|p| p.into_inner())[kind as usize].extend_from_slice(lines);
                Ok(())
            }
        }
    }
}
