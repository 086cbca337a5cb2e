//! Which accepted message each PUBACK completes.
//!
//! rumqttc assigns packet ids inside its event loop, so a sender cannot know its id up front.
//! It does process requests strictly in channel order and reports each new PUBLISH as
//! `Outgoing::Publish(pkid)` (or `Outgoing::AwaitAck(pkid)` when the id is still taken). So the
//! session's feeder (see `inbox`) pushes each send's completion on a FIFO *while* it enqueues
//! the request (one lock keeps the two in the same order), and the event loop moves the front of the FIFO to slot `pkid` when the
//! publish goes out. A re-send after a reconnect reuses an id whose slot is still occupied and
//! so takes nothing from the FIFO.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;

use crate::error::{Error, Result};

/// Called exactly once with the outcome of a send.
pub type Completion = Box<dyn FnOnce(Result<()>) + Send + 'static>;

/// A message accepted by `send`, holding its place in the bounded queue.
pub(crate) struct Pending {
    completion: Completion,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Pending {
    pub fn new(completion: Completion, permit: Option<OwnedSemaphorePermit>) -> Self {
        Pending { completion, _permit: permit }
    }

    pub(crate) fn complete(self, result: Result<()>) {
        // A panicking user callback must not take the session task down with it.
        let completion = self.completion;
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || completion(result))).is_err() {
            tracing::error!("a send completion callback panicked; the panic was caught");
        }
        // `_permit` drops here, after the callback: room in the queue appears once the
        // outcome is known.
    }
}

/// A PUBLISH on the wire, waiting for its PUBACK. `pending` is `None` once its send was failed
/// by a timeout: the slot stays occupied until the broker answers, so the id is not mistaken
/// for a new publish when it is re-sent.
struct InFlight {
    pending: Option<Pending>,
    sent_at: Instant,
}

#[derive(Default)]
struct State {
    unassigned: VecDeque<Pending>,
    slots: Vec<Option<InFlight>>,
    collided: Option<(u16, Pending)>,
    /// Set when the session ended: later sends are refused with this error.
    closed: Option<Error>,
}

