//! Counters of what the hub did, kept across restarts in `DATA_DIR/stats.json` (a running hub
//! rewrites it at most twice a second, so `iotsec hub stats` in another process sees them).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::HubError;

/// The stats file's name inside the data directory.
pub const STATS_FILE: &str = "stats.json";

/// What the hub has done since its data directory was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// CONNECTs accepted.
    pub connections_accepted: u64,
    /// CONNECTs refused (bad credentials, bad client id, wrong protocol).
    pub connections_refused: u64,
    /// Connections the hub closed because the client broke the rules (a topic that is not its
    /// own, QoS 2, an oversized or malformed packet).
    pub connections_closed_for_errors: u64,
    /// PUBLISH packets stored or recognised as duplicates.
    pub messages_received: u64,
    /// Valid security messages.
    pub security_messages: u64,
    /// Events of valid security messages (lines of `security.jsonl`).
    pub security_events: u64,
    /// Security messages that break the schema (lines of `dropped.jsonl`).
    pub dropped_messages: u64,
    /// Other messages (lines of `telemetry.jsonl`).
    pub telemetry_messages: u64,
    /// Re-deliveries dropped because the same device sent the same message (same `$.mid`,
    /// topic and body) moments before.
    pub duplicates: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub connections_accepted: AtomicU64,
    pub connections_refused: AtomicU64,
    pub connections_closed_for_errors: AtomicU64,
    pub messages_received: AtomicU64,
    pub security_messages: AtomicU64,
    pub security_events: AtomicU64,
    pub dropped_messages: AtomicU64,
    pub telemetry_messages: AtomicU64,
    pub duplicates: AtomicU64,
}

impl Counters {
    pub fn from_stats(s: &Stats) -> Counters {
        Counters {
            connections_accepted: AtomicU64::new(s.connections_accepted),
            connections_refused: AtomicU64::new(s.connections_refused),
            connections_closed_for_errors: AtomicU64::new(s.connections_closed_for_errors),
            messages_received: AtomicU64::new(s.messages_received),
            security_messages: AtomicU64::new(s.security_messages),
            security_events: AtomicU64::new(s.security_events),
            dropped_messages: AtomicU64::new(s.dropped_messages),
            telemetry_messages: AtomicU64::new(s.telemetry_messages),
            duplicates: AtomicU64::new(s.duplicates),
        }
    }

    pub fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            connections_accepted: get(&self.connections_accepted),
            connections_refused: get(&self.connections_refused),
            connections_closed_for_errors: get(&self.connections_closed_for_errors),
            messages_received: get(&self.messages_received),
            security_messages: get(&self.security_messages),
            security_events: get(&self.security_events),
            dropped_messages: get(&self.dropped_messages),
            telemetry_messages: get(&self.telemetry_messages),
            duplicates: get(&self.duplicates),
        }
    }
}

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Stats {
    /// The counters saved in `data_dir` (all zero when there are none yet).
    pub fn load(data_dir: &Path) -> Result<Stats, HubError> {
        let path = data_dir.join(STATS_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| HubError::corrupt(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Stats::default()),
            Err(e) => Err(HubError::io(format!("cannot read {}", path.display()))(e)),
        }
    }

    pub(crate) fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        let path = data_dir.join(STATS_FILE);
        let tmp = data_dir.join("stats.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self).unwrap_or_default())?;
        std::fs::rename(tmp, path)
    }
}
