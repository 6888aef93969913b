//! check_smtp_rs: an SMTP (or LMTP) server's greeting, EHLO, STARTTLS,
//! AUTH, custom commands and, beyond C check_smtp, a full mail transaction.

pub mod dialogue;

use clap::{ArgAction, Parser};
use regex::Regex;
use rsplugins::clock::{now_epoch, rfc5322};
use rsplugins::net::dialogue::{self as net_dialogue, Goodbye, Numeric};
use rsplugins::net::runtime::block_on;
use rsplugins::net::{printable, Deadline, Failure, Reply, Session, SessionFacts, TlsMode};
use rsplugins::options::{CommonArgs, NetArgs, ThresholdArgs};
use rsplugins::secret::Secret;
use rsplugins::tls::{require_tls_for_credentials, TlsArgs};
use rsplugins::{CheckError, CheckResult, State};

use dialogue::{authenticate, exchange, hello, AuthMechanism, Hello};

/// Service name on the first output line.
pub const SERVICE: &str = "SMTP";

/// Check an SMTP or LMTP server.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_smtp_rs",
    version,
    about = "Check an SMTP or LMTP server: greeting, EHLO, STARTTLS, AUTH, commands and a full \
             mail transaction (drop-in for check_smtp)",
    mut_arg("port", |a| a.help("Port number (default: 25, or 465 with --ssl)"))
)]
pub struct Args {
    #[command(flatten)]
    pub net: NetArgs,

    /// String to expect in the first line of the greeting
    #[arg(
        short = 'e',
        long = "expect",
        value_name = "STRING",
        default_value = "220"
    )]
    pub expect: String,

    /// SMTP command to send after the greeting (repeatable)
    #[arg(short = 'C', long = "command", value_name = "STRING", action = ArgAction::Append)]
    pub command: Vec<String>,

    /// Regular expression the reply to the matching -C must match (repeatable)
    #[arg(short = 'R', long = "response", value_name = "REGEX", action = ArgAction::Append)]
    pub response: Vec<String>,

    /// Sender address: sends MAIL FROM and expects 250
    #[arg(
        short = 'f',
        long = "from",
        visible_alias = "mail-from",
        value_name = "ADDRESS"
    )]
    pub from: Option<String>,

    /// Recipient address: sends RCPT TO and expects 250 (repeatable; needs --from)
    #[arg(long = "rcpt-to", value_name = "ADDRESS", action = ArgAction::Append, requires = "from")]
    pub rcpt_to: Vec<String>,

    /// Send a small test message to the recipients (DATA, expects 250)
    #[arg(long = "send-mail", requires = "rcpt_to")]
    pub send_mail: bool,

    /// Name to greet with in EHLO/HELO/LHLO (default: this host's name)
    #[arg(short = 'F', long = "fqdn", value_name = "NAME")]
    pub fqdn: Option<String>,

    /// Upgrade the connection with STARTTLS
    #[arg(short = 'S', long = "starttls", conflicts_with = "ssl")]
    pub starttls: bool,

    /// Use TLS from the start (SMTPS, port 465)
    #[arg(short = 's', long = "ssl", visible_alias = "tls")]
    pub ssl: bool,

    #[command(flatten)]
    pub tls: TlsArgs,

    /// SMTP AUTH mechanism to test: LOGIN or PLAIN
    #[arg(short = 'A', long = "authtype", value_name = "TYPE", requires_all = ["authuser", "authpass"])]
    pub authtype: Option<AuthMechanism>,

    /// SMTP AUTH user name
    #[arg(short = 'U', long = "authuser", value_name = "USER")]
    pub authuser: Option<String>,

    /// SMTP AUTH password: the text, env:VARIABLE or file:PATH (never shown)
    #[arg(short = 'P', long = "authpass", value_name = "PASSWORD")]
    pub authpass: Option<Secret>,

    /// Allow AUTH without TLS
    #[arg(long = "allow-plaintext")]
    pub allow_plaintext: bool,

    /// Speak LMTP: LHLO instead of EHLO/HELO
    #[arg(short = 'L', long = "lmtp")]
    pub lmtp: bool,

    /// Do not fail when QUIT is not answered with 221
    #[arg(short = 'q', long = "ignore-quit-failure")]
    pub ignore_quit_failure: bool,

    /// Response time (seconds) thresholds
    #[command(flatten)]
    pub thresholds: ThresholdArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

impl Args {
    /// How TLS is used: `-S`, `--starttls`, or `-D` alone (implicit on 465).
    pub fn tls_mode(&self) -> TlsMode {
        self.tls.mode(self.ssl, self.starttls, self.net.port, 465)
    }
}

/// A command the server was expected to answer with given codes: its reply
/// when it did, else the refusal or the goodbye (421) as a [`Failure`].
pub type Answer = Result<Reply, Failure>;

/// The AUTH exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthFacts {
    /// The server's last reply (235 when accepted).
    pub reply: Reply,
    /// The mechanisms the server announced in its (last) EHLO reply.
    pub offered: Vec<String>,
}

