//! check_smtp_rs: an SMTP (or LMTP) server's greeting, EHLO, STARTTLS,
//! AUTH, custom commands and, beyond C check_smtp, a full mail transaction.

pub mod dialogue;

use std::time::Instant;

use clap::{ArgAction, Parser};
use regex::Regex;
use rsplugins::clock::{now_epoch, rfc5322};
use rsplugins::net::runtime::block_on;
use rsplugins::net::{printable, Deadline, NetError, TlsMode};
use rsplugins::options::{CommonArgs, NetArgs, ThresholdArgs};
use rsplugins::secret::Secret;
use rsplugins::tls::{require_tls_for_credentials, Session, TlsArgs};
use rsplugins::{CheckError, CheckResult, State};

use dialogue::{authenticate, hello, step, Answer, AuthMechanism};

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

/// One reported step of the dialogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// State of the step.
    pub state: State,
    /// One line about it.
    pub text: String,
}

/// Everything the dialogue gave.
pub struct Transcript {
    /// The session (timings, TLS).
    pub session: Session,
    /// Greeting first line.
    pub greeting: String,
    /// Steps after the greeting, in order.
    pub steps: Vec<Outcome>,
    /// Commands and replies for -v (secrets masked).
    pub lines: Vec<String>,
}

fn answer_text(a: &Answer) -> String {
    printable(a.reply.lines.join(" / ").as_bytes(), 300)
}

fn record(lines: &mut Vec<String>, a: &Answer) {
    lines.push(format!("> {}", a.sent));
    for l in &a.reply.lines {
        lines.push(format!("< {l}"));
    }
}

fn default_fqdn() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

struct Plan {
    responses: Vec<Option<Regex>>,
    credentials: Option<(AuthMechanism, String, String)>,
}

fn plan(args: &Args) -> Result<Plan, CheckError> {
    if args.response.len() > args.command.len() {
        return Err(CheckError::unknown("more -R responses than -C commands"));
    }
    let mut responses = Vec::new();
    for i in 0..args.command.len() {
        let re = match args.response.get(i) {
            Some(r) => {
                Some(Regex::new(r).map_err(|e| CheckError::unknown(format!("-R '{r}': {e}")))?)
            }
            None => None,
        };
        responses.push(re);
    }
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
    Ok(Plan {
        responses,
        credentials,
    })
}

