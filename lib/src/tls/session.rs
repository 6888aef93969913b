//! A protocol session: connection, optional TLS (implicit or STARTTLS), the
//! line dialogue on top, and the timings and TLS facts every plugin reports.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::cert::{certificate_check, CertDays};
use super::{handshake, TlsFacts, TlsOptions};
use crate::net::{connect, AddressFamily, Deadline, Limits, LineStream, NetError, Stream, TlsMode};
use crate::options::NetArgs;
use crate::perfdata::Perfdata;
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

/// An open protocol session.
pub struct Session {
    /// The dialogue.
    pub lines: LineStream<Stream>,
    /// The address connected to.
    pub addr: SocketAddr,
    /// The host as given (for SNI and messages).
    pub host: String,
    /// When the check started (before name resolution).
    pub started: Instant,
    /// Resolution plus TCP connect.
    pub connect_time: Duration,
    /// TLS, once established.
    pub tls: Option<TlsSummary>,
    deadline: Deadline,
    limits: Limits,
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
        let started = Instant::now();
        let connected = connect(host, port, family, &deadline).await?;
        let mut session = Session {
            lines: LineStream::new(Stream::Plain(connected.stream), limits, deadline),
            addr: connected.addr,
            host: host.to_string(),
            started,
            connect_time: connected.connect_time,
            tls: None,
            deadline,
            limits,
        };
        if let Some(options) = implicit_tls {
            session = session.upgrade(options, false).await?;
        }
        Ok(session)
    }

    /// Starts TLS on the connection after the protocol's upgrade reply.
    pub async fn starttls(self, options: &TlsOptions) -> Result<Session, NetError> {
        self.upgrade(options, true).await
    }

    async fn upgrade(self, options: &TlsOptions, upgraded: bool) -> Result<Session, NetError> {
        let tcp = match self.lines.into_inner()? {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(_) => {
                return Err(NetError::Tls {
                    reason: "TLS is already established".to_string(),
                })
            }
        };
        let begun = Instant::now();
        let (tls, facts) = handshake(tcp, &self.host, options, &self.deadline).await?;
        Ok(Session {
            lines: LineStream::new(Stream::Tls(Box::new(tls)), self.limits, self.deadline),
            tls: Some(TlsSummary {
                facts,
                handshake_time: begun.elapsed(),
                upgraded,
            }),
            ..self
        })
    }

    /// The deadline of the session.
    pub fn deadline(&self) -> &Deadline {
        &self.deadline
    }

    /// "127.0.0.1 port 25".
    pub fn target(&self) -> String {
        crate::net::connect::describe(&self.addr)
    }

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

    /// The certificate part: judged by `-D` when given; without `-D` only
    /// reported when the certificate has expired (CRITICAL) or in details.
    pub fn certificate_check(&self, days: Option<CertDays>) -> Option<CheckResult> {
        let facts = self.tls.as_ref()?.facts.cert.as_ref()?;
        Some(certificate_check(facts, days, None))
    }

    /// The certificate part and the state it adds to the check, the one
    /// certificate rule of every plugin: with `-D` its own state; without,
    /// only an expired certificate counts (CRITICAL), one about to expire is
    /// just mentioned.
    pub fn judged_certificate(&self, days: Option<CertDays>) -> Option<(CheckResult, State)> {
        let cert = self.certificate_check(days)?;
        let state = if days.is_some() || cert.state() == State::Critical {
            cert.state()
        } else {
            State::Ok
        };
        Some((cert, state))
    }

    /// `time` (total, judged by `thresholds`), `connect_time` and, with TLS, `tls_time`.
    pub fn timing_perfdata(&self, total: Duration, thresholds: &Thresholds) -> Vec<Perfdata> {
        let mut points = vec![
            Perfdata::seconds("time", total).thresholds(thresholds),
            Perfdata::seconds("connect_time", self.connect_time),
        ];
        if let Some(tls) = &self.tls {
            points.push(Perfdata::seconds("tls_time", tls.handshake_time));
        }
        points
    }
}

impl Session {
    /// The common result of a protocol check: summary `<greeting>, STARTTLS
    /// TLSv1.3, cert localhost 364 days left, 0.004 s`, state from the
    /// response-time thresholds and (with `-D`) the certificate, timing
    /// perfdata. The plugin adds its own steps as subchecks or details.
    ///
    /// `upgrade_name` is how the protocol calls its in-band upgrade (STARTTLS,
    /// STLS, AUTH TLS).
    pub fn result(
        &self,
        greeting: &str,
        upgrade_name: &str,
        elapsed: Duration,
        thresholds: &Thresholds,
        cert_days: Option<CertDays>,
    ) -> CheckResult {
        self.result_with_notes(greeting, upgrade_name, &[], elapsed, thresholds, cert_days)
    }

    /// As [`Session::result`], with `notes` ("logged in as ftpmon") before the time.
    pub fn result_with_notes(
        &self,
        greeting: &str,
        upgrade_name: &str,
        notes: &[String],
        elapsed: Duration,
        thresholds: &Thresholds,
        cert_days: Option<CertDays>,
    ) -> CheckResult {
        // An empty greeting: the caller already shows it (in a problem's text).
        let mut parts: Vec<String> = Some(greeting.to_string())
            .filter(|g| !g.is_empty())
            .into_iter()
            .collect();
        if let Some(tls) = self.tls_text(upgrade_name) {
            parts.push(tls);
        }
        let mut state = thresholds.evaluate(elapsed.as_secs_f64());
        let mut details = Vec::new();
        if let Some((cert, cert_state)) = self.judged_certificate(cert_days) {
            state = state.worst(cert_state);
            parts.push(cert.summary.clone());
            details.extend(cert.details);
        }
        parts.extend(notes.iter().cloned());
        parts.push(format!("{:.3} s", elapsed.as_secs_f64()));
        let mut result = CheckResult::with_state(state, parts.join(", "));
        result.details = details;
        for p in self.timing_perfdata(elapsed, thresholds) {
            result.perf(p);
        }
        result
    }
}
