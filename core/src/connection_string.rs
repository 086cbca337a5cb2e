//! Device and module connection strings (WIRE.md section 4).
//!
//! `HostName=...;DeviceId=...;SharedAccessKey=...` is how every user starts, and a typo in it is
//! the most common first failure, so errors here name the key at fault, suggest the key the user
//! probably meant, and never quote a key or signature value.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind, Result};
use crate::identity::Identity;
use crate::sas::{SasToken, SharedAccessKey};

/// The keys a connection string may hold, spelled as IoT Hub spells them.
pub const KEYS: [&str; 8] = [
    "HostName",
    "DeviceId",
    "ModuleId",
    "SharedAccessKey",
    "SharedAccessKeyName",
    "SharedAccessSignature",
    "GatewayHostName",
    "x509",
];

/// How the device proves its identity.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A shared access key; iotsec signs (and renews) SAS tokens with it.
    SharedAccessKey {
        /// The decoded key.
        key: SharedAccessKey,
        /// `SharedAccessKeyName`, sent as `skn` when present.
        key_name: Option<String>,
    },
    /// A ready SAS token; it cannot be renewed, so the connection ends when it expires.
    SharedAccessSignature(SasToken),
    /// `x509=true`: the client authenticates with a certificate given in the client options.
    X509,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::SharedAccessKey { key_name, .. } => f
                .debug_struct("SharedAccessKey")
                .field("key", &"<redacted>")
                .field("key_name", key_name)
                .finish(),
            Credential::SharedAccessSignature(t) => f.debug_tuple("SharedAccessSignature").field(t).finish(),
            Credential::X509 => f.write_str("X509"),
        }
    }
}

/// A parsed connection string.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionString {
    /// `HostName`: the IoT Hub (e.g. `myhub.azure-devices.net`), also the SAS audience.
    pub host_name: String,
    /// `GatewayHostName`: where to connect instead of `HostName` (IoT Edge), if set.
    pub gateway_host_name: Option<String>,
    /// The device or module this string belongs to.
    pub identity: Identity,
    /// The credential.
    pub credential: Credential,
}

impl ConnectionString {
    /// Parses `Key=Value;Key=Value`.
    pub fn parse(text: &str) -> Result<Self> {
        let mut values: [Option<&str>; 8] = [None; 8];
        for (index, segment) in text.split(';').enumerate() {
            if segment.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = segment.split_once('=') else {
                // The segment may be a key pasted without its name: do not quote it.
                return Err(invalid(format!("part {} is not `Key=Value`", index + 1)));
            };
            let key = key.trim();
            let slot = KEYS.iter().position(|k| *k == key).ok_or_else(|| unknown_key(key, index + 1))?;
            if values[slot].is_some() {
                return Err(invalid(format!("`{key}` appears twice")));
            }
            if value.is_empty() {
                return Err(invalid(format!("`{key}` is empty")));
            }
            values[slot] = Some(value);
        }
        let [host, device, module, key, key_name, signature, gateway, x509] = values;
        let host_name = host.ok_or_else(|| invalid("`HostName` is missing"))?.to_string();
        let device_id = device.ok_or_else(|| invalid("`DeviceId` is missing"))?;
        let identity = match module {
            None => Identity::device(device_id),
            Some(m) => Identity::module(device_id, m),
        }
        .map_err(|e| invalid(e.message()))?;
        let x509 = match x509 {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(_) => return Err(invalid("`x509` must be `true` or `false`")),
        };
        let credential = match (key, signature, x509) {
            (Some(_), Some(_), _) => {
                return Err(invalid("give either `SharedAccessKey` or `SharedAccessSignature`, not both"))
            }
            (Some(_), None, true) | (None, Some(_), true) => {
                return Err(invalid("`x509=true` cannot be combined with `SharedAccessKey` or `SharedAccessSignature`"))
            }
            (Some(k), None, false) => Credential::SharedAccessKey {
                key: SharedAccessKey::from_base64(k)
                    .map_err(|_| invalid("`SharedAccessKey` is not valid base64"))?,
                key_name: key_name.map(str::to_string),
            },
            (None, Some(s), false) => Credential::SharedAccessSignature(
                SasToken::from_string(s).map_err(|e| invalid(e.message()))?,
            ),
            (None, None, true) => Credential::X509,
            (None, None, false) => {
                return Err(invalid("one of `SharedAccessKey` or `SharedAccessSignature` is required (or `x509=true`)"))
            }
        };
        if key_name.is_some() && !matches!(credential, Credential::SharedAccessKey { .. }) {
            return Err(invalid("`SharedAccessKeyName` needs a `SharedAccessKey`"));
        }
        Ok(ConnectionString { host_name, gateway_host_name: gateway.map(str::to_string), identity, credential })
    }

    /// Where to open the TLS connection: `GatewayHostName` if given, else `HostName`.
    pub fn connect_host(&self) -> &str {
        self.gateway_host_name.as_deref().unwrap_or(&self.host_name)
    }
}

impl FromStr for ConnectionString {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ConnectionString::parse(s)
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("host_name", &self.host_name)
            .field("gateway_host_name", &self.gateway_host_name)
            .field("identity", &self.identity)
            .field("credential", &self.credential)
            .finish()
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidConnectionString, format!("invalid connection string: {}", message.into()))
}

