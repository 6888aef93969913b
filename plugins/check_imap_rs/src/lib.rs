//! check_imap_rs: an IMAP server's greeting and CAPABILITY, STARTTLS or
//! implicit TLS, optional LOGIN with the message count of a mailbox
//! (EXAMINE), and LOGOUT. Accepts the options of C check_imap so existing
//! command definitions keep working.

pub mod dialogue;
pub mod quote;

use std::time::Duration;

use clap::Parser;
use rsplugins::net::runtime::block_on;
use rsplugins::net::{count_messages, printable, Composer, Deadline, ProbeArgs, TlsMode};
use rsplugins::options::{CommonArgs, NetArgs, ThresholdArgs};
use rsplugins::secret::Secret;
use rsplugins::tls::{
    require_tls_for_credentials, LoginArgs, MessageCountArgs, Session, TlsArgs, TlsOptions,
};
use rsplugins::{CheckError, CheckResult};

use dialogue::{Failure, Tags, SHOWN};

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

/// What the dialogue gave after the greeting.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// The greeting line.
    pub greeting: String,
    /// The greeting was `* PREAUTH`.
    pub preauth: bool,
    /// The capabilities (after STARTTLS, those announced over TLS).
    pub capabilities: Vec<String>,
    /// Step names and the server's replies (shown with -v; never a command).
    pub steps: Vec<String>,
    /// The answer to the -s string.
    pub answer: Option<Vec<String>>,
    /// The user logged in as.
    pub user: Option<String>,
    /// The mailbox counted and its number of messages.
    pub mailbox: Option<(String, u64)>,
    /// The step that failed; the dialogue stopped there.
    pub failure: Option<Failure>,
    /// A problem with LOGOUT (the rest went through).
    pub logout: Option<Failure>,
    /// From the start of the check to the end of the dialogue.
    pub elapsed: Duration,
}

impl Transcript {
    /// Greeting and -s answer: what --expect is matched against.
    pub fn received(&self) -> String {
        let mut text = self.greeting.clone();
        for line in self.answer.iter().flatten() {
            text.push('\n');
            text.push_str(line);
        }
        text
    }
}

/// The user and password to log in with, after the checks that need no
/// connection (a password only over TLS unless --allow-plaintext).
fn credentials(args: &Args) -> Result<Option<(&str, &Secret)>, CheckError> {
    if args.mailbox.as_deref() == Some("") {
        return Err(CheckError::unknown("--mailbox must not be empty"));
    }
    let (user, password) = match (&args.login.user, &args.login.password) {
        (None, _) => return Ok(None),
        (Some(_), None) => return Err(CheckError::unknown("--user needs --password")),
        (Some(user), Some(password)) => (user, password),
    };
    // Quoted strings and literals carry anything but NUL.
    if user.is_empty() || user.contains('\0') {
        return Err(CheckError::unknown(
            "the user name must be non-empty and without NUL",
        ));
    }
    if password.expose().contains('\0') {
        return Err(CheckError::unknown("the password must not contain NUL"));
    }
    require_tls_for_credentials(args.tls_mode().is_tls(), args.login.allow_plaintext)?;
    Ok(Some((user, password)))
}

/// Connects, talks and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let credentials = credentials(&args)?;
    let timeout = args.common.timeout;
    let deadline = Deadline::from_timeout(&timeout);
    let tls = args.tls.options(credentials.is_some());
    match block_on(converse(&args, credentials, &tls, deadline))? {
        Ok((session, transcript)) => Ok(evaluate(&args, &session, &transcript)),
        Err(f) => Err(f.into_check_error(&timeout, args.probe.refuse, args.probe.jail)),
    }
}

/// The dialogue. Failures before a greeting arrived (connect, implicit TLS,
/// greeting) and a failed STARTTLS handshake end it with an error; later
/// ones are kept in the transcript, so the result still shows the greeting,
/// TLS and timings.
async fn converse(
    args: &Args,
    credentials: Option<(&str, &Secret)>,
    tls: &TlsOptions,
    deadline: Deadline,
) -> Result<(Session, Transcript), Failure> {
    let mut session =
        Session::open_for(&args.net, args.tls_mode(), (143, 993), tls, deadline).await?;
    let greeting = dialogue::greeting(&mut session.lines).await?;
    let mut t = Transcript {
        greeting: greeting.line,
        preauth: greeting.preauth,
        ..Transcript::default()
    };
    let mut tags = Tags::default();
    if let Err(f) = before_tls(&mut session, &mut tags, args, &mut t).await {
        stop(&mut session, &mut tags, &mut t, f).await;
        return Ok((session, t));
    }
    if args.tls_mode() == TlsMode::StartTls {
        session = session.starttls(tls).await?;
    }
    match after_tls(&mut session, &mut tags, args, credentials, &mut t).await {
        Ok(()) => t.elapsed = session.started.elapsed(),
        Err(f) => stop(&mut session, &mut tags, &mut t, f).await,
    }
    session.lines.shutdown().await;
    Ok((session, t))
}

