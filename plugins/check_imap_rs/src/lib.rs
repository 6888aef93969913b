//! check_imap_rs: an IMAP server's greeting and CAPABILITY, STARTTLS or
//! implicit TLS, optional LOGIN with the message count of a mailbox
//! (EXAMINE), and LOGOUT. Accepts the options of C check_imap so existing
//! command definitions keep working.
//!
//! The dialogue ([`converse`]) gathers plain [`Facts`]; [`evaluate`] judges
//! them without any I/O.

pub mod dialogue;
pub mod quote;

use clap::Parser;
use rsplugins::net::dialogue::{send, send_probe, Goodbye, Protocol, SHOWN};
use rsplugins::net::runtime::block_on;
use rsplugins::net::{
    count_messages, printable, Composer, Deadline, ProbeArgs, Session, SessionFacts, TlsMode,
};
use rsplugins::options::{CommonArgs, NetArgs, ThresholdArgs};
use rsplugins::secret::Secret;
use rsplugins::tls::{LoginArgs, MessageCountArgs, TlsArgs, TlsOptions};
use rsplugins::{CheckError, CheckResult};

use dialogue::{Failure, Imap};

/// Service name on the first output line.
pub const SERVICE: &str = "IMAP";

/// The upgrade command, as the summary names it.
const UPGRADE: &str = "STARTTLS";

/// The mailbox counted when thresholds are given without --mailbox.
const DEFAULT_MAILBOX: &str = "INBOX";

/// Check an IMAP server.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_imap_rs",
    version,
    about = "Check an IMAP server: greeting, CAPABILITY, STARTTLS or implicit TLS, optional \
             login and mailbox message count, LOGOUT (drop-in for check_imap)"
)]
pub struct Args {
    #[command(flatten)]
    pub net: NetArgs,

    /// Use TLS from the start (IMAPS; default port 993, else 143)
    #[arg(short = 'S', long = "ssl")]
    pub ssl: bool,

    /// Upgrade the connection with STARTTLS after the greeting
    #[arg(long = "starttls", conflicts_with = "ssl")]
    pub starttls: bool,

    #[command(flatten)]
    pub tls: TlsArgs,

    #[command(flatten)]
    pub login: LoginArgs,

    /// Mailbox whose messages are counted after the login (EXAMINE,
    /// read-only); default INBOX when message thresholds are given
    #[arg(long = "mailbox", value_name = "NAME", requires = "user")]
    pub mailbox: Option<String>,

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
    /// How TLS is used: `-S`, `--starttls`, or `-D` alone (implicit on 993).
    pub fn tls_mode(&self) -> TlsMode {
        self.tls.mode(self.ssl, self.starttls, self.net.port, 993)
    }
}

impl Args {
    /// The mailbox to count: --mailbox, else INBOX when thresholds are given.
    pub fn mailbox(&self) -> Option<&str> {
        match &self.mailbox {
            Some(m) => Some(m.as_str()),
            None if self.messages.is_set() => Some(DEFAULT_MAILBOX),
            None => None,
        }
    }
}

/// What the dialogue established: plain data, judged by [`evaluate`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The greeting line.
    pub greeting: String,
    /// The greeting was `* PREAUTH`.
    pub preauth: bool,
    /// The capabilities (after STARTTLS, those announced over TLS).
    pub capabilities: Vec<String>,
    /// The answer to the `-s` string, every line of it.
    pub answer: Option<Vec<String>>,
    /// The user logged in as.
    pub user: Option<String>,
    /// The mailbox counted and its number of messages.
    pub mailbox: Option<(String, u64)>,
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
        let answer = self.answer.iter().flatten().map(String::as_str);
        std::iter::once(self.greeting.as_str())
            .chain(answer)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The line of the -s answer the summary shows: the tagged completion.
    pub fn answer_line(&self) -> Option<&str> {
        self.answer.as_ref()?.last().map(String::as_str)
    }
}

/// Checks the options that need no connection: a mailbox name, and the
/// credentials (quoted strings and literals carry anything but NUL).
fn credentials(args: &Args) -> Result<Option<(&str, &Secret)>, CheckError> {
    if args.mailbox.as_deref() == Some("") {
        return Err(CheckError::unknown("--mailbox must not be empty"));
    }
    args.login.credentials(args.tls_mode().is_tls(), &['\0'])
}

