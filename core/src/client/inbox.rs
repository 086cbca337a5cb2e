//! The session's inbox: how a send reaches the session without the caller touching the
//! tracker or rumqttc's request channel.
//!
//! A caller (often a thread of another language: Python's event loop, a JVM, Mono or C
//! thread) only pushes its request here and wakes the session's feeder task; the feeder, on a
//! runtime worker, pops requests in order and does `Tracker::accept` + `try_publish`. So the
//! tracker's mutex and rumqttc's (flume's) channel mutex are only ever taken by runtime
//! threads, and a woken worker never spins or sleeps on a lock the waking caller still holds
//! (bench/ANALYSIS.md, "Wake the session outside the locks"). The inbox's own lock is held
//! only to push or to take everything queued, never while waking anyone.
//!
//! One feeder and one FIFO: the tracker's FIFO still equals the channel's order. Requests in
//! the inbox were never handed to rumqttc, so they stay behind anything `requeue_unsent` puts
//! back into the channel after a reconnect (it holds the tracker lock, which the feeder needs).
//!
//! Closing: [`Inbox::close`] refuses later pushes and returns what was queued, then waits for
//! a batch the feeder already took to reach the tracker, so that closing the tracker right
//! after fails every outstanding send on the closing thread (the C API's `Destroy` promise).
//! Each request ends exactly once: taken by the feeder (then accepted by the tracker or
//! failed) or by `close`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use rumqttc::{AsyncClient, QoS};
use tokio::sync::Notify;

use crate::error::{Error, ErrorKind};

use super::tracker::{Pending, Tracker};

/// A publish waiting for the feeder.
pub(crate) struct Request {
    pub topic: String,
    pub payload: Bytes,
    pub pending: Pending,
}

#[derive(Default)]
struct Queue {
    requests: VecDeque<Request>,
    /// Set when the session ended: later pushes are refused with this error.
    closed: Option<Error>,
}

