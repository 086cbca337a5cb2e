//! Connection state changes for Python handlers (`on_connection_state_change`,
//! `on_connection_event`).
//!
//! Core reports every change ([`iotsec::StateChanges`]) to a task on the shared runtime. The
//! task never takes the GIL: it queues the change and writes one byte to a socket pair. A
//! Python thread (started by `iotsec._clients` when a handler is first set) blocks in
//! `os.read()` on the other end, in C with the GIL released, then takes the queued changes
//! with [`StateEvents::take`] and calls the handlers. When the client is gone the task drops
//! its end of the socket, the read returns end-of-file and the thread ends.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::errors::to_pyerr;
use crate::guard;

#[derive(Default)]
struct Queue {
    changes: Vec<iotsec::StateChange>,
}

/// The changes of one client waiting for its handler thread (internal).
#[pyclass(frozen, module = "iotsec._native")]
pub struct StateEvents {
    queue: Arc<Mutex<Queue>>,
    rx: UnixStream,
}

impl StateEvents {
    /// Starts forwarding `client`'s changes from now on.
    pub(crate) fn start(client: &iotsec::Client) -> std::io::Result<StateEvents> {
        let (tx, rx) = UnixStream::pair()?;
        // Never block a runtime thread: when the buffer is full, the reader has bytes waiting
        // and will take every queued change anyway.
        tx.set_nonblocking(true)?;
        let queue = Arc::new(Mutex::new(Queue::default()));
        let mut changes = client.state_changes();
        let forward = queue.clone();
        iotsec::runtime::handle().spawn(async move {
            let mut tx = tx;
            while let Some(change) = changes.next().await {
                forward.lock().unwrap_or_else(|p| p.into_inner()).changes.push(change);
                // One byte per change; the reader takes every queued change per wake-up.
                match tx.write(&[1]) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => break, // the reader is gone
                }
            }
            // Dropping `tx` here ends the reader's loop (end of file).
        });
        Ok(StateEvents { queue, rx })
    }
}

fn opt<'py>(py: Python<'py>, value: Option<&str>) -> Bound<'py, PyAny> {
    match value {
        Some(v) => v.into_pyobject(py).map(|s| s.into_any()).unwrap_or_else(|_| py.None().into_bound(py)),
        None => py.None().into_bound(py),
    }
}

#[pymethods]
impl StateEvents {
    /// The file descriptor to read wake-up bytes from (end of file: the client is gone).
    fn fileno(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.rx.as_raw_fd()
    }

    /// Every change queued so far, oldest first, as `(state, reason, status, attempt, error)`:
    /// `state` `"connecting"`, `"connected"`, `"reconnecting"`, `"disconnected"` or
    /// `"closed"`; `reason` `"CONNECTION_OK"`, `"EXPIRED_SAS_TOKEN"`, ...; `status`
    /// `"CONNECTED"`, `"DISCONNECTED_RETRYING"`, `"DISCONNECTED"` or `None` (no SDK callback
    /// for this change); `attempt` for `"reconnecting"`; `error` the exception that caused it.
    fn take<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let changes = std::mem::take(&mut self.queue.lock().unwrap_or_else(|p| p.into_inner()).changes);
            let out = PyList::empty(py);
            for c in changes {
                let attempt = match &c.state {
                    iotsec::ConnectionState::Reconnecting { attempt, .. } => attempt.into_pyobject(py)?.into_any(),
                    _ => py.None().into_bound(py),
                };
                let error = match c.state.error() {
                    Some(e) => to_pyerr(py, e).into_value(py).into_bound(py).into_any(),
                    None => py.None().into_bound(py),
                };
                let item = PyTuple::new(
                    py,
                    [
                        opt(py, Some(c.state.name())),
                        opt(py, Some(c.reason.name())),
                        opt(py, c.status.map(|s| s.name())),
                        attempt,
                        error,
                    ],
                )?;
                out.append(item)?;
            }
            Ok(out)
        })
    }
}
