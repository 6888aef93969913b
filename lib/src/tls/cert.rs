//! Facts about a server certificate and the `-D WARN[,CRIT]` days check.

use std::fmt;
use std::str::FromStr;

use x509_parser::prelude::{FromDer, X509Certificate};

use super::verify::{name_mismatch, TrustError};
use crate::clock::{format_utc, now_epoch};
use crate::result::CheckResult;
use crate::state::State;

const DAY: i64 = 86_400;

/// What a monitoring user wants to know about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// Subject common name (or the whole subject when it has none).
    pub subject: String,
    /// Issuer common name (or the whole issuer).
    pub issuer: String,
    /// notAfter, seconds since the epoch.
    pub not_after: i64,
}

impl CertFacts {
    /// Parses a DER certificate; `None` when it does not parse.
    pub fn from_der(der: &[u8]) -> Option<CertFacts> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let cn = |name: &x509_parser::x509::X509Name<'_>| {
            name.iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok().map(str::to_string))
                .unwrap_or_else(|| name.to_string())
        };
        Some(CertFacts {
            subject: cn(cert.subject()),
            issuer: cn(cert.issuer()),
            not_after: cert.validity().not_after.timestamp(),
        })
    }

    /// Whole days from `now` (epoch seconds) to notAfter; negative once expired.
    pub fn days_left_at(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(DAY)
    }

    /// Whole days left from now.
    pub fn days_left(&self) -> i64 {
        self.days_left_at(now_epoch())
    }

    /// notAfter as `2027-11-25 12:07:32 UTC`.
    pub fn not_after_text(&self) -> String {
        format_utc(self.not_after)
    }
}

/// `-D WARN[,CRIT]`: minimum days a certificate must still be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertDays {
    /// WARNING below this many days.
    pub warning: i64,
    /// CRITICAL below this many days (0 when not given, as in C).
    pub critical: i64,
}

impl FromStr for CertDays {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = |v: &str| {
            v.trim()
                .parse::<i64>()
                .ok()
                .filter(|d| *d >= 0)
                .ok_or_else(|| format!("'{v}' is not a number of days"))
        };
        let (warning, critical) = match s.split_once(',') {
            Some((w, c)) => (parse(w)?, parse(c)?),
            None => (parse(s)?, 0),
        };
        if critical > warning {
            return Err(format!(
                "critical days ({critical}) must not exceed warning days ({warning})"
            ));
        }
        Ok(CertDays { warning, critical })
    }
}

impl fmt::Display for CertDays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.warning, self.critical)
    }
}

impl CertDays {
    /// The state for `days_left`: an expired certificate is always CRITICAL.
    pub fn evaluate(&self, days_left: i64) -> State {
        if days_left < 0 || days_left < self.critical {
            State::Critical
        } else if days_left < self.warning {
            State::Warning
        } else {
            State::Ok
        }
    }
}

/// The certificate part of a check: `cert localhost 364 days left`, judged
/// by `days` when given (else OK unless expired).
pub fn certificate_check(
    facts: &CertFacts,
    days: Option<CertDays>,
    now_ts: Option<i64>,
) -> CheckResult {
    let now = now_ts.unwrap_or_else(now_epoch);
    let left = facts.days_left_at(now);
    let state = match days {
        Some(d) => d.evaluate(left),
        None if left < 0 => State::Critical,
        None => State::Ok,
    };
    let summary = if left < 0 {
        // Whole days since it expired (not days left rounded down).
        format!(
            "cert {} expired {} days ago ({})",
            facts.subject,
            (now - facts.not_after).div_euclid(DAY),
            facts.not_after_text()
        )
    } else {
        format!("cert {} {} days left", facts.subject, left)
    };
    let mut result = CheckResult::with_state(state, summary);
    result.detail(format!(
        "certificate subject '{}', issuer '{}', expires {}",
        facts.subject,
        facts.issuer,
        facts.not_after_text()
    ));
    result
}

