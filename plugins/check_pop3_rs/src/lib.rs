//! check_pop3_rs: a POP3 server's greeting, STLS or implicit TLS, optional
//! login (USER/PASS) with the mailbox size from STAT, and QUIT. Accepts the
//! options of C check_pop so existing command definitions keep working.
//!
//! The dialogue ([`converse`]) gathers plain [`Facts`]; [`evaluate`] judges
//! them without any I/O.

pub mod dialogue;

use clap::Parser;
use rsplugins::bytes::human;
use rsplugins::net::dialogue::{goodbye, send, send_probe, Goodbye, SHOWN};
use rsplugins::net::runtime::block_on;
use rsplugins::net::{
    count_messages, printable, Composer, Deadline, ProbeArgs, Session, SessionFacts, TlsMode,
};
use rsplugins::options::{CommonArgs, NetArgs, ThresholdArgs};
use rsplugins::secret::Secret;
use rsplugins::tls::{LoginArgs, MessageCountArgs, TlsArgs, TlsOptions};
use rsplugins::{CheckError, CheckResult, Perfdata, Uom};

use dialogue::{Failure, Maildrop, Pop3};

/// Service name on the first output line.
pub const SERVICE: &str = "POP3";

/// The upgrade command, as the summary names it.
const UPGRADE: &str = "STLS";

/// What USER and PASS cannot carry: they are sent on one line.
const FORBIDDEN: &[char] = &['\r', '\n', '\0'];

/// Check a POP3 server.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_pop3_rs",
    version,
    about = "Check a POP3 server: greeting, STLS or implicit TLS, optional login and mailbox \
             size, QUIT (drop-in for check_pop)"
)]
pub struct Args {
    #[command(flatten)]
    pub net: NetArgs,

    /// Use TLS from the start (POP3S; default port 995, else 110)
    #[arg(short = 'S', long = "ssl")]
    pub ssl: bool,

    /// Upgrade the connection with STLS after the greeting
    #[arg(long = "starttls", visible_alias = "stls", conflicts_with = "ssl")]
    pub starttls: bool,

    #[command(flatten)]
    pub tls: TlsArgs,

    #[command(flatten)]
    pub login: LoginArgs,

    #[command(flatten)]
    pub messages: MessageCountArgs,

    #[command(flatten)]
    pub probe: ProbeArgs,

    /// Response time (seconds) thresholds
    #[command(flatten)]
    pub thresholds: ThresholdArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

impl Args {
    /// How TLS is used: `-S`, `--starttls`, or `-D` alone (implicit on 995).
    pub fn tls_mode(&self) -> TlsMode {
        self.tls.mode(self.ssl, self.starttls, self.net.port, 995)
    }
}

/// What the dialogue established: plain data, judged by [`evaluate`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The greeting line.
    pub greeting: String,
    /// The answer to the `-s` string, every line of it.
    pub answer: Option<Vec<String>>,
    /// The user logged in as.
    pub user: Option<String>,
    /// What STAT reported.
    pub maildrop: Option<Maildrop>,
    /// The step that failed; the dialogue stopped there.
    pub failure: Option<Failure>,
    /// How the session ended; `None` when a failure stopped it.
    pub goodbye: Option<Goodbye>,
    /// Peer, timings, TLS and the transcript.
    pub session: SessionFacts,
}

impl Facts {
    /// Greeting and -s answer: what --expect is matched against.
    pub fn received(&self) -> String {
        let mut text = self.greeting.clone();
        for line in self.answer.iter().flatten() {
            text.push('\n');
            text.push_str(line);
        }
        text
    }

    /// The line of the -s answer the summary shows: its status line.
    pub fn answer_line(&self) -> Option<&str> {
        self.answer.as_ref()?.first().map(String::as_str)
    }
}

/// Connects, talks and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let credentials = args
        .login
        .credentials(args.tls_mode().is_tls(), FORBIDDEN)?;
    let timeout = args.common.timeout;
    let deadline = Deadline::from_timeout(&timeout);
    let tls = args.tls.options(credentials.is_some());
    match block_on(converse(&args, credentials, &tls, deadline))? {
        Ok(facts) => Ok(evaluate(&args, &facts)),
        Err(f) => Err(f.into_check_error(&timeout, args.probe.refuse, args.probe.jail)),
    }
}