#[derive(Default)]
pub(crate) struct Inbox {
    queue: Mutex<Queue>,
    /// Held by the feeder while it hands a batch to the tracker; `close` waits for it.
    feeding: Mutex<()>,
    /// Wakes the feeder (a stored permit covers a push that comes before the feeder waits).
    wake: Notify,
    /// Requests pushed and not yet accepted by the tracker (nor failed): counted as
    /// outstanding by a graceful shutdown. Decremented only after the tracker has them, so it
    /// may count a send twice for a moment, never zero times.
    unaccepted: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inbox {
    /// Queues `request` and wakes the feeder, outside the lock. A closed inbox gives it back
    /// with the reason.
    // The refused request goes back by value, once per closed session: no need to box it.
    #[allow(clippy::result_large_err)]
    pub fn push(&self, request: Request) -> Result<(), (Request, Error)> {
        {
            let mut queue = lock(&self.queue);
            if let Some(e) = &queue.closed {
                return Err((request, e.clone()));
            }
            self.unaccepted.fetch_add(1, Ordering::SeqCst);
            queue.requests.push_back(request);
        }
        self.wake.notify_one();
        Ok(())
    }

    /// Sends pushed and not yet handed to the tracker.
    pub fn outstanding(&self) -> usize {
        self.unaccepted.load(Ordering::SeqCst)
    }

    /// Refuses later pushes and returns what was still queued, for the caller to fail. When
    /// this returns, no batch is between the inbox and the tracker any more.
    pub fn close(&self, error: &Error) -> Vec<Request> {
        let taken: Vec<Request> = {
            let mut queue = lock(&self.queue);
            if queue.closed.is_none() {
                queue.closed = Some(error.clone());
            }
            queue.requests.drain(..).collect()
        };
        self.unaccepted.fetch_sub(taken.len(), Ordering::SeqCst);
        self.wake.notify_one();
        // Wait for a batch the feeder took before the close to reach the tracker. The feeder
        // never runs a completion while it holds this lock, so a completion that closes the
        // client (on the feeder's thread) cannot deadlock here.
        drop(lock(&self.feeding));
        taken
    }

    /// Closes and fails what was queued with `error`, on the calling thread.
    pub fn close_and_fail(&self, error: &Error) {
        for r in self.close(error) {
            r.pending.complete(Err(error.clone()));
        }
    }

    /// The feeder: hands every request to the tracker and rumqttc, in order, until the inbox
    /// is closed and empty. Runs on the session's runtime.
    pub async fn feed(self: std::sync::Arc<Self>, tracker: std::sync::Arc<Tracker>, client: AsyncClient) {
        let mut failed = Vec::new();
        // Swapped with the queue's buffer, so neither allocates once grown.
        let mut batch = VecDeque::new();
        loop {
            let closed = {
                let _feeding = lock(&self.feeding);
                let closed = {
                    let mut queue = lock(&self.queue);
                    std::mem::swap(&mut queue.requests, &mut batch);
                    queue.closed.is_some()
                };
                for Request { topic, payload, pending } in batch.drain(..) {
                    let accepted = tracker.accept(pending, || {
                        client.try_publish(topic, QoS::AtLeastOnce, false, Vec::from(payload)).map_err(|e| {
                            Error::new(ErrorKind::Internal, format!("the session did not take the message: {e}"))
                        })
                    });
                    self.unaccepted.fetch_sub(1, Ordering::SeqCst);
                    if let Err(f) = accepted {
                        failed.push(f);
                    }
                }
                closed
            };
            // Outside the feeding lock: a completion may close the client.
            for (pending, e) in failed.drain(..) {
                pending.complete(Err(e));
            }
            if closed {
                return;
            }
            self.wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex as StdMutex};
    use std::time::Duration;

    type Log = Arc<StdMutex<Vec<(usize, std::result::Result<(), ErrorKind>)>>>;

    std::thread_local! {
        static COMPLETED_HERE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn request(log: &Log, i: usize) -> Request {
        let log = log.clone();
        let pending = Pending::new(
            Box::new(move |r: crate::error::Result<()>| {
                COMPLETED_HERE.with(|c| c.set(c.get() + 1));
                log.lock().unwrap().push((i, r.map_err(|e| e.kind())))
            }),
            None,
        );
        Request { topic: format!("devices/d/messages/events/{i}"), payload: Bytes::from_static(b"{}"), pending }
    }

    fn wait_until(what: &str, f: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !f() {
            assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn the_feeder_hands_requests_to_the_tracker_in_push_order() {
        let (client, _eventloop) = AsyncClient::new(rumqttc::MqttOptions::new("d", "localhost", 1), 16);
        let (inbox, tracker, log) = (Arc::new(Inbox::default()), Arc::new(Tracker::default()), Log::default());
        let feeder = crate::runtime::handle().spawn(inbox.clone().feed(tracker.clone(), client));
        for i in 0..5 {
            assert!(inbox.push(request(&log, i)).is_ok());
        }
        wait_until("the tracker has all five", || tracker.outstanding() == 5 && inbox.outstanding() == 0);
        // Packet ids 1..=5 go out in channel order: each PUBACK completes the matching send.
        for pkid in 1..=5 {
            tracker.on_publish(pkid);
        }
        for pkid in [3, 1, 5, 2, 4] {
            tracker.on_puback(pkid);
        }
        assert_eq!(*log.lock().unwrap(), vec![(2, Ok(())), (0, Ok(())), (4, Ok(())), (1, Ok(())), (3, Ok(()))]);
        inbox.close(&Error::new(ErrorKind::Closed, "closed"));
        wait_until("the feeder ends once closed", || feeder.is_finished());
    }

    #[test]
    fn close_returns_what_is_queued_and_refuses_later_pushes() {
        let (inbox, log) = (Inbox::default(), Log::default());
        for i in 0..3 {
            assert!(inbox.push(request(&log, i)).is_ok());
        }
        assert_eq!(inbox.outstanding(), 3);
        inbox.close_and_fail(&Error::new(ErrorKind::Closed, "closed"));
        assert_eq!(inbox.outstanding(), 0);
        let (_, e) = inbox.push(request(&log, 9)).expect_err("a closed inbox refuses");
        assert_eq!(e.kind(), ErrorKind::Closed);
        assert_eq!(*log.lock().unwrap(), vec![(0, Err(ErrorKind::Closed)), (1, Err(ErrorKind::Closed)), (2, Err(ErrorKind::Closed))]);
    }

    #[test]
    fn closing_under_load_completes_every_send_exactly_once() {
        for _ in 0..20 {
            let (client, _eventloop) = AsyncClient::new(rumqttc::MqttOptions::new("d", "localhost", 1), 20_000);
            let (inbox, tracker, log) = (Arc::new(Inbox::default()), Arc::new(Tracker::default()), Log::default());
            crate::runtime::handle().spawn(inbox.clone().feed(tracker.clone(), client));
            let pushers: Vec<_> = (0..2)
                .map(|t| {
                    let (inbox, log) = (inbox.clone(), log.clone());
                    std::thread::spawn(move || {
                        let mut refused = 0;
                        for i in 0..2_000 {
                            if let Err((r, e)) = inbox.push(request(&log, t * 10_000 + i)) {
                                r.pending.complete(Err(e));
                                refused += 1;
                            }
                        }
                        refused
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_micros(300));
            // What `Session::abort` does: the inbox, then the tracker, on this thread.
            let error = Error::new(ErrorKind::Closed, "closed");
            COMPLETED_HERE.with(|c| c.set(0));
            inbox.close_and_fail(&error);
            tracker.close(&error);
            let here = COMPLETED_HERE.with(|c| c.get());
            let refused: usize = pushers.into_iter().map(|p| p.join().unwrap()).sum();
            // Every send accepted before the close failed on the closing thread (the C API's
            // `Destroy` promise); the others were refused to their pushers.
            assert_eq!(here + refused, 4_000);
            wait_until("every send completed", || log.lock().unwrap().len() == 4_000);
            let log = log.lock().unwrap();
            let mut ids: Vec<usize> = log.iter().map(|(i, _)| *i).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), 4_000, "each send completed exactly once");
            assert!(log.iter().all(|(_, r)| *r == Err(ErrorKind::Closed)));
            assert!(refused <= 4_000);
            assert_eq!(tracker.outstanding() + inbox.outstanding(), 0);
        }
    }
}
