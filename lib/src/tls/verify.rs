//! The server certificate verifier: `--pin`, certificates trusted as
//! themselves through `--ca-file`, the usual CA chain check, and refusals a
//! monitoring user can act on.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::pin::Fingerprint;

/// Why a certificate was refused, in terms of our options (rustls' own
/// reasons are described by [`super::cert::describe_invalid`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustError {
    /// Self-signed and not among the certificates trusted.
    SelfSigned {
        /// Whether `--ca-file` was given (else the system store was used).
        ca_file: bool,
    },
    /// Signed by a CA that is not trusted.
    UnknownIssuer {
        /// The issuer's common name.
        issuer: String,
        /// Whether `--ca-file` was given.
        ca_file: bool,
    },
    /// Names a trusted CA as its issuer, but that CA did not sign it
    /// (another CA of the same name, or a forgery).
    NotSignedByNamesake {
        /// The issuer's common name.
        issuer: String,
    },
    /// Not valid for the name we connected to.
    WrongName {
        /// The names the certificate is for (subjectAltName, else CN).
        names: Vec<String>,
        /// The name we checked.
        expected: String,
    },
    /// Does not match any `--pin`.
    PinMismatch {
        /// The fingerprint of the certificate the server presented.
        seen: Fingerprint,
    },
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::SelfSigned { ca_file: true } => {
                f.write_str("self-signed and not in --ca-file")
            }
            TrustError::SelfSigned { ca_file: false } => {
                f.write_str("self-signed (trust it with --ca-file or --pin)")
            }
            TrustError::UnknownIssuer {
                issuer,
                ca_file: true,
            } => write!(f, "unknown issuer{} (not in --ca-file)", quoted(issuer)),
            TrustError::UnknownIssuer {
                issuer,
                ca_file: false,
            } => write!(
                f,
                "unknown issuer{} (not trusted by this system: use --ca-file)",
                quoted(issuer)
            ),
            TrustError::NotSignedByNamesake { issuer } => write!(
                f,
                "unknown issuer{} (the trusted CA of that name did not sign it)",
                quoted(issuer)
            ),
            TrustError::WrongName { names, expected } => name_mismatch(f, names, expected),
            TrustError::PinMismatch { seen } => write!(
                f,
                "does not match --pin (its SHA-256 fingerprint is {seen})"
            ),
        }
    }
}

impl std::error::Error for TrustError {}

/// ` 'Corp CA'`, or nothing for a nameless issuer.
fn quoted(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!(" '{name}'")
    }
}

/// `for mail.example, not for 127.0.0.1`.
pub(crate) fn name_mismatch(
    f: &mut fmt::Formatter<'_>,
    names: &[String],
    expected: &str,
) -> fmt::Result {
    if names.is_empty() {
        write!(f, "names no host, so it is not valid for {expected}")
    } else {
        write!(f, "for {}, not for {expected}", names.join(", "))
    }
}

impl From<TrustError> for rustls::Error {
    fn from(e: TrustError) -> rustls::Error {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
    }
}

/// How the server certificate is judged.
#[derive(Debug)]
pub(crate) enum Mode {
    /// A plain probe, as in C: any certificate.
    AcceptAny,
    /// `--pin`: exactly these certificates; no chain, name or date check
    /// (the dates are judged by `-D` and the expiry rule afterwards).
    Pinned(Vec<Fingerprint>),
    /// The CA chain and the name; a certificate that is itself in
    /// `--ca-file` is trusted as itself (the name and dates still checked).
    Chain {
        /// rustls' verifier over the trusted CAs.
        webpki: Arc<WebPkiServerVerifier>,
        /// The certificates of `--ca-file`, byte for byte.
        listed: Vec<CertificateDer<'static>>,
        /// Whether `--ca-file` was given.
        ca_file: bool,
    },
}

