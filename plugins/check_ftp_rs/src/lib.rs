//! check_ftp_rs: check an FTP server's control connection: the greeting,
//! optionally TLS (AUTH TLS, RFC 4217, or implicit FTPS), optionally a
//! login, then QUIT. Accepts C check_ftp's options (it is check_tcp's).
//!
//! The dialogue ([`acquire`]) only records what the server said
//! ([`Facts`]); [`evaluate`] alone decides the states, step by step, and
//! folds the steps into one line.

pub mod dialogue;

use std::time::Duration;

use clap::Parser;
use rsplugins::net::runtime::block_on;
use rsplugins::net::{
    printable, AddressFamily, Composer, Deadline, Failure, Goodbye, Limits, ProbeArgs, Reply,
    Session, SessionFacts, TlsMode,
};
use rsplugins::options::{CommonArgs, NetArgs, ThresholdArgs};
use rsplugins::tls::{require_tls_for_credentials, LoginArgs, TlsArgs, TlsOptions};
use rsplugins::{CheckError, CheckResult, State};

use dialogue::{classify_greeting, shown, Greeting, Login, LoginOutcome, SHOWN};

/// Service name on the first output line.
pub const SERVICE: &str = "FTP";

/// The FTP control port.
pub const PORT: u16 = 21;

/// The implicit FTPS port.
pub const IMPLICIT_PORT: u16 = 990;

/// How FTP calls its in-band TLS upgrade, on the TLS part of the line.
pub const UPGRADE: &str = "AUTH TLS";

/// Password sent for an anonymous login when none is given (RFC 1635 asks
/// for something mail-like).
pub const ANONYMOUS_PASSWORD: &str = "rsplugins@";

/// C check_tcp's words for an expect string that was not found.
pub const MISMATCH: &str = "Unexpected response from host/socket";

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
    /// The -s string as sent (a line end added unless it has one).
    pub send: Option<String>,
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
    let send = args.probe.send_line();
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

/// What the server said, as plain data: all [`evaluate`] judges. A step
/// left out (`None`) was not reached or not asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// Peer, timings, TLS and the transcript.
    pub session: SessionFacts,
    /// The greeting. The dialogue goes on only after a 220.
    pub greeting: Reply,
    /// AUTH TLS answered with anything but 234: the refusal, reply included.
    pub auth_tls: Option<Failure>,
    /// The replies of the login. The dialogue goes on only once logged in.
    pub login: Option<Login>,
    /// The reply to the -s string.
    pub answer: Option<Reply>,
    /// How the session ended (QUIT or the -q string).
    pub goodbye: Option<Goodbye>,
}

impl Facts {
    fn new(greeting: Reply) -> Facts {
        Facts {
            session: SessionFacts::default(),
            greeting,
            auth_tls: None,
            login: None,
            answer: None,
            goodbye: None,
        }
    }

    /// The facts with the session's, the clock stopped now.
    fn ended(mut self, session: &Session) -> Facts {
        self.session = session.facts(session.started.elapsed());
        self
    }
}

/// Talks to the server and records what it said. A failure of the
/// connection (connect, TLS, a time-out, a close, garbage) ends it with the
/// one [`Failure`]; a reply that stops the dialogue (a greeting other than
/// 220, AUTH TLS refused, a login not accepted) is recorded and ends it
/// without QUIT.
pub async fn acquire(args: &Args, plan: &Plan, deadline: Deadline) -> Result<Facts, Failure> {
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
    let mut facts = Facts::new(dialogue::read_greeting(&mut session.lines).await?);
    if classify_greeting(facts.greeting.code) != Greeting::Ready {
        return Ok(facts.ended(&session));
    }
    if plan.tls == TlsMode::StartTls {
        match dialogue::auth_tls(&mut session.lines).await {
            Ok(_) => {}
            Err(refusal @ (Failure::Rejected { .. } | Failure::Bye { .. })) => {
                facts.auth_tls = Some(refusal);
                return Ok(facts.ended(&session));
            }
            Err(failure) => return Err(failure),
        }
        session = session.starttls(&plan.tls_options).await?;
    }
    if let Some(credentials) = &plan.login {
        let login = dialogue::login(
            &mut session.lines,
            &credentials.user,
            credentials.password.as_deref(),
        )
        .await?;
        let logged_in = login.outcome() == LoginOutcome::LoggedIn;
        facts.login = Some(login);
        if !logged_in {
            return Ok(facts.ended(&session));
        }
    }
    if let Some(text) = &plan.send {
        let deadline = *session.deadline();
        let reply = dialogue::send_command(&mut session.lines, text, plan.delay, &deadline);
        facts.answer = Some(reply.await?);
    }
    facts.goodbye = Some(dialogue::quit(&mut session.lines, &args.probe).await);
    Ok(facts.ended(&session))
}

