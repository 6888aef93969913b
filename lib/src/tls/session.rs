//! TLS on a [`Session`]: implicit from the start or after the protocol's
//! upgrade reply, and the TLS and certificate parts of the result, judged
//! from the session's facts.

use std::time::{Duration, Instant};

use super::cert::{certificate_check, CertDays};
use super::{handshake, TlsFacts, TlsOptions};
use crate::net::{
    AddressFamily, Deadline, Limits, LineStream, NetError, Session, SessionFacts, Stream, TlsMode,
};
use crate::options::NetArgs;
use crate::result::CheckResult;
use crate::state::State;
use crate::thresholds::Thresholds;

/// How TLS came about on a session.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsSummary {
    /// What the handshake established.
    pub facts: TlsFacts,
    /// How long the handshake took.
    pub handshake_time: Duration,
    /// True after an in-protocol upgrade (STARTTLS, STLS, AUTH TLS).
    pub upgraded: bool,
}

impl Session {
    /// Opens the connection of a protocol check from its `-H`, `-p`, `-4`/`-6`
    /// and TLS mode: without `-p`, the protocol's implicit-TLS port under
    /// implicit TLS, else its plain port.
    pub async fn open_for(
        net: &NetArgs,
        mode: TlsMode,
        (plain_port, implicit_port): (u16, u16),
        tls: &TlsOptions,
        deadline: Deadline,
    ) -> Result<Session, NetError> {
        let implicit = mode == TlsMode::Implicit;
        let port = net
            .port
            .unwrap_or(if implicit { implicit_port } else { plain_port });
        let family = AddressFamily::from_flags(net.use_ipv4, net.use_ipv6);
        let tls = implicit.then_some(tls);
        Session::open(
            &net.hostname,
            port,
            family,
            tls,
            Limits::default(),
            deadline,
        )
        .await
    }

    /// Connects, and with `implicit_tls` performs the handshake at once.
    pub async fn open(
        host: &str,
        port: u16,
        family: AddressFamily,
        implicit_tls: Option<&TlsOptions>,
        limits: Limits,
        deadline: Deadline,
    ) -> Result<Session, NetError> {
        let session = Session::connect(host, port, family, limits, deadline).await?;
        match implicit_tls {
            Some(options) => session.upgrade(options, false).await,
            None => Ok(session),
        }
    }

    /// Starts TLS on the connection after the protocol's upgrade reply.
    pub async fn starttls(self, options: &TlsOptions) -> Result<Session, NetError> {
        self.upgrade(options, true).await
    }

    async fn upgrade(self, options: &TlsOptions, upgraded: bool) -> Result<Session, NetError> {
        let (stream, mut transcript) = self.lines.into_parts()?;
        let tcp = match stream {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(_) => {
                return Err(NetError::Tls {
                    reason: "TLS is already established".to_string(),
                })
            }
        };
        let begun = Instant::now();
        let (tls, facts) = handshake(tcp, &self.host, options, &self.deadline).await?;
        transcript.note(&format!("({} established)", facts.version));
        Ok(Session {
            lines: LineStream::resume(
                Stream::Tls(Box::new(tls)),
                self.limits,
                self.deadline,
                transcript,
            ),
            tls: Some(TlsSummary {
                facts,
                handshake_time: begun.elapsed(),
                upgraded,
            }),
            ..self
        })
    }
}

impl SessionFacts {
    /// `STARTTLS TLSv1.3` or `TLSv1.3` (implicit), or `None` without TLS.
    pub fn tls_text(&self, upgrade_name: &str) -> Option<String> {
        self.tls.as_ref().map(|t| {
            if t.upgraded {
                format!("{upgrade_name} {}", t.facts.version)
            } else {
                t.facts.version.clone()
            }
        })
    }

    /// The certificate part, the one certificate rule of every plugin: with
    /// `-D` judged by it; without, only an expired certificate counts
    /// (CRITICAL), one about to expire is just mentioned. `None` without a
    /// certificate.
    pub fn certificate_part(&self, days: Option<CertDays>) -> Option<CheckResult> {
        let facts = self.tls.as_ref()?.facts.cert.as_ref()?;
        let mut cert = certificate_check(facts, days, None);
        if days.is_none() && cert.state() != State::Critical {
            cert.set_state(State::Ok);
        }
        Some(cert)
    }

