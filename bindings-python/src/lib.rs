//! `iotsec._native`: the Rust half of the Python package `iotsec`.
//!
//! Everything here translates: Python objects in, core calls, Python objects out. Behaviour
//! (validation, topics, MQTT, reconnecting) lives in the `iotsec` core crate.
//!
//! Rules kept at every entry point:
//! - no panic crosses into Python: each entry runs inside [`guard`], which turns a panic into
//!   `iotsec.exceptions.InternalError` (code `INTERNAL`);
//! - the GIL is released while waiting (blocking calls) and while core works on a send;
//! - no tokio thread ever takes the GIL: asyncio futures are resolved on the event loop's own
//!   thread (see [`completer`]).

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::prelude::*;

mod client;
mod completer;
mod convert;
mod errors;
mod events;
mod message;
mod options;
mod schema;

/// Runs `f`, turning a panic into an `InternalError` instead of letting it unwind into Python.
pub(crate) fn guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(errors::internal(py, &panic_text(payload.as_ref()))),
    }
}

/// The text of a panic payload (a `&str` or `String`, usually).
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    format!("iotsec bug (a panic was caught at the Python boundary, please report it): {what}")
}

/// The package version (the workspace version every language package shares).
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The user agent a client announces in its MQTT username.
#[pyfunction]
fn user_agent(py: Python<'_>) -> String {
    iotsec::client::user_agent(Some(&options::product_info(py)))
}

/// Stops the shared iotsec runtime's threads (waiting at most `timeout` seconds). Open clients are
/// cut off. Safe to call more than once; later use starts a new runtime. Called at interpreter
/// exit by `iotsec/__init__.py`.
#[pyfunction]
#[pyo3(signature = (timeout = 1.0))]
fn _shutdown_runtime(py: Python<'_>, timeout: f64) -> PyResult<()> {
    guard(py, || {
        let timeout = std::time::Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or_default();
        py.detach(|| iotsec::runtime::shutdown(timeout));
        Ok(())
    })
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // IOTSEC_LOG=trace (or a filter) logs iotsec, rumqttc and rustls on standard error.
    let _ = std::panic::catch_unwind(iotsec::client::init_logging_from_env);
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(user_agent, m)?)?;
    m.add_function(wrap_pyfunction!(_shutdown_runtime, m)?)?;
    m.add_class::<message::Message>()?;
    m.add_class::<client::Client>()?;
    m.add_class::<completer::Drain>()?;
    m.add_class::<events::StateEvents>()?;
    m.add_function(wrap_pyfunction!(completer::_after_fork_in_child, m)?)?;
    schema::register(m)?;
    m.add("SECURITY_INTERFACE_ID", iotsec::SECURITY_INTERFACE_ID)?;
    m.add("MAX_BODY_BYTES", iotsec::MAX_BODY_BYTES)?;
    m.add("ERROR_CODES", iotsec::ErrorKind::ALL.map(|k| (k.name(), k.code())).to_vec())?;
    Ok(())
}