/// What the dialogue found, as plain data: nothing here is judged yet. A
/// step not reached is `None` (or empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// Peer, timings, TLS and the transcript.
    pub session: SessionFacts,
    /// The greeting.
    pub greeting: Reply,
    /// Whether the `-e` string was in the greeting's first line or, when the
    /// server was greeted, in its reply.
    pub expect_matched: bool,
    /// EHLO/HELO/LHLO and its reply.
    pub hello: Option<Hello>,
    /// The reply to STARTTLS.
    pub starttls: Option<Answer>,
    /// EHLO/HELO/LHLO again over TLS.
    pub hello_tls: Option<Hello>,
    /// AUTH.
    pub auth: Option<AuthFacts>,
    /// Each `-C` command with its reply.
    pub commands: Vec<(String, Reply)>,
    /// MAIL FROM.
    pub mail_from: Option<Answer>,
    /// RCPT TO, per recipient.
    pub rcpt_to: Vec<(String, Answer)>,
    /// DATA.
    pub data: Option<Answer>,
    /// The replies to the message itself (LMTP answers once per recipient).
    pub message: Vec<Reply>,
    /// RSET after a transaction not sent.
    pub rset: Option<Reply>,
    /// How the session ended.
    pub goodbye: Goodbye,
}

impl Facts {
    /// The facts of a session that has greeted and nothing more.
    pub fn new(greeting: Reply) -> Facts {
        Facts {
            session: SessionFacts::default(),
            greeting,
            expect_matched: true,
            hello: None,
            starttls: None,
            hello_tls: None,
            auth: None,
            commands: Vec::new(),
            mail_from: None,
            rcpt_to: Vec::new(),
            data: None,
            message: Vec::new(),
            rset: None,
            goodbye: Goodbye::NotNeeded,
        }
    }
}

/// How much of a server's reply is shown.
const SHOWN: usize = 300;

/// A reply on the line: its lines joined, printable.
fn reply_text(reply: &Reply) -> String {
    printable(reply.lines.join(" / ").as_bytes(), SHOWN)
}

fn default_fqdn() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The `-R` expressions, one per `-C` (`None` where none was given).
fn responses(args: &Args) -> Result<Vec<Option<Regex>>, CheckError> {
    if args.response.len() > args.command.len() {
        return Err(CheckError::unknown("more -R responses than -C commands"));
    }
    (0..args.command.len())
        .map(|i| {
            args.response
                .get(i)
                .map(|r| Regex::new(r).map_err(|e| CheckError::unknown(format!("-R '{r}': {e}"))))
                .transpose()
        })
        .collect()
}

struct Plan {
    credentials: Option<(AuthMechanism, String, String)>,
}

fn plan(args: &Args) -> Result<Plan, CheckError> {
    responses(args)?;
    let credentials = match (&args.authtype, &args.authuser, &args.authpass) {
        (Some(m), Some(u), Some(p)) => Some((*m, u.clone(), p.expose().to_string())),
        (None, None, None) => None,
        (None, Some(_), _) | (None, _, Some(_)) => {
            return Err(CheckError::unknown("-U/-P need -A LOGIN or -A PLAIN"))
        }
        _ => return Err(CheckError::unknown("-A needs both -U and -P")),
    };
    if credentials.is_some() {
        require_tls_for_credentials(args.tls_mode().is_tls(), args.allow_plaintext)?;
    }
    Ok(Plan { credentials })
}

/// How the dialogue ended before the goodbye.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The server is still there: QUIT.
    Quit,
    /// The server said goodbye (421): it is closing, a QUIT would only wait.
    Closed,
}

/// What an expected-code step means for the dialogue: go on, or stop.
fn stop_after(answer: &Answer) -> Option<Ending> {
    match answer {
        Ok(_) => None,
        Err(Failure::Bye { .. }) => Some(Ending::Closed),
        Err(_) => Some(Ending::Quit),
    }
}

/// A step with expected codes: a refusal or a goodbye is a fact; a broken
/// connection ends the check.
async fn expect(
    session: &mut Session,
    line: &str,
    name: &str,
    accept: &[u16],
) -> Result<Answer, Failure> {
    let answer = net_dialogue::step(
        &mut session.lines,
        &mut Numeric { accept },
        line,
        name,
        "refused",
    )
    .await;
    match answer {
        Err(f @ Failure::Net { .. }) => Err(f),
        other => Ok(other),
    }
}

/// After a reply that ends the dialogue: a 421 means the server is closing.
fn ending_of(code: u16) -> Ending {
    if code == 421 {
        Ending::Closed
    } else {
        Ending::Quit
    }
}

