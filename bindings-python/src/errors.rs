//! Core errors as Python exceptions.
//!
//! The classes live in `iotsec/exceptions.py` (so they pickle, subclass and document like any
//! Python exception); this file hands `iotsec.exceptions._from_native` the stable code, the
//! message and, for schema errors, the violations. Core messages never contain secrets.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyList;

use crate::schema::Violation;

static FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn factory(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    FROM_NATIVE
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py.import("iotsec.exceptions")?.getattr("_from_native")?.unbind())
        })
        .map(|f| f.bind(py))
}

/// The Python exception for a core error.
pub(crate) fn to_pyerr(py: Python<'_>, error: &iotsec::Error) -> PyErr {
    match build(py, error) {
        Ok(exception) => PyErr::from_value(exception),
        // Only if iotsec.exceptions cannot be imported: still say what happened.
        Err(_) => PyRuntimeError::new_err(format!("[{}] {}", error.kind().name(), error.message())),
    }
}

fn build<'py>(py: Python<'py>, error: &iotsec::Error) -> PyResult<Bound<'py, PyAny>> {
    let violations = PyList::empty(py);
    for v in error.violations() {
        violations.append(Bound::new(py, Violation::from_core(v))?)?;
    }
    factory(py)?.call1((error.kind().name(), error.message(), violations, error.connack_code()))
}

/// An `INTERNAL` error (a caught panic, a broken invariant).
pub(crate) fn internal(py: Python<'_>, message: &str) -> PyErr {
    to_pyerr(py, &iotsec::Error::new(iotsec::ErrorKind::Internal, message))
}

/// An `INVALID_ARGUMENT` error (a `ValueError` in Python).
pub(crate) fn invalid_argument(py: Python<'_>, message: impl Into<String>) -> PyErr {
    to_pyerr(py, &iotsec::Error::invalid_argument(message))
}

/// `PyResult` from a core `Result`.
pub(crate) trait IntoPy<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for iotsec::Result<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, &e))
    }
}
