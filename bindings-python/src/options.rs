//! `create_from_connection_string(conn_str, **options)`: keyword options to core `ClientOptions`.
//!
//! Only translation happens here (names, types, units); ranges are checked by core
//! (`ClientOptions::validate`) when the client is created.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};

use iotsec::{ClientOptions, QueuePolicy, ValidationMode};

use crate::convert::type_name_of;
use crate::errors::{self, IntoPy};

/// Every option `create_from_connection_string` accepts.
pub(crate) const SUPPORTED: &[&str] = &[
    "server_verification_cert",
    "ca_file",
    "port",
    "keep_alive",
    "validation",
    "sastoken_ttl",
    "send_timeout",
    "connect_timeout",
    "max_in_flight",
    "queue_capacity",
    "queue_policy",
    "x509_cert_file",
    "x509_key_file",
];

/// Options of azure-iot-device that iotsec does not offer, with what to do instead.
const SDK_ONLY: &[(&str, &str)] = &[
    ("websockets", "iotsec speaks MQTT over TLS on port 8883 (or `port`) only"),
    ("proxy_options", "iotsec does not connect through proxies"),
    ("gateway_hostname", "put `GatewayHostName=...` in the connection string"),
    ("cipher", "iotsec uses rustls' default TLS 1.2/1.3 cipher suites"),
    ("product_info", "the user agent is fixed (see iotsec.user_agent())"),
    ("connection_retry", "iotsec always reconnects, with exponential back-off"),
    ("connection_retry_interval", "iotsec reconnects with exponential back-off (1 s to 30 s)"),
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

fn seconds(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Duration> {
    let secs: f64 = if value.cast::<PyBool>().is_ok() {
        return Err(type_error(name, "a number of seconds", value));
    } else if value.cast::<PyInt>().is_ok() || value.cast::<PyFloat>().is_ok() {
        value.extract()?
    } else {
        return Err(type_error(name, "a number of seconds", value));
    };
    Duration::try_from_secs_f64(secs).map_err(|_| {
        errors::invalid_argument(
            value.py(),
            format!("option `{name}` must be a non-negative number of seconds, not {secs}"),
        )
    })
}

fn integer<T: TryFrom<i64>>(value: &Bound<'_, PyAny>, name: &str, range: &str) -> PyResult<T> {
    if value.cast::<PyBool>().is_ok() || value.cast::<PyInt>().is_err() {
        return Err(type_error(name, "an int", value));
    }
    let n: i64 = value
        .extract()
        .map_err(|_| errors::invalid_argument(value.py(), format!("option `{name}` must be {range}")))?;
    T::try_from(n)
        .map_err(|_| errors::invalid_argument(value.py(), format!("option `{name}` must be {range}, not {n}")))
}

fn text(value: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    if let Ok(s) = value.cast::<PyString>() {
        return crate::convert::utf8_text(s, &format!("option `{name}`"));
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return String::from_utf8(b.as_bytes().to_vec())
            .map_err(|_| errors::invalid_argument(value.py(), format!("option `{name}` is not UTF-8 text")));
    }
    Err(type_error(name, "str", value))
}

fn path(value: &Bound<'_, PyAny>, name: &str) -> PyResult<PathBuf> {
    value.extract::<PathBuf>().map_err(|_| type_error(name, "a str or os.PathLike path", value))
}

fn type_error(name: &str, expected: &str, value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!("option `{name}` must be {expected}, not {}", type_name_of(value)))
}

/// Core options from the keyword options of `create_from_connection_string`.
pub(crate) fn client_options(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<ClientOptions> {
    let mut o = ClientOptions { product_info: Some(product_info(py)), ..ClientOptions::default() };
    let Some(options) = options else { return Ok(o) };
    let mut unknown = Vec::new();
    let mut unsupported = Vec::new();
    for (key, value) in options.iter() {
        let name = crate::convert::utf8_text(key.cast::<PyString>()?, "an option name")?;
        if value.is_none() && SUPPORTED.contains(&name.as_str()) {
            continue; // None means "the default", as for the official SDK's keyword options
        }
        match name.as_str() {
            "server_verification_cert" => o.ca_pem = Some(text(&value, &name)?),
            "ca_file" => o.ca_file = Some(path(&value, &name)?),
            "port" => o.port = Some(integer::<u16>(&value, &name, "a port number (1 to 65535)")?),
            "keep_alive" => o.keep_alive = seconds(&value, &name)?,
            "validation" => o.validation = ValidationMode::from_str(&text(&value, &name)?).py_err(py)?,
            "sastoken_ttl" => o.token_lifetime = seconds(&value, &name)?,
            "send_timeout" => o.puback_timeout = seconds(&value, &name)?,
            "connect_timeout" => o.connect_timeout = seconds(&value, &name)?,
            "max_in_flight" => o.max_in_flight = integer::<u16>(&value, &name, "between 1 and 65535")?,
            "queue_capacity" => o.queue_capacity = integer::<usize>(&value, &name, "a positive int")?,
            "queue_policy" => {
                o.queue_policy = match text(&value, &name)?.as_str() {
                    "block" => QueuePolicy::Block,
                    "fail_fast" | "fail" => QueuePolicy::FailFast,
                    other => {
                        return Err(errors::invalid_argument(
                            py,
                            format!("option `queue_policy` must be \"block\" or \"fail_fast\", not {other:?}"),
                        ))
                    }
                }
            }
            "x509_cert_file" => o.client_cert_file = Some(path(&value, &name)?),
            "x509_key_file" => o.client_key_file = Some(path(&value, &name)?),
            other => match SDK_ONLY.iter().find(|(n, _)| *n == other) {
                Some((n, why)) => unsupported.push(format!("`{n}` ({why})")),
                None => unknown.push(format!("`{other}`")),
            },
        }
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
            SUPPORTED.join(", ")
        )));
    }
    Ok(o)
}
