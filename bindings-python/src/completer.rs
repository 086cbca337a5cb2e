//! Resolving asyncio futures from iotsec threads without taking the GIL there.
//!
//! Core reports each outcome on one of its own (tokio) threads. Taking the GIL on such a
//! thread would stall the MQTT session behind whatever Python is doing (up to the 5 ms switch
//! interval per completion), so it never happens: the outcome is pushed onto a per-event-loop
//! queue, and only the first outcome after the queue was last drained writes one byte to a
//! socket pair whose read end the event loop watches (`loop.add_reader`). The loop then runs
//! [`Drain`] on its own thread, with the GIL, resolving every queued future in one pass. One
//! wake-up per batch, however many messages it holds.
//!
//! Event loops that cannot watch a file descriptor (Windows' proactor) get the same batching
//! through `loop.call_soon_threadsafe`, which does take the GIL once per batch.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::errors::to_pyerr;
use crate::guard;

type Outcome = iotsec::Result<()>;

enum Wake {
    #[cfg(unix)]
    Socket {
        tx: std::os::unix::net::UnixStream,
        rx: std::os::unix::net::UnixStream,
    },
    CallSoon {
        event_loop: Py<PyAny>,
        drain: Py<Drain>,
    },
}

/// The futures of one event loop awaiting an outcome, and how to wake that loop.
pub(crate) struct Completer {
    queue: Mutex<Vec<(Py<PyAny>, Outcome)>>,
    armed: AtomicBool,
    wake: std::sync::OnceLock<Wake>,
}

impl Completer {
    /// Records `outcome` for `future` (any thread, no GIL needed) and wakes the loop if no
    /// wake-up is pending yet.
    pub(crate) fn complete(&self, future: Py<PyAny>, outcome: Outcome) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push((future, outcome));
        if !self.armed.swap(true, Ordering::SeqCst) {
            self.wake();
        }
    }

    fn wake(&self) {
        match self.wake.get() {
            #[cfg(unix)]
            Some(Wake::Socket { tx, .. }) => {
                // One byte per batch: the buffer cannot fill up.
                let _ = (&*tx).write(&[1]);
            }
            Some(Wake::CallSoon { event_loop, drain }) => {
                // Python may be finalizing; then nobody is waiting any more.
                let _ = Python::try_attach(|py| {
                    let _ = event_loop
                        .bind(py)
                        .call_method1(pyo3::intern!(py, "call_soon_threadsafe"), (drain.clone_ref(py),));
                });
            }
            None => {}
        }
    }

    /// Resolves every queued future (on the loop's thread, with the GIL).
    fn drain(&self, py: Python<'_>) {
        #[cfg(unix)]
        if let Some(Wake::Socket { rx, .. }) = self.wake.get() {
            // Consume the wake-up bytes first, then disarm, then take the queue: an outcome
            // pushed at any point is either taken now or has armed (and written) again.
            let mut buf = [0u8; 256];
            while let Ok(n) = (&*rx).read(&mut buf) {
                if n < buf.len() {
                    break;
                }
            }
        }
        self.armed.store(false, Ordering::SeqCst);
        let items = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
        for (future, outcome) in items {
            let future = future.bind(py);
            // A future cancelled meanwhile refuses the result (InvalidStateError): ignore it.
            let _ = match outcome {
                Ok(()) => future.call_method1(pyo3::intern!(py, "set_result"), (py.None(),)),
                Err(e) => future.call_method1(pyo3::intern!(py, "set_exception"), (to_pyerr(py, &e).into_value(py),)),
            };
        }
    }
}

/// The callable the event loop runs when outcomes are waiting (internal).
#[pyclass(frozen, module = "iotsec._native")]
pub struct Drain {
    completer: Arc<Completer>,
}

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            self.completer.drain(py);
            Ok(())
        })
    }
}

struct Entry {
    event_loop: Py<PyAny>,
    completer: Arc<Completer>,
}

static LOOPS: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static FUTURE_TYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn running_loop<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    let get = GET_RUNNING_LOOP.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("asyncio.events")?.getattr("_get_running_loop")?.unbind())
    })?;
    let event_loop = get.bind(py).call0()?;
    if event_loop.is_none() {
        return Err(PyRuntimeError::new_err(
            "the iotsec.aio clients must be used from a coroutine running in an asyncio event loop \
             (use iotsec.IoTHubDeviceClient for blocking calls)",
        ));
    }
    Ok(event_loop)
}