/// The dialogue. Failures before a greeting arrived (connect, implicit TLS,
/// greeting) and a failed STLS handshake end it with an error; later ones
/// are kept in the facts, so the result still shows the greeting, TLS and
/// timings.
pub async fn converse(
    args: &Args,
    credentials: Option<(&str, &Secret)>,
    tls: &TlsOptions,
    deadline: Deadline,
) -> Result<Facts, Failure> {
    let mut session =
        Session::open_for(&args.net, args.tls_mode(), (110, 995), tls, deadline).await?;
    let mut facts = Facts {
        greeting: dialogue::greeting(&mut session.lines).await?,
        ..Facts::default()
    };
    let mut pop3 = Pop3::default();
    if args.tls_mode() == TlsMode::StartTls {
        if let Err(f) = dialogue::stls(&mut session.lines, &mut pop3).await {
            return Ok(stop(session, facts, f).await);
        }
        session = session.starttls(tls).await?;
    }
    match after_greeting(&mut session, &mut pop3, args, credentials, &mut facts).await {
        Ok(said) => {
            facts.goodbye = Some(said);
            facts.session = session.facts(session.started.elapsed());
            Ok(facts)
        }
        Err(f) => Ok(stop(session, facts, f).await),
    }
}

/// Ends the dialogue at `failure`; after a refusal the server still
/// listens, so QUIT is said without waiting for the answer.
async fn stop(mut session: Session, mut facts: Facts, failure: Failure) -> Facts {
    let elapsed = session.started.elapsed();
    if matches!(failure, Failure::Rejected { .. }) {
        let _ = send(&mut session.lines, "QUIT\r\n", "QUIT").await;
    }
    session.lines.shutdown().await;
    facts.failure = Some(failure);
    facts.session = session.facts(elapsed);
    facts
}

/// The -s string, USER, PASS and STAT, then QUIT (or -q).
async fn after_greeting(
    session: &mut Session,
    pop3: &mut Pop3,
    args: &Args,
    credentials: Option<(&str, &Secret)>,
    facts: &mut Facts,
) -> Result<Goodbye, Failure> {
    let deadline = *session.deadline();
    let lines = &mut session.lines;
    facts.answer = send_probe(lines, pop3, &args.probe, &deadline).await?;
    pop3.skip_strays = facts.answer.is_some();
    if let Some((user, password)) = credentials {
        dialogue::login(lines, pop3, user, password.expose()).await?;
        facts.user = Some(user.to_string());
        facts.maildrop = Some(dialogue::stat(lines, pop3).await?);
    }
    Ok(goodbye(lines, pop3, &args.probe, "QUIT", facts.answer.is_some()).await)
}

