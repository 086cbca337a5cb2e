//! Conversions between Python values and what core takes: message bodies and JSON values.

use bytes::Bytes;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::errors;

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// Body bytes that stay inside an immutable Python object (`bytes`, or the UTF-8 form a `str`
/// keeps), kept alive by a reference to it: a message body is not copied when it is created.
struct Borrowed {
    _owner: Py<PyAny>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: `ptr..ptr+len` belongs to an immutable Python object that `_owner` keeps alive (the
// buffer of a `bytes`, or the UTF-8 buffer a `str` holds until it is freed); reading it needs no
// GIL, and pyo3 defers the reference drop when it happens without the GIL.
unsafe impl Send for Borrowed {}

impl AsRef<[u8]> for Borrowed {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: see `Send` above; `len` came from the same object as `ptr`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

fn borrow_bytes(b: &Bound<'_, PyBytes>) -> Bytes {
    let data = b.as_bytes();
    Bytes::from_owner(Borrowed { ptr: data.as_ptr(), len: data.len(), _owner: b.clone().into_any().unbind() })
}

extern "C" {
    // In the limited API from Python 3.10 on (and in every CPython 3 before, outside it); called
    // only on 3.10 and later, where it is part of the stable ABI this abi3 module targets.
    fn PyUnicode_AsUTF8AndSize(unicode: *mut pyo3::ffi::PyObject, size: *mut pyo3::ffi::Py_ssize_t) -> *const u8;
}

static UTF8_IN_PLACE: PyOnceLock<bool> = PyOnceLock::new();

/// The UTF-8 bytes of `s`: in place when the interpreter offers them (3.10+: the str keeps its
/// UTF-8 form, for ASCII its own data), else through one `bytes` copy.
fn str_bytes(s: &Bound<'_, PyString>, what: &str) -> PyResult<Bytes> {
    let py = s.py();
    let encode_error = |e: PyErr| {
        errors::invalid_argument(py, format!("{what} is a str that cannot be encoded as UTF-8: {}", e.value(py)))
    };
    if *UTF8_IN_PLACE.get_or_init(py, || py.version_info() >= (3, 10)) {
        let mut size: pyo3::ffi::Py_ssize_t = 0;
        // SAFETY: `s` is a str and the GIL is held; the result lives as long as `s`.
        let ptr = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size) };
        if ptr.is_null() {
            return Err(encode_error(PyErr::fetch(py)));
        }
        let len = usize::try_from(size).unwrap_or(0);
        return Ok(Bytes::from_owner(Borrowed { ptr, len, _owner: s.clone().into_any().unbind() }));
    }
    s.encode_utf8().map(|b| borrow_bytes(&b)).map_err(encode_error)
}

/// The body bytes of message data: `str` (as UTF-8), `bytes`, `bytearray` or `memoryview`.
/// `what` names the argument in errors (`Message data`, `message`).
pub(crate) fn body_bytes(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Bytes> {
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        return str_bytes(s, what);
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(borrow_bytes(b));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Bytes::from(b.to_vec()));
    }
    if obj.hasattr(pyo3::intern!(py, "tobytes"))? && type_name(obj) == "memoryview" {
        let b = obj.call_method0(pyo3::intern!(py, "tobytes"))?;
        return Ok(borrow_bytes(b.cast::<PyBytes>()?));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be str, bytes, bytearray or memoryview, not {} (serialize JSON with json.dumps() first)",
        type_name(obj)
    )))
}

/// How deeply dicts and lists may nest in a value converted to JSON: serde_json's parser limit,
/// so a value behaves as its JSON text would. Deeper input (or a list that contains itself)
/// raises `InvalidArgumentError` instead of exhausting the stack.
const MAX_DEPTH: usize = 128;

/// Keys longer than this are shortened in the paths of error messages.
const PATH_KEY_CHARS: usize = 40;

/// A conversion failure on its way up: the path is collected as the recursion unwinds, so no
/// path string is built unless something fails (and then once).
struct Failure {
    /// Path segments, innermost first.
    rev_path: Vec<String>,
    error: FailureKind,
}

enum FailureKind {
    Type(String),
    Value(String),
    Python(PyErr),
}

impl Failure {
    fn type_error(message: String) -> Self {
        Failure { rev_path: Vec::new(), error: FailureKind::Type(message) }
    }

