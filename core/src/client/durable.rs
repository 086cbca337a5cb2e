//! The optional durable queue: a message accepted by a send survives a crash of the sending
//! process and is delivered after it restarts.
//!
//! Each accepted publish (topic and payload) is written to a redb table before the send goes
//! on, and removed when its PUBACK arrives. When a client opens a queue that still holds
//! entries, it re-sends them first. One writer thread commits in batches: every caller waiting
//! in a batch shares one fsync, so the cost per message falls as the rate rises. Removals are
//! committed without fsync (a removal lost in a crash only means a duplicate later, which
//! at-least-once delivery allows); the next durable commit makes them permanent.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use bytes::Bytes;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::{Error, ErrorKind, Result};

/// id → (topic length as 4 bytes big-endian, topic, payload).
const QUEUE: TableDefinition<'static, u64, &[u8]> = TableDefinition::new("queue");

/// Largest number of operations committed together.
const MAX_BATCH: usize = 4096;

type Done = Box<dyn FnOnce(Result<()>) + Send>;

enum Op {
    Insert { id: u64, record: Vec<u8>, done: Done },
    Remove(u64),
}

/// A publish found in the queue when it was opened.
pub(crate) struct Recovered {
    pub id: u64,
    pub topic: String,
    pub payload: Bytes,
}

pub(crate) struct DurableQueue {
    ops: mpsc::Sender<Op>,
    next_id: AtomicU64,
    /// Joined on drop, so the file is closed (and its last removals committed) when the
    /// client is gone: a new client can open it at once, and nothing of redb outlives it.
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for DurableQueue {
    fn drop(&mut self) {
        // The writer ends when its channel closes: drop our sender (the only one) first.
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.ops, closed));
        if let Some(writer) = self.writer.take() {
            if writer.thread().id() != std::thread::current().id() {
                let _ = writer.join();
            }
        }
    }
}

fn store_error(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("durable queue: {e}"))
}

fn encode(topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut record = Vec::with_capacity(4 + topic.len() + payload.len());
    record.extend_from_slice(&(topic.len() as u32).to_be_bytes());
    record.extend_from_slice(topic.as_bytes());
    record.extend_from_slice(payload);
    record
}

fn decode(id: u64, record: &[u8]) -> Option<Recovered> {
    let len = u32::from_be_bytes(record.get(..4)?.try_into().ok()?) as usize;
    let topic = std::str::from_utf8(record.get(4..4 + len)?).ok()?.to_string();
    Some(Recovered { id, topic, payload: Bytes::copy_from_slice(record.get(4 + len..)?) })
}

impl DurableQueue {
    /// Opens (or creates) the queue at `path` and returns what it still holds, oldest first.
    pub fn open(path: &Path) -> Result<(DurableQueue, Vec<Recovered>)> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(store_error)?;
        }
        let db = Database::create(path).map_err(|e| store_error(format!("cannot open `{}`: {e}", path.display())))?;
        let mut recovered = Vec::new();
        {
            let txn = db.begin_write().map_err(store_error)?;
            txn.open_table(QUEUE).map_err(store_error)?;
            txn.commit().map_err(store_error)?;
            let read = db.begin_read().map_err(store_error)?;
            let table = read.open_table(QUEUE).map_err(store_error)?;
            for entry in table.iter().map_err(store_error)? {
                let (k, v) = entry.map_err(store_error)?;
                match decode(k.value(), v.value()) {
                    Some(r) => recovered.push(r),
                    None => tracing::warn!(id = k.value(), "durable queue: skipping an unreadable entry"),
                }
            }
        }
        let next_id = recovered.last().map(|r| r.id + 1).unwrap_or(1);
        let (ops, rx) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("iotsec-durable".into())
            .spawn(move || writer(db, rx))
            .map_err(store_error)?;
        Ok((DurableQueue { ops, next_id: AtomicU64::new(next_id), writer: Some(writer) }, recovered))
    }

    /// Stores a publish; `done` runs once it is durable (or failed). Returns its id.
    pub fn insert(&self, topic: &str, payload: &[u8], done: impl FnOnce(Result<()>) + Send + 'static) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let op = Op::Insert { id, record: encode(topic, payload), done: Box::new(done) };
        if let Err(mpsc::SendError(Op::Insert { done, .. })) = self.ops.send(op) {
            done(Err(store_error("the writer thread has stopped")));
        }
        id
    }

    /// Forgets a publish the broker acknowledged.
    pub fn remove(&self, id: u64) {
        let _ = self.ops.send(Op::Remove(id));
    }
}

/// Commits operations in batches until every sender is gone, then makes the last removals
/// durable.
fn writer(db: Database, rx: mpsc::Receiver<Op>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let durable = batch.iter().any(|op| matches!(op, Op::Insert { .. }));
        let outcome = commit(&db, &batch, durable);
        for op in batch {
            if let Op::Insert { done, .. } = op {
                done(outcome.clone());
            }
        }
    }
    let _ = commit(&db, &[], true);
}

fn commit(db: &Database, batch: &[Op], durable: bool) -> Result<()> {
    let mut txn = db.begin_write().map_err(store_error)?;
    txn.set_durability(if durable { Durability::Immediate } else { Durability::None }).map_err(store_error)?;
    {
        let mut table = txn.open_table(QUEUE).map_err(store_error)?;
        for op in batch {
            match op {
                Op::Insert { id, record, .. } => {
                    table.insert(*id, record.as_slice()).map_err(store_error)?;
                }
                Op::Remove(id) => {
                    table.remove(*id).map_err(store_error)?;
                }
            }
        }
    }
    txn.commit().map_err(store_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(q: &DurableQueue, topic: &str, payload: &[u8]) -> u64 {
        let (tx, rx) = mpsc::channel();
        let id = q.insert(topic, payload, move |r| tx.send(r).unwrap());
        rx.recv().unwrap().unwrap();
        id
    }

    #[test]
    fn entries_survive_reopening_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.redb");
        let (q, recovered) = DurableQueue::open(&path).unwrap();
        assert!(recovered.is_empty());
        let a = wait(&q, "devices/d/messages/events/", b"one");
        let b = wait(&q, "devices/d/messages/events/%24.mid=2", b"two");
        q.remove(a);
        drop(q);
        // The writer thread makes the removal durable as it ends; give it a moment.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let recovered = loop {
            match DurableQueue::open(&path) {
                Ok((_, r)) => break r,
                Err(_) if std::time::Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(recovered.len(), 1);
        assert_eq!(recovered[0].id, b);
        assert_eq!(recovered[0].topic, "devices/d/messages/events/%24.mid=2");
        assert_eq!(&recovered[0].payload[..], b"two");
    }
}