/// An unknown key, with the known key it most resembles when there is one.
///
/// The unknown text is quoted only when it is a near miss of a real key name: otherwise it may
/// be a secret pasted without its `Key=` (a base64 key's `=` padding makes it look like a pair).
fn unknown_key(key: &str, part: usize) -> Error {
    let closest = KEYS
        .iter()
        .map(|k| (strsim::damerau_levenshtein(&k.to_ascii_lowercase(), &key.to_ascii_lowercase()), *k))
        .min()
        .filter(|(distance, _)| *distance <= 2 + key.len() / 8);
    match closest {
        Some((_, k)) => invalid(format!("unknown key `{key}`; did you mean `{k}`?")),
        None => invalid(format!("part {part} has an unknown key; expected one of {}", KEYS.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "NMgJDvdKTxjLi+xBxxkDDEwDJxEvOE5u8BiT0mVgPeg=";

    fn err(text: &str) -> String {
        let e = ConnectionString::parse(text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConnectionString, "{text}");
        assert!(!e.message().contains(KEY) && !e.message().contains("NMgJ"), "secret in error: {}", e.message());
        e.message().to_string()
    }

    #[test]
    fn parses_device_string_keeping_equals_signs() {
        let cs = ConnectionString::parse(&format!("HostName=h.azure-devices.net;DeviceId=dev1;SharedAccessKey={KEY}")).unwrap();
        assert_eq!(cs.host_name, "h.azure-devices.net");
        assert_eq!(cs.identity, Identity::device("dev1").unwrap());
        match &cs.credential {
            Credential::SharedAccessKey { key, key_name } => {
                assert_eq!(key.to_base64(), KEY);
                assert!(key_name.is_none());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cs.connect_host(), "h.azure-devices.net");
    }

    #[test]
    fn parses_all_eight_keys() {
        let cs = ConnectionString::parse(&format!(
            "HostName=h;DeviceId=d;ModuleId=m;SharedAccessKey={KEY};SharedAccessKeyName=pol;GatewayHostName=gw;"
        ))
        .unwrap();
        assert_eq!(cs.identity, Identity::module("d", "m").unwrap());
        assert_eq!(cs.connect_host(), "gw");
        assert!(matches!(cs.credential, Credential::SharedAccessKey { key_name: Some(ref n), .. } if n == "pol"));
        let x = ConnectionString::parse("HostName=h;DeviceId=d;x509=true").unwrap();
        assert_eq!(x.credential, Credential::X509);
        let sas = "SharedAccessSignature sr=h%2Fdevices%2Fd&sig=abc%3D&se=1700000000";
        let s = ConnectionString::parse(&format!("HostName=h;DeviceId=d;SharedAccessSignature={sas}")).unwrap();
        assert!(matches!(s.credential, Credential::SharedAccessSignature(ref t) if t.expose() == sas));
    }

    #[test]
    fn missing_required_keys_are_named() {
        assert!(err(&format!("DeviceId=d;SharedAccessKey={KEY}")).contains("`HostName` is missing"));
        assert!(err(&format!("HostName=h;SharedAccessKey={KEY}")).contains("`DeviceId` is missing"));
        assert!(err("HostName=h;DeviceId=d").contains("SharedAccessKey"));
    }

    #[test]
    fn wrong_case_and_typos_get_suggestions() {
        assert!(err(&format!("hostname=h;DeviceId=d;SharedAccessKey={KEY}")).contains("did you mean `HostName`?"));
        assert!(err(&format!("HostName=h;DeviceID=d;SharedAccessKey={KEY}")).contains("did you mean `DeviceId`?"));
        assert!(err(&format!("HostName=h;DeviceId=d;SharedAccesKey={KEY}")).contains("did you mean `SharedAccessKey`?"));
        assert!(err(&format!("HostName=h;DeviceId=d;SharedAccessKey={KEY};Colour=blue")).contains("part 4 has an unknown key; expected one of"));
    }

    #[test]
    fn duplicates_empties_and_conflicts_are_errors() {
        assert!(err(&format!("HostName=h;DeviceId=d;DeviceId=e;SharedAccessKey={KEY}")).contains("`DeviceId` appears twice"));
        assert!(err(&format!("HostName=;DeviceId=d;SharedAccessKey={KEY}")).contains("`HostName` is empty"));
        assert!(err(&format!("HostName=h;DeviceId=d;SharedAccessKey={KEY};SharedAccessSignature=x")).contains("not both"));
        assert!(err(&format!("HostName=h;DeviceId=d;x509=true;SharedAccessKey={KEY}")).contains("x509"));
        assert!(err("HostName=h;DeviceId=d;x509=maybe").contains("x509"));
        assert!(err(&format!("HostName=h;DeviceId=d;{KEY}")).contains("part 3"));
    }

    #[test]
    fn bad_key_and_signature_values_are_not_echoed() {
        assert!(err("HostName=h;DeviceId=d;SharedAccessKey=NMgJ not base64").contains("not valid base64"));
        assert!(err("HostName=h;DeviceId=d;SharedAccessSignature=NMgJnotatoken").contains("SharedAccessSignature"));
    }

    #[test]
    fn debug_is_redacted() {
        let cs = ConnectionString::parse(&format!("HostName=h;DeviceId=d;SharedAccessKey={KEY}")).unwrap();
        let text = format!("{cs:?}");
        assert!(!text.contains(KEY) && text.contains("redacted"), "{text}");
    }
}
