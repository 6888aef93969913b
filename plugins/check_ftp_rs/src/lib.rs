//! check_ftp_rs: check an FTP server's control connection: the greeting,
//! optionally TLS (AUTH TLS, RFC 4217, or implicit FTPS), optionally a
//! login, then QUIT. Accepts C check_ftp's options (it is check_tcp's).

pub mod dialogue;

use std::time::{Duration, Instant};

use clap::Parser;
use rsplugins::net::runtime::block_on;
use rsplugins::net::{
    printable, AddressFamily, Deadline, Limits, NetError, ProbeArgs, Reply, TlsMode,
};
use rsplugins::options::{CommonArgs, NetArgs, ThresholdArgs};
use rsplugins::tls::{require_tls_for_credentials, LoginArgs, Session, TlsArgs, TlsOptions};
use rsplugins::{CheckError, CheckResult, State};

use dialogue::{Greeting, Login, Quit, StepError, Transcript};

/// Service name on the first output line.
pub const SERVICE: &str = "FTP";

/// The FTP control port.
pub const PORT: u16 = 21;

/// The implicit FTPS port.
pub const IMPLICIT_PORT: u16 = 990;

/// Password sent for an anonymous login when none is given (RFC 1635 asks
/// for something mail-like).
pub const ANONYMOUS_PASSWORD: &str = "rsplugins@";

/// Check an FTP server.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_ftp_rs",
    version,
    about = "Check an FTP server: greeting, optionally AUTH TLS or implicit FTPS, optionally a \
             login (drop-in for check_ftp)"
)]
pub struct Args {
    // -H, -p (default 21, with -S 990), -4, -6
    #[command(flatten)]
    pub net: NetArgs,

    /// Upgrade to TLS with AUTH TLS (RFC 4217) after the greeting (-D without -S
    /// implies it, or implicit TLS with -p 990)
    #[arg(long = "starttls", conflicts_with = "ssl")]
    pub starttls: bool,

    /// Use TLS from the start of the connection (implicit FTPS; default port 990)
    #[arg(short = 'S', long = "ssl")]
    pub ssl: bool,

    #[command(flatten)]
    pub tls: TlsArgs,

    #[command(flatten)]
    pub login: LoginArgs,

    #[command(flatten)]
    pub probe: ProbeArgs,

    #[command(flatten)]
    pub thresholds: ThresholdArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

/// Who logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub user: String,
    /// The password, when one is sent.
    pub password: Option<String>,
    /// `anonymous` or `ftp`: the password is not a secret.
    pub anonymous: bool,
}

/// What the options ask for, checked before connecting.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Port to connect to.
    pub port: u16,
    /// TLS mode.
    pub tls: TlsMode,
    /// TLS options (verification on when a real password crosses).
    pub tls_options: TlsOptions,
    /// The login, if any.
    pub login: Option<Credentials>,
    /// Bytes of the -s string.
    pub send: Option<Vec<u8>>,
    /// Bytes of the quit string.
    pub quit: Vec<u8>,
    /// Whether the reply to it is awaited: for our QUIT, not for the user's
    /// `-q` string (as C, which sends it and leaves: with `-E` it may lack
    /// the line end a server would answer).
    pub quit_waits: bool,
    /// -d.
    pub delay: Option<Duration>,
}

/// Whether `user` is an anonymous login (RFC 1635).
pub fn is_anonymous(user: &str) -> bool {
    user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp")
}

