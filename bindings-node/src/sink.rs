//! Where outcomes wait for the JavaScript thread: one queue and one thread-safe function per
//! client.
//!
//! Core calls a completion on an iotsec thread when a PUBACK (or a failure) arrives. The
//! completion only appends `(id, outcome)` to the queue; the first one appended to an empty
//! queue also wakes this client's *flusher*, a small task on the iotsec runtime. Woken from
//! the session task, the flusher runs on the same worker as soon as that task has nothing more
//! to read, so a burst of PUBACKs read together becomes one call of the thread-safe function:
//! one wake-up of the event loop, one `onReady()` that drains everything with [`Sink::take`].
//!
//! The thread-safe function starts unreferenced (it does not keep the process alive); the
//! JavaScript layer references it while it waits for something or holds a connection open, and
//! releases it when the client is closed.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use napi::sys;
use tokio::sync::Notify;

use crate::js;

#[derive(Default)]
struct Queue {
    ok: Vec<u32>,
    failed: Vec<(u32, iotsec::Error)>,
    states: Vec<iotsec::StateChange>,
    /// The flusher was woken (or its call of the thread-safe function is pending): whatever is
    /// added now will be drained by that call.
    scheduled: bool,
}

#[derive(Clone, Copy)]
struct Tsfn(sys::napi_threadsafe_function);
// SAFETY: a thread-safe function handle is meant to be used from any thread. It is only used
// under `Sink::tsfn`'s lock, and set to None under that lock before it is released or
// finalized, so no thread uses it afterwards.
unsafe impl Send for Tsfn {}

/// The per-client outcome queue.
#[derive(Default)]
pub struct Sink {
    queue: Mutex<Queue>,
    /// `None` once released or finalized: nothing may call it then.
    tsfn: Mutex<Option<Tsfn>>,
    /// Wakes the flusher.
    flush: Notify,
    /// The pump waits for room in core's queue.
    wants_room: AtomicBool,
    room: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sink {
    /// Creates the thread-safe function that calls `on_ready` (no arguments) on the JS thread
    /// whenever outcomes are waiting, and starts the flusher. It starts unreferenced.
    pub fn attach(self: &Arc<Self>, env: sys::napi_env, on_ready: sys::napi_value) -> napi::Result<()> {
        let name = js::string(env, "iotsec")?;
        let finalize_data = Arc::into_raw(self.clone()) as *mut c_void;
        let mut tsfn = ptr::null_mut();
        let status = unsafe {
            sys::napi_create_threadsafe_function(
                env,
                on_ready,
                ptr::null_mut(),
                name,
                0,
                1,
                finalize_data,
                Some(finalize),
                ptr::null_mut(),
                Some(call_js),
                &mut tsfn,
            )
        };
        if status != sys::Status::napi_ok {
            // SAFETY: Node did not take the pointer, so this is the only owner.
            drop(unsafe { Arc::from_raw(finalize_data as *const Sink) });
            return js::check(status, "create threadsafe function");
        }
        js::check(unsafe { sys::napi_unref_threadsafe_function(env, tsfn) }, "unref threadsafe function")?;
        *lock(&self.tsfn) = Some(Tsfn(tsfn));
        let sink = self.clone();
        iotsec::runtime::handle().spawn(async move {
            loop {
                sink.flush.notified().await;
                if !sink.call() {
                    break;
                }
            }
        });
        Ok(())
    }

    /// One call of the thread-safe function; false once it is gone (the flusher then ends).
    fn call(&self) -> bool {
        let slot = lock(&self.tsfn);
        let Some(Tsfn(f)) = *slot else { return false };
        let status = unsafe { sys::napi_call_threadsafe_function(f, ptr::null_mut(), sys::ThreadsafeFunctionCallMode::nonblocking) };
        drop(slot);
        if status != sys::Status::napi_ok {
            // Closing: nothing will drain; let a later outcome try again (and find it gone).
            lock(&self.queue).scheduled = false;
        }
        true
    }

    /// The pump found core's queue full: the next completion should wake it.
    pub fn want_room(&self) {
        self.wants_room.store(true, Ordering::SeqCst);
    }

    /// Resolves when a completion may have made room (see [`Sink::want_room`]).
    pub fn room(&self) -> tokio::sync::futures::Notified<'_> {
        self.room.notified()
    }

    /// Records the outcome of operation `id` (any thread).
    pub fn complete(&self, id: u32, outcome: iotsec::Result<()>) {
        if self.wants_room.load(Ordering::Relaxed) && self.wants_room.swap(false, Ordering::SeqCst) {
            self.room.notify_one();
        }
        let mut q = lock(&self.queue);
        match outcome {
            Ok(()) => q.ok.push(id),
            Err(e) => q.failed.push((id, e)),
        }
        self.schedule(q);
    }

    /// Records a connection state change (any thread).
    pub fn state(&self, change: iotsec::StateChange) {
        let mut q = lock(&self.queue);
        q.states.push(change);
        self.schedule(q);
    }

    fn schedule(&self, mut q: MutexGuard<'_, Queue>) {
        if q.scheduled {
            return;
        }
        q.scheduled = true;
        drop(q);
        self.flush.notify_one();
    }