/// The result: failures and mismatches first, then the greeting (the
/// address with -j), TLS, certificate and time, then the `-s` answer, the
/// login and the mailbox; with -v the transcript.
pub fn evaluate(args: &Args, facts: &Facts) -> CheckResult {
    let shown = if args.probe.jail {
        facts.session.target.clone()
    } else {
        printable(facts.greeting.as_bytes(), SHOWN)
    };
    let common = facts.session.common_parts(
        &shown,
        UPGRADE,
        &args.thresholds.thresholds(),
        args.tls.certificate,
    );
    let mut c = Composer::new(common, &args.probe, args.common.timeout);
    c.failure(facts.failure.as_ref());
    c.expectation(&facts.received());
    c.answer(facts.answer_line());
    if let Some(user) = &facts.user {
        c.note(format!("logged in as {user}"));
    }
    if let Some(m) = &facts.maildrop {
        let text = format!("{} ({})", count_messages(m.messages), human(m.octets));
        c.messages(m.messages, &args.messages.thresholds(), text);
        c.perf(Perfdata::new("size", m.octets as f64, Uom::Bytes).min(0.0));
    }
    if let Some(g) = &facts.goodbye {
        c.goodbye(g);
    }
    c.finish(&facts.session.transcript.lines(), args.common.verbosity())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::clock::now_epoch;
    use rsplugins::net::{NetError, Transcript};
    use rsplugins::tls::{CertFacts, TlsFacts, TlsSummary};
    use rsplugins::State;
    use std::time::Duration;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["check_pop3_rs", "-H", "127.0.0.1"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    /// A session of 4 ms (1 ms connect) to 127.0.0.1 port 110.
    fn session(tls: Option<TlsSummary>) -> SessionFacts {
        SessionFacts {
            host: "127.0.0.1".into(),
            target: "127.0.0.1 port 110".into(),
            connect_time: Duration::from_millis(1),
            elapsed: Duration::from_millis(4),
            tls,
            transcript: Transcript::default(),
        }
    }

    /// TLSv1.3 (after STLS when `upgraded`) with a certificate for localhost.
    fn tls(days_left: i64, upgraded: bool) -> TlsSummary {
        TlsSummary {
            facts: TlsFacts {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_256_GCM_SHA384".into(),
                cert: Some(CertFacts {
                    subject: "localhost".into(),
                    issuer: "rsplugins test CA".into(),
                    // An hour further from now than whole days, either way.
                    not_after: now_epoch() + days_left * 86_400 + days_left.signum() * 3600,
                }),
                verified: true,
                alpn: None,
            },
            handshake_time: Duration::from_millis(2),
            upgraded,
        }
    }

    fn facts() -> Facts {
        Facts {
            greeting: "+OK ready.".to_string(),
            goodbye: Some(Goodbye::Said("+OK Logging out.".into())),
            session: session(None),
            ..Facts::default()
        }
    }

    /// State, first line and perfdata as printed.
    fn judge(args: &Args, facts: &Facts) -> (State, String, Vec<String>) {
        let r = evaluate(args, facts);
        let perf = r.all_perfdata().iter().map(|p| p.to_string()).collect();
        (r.state(), r.summary, perf)
    }

    const TIMING: [&str; 2] = ["time=0.004s;;;0", "connect_time=0.001s;;;0"];

    #[test]
    fn options_like_c() {
        let line = "-p 110 -e +OK -e Dovecot -A -s CAPA -q QUIT\\r\\n -E -r ok -M crit -m 100 \
                    -d 1 -j -S -D 30,14 --sni mail -w 1 -c 2 -t 5 -4 -v";
        let a = args(&line.split_whitespace().collect::<Vec<_>>());
        assert_eq!(a.probe.expect.len(), 2);
        assert_eq!(a.probe.refuse, State::Ok);
        assert_eq!(a.probe.mismatch, State::Critical);
        assert!(a.ssl && a.probe.jail && a.probe.all && a.probe.escape);
        assert_eq!(a.probe.delay, Some(1.0));
        assert_eq!(a.probe.maxbytes, Some(100));
    }

    #[test]
    fn option_rules() {
        let bad = |extra: &[&str]| {
            let mut argv = vec!["check_pop3_rs", "-H", "x"];
            argv.extend_from_slice(extra);
            Args::try_parse_from(argv).is_err()
        };
        assert!(bad(&["--starttls", "-S"]));
        assert!(bad(&["--messages-warning", "5"]));
        assert!(bad(&["-P", "pw"]));
        assert!(bad(&["-d", "-1"]));
        assert!(bad(&["--verify", "--insecure"]));
        assert!(Args::try_parse_from(["check_pop3_rs"]).is_err());
        let a = args(&["-U", "u", "-P", "pw", "--messages-critical", "@1:"]);
        assert!(a.messages.critical.unwrap().inside);
    }

    #[test]
    fn credentials_need_tls_and_a_password() {
        let credentials = |extra: &[&str]| {
            let a = args(extra);
            a.login
                .credentials(a.tls_mode().is_tls(), FORBIDDEN)
                .map(|c| c.map(|(user, _)| user.to_string()))
        };
        let e = credentials(&["-U", "u"]).unwrap_err();
        assert_eq!(e.state, State::Unknown);
        let e = credentials(&["-U", "u", "-P", "pw-unit-1"]).unwrap_err();
        assert_eq!(e.state, State::Unknown);
        assert!(e.message.contains("without TLS"), "{}", e.message);
        assert!(credentials(&["-U", "u", "-P", "pw-unit-1", "--allow-plaintext"]).is_ok());
        assert!(credentials(&["-U", "u", "-P", "pw-unit-1", "--starttls"]).is_ok());
        assert!(credentials(&["-U", "u", "-P", "pw-unit-1", "-D", "30"]).is_ok());
        assert_eq!(
            credentials(&["-U", "u", "-P", "pw-unit-1", "-S"]).unwrap(),
            Some("u".to_string())
        );
        // USER and PASS travel on one line each.
        let e = credentials(&["-U", "u\r\nDELE 1", "-P", "x", "-S"]).unwrap_err();
        assert_eq!(e.state, State::Unknown);
        assert_eq!(
            e.message,
            "the user name must be non-empty and without line breaks or NUL"
        );
        let e = credentials(&["-U", "u", "-P", "x\0y", "-S"]).unwrap_err();
        assert_eq!(
            e.message,
            "the password must not contain line breaks or NUL"
        );
        assert_eq!(credentials(&[]).unwrap(), None);
    }

    #[test]
    fn greeting_and_time() {
        let (state, line, perf) = judge(&args(&[]), &facts());
        assert_eq!(state, State::Ok);
        assert_eq!(line, "+OK ready., 0.004 s");
        assert_eq!(perf, TIMING);
        // A slow answer comes first.
        let (state, line, perf) = judge(&args(&["-w", "0.001", "-c", "0.002"]), &facts());
        assert_eq!(state, State::Critical);
        assert_eq!(line, "0.004 s, +OK ready.");
        assert_eq!(perf[0], "time=0.004s;0.001;0.002;0");
    }

    #[test]
    fn tls_and_certificate() {
        let mut f = facts();
        f.session = session(Some(tls(100, true)));
        let (state, line, perf) = judge(&args(&["--starttls"]), &f);
        assert_eq!(state, State::Ok);
        assert_eq!(
            line,
            "+OK ready., STLS TLSv1.3, cert localhost 100 days left, 0.004 s"
        );
        assert_eq!(perf, [TIMING[0], TIMING[1], "tls_time=0.002s;;;0"]);
        // -D judges the days; the certificate then comes first.
        f.session = session(Some(tls(20, false)));
        let (state, line, _) = judge(&args(&["-S", "-D", "30,14"]), &f);
        assert_eq!(state, State::Warning);
        assert_eq!(
            line,
            "cert localhost 20 days left, +OK ready., TLSv1.3, 0.004 s"
        );
        // Without -D only an expired certificate counts.
        let (state, _, _) = judge(&args(&["-S"]), &f);
        assert_eq!(state, State::Ok);
        let expired = tls(-3, false);
        let until = expired.facts.cert.as_ref().map(|c| c.not_after_text());
        f.session = session(Some(expired));
        let (state, line, _) = judge(&args(&["-S"]), &f);
        assert_eq!(state, State::Critical);
        assert_eq!(
            line,
            format!(
                "cert localhost expired 3 days ago ({}), +OK ready., TLSv1.3, 0.004 s",
                until.unwrap_or_default()
            )
        );
    }

    #[test]
    fn login_and_mailbox_are_reported_and_judged() {
        let a = args(&[
            "-U",
            "monitor",
            "-P",
            "pw-unit-2",
            "-S",
            "--messages-warning",
            "2",
            "--messages-critical",
            "10",
        ]);
        let mut f = facts();
        f.user = Some("monitor".into());
        f.maildrop = Some(Maildrop {
            messages: 3,
            octets: 2048,
        });
        let (state, line, perf) = judge(&a, &f);
        assert_eq!(state, State::Warning);
        assert_eq!(
            line,
            "3 messages (2.0 KiB), +OK ready., 0.004 s, logged in as monitor"
        );
        assert_eq!(
            perf,
            [TIMING[0], TIMING[1], "messages=3;2;10;0", "size=2048B;;;0"]
        );
        f.maildrop = Some(Maildrop {
            messages: 1,
            octets: 10,
        });
        let (state, line, _) = judge(&a, &f);
        assert_eq!(state, State::Ok);
        assert_eq!(
            line,
            "+OK ready., 0.004 s, logged in as monitor, 1 message (10 B)"
        );
    }

    #[test]
    fn failures_come_first_and_set_the_state() {
        let a = args(&["-t", "4:unknown"]);
        let mut f = facts();
        f.goodbye = None;
        f.failure = Some(Failure::Rejected {
            step: "PASS".into(),
            verb: "rejected",
            reply: "-ERR [AUTH] Authentication failed.".into(),
        });
        let (state, line, perf) = judge(&a, &f);
        assert_eq!(state, State::Critical);
        assert_eq!(
            line,
            "PASS rejected: -ERR [AUTH] Authentication failed., +OK ready., 0.004 s"
        );
        assert_eq!(perf, TIMING);
        f.failure = Some(Failure::net(
            NetError::timeout("waiting for the reply to STAT", Duration::from_secs(4)),
            "waiting for the reply to STAT",
        ));
        let (state, line, _) = judge(&a, &f);
        assert_eq!(state, State::Unknown);
        assert_eq!(
            line,
            "timed out after 4 seconds waiting for the reply to STAT, +OK ready., 0.004 s"
        );
    }

    #[test]
    fn quit_problems_warn() {
        let mut f = facts();
        f.goodbye = Some(Goodbye::Failed(Failure::Rejected {
            step: "QUIT".into(),
            verb: "rejected",
            reply: "-ERR no".into(),
        }));
        let (state, line, _) = judge(&args(&[]), &f);
        assert_eq!(state, State::Warning);
        assert_eq!(line, "QUIT rejected: -ERR no, +OK ready., 0.004 s");
        // Silence at QUIT takes the -t state.
        f.goodbye = Some(Goodbye::Failed(Failure::net(
            NetError::timeout("waiting for the reply to QUIT", Duration::from_secs(3)),
            "waiting for the reply to QUIT",
        )));
        let (state, _, _) = judge(&args(&["-t", "3:unknown"]), &f);
        assert_eq!(state, State::Unknown);
        // Sent by -q, or not needed after -s QUIT: nothing to say.
        for g in [Goodbye::Sent, Goodbye::NotNeeded] {
            f.goodbye = Some(g);
            assert_eq!(judge(&args(&[]), &f).1, "+OK ready., 0.004 s");
        }
    }

    #[test]
    fn expect_strings_and_jail() {
        let a = args(&["-e", "Dovecot"]);
        let (state, line, _) = judge(&a, &facts());
        assert_eq!(state, State::Warning);
        assert_eq!(
            line,
            "unexpected response: 'Dovecot' not found, +OK ready., 0.004 s"
        );
        let a = args(&["-e", "Dovecot", "-e", "ready", "-M", "crit"]);
        assert_eq!(judge(&a, &facts()).0, State::Ok);
        let a = args(&["-e", "Dovecot", "-e", "ready", "-A", "-M", "crit"]);
        let (state, line, _) = judge(&a, &facts());
        assert_eq!(state, State::Critical);
        assert!(
            line.starts_with("unexpected response: not all of"),
            "{line}"
        );
        // The answer to -s counts for --expect, and is shown unless -j.
        let a = args(&["-s", "CAPA", "-e", "SASL"]);
        let mut f = facts();
        f.answer = Some(vec!["+OK".into(), "SASL PLAIN".into()]);
        let (state, line, _) = judge(&a, &f);
        assert_eq!(state, State::Ok);
        assert_eq!(line, "+OK ready., 0.004 s, answer '+OK'");
        // -j: the address instead of the greeting, no answer.
        let a = args(&["-s", "CAPA", "-j"]);
        assert_eq!(judge(&a, &f).1, "127.0.0.1 port 110, 0.004 s");
    }

    #[test]
    fn the_transcript_only_with_verbose() {
        let mut f = facts();
        f.session.transcript.sent("USER monitor\r\n");
        f.session.transcript.received("+OK");
        f.session.transcript.sent("QUIT\r\n");
        f.session.transcript.received("+OK Logging out.");
        assert!(evaluate(&args(&[]), &f).details.is_empty());
        assert_eq!(
            evaluate(&args(&["-v"]), &f).details,
            ["> USER monitor", "< +OK", "> QUIT", "< +OK Logging out."]
        );
        assert!(evaluate(&args(&["-v", "-j"]), &f).details.is_empty());
    }
}
