//! TLS with rustls and its `ring` provider: implicit TLS and STARTTLS on the
//! same connection, SNI, TLS 1.2 and 1.3, certificate facts.
//!
//! Not native-tls (it parses the whole system CA bundle at every run, 60-100
//! ms per check here) and not aws-lc-rs (its start-up costs as much).
//! Verification is off for a plain probe, as in the C plugins, so internal
//! self-signed servers keep working; it is on with `--verify`, and whenever
//! credentials are sent unless `--insecure` says otherwise. The system trust
//! store is loaded only when verifying without `--ca-file`.

pub mod args;
pub mod cert;
pub mod session;

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

pub use args::{require_tls_for_credentials, LoginArgs, TlsArgs};
pub use cert::{CertDays, CertFacts};
pub use session::{Session, TlsSummary};

use crate::net::{Deadline, NetError};

/// How to set up TLS for one connection.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Verify the certificate chain and name.
    pub verify: bool,
    /// Trust this CA bundle instead of the system's.
    pub ca_file: Option<std::path::PathBuf>,
    /// Server name to send (SNI) and verify; default the host name.
    pub sni: Option<String>,
}

/// What the handshake established.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsFacts {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    /// The cipher suite name.
    pub cipher: String,
    /// The server's leaf certificate, when it sent one that parses.
    pub cert: Option<CertFacts>,
    /// Whether the chain and name were verified.
    pub verified: bool,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts any certificate but still checks the handshake signatures, so the
/// peer must hold the key of the certificate it shows.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, NetError> {
    let mut store = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|e| NetError::Tls {
                    reason: format!("cannot read CA file {}: {e}", path.display()),
                })?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(NetError::Tls {
                    reason: format!("no CA certificate in {}", path.display()),
                });
            }
        }
        None => {
            let loaded = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(loaded.certs);
            if store.is_empty() {
                return Err(NetError::Tls {
                    reason: "no trusted CA certificates found on this system (use --ca-file)"
                        .to_string(),
                });
            }
        }
    }
    Ok(store)
}

/// The client configuration for `options`.
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, NetError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls {
            reason: e.to_string(),
        })?;
    let config = if options.verify {
        builder
            .with_root_certificates(roots(options.ca_file.as_deref())?)
            .with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

fn server_name(host: &str, options: &TlsOptions) -> Result<ServerName<'static>, NetError> {
    let name = options.sni.as_deref().unwrap_or(host);
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    ServerName::try_from(bare.to_string()).map_err(|_| NetError::Tls {
        reason: format!("'{bare}' is not a valid server name"),
    })
}

/// Performs the client handshake on `stream` (fresh, or after a STARTTLS
/// reply) and reports what it established.
pub async fn handshake(
    stream: TcpStream,
    host: &str,
    options: &TlsOptions,
    deadline: &Deadline,
) -> Result<(TlsStream<TcpStream>, TlsFacts), NetError> {
    let config = client_config(options)?;
    let name = server_name(host, options)?;
    let connector = TlsConnector::from(config);
    let tls = deadline
        .run(connector.connect(name, stream))
        .await
        .ok_or_else(|| NetError::timeout("during the TLS handshake", deadline.budget()))?
        .map_err(|e| NetError::Tls {
            reason: describe_tls_error(&e),
        })?;
    let (_, conn) = tls.get_ref();
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(v) => format!("{v:?}"),
        None => "TLS".to_string(),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    let cert = conn
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| CertFacts::from_der(leaf.as_ref()));
    let facts = TlsFacts {
        version,
        cipher,
        cert,
        verified: options.verify,
    };
    Ok((tls, facts))
}

/// rustls' errors come wrapped in io::Error; keep the useful part.
fn describe_tls_error(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(reason)) => {
            format!(
                "certificate not trusted: {}",
                cert::describe_invalid(reason)
            )
        }
        Some(other) => other.to_string(),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the handshake".to_string()
        }
        None => e.to_string(),
    }
}