/// Connects and talks; records what the server said and nothing else.
/// Only a broken connection (or one never made) is an error.
async fn converse(args: &Args, plan: &Plan, deadline: Deadline) -> Result<Facts, Failure> {
    let tls_options = args.tls.options(plan.credentials.is_some());
    let mut session = Session::open_for(
        &args.net,
        args.tls_mode(),
        (25, 465),
        &tls_options,
        deadline,
    )
    .await?;
    let during = "waiting for the greeting";
    let greeting = session
        .lines
        .read_reply(during)
        .await
        .map_err(|e| Failure::net(e, during))?;
    let mut facts = Facts::new(greeting);
    let fqdn = args.fqdn.clone().unwrap_or_else(default_fqdn);
    let ending = match greet(&mut session, args, &fqdn, &mut facts).await? {
        Some(ending) => ending,
        None => {
            if facts.starttls.is_some() {
                session = session.starttls(&tls_options).await?;
            }
            proceed(&mut session, args, plan, &fqdn, &mut facts).await?
        }
    };
    facts.goodbye = match ending {
        Ending::Quit => quit(&mut session).await,
        Ending::Closed => {
            session.lines.shutdown().await;
            Goodbye::NotNeeded
        }
    };
    facts.session = session.facts(session.started.elapsed());
    Ok(facts)
}

/// EHLO (C matches -e against the greeting or its reply) and, with
/// STARTTLS, the upgrade command. `None` to go on (over TLS when
/// `facts.starttls` says so), else how the dialogue ends.
async fn greet(
    session: &mut Session,
    args: &Args,
    fqdn: &str,
    facts: &mut Facts,
) -> Result<Option<Ending>, Failure> {
    let greeting_matches = facts.greeting.first_line().contains(&args.expect);
    facts.expect_matched = greeting_matches;
    // A greeting that is not 220 gets no EHLO, as in C.
    if !greeting_matches && facts.greeting.code != 220 {
        return Ok(Some(ending_of(facts.greeting.code)));
    }
    let greeted = hello(&mut session.lines, fqdn, args.lmtp).await?;
    let (accepted, code) = (greeted.accepted(), greeted.reply.code);
    let offers_starttls = greeted.offers("STARTTLS");
    if accepted && !greeting_matches {
        facts.expect_matched = greeted.reply.lines.iter().any(|l| l.contains(&args.expect));
    }
    facts.hello = Some(greeted);
    if !accepted {
        return Ok(Some(ending_of(code)));
    }
    if !facts.expect_matched || (args.tls_mode() == TlsMode::StartTls && !offers_starttls) {
        return Ok(Some(Ending::Quit));
    }
    if args.tls_mode() == TlsMode::StartTls {
        let answer = expect(session, "STARTTLS", "STARTTLS", &[220]).await?;
        let stop = stop_after(&answer);
        facts.starttls = Some(answer);
        return Ok(stop);
    }
    Ok(None)
}

/// EHLO again over TLS, AUTH, the -C commands and the transaction.
async fn proceed(
    session: &mut Session,
    args: &Args,
    plan: &Plan,
    fqdn: &str,
    facts: &mut Facts,
) -> Result<Ending, Failure> {
    let mut offered = facts
        .hello
        .as_ref()
        .map(Hello::auth_mechanisms)
        .unwrap_or_default();
    if facts.starttls.is_some() {
        let again = hello(&mut session.lines, fqdn, args.lmtp).await?;
        let (accepted, code) = (again.accepted(), again.reply.code);
        offered = again.auth_mechanisms();
        facts.hello_tls = Some(again);
        if !accepted {
            return Ok(ending_of(code));
        }
    }

    if let Some((mechanism, user, password)) = &plan.credentials {
        let reply = authenticate(&mut session.lines, *mechanism, user, password).await?;
        let code = reply.code;
        facts.auth = Some(AuthFacts { reply, offered });
        if code != 235 {
            return Ok(ending_of(code));
        }
    }

    for line in &args.command {
        let verb = line.split_whitespace().next().unwrap_or(line);
        let reply = exchange(&mut session.lines, line, verb).await?;
        let code = reply.code;
        facts.commands.push((line.clone(), reply));
        if code == 421 {
            return Ok(Ending::Closed);
        }
    }

    transaction(session, args, fqdn, facts).await
}

/// MAIL FROM, RCPT TO, DATA and the message; stops at a refused MAIL FROM
/// or DATA, and resets when no message is sent.
async fn transaction(
    session: &mut Session,
    args: &Args,
    fqdn: &str,
    facts: &mut Facts,
) -> Result<Ending, Failure> {
    let Some(from) = &args.from else {
        return Ok(Ending::Quit);
    };
    let answer = expect(
        session,
        &format!("MAIL FROM:<{from}>"),
        &format!("MAIL FROM <{from}>"),
        &[250],
    )
    .await?;
    let stop = stop_after(&answer);
    facts.mail_from = Some(answer);
    if let Some(ending) = stop {
        return Ok(ending);
    }
    let mut accepted = Vec::new();
    for rcpt in &args.rcpt_to {
        let answer = expect(
            session,
            &format!("RCPT TO:<{rcpt}>"),
            &format!("RCPT TO <{rcpt}>"),
            &[250, 251],
        )
        .await?;
        let stop = stop_after(&answer);
        facts.rcpt_to.push((rcpt.clone(), answer));
        match stop {
            None => accepted.push(rcpt.clone()),
            Some(Ending::Closed) => return Ok(Ending::Closed),
            Some(Ending::Quit) => {}
        }
    }
    if !(args.send_mail && !accepted.is_empty() && accepted.len() == args.rcpt_to.len()) {
        // Leave the server's state clean.
        facts.rset = Some(exchange(&mut session.lines, "RSET", "RSET").await?);
        return Ok(Ending::Quit);
    }
    let answer = expect(session, "DATA", "DATA", &[354]).await?;
    let stop = stop_after(&answer);
    facts.data = Some(answer);
    if let Some(ending) = stop {
        return Ok(ending);
    }
    let id = format!("{}.{}", now_epoch(), std::process::id());
    let message = dialogue::test_message(from, &accepted, fqdn, &rfc5322(now_epoch()), &id);
    net_dialogue::send(&mut session.lines, &message, "the message").await?;
    // LMTP answers once per recipient.
    let replies = if args.lmtp { accepted.len() } else { 1 };
    let during = "waiting for the reply to the message";
    for _ in 0..replies {
        let reply = session
            .lines
            .read_reply(during)
            .await
            .map_err(|e| Failure::net(e, during))?;
        let code = reply.code;
        facts.message.push(reply);
        if code == 421 {
            return Ok(Ending::Closed);
        }
    }
    Ok(Ending::Quit)
}

