//! Schema validation and the security-message builder, for `iotsec.security`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use iotsec::schema::{self, Event, EventKind, SecurityMessage};

use crate::convert::{body_bytes, json_value, opt_str, repr_str};
use crate::errors::{self, IntoPy};
use crate::guard;
use crate::message::Message;

/// Where in the raw bytes a body stops being UTF-8 or JSON (offset 0-based; line and column
/// 1-based, column counted in bytes).
#[pyclass(frozen, eq, hash, from_py_object, module = "iotsec.security", name = "TextPosition")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TextPosition {
    #[pyo3(get)]
    offset: usize,
    #[pyo3(get)]
    line: usize,
    #[pyo3(get)]
    column: usize,
}

#[pymethods]
impl TextPosition {
    #[new]
    fn new(offset: usize, line: usize, column: usize) -> Self {
        TextPosition { offset, line, column }
    }

    fn __repr__(&self) -> String {
        format!("TextPosition(offset={}, line={}, column={})", self.offset, self.line, self.column)
    }
}

/// One way a body breaks the security-message schema.
#[pyclass(frozen, eq, hash, module = "iotsec.security", name = "Violation")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Violation {
    /// JSON pointer (RFC 6901) of the value at fault; `""` is the whole document.
    #[pyo3(get)]
    pointer: String,
    /// The rule that failed: a schema keyword (`required`, `type`, `format`, `enum`, ...), or
    /// `utf8` / `json` when the bytes cannot be read.
    #[pyo3(get)]
    rule: String,
    /// A readable explanation.
    #[pyo3(get)]
    message: String,
    /// For `utf8` and `json` violations: where reading stopped.
    #[pyo3(get)]
    position: Option<TextPosition>,
}

impl Violation {
    pub(crate) fn from_core(v: &iotsec::Violation) -> Self {
        Violation {
            pointer: v.pointer.clone(),
            rule: v.rule.clone(),
            message: v.message.clone(),
            position: v.position.map(|p| TextPosition { offset: p.offset, line: p.line, column: p.column }),
        }
    }

    fn to_core(&self) -> iotsec::Violation {
        let v = iotsec::Violation::new(self.pointer.clone(), self.rule.clone(), self.message.clone());
        match &self.position {
            Some(p) => v.at(schema::TextPosition { offset: p.offset, line: p.line, column: p.column }),
            None => v,
        }
    }
}

#[pymethods]
impl Violation {
    #[new]
    #[pyo3(signature = (pointer, rule, message, position = None))]
    fn new(pointer: String, rule: String, message: String, position: Option<TextPosition>) -> Self {
        Violation { pointer, rule, message, position }
    }

    fn __str__(&self) -> String {
        self.to_core().to_string()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let position = self.position.as_ref().map(TextPosition::__repr__).unwrap_or_else(|| "None".into());
        format!(
            "Violation(pointer={}, rule={}, message={}, position={position})",
            repr_str(py, &self.pointer),
            repr_str(py, &self.rule),
            repr_str(py, &self.message)
        )
    }
}

fn violations(py: Python<'_>, list: Vec<iotsec::Violation>) -> PyResult<Bound<'_, PyList>> {
    let out = PyList::empty(py);
    for v in &list {
        out.append(Bound::new(py, Violation::from_core(v))?)?;
    }
    Ok(out)
}

/// A parsed JSON document (`dict` or `list`) rather than body bytes.
fn is_json_container(data: &Bound<'_, PyAny>) -> bool {
    data.cast::<pyo3::types::PyDict>().is_ok() || data.cast::<PyList>().is_ok()
}

/// Every way `data` breaks the security-message schema (an empty list: valid).
///
/// `data` is the body (`str`, `bytes`, `bytearray`, `memoryview`), an `iotsec.Message` (its
/// body is checked), or an already-parsed JSON document (`dict` or `list`).
#[pyfunction]
fn validate<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    guard(py, || {
        if let Ok(m) = data.cast::<Message>() {
            let m = m.try_borrow()?;
            let body = m.inner.body_bytes().clone();
            return violations(py, py.detach(|| schema::validate(&body)));
        }
        if is_json_container(data) {
            let value = json_value(data, "data")?;
            return violations(py, py.detach(|| schema::validate_value(&value)));
        }
        let body = body_bytes(data, "data")?;
        violations(py, py.detach(|| schema::validate(&body)))
    })
}