/// A waiter for an outcome: the future Python awaits, and the completer that will resolve it.
pub(crate) struct Waiter<'py> {
    pub future: Bound<'py, PyAny>,
    pub completer: Arc<Completer>,
}

impl Waiter<'_> {
    /// The completion core calls (on any thread) with the outcome.
    pub(crate) fn completion(&self) -> impl FnOnce(Outcome) + Send + 'static {
        let completer = self.completer.clone();
        let future = self.future.clone().unbind();
        move |outcome| {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| completer.complete(future, outcome)));
        }
    }

    /// Resolves the future now (on the loop's thread) with an error found before queueing.
    pub(crate) fn fail_now(&self, py: Python<'_>, error: &iotsec::Error) -> PyResult<()> {
        self.future.call_method1(pyo3::intern!(py, "set_exception"), (to_pyerr(py, error).into_value(py),))?;
        Ok(())
    }
}

/// A new future of the running event loop, with that loop's completer.
pub(crate) fn waiter(py: Python<'_>) -> PyResult<Waiter<'_>> {
    let event_loop = running_loop(py)?;
    let completer = completer_for(py, &event_loop)?;
    let future_type = FUTURE_TYPE.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("iotsec._futures")?.getattr("SendFuture")?.unbind())
    })?;
    // With no arguments the future belongs to the running loop, the one looked up above.
    let future = future_type.bind(py).call0()?;
    Ok(Waiter { future, completer })
}

fn completer_for(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Completer>> {
    {
        let loops = LOOPS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = loops.iter().find(|e| e.event_loop.as_ptr() == event_loop.as_ptr()) {
            return Ok(e.completer.clone());
        }
    }
    // First use of this loop: forget loops that are closed, then register this one.
    let stale: Vec<Entry> = {
        let mut loops = LOOPS.lock().unwrap_or_else(|p| p.into_inner());
        let (keep, stale): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut *loops).into_iter().partition(|e| {
            !e.event_loop.bind(py).call_method0("is_closed").and_then(|c| c.is_truthy()).unwrap_or(true)
        });
        *loops = keep;
        stale
    };
    drop(stale);
    let completer = Arc::new(Completer {
        queue: Mutex::new(Vec::new()),
        armed: AtomicBool::new(false),
        wake: std::sync::OnceLock::new(),
    });
    let drain = Py::new(py, Drain { completer: completer.clone() })?;
    let wake = socket_wake(py, event_loop, &drain)
        .unwrap_or_else(|| Wake::CallSoon { event_loop: event_loop.clone().unbind(), drain: drain.clone_ref(py) });
    let _ = completer.wake.set(wake);
    LOOPS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Entry { event_loop: event_loop.clone().unbind(), completer: completer.clone() });
    Ok(completer)
}

/// Forgets every event loop's completer in a child created by `os.fork()` (registered with
/// `os.register_at_fork` by `iotsec/__init__.py`): the wake-up sockets are shared with the parent,
/// and the parent's outcomes never arrive here.
#[pyfunction]
pub(crate) fn _after_fork_in_child(py: Python<'_>) -> PyResult<()> {
    guard(py, || {
        let stale = std::mem::take(&mut *LOOPS.lock().unwrap_or_else(|p| p.into_inner()));
        drop(stale);
        Ok(())
    })
}

#[cfg(unix)]
fn socket_wake(py: Python<'_>, event_loop: &Bound<'_, PyAny>, drain: &Py<Drain>) -> Option<Wake> {
    use std::os::fd::AsRawFd;
    let (tx, rx) = std::os::unix::net::UnixStream::pair().ok()?;
    tx.set_nonblocking(true).ok()?;
    rx.set_nonblocking(true).ok()?;
    event_loop.call_method1(pyo3::intern!(py, "add_reader"), (rx.as_raw_fd(), drain.clone_ref(py))).ok()?;
    Some(Wake::Socket { tx, rx })
}

#[cfg(not(unix))]
fn socket_wake(_py: Python<'_>, _event_loop: &Bound<'_, PyAny>, _drain: &Py<Drain>) -> Option<Wake> {
    None
}