/// QUIT, expecting 221; the write side is closed afterwards.
async fn quit(session: &mut Session) -> Goodbye {
    let answer = net_dialogue::step(
        &mut session.lines,
        &mut Numeric { accept: &[221] },
        "QUIT",
        "QUIT",
        "rejected",
    )
    .await;
    session.lines.shutdown().await;
    match answer {
        Ok(reply) => Goodbye::Said(reply.first_line().to_string()),
        Err(f) => Goodbye::Failed(f),
    }
}

/// Plans, converses and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let plan = plan(&args)?;
    let timeout = args.common.timeout;
    let deadline = Deadline::from_timeout(&timeout);
    let facts = block_on(converse(&args, &plan, deadline))?
        .map_err(|f| f.into_check_error(&timeout, State::Critical, false))?;
    Ok(evaluate(&args, &facts))
}

/// A part with its state.
fn part(state: State, text: impl Into<String>) -> CheckResult {
    CheckResult::with_state(state, text)
}

/// A refused step or a goodbye during it, by the one failure policy.
fn failed(args: &Args, failure: &Failure) -> CheckResult {
    part(
        failure.state(&args.common.timeout, State::Critical),
        failure.message(false),
    )
}

/// Judges the facts: each step a part, folded on top of the session's
/// common parts (greeting, TLS, certificate, time), what went wrong first.
pub fn evaluate(args: &Args, facts: &Facts) -> CheckResult {
    let thresholds = args.thresholds.thresholds();
    let greeting = printable(facts.greeting.first_line().as_bytes(), SHOWN);
    let hello_refused = facts.hello.as_ref().is_some_and(|h| !h.accepted());
    // C's -e judges the reply to EHLO only when EHLO was accepted.
    let mismatch = !facts.expect_matched && !hello_refused;
    // The greeting is in the mismatch text already: not twice on the line.
    let shown = if mismatch { "" } else { greeting.as_str() };
    let mut parts =
        facts
            .session
            .common_parts(shown, "STARTTLS", &thresholds, args.tls.certificate);
    if mismatch {
        parts.push(part(
            State::Warning,
            format!("Invalid SMTP response received from host: {greeting}"),
        ));
    }
    if let Some(h) = facts.hello.as_ref().filter(|h| !h.accepted()) {
        parts.push(part(
            State::Warning,
            format!("{} refused: {}", h.command(), reply_text(&h.reply)),
        ));
    }
    let greeted = facts.hello.as_ref().filter(|h| h.accepted());
    if let Some(h) = greeted {
        if !mismatch && args.tls_mode() == TlsMode::StartTls && !h.offers("STARTTLS") {
            parts.push(part(State::Warning, "STARTTLS not offered by the server"));
        }
    }
    if let Some(Err(f)) = &facts.starttls {
        parts.push(failed(args, f));
    }
    if let Some(h) = facts.hello_tls.as_ref().filter(|h| !h.accepted()) {
        parts.push(part(
            State::Critical,
            format!(
                "{} after STARTTLS refused: {}",
                h.command(),
                reply_text(&h.reply)
            ),
        ));
    }
    if let Some(auth) = &facts.auth {
        parts.push(auth_part(args, auth));
    }
    parts.extend(command_parts(args, facts));
    parts.extend(transaction_parts(args, facts));
    if let Some(p) = goodbye_part(args, &facts.goodbye) {
        parts.push(p);
    }
    let mut result = CheckResult::of_parts(parts);
    if args.common.verbosity() > 0 {
        result.details.extend(facts.session.transcript.lines());
    }
    result
}