/// A short reason, in words, why a certificate was not trusted: `expired
/// (notAfter ...)`, `unknown issuer`, ...
pub fn describe_invalid(reason: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    let utc = |t: &rustls::pki_types::UnixTime| {
        format_utc(i64::try_from(t.as_secs()).unwrap_or(i64::MAX))
    };
    match reason {
        E::BadEncoding => "malformed (it does not parse)".to_string(),
        E::Expired => "expired".to_string(),
        E::ExpiredContext { not_after, .. } => {
            format!("expired (notAfter {})", utc(not_after))
        }
        E::NotValidYet => "not valid yet".to_string(),
        E::NotValidYetContext { not_before, .. } => {
            format!("not valid yet (notBefore {})", utc(not_before))
        }
        E::Revoked => "revoked".to_string(),
        E::UnhandledCriticalExtension => {
            "it has a critical extension this plugin does not understand".to_string()
        }
        E::UnknownIssuer => "unknown issuer".to_string(),
        E::UnknownRevocationStatus => "its revocation status is unknown".to_string(),
        E::ExpiredRevocationList | E::ExpiredRevocationListContext { .. } => {
            "the revocation list has expired".to_string()
        }
        E::BadSignature => "its signature does not verify".to_string(),
        // (The deprecated unit variant falls to the words of its name, the same.)
        E::UnsupportedSignatureAlgorithmContext { .. } => {
            "signed with an unsupported signature algorithm".to_string()
        }
        // webpki's reason when a trusted CA of the issuer's name has another key type.
        E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "its signature does not fit the issuer's key (signed by another CA of the same name?)"
                .to_string()
        }
        E::NotValidForName => "not valid for this host name".to_string(),
        E::NotValidForNameContext {
            expected,
            presented,
        } => {
            let names: Vec<String> = presented.iter().map(|n| presented_name(n)).collect();
            NameMismatch(&names, &expected.to_str()).to_string()
        }
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => {
            "not meant for TLS servers (extended key usage)".to_string()
        }
        E::InvalidOcspResponse => "its OCSP response is invalid".to_string(),
        E::ApplicationVerificationFailure => "refused by a local check".to_string(),
        E::Other(other) => match other.0.downcast_ref::<TrustError>() {
            Some(ours) => ours.to_string(),
            None => webpki_reason(&other.to_string()),
        },
        other => words(&format!("{other:?}")),
    }
}

/// Any rustls error in words: `certificate not trusted: ` and the reason of
/// [`describe_invalid`], else rustls' own text (which reads as words).
pub fn describe_error(error: &rustls::Error) -> String {
    match error {
        rustls::Error::InvalidCertificate(reason) => {
            format!("certificate not trusted: {}", describe_invalid(reason))
        }
        rustls::Error::NoCertificatesPresented => "the server sent no certificate".to_string(),
        rustls::Error::AlertReceived(alert) => format!(
            "the server refused the handshake ({})",
            words(&format!("{alert:?}"))
        ),
        other => other.to_string(),
    }
}

struct NameMismatch<'a>(&'a [String], &'a str);

impl fmt::Display for NameMismatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        name_mismatch(f, self.0, self.1)
    }
}

/// webpki lists names as `DnsName("a.example")`, `IpAddress(127.0.0.1)`.
fn presented_name(raw: &str) -> String {
    for prefix in ["DnsName(", "IpAddress("] {
        if let Some(inner) = raw.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')) {
            return inner.trim_matches('"').to_string();
        }
    }
    raw.to_string()
}

/// webpki's errors reach us only as their Debug name (rustls wraps those it
/// does not map): the known ones in words, the rest split into words.
fn webpki_reason(name: &str) -> String {
    let variant = name.split(['(', ' ', '{']).next().unwrap_or(name);
    let text = match variant {
        "CaUsedAsEndEntity" => "a CA certificate (CA:TRUE) presented as the server's",
        "EndEntityUsedAsCa" => "the chain has a server certificate where a CA belongs",
        "CertDistrusted" => "distrusted",
        "PathLenConstraintViolated" => "the chain is longer than its CA allows",
        "NameConstraintViolation" => "for a name its CA may not issue for",
        "MaximumPathDepthExceeded"
        | "MaximumPathBuildCallsExceeded"
        | "MaximumSignatureChecksExceeded"
        | "MaximumNameConstraintComparisonsExceeded" => {
            "the chain is too long or too complex to verify"
        }
        "UnsupportedCertVersion" => "not X.509 version 3",
        "UnsupportedCriticalExtension" => {
            "it has a critical extension this plugin does not understand"
        }
        "SignatureAlgorithmMismatch" => "it names two different signature algorithms",
        "EmptyEkuExtension" => "its extended key usage is empty",
        "BadDer"
        | "BadDerTime"
        | "TrailingData"
        | "MalformedDnsIdentifier"
        | "MalformedExtensions"
        | "ExtensionValueInvalid"
        | "InvalidSerialNumber"
        | "InvalidCertValidity" => "malformed (it does not parse)",
        _ => return words(variant),
    };
    text.to_string()
}

