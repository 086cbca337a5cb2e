//! `iotsec.Message`: the official SDK's `Message`, backed by a core `iotsec::Message`.
//!
//! The body is encoded once, when `data` is set; sending borrows the core message (no copy)
//! unless custom properties were set through the `custom_properties` dict, whose current
//! contents are then copied in, in the dict's (insertion) order.

use std::borrow::Cow;

use pyo3::exceptions::PyTypeError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use pyo3::PyTraverseError;

use crate::convert::{body_bytes, opt_str, repr_str, type_name_of};
use crate::guard;

/// A device-to-cloud message: `data` plus system and custom properties.
#[pyclass(module = "iotsec", name = "Message", subclass)]
pub struct Message {
    data: Py<PyAny>,
    pub(crate) inner: iotsec::Message,
    custom: Option<Py<PyDict>>,
    expiry: Option<Py<PyAny>>,
}

impl Message {
    /// A message around already-encoded core data (for the security builders).
    pub(crate) fn from_core(py: Python<'_>, inner: iotsec::Message) -> Self {
        let data = pyo3::types::PyBytes::new(py, inner.body()).into_any().unbind();
        Message { data, inner, custom: None, expiry: None }
    }

    /// The core message to send: borrowed, or a copy with the custom properties filled in.
    pub(crate) fn core_message(&self, py: Python<'_>) -> PyResult<Cow<'_, iotsec::Message>> {
        let Some(custom) = &self.custom else { return Ok(Cow::Borrowed(&self.inner)) };
        let custom = custom.bind(py);
        if custom.is_empty() {
            return Ok(Cow::Borrowed(&self.inner));
        }
        let mut message = self.inner.clone();
        message.clear_properties();
        for (key, value) in custom.iter() {
            let key_text = key.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "Message.custom_properties keys must be str, not {}",
                    type_name_of(&key)
                ))
            })?;
            let key_text = crate::convert::utf8_text(key_text, "a Message.custom_properties key")?;
            let value_text = property_value(&value).ok_or_else(|| {
                PyTypeError::new_err(format!(
                    "Message.custom_properties[{key_text:?}] must be str, int, float or bool, not {}",
                    type_name_of(&value)
                ))
            })??;
            message.set_property(key_text, value_text);
        }
        Ok(Cow::Owned(message))
    }

    fn store_expiry(&mut self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        match value {
            None => {
                self.expiry = None;
                self.inner.set_expiry_time_utc(None::<String>);
            }
            Some(v) if v.is_none() => {
                self.expiry = None;
                self.inner.set_expiry_time_utc(None::<String>);
            }
            Some(v) => {
                let text = if let Ok(s) = v.cast::<PyString>() {
                    s.to_cow()?.into_owned()
                } else if v.hasattr(pyo3::intern!(v.py(), "isoformat"))? {
                    v.call_method0(pyo3::intern!(v.py(), "isoformat"))?.cast::<PyString>()?.to_cow()?.into_owned()
                } else {
                    return Err(PyTypeError::new_err(format!(
                        "Message.expiry_time_utc must be str, datetime or None, not {}",
                        type_name_of(v)
                    )));
                };
                self.inner.set_expiry_time_utc(Some(text));
                self.expiry = Some(v.clone().unbind());
            }
        }
        Ok(())
    }
}

/// A custom property value as text: str as is; int, float and bool through `str()`.
fn property_value(value: &Bound<'_, PyAny>) -> Option<PyResult<String>> {
    if let Ok(s) = value.cast::<PyString>() {
        return Some(crate::convert::utf8_text(s, "a Message.custom_properties value"));
    }
    if value.cast::<PyInt>().is_ok() || value.cast::<PyFloat>().is_ok() || value.cast::<PyBool>().is_ok() {
        return Some(value.str().and_then(|s| s.to_cow().map(Cow::into_owned)));
    }
    None
}