/// Connects and runs the dialogue. Server answers that are wrong are
/// outcomes; only a broken connection is an error.
async fn converse(args: &Args, plan: &Plan, deadline: Deadline) -> Result<Transcript, NetError> {
    let credentials = plan.credentials.is_some();
    let tls_options = args.tls.options(credentials);
    let mut session = Session::open_for(
        &args.net,
        args.tls_mode(),
        (25, 465),
        &tls_options,
        deadline,
    )
    .await?;
    let mut lines = Vec::new();
    let mut steps = Vec::new();
    let greeting = session.lines.read_reply("waiting for the greeting").await?;
    let greeting_line = printable(greeting.first_line().as_bytes(), 300);
    for l in &greeting.lines {
        lines.push(format!("< {l}"));
    }
    let transcript = |session, steps, lines| Transcript {
        session,
        greeting: greeting_line.clone(),
        steps,
        lines,
    };
    // C matches -e against the greeting or the HELO/EHLO reply; a greeting
    // that is not 220 gets no HELO (421: the server is closing, so no QUIT).
    let mismatch = Outcome {
        state: State::Warning,
        text: format!("Invalid SMTP response received from host: {greeting_line}"),
    };
    // The greeting is in the mismatch text already: not twice on the line.
    let mismatched = |session, mut steps: Vec<Outcome>, lines| {
        steps.push(mismatch.clone());
        Transcript {
            session,
            greeting: String::new(),
            steps,
            lines,
        }
    };
    let greeting_matches = greeting.first_line().contains(&args.expect);
    if !greeting_matches && greeting.code != 220 {
        if greeting.code == 421 {
            session.lines.shutdown().await;
        } else {
            quit(&mut session, args, &mut steps, &mut lines).await;
        }
        return Ok(mismatched(session, steps, lines));
    }

    let fqdn = args.fqdn.clone().unwrap_or_else(default_fqdn);
    let mut greeted = match hello(&mut session.lines, &fqdn, args.lmtp).await? {
        Ok(h) => h,
        Err(a) => {
            record(&mut lines, &a);
            steps.push(Outcome {
                state: State::Warning,
                text: format!("{} refused: {}", a.sent, answer_text(&a)),
            });
            quit(&mut session, args, &mut steps, &mut lines).await;
            return Ok(transcript(session, steps, lines));
        }
    };
    lines.push(format!("> {} {fqdn}", greeted.verb));
    lines.extend(greeted.reply.lines.iter().map(|l| format!("< {l}")));
    if !greeting_matches && !greeted.reply.lines.iter().any(|l| l.contains(&args.expect)) {
        quit(&mut session, args, &mut steps, &mut lines).await;
        return Ok(mismatched(session, steps, lines));
    }

    if args.tls_mode() == TlsMode::StartTls {
        if !greeted.offers("STARTTLS") {
            steps.push(Outcome {
                state: State::Warning,
                text: "STARTTLS not offered by the server".to_string(),
            });
            quit(&mut session, args, &mut steps, &mut lines).await;
            return Ok(transcript(session, steps, lines));
        }
        let a = step(&mut session.lines, "STARTTLS", &[220]).await?;
        record(&mut lines, &a);
        if !a.ok {
            steps.push(Outcome {
                state: State::Critical,
                text: format!("STARTTLS refused: {}", answer_text(&a)),
            });
            quit(&mut session, args, &mut steps, &mut lines).await;
            return Ok(transcript(session, steps, lines));
        }
        session = session.starttls(&tls_options).await?;
        greeted = match hello(&mut session.lines, &fqdn, args.lmtp).await? {
            Ok(h) => h,
            Err(a) => {
                steps.push(Outcome {
                    state: State::Critical,
                    text: format!("{} after STARTTLS refused: {}", a.sent, answer_text(&a)),
                });
                quit(&mut session, args, &mut steps, &mut lines).await;
                return Ok(transcript(session, steps, lines));
            }
        };
        lines.push(format!("> {} {fqdn} (over TLS)", greeted.verb));
    }

    if let Some((mechanism, user, password)) = &plan.credentials {
        let a = authenticate(&mut session.lines, *mechanism, user, password).await?;
        record(&mut lines, &a);
        let offered = greeted.auth_mechanisms();
        if a.ok {
            steps.push(Outcome {
                state: State::Ok,
                text: format!("AUTH {} as {user}", mechanism.name()),
            });
        } else {
            let hint = if offered.iter().any(|m| m == mechanism.name()) {
                String::new()
            } else if offered.is_empty() {
                " (server offers no AUTH)".to_string()
            } else {
                format!(" (server offers {})", offered.join(" "))
            };
            steps.push(Outcome {
                state: State::Critical,
                text: format!(
                    "AUTH {} failed: {}{hint}",
                    mechanism.name(),
                    answer_text(&a)
                ),
            });
            quit(&mut session, args, &mut steps, &mut lines).await;
            return Ok(transcript(session, steps, lines));
        }
    }

    for (command, expected) in args.command.iter().zip(plan.responses.iter()) {
        let verb = command.split_whitespace().next().unwrap_or(command);
        let reply = session
            .lines
            .command(command, &format!("waiting for the reply to {verb}"))
            .await?;
        let a = Answer {
            sent: command.clone(),
            ok: true,
            reply,
        };
        record(&mut lines, &a);
        let text = answer_text(&a);
        let matched = expected
            .as_ref()
            .is_none_or(|re| a.reply.lines.iter().any(|l| re.is_match(l)));
        steps.push(if matched {
            Outcome {
                state: State::Ok,
                text: format!("{command}: {text}"),
            }
        } else {
            Outcome {
                state: State::Warning,
                text: format!("Invalid response '{text}' to command '{command}'"),
            }
        });
    }

    transaction(&mut session, args, &fqdn, &mut steps, &mut lines).await?;
    quit(&mut session, args, &mut steps, &mut lines).await;
    Ok(transcript(session, steps, lines))
}

