//! A subscriber that records everything a broker received on `devices/#`, so tests assert what
//! actually crossed the wire: exact topic bytes, payload bytes, QoS.
//!
//! It subscribes at QoS 2, so each record carries the QoS the *sender* used. Records are kept
//! in memory and, optionally, appended as JSON Lines to a file that tests in other languages read.
//!
//! To miss nothing while the broker restarts, start it with
//! [`RecorderOptions::persistent_session`] against a mosquitto with persistence on: it then
//! connects with `clean_session=false` under a fixed client id, so mosquitto keeps its
//! subscription and queues what arrives while the recorder is away, across a SIGTERM restart
//! too. A message the broker re-delivers after a restart is recorded again (at least once).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde::{Deserialize, Serialize};

/// One received PUBLISH.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Topic, exactly as received.
    pub topic: String,
    /// Payload bytes, base64.
    pub payload_base64: String,
    /// QoS the sender used.
    pub qos: u8,
    /// Retain flag.
    pub retain: bool,
}

impl Record {
    /// The payload bytes.
    pub fn payload(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(&self.payload_base64).unwrap_or_default()
    }
}

#[derive(Default)]
struct Store {
    records: Mutex<Vec<Record>>,
    changed: Condvar,
}

/// A running recorder (its thread ends with the process or when the broker goes away for good).
#[derive(Clone)]
pub struct Recorder {
    store: Arc<Store>,
}

/// How to start a [`Recorder`].
#[derive(Clone, Debug, Default)]
pub struct RecorderOptions {
    /// Append every record to this file as a JSON line.
    pub file: Option<PathBuf>,
    /// Connect with `clean_session=false`, so the broker keeps the subscription and queues
    /// messages while the recorder is disconnected (and, with mosquitto's persistence, across a
    /// broker restart).
    pub persistent_session: bool,
    /// The MQTT client id (default: `iotsec-recorder-{pid}-{n}`, unique in this process).
    pub client_id: Option<String>,
}

static NEXT_RECORDER: AtomicU32 = AtomicU32::new(1);

impl Recorder {
    /// Subscribes to `devices/#` on `127.0.0.1:plain_port`; returns once the subscription is
    /// acknowledged. With `file`, every record is also appended there as a JSON line.
    pub fn start(plain_port: u16, file: Option<PathBuf>) -> std::io::Result<Recorder> {
        Recorder::start_with(plain_port, RecorderOptions { file, ..Default::default() })
    }

    /// [`Recorder::start`] with options (a persistent session that survives broker restarts).
    pub fn start_with(plain_port: u16, options: RecorderOptions) -> std::io::Result<Recorder> {
        let store = Arc::new(Store::default());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread_store = store.clone();
        let client_id = options
            .client_id
            .clone()
            .unwrap_or_else(|| format!("iotsec-recorder-{}-{}", std::process::id(), NEXT_RECORDER.fetch_add(1, Ordering::Relaxed)));
        std::thread::Builder::new().name("iotsec-recorder".into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("recorder runtime");
            rt.block_on(record(plain_port, client_id, options, thread_store, ready_tx));
        })?;
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(()) => Ok(Recorder { store }),
            Err(_) => Err(std::io::Error::other("the recorder could not subscribe within 10 s")),
        }
    }

    /// Everything received so far.
    pub fn records(&self) -> Vec<Record> {
        self.store.records.lock().unwrap().clone()
    }

    /// How many records so far (duplicates included).
    pub fn len(&self) -> usize {
        self.store.records.lock().unwrap().len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` on the records without copying them (for large runs such as the soak).
    pub fn with_records<T>(&self, f: impl FnOnce(&[Record]) -> T) -> T {
        f(&self.store.records.lock().unwrap())
    }

    /// Records whose topic starts with `prefix`.
    pub fn records_under(&self, prefix: &str) -> Vec<Record> {
        self.records().into_iter().filter(|r| r.topic.starts_with(prefix)).collect()
    }

    /// Waits until `pred` holds for the records (or `timeout` passes); returns them.
    pub fn wait_until(&self, timeout: Duration, pred: impl Fn(&[Record]) -> bool) -> Vec<Record> {
        let deadline = Instant::now() + timeout;
        let mut records = self.store.records.lock().unwrap();
        while !pred(&records) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            records = self.store.changed.wait_timeout(records, deadline - now).unwrap().0;
        }
        records.clone()
    }

    /// Waits until at least `n` records whose topic starts with `prefix` arrived.
    pub fn wait_for(&self, prefix: &str, n: usize, timeout: Duration) -> Vec<Record> {
        self.wait_until(timeout, |r| r.iter().filter(|x| x.topic.starts_with(prefix)).count() >= n)
            .into_iter()
            .filter(|r| r.topic.starts_with(prefix))
            .collect()
    }
}

async fn record(port: u16, client_id: String, config: RecorderOptions, store: Arc<Store>, ready: std::sync::mpsc::Sender<()>) {
    let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(1 << 20, 1 << 20)
        .set_clean_session(!config.persistent_session);
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let mut out = config.file.as_deref().map(open_append);
    let mut ready = Some(ready);
    let mut failures = 0;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                failures = 0;
                // Subscribing again on a kept session changes nothing; on a new one it is needed.
                let _ = client.subscribe("devices/#", QoS::ExactlyOnce).await;
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let rec = Record {
                    topic: p.topic.clone(),
                    payload_base64: base64::engine::general_purpose::STANDARD.encode(&p.payload),
                    qos: p.qos as u8,
                    retain: p.retain,
                };
                if let Some(Some(f)) = out.as_mut() {
                    let _ = writeln!(f, "{}", serde_json::to_string(&rec).unwrap_or_default());
                    let _ = f.flush();
                }
                store.records.lock().unwrap().push(rec);
                store.changed.notify_all();
            }
            Ok(_) => failures = 0,
            Err(_) => {
                // The broker may be restarted by a test; keep trying for a while.
                failures += 1;
                if failures > 600 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn open_append(path: &Path) -> Option<std::fs::File> {
    std::fs::OpenOptions::new().create(true).append(true).open(path).ok()
}
