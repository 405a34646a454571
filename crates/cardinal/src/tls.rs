//! HTTPS: `--tls-cert`/`--tls-key` (PEM files), or in sandbox mode `--tls self-signed`, which
//! makes a certificate for the bind host once and keeps it beside the database.

use crate::config::ServeArgs;
use crate::database::sibling;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// What `--tls` may say.
pub const SELF_SIGNED: &str = "self-signed";

/// TLS as configured: the acceptor, and the certificate file when this server made it.
pub struct Tls {
    pub acceptor: TlsAcceptor,
    pub self_signed: Option<PathBuf>,
}

/// The acceptor for the configured certificate; `None` when TLS is off.
pub fn acceptor(
    args: &ServeArgs,
    sandbox: bool,
    beside: Option<&Path>,
    address: SocketAddr,
) -> Result<Option<Tls>, String> {
    let mut made = None;
    let (cert, key) = match (&args.tls, &args.tls_cert, &args.tls_key) {
        (None, None, None) => return Ok(None),
        (Some(mode), None, None) if mode == SELF_SIGNED => {
            if !sandbox {
                return Err("--tls self-signed is for sandbox mode; production needs --tls-cert and --tls-key".into());
            }
            let (cert, key) = self_signed(beside, address)?;
            made = Some(cert.clone());
            (cert, key)
        }
        (Some(other), None, None) => return Err(format!("--tls takes `{SELF_SIGNED}`, not {other:?}")),
        (None, Some(cert), Some(key)) => (cert.clone(), key.clone()),
        _ => return Err("give --tls-cert and --tls-key together, or --tls self-signed alone".into()),
    };
    let acceptor = TlsAcceptor::from(Arc::new(server_config(&cert, &key)?));
    Ok(Some(Tls { acceptor, self_signed: made }))
}

fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("cannot read the certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{} holds no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("cannot read the key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not fit together: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `<database>.tls.crt` and `.tls.key` beside a SQLite database (the current directory
/// otherwise), made on first use for the bind address and `localhost`.
fn self_signed(beside: Option<&Path>, address: SocketAddr) -> Result<(PathBuf, PathBuf), String> {
    let base = beside.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("cardinal.db"));
    let (cert_path, key_path) = (sibling(&base, "tls.crt"), sibling(&base, "tls.key"));
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    let mut names = vec!["localhost".to_owned(), address.ip().to_string()];
    if address.ip().is_unspecified() {
        names.push("127.0.0.1".into());
    }
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    crate::database::write_private(&key_path, &certified.signing_key.serialize_pem())?;
    std::fs::write(&cert_path, certified.cert.pem())
        .map_err(|e| format!("cannot write {}: {e}", cert_path.display()))?;
    Ok((cert_path, key_path))
}
