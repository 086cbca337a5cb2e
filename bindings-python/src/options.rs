//! `create_from_connection_string(conn_str, **options)`: keyword options to core `ClientOptions`.
//!
//! Only translation happens here: the keyword's name to core's option name (azure-iot-device
//! spells some differently) and the Python value to text, with a `TypeError` for a value of the
//! wrong Python type. What text each option accepts, its unit and the error for a bad value are
//! core's (`ClientOptions::set_by_name`); ranges are checked by core (`ClientOptions::validate`)
//! when the client is created.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};

use iotsec::ClientOptions;

use crate::convert::type_name_of;
use crate::errors::{self, IntoPy};

/// The Python type an option takes.
#[derive(Clone, Copy)]
enum Kind {
    /// str (or UTF-8 bytes).
    Text,
    /// str or os.PathLike.
    Path,
    /// int (not bool).
    Int,
    /// int or float (not bool): seconds, or a fraction.
    Number,
}

/// Every option `create_from_connection_string` accepts: its keyword, core's name, its type.
const OPTIONS: &[(&str, &str, Kind)] = &[
    ("server_verification_cert", "ca_pem", Kind::Text),
    ("ca_file", "ca_file", Kind::Path),
    ("port", "port", Kind::Int),
    ("keep_alive", "keep_alive", Kind::Number),
    ("validation", "validation", Kind::Text),
    ("sastoken_ttl", "token_lifetime", Kind::Number),
    ("send_timeout", "puback_timeout", Kind::Number),
    ("connect_timeout", "connect_timeout", Kind::Number),
    ("max_in_flight", "max_in_flight", Kind::Int),
    ("queue_capacity", "queue_capacity", Kind::Int),
    ("queue_policy", "queue_policy", Kind::Text),
    ("x509_cert_file", "client_cert_file", Kind::Path),
    ("x509_key_file", "client_key_file", Kind::Path),
    ("durable_queue", "durable_queue", Kind::Path),
    ("reconnect_initial", "reconnect_initial", Kind::Number),
    ("reconnect_max", "reconnect_max", Kind::Number),
    ("reconnect_jitter", "reconnect_jitter", Kind::Number),
    ("message_ids", "message_ids", Kind::Text),
];

/// Options of azure-iot-device that iotsec does not offer, with what to do instead.
const SDK_ONLY: &[(&str, &str)] = &[
    ("websockets", "iotsec speaks MQTT over TLS on port 8883 (or `port`) only"),
    ("proxy_options", "iotsec does not connect through proxies"),
    ("gateway_hostname", "put `GatewayHostName=...` in the connection string"),
    ("cipher", "iotsec uses rustls' default TLS 1.2/1.3 cipher suites"),
    ("product_info", "the user agent is fixed (see iotsec.user_agent())"),
    ("connection_retry", "iotsec always reconnects, with exponential back-off"),
    ("connection_retry_interval", "use `reconnect_initial`, `reconnect_max` and `reconnect_jitter` (exponential back-off)"),
    ("auto_connect", "iotsec always connects on the first send when not connected"),
    ("ensure_desired_properties", "iotsec does not implement device twins"),
];

static PRODUCT_INFO: PyOnceLock<String> = PyOnceLock::new();

/// `python 3.11.7`: the `{binding} {runtime}` part of the user agent.
pub(crate) fn product_info(py: Python<'_>) -> String {
    PRODUCT_INFO
        .get_or_init(py, || {
            let v = py.version_info();
            format!("python {}.{}.{}", v.major, v.minor, v.patch)
        })
        .clone()
}

fn type_error(name: &str, expected: &str, value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!("option `{name}` must be {expected}, not {}", type_name_of(value)))
}

/// The value as the text core reads (a Python number as `str()` prints it: `1.5`, `1e-05`).
fn text_of(value: &Bound<'_, PyAny>, name: &str, kind: Kind) -> PyResult<String> {
    let py = value.py();
    let is_bool = value.cast::<PyBool>().is_ok();
    match kind {
        Kind::Int if !is_bool && value.cast::<PyInt>().is_ok() => Ok(value.str()?.to_string()),
        Kind::Int => Err(type_error(name, "an int", value)),
        Kind::Number if !is_bool && (value.cast::<PyInt>().is_ok() || value.cast::<PyFloat>().is_ok()) => {
            Ok(value.str()?.to_string())
        }
        Kind::Number => Err(type_error(name, "a number (int or float)", value)),
        Kind::Text => {
            if let Ok(s) = value.cast::<PyString>() {
                return crate::convert::utf8_text(s, &format!("option `{name}`"));
            }
            if let Ok(b) = value.cast::<PyBytes>() {
                return String::from_utf8(b.as_bytes().to_vec())
                    .map_err(|_| errors::invalid_argument(py, format!("option `{name}` is not UTF-8 text")));
            }
            Err(type_error(name, "str", value))
        }
        Kind::Path => {
            let path = value.extract::<std::path::PathBuf>().map_err(|_| type_error(name, "a str or os.PathLike path", value))?;
            path.into_os_string()
                .into_string()
                .map_err(|_| errors::invalid_argument(py, format!("option `{name}` is not a UTF-8 path")))
        }
    }
}

/// Core options from the keyword options of `create_from_connection_string`.
pub(crate) fn client_options(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<ClientOptions> {
    let mut o = ClientOptions { product_info: Some(product_info(py)), ..ClientOptions::default() };
    let Some(options) = options else { return Ok(o) };
    let mut unknown = Vec::new();
    let mut unsupported = Vec::new();
    for (key, value) in options.iter() {
        let name = crate::convert::utf8_text(key.cast::<PyString>()?, "an option name")?;
        let Some((keyword, core_name, kind)) = OPTIONS.iter().find(|(k, _, _)| *k == name) else {
            match SDK_ONLY.iter().find(|(n, _)| *n == name) {
                Some((n, why)) => unsupported.push(format!("`{n}` ({why})")),
                None => unknown.push(format!("`{name}`")),
            }
            continue;
        };
        if value.is_none() {
            continue; // None means "the default", as for the official SDK's keyword options
        }
        let text = text_of(&value, keyword, *kind)?;
        o.set_by_name(core_name, &text)
            .map_err(|e| if keyword == core_name { e } else { e.context(format!("option `{keyword}`")) })
            .py_err(py)?;
    }
    if !unsupported.is_empty() {
        return Err(PyTypeError::new_err(format!(
            "option(s) of azure-iot-device not supported by iotsec: {}",
            unsupported.join(", ")
        )));
    }
    if !unknown.is_empty() {
        return Err(PyTypeError::new_err(format!(
            "unknown option(s) {}; supported options: {}",
            unknown.join(", "),
            OPTIONS.iter().map(|(k, _, _)| *k).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(o)
}
