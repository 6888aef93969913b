//! TLS options shared by every plugin that speaks TLS.

use std::path::PathBuf;

use clap::Args;

use super::cert::CertDays;
use super::pin::Fingerprint;
use super::TlsOptions;
use crate::error::CheckError;
use crate::net::{TlsMode, TlsRequest};
use crate::range::Range;
use crate::secret::Secret;
use crate::thresholds::Thresholds;

/// `-D`, `--verify`, `--insecure`, `--ca-file`, `--pin`, `--sni`. (How TLS is started,
/// `-S` or `--starttls`, differs per protocol and stays with each plugin.)
#[derive(Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// Minimum days the server certificate must still be valid: WARNING below
    /// WARN, CRITICAL below CRIT (default 0); the rest of the check still runs
    #[arg(short = 'D', long = "certificate", value_name = "WARN[,CRIT]")]
    pub certificate: Option<CertDays>,

    /// Verify the server certificate (chain and name) against the system's
    /// trusted CAs or --ca-file
    #[arg(long = "verify")]
    pub verify: bool,

    /// Do not verify the certificate even when sending credentials
    #[arg(long = "insecure", conflicts_with = "verify")]
    pub insecure: bool,

    /// Trust the CA certificates in this PEM file (implies --verify); a
    /// server certificate that is itself in the file is trusted too (its name
    /// and dates are still checked)
    #[arg(long = "ca-file", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Trust exactly the server certificate with this SHA-256 fingerprint
    /// (hex, colons allowed; repeatable), with no CA or name check; -D still
    /// judges its dates
    #[arg(
        long = "pin",
        value_name = "SHA256",
        conflicts_with_all = ["insecure", "ca_file"]
    )]
    pub pin: Vec<Fingerprint>,

    /// Server name to send in the TLS handshake (SNI) and to verify
    #[arg(long = "sni", value_name = "NAME")]
    pub sni: Option<String>,
}

impl TlsArgs {
    /// How a protocol with an upgrade command uses TLS: `implicit` (`-S`),
    /// `starttls`, or `-D` alone (TLS as in C: implicit on `implicit_port`,
    /// the upgrade command elsewhere).
    pub fn mode(
        &self,
        implicit: bool,
        starttls: bool,
        port: Option<u16>,
        implicit_port: u16,
    ) -> TlsMode {
        let request = TlsRequest::new(implicit, starttls, self.certificate.is_some(), port);
        TlsMode::choose(request, Some(implicit_port), true)
    }

    /// The options for a connection; `credentials` says whether a password
    /// will cross it (then verification is on unless `--insecure`).
    pub fn options(&self, credentials: bool) -> TlsOptions {
        TlsOptions {
            verify: self.verify || self.ca_file.is_some() || (credentials && !self.insecure),
            ca_file: self.ca_file.clone(),
            sni: self.sni.clone(),
            pins: self.pin.clone(),
            ..TlsOptions::default()
        }
    }
}

/// `-U/--user`, `-P/--password` and `--allow-plaintext` of the mail and file
/// protocol plugins (POP3, IMAP, FTP).
#[derive(Args, Debug, Clone, Default)]
pub struct LoginArgs {
    /// Log in as this user
    #[arg(short = 'U', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Password for --user: the text, env:VARIABLE or file:PATH (never shown in any output)
    #[arg(
        short = 'P',
        long = "password",
        value_name = "PASSWORD",
        requires = "user"
    )]
    pub password: Option<Secret>,

    /// Allow sending the password without TLS
    #[arg(long = "allow-plaintext")]
    pub allow_plaintext: bool,
}

/// `--messages-warning` and `--messages-critical` of the mailbox plugins
/// (POP3, IMAP): the message count found after the login.
#[derive(Args, Debug, Clone, Default)]
pub struct MessageCountArgs {
    /// Message count range for WARNING, counted after the login (needs --user)
    #[arg(
        id = "messages_warning",
        long = "messages-warning",
        value_name = "RANGE",
        allow_hyphen_values = true,
        requires = "user"
    )]
    pub warning: Option<Range>,

    /// Message count range for CRITICAL, counted after the login (needs --user)
    #[arg(
        id = "messages_critical",
        long = "messages-critical",
        value_name = "RANGE",
        allow_hyphen_values = true,
        requires = "user"
    )]
    pub critical: Option<Range>,
}