#[pymethods]
impl Message {
    #[new]
    #[pyo3(signature = (data, message_id = None, content_encoding = None, content_type = None, output_name = None))]
    fn new(
        data: &Bound<'_, PyAny>,
        message_id: Option<&Bound<'_, PyAny>>,
        content_encoding: Option<&Bound<'_, PyAny>>,
        content_type: Option<&Bound<'_, PyAny>>,
        output_name: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        guard(data.py(), || {
            let mut inner = iotsec::Message::new(body_bytes(data, "Message data")?);
            if message_id.is_some() {
                inner.set_message_id(opt_str(message_id, "Message.message_id")?);
            }
            if content_encoding.is_some() {
                inner.set_content_encoding(opt_str(content_encoding, "Message.content_encoding")?);
            }
            if content_type.is_some() {
                inner.set_content_type(opt_str(content_type, "Message.content_type")?);
            }
            if output_name.is_some() {
                inner.set_output_name(opt_str(output_name, "Message.output_name")?);
            }
            Ok(Message { data: data.clone().unbind(), inner, custom: None, expiry: None })
        })
    }

    /// The payload, as given (`str`, `bytes`, ...).
    #[getter]
    fn data(&self, py: Python<'_>) -> Py<PyAny> {
        self.data.clone_ref(py)
    }

    #[setter]
    fn set_data(&mut self, py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        guard(py, || {
            let value = value.ok_or_else(|| PyTypeError::new_err("Message.data cannot be deleted"))?;
            self.inner.set_body(body_bytes(value, "Message data")?);
            self.data = value.clone().unbind();
            Ok(())
        })
    }

    /// Message id (`$.mid`).
    #[getter]
    fn message_id(&self) -> Option<&str> {
        self.inner.message_id()
    }

    #[setter]
    fn set_message_id(&mut self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let value = opt_str(value, "Message.message_id")?;
        self.inner.set_message_id(value);
        Ok(())
    }

    /// Correlation id (`$.cid`).
    #[getter]
    fn correlation_id(&self) -> Option<&str> {
        self.inner.correlation_id()
    }

    #[setter]
    fn set_correlation_id(&mut self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let value = opt_str(value, "Message.correlation_id")?;
        self.inner.set_correlation_id(value);
        Ok(())
    }

    /// User id (`$.uid`).
    #[getter]
    fn user_id(&self) -> Option<&str> {
        self.inner.user_id()
    }

    #[setter]
    fn set_user_id(&mut self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let value = opt_str(value, "Message.user_id")?;
        self.inner.set_user_id(value);
        Ok(())
    }

    /// Content encoding of the body, e.g. `utf-8` (`$.ce`).
    #[getter]
    fn content_encoding(&self) -> Option<&str> {
        self.inner.content_encoding()
    }

    #[setter]
    fn set_content_encoding(&mut self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let value = opt_str(value, "Message.content_encoding")?;
        self.inner.set_content_encoding(value);
        Ok(())
    }

    /// Content type of the body, e.g. `application/json` (`$.ct`).
    #[getter]
    fn content_type(&self) -> Option<&str> {
        self.inner.content_type()
    }

    #[setter]
    fn set_content_type(&mut self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let value = opt_str(value, "Message.content_type")?;
        self.inner.set_content_type(value);
        Ok(())
    }

    /// Output name, for modules routing to an output (`$.on`).
    #[getter]
    fn output_name(&self) -> Option<&str> {
        self.inner.output_name()
    }

    #[setter]
    fn set_output_name(&mut self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let value = opt_str(value, "Message.output_name")?;
        self.inner.set_output_name(value);
        Ok(())
    }

    /// Destination (`$.to`).
    #[getter]
    fn to(&self) -> Option<&str> {
        self.inner.to()
    }

    #[setter]
    fn set_to(&mut self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let value = opt_str(value, "Message.to")?;
        self.inner.set_to(value);
        Ok(())
    }

    /// Interface id (`$.ifid`); the security one after `set_as_security_message()`.
    #[getter]
    fn iothub_interface_id(&self) -> Option<&str> {
        self.inner.interface_id()
    }