/// `AUTH PLAIN as monitor`, or why not, with the mechanisms the server
/// offers when the one asked for is not among them.
fn auth_part(args: &Args, auth: &AuthFacts) -> CheckResult {
    let mechanism = args.authtype.map_or("", AuthMechanism::name);
    if auth.reply.code == 235 {
        let user = args.authuser.as_deref().unwrap_or_default();
        return part(State::Ok, format!("AUTH {mechanism} as {user}"));
    }
    let hint = if auth.offered.iter().any(|m| m == mechanism) {
        String::new()
    } else if auth.offered.is_empty() {
        " (server offers no AUTH)".to_string()
    } else {
        format!(" (server offers {})", auth.offered.join(" "))
    };
    part(
        State::Critical,
        format!("AUTH {mechanism} failed: {}{hint}", reply_text(&auth.reply)),
    )
}

/// Each -C command with its reply, judged by its -R when given.
fn command_parts(args: &Args, facts: &Facts) -> Vec<CheckResult> {
    let expected = match responses(args) {
        Ok(r) => r,
        Err(e) => return vec![part(e.state, e.message)],
    };
    facts
        .commands
        .iter()
        .zip(expected.iter().chain(std::iter::repeat(&None)))
        .map(|((line, reply), re)| {
            let text = reply_text(reply);
            let matched = re
                .as_ref()
                .is_none_or(|re| reply.lines.iter().any(|l| re.is_match(l)));
            if matched {
                part(State::Ok, format!("{line}: {text}"))
            } else {
                part(
                    State::Warning,
                    format!("Invalid response '{text}' to command '{line}'"),
                )
            }
        })
        .collect()
}

/// MAIL FROM, RCPT TO, DATA and the message, each step a part.
fn transaction_parts(args: &Args, facts: &Facts) -> Vec<CheckResult> {
    let mut parts = Vec::new();
    let step = |answer: &Answer, done: String| match answer {
        Ok(_) => part(State::Ok, done),
        Err(f) => failed(args, f),
    };
    if let (Some(answer), Some(from)) = (&facts.mail_from, &args.from) {
        parts.push(step(answer, format!("MAIL FROM <{from}>")));
    }
    for (rcpt, answer) in &facts.rcpt_to {
        parts.push(step(answer, format!("RCPT TO <{rcpt}>")));
    }
    if let Some(answer) = &facts.data {
        parts.push(step(answer, "DATA".to_string()));
    }
    for reply in &facts.message {
        let text = reply_text(reply);
        parts.push(if reply.code == 250 {
            part(State::Ok, format!("message accepted: {text}"))
        } else {
            part(State::Critical, format!("message refused: {text}"))
        });
    }
    parts
}

