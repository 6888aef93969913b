//! TLS with rustls and its `ring` provider: implicit TLS and STARTTLS on the
//! same connection, SNI, TLS 1.2 and 1.3, certificate facts.
//!
//! Not native-tls (it parses the whole system CA bundle at every run, 60-100
//! ms per check here) and not aws-lc-rs (its start-up costs as much).
//! Verification is off for a plain probe, as in the C plugins, so internal
//! self-signed servers keep working; it is on with `--verify`, and whenever
//! credentials are sent unless `--insecure` says otherwise. The system trust
//! store is loaded only when verifying without `--ca-file`.
//!
//! A certificate that is itself in `--ca-file` is trusted as itself (webpki
//! alone refuses a CA:TRUE certificate as a server's, and `openssl req
//! -x509` makes exactly those); its name and dates are still checked, so
//! `--ca-file` means the same for every certificate. `--pin` trusts one
//! certificate by fingerprint and checks nothing else (dates: `-D`).

pub mod args;
pub mod cert;
pub mod pin;
pub mod session;
pub mod verify;

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

pub use args::{require_tls_for_credentials, LoginArgs, MessageCountArgs, TlsArgs};
pub use cert::{CertDays, CertFacts};
pub use pin::Fingerprint;
pub use session::TlsSummary;
pub use verify::TrustError;

use crate::net::{Deadline, NetError};
use verify::{Mode, Verifier};

/// How to set up TLS for one connection.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Verify the certificate chain and name.
    pub verify: bool,
    /// Trust this CA bundle instead of the system's.
    pub ca_file: Option<std::path::PathBuf>,
    /// Server name to send (SNI) and verify; default the host name.
    pub sni: Option<String>,
    /// `--pin`: trust exactly the certificates with these fingerprints
    /// (no CA, name or date check); when set, `verify` and `ca_file` are not used.
    pub pins: Vec<Fingerprint>,
    /// Protocols offered by ALPN, most wanted first (`h2`, `http/1.1`);
    /// none offered when empty.
    pub alpn: Vec<Vec<u8>>,
    /// A client certificate and its key (PEM files) to present when asked.
    pub client_auth: Option<ClientAuth>,
    /// The TLS versions allowed (default: 1.2 and 1.3).
    pub versions: TlsVersions,
}

/// A client certificate chain and its private key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuth {
    /// The certificate (chain), PEM.
    pub cert: std::path::PathBuf,
    /// The private key, PEM.
    pub key: std::path::PathBuf,
}

/// Which TLS versions a connection may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersions {
    /// TLS 1.2 or 1.3, the best the server offers.
    #[default]
    Any,
    /// Exactly TLS 1.2.
    Only12,
    /// Exactly TLS 1.3.
    Only13,
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
    /// Whether the certificate was verified (chain and name, or a pin).
    pub verified: bool,
    /// The protocol agreed by ALPN (`h2`), if any.
    pub alpn: Option<String>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The trusted CAs, and the certificates of `ca_file` as they are (a server
/// presenting one of those is trusted as itself).
type Roots = (RootCertStore, Vec<CertificateDer<'static>>);

fn roots(ca_file: Option<&Path>) -> Result<Roots, NetError> {
    let mut store = RootCertStore::empty();
    let mut listed = Vec::new();
    match ca_file {
        Some(path) => {
            let certs = pem_certificates(path, "CA file ")?;
            listed.clone_from(&certs);
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(NetError::Tls {
                    reason: format!("no CA certificate in {}", path.display()),
                });
            }
        }
        None => {
            // SSL_CERT_FILE and SSL_CERT_DIR name files of the user's choosing.
            if ["SSL_CERT_FILE", "SSL_CERT_DIR"]
                .iter()
                .any(|v| std::env::var_os(v).is_some())
            {
                crate::runner::supervise();
            }
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
    Ok((store, listed))
}

/// Every certificate of a PEM file; `what` names the file in the error
/// (`CA file `).
fn pem_certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, NetError> {
    // A file the user names may sit on a hung mount, past any signal.
    crate::runner::supervise();
    CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| NetError::Tls {
            reason: format!("cannot read {what}{}: {e}", path.display()),
        })
}

/// The client configuration for `options`.
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, NetError> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = match options.versions {
        TlsVersions::Any => rustls::DEFAULT_VERSIONS,
        TlsVersions::Only12 => &[&rustls::version::TLS12],
        TlsVersions::Only13 => &[&rustls::version::TLS13],
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(|e| NetError::Tls {
            reason: e.to_string(),
        })?;
    let mode = if !options.pins.is_empty() {
        Mode::Pinned(options.pins.clone())
    } else if options.verify {
        let (store, listed) = roots(options.ca_file.as_deref())?;
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider())
            .build()
            .map_err(|e| NetError::Tls {
                reason: e.to_string(),
            })?;
        Mode::Chain {
            webpki,
            listed,
            ca_file: options.ca_file.is_some(),
        }
    } else {
        Mode::AcceptAny
    };
    let verifier = Verifier {
        mode,
        provider: provider(),
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match &options.client_auth {
        None => builder.with_no_client_auth(),
        Some(auth) => {
            let (chain, key) = client_identity(auth)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| NetError::Tls {
                    reason: format!("client certificate {}: {e}", auth.cert.display()),
                })?
        }
    };
    config.alpn_protocols.clone_from(&options.alpn);
    Ok(Arc::new(config))
}

/// Reads a client certificate chain and key; the reason names the file.
fn client_identity(
    auth: &ClientAuth,
) -> Result<
    (
        Vec<CertificateDer<'static>>,
        rustls::pki_types::PrivateKeyDer<'static>,
    ),
    NetError,
> {
    let chain = pem_certificates(&auth.cert, "")?;
    if chain.is_empty() {
        return Err(NetError::Tls {
            reason: format!("no certificate in {}", auth.cert.display()),
        });
    }
    crate::runner::supervise();
    let key =
        rustls::pki_types::PrivateKeyDer::from_pem_file(&auth.key).map_err(|e| NetError::Tls {
            reason: format!("cannot read {}: {e}", auth.key.display()),
        })?;
    Ok((chain, key))
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
pub async fn handshake<S>(
    stream: S,
    host: &str,
    options: &TlsOptions,
    deadline: &Deadline,
) -> Result<(TlsStream<S>, TlsFacts), NetError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
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
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let facts = TlsFacts {
        version,
        cipher,
        cert,
        verified: options.verify || !options.pins.is_empty(),
        alpn,
    };
    Ok((tls, facts))
}

/// rustls' errors come wrapped in io::Error; keep the useful part.
fn describe_tls_error(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(error) => cert::describe_error(error),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the handshake".to_string()
        }
        None => e.to_string(),
    }
}
