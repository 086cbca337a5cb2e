//! CONNECT authentication, the way IoT Hub does it for SAS devices and modules.
//!
//! - client id: `{deviceId}` or `{deviceId}/{moduleId}`;
//! - user name: `{host}/{clientId}/?api-version=...` (extra query parameters such as
//!   `DeviceClientType` are allowed);
//! - password: a SAS token whose `sr` is `{host}/devices/{deviceId}[/modules/{moduleId}]`,
//!   signed with that identity's key from the registry and not expired.
//!
//! A refusal carries the MQTT 3.1.1 CONNACK code and a sentence saying why, which the hub logs.
//! No reason ever quotes the password or the signature.

use iotsec::sas::ParsedSasToken;
use iotsec::Identity;
use rumqttc::ConnectReturnCode;

use crate::registry::Registry;

/// A device or module that proved who it is.
#[derive(Clone, Debug)]
pub(crate) struct Authenticated {
    pub identity: Identity,
    /// When its SAS token expires (unix seconds); IoT Hub closes the connection then.
    pub expires_at: u64,
    /// The `DeviceClientType` of the user name, decoded (the SDK's user agent), if any.
    pub user_agent: Option<String>,
}

/// Why a CONNECT was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub code: ConnectReturnCode,
    pub reason: String,
}

impl Refusal {
    fn new(code: ConnectReturnCode, reason: impl Into<String>) -> Self {
        Refusal { code, reason: reason.into() }
    }
}

/// The CONNACK return code as a number (for logs).
pub(crate) fn code_number(code: ConnectReturnCode) -> u8 {
    code as u8
}

/// Checks one CONNECT. `now` is unix seconds.
pub(crate) fn authenticate(
    registry: &Registry,
    client_id: &str,
    username: Option<&str>,
    password: Option<&str>,
    now: u64,
) -> Result<Authenticated, Refusal> {
    use ConnectReturnCode::{BadClientId, BadUserNamePassword, NotAuthorized};

    let identity = identity_of(client_id).map_err(|why| Refusal::new(BadClientId, why))?;
    let host = registry.host_name();

    let username = username.filter(|u| !u.is_empty()).ok_or_else(|| {
        Refusal::new(BadUserNamePassword, format!("no user name; IoT Hub expects `{host}/{client_id}/?api-version=...`"))
    })?;
    let user_agent = check_username(username, &host, client_id).map_err(|why| Refusal::new(BadUserNamePassword, why))?;

    let password = password.filter(|p| !p.is_empty()).ok_or_else(|| {
        Refusal::new(
            BadUserNamePassword,
            "no password: the local hub authenticates devices with SAS tokens (X.509 devices are not supported)",
        )
    })?;
    let token = ParsedSasToken::parse(password)
        .map_err(|e| Refusal::new(BadUserNamePassword, format!("the password is not a SAS token: {}", e.message())))?;

    if let Some(name) = &token.key_name {
        return Err(Refusal::new(
            NotAuthorized,
            format!("the token is signed with shared access policy `{name}`; the local hub only knows device and module keys"),
        ));
    }
    let expected = identity.resource_uri(&host);
    if !token.resource.eq_ignore_ascii_case(&expected) || !same_ids(&token.resource, &expected) {
        return Err(Refusal::new(
            NotAuthorized,
            format!("the SAS token is for `{}`, but the client is `{client_id}` (expected `sr` = `{expected}`)", token.resource),
        ));
    }
    let credentials = registry.credentials(&identity).ok_or_else(|| {
        let what = if identity.is_module() { "module" } else { "device" };
        let hint = match identity.module_id() {
            None => format!("iotsec hub add-device {}", identity.device_id()),
            Some(m) => format!("iotsec hub add-device {} --module {m}", identity.device_id()),
        };
        Refusal::new(NotAuthorized, format!("{what} `{client_id}` is not registered in this hub (register it: {hint})"))
    })?;
    if !token.is_signed_by(credentials.key()) {
        return Err(Refusal::new(
            NotAuthorized,
            format!("the SAS token's signature does not match the key registered for `{client_id}`"),
        ));
    }
    if token.expiry <= now {
        return Err(Refusal::new(
            NotAuthorized,
            format!("the SAS token expired at {} ({} s ago)", rfc3339(token.expiry), now - token.expiry),
        ));
    }
    Ok(Authenticated { identity, expires_at: token.expiry, user_agent })
}