    /// Keeps the event loop alive (`true`) or lets it end (`false`) while this client exists.
    /// JS thread only.
    pub fn set_ref(&self, env: sys::napi_env, keep_alive: bool) -> napi::Result<()> {
        let slot = lock(&self.tsfn);
        if let Some(Tsfn(f)) = *slot {
            if keep_alive {
                js::check(unsafe { sys::napi_ref_threadsafe_function(env, f) }, "ref threadsafe function")?;
            } else {
                js::check(unsafe { sys::napi_unref_threadsafe_function(env, f) }, "unref threadsafe function")?;
            }
        }
        Ok(())
    }

    /// Gives the thread-safe function back to Node: no more calls after this (outcomes that
    /// still arrive are dropped), and the flusher ends. Safe to call more than once.
    pub fn release(&self) {
        let taken = lock(&self.tsfn).take();
        if let Some(Tsfn(f)) = taken {
            unsafe { sys::napi_release_threadsafe_function(f, sys::ThreadsafeFunctionReleaseMode::release) };
        }
        self.flush.notify_one();
    }

    /// Everything queued so far as `{ ok: number[], failed?: [id, Error, id, Error, ...],
    /// states?: [{ state, attempt?, error? }, ...] }`, or `null` when nothing is queued.
    /// JS thread only; `onReady` calls it until it returns `null`: until then, outcomes that
    /// arrive are left for that loop instead of scheduling another call.
    pub fn take(&self, env: sys::napi_env) -> napi::Result<js::Value> {
        let (ok, failed, states) = {
            let mut q = lock(&self.queue);
            if q.ok.is_empty() && q.failed.is_empty() && q.states.is_empty() {
                q.scheduled = false;
                return js::null(env);
            }
            let capacity = q.ok.capacity();
            (std::mem::replace(&mut q.ok, Vec::with_capacity(capacity.min(1024))), std::mem::take(&mut q.failed), std::mem::take(&mut q.states))
        };
        let out = js::object(env)?;
        let ids = js::array(env, ok.len())?;
        for (i, id) in ok.iter().enumerate() {
            js::set_index(env, ids, i, js::uint(env, *id)?)?;
        }
        js::set(env, out, c"ok", ids)?;
        if !failed.is_empty() {
            let list = js::array(env, failed.len() * 2)?;
            for (i, (id, e)) in failed.iter().enumerate() {
                js::set_index(env, list, 2 * i, js::uint(env, *id)?)?;
                js::set_index(env, list, 2 * i + 1, js::error(env, e)?)?;
            }
            js::set(env, out, c"failed", list)?;
        }
        if !states.is_empty() {
            let list = js::array(env, states.len())?;
            for (i, change) in states.iter().enumerate() {
                js::set_index(env, list, i, state_object(env, change)?)?;
            }
            js::set(env, out, c"states", list)?;
        }
        Ok(out)
    }
}

/// `{ state: 'connected' | ..., reason: 'CONNECTION_OK' | ..., status?: 'CONNECTED' | ...,
/// attempt?, error? }`.
pub fn state_object(env: sys::napi_env, change: &iotsec::StateChange) -> napi::Result<js::Value> {
    use iotsec::ConnectionState as S;
    let state = &change.state;
    let o = js::object(env)?;
    js::set(env, o, c"state", js::string(env, state.name())?)?;
    js::set(env, o, c"reason", js::string(env, change.reason.name())?)?;
    if let Some(status) = change.status {
        js::set(env, o, c"status", js::string(env, status.name())?)?;
    }
    match state {
        S::Reconnecting { attempt, reason } => {
            js::set(env, o, c"attempt", js::uint(env, *attempt)?)?;
            js::set(env, o, c"error", js::error(env, reason)?)?;
        }
        S::Disconnected { reason: Some(reason) } => js::set(env, o, c"error", js::error(env, reason)?)?,
        _ => {}
    }
    Ok(o)
}

/// Runs on the JS thread for each scheduled call: calls `onReady()`. An exception it throws is
/// left pending, so Node reports it as uncaught, as for any callback.
unsafe extern "C" fn call_js(env: sys::napi_env, js_cb: sys::napi_value, _context: *mut c_void, _data: *mut c_void) {
    if env.is_null() || js_cb.is_null() {
        return; // the environment is being torn down
    }
    let mut undefined = ptr::null_mut();
    let mut result = ptr::null_mut();
    unsafe {
        sys::napi_get_undefined(env, &mut undefined);
        sys::napi_call_function(env, undefined, js_cb, 0, ptr::null(), &mut result);
    }
}

/// Node is done with the thread-safe function (released, or the environment ended): forget it
/// before its memory goes, and drop the reference `attach` gave away.
unsafe extern "C" fn finalize(_env: sys::napi_env, finalize_data: *mut c_void, _hint: *mut c_void) {
    if finalize_data.is_null() {
        return;
    }
    // SAFETY: `attach` leaked exactly this Arc for this callback, which Node calls once.
    let sink = unsafe { Arc::from_raw(finalize_data as *const Sink) };
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        *lock(&sink.tsfn) = None;
        sink.flush.notify_one();
    }));
}
