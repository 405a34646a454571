//! The connection URL: Cardinal's own `pgbouncer=transaction`, and TLS to PostgreSQL on
//! rustls, with libpq's connection parameters, so a managed service's URL works as its
//! provider writes it:
//!
//! | `sslmode` | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow`, `prefer` (the default, as libpq's) | when the server offers it | no |
//! | `require` | always | no; as `verify-ca` when `sslrootcert` is given (as libpq) |
//! | `verify-ca` | always | signed by a root of `sslrootcert` |
//! | `verify-full` | always | and issued for the host connected to |
//!
//! `sslrootcert` is a PEM file of root certificates, or `system` for the Mozilla roots built
//! in; by default `~/.postgresql/root.crt`, as libpq. `sslcert` and `sslkey` give a client
//! certificate. tokio-postgres knows none of these but `sslmode` (and not all its values):
//! they are taken out of the URL here and the rest is its to parse.

use std::{
    future::Future,
    io,
    path::PathBuf,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use rustls::{
    client::{
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
        WebPkiServerVerifier,
    },
    crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider},
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName, UnixTime},
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The connection parameters of a URL: tokio-postgres's configuration, and the TLS it needs.
/// The connection settings of `url`; `attrs` when the URL does not set `target_session_attrs`.
pub(crate) fn connection(
    url: &str,
    attrs: tokio_postgres::config::TargetSessionAttrs,
) -> Result<(tokio_postgres::Config, MakeRustls), String> {
    let (rest, tls) = take_tls_parameters(url)?;
    let mut config: tokio_postgres::Config = rest.parse().map_err(|e| format!("{e}"))?;
    // Cardinal writes: unless the URL says otherwise, a connection is made only to a server
    // that takes writes, so that with several hosts (`postgres://h1,h2/db`) a failover finds
    // the new primary instead of a standby that answers every write with an error.
    if !rest.contains("target_session_attrs=") {
        config.target_session_attrs(attrs);
    }
    config.ssl_mode(match tls.mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    });
    let client = match tls.mode {
        SslMode::Disable => None,
        _ => Some(Arc::new(tls.client_config()?)),
    };
    Ok((config, MakeRustls { client }))
}

/// Splits Cardinal's own `pgbouncer=transaction` parameter off a URL (the URL without it is
/// returned): the database is reached through PgBouncer in transaction pooling mode, where a
/// server connection is a client's only for one transaction. Reads then run in a transaction
/// of their own too (a statement is prepared and run in two exchanges, which PgBouncer could
/// send to two servers), and no `options` startup parameter is sent (PgBouncer refuses it):
/// `statement_timeout` and `idle_in_transaction_session_timeout` are then the role's, set
/// with `ALTER ROLE` (docs/production.md).
pub(crate) fn take_pooler_parameter(url: &str) -> Result<(String, bool), String> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), false)) };
    let mut pooled = false;
    let mut kept = Vec::new();
    for segment in query.split('&').filter(|s| !s.is_empty()) {
        match segment.split_once('=') {
            Some(("pgbouncer", "transaction" | "true")) => pooled = true,
            Some(("pgbouncer", "false")) => pooled = false,
            Some(("pgbouncer", other)) => {
                return Err(format!(
                    "pgbouncer={other}: say pgbouncer=transaction (transaction pooling) or leave it out"
                ))
            }
            _ => kept.push(segment),
        }
    }
    let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((rest, pooled))
}

/// What the URL asks of TLS.
struct TlsParameters {
    mode: SslMode,
    root_cert: Option<String>,
    client_cert: Option<(String, String)>,
}

/// Splits the TLS parameters off a `postgres://…?…` URL; the URL without them is returned.
fn take_tls_parameters(url: &str) -> Result<(String, TlsParameters), String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let (mut mode, mut root_cert, mut cert, mut key) = (None, None, None, None);
    // The other parameters stay exactly as written: tokio-postgres decodes them its own way.
    let mut kept = Vec::new();
    for segment in query.split('&').filter(|s| !s.is_empty()) {
        let Some((name, value)) = form_urlencoded::parse(segment.as_bytes()).next() else { continue };
        match &*name {
            "sslmode" => mode = Some(parse_mode(&value)?),
            "sslrootcert" => root_cert = Some(value.into_owned()),
            "sslcert" => cert = Some(value.into_owned()),
            "sslkey" => key = Some(value.into_owned()),
            _ => kept.push(segment),
        }
    }
    let client_cert = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err("sslcert and sslkey go together: give both or neither".into()),
    };
    // libpq: with a root certificate given, `require` checks the chain as `verify-ca` does.
    let mode = match mode.unwrap_or(SslMode::Prefer) {
        SslMode::Require if root_cert.is_some() => SslMode::VerifyCa,
        mode => mode,
    };
    let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((rest, TlsParameters { mode, root_cert, client_cert }))
}