/// `{deviceId}` or `{deviceId}/{moduleId}`.
fn identity_of(client_id: &str) -> Result<Identity, String> {
    let result = match client_id.split_once('/') {
        None => Identity::device(client_id),
        Some((d, m)) => Identity::module(d, m),
    };
    result.map_err(|e| format!("client id `{client_id}` is not `{{deviceId}}` or `{{deviceId}}/{{moduleId}}`: {}", e.message()))
}

/// Host names compare without case; device and module ids with case.
fn same_ids(resource: &str, expected: &str) -> bool {
    let tail = |s: &str| s.split_once('/').map(|(_, t)| t.to_string()).unwrap_or_default();
    tail(resource) == tail(expected)
}

/// Checks `{host}/{clientId}/?api-version=...`; returns the decoded `DeviceClientType`.
fn check_username(username: &str, host: &str, client_id: &str) -> Result<Option<String>, String> {
    let shape = || format!("the user name `{username}` is not `{host}/{client_id}/?api-version=...`");
    let prefix = format!("{client_id}/");
    let Some((user_host, rest)) = username.split_once('/') else { return Err(shape()) };
    if !user_host.eq_ignore_ascii_case(host) {
        return Err(format!("the user name names host `{user_host}`, but this hub is `{host}`"));
    }
    let Some(query) = rest.strip_prefix(&prefix) else {
        let named = match rest.split_once("/?") {
            Some((id, _)) => id,
            None => rest.rsplit_once('/').map(|(id, _)| id).unwrap_or(rest),
        };
        if named == client_id {
            return Err(shape());
        }
        return Err(format!("the user name names `{named}`, but the client id is `{client_id}`"));
    };
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut api_version = None;
    let mut user_agent = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "api-version" => api_version = Some(v),
            "DeviceClientType" => {
                user_agent = percent_decode(v);
            }
            _ => {}
        }
    }
    match api_version {
        Some(v) if !v.is_empty() => Ok(user_agent),
        _ => Err(format!("{}: `api-version` is missing", shape())),
    }
}

fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