/// Connects, talks and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let credentials = credentials(&args)?;
    let timeout = args.common.timeout;
    let tls = args.tls.options(credentials.is_some());
    let facts = block_on(converse(
        &args,
        credentials,
        &tls,
        Deadline::from_timeout(&timeout),
    ))?;
    facts
        .map(|f| evaluate(&args, &f))
        .map_err(|f| f.into_check_error(&timeout, args.probe.refuse, args.probe.jail))
}

/// The dialogue. Failures before a greeting arrived (connect, implicit TLS,
/// greeting) and a failed STARTTLS handshake end it with an error; later
/// ones are kept in the facts, so the result still shows the greeting, TLS
/// and timings.
pub async fn converse(
    args: &Args,
    credentials: Option<(&str, &Secret)>,
    tls: &TlsOptions,
    deadline: Deadline,
) -> Result<Facts, Failure> {
    let mut session =
        Session::open_for(&args.net, args.tls_mode(), (143, 993), tls, deadline).await?;
    let greeting = dialogue::greeting(&mut session.lines).await?;
    let mut facts = Facts {
        greeting: greeting.line,
        preauth: greeting.preauth,
        ..Facts::default()
    };
    let mut imap = Imap::default();
    if let Err(f) = before_tls(&mut session, &mut imap, args, &mut facts).await {
        return Ok(stop(session, &mut imap, facts, f).await);
    }
    if args.tls_mode() == TlsMode::StartTls {
        session = session.starttls(tls).await?;
    }
    match after_tls(&mut session, &mut imap, args, credentials, &mut facts).await {
        Err(f) => Ok(stop(session, &mut imap, facts, f).await),
        Ok(said) => Ok(Facts {
            goodbye: Some(said),
            session: session.facts(session.started.elapsed()),
            ..facts
        }),
    }
}

/// Ends the dialogue at `failure`; after a refusal the server still
/// listens, so LOGOUT is said without waiting for the answer.
async fn stop(mut session: Session, imap: &mut Imap, facts: Facts, failure: Failure) -> Facts {
    let elapsed = session.started.elapsed();
    if matches!(failure, Failure::Rejected { .. } | Failure::Protocol { .. }) {
        let logout = format!("{}\r\n", imap.frame("LOGOUT"));
        let _ = send(&mut session.lines, &logout, "LOGOUT").await;
    }
    session.lines.shutdown().await;
    Facts {
        failure: Some(failure),
        session: session.facts(elapsed),
        ..facts
    }
}

/// CAPABILITY and, with --starttls, the STARTTLS command.
async fn before_tls(
    session: &mut Session,
    imap: &mut Imap,
    args: &Args,
    facts: &mut Facts,
) -> Result<(), Failure> {
    facts.capabilities = dialogue::capability(&mut session.lines, imap).await?;
    if args.tls_mode() == TlsMode::StartTls {
        dialogue::starttls(&mut session.lines, imap).await?;
    }
    Ok(())
}

/// After TLS: CAPABILITY again, the -s string, LOGIN, EXAMINE, then LOGOUT
/// (or -q).
async fn after_tls(
    session: &mut Session,
    imap: &mut Imap,
    args: &Args,
    credentials: Option<(&str, &Secret)>,
    facts: &mut Facts,
) -> Result<Goodbye, Failure> {
    let deadline = *session.deadline();
    let lines = &mut session.lines;
    if args.tls_mode() == TlsMode::StartTls {
        // What was announced before TLS may have been forged: ask again.
        facts.capabilities = dialogue::capability(lines, imap).await?;
    }
    facts.answer = send_probe(lines, imap, &args.probe, &deadline).await?;
    let capable = |name: &str| facts.capabilities.iter().any(|c| c == name);
    let literal_plus = capable("LITERAL+");
    match credentials {
        Some(_) if facts.preauth => {
            lines.note("(LOGIN skipped: the server greeted with PREAUTH)");
        }
        Some((user, password)) => {
            let caps = &facts.capabilities;
            dialogue::login(lines, imap, user, password.expose(), caps).await?;
            facts.user = Some(user.to_string());
        }
        None => {}
    }
    if let Some(mailbox) = args.mailbox() {
        let count = dialogue::examine(lines, imap, mailbox, literal_plus).await?;
        facts.mailbox = Some((mailbox.to_string(), count));
    }
    let answered = facts.answer.is_some();
    Ok(dialogue::logout(lines, imap, &args.probe, answered).await)
}