    fn value_error(message: String) -> Self {
        Failure { rev_path: Vec::new(), error: FailureKind::Value(message) }
    }

    fn within(mut self, segment: impl FnOnce() -> String) -> Self {
        self.rev_path.push(segment());
        self
    }

    fn into_pyerr(self, py: Python<'_>, root: &str) -> PyErr {
        let mut path = root.to_string();
        for segment in self.rev_path.iter().rev() {
            path.push_str(segment);
        }
        match self.error {
            FailureKind::Type(m) => PyTypeError::new_err(format!("{path}: {m}")),
            FailureKind::Value(m) => errors::invalid_argument(py, format!("{path}: {m}")),
            FailureKind::Python(e) => e,
        }
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure { rev_path: Vec::new(), error: FailureKind::Python(e) }
    }
}

fn key_segment(key: &str) -> String {
    if key.chars().count() <= PATH_KEY_CHARS {
        format!("[{key:?}]")
    } else {
        let short: String = key.chars().take(PATH_KEY_CHARS).collect();
        format!("[{short:?}...]")
    }
}

/// A JSON value from a Python value (dict with str keys, list, tuple, str, int, float, bool,
/// None). `path` is where in the input the value sits, for errors (`records[0]["ProcessId"]`).
pub(crate) fn json_value(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    json_at(obj, 0).map_err(|f| f.into_pyerr(obj.py(), path))
}

fn json_at(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, Failure> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(utf8_of(s).map_err(Failure::value_error)?));
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Err(Failure::value_error("an integer that does not fit in 64 bits".to_string()));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let value = f.value();
        return Number::from_f64(value).map(Value::Number).ok_or_else(|| Failure::value_error(format!("{value} is not a JSON number")));
    }
    let container = obj.cast::<PyDict>().is_ok() || obj.cast::<PyList>().is_ok() || obj.cast::<PyTuple>().is_ok();
    if container && depth >= MAX_DEPTH {
        return Err(Failure::value_error(format!(
            "nested more than {MAX_DEPTH} levels deep (or contains itself); JSON that deep is refused"
        )));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| Failure::type_error(format!("keys must be str, not {}", type_name(&k))))
                .and_then(|k| utf8_of(k).map_err(|m| Failure::value_error(format!("a key {m}"))))?;
            let value = json_at(&v, depth + 1).map_err(|f| f.within(|| key_segment(&key)))?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if obj.cast::<PyList>().is_ok() || obj.cast::<PyTuple>().is_ok() {
        let mut items = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            items.push(json_at(&item?, depth + 1).map_err(|f| f.within(|| format!("[{i}]")))?);
        }
        return Ok(Value::Array(items));
    }
    Err(Failure::type_error(format!(
        "{} is not a JSON value (use dict, list, str, int, float, bool or None)",
        type_name(obj)
    )))
}

/// The UTF-8 text of `s`, or why it has none (a lone surrogate).
fn utf8_of(s: &Bound<'_, PyString>) -> Result<String, String> {
    s.to_cow().map(|c| c.into_owned()).map_err(|_| "is a str that cannot be encoded as UTF-8 (it contains a lone surrogate)".to_string())
}

/// The UTF-8 text of a str argument; `InvalidArgumentError` naming `what` when it cannot be
/// encoded (a lone surrogate such as `"\ud800"`).
pub(crate) fn utf8_text(s: &Bound<'_, PyString>, what: &str) -> PyResult<String> {
    utf8_of(s).map_err(|m| errors::invalid_argument(s.py(), format!("{what} {m}")))
}

/// An optional str argument.
pub(crate) fn opt_str(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<String>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => match o.cast::<PyString>() {
            Ok(s) => Ok(Some(utf8_text(s, what)?)),
            Err(_) => Err(PyTypeError::new_err(format!("{what} must be str or None, not {}", type_name(o)))),
        },
    }
}

pub(crate) fn type_name_of(obj: &Bound<'_, PyAny>) -> String {
    type_name(obj)
}

/// Python's `repr()` of a str (single quotes, escapes), for `__repr__` methods.
pub(crate) fn repr_str(py: Python<'_>, s: &str) -> String {
    PyString::new(py, s).repr().and_then(|r| r.to_cow().map(|c| c.into_owned())).unwrap_or_else(|_| format!("{s:?}"))
}