/// Our [`ServerCertVerifier`]: every mode still checks the handshake
/// signatures, so the peer must hold the key of the certificate it shows.
#[derive(Debug)]
pub(crate) struct Verifier {
    pub(crate) mode: Mode,
    pub(crate) provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.mode {
            Mode::AcceptAny => Ok(ServerCertVerified::assertion()),
            Mode::Pinned(pins) => {
                let seen = Fingerprint::of(end_entity.as_ref()).ok_or_else(|| {
                    rustls::Error::General("SHA-256 is not available".to_string())
                })?;
                if pins.contains(&seen) {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(TrustError::PinMismatch { seen }.into())
                }
            }
            Mode::Chain {
                webpki,
                listed,
                ca_file,
            } => {
                if listed.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
                    let cert = parse(end_entity)?;
                    check_dates(&cert, now)?;
                    check_name(end_entity, &cert, server_name)?;
                    return Ok(ServerCertVerified::assertion());
                }
                webpki
                    .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                    .map_err(|e| explain(e, end_entity, server_name, *ca_file))
            }
        }
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn parse<'a>(der: &'a CertificateDer<'_>) -> Result<X509Certificate<'a>, rustls::Error> {
    X509Certificate::from_der(der.as_ref())
        .map(|(_, cert)| cert)
        .map_err(|_| CertificateError::BadEncoding.into())
}

fn unix(ts: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(ts).unwrap_or(0)))
}

fn check_dates(cert: &X509Certificate<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let validity = cert.validity();
    if secs < validity.not_before.timestamp() {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before: unix(validity.not_before.timestamp()),
        }
        .into());
    }
    if secs > validity.not_after.timestamp() {
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after: unix(validity.not_after.timestamp()),
        }
        .into());
    }
    Ok(())
}

/// The subjectAltName rules of webpki; a certificate without subjectAltName
/// (as `openssl req -x509` makes it by default) is checked against its CN.
fn check_name(
    der: &CertificateDer<'_>,
    cert: &X509Certificate<'_>,
    name: &ServerName<'_>,
) -> Result<(), rustls::Error> {
    let has_san = matches!(cert.subject_alternative_name(), Ok(Some(_)));
    let matches = if has_san {
        let parsed = rustls::server::ParsedCertificate::try_from(der)?;
        rustls::client::verify_server_name(&parsed, name).is_ok()
    } else {
        let expected = name.to_str();
        let expected = expected.trim_end_matches('.');
        common_names(cert)
            .iter()
            .any(|cn| cn.trim_end_matches('.').eq_ignore_ascii_case(expected))
    };
    if matches {
        Ok(())
    } else {
        Err(TrustError::WrongName {
            names: cert_names(cert),
            expected: name.to_str().into_owned(),
        }
        .into())
    }
}

fn common_names(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_string))
        .collect()
}

/// The names a certificate is for: its DNS and IP subjectAltNames, else its CN.
fn cert_names(cert: &X509Certificate<'_>) -> Vec<String> {
    match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_string()),
                GeneralName::IPAddress(ip) => ip_text(ip),
                _ => None,
            })
            .collect(),
        _ => common_names(cert),
    }
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(std::net::Ipv4Addr::from(v4).to_string())
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Some(std::net::Ipv6Addr::from(v6).to_string())
    } else {
        None
    }
}

fn issuer_name(der: &CertificateDer<'_>) -> String {
    super::CertFacts::from_der(der.as_ref())
        .map(|f| f.issuer)
        .unwrap_or_default()
}

fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    cert.issuer().as_raw() == cert.subject().as_raw()
}