impl LoginArgs {
    /// The user and password to log in with, checked before connecting:
    /// both given, neither holding a character in `forbidden` (a protocol
    /// that sends them on a line forbids line breaks), and a password only
    /// over TLS unless `--allow-plaintext`. `None` without `--user`.
    pub fn credentials(
        &self,
        tls: bool,
        forbidden: &[char],
    ) -> Result<Option<(&str, &Secret)>, CheckError> {
        let (user, password) = match (&self.user, &self.password) {
            (None, _) => return Ok(None),
            (Some(_), None) => return Err(CheckError::unknown("--user needs --password")),
            (Some(user), Some(password)) => (user, password),
        };
        let names = || {
            forbidden
                .iter()
                .map(|c| match c {
                    '\r' | '\n' => "line breaks".to_string(),
                    '\0' => "NUL".to_string(),
                    c => format!("'{c}'"),
                })
                .fold(Vec::<String>::new(), |mut v, n| {
                    if !v.contains(&n) {
                        v.push(n);
                    }
                    v
                })
                .join(" or ")
        };
        if user.is_empty() || user.contains(forbidden) {
            return Err(CheckError::unknown(format!(
                "the user name must be non-empty and without {}",
                names()
            )));
        }
        if password.expose().contains(forbidden) {
            return Err(CheckError::unknown(format!(
                "the password must not contain {}",
                names()
            )));
        }
        require_tls_for_credentials(tls, self.allow_plaintext)?;
        Ok(Some((user, password)))
    }
}

impl MessageCountArgs {
    /// Whether a count was asked for.
    pub fn is_set(&self) -> bool {
        self.warning.is_some() || self.critical.is_some()
    }

    /// The pair as thresholds.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds::new(self.warning, self.critical)
    }
}

/// Refuses to send a password in clear text unless the user allowed it.
pub fn require_tls_for_credentials(tls: bool, allow_plaintext: bool) -> Result<(), CheckError> {
    if tls || allow_plaintext {
        Ok(())
    } else {
        Err(CheckError::unknown(
            "refusing to send a password without TLS (use TLS, or --allow-plaintext)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_rules() {
        let plain = TlsArgs::default();
        assert!(!plain.options(false).verify);
        assert!(plain.options(true).verify);
        let insecure = TlsArgs {
            insecure: true,
            ..TlsArgs::default()
        };
        assert!(!insecure.options(true).verify);
        let ca = TlsArgs {
            ca_file: Some("/x".into()),
            ..TlsArgs::default()
        };
        assert!(ca.options(false).verify);
        assert!(require_tls_for_credentials(false, false).is_err());
        assert!(require_tls_for_credentials(false, true).is_ok());
        assert!(require_tls_for_credentials(true, false).is_ok());
    }

    #[derive(clap::Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        tls: TlsArgs,
    }

    fn parse(args: &[&str]) -> Result<TlsArgs, clap::Error> {
        use clap::Parser;
        Cli::try_parse_from(std::iter::once("check").chain(args.iter().copied())).map(|c| c.tls)
    }

    #[test]
    fn pins_are_repeatable_and_exclusive() {
        let a = "ab".repeat(32);
        let b = ["CD"; 32].join(":");
        let tls = parse(&["--pin", &a, "--pin", &b]).unwrap();
        let options = tls.options(false);
        assert_eq!(
            options.pins,
            vec![Fingerprint([0xab; 32]), Fingerprint([0xcd; 32])]
        );
        let err = parse(&["--pin", "abc"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(
            err.to_string().contains("is not a SHA-256 fingerprint"),
            "{err}"
        );
        for other in [&["--insecure"][..], &["--ca-file", "/x"][..]] {
            let args = [&["--pin", a.as_str()][..], other].concat();
            let err = parse(&args).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        }
    }
}
