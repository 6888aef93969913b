//! check_pop3_rs: a POP3 server's greeting, STLS or implicit TLS, optional
//! login (USER/PASS) with the mailbox size from STAT, and QUIT. Accepts the
//! options of C check_pop so existing command definitions keep working.

pub mod dialogue;

use std::time::Duration;

use clap::Parser;
use rsplugins::bytes::human;
use rsplugins::net::runtime::block_on;
use rsplugins::net::{count_messages, printable, Composer, Deadline, ProbeArgs, TlsMode};
use rsplugins::options::{CommonArgs, NetArgs, ThresholdArgs};
use rsplugins::secret::Secret;
use rsplugins::tls::{
    require_tls_for_credentials, LoginArgs, MessageCountArgs, Session, TlsArgs, TlsOptions,
};
use rsplugins::{CheckError, CheckResult, Perfdata, Uom};

use dialogue::{Failure, Maildrop, SHOWN};

/// Service name on the first output line.
pub const SERVICE: &str = "POP3";

/// The upgrade command, as the summary names it.
const UPGRADE: &str = "STLS";

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

/// What the dialogue gave after the greeting.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// The greeting line.
    pub greeting: String,
    /// Step names and the server's replies (shown with -v; never a command).
    pub steps: Vec<String>,
    /// The answer to the -s string.
    pub answer: Option<Vec<String>>,
    /// The user logged in as.
    pub user: Option<String>,
    /// What STAT reported.
    pub maildrop: Option<Maildrop>,
    /// The step that failed; the dialogue stopped there.
    pub failure: Option<Failure>,
    /// A problem with QUIT (the rest went through).
    pub quit: Option<Failure>,
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
    let (user, password) = match (&args.login.user, &args.login.password) {
        (None, _) => return Ok(None),
        (Some(_), None) => return Err(CheckError::unknown("--user needs --password")),
        (Some(user), Some(password)) => (user, password),
    };
    if user.is_empty() || user.contains(['\r', '\n', '\0']) {
        return Err(CheckError::unknown(
            "the user name must be non-empty and on one line",
        ));
    }
    if password.expose().contains(['\r', '\n', '\0']) {
        return Err(CheckError::unknown(
            "the password must not contain line breaks or NUL",
        ));
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
/// greeting) and a failed STLS handshake end it with an error; later ones
/// are kept in the transcript, so the result still shows the greeting,
/// TLS and timings.
async fn converse(
    args: &Args,
    credentials: Option<(&str, &Secret)>,
    tls: &TlsOptions,
    deadline: Deadline,
) -> Result<(Session, Transcript), Failure> {
    let mut session =
        Session::open_for(&args.net, args.tls_mode(), (110, 995), tls, deadline).await?;
    let mut t = Transcript {
        greeting: dialogue::greeting(&mut session.lines).await?,
        ..Transcript::default()
    };
    if args.tls_mode() == TlsMode::StartTls {
        match dialogue::stls(&mut session.lines).await {
            Ok(reply) => t.steps.push(format!("STLS: {reply}")),
            Err(f) => {
                stop(&mut session, &mut t, f).await;
                return Ok((session, t));
            }
        }
        session = session.starttls(tls).await?;
    }
    match after_greeting(&mut session, args, credentials, &mut t).await {
        Ok(()) => t.elapsed = session.started.elapsed(),
        Err(f) => stop(&mut session, &mut t, f).await,
    }
    session.lines.shutdown().await;
    Ok((session, t))
}

/// Records a failure; after a refusal says QUIT without waiting for the answer.
async fn stop(session: &mut Session, t: &mut Transcript, failure: Failure) {
    t.elapsed = session.started.elapsed();
    if matches!(failure, Failure::Rejected { .. }) {
        let _ = session.lines.write_line("QUIT", "sending QUIT").await;
    }
    t.failure = Some(failure);
    session.lines.shutdown().await;
}

async fn after_greeting(
    session: &mut Session,
    args: &Args,
    credentials: Option<(&str, &Secret)>,
    t: &mut Transcript,
) -> Result<(), Failure> {
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
        let (user_reply, pass_reply) =
            dialogue::login(&mut session.lines, user, password.expose()).await?;
        t.steps.push(format!("USER: {user_reply}"));
        t.steps.push(format!("PASS: {pass_reply}"));
        t.user = Some(user.to_string());
        let (maildrop, reply) = dialogue::stat(&mut session.lines).await?;
        t.steps.push(format!("STAT: {reply}"));
        t.maildrop = Some(maildrop);
    }
    match args.probe.quit_text() {
        Some(text) => {
            // As C: the string is sent and the answer not judged.
            let _ = dialogue::send_raw(&mut session.lines, &text).await;
        }
        None => match dialogue::quit(&mut session.lines).await {
            Ok(reply) => t.steps.push(format!("QUIT: {reply}")),
            Err(f) if t.answer.is_some() && f.is_closed() => t
                .steps
                .push("QUIT: not needed, the server closed after -s".to_string()),
            Err(f) => t.quit = Some(f),
        },
    }
    Ok(())
}

