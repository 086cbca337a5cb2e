//! The native client under `iotsec.IoTHubDeviceClient` / `IoTHubModuleClient` (blocking) and
//! `iotsec.aio.IoTHubDeviceClient` / `IoTHubModuleClient` (asyncio).
//!
//! Blocking methods release the GIL while core waits. Async methods return a future of the
//! running event loop, resolved by [`crate::completer`]: a send is validated and queued at
//! once (core's `send_message_with`), its PUBACK resolves the future later.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString};

use crate::completer::waiter;
use crate::convert::{body_bytes, type_name_of};
use crate::errors::{to_pyerr, IntoPy};
use crate::message::Message;
use crate::{guard, options, panic_text};

/// A device or module client (internal base of the public client classes).
#[pyclass(subclass, frozen, module = "iotsec._native")]
pub struct Client {
    client: iotsec::Client,
}

/// A core message made from `str` / `bytes` (sent as a plain message, as the SDK does).
fn outgoing(message: &Bound<'_, PyAny>) -> PyResult<iotsec::Message> {
    if message.cast::<PyString>().is_ok() || message.cast::<PyBytes>().is_ok() || message.cast::<PyByteArray>().is_ok()
    {
        return Ok(iotsec::Message::new(body_bytes(message, "message")?));
    }
    Err(PyTypeError::new_err(format!(
        "send_message() takes an iotsec.Message, str or bytes, not {}",
        type_name_of(message)
    )))
}

/// Runs `f` with the core message to send, borrowed from an `iotsec.Message` when possible.
fn with_message<R>(message: &Bound<'_, PyAny>, f: impl FnOnce(&iotsec::Message) -> R) -> PyResult<R> {
    let py = message.py();
    if let Ok(m) = message.cast::<Message>() {
        let m = m.try_borrow().map_err(|_| PyValueError::new_err("the Message is being modified by another thread"))?;
        let core = m.core_message(py)?;
        return Ok(f(&core));
    }
    let owned = outgoing(message)?;
    Ok(f(&owned))
}

/// A future that turns a panic into an `INTERNAL` error instead of killing a runtime thread.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future<Output = iotsec::Result<()>>> Future for CatchUnwind<F> {
    type Output = iotsec::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                Poll::Ready(Err(iotsec::Error::new(iotsec::ErrorKind::Internal, panic_text(payload.as_ref()))))
            }
        }
    }
}

fn closed_error() -> iotsec::Error {
    iotsec::Error::new(iotsec::ErrorKind::Closed, "the client was shut down; create a new client")
}

impl Client {
    /// Runs `operation` (a core future) on the shared runtime and returns an asyncio future
    /// resolved with its outcome.
    fn spawn<'py, F>(&self, py: Python<'py>, operation: F) -> PyResult<Bound<'py, PyAny>>
    where
        F: Future<Output = iotsec::Result<()>> + Send + 'static,
    {
        let w = waiter(py)?;
        let completion = w.completion();
        iotsec::runtime::handle().spawn(async move {
            completion(CatchUnwind(Box::pin(operation)).await);
        });
        Ok(w.future)
    }
}