/// Connects, runs the dialogue and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let plan = plan(&args)?;
    let timeout = args.common.timeout;
    let deadline = Deadline::from_timeout(&timeout);
    match block_on(acquire(&args, &plan, deadline))? {
        Ok(facts) => Ok(evaluate(&args, &facts)),
        Err(f) => Err(f.into_check_error(&timeout, args.probe.refuse, args.probe.jail)),
    }
}

/// The text the expect strings are matched against: the greeting and the
/// reply to -s, at most -m bytes.
pub fn response_text(facts: &Facts, maxbytes: Option<usize>) -> String {
    let mut lines: Vec<&str> = facts.greeting.lines.iter().map(String::as_str).collect();
    if let Some(answer) = &facts.answer {
        lines.extend(answer.lines.iter().map(String::as_str));
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

/// `what: detail`, or `what` alone under -j (the detail is the server's).
fn problem(state: State, what: &str, detail: &str, jail: bool) -> CheckResult {
    if jail {
        CheckResult::with_state(state, what)
    } else {
        CheckResult::with_state(state, format!("{what}: {detail}"))
    }
}

/// The greeting part: the greeting as shown (`greeting 220` under -j), or
/// what is wrong with it (RFC 959's codes), or C's mismatch message when
/// the -e strings are not in what the server sent.
pub fn greeting_part(args: &Args, facts: &Facts) -> CheckResult {
    let probe = &args.probe;
    let greeting = &facts.greeting;
    let code_only = format!("greeting {}", greeting.code);
    let trouble = match classify_greeting(greeting.code) {
        Greeting::Ready => None,
        Greeting::Delayed => Some((State::Warning, "service not ready yet")),
        Greeting::Unavailable => Some((State::Critical, "service not available")),
        Greeting::Unexpected => Some((probe.mismatch, "not an FTP greeting")),
    };
    if let Some((state, what)) = trouble {
        let detail = if probe.jail {
            code_only
        } else {
            shown(greeting)
        };
        return CheckResult::with_state(state, format!("{what}: {detail}"));
    }
    let response = response_text(facts, probe.maxbytes);
    if !probe.expectation_met(response.as_bytes()) {
        let detail = printable(response.as_bytes(), SHOWN);
        return problem(probe.mismatch, MISMATCH, &detail, probe.jail);
    }
    if probe.jail {
        CheckResult::with_state(State::Ok, code_only)
    } else {
        let first = cut(greeting.first_line(), probe.maxbytes);
        CheckResult::with_state(State::Ok, printable(first.as_bytes(), SHOWN))
    }
}

/// The login part: `logged in as ftpmon`, or why not.
pub fn login_part(login: &Login, jail: bool) -> CheckResult {
    let user = printable(login.user.as_bytes(), 100);
    match login.outcome() {
        LoginOutcome::LoggedIn => {
            CheckResult::with_state(State::Ok, format!("logged in as {user}"))
        }
        LoginOutcome::Failed(reply) => problem(
            State::Critical,
            "login failed",
            &format!("{} (user {user})", shown(reply)),
            jail,
        ),
        LoginOutcome::NeedsPassword(reply) => problem(
            State::Unknown,
            &format!("the server asks for a password for {user} (give -P)"),
            &shown(reply),
            jail,
        ),
        LoginOutcome::NeedsAccount(reply) => problem(
            State::Unknown,
            &format!("the server asks for an account (ACCT) for {user}, which is not supported"),
            &shown(reply),
            jail,
        ),
    }
}

/// What `-v` shows before the transcript: the peer and how TLS went.
fn connection_lines(session: &SessionFacts) -> Vec<String> {
    let mut lines = vec![format!("connected to {}", session.target)];
    if let Some(tls) = &session.tls {
        lines.push(format!(
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
    lines
}

/// Judges the facts: `220 rsplugins FTP ready, AUTH TLS TLSv1.3, cert
/// localhost 364 days left, 0.004 s, logged in as ftpmon`, each step a part
/// with its own state, the problems first.
pub fn evaluate(args: &Args, facts: &Facts) -> CheckResult {
    let probe = &args.probe;
    let session = &facts.session;
    // The greeting is judged here (its code, the -e strings), not shown as is.
    let parts = session.common_parts_judged(
        greeting_part(args, facts),
        UPGRADE,
        &args.thresholds.thresholds(),
        args.tls.certificate,
    );
    let mut c = Composer::new(parts, probe, args.common.timeout);
    c.failure(facts.auth_tls.as_ref());
    if let Some(login) = &facts.login {
        c.part(login_part(login, probe.jail));
    }
    if let (Some(reply), false) = (&facts.answer, probe.jail) {
        c.note(format!("reply {}", shown(reply)));
    }
    if let Some(goodbye) = &facts.goodbye {
        c.goodbye(goodbye);
    }
    let mut details = connection_lines(session);
    details.extend(session.transcript.lines());
    c.finish(&details, args.common.verbosity())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::net::{NetError, Transcript};
    use rsplugins::tls::{CertFacts, TlsFacts, TlsSummary};

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["check_ftp_rs", "-H", "127.0.0.1"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    #[test]
    fn ports_and_tls_modes() {
        let p = plan(&args(&[])).unwrap();
        assert_eq!((p.port, p.tls), (21, TlsMode::Plain));
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
    fn send_string_and_delay() {
        let p = plan(&args(&["-s", "SYST"])).unwrap();
        assert_eq!(p.send.as_deref(), Some("SYST\r\n"));
        let p = plan(&args(&["-E", "-s", "SYST\\r\\n", "-d", "0.5"])).unwrap();
        assert_eq!(p.send.as_deref(), Some("SYST\r\n"));
        assert_eq!(p.delay, Some(Duration::from_millis(500)));
        assert!(Args::try_parse_from(["check_ftp_rs", "-H", "x", "-d", "-1"]).is_err());
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

    // ---- evaluate, on hand-made facts ----

    fn reply(text: &str) -> Reply {
        let lines: Vec<String> = text.split('\n').map(String::from).collect();
        Reply {
            code: text[..3].parse().unwrap(),
            lines,
        }
    }

    fn session() -> SessionFacts {
        let mut transcript = Transcript::default();
        transcript.received("220 rsplugins FTP ready");
        transcript.sent("QUIT\r\n");
        transcript.received("221 Goodbye.");
        SessionFacts {
            host: "127.0.0.1".into(),
            target: "127.0.0.1 port 21".into(),
            connect_time: Duration::from_millis(1),
            elapsed: Duration::from_millis(4),
            transcript,
            ..SessionFacts::default()
        }
    }

    /// A session with AUTH TLS and a certificate 364 days from expiry.
    fn tls_session() -> SessionFacts {
        let now = rsplugins::clock::now_epoch();
        SessionFacts {
            tls: Some(TlsSummary {
                facts: TlsFacts {
                    version: "TLSv1.3".into(),
                    cipher: "TLS13_AES_256_GCM_SHA384".into(),
                    cert: Some(CertFacts {
                        subject: "localhost".into(),
                        issuer: "rsplugins test CA".into(),
                        not_after: now + 364 * 86_400 + 3600,
                    }),
                    verified: true,
                    alpn: None,
                },
                handshake_time: Duration::from_millis(2),
                upgraded: true,
            }),
            ..session()
        }
    }

    /// The facts of a session that went through: greeting, QUIT answered.
    fn fine() -> Facts {
        Facts {
            session: session(),
            greeting: reply("220 rsplugins FTP ready"),
            auth_tls: None,
            login: None,
            answer: None,
            goodbye: Some(Goodbye::Said("221 Goodbye.".into())),
        }
    }

    /// Facts that stopped at the greeting.
    fn greeted(text: &str) -> Facts {
        Facts {
            greeting: reply(text),
            goodbye: None,
            ..fine()
        }
    }

    fn login(user: &str, user_reply: &str, pass_reply: Option<&str>) -> Facts {
        Facts {
            login: Some(Login {
                user: user.into(),
                user_reply: reply(user_reply),
                pass_reply: pass_reply.map(reply),
            }),
            goodbye: None,
            ..fine()
        }
    }

    fn judged(extra: &[&str], facts: &Facts) -> (State, String) {
        let r = evaluate(&args(extra), facts);
        (r.state(), r.summary)
    }

    fn ok(summary: &str) -> (State, String) {
        (State::Ok, summary.to_string())
    }

    fn warning(summary: &str) -> (State, String) {
        (State::Warning, summary.to_string())
    }

    fn critical(summary: &str) -> (State, String) {
        (State::Critical, summary.to_string())
    }

    fn unknown(summary: &str) -> (State, String) {
        (State::Unknown, summary.to_string())
    }

    #[test]
    fn a_ready_server() {
        let r = evaluate(&args(&[]), &fine());
        assert_eq!(r.state(), State::Ok);
        assert_eq!(r.summary, "220 rsplugins FTP ready, 0.004 s");
        let labels: Vec<String> = r.all_perfdata().iter().map(|p| p.to_string()).collect();
        assert_eq!(labels, ["time=0.004s;;;0", "connect_time=0.001s;;;0"]);
        assert!(r.details.is_empty());
        assert_eq!(judged(&["-j"], &fine()), ok("greeting 220, 0.004 s"));
        // -m cuts the greeting shown.
        assert_eq!(judged(&["-m", "3"], &fine()), ok("220, 0.004 s"));
    }

    #[test]
    fn greeting_codes_decide_the_state() {
        assert_eq!(
            judged(&[], &greeted("120 Service ready in 5 minutes.")),
            warning("service not ready yet: 120 Service ready in 5 minutes., 0.004 s")
        );
        assert_eq!(
            judged(&[], &greeted("421 Too many users, try later.")),
            critical("service not available: 421 Too many users, try later., 0.004 s")
        );
        assert_eq!(
            judged(&[], &greeted("500 go away")),
            critical("service not available: 500 go away, 0.004 s")
        );
        assert_eq!(
            judged(&["-j"], &greeted("421 busy")),
            critical("service not available: greeting 421, 0.004 s")
        );
        // Not FTP at all: the -M state.
        assert_eq!(
            judged(&[], &greeted("230 already in")),
            warning("not an FTP greeting: 230 already in, 0.004 s")
        );
        assert_eq!(
            judged(&["-M", "crit"], &greeted("230 already in")),
            critical("not an FTP greeting: 230 already in, 0.004 s")
        );
        assert_eq!(
            judged(&["-M", "ok"], &greeted("230 already in")),
            ok("not an FTP greeting: 230 already in, 0.004 s")
        );
    }

    #[test]
    fn auth_tls_refused_is_critical() {
        let facts = Facts {
            auth_tls: Some(Failure::Rejected {
                step: "AUTH TLS".into(),
                verb: "refused",
                reply: "500 AUTH not understood".into(),
            }),
            goodbye: None,
            ..fine()
        };
        assert_eq!(
            judged(&["--starttls"], &facts),
            critical("AUTH TLS refused: 500 AUTH not understood, 220 rsplugins FTP ready, 0.004 s")
        );
        assert_eq!(
            judged(&["--starttls", "-j"], &facts),
            critical("AUTH TLS refused, greeting 220, 0.004 s")
        );
    }

    #[test]
    fn tls_certificate_and_login() {
        let facts = Facts {
            session: tls_session(),
            ..login(
                "ftpmon",
                "331 Please specify the password.",
                Some("230 Login successful."),
            )
        };
        let r = evaluate(&args(&["--starttls", "-U", "ftpmon"]), &facts);
        assert_eq!(r.state(), State::Ok);
        assert_eq!(
            r.summary,
            "220 rsplugins FTP ready, AUTH TLS TLSv1.3, cert localhost 364 days left, 0.004 s, \
             logged in as ftpmon"
        );
        let labels: Vec<&str> = r.all_perfdata().iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["time", "connect_time", "tls_time"]);
        // -D judges the certificate, its problem first.
        assert_eq!(
            judged(&["-D", "400,30", "-U", "ftpmon"], &facts),
            warning(
                "cert localhost 364 days left, 220 rsplugins FTP ready, AUTH TLS TLSv1.3, \
                 0.004 s, logged in as ftpmon"
            )
        );
        // Implicit TLS shows the version alone.
        let mut implicit = tls_session();
        if let Some(tls) = implicit.tls.as_mut() {
            tls.upgraded = false;
        }
        let facts = Facts {
            session: implicit,
            ..fine()
        };
        assert_eq!(
            judged(&["-S"], &facts),
            ok("220 rsplugins FTP ready, TLSv1.3, cert localhost 364 days left, 0.004 s")
        );
    }

    #[test]
    fn login_outcomes() {
        // Logged in at USER already.
        assert_eq!(
            judged(&["-U", "guest"], &login("guest", "230 come in", None)),
            ok("220 rsplugins FTP ready, 0.004 s, logged in as guest")
        );
        assert_eq!(
            judged(
                &["-U", "ftpmon"],
                &login(
                    "ftpmon",
                    "331 Please specify the password.",
                    Some("530 Login incorrect.")
                )
            ),
            critical("login failed: 530 Login incorrect. (user ftpmon), 220 rsplugins FTP ready, 0.004 s")
        );
        assert_eq!(
            judged(
                &["-U", "ftpmon", "-j"],
                &login(
                    "ftpmon",
                    "530 Non-anonymous sessions must use encryption.",
                    None
                )
            ),
            critical("login failed, greeting 220, 0.004 s")
        );
        assert_eq!(
            judged(
                &["-U", "guest"],
                &login("guest", "331 Please specify the password.", None)
            ),
            unknown(
                "the server asks for a password for guest (give -P): 331 Please specify the \
                 password., 220 rsplugins FTP ready, 0.004 s"
            )
        );
        assert_eq!(
            judged(
                &["-U", "acct"],
                &login("acct", "331 pw", Some("332 Need account for login."))
            ),
            unknown(
                "the server asks for an account (ACCT) for acct, which is not supported: 332 \
                 Need account for login., 220 rsplugins FTP ready, 0.004 s"
            )
        );
    }

    #[test]
    fn expect_strings_and_the_send_reply() {
        assert_eq!(
            judged(&["-e", "vsFTPd"], &fine()),
            warning("Unexpected response from host/socket: 220 rsplugins FTP ready, 0.004 s")
        );
        assert_eq!(
            judged(&["-e", "vsFTPd", "-M", "crit", "-j"], &fine()),
            critical("Unexpected response from host/socket, 0.004 s")
        );
        assert_eq!(
            judged(&["-e", "220", "-e", "rsplugins", "-A"], &fine()),
            ok("220 rsplugins FTP ready, 0.004 s")
        );
        let mut facts = Facts {
            answer: Some(reply("215 UNIX Type: L8")),
            ..fine()
        };
        // The -s reply is matched too, and shown after what was done.
        assert_eq!(
            judged(&["-s", "SYST", "-e", "UNIX"], &facts),
            ok("220 rsplugins FTP ready, 0.004 s, reply 215 UNIX Type: L8")
        );
        assert_eq!(
            judged(&["-s", "SYST", "-e", "UNIX", "-j"], &facts),
            ok("greeting 220, 0.004 s")
        );
        assert_eq!(
            judged(&["-s", "SYST", "-e", "Windows", "-m", "30"], &facts),
            warning(
                "Unexpected response from host/socket: 220 rsplugins FTP ready\\n215 UN, \
                 0.004 s, reply 215 UNIX Type: L8"
            )
        );
        // The user's -q text was sent, not awaited.
        facts.goodbye = Some(Goodbye::Sent);
        assert_eq!(
            judged(&["-E", "-s", "SYST\\r\\n", "-q", "QUIT"], &facts),
            ok("220 rsplugins FTP ready, 0.004 s, reply 215 UNIX Type: L8")
        );
    }

    #[test]
    fn how_quit_went() {
        let answered = Facts {
            goodbye: Some(Goodbye::Failed(Failure::Rejected {
                step: "QUIT".into(),
                verb: "rejected",
                reply: "500 Unknown command.".into(),
            })),
            ..fine()
        };
        assert_eq!(
            judged(&[], &answered),
            warning("QUIT rejected: 500 Unknown command., 220 rsplugins FTP ready, 0.004 s")
        );
        let during = "waiting for the reply to QUIT";
        let silent = Facts {
            goodbye: Some(Goodbye::Failed(Failure::net(
                NetError::timeout(during, Duration::from_secs(2)),
                during,
            ))),
            ..fine()
        };
        let text = "timed out after 2 seconds waiting for the reply to QUIT, \
                    220 rsplugins FTP ready, 0.004 s";
        assert_eq!(judged(&["-t", "2"], &silent), critical(text));
        assert_eq!(judged(&["-t", "2:unknown"], &silent), unknown(text));
        assert_eq!(judged(&["-t", "2:warning"], &silent), warning(text));
        // Closed instead of answering: fine.
        let closed = Facts {
            goodbye: Some(Goodbye::NotNeeded),
            ..fine()
        };
        assert_eq!(judged(&[], &closed), ok("220 rsplugins FTP ready, 0.004 s"));
    }

    #[test]
    fn slow_response_comes_first() {
        assert_eq!(
            judged(&["-w", "0.001", "-c", "5"], &fine()),
            warning("0.004 s, 220 rsplugins FTP ready")
        );
        assert_eq!(
            judged(&["-w", "0.001", "-c", "0.002"], &fine()),
            critical("0.004 s, 220 rsplugins FTP ready")
        );
    }

    #[test]
    fn verbose_shows_the_connection_and_the_transcript_unless_jailed() {
        let facts = Facts {
            session: tls_session(),
            ..fine()
        };
        let r = evaluate(&args(&["-v"]), &facts);
        assert_eq!(
            r.details,
            [
                "connected to 127.0.0.1 port 21",
                "TLS TLSv1.3 TLS13_AES_256_GCM_SHA384, certificate verified",
                "< 220 rsplugins FTP ready",
                "> QUIT",
                "< 221 Goodbye.",
            ]
        );
        assert!(evaluate(&args(&["-v", "-j"]), &facts).details.is_empty());
        assert!(evaluate(&args(&[]), &facts).details.is_empty());
    }

    #[test]
    fn response_text_is_cut_at_maxbytes() {
        let facts = Facts {
            greeting: reply("220-Welcome\n220 ready"),
            answer: Some(reply("215 UNIX")),
            ..fine()
        };
        assert_eq!(
            response_text(&facts, None),
            "220-Welcome\n220 ready\n215 UNIX"
        );
        assert_eq!(response_text(&facts, Some(7)), "220-Wel");
    }
}