/// Turns the session and transcript into a result.
pub fn evaluate(args: &Args, session: &Session, t: &Transcript) -> CheckResult {
    let shown = if args.probe.jail {
        session.target()
    } else {
        printable(t.greeting.as_bytes(), SHOWN)
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
/// Adds the POP3 steps to the common result (greeting, TLS, certificate,
/// time): failures and mismatches first, then the login and mailbox.
pub fn compose(args: &Args, base: CheckResult, t: &Transcript) -> CheckResult {
    let mut c = Composer::new(base, &args.probe, args.common.timeout);
    c.failure(t.failure.as_ref());
    c.expectation(&t.received());
    c.answer(
        t.answer
            .as_ref()
            .and_then(|a| a.first())
            .map(String::as_str),
    );
    if let Some(user) = &t.user {
        c.note(format!("logged in as {user}"));
    }
    if let Some(m) = &t.maildrop {
        let thresholds = args.messages.thresholds();
        let text = format!("{} ({})", count_messages(m.messages), human(m.octets));
        c.messages(m.messages, &thresholds, text);
        c.perf(Perfdata::new("size", m.octets as f64, Uom::Bytes).min(0.0));
    }
    c.goodbye(t.quit.as_ref());
    c.finish(&t.steps, args.common.verbosity())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::net::NetError;
    use rsplugins::State;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["check_pop3_rs", "-H", "127.0.0.1"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    fn base() -> CheckResult {
        CheckResult::with_state(State::Ok, "+OK ready., 0.004 s")
    }

    fn transcript() -> Transcript {
        Transcript {
            greeting: "+OK ready.".to_string(),
            ..Transcript::default()
        }
    }

    #[test]
    fn options_like_c() {
        let a = args(&[
            "-p",
            "110",
            "-e",
            "+OK",
            "-e",
            "Dovecot",
            "-A",
            "-s",
            "CAPA",
            "-q",
            "QUIT\\r\\n",
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
            "-4",
            "-v",
        ]);
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
        let e = credentials(&args(&["-U", "u"])).unwrap_err();
        assert_eq!(e.state, State::Unknown);
        let e = credentials(&args(&["-U", "u", "-P", "pw-unit-1"])).unwrap_err();
        assert_eq!(e.state, State::Unknown);
        assert!(e.message.contains("without TLS"), "{}", e.message);
        assert!(credentials(&args(&["-U", "u", "-P", "pw-unit-1", "--allow-plaintext"])).is_ok());
        assert!(credentials(&args(&["-U", "u", "-P", "pw-unit-1", "--starttls"])).is_ok());
        assert!(credentials(&args(&["-U", "u", "-P", "pw-unit-1", "-S"])).is_ok());
        let e = credentials(&args(&["-U", "u\r\nDELE 1", "-P", "x", "-S"])).unwrap_err();
        assert_eq!(e.state, State::Unknown);
        assert!(credentials(&args(&[])).unwrap().is_none());
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
        let mut t = transcript();
        t.user = Some("monitor".into());
        t.maildrop = Some(Maildrop {
            messages: 3,
            octets: 2048,
        });
        let r = compose(&a, base(), &t);
        assert_eq!(r.state(), State::Warning);
        assert_eq!(
            r.summary,
            "+OK ready., 0.004 s, logged in as monitor, 3 messages (2.0 KiB)"
        );
        let perf: Vec<String> = r.perfdata.iter().map(|p| p.to_string()).collect();
        assert_eq!(perf, vec!["messages=3;2;10;0", "size=2048B;;;0"]);
        t.maildrop = Some(Maildrop {
            messages: 1,
            octets: 10,
        });
        let r = compose(&a, base(), &t);
        assert_eq!(r.state(), State::Ok);
        assert!(r.summary.ends_with("1 message (10 B)"), "{}", r.summary);
    }

    #[test]
    fn failures_come_first_and_set_the_state() {
        let a = args(&["-t", "4:unknown"]);
        let mut t = transcript();
        t.failure = Some(Failure::Rejected {
            step: "PASS".into(),
            verb: "rejected",
            reply: "-ERR [AUTH] Authentication failed.".into(),
        });
        let r = compose(&a, base(), &t);
        assert_eq!(r.state(), State::Critical);
        assert_eq!(
            r.summary,
            "PASS rejected: -ERR [AUTH] Authentication failed., +OK ready., 0.004 s"
        );
        t.failure = Some(Failure::net(
            NetError::timeout("waiting for the reply to STAT", Duration::from_secs(4)),
            "waiting for the reply to STAT",
        ));
        assert_eq!(compose(&a, base(), &t).state(), State::Unknown);
    }

    #[test]
    fn quit_problems_warn() {
        let a = args(&[]);
        let mut t = transcript();
        t.quit = Some(Failure::Rejected {
            step: "QUIT".into(),
            verb: "rejected",
            reply: "-ERR no".into(),
        });
        let r = compose(&a, base(), &t);
        assert_eq!(r.state(), State::Warning);
        assert!(r.summary.ends_with("QUIT rejected: -ERR no"));
    }

    #[test]
    fn expect_strings_and_jail() {
        let a = args(&["-e", "Dovecot"]);
        let r = compose(&a, base(), &transcript());
        assert_eq!(r.state(), State::Warning);
        assert_eq!(
            r.summary,
            "unexpected response: 'Dovecot' not found, +OK ready., 0.004 s"
        );
        let a = args(&["-e", "Dovecot", "-e", "ready", "-M", "crit"]);
        assert_eq!(compose(&a, base(), &transcript()).state(), State::Ok);
        let a = args(&["-e", "Dovecot", "-e", "ready", "-A", "-M", "crit"]);
        let r = compose(&a, base(), &transcript());
        assert_eq!(r.state(), State::Critical);
        assert!(r.summary.starts_with("unexpected response: not all of"));
        // The answer to -s counts for --expect, and is shown unless -j.
        let a = args(&["-s", "CAPA", "-e", "SASL"]);
        let mut t = transcript();
        t.answer = Some(vec!["+OK".into(), "SASL PLAIN".into()]);
        let r = compose(&a, base(), &t);
        assert_eq!(r.state(), State::Ok);
        assert!(r.summary.ends_with("answer '+OK'"), "{}", r.summary);
        let a = args(&["-s", "CAPA", "-j"]);
        assert!(!compose(&a, base(), &t).summary.contains("answer"));
    }

    #[test]
    fn steps_only_with_verbose() {
        let mut t = transcript();
        t.steps = vec!["QUIT: +OK bye".into()];
        assert!(compose(&args(&[]), base(), &t).details.is_empty());
        assert_eq!(
            compose(&args(&["-v"]), base(), &t).details,
            vec!["QUIT: +OK bye"]
        );
        assert!(compose(&args(&["-v", "-j"]), base(), &t).details.is_empty());
    }
}