/// Records a failure; after a refusal says LOGOUT without waiting for the answer.
async fn stop(session: &mut Session, tags: &mut Tags, t: &mut Transcript, failure: Failure) {
    t.elapsed = session.started.elapsed();
    if matches!(failure, Failure::Rejected { .. } | Failure::Protocol { .. }) {
        let logout = format!("{} LOGOUT", tags.next_tag());
        let _ = session.lines.write_line(&logout, "sending LOGOUT").await;
    }
    t.failure = Some(failure);
    session.lines.shutdown().await;
}

/// CAPABILITY and, with --starttls, the STARTTLS command.
async fn before_tls(
    session: &mut Session,
    tags: &mut Tags,
    args: &Args,
    t: &mut Transcript,
) -> Result<(), Failure> {
    t.capabilities = dialogue::capability(&mut session.lines, tags).await?;
    t.steps
        .push(format!("capabilities: {}", t.capabilities.join(" ")));
    if args.tls_mode() == TlsMode::StartTls {
        let reply = dialogue::starttls(&mut session.lines, tags).await?;
        t.steps.push(format!("STARTTLS: {reply}"));
    }
    Ok(())
}

/// After TLS: CAPABILITY again, the -s string, LOGIN, EXAMINE, LOGOUT.
async fn after_tls(
    session: &mut Session,
    tags: &mut Tags,
    args: &Args,
    credentials: Option<(&str, &Secret)>,
    t: &mut Transcript,
) -> Result<(), Failure> {
    if args.tls_mode() == TlsMode::StartTls {
        // What was announced before TLS may have been forged: ask again.
        t.capabilities = dialogue::capability(&mut session.lines, tags).await?;
        t.steps.push(format!(
            "capabilities over TLS: {}",
            t.capabilities.join(" ")
        ));
    }
    if let Some(text) = args.probe.send_line() {
        dialogue::send_raw(&mut session.lines, &text).await?;
        if let Some(delay) = args.probe.delay {
            let pause = tokio::time::sleep(Duration::from_secs_f64(delay));
            let _ = session.deadline().run(pause).await;
        }
        let answer = dialogue::read_answer(&mut session.lines, &text).await?;
        t.steps
            .extend(answer.iter().map(|line| format!("-s answer: {line}")));
        t.answer = Some(answer);
    }
    if let Some((user, password)) = credentials {
        if t.preauth {
            t.steps
                .push("LOGIN skipped: the server greeted with PREAUTH".to_string());
        } else {
            let reply = dialogue::login(
                &mut session.lines,
                tags,
                user,
                password.expose(),
                &t.capabilities,
            )
            .await?;
            t.steps.push(format!("LOGIN: {reply}"));
            t.user = Some(user.to_string());
        }
    }
    if let Some(mailbox) = args.mailbox() {
        let literal_plus = t.capabilities.iter().any(|c| c == "LITERAL+");
        let (count, reply) =
            dialogue::examine(&mut session.lines, tags, mailbox, literal_plus).await?;
        t.steps.push(format!("EXAMINE {mailbox}: {reply}"));
        t.mailbox = Some((mailbox.to_string(), count));
    }
    match args.probe.quit_text() {
        Some(text) => {
            // As C: the string is sent and the answer not judged.
            let _ = dialogue::send_raw(&mut session.lines, &text).await;
        }
        None => match dialogue::logout(&mut session.lines, tags).await {
            Ok(reply) => t.steps.push(format!("LOGOUT: {reply}")),
            Err(f) if t.answer.is_some() && f.is_closed() => t
                .steps
                .push("LOGOUT: not needed, the server closed after -s".to_string()),
            Err(f) => t.logout = Some(f),
        },
    }
    Ok(())
}

/// Turns the session and transcript into a result.
pub fn evaluate(args: &Args, session: &Session, t: &Transcript) -> CheckResult {
    let shown = if args.probe.jail {
        session.target()
    } else {
        printable(dialogue::short_greeting(&t.greeting).as_bytes(), SHOWN)
    };
    let base = session.result(
        &shown,
        UPGRADE,
        t.elapsed,
        &args.thresholds.thresholds(),
        args.tls.certificate,
    );
    compose(args, base, t)
}

