//! Who is sending: a device, or a module on a device.
//!
//! The identity decides the MQTT client id, the telemetry topic and the SAS resource URI, so
//! those three are derived here and nowhere else.

use std::fmt;

use crate::error::{Error, ErrorKind, Result};

/// IoT Hub's limit on device and module id length.
const MAX_ID_LEN: usize = 128;

/// A device (`deviceId`) or a module (`deviceId/moduleId`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    device_id: String,
    module_id: Option<String>,
}

impl Identity {
    /// A device identity.
    pub fn device(device_id: impl Into<String>) -> Result<Self> {
        let device_id = checked("DeviceId", device_id.into())?;
        Ok(Identity { device_id, module_id: None })
    }

    /// A module identity on `device_id`.
    pub fn module(device_id: impl Into<String>, module_id: impl Into<String>) -> Result<Self> {
        let device_id = checked("DeviceId", device_id.into())?;
        let module_id = checked("ModuleId", module_id.into())?;
        Ok(Identity { device_id, module_id: Some(module_id) })
    }

    /// The device id.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The module id, for a module identity.
    pub fn module_id(&self) -> Option<&str> {
        self.module_id.as_deref()
    }

    /// Whether this is a module identity.
    pub fn is_module(&self) -> bool {
        self.module_id.is_some()
    }

    /// MQTT client id: `deviceId` or `deviceId/moduleId` (raw, as WIRE.md section 3 says).
    pub fn client_id(&self) -> String {
        match &self.module_id {
            None => self.device_id.clone(),
            Some(m) => format!("{}/{}", self.device_id, m),
        }
    }

    /// The telemetry topic before its property bag:
    /// `devices/{d}/messages/events/` or `devices/{d}/modules/{m}/messages/events/`.
    pub fn telemetry_topic_base(&self) -> String {
        let mut s = String::with_capacity(64);
        self.write_topic_base(&mut s);
        s
    }

    pub(crate) fn write_topic_base(&self, out: &mut String) {
        out.push_str("devices/");
        out.push_str(&self.device_id);
        if let Some(m) = &self.module_id {
            out.push_str("/modules/");
            out.push_str(m);
        }
        out.push_str("/messages/events/");
    }

    /// The SAS resource URI before encoding: `{host}/devices/{d}[/modules/{m}]`.
    pub fn resource_uri(&self, host_name: &str) -> String {
        match &self.module_id {
            None => format!("{host_name}/devices/{}", self.device_id),
            Some(m) => format!("{host_name}/devices/{}/modules/{m}", self.device_id),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.client_id())
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.client_id())
    }
}

/// Ids go into topics raw, so characters that change a topic's meaning are refused here.
fn checked(field: &str, id: String) -> Result<String> {
    let problem = if id.is_empty() {
        Some("is empty".to_string())
    } else if id.len() > MAX_ID_LEN {
        Some(format!("is {} bytes long; IoT Hub allows at most {MAX_ID_LEN}", id.len()))
    } else {
        id.chars()
            .find(|c| matches!(c, '/' | '#' | '+') || c.is_control() || c.is_whitespace())
            .map(|c| format!("contains {c:?}, which is not allowed in an IoT Hub id"))
    };
    match problem {
        Some(p) => Err(Error::new(ErrorKind::InvalidArgument, format!("{field} {p}"))),
        None => Ok(id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_client_id_topic_and_resource() {
        let d = Identity::device("dev1").unwrap();
        assert_eq!(d.client_id(), "dev1");
        assert_eq!(d.telemetry_topic_base(), "devices/dev1/messages/events/");
        assert_eq!(d.resource_uri("h"), "h/devices/dev1");
        let m = Identity::module("dev1", "mod1").unwrap();
        assert_eq!(m.client_id(), "dev1/mod1");
        assert_eq!(m.telemetry_topic_base(), "devices/dev1/modules/mod1/messages/events/");
        assert_eq!(m.resource_uri("h"), "h/devices/dev1/modules/mod1");
    }

    #[test]
    fn refuses_ids_that_would_break_a_topic() {
        for bad in ["", "a/b", "a#", "a+b", "a b", &"x".repeat(129)] {
            let e = Identity::device(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(e.message().starts_with("DeviceId"), "{}", e.message());
        }
        assert!(Identity::module("d", "").unwrap_err().message().starts_with("ModuleId"));
    }
}