fn parse_mode(value: &str) -> Result<SslMode, String> {
    Ok(match value {
        "disable" => SslMode::Disable,
        "allow" | "prefer" => SslMode::Prefer,
        "require" => SslMode::Require,
        "verify-ca" => SslMode::VerifyCa,
        "verify-full" => SslMode::VerifyFull,
        other => {
            return Err(format!(
                "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ))
        }
    })
}

impl TlsParameters {
    fn client_config(&self) -> Result<ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = match self.mode {
            SslMode::VerifyCa | SslMode::VerifyFull => Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(self.roots()?), provider.clone())
                    .build()
                    .map_err(|e| format!("sslrootcert: {e}"))?,
            ),
            _ => None,
        };
        let verifier =
            Arc::new(Verifier { chain, check_name: self.mode == SslMode::VerifyFull, provider: provider.clone() });
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = read_certificates(cert, "sslcert")?;
                let key = PrivateKeyDer::from_pem_file(cert_path(key))
                    .map_err(|e| format!("sslkey {key}: not a PEM private key ({e})"))?;
                builder.with_client_auth_cert(chain, key).map_err(|e| format!("sslcert/sslkey: {e}"))?
            }
        };
        // PostgreSQL 17's direct TLS negotiation requires this ALPN; earlier servers ignore it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(config)
    }

    /// The roots `verify-ca` and `verify-full` trust.
    fn roots(&self) -> Result<RootCertStore, String> {
        let mut roots = RootCertStore::empty();
        let path = match self.root_cert.as_deref() {
            Some("system") => {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                return Ok(roots);
            }
            Some(path) => path.to_owned(),
            None => default_root_cert().ok_or(
                "sslmode=verify-ca and verify-full need the server's root certificate: add sslrootcert=/path/to/ca.pem",
            )?,
        };
        for cert in read_certificates(&path, "sslrootcert")? {
            roots.add(cert).map_err(|e| format!("sslrootcert {path}: {e}"))?;
        }
        Ok(roots)
    }
}

/// `~/.postgresql/root.crt`, when it exists (libpq's default).
fn default_root_cert() -> Option<String> {
    let path = PathBuf::from(std::env::var_os("HOME")?).join(".postgresql/root.crt");
    path.exists().then(|| path.display().to_string())
}

fn cert_path(text: &str) -> PathBuf {
    PathBuf::from(text)
}

fn read_certificates(path: &str, parameter: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path(path))
        .map_err(|e| format!("{parameter} {path}: cannot read it ({e})"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{parameter} {path}: not PEM certificates ({e})"))?;
    if certs.is_empty() {
        return Err(format!("{parameter} {path}: no certificate in it"));
    }
    Ok(certs)
}

/// What a TLS session checks of the server's certificate, by `sslmode`: `verify-full` the
/// chain to a trusted root and the name; `verify-ca` the chain only (libpq's meaning: for
/// servers reached by an address their certificate does not name); `prefer` and `require`
/// without a root nothing (as libpq: encrypted, but any certificate is taken). The handshake's
/// signatures are checked in every mode, so the key is the certificate's.
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        // The chain is checked before the name: a name error means the chain was good.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Makes a TLS connector per connection (tokio-postgres names the host it dials).
#[derive(Clone)]
pub(crate) struct MakeRustls {
    client: Option<Arc<ClientConfig>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> MakeTlsConnect<S> for MakeRustls {
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host: &str) -> io::Result<RustlsConnect> {
        // A Unix socket (`host=/var/run/postgresql`) has no host name, and PostgreSQL offers
        // no TLS on one: the server declines the request, and the connection goes on
        // unencrypted as `prefer` allows (`require` then fails, as it should). The name is
        // never checked.
        let host = if host.is_empty() { "localhost" } else { host };
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("{host:?} is not a host name for TLS")))?;
        Ok(RustlsConnect { client: self.client.clone(), name })
    }
}

pub(crate) struct RustlsConnect {
    client: Option<Arc<ClientConfig>>,
    name: ServerName<'static>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> TlsConnect<S> for RustlsConnect {
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            // sslmode=disable never asks for TLS, so there is always a configuration here.
            let client = self.client.ok_or_else(|| io::Error::other("TLS is disabled (sslmode=disable)"))?;
            let tls = tokio_rustls::TlsConnector::from(client).connect(self.name, stream).await?;
            Ok(RustlsStream(tls))
        })
    }
}

/// A TLS session to the server.
pub(crate) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    /// No channel binding: SCRAM then proves the password without it (libpq's `prefer`).
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_leave_the_rest_of_the_url_to_tokio_postgres() {
        let (rest, tls) = take_tls_parameters(
            "postgres://u@db:5432/cards?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&options=-c%20search_path%3Dx",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@db:5432/cards?options=-c%20search_path%3Dx");
        assert_eq!((tls.mode, tls.root_cert.as_deref()), (SslMode::VerifyFull, Some("/etc/ca.pem")));
        let (_, tls) = take_tls_parameters("postgres://u@db/cards").unwrap();
        assert_eq!(tls.mode, SslMode::Prefer, "libpq's default");
        let (_, tls) = take_tls_parameters("postgres://u@db/cards?sslmode=require&sslrootcert=ca.pem").unwrap();
        assert_eq!(tls.mode, SslMode::VerifyCa, "require with a root checks the chain, as libpq");
        assert!(take_tls_parameters("postgres://u@db/cards?sslmode=strict").is_err());
        assert!(take_tls_parameters("postgres://u@db/cards?sslcert=a.pem").is_err());
    }

    #[test]
    fn a_missing_root_certificate_is_named() {
        let (_, tls) = take_tls_parameters("postgres://u@db/c?sslmode=verify-full&sslrootcert=/no/such.pem").unwrap();
        let error = tls.client_config().unwrap_err();
        assert!(error.contains("/no/such.pem"), "{error}");
    }

    #[test]
    fn the_pgbouncer_parameter_is_cardinals_own() {
        let taken = |url: &str| take_pooler_parameter(url).unwrap();
        assert_eq!(taken("postgres://u@h/db"), ("postgres://u@h/db".into(), false));
        assert_eq!(taken("postgres://u@h1,h2/db?pgbouncer=transaction"), ("postgres://u@h1,h2/db".into(), true));
        assert_eq!(
            taken("postgres://u@h/db?sslmode=require&pgbouncer=true&target_session_attrs=read-write"),
            ("postgres://u@h/db?sslmode=require&target_session_attrs=read-write".into(), true)
        );
        assert!(take_pooler_parameter("postgres://u@h/db?pgbouncer=session").is_err());
    }
}
