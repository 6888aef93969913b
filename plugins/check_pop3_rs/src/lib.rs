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