/// The result: failures and mismatches first, then the greeting without
/// its capability list (the address with -j), TLS, certificate and time,
/// then the `-s` answer, the login and the mailbox; with -v the transcript.
pub fn evaluate(args: &Args, facts: &Facts) -> CheckResult {
    let shown = if args.probe.jail {
        facts.session.target.clone()
    } else {
        printable(dialogue::short_greeting(&facts.greeting).as_bytes(), SHOWN)
    };
    let thresholds = args.thresholds.thresholds();
    let common = (facts.session).common_parts(&shown, UPGRADE, &thresholds, args.tls.certificate);
    let mut c = Composer::new(common, &args.probe, args.common.timeout);
    c.failure(facts.failure.as_ref());
    c.expectation(&facts.received());
    c.answer(facts.answer_line());
    match &facts.user {
        Some(user) => c.note(format!("logged in as {user}")),
        None if facts.preauth && args.login.user.is_some() => c.note("preauthenticated"),
        None => {}
    }
    if let Some((mailbox, n)) = &facts.mailbox {
        let text = format!("{mailbox} {}", count_messages(*n));
        c.messages(*n, &args.messages.thresholds(), text);
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
        let mut argv = vec!["check_imap_rs", "-H", "127.0.0.1"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    /// TLSv1.3 (after STARTTLS when `upgraded`) with a certificate for
    /// localhost that ends `days` from now (and an hour).
    fn tls(days: i64, upgraded: bool) -> TlsSummary {
        let cert = CertFacts {
            subject: "localhost".into(),
            issuer: "rsplugins test CA".into(),
            not_after: now_epoch() + days * 86_400 + days.signum() * 3600,
        };
        TlsSummary {
            facts: TlsFacts {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_128_GCM_SHA256".into(),
                cert: Some(cert),
                verified: false,
                alpn: None,
            },
            handshake_time: Duration::from_millis(3),
            upgraded,
        }
    }

    /// A dialogue of 5 ms (2 ms connect) with 127.0.0.1 port 143, LOGOUT answered.
    fn facts(tls: Option<TlsSummary>) -> Facts {
        Facts {
            greeting: "* OK [CAPABILITY IMAP4rev1] ready.".to_string(),
            goodbye: Some(Goodbye::Said("a2 OK Logout completed.".into())),
            session: SessionFacts {
                host: "localhost".into(),
                target: "127.0.0.1 port 143".into(),
                connect_time: Duration::from_millis(2),
                elapsed: Duration::from_millis(5),
                tls,
                transcript: Transcript::default(),
            },
            ..Facts::default()
        }
    }

    /// State, first line and perfdata as printed.
    fn judge(args: &Args, facts: &Facts) -> (State, String, Vec<String>) {
        let r = evaluate(args, facts);
        let perf = r.all_perfdata().iter().map(|p| p.to_string()).collect();
        (r.state(), r.summary, perf)
    }

    #[test]
    fn options_like_c() {
        // C's check_imap command lines: words with spaces first, then the rest.
        let mut argv = vec!["-e", "* OK", "-s", "x1 NOOP", "-q", "x2 LOGOUT\\r\\n"];
        argv.extend(
            "-p 143 -e Dovecot -A -E -r ok -M crit -m 100 -d 1 -j -S -D 30,14 --sni mail \
             -w 1 -c 2 -t 5 -6"
                .split_whitespace(),
        );
        let a = args(&argv);
        assert_eq!(a.probe.expect.len(), 2);
        assert_eq!(a.probe.refuse, State::Ok);
        assert_eq!(a.probe.mismatch, State::Critical);
        assert!(a.ssl && a.probe.jail && a.probe.all && a.probe.escape && a.net.use_ipv6);
        assert_eq!(a.mailbox(), None);
    }

    #[test]
    fn option_rules() {
        let bad = |extra: &[&str]| {
            let mut argv = vec!["check_imap_rs", "-H", "x"];
            argv.extend_from_slice(extra);
            Args::try_parse_from(argv).is_err()
        };
        assert!(bad(&["--starttls", "-S"]));
        assert!(bad(&["--messages-warning", "5"]));
        assert!(bad(&["--mailbox", "INBOX"]));
        assert!(bad(&["-P", "pw"]));
        assert!(bad(&["-4", "-6"]));
        let a = args(&[
            "-U",
            "u",
            "-P",
            "pw-imap-unit",
            "--messages-critical",
            "100",
        ]);
        assert_eq!(a.mailbox(), Some("INBOX"));
        let a = args(&["-U", "u", "-P", "pw-imap-unit", "--mailbox", "Sent"]);
        assert_eq!(a.mailbox(), Some("Sent"));
    }

    #[test]
    fn credentials_need_tls_and_a_password() {
        let e = credentials(&args(&["-U", "u"])).unwrap_err();
        assert_eq!(e.state, State::Unknown);
        let e = credentials(&args(&["-U", "u", "-P", "pw-imap-unit"])).unwrap_err();
        assert!(e.message.contains("without TLS"), "{}", e.message);
        assert!(credentials(&args(&["-U", "u", "-P", "pw-imap-unit", "--starttls"])).is_ok());
        assert!(credentials(&args(&[
            "-U",
            "u",
            "-P",
            "pw-imap-unit",
            "--allow-plaintext"
        ]))
        .is_ok());
        // Line breaks travel in a literal; NUL cannot travel at all.
        assert!(credentials(&args(&["-U", "u\r\nx", "-P", "p", "-S"])).is_ok());
        let e = credentials(&args(&["-U", "u\0x", "-P", "p", "-S"])).unwrap_err();
        assert_eq!(e.message, "the user name must be non-empty and without NUL");
        let e = credentials(&args(&["-U", "u", "-P", "p\0", "-S"])).unwrap_err();
        assert_eq!(e.message, "the password must not contain NUL");
        // An empty mailbox is refused before anything else.
        let e = credentials(&args(&["-U", "u", "-P", "p", "--mailbox", ""])).unwrap_err();
        assert_eq!(e.state, State::Unknown);
        assert_eq!(e.message, "--mailbox must not be empty");
        assert_eq!(credentials(&args(&[])).unwrap(), None);
    }

    #[test]
    fn greeting_without_capabilities_and_time() {
        let (state, line, perf) = judge(&args(&[]), &facts(None));
        assert_eq!(state, State::Ok);
        assert_eq!(line, "* OK ready., 0.005 s");
        assert_eq!(perf, ["time=0.005s;;;0", "connect_time=0.002s;;;0"]);
        let (state, line, _) = judge(&args(&["-w", "0.004"]), &facts(None));
        assert_eq!(state, State::Warning);
        assert_eq!(line, "0.005 s, * OK ready.");
        // -j: the address instead of the greeting.
        assert_eq!(
            judge(&args(&["-j"]), &facts(None)).1,
            "127.0.0.1 port 143, 0.005 s"
        );
    }

    #[test]
    fn starttls_and_certificate_days() {
        let f = facts(Some(tls(200, true)));
        let (state, line, perf) = judge(&args(&["--starttls"]), &f);
        assert_eq!(state, State::Ok);
        assert_eq!(
            line,
            "* OK ready., STARTTLS TLSv1.3, cert localhost 200 days left, 0.005 s"
        );
        assert_eq!(
            perf,
            [
                "time=0.005s;;;0",
                "connect_time=0.002s;;;0",
                "tls_time=0.003s;;;0"
            ]
        );
        let f = facts(Some(tls(10, false)));
        let (state, line, _) = judge(&args(&["-S", "-D", "30,14"]), &f);
        assert_eq!(state, State::Critical);
        assert_eq!(
            line,
            "cert localhost 10 days left, * OK ready., TLSv1.3, 0.005 s"
        );
        // Without -D the days are only mentioned.
        assert_eq!(judge(&args(&["-S"]), &f).0, State::Ok);
    }

    #[test]
    fn mailbox_count_is_reported_and_judged() {
        let a = args(&[
            "-U",
            "monitor",
            "-P",
            "pw-imap-unit",
            "-S",
            "--messages-warning",
            "1",
            "--messages-critical",
            "5",
        ]);
        let mut f = facts(None);
        f.user = Some("monitor".into());
        f.mailbox = Some(("INBOX".into(), 2));
        let (state, line, perf) = judge(&a, &f);
        assert_eq!(state, State::Warning);
        assert_eq!(
            line,
            "INBOX 2 messages, * OK ready., 0.005 s, logged in as monitor"
        );
        assert_eq!(perf[2], "messages=2;1;5;0");
        f.mailbox = Some(("INBOX".into(), 1));
        let (state, line, _) = judge(&a, &f);
        assert_eq!(state, State::Ok);
        assert_eq!(
            line,
            "* OK ready., 0.005 s, logged in as monitor, INBOX 1 message"
        );
        f.mailbox = Some(("INBOX".into(), 6));
        assert_eq!(judge(&a, &f).0, State::Critical);
    }

    #[test]
    fn failures_and_logout_problems() {
        let a = args(&[]);
        let mut f = facts(None);
        f.goodbye = None;
        f.failure = Some(Failure::Rejected {
            step: "STARTTLS".into(),
            verb: "refused",
            reply: "a2 BAD no".into(),
        });
        let (state, line, _) = judge(&a, &f);
        assert_eq!(state, State::Critical);
        assert_eq!(line, "STARTTLS refused: a2 BAD no, * OK ready., 0.005 s");
        let mut f = facts(None);
        f.goodbye = Some(Goodbye::Failed(Failure::Protocol {
            step: "LOGOUT".into(),
            what: "no * BYE before the tagged OK".into(),
        }));
        let (state, line, _) = judge(&a, &f);
        assert_eq!(state, State::Warning);
        assert_eq!(
            line,
            "LOGOUT: no * BYE before the tagged OK, * OK ready., 0.005 s"
        );
        f.goodbye = Some(Goodbye::Failed(Failure::net(
            NetError::timeout("waiting for the reply to LOGOUT", Duration::from_secs(3)),
            "waiting for the reply to LOGOUT",
        )));
        assert_eq!(judge(&args(&["-t", "3:unknown"]), &f).0, State::Unknown);
    }

    #[test]
    fn expect_strings_see_the_whole_greeting_and_the_answer() {
        // The summary drops [CAPABILITY ...] but --expect still sees it.
        let a = args(&["-e", "IMAP4rev1"]);
        assert_eq!(judge(&a, &facts(None)).0, State::Ok);
        let a = args(&["-e", "NOPE"]);
        let (state, line, _) = judge(&a, &facts(None));
        assert_eq!(state, State::Warning);
        assert_eq!(
            line,
            "unexpected response: 'NOPE' not found, * OK ready., 0.005 s"
        );
        let a = args(&["-s", "x1 NOOP", "-e", "x1 OK"]);
        let mut f = facts(None);
        f.answer = Some(vec!["* 2 EXISTS".into(), "x1 OK NOOP completed.".into()]);
        let (state, line, _) = judge(&a, &f);
        assert_eq!(state, State::Ok);
        assert_eq!(line, "* OK ready., 0.005 s, answer 'x1 OK NOOP completed.'");
        // Not shown with -j, still matched.
        let a = args(&["-s", "x1 NOOP", "-e", "x1 OK", "-j"]);
        assert_eq!(
            judge(&a, &f),
            (
                State::Ok,
                "127.0.0.1 port 143, 0.005 s".to_string(),
                vec![
                    "time=0.005s;;;0".to_string(),
                    "connect_time=0.002s;;;0".to_string()
                ]
            )
        );
    }

    #[test]
    fn preauth_skips_login() {
        let a = args(&["-U", "u", "-P", "pw-imap-unit", "-S"]);
        let mut f = facts(None);
        f.greeting = "* PREAUTH [CAPABILITY IMAP4rev1] Logged in as u".into();
        f.preauth = true;
        f.mailbox = Some(("INBOX".into(), 5));
        assert_eq!(
            judge(&a, &f).1,
            "* PREAUTH Logged in as u, 0.005 s, preauthenticated, INBOX 5 messages"
        );
    }

    #[test]
    fn the_transcript_only_with_verbose() {
        let mut f = facts(None);
        f.session.transcript.sent("a1 CAPABILITY\r\n");
        f.session.transcript.received("* CAPABILITY IMAP4rev1");
        f.session.transcript.received("a1 OK done");
        assert!(evaluate(&args(&[]), &f).details.is_empty());
        assert_eq!(
            evaluate(&args(&["-v"]), &f).details,
            [
                "> a1 CAPABILITY",
                "< * CAPABILITY IMAP4rev1",
                "< a1 OK done"
            ]
        );
        assert!(evaluate(&args(&["-v", "-j"]), &f).details.is_empty());
    }
}