/// Works out the plan; UNKNOWN for a password that would cross in clear text.
pub fn plan(args: &Args) -> Result<Plan, CheckError> {
    let tls = args
        .tls
        .mode(args.ssl, args.starttls, args.net.port, IMPLICIT_PORT);
    let login = args.login.user.as_ref().map(|user| {
        let anonymous = is_anonymous(user);
        let password = match (&args.login.password, anonymous) {
            (Some(p), _) => Some(p.expose().to_string()),
            (None, true) => Some(ANONYMOUS_PASSWORD.to_string()),
            (None, false) => None,
        };
        Credentials {
            user: user.clone(),
            password,
            anonymous,
        }
    });
    if let Some(l) = &login {
        let broken = |t: &str| t.contains(['\r', '\n']);
        if broken(&l.user) || l.password.as_deref().is_some_and(broken) {
            return Err(CheckError::unknown(
                "the user name or password contains a line break",
            ));
        }
    }
    let secret = login
        .as_ref()
        .is_some_and(|l| !l.anonymous && l.password.is_some());
    if secret {
        require_tls_for_credentials(tls != TlsMode::Plain, args.login.allow_plaintext)?;
    }
    let send = args.probe.send_line().map(String::into_bytes);
    let quit = args
        .probe
        .quit_text()
        .unwrap_or_else(|| "QUIT\r\n".to_string())
        .into_bytes();
    let delay = args.probe.delay.map(Duration::from_secs_f64);
    Ok(Plan {
        port: args.net.port.unwrap_or(if tls == TlsMode::Implicit {
            IMPLICIT_PORT
        } else {
            PORT
        }),
        tls,
        tls_options: args.tls.options(secret),
        login,
        send,
        quit,
        quit_waits: args.probe.quit.is_none(),
        delay,
    })
}

/// Read limits: FTP control lines are short; a long multi-line banner fits.
pub fn limits() -> Limits {
    Limits {
        max_line: 4096,
        max_total: 256 * 1024,
    }
}

/// What the dialogue gave.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The greeting.
    pub greeting: Option<Reply>,
    /// The problem that ended the dialogue (or the QUIT problem), with its state.
    pub problem: Option<(State, String)>,
    /// Whether the problem is the greeting itself (it then replaces it).
    pub greeting_problem: bool,
    /// Facts to add to the summary ("logged in as ftpmon").
    pub notes: Vec<String>,
    /// The reply to -s.
    pub send_reply: Option<Reply>,
    /// The control dialogue.
    pub transcript: Transcript,
    /// Time until the dialogue ended.
    pub elapsed: Duration,
}

impl Outcome {
    fn stop(&mut self, state: State, text: String) {
        self.problem = Some((state, text));
    }
}