#[pymethods]
impl Client {
    /// `kind` is `"device"`, `"module"` or `"any"`; `options` are the keyword options of
    /// `create_from_connection_string`.
    #[new]
    #[pyo3(signature = (connection_string, kind = "any", options = None))]
    fn new(
        py: Python<'_>,
        connection_string: &Bound<'_, PyAny>,
        kind: &str,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        guard(py, || {
            let text = connection_string.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "the connection string must be a str, not {}",
                    type_name_of(connection_string)
                ))
            })?;
            let text = crate::convert::utf8_text(text, "the connection string").map_err(|_| {
                // Named as a connection string error, without echoing the text (it holds the key).
                to_pyerr(
                    py,
                    &iotsec::Error::new(
                        iotsec::ErrorKind::InvalidConnectionString,
                        "invalid connection string: it contains a lone surrogate, which is not text (it cannot be encoded as UTF-8)",
                    ),
                )
            })?;
            let options = options::client_options(py, options)?;
            let client = py
                .detach(|| match kind {
                    "device" => Ok(iotsec::Client::device_from_connection_string(&text, options)),
                    "module" => Ok(iotsec::Client::module_from_connection_string(&text, options)),
                    "any" => Ok(iotsec::Client::from_connection_string(&text, options)),
                    _ => Err(()),
                })
                .map_err(|()| PyValueError::new_err("kind must be \"device\", \"module\" or \"any\""))?
                .py_err(py)?;
            Ok(Client { client })
        })
    }

    /// Whether the client is connected right now.
    #[getter]
    fn connected(&self) -> bool {
        self.client.is_connected()
    }

    /// The connection state: `disconnected`, `connecting`, `connected`, `reconnecting` or `closed`.
    #[getter]
    fn connection_state(&self) -> &'static str {
        self.client.state().name()
    }

    /// The device id from the connection string.
    #[getter]
    fn device_id(&self) -> String {
        self.client.identity().device_id().to_string()
    }

    /// The module id from the connection string (`None` for a device).
    #[getter]
    fn module_id(&self) -> Option<String> {
        self.client.identity().module_id().map(str::to_string)
    }

    /// The MQTT username the client presents (contains no secret).
    #[getter]
    fn mqtt_username(&self) -> String {
        self.client.mqtt_username().to_string()
    }

    /// Starts forwarding connection state changes to a handler thread (internal; see
    /// `iotsec._clients`).
    fn _state_events(&self, py: Python<'_>) -> PyResult<crate::events::StateEvents> {
        guard(py, || {
            crate::events::StateEvents::start(&self.client)
                .map_err(|e| to_pyerr(py, &iotsec::Error::new(iotsec::ErrorKind::Io, format!("cannot start connection events: {e}"))))
        })
    }

    // ---- blocking -------------------------------------------------------------------------

    fn _connect_blocking(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            let client = &self.client;
            py.detach(|| client.connect_blocking()).py_err(py)
        })
    }

    fn _send_blocking(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || {
            let client = &self.client;
            with_message(message, |m| py.detach(|| client.send_message_blocking(m)))?.py_err(py)
        })
    }

    fn _disconnect_blocking(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            if self.client.is_closed() {
                return Err(to_pyerr(py, &closed_error()));
            }
            let client = &self.client;
            py.detach(|| client.disconnect_blocking()).py_err(py)
        })
    }

    fn _shutdown_blocking(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            let client = &self.client;
            py.detach(|| client.close_blocking());
            Ok(())
        })
    }

    // ---- asyncio --------------------------------------------------------------------------

    fn _connect_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let client = self.client.clone();
            self.spawn(py, async move { client.connect().await })
        })
    }

    /// Validates and queues `message` now; the returned future resolves at its PUBACK.
    fn _send_async<'py>(&self, py: Python<'py>, message: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let w = waiter(py)?;
            let client = &self.client;
            let completion = w.completion();
            let queued = with_message(message, |m| py.detach(|| client.send_message_with(m, completion)))?;
            if let Err(e) = queued {
                w.fail_now(py, &e)?;
            }
            Ok(w.future)
        })
    }

    fn _disconnect_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let client = self.client.clone();
            self.spawn(py, async move {
                if client.is_closed() {
                    return Err(closed_error());
                }
                client.disconnect().await
            })
        })
    }

    fn _shutdown_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let client = self.client.clone();
            self.spawn(py, async move {
                client.close().await;
                Ok(())
            })
        })
    }

    /// Closes at once without waiting for outstanding sends (they fail with `CLOSED`).
    fn _close_now(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            let client = &self.client;
            py.detach(|| client.close_now());
            Ok(())
        })
    }
}