    /// The parts every protocol check starts with: the greeting as shown
    /// (left out when empty), the TLS version, the certificate, and the
    /// response time (judged by `thresholds`, with the timing perfdata).
    /// `upgrade_name` is how the protocol calls its in-band upgrade
    /// (STARTTLS, STLS, AUTH TLS). The plugin adds its own parts and folds
    /// them with [`CheckResult::of_parts`].
    pub fn common_parts(
        &self,
        greeting: &str,
        upgrade_name: &str,
        thresholds: &Thresholds,
        cert_days: Option<CertDays>,
    ) -> Vec<CheckResult> {
        let greeting = CheckResult::with_state(State::Ok, greeting);
        self.common_parts_judged(greeting, upgrade_name, thresholds, cert_days)
    }

    /// As [`SessionFacts::common_parts`], with a greeting the protocol
    /// judged itself (FTP: its code and the `-e` strings).
    pub fn common_parts_judged(
        &self,
        greeting: CheckResult,
        upgrade_name: &str,
        thresholds: &Thresholds,
        cert_days: Option<CertDays>,
    ) -> Vec<CheckResult> {
        let mut parts = vec![greeting];
        if let Some(tls) = self.tls_text(upgrade_name) {
            parts.push(CheckResult::with_state(State::Ok, tls));
        }
        if let Some(cert) = self.certificate_part(cert_days) {
            parts.push(cert);
        }
        parts.push(self.time_part(thresholds));
        parts
    }

    /// The response time, `0.004 s`, judged by `thresholds`, with the timing perfdata.
    pub fn time_part(&self, thresholds: &Thresholds) -> CheckResult {
        let seconds = self.elapsed.as_secs_f64();
        let mut time =
            CheckResult::with_state(thresholds.evaluate(seconds), format!("{seconds:.3} s"));
        for p in self.timing_perfdata(thresholds) {
            time.perf(p);
        }
        time
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::CertFacts;

    fn facts(days_left: i64, upgraded: bool) -> SessionFacts {
        let now = crate::clock::now_epoch();
        SessionFacts {
            host: "localhost".into(),
            target: "127.0.0.1 port 110".into(),
            connect_time: Duration::from_millis(1),
            elapsed: Duration::from_millis(4),
            tls: Some(TlsSummary {
                facts: TlsFacts {
                    version: "TLSv1.3".into(),
                    cipher: "TLS13_AES_256_GCM_SHA384".into(),
                    cert: Some(CertFacts {
                        subject: "localhost".into(),
                        issuer: "rsplugins test CA".into(),
                        not_after: now + days_left * 86_400 + 3600,
                    }),
                    verified: true,
                    alpn: None,
                },
                handshake_time: Duration::from_millis(2),
                upgraded,
            }),
            ..SessionFacts::default()
        }
    }

    fn line(parts: Vec<CheckResult>) -> (State, String) {
        let r = CheckResult::of_parts(parts);
        (r.state(), r.summary)
    }

    #[test]
    fn common_parts_greeting_tls_certificate_time() {
        let f = facts(100, true);
        let t = Thresholds::new(None, None);
        let (state, summary) = line(f.common_parts("+OK ready", "STLS", &t, None));
        assert_eq!(state, State::Ok);
        assert!(
            summary.starts_with("+OK ready, STLS TLSv1.3, "),
            "{summary}"
        );
        assert!(summary.ends_with(", 0.004 s"), "{summary}");
        let perf: Vec<String> = CheckResult::of_parts(f.common_parts("", "STLS", &t, None))
            .all_perfdata()
            .iter()
            .map(|p| p.label.clone())
            .collect();
        assert_eq!(perf, ["time", "connect_time", "tls_time"]);
    }

    #[test]
    fn one_certificate_rule() {
        let t = Thresholds::new(None, None);
        // Close to expiry: mentioned, not judged, without -D.
        let (state, _) = line(facts(3, false).common_parts("x", "STLS", &t, None));
        assert_eq!(state, State::Ok);
        let days: CertDays = "30,14".parse().unwrap();
        let (state, summary) = line(facts(3, false).common_parts("x", "STLS", &t, Some(days)));
        assert_eq!(state, State::Critical);
        assert!(summary.starts_with("cert"), "problems first: {summary}");
        // Expired: CRITICAL even without -D.
        let (state, _) = line(facts(-2, false).common_parts("x", "STLS", &t, None));
        assert_eq!(state, State::Critical);
    }

    #[test]
    fn slow_time_is_judged_and_comes_first() {
        let t = Thresholds::new(Some("0.001".parse().unwrap()), None);
        let (state, summary) = line(facts(100, false).common_parts("+OK", "STLS", &t, None));
        assert_eq!(state, State::Warning);
        assert!(summary.starts_with("0.004 s, +OK, TLSv1.3"), "{summary}");
    }
}