#[derive(Default)]
pub(crate) struct Tracker {
    state: Mutex<State>,
}

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `pending` and runs `enqueue` (which hands the request to the event loop) under
    /// the same lock, so FIFO order equals channel order. If `enqueue` fails, nothing is queued.
    pub fn accept(&self, pending: Pending, enqueue: impl FnOnce() -> Result<()>) -> Result<(), (Pending, Error)> {
        let mut state = self.lock();
        if let Some(e) = &state.closed {
            return Err((pending, e.clone()));
        }
        match enqueue() {
            Ok(()) => {
                state.unassigned.push_back(pending);
                Ok(())
            }
            Err(e) => Err((pending, e)),
        }
    }

    /// Runs `f` while no send can be accepted (the lock is held), so what `f` puts into the
    /// request channel stays ahead of every later send. `f` must not call the tracker.
    pub fn exclusive<R>(&self, f: impl FnOnce() -> R) -> R {
        let _state = self.lock();
        f()
    }

    /// `Outgoing::Publish(pkid)`: a new publish takes the front of the FIFO; a re-send finds
    /// its slot occupied and changes nothing.
    pub fn on_publish(&self, pkid: u16) {
        let mut state = self.lock();
        let index = pkid as usize;
        if state.slots.len() <= index {
            state.slots.resize_with(index + 1, || None);
        }
        if state.slots[index].is_some() {
            return;
        }
        let pending = match state.collided.take() {
            Some((id, p)) if id == pkid => Some(p),
            other => {
                state.collided = other;
                state.unassigned.pop_front()
            }
        };
        match pending {
            Some(p) => state.slots[index] = Some(InFlight { pending: Some(p), sent_at: Instant::now() }),
            None => tracing::warn!(pkid, "publish with no matching send (tracker out of step)"),
        }
    }

    /// `Outgoing::AwaitAck(pkid)`: the next publish got an id still in use; it goes out when
    /// that id is acknowledged.
    pub fn on_collision(&self, pkid: u16) {
        let replaced = {
            let mut state = self.lock();
            let Some(p) = state.unassigned.pop_front() else { return };
            state.collided.replace((pkid, p))
        };
        // rumqttc keeps one collision: the one it replaced is never sent. Say so rather than
        // leave that send waiting forever (it cannot happen while sends reach rumqttc through
        // the channel only, see `session::requeue_unsent`).
        if let Some((old, p)) = replaced {
            tracing::error!(pkid, old, "a collision replaced another (tracker out of step)");
            p.complete(Err(Error::new(crate::ErrorKind::Internal, "the MQTT library dropped this message (packet id collision)")));
        }
    }

    /// `Incoming::PubAck(pkid)`: completes that send successfully.
    pub fn on_puback(&self, pkid: u16) {
        let done = self.lock().slots.get_mut(pkid as usize).and_then(Option::take);
        if let Some(InFlight { pending: Some(p), .. }) = done {
            p.complete(Ok(()));
        }
    }

    /// Fails sends whose PUBACK is older than `timeout`; returns how many.
    pub fn expire(&self, timeout: Duration, error: impl Fn() -> Error) -> usize {
        let now = Instant::now();
        let expired: Vec<Pending> = {
            let mut state = self.lock();
            state
                .slots
                .iter_mut()
                .flatten()
                .filter(|f| f.pending.is_some() && now.duration_since(f.sent_at) >= timeout)
                .filter_map(|f| f.pending.take())
                .collect()
        };
        let n = expired.len();
        for p in expired {
            p.complete(Err(error()));
        }
        n
    }


    /// Sends accepted and not yet completed (queued or in flight).
    pub fn outstanding(&self) -> usize {
        let state = self.lock();
        state.unassigned.len()
            + usize::from(state.collided.is_some())
            + state.slots.iter().flatten().filter(|f| f.pending.is_some()).count()
    }

    /// Fails every outstanding send with `error` and refuses later ones (the session ended:
    /// client closed, first connect failed). Accepting and closing share one lock, so a send
    /// either is failed here or is refused by `accept`; none is left waiting.
    pub fn close(&self, error: &Error) {
        let all: Vec<Pending> = {
            let mut state = self.lock();
            if state.closed.is_none() {
                state.closed = Some(error.clone());
            }
            let mut all: Vec<Pending> = state.unassigned.drain(..).collect();
            all.extend(state.collided.take().map(|(_, p)| p));
            all.extend(state.slots.iter_mut().filter_map(Option::take).filter_map(|f| f.pending));
            all
        };
        for p in all {
            p.complete(Err(error.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex as StdMutex};

    fn recorder() -> (Arc<StdMutex<Vec<(usize, bool)>>>, impl Fn(usize) -> Pending) {
        let log = Arc::new(StdMutex::new(Vec::new()));
        let l = log.clone();
        (log, move |i| {
            let l = l.clone();
            Pending::new(Box::new(move |r: Result<()>| l.lock().unwrap().push((i, r.is_ok()))), None)
        })
    }

    #[test]
    fn fifo_maps_publishes_to_acks_and_ignores_resends() {
        let t = Tracker::default();
        let (log, p) = recorder();
        for i in 0..3 {
            assert!(t.accept(p(i), || Ok(())).is_ok());
        }
        t.on_publish(1);
        t.on_publish(2);
        t.on_publish(1); // re-send after reconnect: slot 1 is occupied
        t.on_publish(3);
        t.on_puback(2);
        t.on_puback(1);
        t.on_puback(3);
        assert_eq!(*log.lock().unwrap(), vec![(1, true), (0, true), (2, true)]);
        assert_eq!(t.outstanding(), 0);
    }

    #[test]
    fn collision_waits_for_the_id_to_free() {
        let t = Tracker::default();
        let (log, p) = recorder();
        for i in 0..2 {
            t.accept(p(i), || Ok(())).ok();
        }
        t.on_publish(1);
        t.on_collision(1);
        t.on_puback(1);
        t.on_publish(1);
        t.on_puback(1);
        assert_eq!(*log.lock().unwrap(), vec![(0, true), (1, true)]);
    }

    #[test]
    fn expired_sends_fail_once_and_keep_their_slot() {
        let t = Tracker::default();
        let (log, p) = recorder();
        t.accept(p(0), || Ok(())).ok();
        t.accept(p(1), || Ok(())).ok();
        t.on_publish(1);
        assert_eq!(t.expire(Duration::ZERO, || Error::new(crate::ErrorKind::Timeout, "t")), 1);
        t.on_publish(1); // re-send of the expired one: must not take send 1
        t.on_publish(2);
        t.on_puback(1);
        t.on_puback(2);
        assert_eq!(*log.lock().unwrap(), vec![(0, false), (1, true)]);
    }

    #[test]
    fn close_fails_every_outstanding_send_and_refuses_new_ones() {
        let t = Tracker::default();
        let (log, p) = recorder();
        for i in 0..3 {
            t.accept(p(i), || Ok(())).ok();
        }
        t.on_publish(1);
        t.close(&Error::new(crate::ErrorKind::Closed, "closed"));
        let mut got = log.lock().unwrap().clone();
        got.sort();
        assert_eq!(got, vec![(0, false), (1, false), (2, false)]);
        assert!(t.accept(p(9), || Ok(())).is_err());
    }
}
