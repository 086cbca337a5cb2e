//! Shared access keys and SAS tokens (WIRE.md section 5).
//!
//! A device proves who it is with a token signed by its key:
//! `SharedAccessSignature sr={encoded resource}&sig={encoded HMAC}&se={expiry}[&skn={key name}]`.
//! Keys and signatures are secrets: the types here redact them in `Debug`, have no `Display`,
//! and their errors never quote them.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, ErrorKind, Result};
use crate::topic::percent_encode;

/// The token lifetime the SDKs use by default.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// A decoded shared access key (the bytes behind the base64 text of a connection string).
#[derive(Clone, PartialEq, Eq)]
pub struct SharedAccessKey(Vec<u8>);

impl SharedAccessKey {
    /// Decodes a base64 key; refuses text that is not canonical, padded base64 or is empty.
    pub fn from_base64(text: &str) -> Result<Self> {
        match BASE64.decode(text.trim()) {
            Ok(bytes) if !bytes.is_empty() => Ok(SharedAccessKey(bytes)),
            _ => Err(Error::new(ErrorKind::InvalidCredential, "SharedAccessKey is not valid base64")),
        }
    }

    /// The key as base64 text (for tools that print a connection string on purpose).
    pub fn to_base64(&self) -> String {
        BASE64.encode(&self.0)
    }

    /// A key of raw bytes (the local hub generates its keys this way).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        SharedAccessKey(bytes)
    }

    /// base64(HMAC-SHA256(key, data)): the signature primitive of every SAS token.
    pub fn sign(&self, data: &[u8]) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(data);
        BASE64.encode(mac.finalize().into_bytes())
    }

    /// Whether `signature` (base64 text) is this key's signature of `data`, compared in
    /// constant time.
    pub fn verify(&self, data: &[u8], signature: &str) -> bool {
        let Ok(sig) = BASE64.decode(signature) else { return false };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(data);
        mac.verify_slice(&sig).is_ok()
    }
}

impl fmt::Debug for SharedAccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedAccessKey(<redacted>)")
    }
}

/// A SAS token string (`SharedAccessSignature sr=...&sig=...&se=...`), kept opaque because its
/// signature is a secret for as long as the token lives.
#[derive(Clone, PartialEq, Eq)]
pub struct SasToken {
    token: String,
    expires_at: u64,
}

impl SasToken {
    /// Signs a token for `resource_uri` (unencoded, e.g. `host/devices/dev1`) that expires at
    /// `expiry` (unix seconds), optionally naming the key (`skn`).
    pub fn sign(key: &SharedAccessKey, resource_uri: &str, expiry: u64, key_name: Option<&str>) -> Self {
        let sr = percent_encode(resource_uri);
        let sig = key.sign(format!("{sr}\n{expiry}").as_bytes());
        let mut token = format!("SharedAccessSignature sr={sr}&sig={}&se={expiry}", percent_encode(&sig));
        if let Some(name) = key_name {
            token.push_str("&skn=");
            token.push_str(&percent_encode(name));
        }
        SasToken { token, expires_at: expiry }
    }

    /// Signs a token valid for `lifetime` from now.
    pub fn sign_for(key: &SharedAccessKey, resource_uri: &str, lifetime: Duration, key_name: Option<&str>) -> Self {
        SasToken::sign(key, resource_uri, unix_now().saturating_add(lifetime.as_secs()), key_name)
    }

    /// Wraps a token the user supplied (`SharedAccessSignature=` in a connection string).
    pub fn from_string(token: &str) -> Result<Self> {
        let parsed = ParsedSasToken::parse(token)?;
        Ok(SasToken { token: token.to_string(), expires_at: parsed.expiry })
    }

    /// The token text. It is a secret: never log it.
    pub fn expose(&self) -> &str {
        &self.token
    }

    /// Expiry, unix seconds.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

impl fmt::Debug for SasToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SasToken(<redacted>, expires_at: {})", self.expires_at)
    }
}

/// The fields of a SAS token, decoded (what a broker checks).
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedSasToken {
    /// Resource URI, decoded (e.g. `host/devices/dev1`).
    pub resource: String,
    /// The `sr` field exactly as written (the signed string uses it encoded).
    pub resource_encoded: String,
    /// Signature (base64, decoded from its percent-encoding). A secret.
    pub signature: String,
    /// Expiry, unix seconds.
    pub expiry: u64,
    /// Key name (`skn`), if any.
    pub key_name: Option<String>,
}