/// A QUIT not answered with 221: WARNING (the check itself went through),
/// or the -t state when the server went silent; nothing with -q.
fn goodbye_part(args: &Args, goodbye: &Goodbye) -> Option<CheckResult> {
    let Goodbye::Failed(f) = goodbye else {
        return None;
    };
    if args.ignore_quit_failure {
        return None;
    }
    Some(match f {
        Failure::Rejected { reply, .. } | Failure::Bye { line: reply, .. } => {
            part(State::Warning, format!("QUIT answered {reply}"))
        }
        f => part(
            f.closing_state(&args.common.timeout),
            format!("QUIT failed: {}", f.message(false)),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, clap::Error> {
        let mut argv = vec!["check_smtp_rs", "-H", "127.0.0.1"];
        argv.extend_from_slice(list);
        Args::try_parse_from(argv)
    }

    #[test]
    fn c_options_parse() {
        let a = args(&[
            "-p",
            "2525",
            "-e",
            "ESMTP",
            "-C",
            "MAIL FROM:<a@vm>",
            "-R",
            "250",
            "-F",
            "me",
            "-S",
            "-D",
            "30,14",
            "-A",
            "PLAIN",
            "-U",
            "u",
            "-P",
            "pw-opt-test",
            "-L",
            "-q",
            "-w",
            "1",
            "-c",
            "2",
            "-t",
            "5",
        ])
        .unwrap();
        assert!(a.starttls && a.lmtp && a.ignore_quit_failure);
        assert_eq!(a.authtype, Some(AuthMechanism::Plain));
        assert!(plan(&a).is_ok());
    }

    #[test]
    fn plan_rejects_inconsistent_options() {
        let a = args(&["-R", "250"]).unwrap();
        assert!(plan(&a).is_err());
        let a = args(&["-C", "NOOP", "-R", "("]).unwrap();
        assert!(plan(&a).is_err());
        // A password is never sent in clear text unless allowed.
        let a = args(&["-A", "LOGIN", "-U", "u", "-P", "pw-plain-test"]).unwrap();
        assert_eq!(plan(&a).err().map(|e| e.state), Some(State::Unknown));
        let a = args(&[
            "-A",
            "LOGIN",
            "-U",
            "u",
            "-P",
            "pw-plain-test",
            "--allow-plaintext",
        ])
        .unwrap();
        assert!(plan(&a).is_ok());
        assert!(args(&["-A", "LOGIN"]).is_err());
        assert!(args(&["-A", "CRAM-MD5", "-U", "u", "-P", "p"]).is_err());
        assert!(args(&["--rcpt-to", "a@b"]).is_err());
        assert!(args(&["--send-mail", "-f", "a@b"]).is_err());
        assert!(args(&["-S", "-s"]).is_err());
    }

    // ---- evaluate, with hand-made facts ----

    use rsplugins::net::{NetError, Transcript};
    use rsplugins::tls::{CertFacts, TlsFacts, TlsSummary};
    use std::time::Duration;

    fn a(list: &[&str]) -> Args {
        args(list).unwrap()
    }

    fn reply(lines: &[&str]) -> Reply {
        Reply {
            code: lines[0][..3].parse().unwrap(),
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    fn ehlo(lines: &[&str]) -> Hello {
        Hello {
            verb: "EHLO",
            name: "probe.test".into(),
            reply: reply(lines),
        }
    }

    const EHLO: &[&str] = &[
        "250-mx.test",
        "250-STARTTLS",
        "250-AUTH PLAIN",
        "250 8BITMIME",
    ];

    fn session() -> SessionFacts {
        SessionFacts {
            host: "localhost".into(),
            target: "127.0.0.1 port 25".into(),
            connect_time: Duration::from_millis(1),
            elapsed: Duration::from_millis(4),
            ..SessionFacts::default()
        }
    }

    /// Greeted, EHLO answered, QUIT answered.
    fn good() -> Facts {
        Facts {
            session: session(),
            hello: Some(ehlo(EHLO)),
            goodbye: Goodbye::Said("221 2.0.0 Bye".into()),
            ..Facts::new(reply(&["220 mx.test ESMTP"]))
        }
    }

    /// STARTTLS done, with a certificate `days_left` days from expiry.
    fn over_tls(days_left: i64) -> Facts {
        let now = rsplugins::clock::now_epoch();
        let mut f = good();
        f.session.tls = Some(TlsSummary {
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
            upgraded: true,
        });
        f.starttls = Some(Ok(reply(&["220 2.0.0 Ready to start TLS"])));
        f.hello_tls = Some(ehlo(&["250-mx.test", "250 AUTH PLAIN LOGIN"]));
        f
    }

    fn judge(list: &[&str], facts: &Facts) -> (State, String) {
        let r = evaluate(&a(list), facts);
        (r.state(), r.summary)
    }

    fn perfdata(r: &CheckResult) -> String {
        r.all_perfdata()
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn rejected(step: &str, reply: &str) -> Failure {
        Failure::Rejected {
            step: step.into(),
            verb: "refused",
            reply: reply.into(),
        }
    }

    #[test]
    fn a_plain_dialogue_is_the_greeting_and_the_time() {
        let r = evaluate(&a(&[]), &good());
        assert_eq!(r.state(), State::Ok);
        assert_eq!(r.summary, "220 mx.test ESMTP, 0.004 s");
        assert_eq!(perfdata(&r), "time=0.004s;;;0 connect_time=0.001s;;;0");
        assert!(r.details.is_empty());
        // Slow: judged, and first.
        assert_eq!(
            judge(&["-w", "0.001"], &good()),
            (State::Warning, "0.004 s, 220 mx.test ESMTP".into())
        );
    }

    #[test]
    fn verbose_shows_the_transcript() {
        let mut f = good();
        let mut t = Transcript::default();
        t.received("220 mx.test ESMTP");
        t.sent("EHLO probe.test\r\n");
        t.received("250 mx.test");
        f.session.transcript = t;
        assert_eq!(
            evaluate(&a(&["-v"]), &f).details,
            ["< 220 mx.test ESMTP", "> EHLO probe.test", "< 250 mx.test"]
        );
        assert!(evaluate(&a(&[]), &f).details.is_empty());
    }

    #[test]
    fn an_expect_mismatch_shows_the_greeting_once() {
        let mut f = good();
        f.expect_matched = false;
        assert_eq!(
            judge(&["-e", "NOPE"], &f),
            (
                State::Warning,
                "Invalid SMTP response received from host: 220 mx.test ESMTP, 0.004 s".into()
            )
        );
        // 421: no EHLO, no QUIT.
        let f = Facts {
            session: session(),
            expect_matched: false,
            ..Facts::new(reply(&["421 4.3.2 mx.test busy, closing"]))
        };
        assert_eq!(
            judge(&[], &f),
            (
                State::Warning,
                "Invalid SMTP response received from host: 421 4.3.2 mx.test busy, closing, \
                 0.004 s"
                    .into()
            )
        );
    }

    #[test]
    fn a_refused_hello() {
        let mut f = good();
        f.hello = Some(Hello {
            verb: "HELO",
            ..ehlo(&["501 5.5.2 go away"])
        });
        assert_eq!(
            judge(&[], &f),
            (
                State::Warning,
                "HELO probe.test refused: 501 5.5.2 go away, 220 mx.test ESMTP, 0.004 s".into()
            )
        );
        // Over TLS it is CRITICAL.
        let mut f = over_tls(100);
        f.hello_tls = Some(ehlo(&["554 5.7.0 no"]));
        assert_eq!(
            judge(&["-S"], &f),
            (
                State::Critical,
                "EHLO probe.test after STARTTLS refused: 554 5.7.0 no, 220 mx.test ESMTP, \
                 STARTTLS TLSv1.3, cert localhost 100 days left, 0.004 s"
                    .into()
            )
        );
    }

    #[test]
    fn starttls_not_offered_or_refused() {
        let mut f = good();
        f.hello = Some(ehlo(&["250-mx.test", "250 8BITMIME"]));
        assert_eq!(
            judge(&["-S"], &f),
            (
                State::Warning,
                "STARTTLS not offered by the server, 220 mx.test ESMTP, 0.004 s".into()
            )
        );
        // Without -S nobody asked for it.
        assert_eq!(judge(&[], &f).0, State::Ok);
        let mut f = good();
        f.starttls = Some(Err(rejected(
            "STARTTLS",
            "454 4.7.0 TLS not available due to local problem",
        )));
        assert_eq!(
            judge(&["-S"], &f),
            (
                State::Critical,
                "STARTTLS refused: 454 4.7.0 TLS not available due to local problem, \
                 220 mx.test ESMTP, 0.004 s"
                    .into()
            )
        );
    }

    #[test]
    fn the_certificate_by_the_one_rule() {
        let r = evaluate(&a(&["-S", "-D", "30,14"]), &over_tls(200));
        assert_eq!(r.state(), State::Ok);
        assert_eq!(
            r.summary,
            "220 mx.test ESMTP, STARTTLS TLSv1.3, cert localhost 200 days left, 0.004 s"
        );
        assert_eq!(
            perfdata(&r),
            "time=0.004s;;;0 connect_time=0.001s;;;0 tls_time=0.002s;;;0"
        );
        assert_eq!(
            judge(&["-S", "-D", "30,14"], &over_tls(3)),
            (
                State::Critical,
                "cert localhost 3 days left, 220 mx.test ESMTP, STARTTLS TLSv1.3, 0.004 s".into()
            )
        );
        assert_eq!(judge(&["-S", "-D", "30,2"], &over_tls(3)).0, State::Warning);
        // Close to expiry without -D: mentioned, not judged.
        assert_eq!(judge(&["-S"], &over_tls(3)).0, State::Ok);
    }

    #[test]
    fn auth_as_user_or_failed_with_what_the_server_offers() {
        let login = ["-A", "LOGIN", "-U", "monitor", "-P", "pw-eval-test", "-S"];
        let mut f = over_tls(100);
        f.auth = Some(AuthFacts {
            reply: reply(&["235 2.7.0 Authentication successful"]),
            offered: vec!["PLAIN".into(), "LOGIN".into()],
        });
        assert_eq!(
            judge(&login, &f),
            (
                State::Ok,
                "220 mx.test ESMTP, STARTTLS TLSv1.3, cert localhost 100 days left, 0.004 s, \
                 AUTH LOGIN as monitor"
                    .into()
            )
        );
        let failed = |offered: &[&str]| {
            let mut f = good();
            f.auth = Some(AuthFacts {
                reply: reply(&["535 5.7.8 Error: authentication failed"]),
                offered: offered.iter().map(|m| m.to_string()).collect(),
            });
            judge(&login, &f)
        };
        assert_eq!(
            failed(&["PLAIN"]),
            (
                State::Critical,
                "AUTH LOGIN failed: 535 5.7.8 Error: authentication failed (server offers \
                 PLAIN), 220 mx.test ESMTP, 0.004 s"
                    .into()
            )
        );
        assert_eq!(
            failed(&[]).1,
            "AUTH LOGIN failed: 535 5.7.8 Error: authentication failed (server offers no AUTH), \
             220 mx.test ESMTP, 0.004 s"
        );
        assert_eq!(
            failed(&["PLAIN", "LOGIN"]).1,
            "AUTH LOGIN failed: 535 5.7.8 Error: authentication failed, 220 mx.test ESMTP, 0.004 s"
        );
    }

    #[test]
    fn commands_judged_by_their_responses() {
        let list = ["-C", "NOOP", "-R", "^250", "-C", "VRFY root", "-R", "^250"];
        let mut f = good();
        f.commands = vec![
            ("NOOP".into(), reply(&["250 2.0.0 Ok"])),
            ("VRFY root".into(), reply(&["252 2.0.0 root"])),
        ];
        assert_eq!(
            judge(&list, &f),
            (
                State::Warning,
                "Invalid response '252 2.0.0 root' to command 'VRFY root', 220 mx.test ESMTP, \
                 0.004 s, NOOP: 250 2.0.0 Ok"
                    .into()
            )
        );
        // Without -R any reply will do.
        assert_eq!(judge(&["-C", "NOOP", "-C", "VRFY root"], &f).0, State::Ok);
    }

    #[test]
    fn mail_and_rcpt_refused() {
        let list = [
            "-f",
            "probe@test",
            "--rcpt-to",
            "monitor@localhost",
            "--rcpt-to",
            "nobody@localhost",
        ];
        let mut f = good();
        f.mail_from = Some(Ok(reply(&["250 2.1.0 Ok"])));
        f.rcpt_to = vec![
            ("monitor@localhost".into(), Ok(reply(&["250 2.1.5 Ok"]))),
            (
                "nobody@localhost".into(),
                Err(rejected(
                    "RCPT TO <nobody@localhost>",
                    "550 5.1.1 <nobody@localhost>: Recipient address rejected",
                )),
            ),
        ];
        f.rset = Some(reply(&["250 2.0.0 Ok"]));
        assert_eq!(
            judge(&list, &f),
            (
                State::Critical,
                "RCPT TO <nobody@localhost> refused: 550 5.1.1 <nobody@localhost>: Recipient \
                 address rejected, 220 mx.test ESMTP, 0.004 s, MAIL FROM <probe@test>, \
                 RCPT TO <monitor@localhost>"
                    .into()
            )
        );
        let mut f = good();
        f.mail_from = Some(Err(rejected(
            "MAIL FROM <probe@test>",
            "553 5.7.1 sender rejected",
        )));
        assert_eq!(
            judge(&list, &f),
            (
                State::Critical,
                "MAIL FROM <probe@test> refused: 553 5.7.1 sender rejected, 220 mx.test ESMTP, \
                 0.004 s"
                    .into()
            )
        );
    }

    #[test]
    fn a_message_sent_or_refused() {
        let list = [
            "-f",
            "probe@test",
            "--rcpt-to",
            "monitor@localhost",
            "--send-mail",
        ];
        let mut f = good();
        f.mail_from = Some(Ok(reply(&["250 2.1.0 Ok"])));
        f.rcpt_to = vec![("monitor@localhost".into(), Ok(reply(&["250 2.1.5 Ok"])))];
        f.data = Some(Ok(reply(&["354 End data with <CR><LF>.<CR><LF>"])));
        f.message = vec![reply(&["250 2.0.0 Ok: queued as ABC123"])];
        assert_eq!(
            judge(&list, &f),
            (
                State::Ok,
                "220 mx.test ESMTP, 0.004 s, MAIL FROM <probe@test>, RCPT TO \
                 <monitor@localhost>, DATA, message accepted: 250 2.0.0 Ok: queued as ABC123"
                    .into()
            )
        );
        f.message = vec![reply(&["452 4.2.2 Mailbox full"])];
        assert_eq!(
            judge(&list, &f),
            (
                State::Critical,
                "message refused: 452 4.2.2 Mailbox full, 220 mx.test ESMTP, 0.004 s, \
                 MAIL FROM <probe@test>, RCPT TO <monitor@localhost>, DATA"
                    .into()
            )
        );
        // A goodbye instead of an answer to DATA.
        f.data = Some(Err(Failure::Bye {
            step: "DATA".into(),
            line: "421 4.3.0 shutting down".into(),
        }));
        f.message.clear();
        f.goodbye = Goodbye::NotNeeded;
        assert_eq!(
            judge(&list, &f),
            (
                State::Critical,
                "the server closed the connection during DATA: 421 4.3.0 shutting down, \
                 220 mx.test ESMTP, 0.004 s, MAIL FROM <probe@test>, RCPT TO <monitor@localhost>"
                    .into()
            )
        );
    }

    #[test]
    fn a_failed_quit_is_a_warning_or_the_timeout_state_unless_ignored() {
        let mut f = good();
        f.goodbye = Goodbye::Failed(Failure::Rejected {
            step: "QUIT".into(),
            verb: "rejected",
            reply: "500 what".into(),
        });
        assert_eq!(
            judge(&[], &f),
            (
                State::Warning,
                "QUIT answered 500 what, 220 mx.test ESMTP, 0.004 s".into()
            )
        );
        assert_eq!(
            judge(&["-q"], &f),
            (State::Ok, "220 mx.test ESMTP, 0.004 s".into())
        );
        let during = "waiting for the reply to QUIT";
        f.goodbye = Goodbye::Failed(Failure::net(
            NetError::timeout(during, Duration::from_secs(2)),
            during,
        ));
        assert_eq!(
            judge(&["-t", "2:UNKNOWN"], &f),
            (
                State::Unknown,
                "QUIT failed: timed out after 2 seconds waiting for the reply to QUIT, \
                 220 mx.test ESMTP, 0.004 s"
                    .into()
            )
        );
        assert_eq!(judge(&["-t", "2:UNKNOWN", "-q"], &f).0, State::Ok);
        f.goodbye = Goodbye::Failed(Failure::net(
            NetError::Closed {
                partial: String::new(),
                during: String::new(),
            },
            during,
        ));
        assert_eq!(
            judge(&[], &f),
            (
                State::Warning,
                "QUIT failed: connection closed by the server while waiting for the reply to \
                 QUIT, 220 mx.test ESMTP, 0.004 s"
                    .into()
            )
        );
        // Problems first: the certificate's, then the goodbye's.
        let mut f = over_tls(3);
        f.goodbye = Goodbye::Failed(Failure::Bye {
            step: "QUIT".into(),
            line: "421 closing".into(),
        });
        assert_eq!(
            judge(&["-S", "-D", "30,14"], &f),
            (
                State::Critical,
                "cert localhost 3 days left, QUIT answered 421 closing, 220 mx.test ESMTP, \
                 STARTTLS TLSv1.3, 0.004 s"
                    .into()
            )
        );
    }
}
