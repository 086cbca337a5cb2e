//! Certificates for local TLS: a private CA and a server certificate for `localhost` and
//! `127.0.0.1`, generated with rcgen. The hub makes them on first start; the test kit makes
//! them for mosquitto. Clients trust the CA file (`IOTSEC_CA_FILE`).

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};

/// PEM files written by [`generate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkiFiles {
    /// The CA certificate clients must trust.
    pub ca_cert: PathBuf,
    /// The server certificate (for `localhost`, `127.0.0.1`, `::1`), signed by the CA.
    pub server_cert: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
    /// A client certificate (subject CN = `client_cn`) signed by the CA, for X.509 devices.
    pub client_cert: PathBuf,
    /// The client's private key.
    pub client_key: PathBuf,
}

/// What went wrong making certificates.
pub type PkiError = Box<dyn std::error::Error + Send + Sync>;

fn ca(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>, PkiError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    Ok(CertifiedIssuer::self_signed(params, KeyPair::generate()?)?)
}

/// Writes a new CA, server certificate and client certificate into `dir` (created if
/// missing). `ca_name` labels the CA (tests make a second, untrusted CA with another name).
pub fn generate(dir: &Path, ca_name: &str, client_cn: &str) -> Result<PkiFiles, PkiError> {
    std::fs::create_dir_all(dir)?;
    let ca = ca(ca_name)?;

    let mut server = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()])?;
    server.distinguished_name.push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate()?;
    let server_cert = server.signed_by(&server_key, &ca)?;

    let mut client = CertificateParams::new(Vec::<String>::new())?;
    client.distinguished_name.push(DnType::CommonName, client_cn);
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate()?;
    let client_cert = client.signed_by(&client_key, &ca)?;

    let files = PkiFiles {
        ca_cert: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    };
    std::fs::write(&files.ca_cert, ca.pem())?;
    std::fs::write(&files.server_cert, server_cert.pem())?;
    write_private(&files.server_key, &server_key.serialize_pem())?;
    std::fs::write(&files.client_cert, client_cert.pem())?;
    write_private(&files.client_key, &client_key.serialize_pem())?;
    Ok(files)
}

/// The files [`generate`] would write in `dir`, if they are all there already.
pub fn existing(dir: &Path) -> Option<PkiFiles> {
    let files = PkiFiles {
        ca_cert: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    };
    [&files.ca_cert, &files.server_cert, &files.server_key, &files.client_cert, &files.client_key]
        .iter()
        .all(|p| p.is_file())
        .then_some(files)
}

/// Private keys are readable by their owner only.
fn write_private(path: &Path, pem: &str) -> std::io::Result<()> {
    std::fs::write(path, pem)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
