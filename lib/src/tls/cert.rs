//! Facts about a server certificate and the `-D WARN[,CRIT]` days check.

use std::fmt;
use std::str::FromStr;

use x509_parser::prelude::{FromDer, X509Certificate};

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

/// A short reason for an untrusted certificate.
pub fn describe_invalid(reason: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match reason {
        E::Expired | E::ExpiredContext { .. } => "certificate expired".to_string(),
        E::NotValidYet | E::NotValidYetContext { .. } => "certificate not valid yet".to_string(),
        E::UnknownIssuer => "unknown issuer (self-signed or private CA: use --ca-file)".to_string(),
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            "certificate is not valid for this host name".to_string()
        }
        E::BadSignature => "bad signature".to_string(),
        E::UnsupportedSignatureAlgorithmContext { .. }
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "issuer signature does not verify (self-signed, or a CA that is not trusted: use --ca-file)"
                .to_string()
        }
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => {
            "certificate is not meant for TLS servers".to_string()
        }
        E::Revoked => "certificate revoked".to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
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