async fn dialogue(
    args: &Args,
    plan: &Plan,
    deadline: Deadline,
) -> Result<(Session, Outcome), StepError> {
    let start = Instant::now();
    let implicit = (plan.tls == TlsMode::Implicit).then_some(&plan.tls_options);
    let family = AddressFamily::from_flags(args.net.use_ipv4, args.net.use_ipv6);
    let mut session = Session::open(
        &args.net.hostname,
        plan.port,
        family,
        implicit,
        limits(),
        deadline,
    )
    .await?;
    let mut out = Outcome::default();
    let greeting = dialogue::read_greeting(&mut session.lines, &mut out.transcript).await?;
    let shown = dialogue::shown(&greeting);
    out.greeting = Some(greeting.clone());
    let greeting_problem = match dialogue::classify_greeting(greeting.code) {
        Greeting::Ready => None,
        Greeting::Delayed => Some((State::Warning, format!("service not ready yet: {shown}"))),
        Greeting::Unavailable => Some((State::Critical, format!("service not available: {shown}"))),
        Greeting::Unexpected => {
            Some((args.probe.mismatch, format!("not an FTP greeting: {shown}")))
        }
    };
    if let Some((state, text)) = greeting_problem {
        out.stop(state, text);
        out.greeting_problem = true;
        out.elapsed = start.elapsed();
        return Ok((session, out));
    }

    if plan.tls == TlsMode::StartTls {
        let reply = dialogue::auth_tls(&mut session.lines, &mut out.transcript).await?;
        if reply.code != 234 {
            out.stop(
                State::Critical,
                format!("AUTH TLS refused: {}", dialogue::shown(&reply)),
            );
            out.elapsed = start.elapsed();
            return Ok((session, out));
        }
        session = session.starttls(&plan.tls_options).await?;
    }

    if let Some(login) = &plan.login {
        let user = printable(login.user.as_bytes(), 100);
        let result = dialogue::login(
            &mut session.lines,
            &login.user,
            login.password.as_deref(),
            &mut out.transcript,
        )
        .await?;
        let problem = match result {
            Login::LoggedIn(_) => {
                out.notes.push(format!("logged in as {user}"));
                None
            }
            Login::Failed(r) => Some((
                State::Critical,
                format!("login failed: {} (user {user})", dialogue::shown(&r)),
            )),
            Login::NeedsPassword(r) => Some((
                State::Unknown,
                format!(
                    "the server asks for a password for {user} (give -P): {}",
                    dialogue::shown(&r)
                ),
            )),
            Login::NeedsAccount(r) => Some((
                State::Unknown,
                format!(
                    "the server asks for an account (ACCT) for {user}, which is not supported: {}",
                    dialogue::shown(&r)
                ),
            )),
        };
        if let Some((state, text)) = problem {
            out.stop(state, text);
            out.elapsed = start.elapsed();
            return Ok((session, out));
        }
    }

    if let Some(bytes) = &plan.send {
        let reply =
            dialogue::send_raw(&mut session.lines, bytes, plan.delay, &mut out.transcript).await?;
        out.send_reply = Some(reply);
    }

    let quit = dialogue::quit(
        &mut session.lines,
        &plan.quit,
        plan.quit_waits,
        &mut out.transcript,
    );
    match quit.await {
        Quit::Goodbye | Quit::Closed => {}
        Quit::Unexpected(r) => out.stop(
            State::Warning,
            format!("QUIT answered {}", dialogue::shown(&r)),
        ),
        // Everything asked for was done: a server that fumbles the goodbye
        // (or never says it) is worth a WARNING, not an outage.
        // Silence takes the -t state, as everywhere.
        Quit::Failed(e) => out.stop(
            if matches!(e.error, NetError::Timeout { .. }) {
                args.common.timeout.state
            } else {
                State::Warning
            },
            e.message(),
        ),
    }
    out.elapsed = start.elapsed();
    Ok((session, out))
}

/// Connects, runs the dialogue and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let plan = plan(&args)?;
    let timeout = args.common.timeout;
    let deadline = Deadline::from_timeout(&timeout);
    match block_on(dialogue(&args, &plan, deadline))? {
        Ok((session, outcome)) => Ok(evaluate(&args, &session, &outcome)),
        Err(e) => Err(CheckError::new(
            e.error.state(&timeout, args.probe.refuse),
            e.message(),
        )),
    }
}

/// The text the expect strings are matched against: the greeting and the
/// reply to -s, at most -m bytes.
pub fn response_text(outcome: &Outcome, maxbytes: Option<usize>) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for reply in outcome.greeting.iter().chain(outcome.send_reply.iter()) {
        lines.extend(reply.lines.iter().map(String::as_str));
    }
    cut(&lines.join("\n"), maxbytes).to_string()
}

/// `text` cut to at most `max` bytes (on a character boundary).
fn cut(text: &str, max: Option<usize>) -> &str {
    match max {
        Some(max) if text.len() > max => {
            let mut end = max;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            &text[..end]
        }
        _ => text,
    }
}