/// Whether `data` is a valid security message (the fast check used before sending).
#[pyfunction]
fn is_valid(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<bool> {
    guard(py, || {
        if is_json_container(data) {
            let value = json_value(data, "data")?;
            return Ok(schema::is_valid_value(&value));
        }
        if let Ok(m) = data.cast::<Message>() {
            return Ok(schema::is_valid(m.try_borrow()?.inner.body()));
        }
        let body = body_bytes(data, "data")?;
        Ok(py.detach(|| schema::is_valid(&body)))
    })
}

/// The security message described by `agent_id`, `agent_version` and `events` (a list of
/// `(name, records, id, timestamp_local, timestamp_utc)` tuples, records being dicts).
fn security_message(
    agent_id: &Bound<'_, PyAny>,
    agent_version: &Bound<'_, PyAny>,
    events: &Bound<'_, PyAny>,
) -> PyResult<SecurityMessage> {
    let py = agent_id.py();
    let agent_id =
        opt_str(Some(agent_id), "agent_id")?.ok_or_else(|| PyTypeError::new_err("agent_id must be a str"))?;
    let agent_version = opt_str(Some(agent_version), "agent_version")?
        .ok_or_else(|| PyTypeError::new_err("agent_version must be a str"))?;
    let mut message = SecurityMessage::new(agent_id, agent_version);
    for (i, item) in events.try_iter()?.enumerate() {
        let item = item?;
        let tuple = item.cast::<PyTuple>().map_err(|_| PyTypeError::new_err(format!("events[{i}] must be a tuple")))?;
        if tuple.len() != 5 {
            return Err(PyTypeError::new_err(format!(
                "events[{i}] must be (name, records, id, timestamp_local, timestamp_utc)"
            )));
        }
        let name: String = tuple.get_item(0)?.extract()?;
        let kind = name.parse::<EventKind>().py_err(py)?;
        let mut event = Event::new(kind);
        for (j, record) in tuple.get_item(1)?.try_iter()?.enumerate() {
            event.push_raw_record(json_value(&record?, &format!("events[{i}].records[{j}]"))?);
        }
        event.set_id(opt_str(Some(&tuple.get_item(2)?), "Event.id")?);
        event.set_timestamp_local(opt_str(Some(&tuple.get_item(3)?), "Event.timestamp_local")?);
        event.set_timestamp_utc(opt_str(Some(&tuple.get_item(4)?), "Event.timestamp_utc")?);
        message.push(event);
    }
    Ok(message)
}

/// The body of a security message, validated (raises `SchemaValidationError`).
#[pyfunction]
fn build_security_body<'py>(
    py: Python<'py>,
    agent_id: &Bound<'py, PyAny>,
    agent_version: &Bound<'py, PyAny>,
    events: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    guard(py, || {
        let message = security_message(agent_id, agent_version, events)?;
        let body = py.detach(|| message.build()).py_err(py)?;
        Ok(PyBytes::new(py, &body))
    })
}

/// An `iotsec.Message` ready to send: validated body, flagged as a security message, content
/// type `application/json`, content encoding `utf-8`.
#[pyfunction]
fn build_security_message<'py>(
    py: Python<'py>,
    agent_id: &Bound<'py, PyAny>,
    agent_version: &Bound<'py, PyAny>,
    events: &Bound<'py, PyAny>,
) -> PyResult<Message> {
    guard(py, || {
        let message = security_message(agent_id, agent_version, events)?;
        let core = py.detach(|| message.build_message()).py_err(py)?;
        Ok(Message::from_core(py, core))
    })
}

/// `(name, category, event_type, may_be_empty)` of every event type of schema v1.0.
#[pyfunction]
fn event_kinds() -> Vec<(&'static str, &'static str, &'static str, bool)> {
    EventKind::ALL.iter().map(|k| (k.name(), k.category(), k.event_type(), k.may_be_empty())).collect()
}

/// `(file name, contents)` of the 17 embedded schema files.
#[pyfunction]
fn schema_files() -> Vec<(&'static str, &'static str)> {
    schema::schema_files().to_vec()
}

/// Raises `SchemaValidationError` (with every violation) unless `data` is valid.
#[pyfunction]
fn check(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
    guard(py, || {
        let found = validate(py, data)?;
        if found.is_empty() {
            return Ok(());
        }
        let mut list = Vec::new();
        for v in found.iter() {
            let v = v.cast::<Violation>().map_err(|_| errors::internal(py, "validate() returned a non-Violation"))?;
            list.push(v.get().to_core());
        }
        Err(errors::to_pyerr(py, &iotsec::Error::schema(list)))
    })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Violation>()?;
    m.add_class::<TextPosition>()?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(is_valid, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(build_security_body, m)?)?;
    m.add_function(wrap_pyfunction!(build_security_message, m)?)?;
    m.add_function(wrap_pyfunction!(event_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(schema_files, m)?)?;
    Ok(())
}