/// `CaUsedAsEndEntity` → `ca used as end entity`; a Debug text's fields are dropped.
fn words(debug: &str) -> String {
    let name = debug.split(['(', ' ', '{']).next().unwrap_or(debug);
    let mut out = String::new();
    for c in name.chars() {
        if c.is_uppercase() && !out.is_empty() {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    if out.is_empty() {
        "unknown reason".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn days_option() {
        assert_eq!(
            "30,14".parse(),
            Ok(CertDays {
                warning: 30,
                critical: 14
            })
        );
        assert_eq!(
            "30".parse(),
            Ok(CertDays {
                warning: 30,
                critical: 0
            })
        );
        assert!("14,30".parse::<CertDays>().is_err());
        assert!("x".parse::<CertDays>().is_err());
        assert!("-1".parse::<CertDays>().is_err());
        let d = CertDays {
            warning: 30,
            critical: 14,
        };
        assert_eq!(d.evaluate(31), State::Ok);
        assert_eq!(d.evaluate(30), State::Ok);
        assert_eq!(d.evaluate(29), State::Warning);
        assert_eq!(d.evaluate(13), State::Critical);
        assert_eq!(
            CertDays {
                warning: 0,
                critical: 0
            }
            .evaluate(-1),
            State::Critical
        );
    }

    #[test]
    fn certificate_part() {
        let facts = CertFacts {
            subject: "localhost".into(),
            issuer: "Test CA".into(),
            not_after: 1_000 * DAY + 5,
        };
        let now = 636 * DAY;
        let r = certificate_check(&facts, Some("30,14".parse().unwrap()), Some(now));
        assert_eq!(r.state(), State::Ok);
        assert_eq!(r.summary, "cert localhost 364 days left");
        let r = certificate_check(&facts, Some("400,380".parse().unwrap()), Some(now));
        assert_eq!(r.state(), State::Critical);
        let r = certificate_check(&facts, Some("400".parse().unwrap()), Some(now));
        assert_eq!(r.state(), State::Warning);
        let r = certificate_check(&facts, None, Some(1_002 * DAY));
        assert_eq!(r.state(), State::Critical);
        // 2 days less 5 seconds: one whole day since it expired.
        assert!(
            r.summary.starts_with("cert localhost expired 1 days ago"),
            "{}",
            r.summary
        );
        let r = certificate_check(&facts, None, Some(1_003 * DAY + 10));
        assert!(
            r.summary.starts_with("cert localhost expired 3 days ago"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn every_reason_reads_as_words() {
        use rustls::pki_types::{ServerName, UnixTime};
        use rustls::{CertificateError as E, OtherError};
        let at = |s: u64| UnixTime::since_unix_epoch(std::time::Duration::from_secs(s));
        let cases: Vec<(E, &str)> = vec![
            (
                E::ExpiredContext {
                    time: at(1_800_000_000),
                    not_after: at(1_795_000_000),
                },
                "expired (notAfter 2026-11-18 11:06:40 UTC)",
            ),
            (E::Expired, "expired"),
            (
                E::NotValidYetContext {
                    time: at(0),
                    not_before: at(86_400),
                },
                "not valid yet (notBefore 1970-01-02 00:00:00 UTC)",
            ),
            (E::UnknownIssuer, "unknown issuer"),
            (E::Revoked, "revoked"),
            (E::BadSignature, "its signature does not verify"),
            (
                E::UnsupportedSignatureAlgorithmContext {
                    signature_algorithm_id: vec![],
                    supported_algorithms: vec![],
                },
                "signed with an unsupported signature algorithm",
            ),
            (
                E::NotValidForNameContext {
                    expected: ServerName::try_from("127.0.0.1").unwrap(),
                    presented: vec![
                        "DnsName(\"mail.example\")".to_string(),
                        "IpAddress(10.0.0.1)".to_string(),
                    ],
                },
                "for mail.example, 10.0.0.1, not for 127.0.0.1",
            ),
            (
                E::InvalidPurpose,
                "not meant for TLS servers (extended key usage)",
            ),
            (E::BadEncoding, "malformed (it does not parse)"),
            (
                E::Other(OtherError(Arc::new(TrustError::SelfSigned {
                    ca_file: true,
                }))),
                "self-signed and not in --ca-file",
            ),
            (
                E::Other(OtherError(Arc::new(WebpkiLike("CaUsedAsEndEntity")))),
                "a CA certificate (CA:TRUE) presented as the server's",
            ),
            (
                E::Other(OtherError(Arc::new(WebpkiLike("UnsupportedNameType")))),
                "unsupported name type",
            ),
            (
                E::Other(OtherError(Arc::new(WebpkiLike(
                    "TrailingData(Certificate)",
                )))),
                "malformed (it does not parse)",
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(describe_invalid(&reason), text, "{reason:?}");
            let error = rustls::Error::InvalidCertificate(reason);
            assert_eq!(
                describe_error(&error),
                format!("certificate not trusted: {text}")
            );
        }
        assert_eq!(
            describe_error(&rustls::Error::AlertReceived(
                rustls::AlertDescription::HandshakeFailure
            )),
            "the server refused the handshake (handshake failure)"
        );
        assert_eq!(words("CaUsedAsEndEntity"), "ca used as end entity");
        assert_eq!(words("X509 { a: 1 }"), "x509");
        assert_eq!(words(""), "unknown reason");
    }

    /// webpki's errors Display as their Debug name; this stands in for one.
    #[derive(Debug)]
    struct WebpkiLike(&'static str);

    impl fmt::Display for WebpkiLike {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for WebpkiLike {}

    #[test]
    fn parses_a_generated_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "leaf.test");
        params.not_after = rcgen::date_time_ymd(2030, 1, 2);
        let cert = params.self_signed(&key).unwrap();
        let facts = CertFacts::from_der(cert.der()).unwrap();
        assert_eq!(facts.subject, "leaf.test");
        assert_eq!(facts.not_after_text(), "2030-01-02 00:00:00 UTC");
        assert!(CertFacts::from_der(b"not a certificate").is_none());
    }
}