/// Turns the session and dialogue into a result: `220 rsplugins FTP ready,
/// AUTH TLS TLSv1.3, cert localhost 364 days left, logged in as ftpmon,
/// 0.004 s`, a problem first when there was one.
pub fn evaluate(args: &Args, session: &Session, outcome: &Outcome) -> CheckResult {
    let thresholds = args.thresholds.thresholds();
    let code = outcome.greeting.as_ref().map_or(0, |g| g.code);
    let response = response_text(outcome, args.probe.maxbytes);
    let mismatch = !outcome.greeting_problem
        && !args.probe.expect.is_empty()
        && !args.probe.expectation_met(response.as_bytes());
    let shown_greeting = match &outcome.greeting {
        Some(g) if !args.probe.jail => {
            printable(cut(g.first_line(), args.probe.maxbytes).as_bytes(), 200)
        }
        _ => format!("greeting {code}"),
    };
    let head = match (&outcome.problem, outcome.greeting_problem) {
        (Some((_, text)), true) if !args.probe.jail => text.clone(),
        (Some((_, text)), true) => text
            .split_once(": ")
            .map(|(what, _)| format!("{what}: greeting {code}"))
            .unwrap_or_else(|| text.clone()),
        _ if mismatch && args.probe.jail => "Unexpected response from host/socket".to_string(),
        _ if mismatch => format!(
            "Unexpected response from host/socket: {}",
            printable(response.as_bytes(), 200)
        ),
        _ => shown_greeting,
    };
    let elapsed = outcome.elapsed;
    let mut notes = outcome.notes.clone();
    if let Some(reply) = &outcome.send_reply {
        if !args.probe.jail {
            notes.push(format!("reply {}", dialogue::shown(reply)));
        }
    }
    let base = session.result_with_notes(
        &head,
        "AUTH TLS",
        &notes,
        elapsed,
        &thresholds,
        args.tls.certificate,
    );
    let mut summary = base.summary.clone();
    let mut state = base.state();
    if mismatch {
        state = state.worst(args.probe.mismatch);
    }
    if let Some((problem_state, text)) = &outcome.problem {
        state = state.worst(*problem_state);
        if !outcome.greeting_problem {
            let text = if args.probe.jail {
                text.split_once(": ")
                    .map(|(what, _)| what.to_string())
                    .unwrap_or_else(|| text.clone())
            } else {
                text.clone()
            };
            summary = format!("{text}, {summary}");
        }
    }
    let mut result = CheckResult::with_state(state, summary);
    result.details = base.details;
    if args.common.verbosity() > 0 {
        result.detail(format!("connected to {}", session.target()));
        if let Some(tls) = &session.tls {
            result.detail(format!(
                "TLS {} {}, certificate {}",
                tls.facts.version,
                tls.facts.cipher,
                if tls.facts.verified {
                    "verified"
                } else {
                    "not verified"
                }
            ));
        }
        result
            .details
            .extend(outcome.transcript.lines.iter().cloned());
    }
    result.perfdata = base.perfdata;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["check_ftp_rs", "-H", "127.0.0.1"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    #[test]
    fn ports_and_tls_modes() {
        let p = plan(&args(&[])).unwrap();
        assert_eq!((p.port, p.tls), (21, TlsMode::Plain));
        assert_eq!(p.quit, b"QUIT\r\n");
        let p = plan(&args(&["-S"])).unwrap();
        assert_eq!((p.port, p.tls), (990, TlsMode::Implicit));
        let p = plan(&args(&["--starttls"])).unwrap();
        assert_eq!((p.port, p.tls), (21, TlsMode::StartTls));
        let p = plan(&args(&["-D", "30,14"])).unwrap();
        assert_eq!((p.port, p.tls), (21, TlsMode::StartTls));
        let p = plan(&args(&["-D", "30", "-p", "990"])).unwrap();
        assert_eq!((p.port, p.tls), (990, TlsMode::Implicit));
        let p = plan(&args(&["-S", "-p", "2121"])).unwrap();
        assert_eq!(p.port, 2121);
        assert!(Args::try_parse_from(["check_ftp_rs", "-H", "x", "-S", "--starttls"]).is_err());
    }

    #[test]
    fn credentials_rules() {
        // A real password needs TLS (or --allow-plaintext) and turns verification on.
        let e = plan(&args(&["-U", "ftpmon", "-P", "pw-rule-1"])).unwrap_err();
        assert_eq!(e.state, State::Unknown);
        assert!(e
            .message
            .contains("refusing to send a password without TLS"));
        let p = plan(&args(&[
            "-U",
            "ftpmon",
            "-P",
            "pw-rule-1",
            "--allow-plaintext",
        ]))
        .unwrap();
        assert_eq!(p.tls, TlsMode::Plain);
        let p = plan(&args(&["-U", "ftpmon", "-P", "pw-rule-1", "--starttls"])).unwrap();
        assert!(p.tls_options.verify);
        let p = plan(&args(&[
            "-U",
            "ftpmon",
            "-P",
            "pw-rule-1",
            "--starttls",
            "--insecure",
        ]))
        .unwrap();
        assert!(!p.tls_options.verify);
        // Anonymous is not a secret: no TLS needed, no verification forced.
        let p = plan(&args(&["-U", "anonymous"])).unwrap();
        let login = p.login.unwrap();
        assert!(login.anonymous);
        assert_eq!(login.password.as_deref(), Some(ANONYMOUS_PASSWORD));
        let p = plan(&args(&["-U", "FTP", "--starttls"])).unwrap();
        assert!(!p.tls_options.verify);
        // A user without a password sends none.
        let p = plan(&args(&["-U", "guest"])).unwrap();
        assert_eq!(p.login.unwrap().password, None);
        assert!(Args::try_parse_from(["check_ftp_rs", "-H", "x", "-P", "pw"]).is_err());
        let e = plan(&args(&["-U", "a\r\nDELE x", "--allow-plaintext"])).unwrap_err();
        assert_eq!(e.state, State::Unknown);
    }

    #[test]
    fn send_and_quit_strings() {
        let p = plan(&args(&["-s", "SYST", "-q", "BYE"])).unwrap();
        assert_eq!(p.send.unwrap(), b"SYST\r\n");
        assert_eq!(p.quit, b"BYE\r\n");
        let p = plan(&args(&[
            "-E",
            "-s",
            "SYST\\r\\n",
            "-q",
            "QUIT\\r\\n",
            "-d",
            "0.5",
        ]))
        .unwrap();
        assert_eq!(p.send.unwrap(), b"SYST\r\n");
        assert_eq!(p.quit, b"QUIT\r\n");
        assert_eq!(p.delay, Some(Duration::from_millis(500)));
        assert!(Args::try_parse_from(["check_ftp_rs", "-H", "x", "-d", "-1"]).is_err());
    }

    #[test]
    fn response_text_is_cut_at_maxbytes() {
        let outcome = Outcome {
            greeting: Some(Reply {
                code: 220,
                lines: vec!["220-Welcome".into(), "220 ready".into()],
            }),
            send_reply: Some(Reply {
                code: 215,
                lines: vec!["215 UNIX".into()],
            }),
            ..Outcome::default()
        };
        assert_eq!(
            response_text(&outcome, None),
            "220-Welcome\n220 ready\n215 UNIX"
        );
        assert_eq!(response_text(&outcome, Some(7)), "220-Wel");
    }

    #[test]
    fn c_options_parse() {
        let a = args(&[
            "-p", "21", "-e", "220", "-e", "FTP", "-A", "-s", "SYST", "-E", "-q", "QUIT", "-r",
            "ok", "-M", "crit", "-m", "100", "-d", "1", "-j", "-S", "-D", "30,14", "--sni", "ftp",
            "-w", "1", "-c", "2", "-t", "5", "-4", "-v",
        ]);
        assert_eq!(a.probe.expect.len(), 2);
        assert_eq!(a.probe.refuse, State::Ok);
        assert_eq!(a.probe.mismatch, State::Critical);
        assert!(a.ssl && a.probe.jail && a.probe.all && a.probe.escape);
        assert!(Args::try_parse_from(["check_ftp_rs"]).is_err());
    }
}
