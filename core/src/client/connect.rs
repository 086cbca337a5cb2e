//! What goes into an MQTT CONNECT to IoT Hub (WIRE.md section 3): client id, username with
//! api-version and user agent, SAS password, clean session 0, MQTT 3.1.1.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{MqttOptions, TlsConfiguration, Transport as MqttTransport};

use crate::connection_string::{ConnectionString, Credential};
use crate::error::{Error, ErrorKind, Result};
use crate::message::{MAX_BODY_BYTES, MAX_TOPIC_BYTES};
use crate::sas::SasToken;
use crate::topic::percent_encode;

use super::options::{ClientOptions, Transport};
use super::tls;

/// The IoT Hub MQTT api-version the username announces.
pub const API_VERSION: &str = "2021-04-12";

/// The iotsec user agent: `iotsec/{version} ({binding} {runtime}; {os}; {arch})`.
///
/// `product_info` is the `{binding} {runtime}` part (e.g. `python 3.11.7`); Rust callers get
/// `rust {rustc version}`.
pub fn user_agent(product_info: Option<&str>) -> String {
    let product = product_info.map(str::to_string).unwrap_or_else(|| format!("rust {}", env!("IOTSEC_RUSTC_VERSION")));
    format!("iotsec/{} ({product}; {}; {})", env!("CARGO_PKG_VERSION"), std::env::consts::OS, std::env::consts::ARCH)
}

/// The CONNECT username: `{HostName}/{clientId}/?api-version=...&DeviceClientType={agent}`.
pub fn username(host_name: &str, client_id: &str, user_agent: &str) -> String {
    format!("{host_name}/{client_id}/?api-version={API_VERSION}&DeviceClientType={}", percent_encode(user_agent))
}

/// Everything needed to (re)connect, resolved once when the client is created.
pub(crate) struct Endpoint {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub username: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    credential: Credential,
    resource_uri: String,
    token_lifetime: Duration,
    keep_alive: Duration,
    max_in_flight: u16,
    request_capacity: usize,
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

impl Endpoint {
    pub fn new(cs: &ConnectionString, options: &ClientOptions) -> Result<Self> {
        options.validate()?;
        let host = cs.connect_host().to_string();
        let tls = match options.transport {
            Transport::Tls => Some(tls::client_config(options)?),
            Transport::PlainTcpLoopbackOnly if is_loopback(&host) => None,
            Transport::PlainTcpLoopbackOnly => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("plain TCP is only allowed to a loopback host, not `{host}`"),
                ))
            }
        };
        if cs.credential == Credential::X509 && options.client_cert_file.is_none() {
            return Err(Error::new(ErrorKind::InvalidArgument, "x509=true needs a client certificate and key file in the options"));
        }
        let client_id = cs.identity.client_id();
        let agent = user_agent(options.product_info.as_deref());
        Ok(Endpoint {
            port: options.effective_port()?,
            username: username(&cs.host_name, &client_id, &agent),
            client_id,
            host,
            tls,
            credential: cs.credential.clone(),
            resource_uri: cs.identity.resource_uri(&cs.host_name),
            token_lifetime: options.token_lifetime,
            keep_alive: options.keep_alive,
            max_in_flight: options.max_in_flight,
            // Every publish in the channel holds a queue permit, so this never fills up.
            request_capacity: options.queue_capacity + 64,
        })
    }

    /// A fresh password: a newly signed SAS token (or the user's fixed one), none for X.509.
    /// Returns the password and when it expires (unix seconds).
    pub fn password(&self) -> (String, Option<u64>) {
        match &self.credential {
            Credential::SharedAccessKey { key, key_name } => {
                let token = SasToken::sign_for(key, &self.resource_uri, self.token_lifetime, key_name.as_deref());
                (token.expose().to_string(), Some(token.expires_at()))
            }
            Credential::SharedAccessSignature(token) => (token.expose().to_string(), Some(token.expires_at())),
            Credential::X509 => (String::new(), None),
        }
    }

    /// Whether the password can be renewed (a key can sign new tokens; a fixed token cannot).
    pub fn can_renew(&self) -> bool {
        matches!(self.credential, Credential::SharedAccessKey { .. })
    }

    /// rumqttc options for one connection attempt.
    pub fn mqtt_options(&self, password: &str) -> MqttOptions {
        let mut o = MqttOptions::new(self.client_id.clone(), self.host.clone(), self.port);
        o.set_clean_session(false)
            .set_keep_alive(self.keep_alive)
            .set_credentials(self.username.clone(), password.to_string())
            .set_inflight(self.max_in_flight)
            .set_request_channel_capacity(self.request_capacity)
            .set_max_packet_size(64 * 1024, MAX_BODY_BYTES + MAX_TOPIC_BYTES + 64);
        if let Some(tls) = &self.tls {
            o.set_transport(MqttTransport::tls_with_config(TlsConfiguration::Rustls(tls.clone())));
        }
        o
    }

    pub fn request_capacity(&self) -> usize {
        self.request_capacity
    }

    /// `host:port`, for error messages.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_has_api_version_and_encoded_agent() {
        let u = username("localhost", "dev-node/mod1", "iotsec/0.1.0 (python 3.11.7; linux; x86_64)");
        assert_eq!(
            u,
            "localhost/dev-node/mod1/?api-version=2021-04-12&DeviceClientType=iotsec%2F0.1.0%20%28python%203.11.7%3B%20linux%3B%20x86_64%29"
        );
    }

    #[test]
    fn user_agent_names_binding_os_and_arch() {
        let ua = user_agent(Some("python 3.11.7"));
        assert_eq!(ua, format!("iotsec/{} (python 3.11.7; {}; {})", env!("CARGO_PKG_VERSION"), std::env::consts::OS, std::env::consts::ARCH));
        assert!(user_agent(None).contains("(rust 1."), "{}", user_agent(None));
    }

    #[test]
    fn plain_tcp_only_to_loopback() {
        let options = ClientOptions { transport: Transport::PlainTcpLoopbackOnly, ..Default::default() };
        let key = "NMgJDvdKTxjLi+xBxxkDDEwDJxEvOE5u8BiT0mVgPeg=";
        let remote = ConnectionString::parse(&format!("HostName=example.com;DeviceId=d;SharedAccessKey={key}")).unwrap();
        assert_eq!(Endpoint::new(&remote, &options).err().unwrap().kind(), ErrorKind::InvalidArgument);
        for host in ["localhost", "127.0.0.1", "::1"] {
            let local = ConnectionString::parse(&format!("HostName={host};DeviceId=d;SharedAccessKey={key}")).unwrap();
            assert!(Endpoint::new(&local, &options).is_ok(), "{host}");
        }
    }
}