fn rfc3339(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotsec::sas::SasToken;

    const NOW: u64 = 1_800_000_000;

    fn setup() -> (tempfile::TempDir, Registry) {
        let dir = tempfile::tempdir().unwrap();
        let r = Registry::open(dir.path()).unwrap();
        r.add_device("dev1", None).unwrap();
        r.add_device("dev2", None).unwrap();
        r.add_device("dev1", Some("mod1")).unwrap();
        (dir, r)
    }

    fn token(r: &Registry, id: &Identity, resource: &str, expiry: u64) -> String {
        let key = r.credentials(id).unwrap().key().clone();
        SasToken::sign(&key, resource, expiry, None).expose().to_string()
    }

    fn user(client_id: &str) -> String {
        format!("localhost/{client_id}/?api-version=2021-04-12&DeviceClientType=iotsec%2F0.1.0%20%28rust%29")
    }

    #[test]
    fn accepts_devices_and_modules_with_their_own_tokens() {
        let (_d, r) = setup();
        let dev1 = Identity::device("dev1").unwrap();
        let ok = authenticate(&r, "dev1", Some(&user("dev1")), Some(&token(&r, &dev1, "localhost/devices/dev1", NOW + 60)), NOW).unwrap();
        assert_eq!(ok.identity, dev1);
        assert_eq!(ok.expires_at, NOW + 60);
        assert_eq!(ok.user_agent.as_deref(), Some("iotsec/0.1.0 (rust)"));
        let m = Identity::module("dev1", "mod1").unwrap();
        let t = token(&r, &m, "LocalHost/devices/dev1/modules/mod1", NOW + 60);
        assert!(authenticate(&r, "dev1/mod1", Some(&user("dev1/mod1")), Some(&t), NOW).is_ok());
    }

    #[test]
    fn refusals_say_why_with_the_right_code() {
        use ConnectReturnCode::*;
        let (_d, r) = setup();
        let dev1 = Identity::device("dev1").unwrap();
        let dev2 = Identity::device("dev2").unwrap();
        let good1 = token(&r, &dev1, "localhost/devices/dev1", NOW + 60);
        let check = |client: &str, username: Option<&str>, password: Option<&str>, code: ConnectReturnCode, needle: &str| {
            let refusal = authenticate(&r, client, username, password, NOW).unwrap_err();
            assert_eq!(refusal.code, code, "{refusal:?}");
            assert!(refusal.reason.contains(needle), "{needle:?} not in {:?}", refusal.reason);
            if let Some(p) = password {
                if let Ok(t) = ParsedSasToken::parse(p) {
                    assert!(!refusal.reason.contains(&t.signature), "signature leaked: {}", refusal.reason);
                }
            }
        };
        check("", Some(&user("")), Some(&good1), BadClientId, "client id");
        check("a/b/c", Some(&user("a/b/c")), Some(&good1), BadClientId, "ModuleId");
        check("dev1", None, Some(&good1), BadUserNamePassword, "no user name");
        check("dev1", Some("localhost/dev1"), Some(&good1), BadUserNamePassword, "not `localhost/dev1/?api-version");
        check("dev1", Some("otherhub/dev1/?api-version=1"), Some(&good1), BadUserNamePassword, "host `otherhub`");
        check("dev2", Some(&user("dev1")), Some(&good1), BadUserNamePassword, "names `dev1`, but the client id is `dev2`");
        check("dev1", Some("localhost/dev1/?x=1"), Some(&good1), BadUserNamePassword, "api-version");
        check("dev1", Some(&user("dev1")), None, BadUserNamePassword, "no password");
        check("dev1", Some(&user("dev1")), Some("hunter2"), BadUserNamePassword, "not a SAS token");
        // identity mismatch: dev1's valid token presented by dev2
        check("dev2", Some(&user("dev2")), Some(&good1), NotAuthorized, "is for `localhost/devices/dev1`");
        // wrong key: dev2's key signing a token for dev1
        let forged = token(&r, &dev2, "localhost/devices/dev1", NOW + 60);
        check("dev1", Some(&user("dev1")), Some(&forged), NotAuthorized, "signature does not match");
        // expired
        let old = token(&r, &dev1, "localhost/devices/dev1", NOW - 10);
        check("dev1", Some(&user("dev1")), Some(&old), NotAuthorized, "expired");
        // not registered
        let key = iotsec::sas::SharedAccessKey::from_bytes(vec![7; 32]);
        let stranger = SasToken::sign(&key, "localhost/devices/ghost", NOW + 60, None).expose().to_string();
        check("ghost", Some(&user("ghost")), Some(&stranger), NotAuthorized, "not registered");
        // device token used by its module
        check("dev1/mod1", Some(&user("dev1/mod1")), Some(&good1), NotAuthorized, "is for `localhost/devices/dev1`");
        // policy-signed token
        let key = r.credentials(&dev1).unwrap().key().clone();
        let policy = SasToken::sign(&key, "localhost/devices/dev1", NOW + 60, Some("device")).expose().to_string();
        check("dev1", Some(&user("dev1")), Some(&policy), NotAuthorized, "shared access policy");
        // case matters in ids
        let upper = token(&r, &dev1, "localhost/devices/DEV1", NOW + 60);
        check("dev1", Some(&user("dev1")), Some(&upper), NotAuthorized, "is for");
    }
}