impl ParsedSasToken {
    /// Parses `SharedAccessSignature sr=..&sig=..&se=..[&skn=..]` (fields in any order).
    pub fn parse(token: &str) -> Result<Self> {
        let bad = |why: &str| Error::new(ErrorKind::InvalidCredential, format!("SharedAccessSignature {why}"));
        let fields = token
            .strip_prefix("SharedAccessSignature ")
            .ok_or_else(|| bad("does not start with `SharedAccessSignature `"))?;
        let (mut sr, mut sig, mut se, mut skn) = (None, None, None, None);
        for pair in fields.split('&') {
            let (k, v) = pair.split_once('=').ok_or_else(|| bad("has a field without `=`"))?;
            let slot = match k {
                "sr" => &mut sr,
                "sig" => &mut sig,
                "se" => &mut se,
                "skn" => &mut skn,
                _ => return Err(bad("has an unknown field")),
            };
            if slot.replace(v).is_some() {
                return Err(bad(&format!("has field `{k}` twice")));
            }
        }
        let decode = |v: &str| percent_encoding::percent_decode_str(v).decode_utf8().map(|c| c.into_owned());
        let sr = sr.ok_or_else(|| bad("has no `sr` field"))?;
        let resource = decode(sr).map_err(|_| bad("has an `sr` that is not UTF-8"))?;
        let signature = decode(sig.ok_or_else(|| bad("has no `sig` field"))?).map_err(|_| bad("has a `sig` that is not UTF-8"))?;
        let expiry = se
            .ok_or_else(|| bad("has no `se` field"))?
            .parse::<u64>()
            .map_err(|_| bad("has an `se` that is not unix seconds"))?;
        let key_name = skn.map(decode).transpose().map_err(|_| bad("has an `skn` that is not UTF-8"))?;
        Ok(ParsedSasToken { resource, resource_encoded: sr.to_string(), signature, expiry, key_name })
    }

    /// Whether `key` signed this token (constant-time comparison).
    pub fn is_signed_by(&self, key: &SharedAccessKey) -> bool {
        key.verify(format!("{}\n{}", self.resource_encoded, self.expiry).as_bytes(), &self.signature)
    }
}

impl fmt::Debug for ParsedSasToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedSasToken")
            .field("resource", &self.resource)
            .field("signature", &"<redacted>")
            .field("expiry", &self.expiry)
            .field("key_name", &self.key_name)
            .finish()
    }
}

/// Seconds since the unix epoch, now.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const KEY2: &str = "NMgJDvdKTxjLi+xBxxkDDEwDJxEvOE5u8BiT0mVgPeg=";

    fn key(s: &str) -> SharedAccessKey {
        SharedAccessKey::from_base64(s).unwrap()
    }

    #[test]
    fn wire_vector_localhost_device() {
        let t = SasToken::sign(&key(KEY1), "localhost/devices/dev-py", 1795878807, None);
        assert_eq!(t.expose(), "SharedAccessSignature sr=localhost%2Fdevices%2Fdev-py&sig=7pEQD%2FEfqyBvifAftTUVvWWuhZPrGZqk6QdJQQi3cdk%3D&se=1795878807");
    }

    #[test]
    fn wire_vector_hub_device() {
        let t = SasToken::sign(&key(KEY2), "myhub.azure-devices.net/devices/dev1", 1700000000, None);
        assert_eq!(t.expose(), "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdev1&sig=xxFazdzKNS9wvaxRGX8gNP6uSbxRC4AMrg46E1HgHsI%3D&se=1700000000");
    }

    #[test]
    fn wire_vector_hub_module() {
        let t = SasToken::sign(&key(KEY2), "myhub.azure-devices.net/devices/dev1/modules/mod1", 1700000000, None);
        assert_eq!(t.expose(), "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdev1%2Fmodules%2Fmod1&sig=bZws2ZEoYiApu5Hz6hqOhwqjl%2F0equN1b80Vk7n7zlI%3D&se=1700000000");
    }

    #[test]
    fn wire_vector_hmac() {
        assert_eq!(key(KEY2).sign(b"sign this message"), "8NJRMT83CcplGrAGaUVIUM/md5914KpWVNngSVoF9/M=");
    }

    #[test]
    fn invalid_keys_are_refused_without_echo() {
        for bad in ["not a key", "YWJjx", ""] {
            let e = SharedAccessKey::from_base64(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidCredential);
            assert!(bad.is_empty() || !e.message().contains(bad));
        }
    }

    #[test]
    fn key_name_is_appended() {
        let t = SasToken::sign(&key(KEY2), "h/devices/d", 1, Some("device policy"));
        assert!(t.expose().ends_with("&se=1&skn=device%20policy"), "{}", t.expose());
    }

    #[test]
    fn parse_and_verify_round_trip() {
        let k = key(KEY2);
        let t = SasToken::sign(&k, "myhub.azure-devices.net/devices/dev1/modules/mod1", 1700000000, Some("n"));
        let p = ParsedSasToken::parse(t.expose()).unwrap();
        assert_eq!(p.resource, "myhub.azure-devices.net/devices/dev1/modules/mod1");
        assert_eq!(p.expiry, 1700000000);
        assert_eq!(p.key_name.as_deref(), Some("n"));
        assert!(p.is_signed_by(&k));
        assert!(!p.is_signed_by(&key(KEY1)));
        assert_eq!(SasToken::from_string(t.expose()).unwrap().expires_at(), 1700000000);
    }

    #[test]
    fn debug_output_is_redacted() {
        let k = key(KEY2);
        let t = SasToken::sign(&k, "h/devices/d", 1, None);
        let sig = ParsedSasToken::parse(t.expose()).unwrap();
        for text in [format!("{k:?}"), format!("{t:?}"), format!("{sig:?}")] {
            assert!(!text.contains(KEY2) && !text.contains(&sig.signature), "{text}");
            assert!(text.contains("redacted"), "{text}");
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in ["sr=a&sig=b&se=1", "SharedAccessSignature sr=a&se=1", "SharedAccessSignature sr=a&sig=b&se=x", "SharedAccessSignature sr=a&sig=b&se=1&sig=c"] {
            assert_eq!(ParsedSasToken::parse(bad).unwrap_err().kind(), ErrorKind::InvalidCredential, "{bad}");
        }
    }
}