/// `3 messages`, `1 message`.
/// Adds the IMAP steps to the common result (greeting, TLS, certificate,
/// time): failures and mismatches first, then the login and mailbox.
pub fn compose(args: &Args, base: CheckResult, t: &Transcript) -> CheckResult {
    let mut c = Composer::new(base, &args.probe, args.common.timeout);
    c.failure(t.failure.as_ref());
    c.expectation(&t.received());
    c.answer(t.answer.as_ref().and_then(|a| a.last()).map(String::as_str));
    if let Some(user) = &t.user {
        c.note(format!("logged in as {user}"));
    } else if t.preauth && args.login.user.is_some() {
        c.note("preauthenticated");
    }
    if let Some((mailbox, n)) = &t.mailbox {
        let thresholds = args.messages.thresholds();
        c.messages(*n, &thresholds, format!("{mailbox} {}", count_messages(*n)));
    }
    c.goodbye(t.logout.as_ref());
    c.finish(&t.steps, args.common.verbosity())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::net::NetError;
    use rsplugins::State;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["check_imap_rs", "-H", "127.0.0.1"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    fn base() -> CheckResult {
        CheckResult::with_state(State::Ok, "* OK ready., 0.004 s")
    }

    fn transcript() -> Transcript {
        Transcript {
            greeting: "* OK [CAPABILITY IMAP4rev1] ready.".to_string(),
            ..Transcript::default()
        }
    }

    #[test]
    fn options_like_c() {
        let a = args(&[
            "-p",
            "143",
            "-e",
            "* OK",
            "-e",
            "Dovecot",
            "-A",
            "-s",
            "x1 NOOP",
            "-q",
            "x2 LOGOUT\\r\\n",
            "-E",
            "-r",
            "ok",
            "-M",
            "crit",
            "-m",
            "100",
            "-d",
            "1",
            "-j",
            "-S",
            "-D",
            "30,14",
            "--sni",
            "mail",
            "-w",
            "1",
            "-c",
            "2",
            "-t",
            "5",
            "-6",
        ]);
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
        assert!(credentials(&args(&["-U", "u\0x", "-P", "p", "-S"])).is_err());
        let e = credentials(&args(&["-U", "u", "-P", "p", "-S", "--mailbox", ""])).unwrap_err();
        assert_eq!(e.state, State::Unknown);
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
        let mut t = transcript();
        t.user = Some("monitor".into());
        t.mailbox = Some(("INBOX".into(), 2));
        let r = compose(&a, base(), &t);
        assert_eq!(r.state(), State::Warning);
        assert_eq!(
            r.summary,
            "* OK ready., 0.004 s, logged in as monitor, INBOX 2 messages"
        );
        assert_eq!(r.perfdata[0].to_string(), "messages=2;1;5;0");
        t.mailbox = Some(("INBOX".into(), 6));
        assert_eq!(compose(&a, base(), &t).state(), State::Critical);
    }

    #[test]
    fn failures_and_logout_problems() {
        let a = args(&[]);
        let mut t = transcript();
        t.failure = Some(Failure::Rejected {
            step: "STARTTLS".into(),
            verb: "refused",
            reply: "a2 BAD no".into(),
        });
        let r = compose(&a, base(), &t);
        assert_eq!(r.state(), State::Critical);
        assert!(r
            .summary
            .starts_with("STARTTLS refused: a2 BAD no, * OK ready."));
        let mut t = transcript();
        t.logout = Some(Failure::Protocol {
            step: "LOGOUT".into(),
            what: "no * BYE before the tagged OK".into(),
        });
        assert_eq!(compose(&a, base(), &t).state(), State::Warning);
        t.logout = Some(Failure::net(
            NetError::timeout("waiting for the reply to LOGOUT", Duration::from_secs(3)),
            "waiting for the reply to LOGOUT",
        ));
        assert_eq!(
            compose(&args(&["-t", "3:unknown"]), base(), &t).state(),
            State::Unknown
        );
    }

    #[test]
    fn expect_strings_see_the_whole_greeting_and_the_answer() {
        // The summary drops [CAPABILITY ...] but --expect still sees it.
        let a = args(&["-e", "IMAP4rev1"]);
        assert_eq!(compose(&a, base(), &transcript()).state(), State::Ok);
        let a = args(&["-e", "NOPE"]);
        let r = compose(&a, base(), &transcript());
        assert_eq!(r.state(), State::Warning);
        assert!(r
            .summary
            .starts_with("unexpected response: 'NOPE' not found"));
        let a = args(&["-s", "x1 NOOP", "-e", "x1 OK"]);
        let mut t = transcript();
        t.answer = Some(vec!["* 2 EXISTS".into(), "x1 OK NOOP completed.".into()]);
        let r = compose(&a, base(), &t);
        assert_eq!(r.state(), State::Ok);
        assert!(r.summary.ends_with("answer 'x1 OK NOOP completed.'"));
    }

    #[test]
    fn preauth_skips_login() {
        let a = args(&["-U", "u", "-P", "pw-imap-unit", "-S"]);
        let mut t = transcript();
        t.preauth = true;
        assert!(compose(&a, base(), &t)
            .summary
            .ends_with("preauthenticated"));
    }
}