/// Replaces webpki's reason by one naming our options where that helps:
/// a self-signed certificate (webpki: unknown issuer, or CaUsedAsEndEntity
/// for CA:TRUE, or a signature mismatch against a namesake in the store),
/// an unknown issuer, a trusted namesake that did not sign it, a wrong name.
fn explain(
    error: rustls::Error,
    der: &CertificateDer<'_>,
    name: &ServerName<'_>,
    ca_file: bool,
) -> rustls::Error {
    let rustls::Error::InvalidCertificate(reason) = &error else {
        return error;
    };
    let Ok(cert) = parse(der) else {
        return error;
    };
    use CertificateError as E;
    match reason {
        E::UnknownIssuer
        | E::BadSignature
        | E::Other(_)
        | E::UnsupportedSignatureAlgorithmContext { .. }
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. }
            if is_self_signed(&cert) =>
        {
            TrustError::SelfSigned { ca_file }.into()
        }
        E::UnknownIssuer => TrustError::UnknownIssuer {
            issuer: issuer_name(der),
            ca_file,
        }
        .into(),
        // webpki found a trusted CA by the issuer's name whose key does not
        // verify the signature.
        E::BadSignature | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            TrustError::NotSignedByNamesake {
                issuer: issuer_name(der),
            }
            .into()
        }
        E::NotValidForName | E::NotValidForNameContext { .. } => TrustError::WrongName {
            names: cert_names(&cert),
            expected: name.to_str().into_owned(),
        }
        .into(),
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(params: rcgen::CertificateParams) -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    fn openssl_like(cn: &str) -> CertificateDer<'static> {
        // What `openssl req -x509 -subj /CN=...` makes: CA:TRUE, no SAN.
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        cert(params)
    }

    fn name(n: &str) -> ServerName<'static> {
        ServerName::try_from(n.to_string()).unwrap()
    }

    #[test]
    fn names_without_san_fall_back_to_the_cn() {
        let der = openssl_like("Mail.Example");
        let parsed = parse(&der).unwrap();
        assert!(check_name(&der, &parsed, &name("mail.example")).is_ok());
        assert!(check_name(&der, &parsed, &name("mail.example.")).is_ok());
        let err = check_name(&der, &parsed, &name("127.0.0.1")).unwrap_err();
        assert_eq!(
            super::super::cert::describe_error(&err),
            "certificate not trusted: for Mail.Example, not for 127.0.0.1"
        );
    }

    #[test]
    fn names_with_san_follow_the_san() {
        let der = cert(
            rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap(),
        );
        let parsed = parse(&der).unwrap();
        assert!(check_name(&der, &parsed, &name("localhost")).is_ok());
        assert!(check_name(&der, &parsed, &name("127.0.0.1")).is_ok());
        let err = check_name(&der, &parsed, &name("mail.example")).unwrap_err();
        assert_eq!(
            super::super::cert::describe_error(&err),
            "certificate not trusted: for localhost, 127.0.0.1, not for mail.example"
        );
    }

    #[test]
    fn dates_are_checked_for_listed_certificates() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        let der = cert(params);
        let parsed = parse(&der).unwrap();
        let at = |secs: u64| UnixTime::since_unix_epoch(Duration::from_secs(secs));
        assert!(check_dates(&parsed, at(1_590_000_000)).is_ok());
        let err = check_dates(&parsed, at(1_700_000_000)).unwrap_err();
        assert_eq!(
            super::super::cert::describe_error(&err),
            "certificate not trusted: expired (notAfter 2021-01-01 00:00:00 UTC)"
        );
        let err = check_dates(&parsed, at(1_500_000_000)).unwrap_err();
        assert_eq!(
            super::super::cert::describe_error(&err),
            "certificate not trusted: not valid yet (notBefore 2020-01-01 00:00:00 UTC)"
        );
    }

    #[test]
    fn self_signed_is_recognised() {
        assert!(is_self_signed(&parse(&openssl_like("x")).unwrap()));
    }

    #[test]
    fn own_reasons_read_as_words() {
        let seen = Fingerprint([0xab; 32]);
        assert_eq!(
            TrustError::PinMismatch { seen }.to_string(),
            format!(
                "does not match --pin (its SHA-256 fingerprint is {})",
                ["AB"; 32].join(":")
            )
        );
        assert_eq!(
            TrustError::SelfSigned { ca_file: true }.to_string(),
            "self-signed and not in --ca-file"
        );
        assert_eq!(
            TrustError::UnknownIssuer {
                issuer: "Corp CA".into(),
                ca_file: false
            }
            .to_string(),
            "unknown issuer 'Corp CA' (not trusted by this system: use --ca-file)"
        );
        assert_eq!(
            TrustError::WrongName {
                names: vec![],
                expected: "h".into()
            }
            .to_string(),
            "names no host, so it is not valid for h"
        );
    }
}
