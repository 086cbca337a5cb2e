//! The TLS client configuration: which CAs to trust and, for X.509 devices, which certificate
//! to present. Built once per client; rustls with the `ring` provider.

use std::io::BufReader;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use crate::error::{Error, ErrorKind, Result};

use super::options::ClientOptions;

fn tls_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Tls, message)
}

/// System roots, loaded once per process (reading them takes tens of milliseconds).
fn system_roots() -> Result<Arc<RootCertStore>> {
    static ROOTS: OnceLock<std::result::Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            let mut store = RootCertStore::empty();
            let (added, _) = store.add_parsable_certificates(loaded.certs);
            if added == 0 {
                Err("no system CA certificates were found; pass a CA file".to_string())
            } else {
                Ok(Arc::new(store))
            }
        })
        .clone()
        .map_err(tls_error)
}

fn parse_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = rustls_pemfile::certs(&mut BufReader::new(pem))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls_error(format!("{what} is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(tls_error(format!("{what} holds no PEM certificate")));
    }
    Ok(certs)
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::new(ErrorKind::InvalidCredential, format!("cannot read {what} `{}`: {e}", path.display())))
}

/// The trust store: the user's CA (PEM text, else file, else `IOTSEC_CA_FILE`) or the system roots.
fn roots(options: &ClientOptions) -> Result<Arc<RootCertStore>> {
    let pem = match (&options.ca_pem, options.effective_ca_file()) {
        (Some(pem), _) => Some((pem.as_bytes().to_vec(), "the CA certificate text".to_string())),
        (None, Some(path)) => Some((read(&path, "CA file")?, format!("CA file `{}`", path.display()))),
        (None, None) => None,
    };
    let Some((pem, what)) = pem else { return system_roots() };
    let mut store = RootCertStore::empty();
    for cert in parse_certs(&pem, &what)? {
        store.add(cert).map_err(|e| tls_error(format!("{what}: {e}")))?;
    }
    Ok(Arc::new(store))
}

fn client_identity(options: &ClientOptions) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>> {
    let (cert, key) = match (&options.client_cert_file, &options.client_key_file) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        _ => return Err(Error::new(ErrorKind::InvalidArgument, "x509 needs both a client certificate file and a key file")),
    };
    let certs = parse_certs(&read(cert, "client certificate")?, "the client certificate")?;
    let key_pem = read(key, "client key")?;
    let key = rustls_pemfile::private_key(&mut BufReader::new(key_pem.as_slice()))
        .map_err(|_| Error::new(ErrorKind::InvalidCredential, "the client key file is not valid PEM"))?
        .ok_or_else(|| Error::new(ErrorKind::InvalidCredential, "the client key file holds no private key"))?;
    Ok(Some((certs, key)))
}

/// The rustls configuration for `options`.
pub(crate) fn client_config(options: &ClientOptions) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?
        .with_root_certificates(roots(options)?);
    let config = match client_identity(options)? {
        None => builder.with_no_client_auth(),
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .map_err(|e| Error::new(ErrorKind::InvalidCredential, format!("client certificate and key do not fit: {e}")))?,
    };
    Ok(Arc::new(config))
}