/// MAIL FROM, RCPT TO, DATA: each step reported; stops at the first refusal.
async fn transaction(
    session: &mut Session,
    args: &Args,
    fqdn: &str,
    steps: &mut Vec<Outcome>,
    lines: &mut Vec<String>,
) -> Result<(), NetError> {
    let Some(from) = &args.from else {
        return Ok(());
    };
    let mut report = |a: &Answer, what: String, fail: State| {
        record(lines, a);
        let ok = a.ok;
        steps.push(Outcome {
            state: if ok { State::Ok } else { fail },
            text: if ok {
                what
            } else {
                format!("{what} refused: {}", answer_text(a))
            },
        });
        ok
    };
    let a = step(&mut session.lines, &format!("MAIL FROM:<{from}>"), &[250]).await?;
    if !report(&a, format!("MAIL FROM <{from}>"), State::Critical) {
        return Ok(());
    }
    let mut accepted = Vec::new();
    for rcpt in &args.rcpt_to {
        let a = step(
            &mut session.lines,
            &format!("RCPT TO:<{rcpt}>"),
            &[250, 251],
        )
        .await?;
        if report(&a, format!("RCPT TO <{rcpt}>"), State::Critical) {
            accepted.push(rcpt.clone());
        }
    }
    if args.send_mail && !accepted.is_empty() && accepted.len() == args.rcpt_to.len() {
        let a = step(&mut session.lines, "DATA", &[354]).await?;
        if report(&a, "DATA".to_string(), State::Critical) {
            let id = format!("{}.{}", now_epoch(), std::process::id());
            let message = dialogue::test_message(from, &accepted, fqdn, &rfc5322(now_epoch()), &id);
            session
                .lines
                .write_all(message.as_bytes(), "sending the message")
                .await?;
            // LMTP answers once per recipient.
            let replies = if args.lmtp { accepted.len() } else { 1 };
            for _ in 0..replies {
                let reply = session
                    .lines
                    .read_reply("waiting for the message to be queued")
                    .await?;
                let a = Answer {
                    sent: "<message>".to_string(),
                    ok: reply.code == 250,
                    reply,
                };
                let text = answer_text(&a);
                report(&a, format!("message accepted: {text}"), State::Critical);
            }
        }
    } else {
        // Leave the server's state clean.
        let a = step(&mut session.lines, "RSET", &[250]).await?;
        record(lines, &a);
    }
    Ok(())
}

async fn quit(
    session: &mut Session,
    args: &Args,
    steps: &mut Vec<Outcome>,
    lines: &mut Vec<String>,
) {
    match step(&mut session.lines, "QUIT", &[221]).await {
        Ok(a) => {
            record(lines, &a);
            if !a.ok && !args.ignore_quit_failure {
                steps.push(Outcome {
                    state: State::Warning,
                    text: format!("QUIT answered {}", answer_text(&a)),
                });
            }
        }
        // The check itself went through: WARNING, or the -t state when the
        // server never answered.
        Err(e) if !args.ignore_quit_failure => steps.push(Outcome {
            state: if matches!(e, NetError::Timeout { .. }) {
                args.common.timeout.state
            } else {
                State::Warning
            },
            text: format!("QUIT failed: {e}"),
        }),
        Err(_) => {}
    }
    session.lines.shutdown().await;
}

/// Plans, converses and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let plan = plan(&args)?;
    let timeout = args.common.timeout;
    let deadline = Deadline::from_timeout(&timeout);
    let start = Instant::now();
    let transcript =
        block_on(converse(&args, &plan, deadline))?.map_err(|e| e.into_check_error(&timeout))?;
    Ok(evaluate(&args, &transcript, start.elapsed()))
}

/// Turns the transcript into a result.
pub fn evaluate(args: &Args, t: &Transcript, elapsed: std::time::Duration) -> CheckResult {
    let thresholds = args.thresholds.thresholds();
    let mut result = t.session.result(
        &t.greeting,
        "STARTTLS",
        elapsed,
        &thresholds,
        args.tls.certificate,
    );
    let base_state = result.state();
    let problems: Vec<&str> = t
        .steps
        .iter()
        .filter(|s| s.state != State::Ok)
        .map(|s| s.text.as_str())
        .collect();
    let done: Vec<&str> = t
        .steps
        .iter()
        .filter(|s| s.state == State::Ok)
        .map(|s| s.text.as_str())
        .collect();
    if !problems.is_empty() {
        result.summary = format!("{} - {}", problems.join("; "), result.summary);
    }
    let state = t.steps.iter().fold(base_state, |s, o| s.worst(o.state));
    result.set_state(state);
    for s in &done {
        result.detail(s.to_string());
    }
    if args.common.verbosity() > 0 {
        result.details.extend(t.lines.iter().cloned());
    }
    result
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
}