    #[setter]
    fn set_iothub_interface_id(&mut self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let value = opt_str(value, "Message.iothub_interface_id")?;
        self.inner.set_interface_id(value);
        Ok(())
    }

    /// Component name, IoT Plug and Play (`$.sub`).
    #[getter]
    fn component_name(&self) -> Option<&str> {
        self.inner.component_name()
    }

    #[setter]
    fn set_component_name(&mut self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let value = opt_str(value, "Message.component_name")?;
        self.inner.set_component_name(value);
        Ok(())
    }

    /// Absolute expiry time (`$.exp`): a str sent verbatim, or a `datetime` sent as ISO 8601.
    #[getter]
    fn expiry_time_utc(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.expiry.as_ref().map(|e| e.clone_ref(py))
    }

    #[setter]
    fn set_expiry_time_utc(&mut self, py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        guard(py, || self.store_expiry(value))
    }

    /// Custom (application) properties; they go on the wire in insertion order.
    #[getter]
    fn custom_properties(&mut self, py: Python<'_>) -> Py<PyDict> {
        self.custom.get_or_insert_with(|| PyDict::new(py).unbind()).clone_ref(py)
    }

    #[setter]
    fn set_custom_properties(&mut self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        match value {
            Some(v) => {
                let dict = v.cast::<PyDict>().map_err(|_| {
                    PyTypeError::new_err(format!("Message.custom_properties must be a dict, not {}", type_name_of(v)))
                })?;
                self.custom = Some(dict.clone().unbind());
            }
            None => self.custom = None,
        }
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // Only the dict can hold arbitrary objects (and so close a reference cycle).
        if let Some(custom) = &self.custom {
            visit.call(custom)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.custom = None;
    }

    /// Marks the message as a security message (`$.ifid`); nothing else changes.
    fn set_as_security_message(&mut self) {
        self.inner.set_as_security_message();
    }

    /// Whether the message is flagged as a security message.
    #[getter]
    fn is_security_message(&self) -> bool {
        self.inner.is_security_message()
    }

    /// Receive-side property of the official SDK; always `None` for messages built here.
    #[getter]
    fn input_name(&self) -> Option<String> {
        None
    }

    /// Receive-side property of the official SDK; always `None` for messages built here.
    #[getter]
    fn ack(&self) -> Option<String> {
        None
    }

    /// The size of the body in bytes (what IoT Hub's 256 KiB limit applies to).
    fn get_size(&self) -> usize {
        self.inner.body().len()
    }

    /// The body bytes as they will be sent.
    #[getter]
    fn body(&self, py: Python<'_>) -> Py<PyAny> {
        pyo3::types::PyBytes::new(py, self.inner.body()).into_any().unbind()
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.data.bind(py).str()?.to_cow()?.into_owned())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        guard(py, || self.repr(py))
    }
}

impl Message {
    fn repr(&self, py: Python<'_>) -> PyResult<String> {
        let mut parts = vec![format!("data={}", self.data.bind(py).repr()?.to_cow()?)];
        let system = self.inner.system_properties();
        let fields: [(&str, &Option<String>); 10] = [
            ("message_id", &system.message_id),
            ("correlation_id", &system.correlation_id),
            ("user_id", &system.user_id),
            ("to", &system.to),
            ("content_type", &system.content_type),
            ("content_encoding", &system.content_encoding),
            ("output_name", &system.output_name),
            ("expiry_time_utc", &system.expiry_time_utc),
            ("iothub_interface_id", &system.interface_id),
            ("component_name", &system.component_name),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                parts.push(format!("{name}={}", repr_str(py, v)));
            }
        }
        if let Some(custom) = &self.custom {
            if !custom.bind(py).is_empty() {
                parts.push(format!("custom_properties={}", custom.bind(py).repr()?.to_cow()?));
            }
        }
        Ok(format!("Message({})", parts.join(", ")))
    }
}
