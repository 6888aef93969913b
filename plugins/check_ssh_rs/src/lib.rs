//! check_ssh_rs: connect to an SSH server, read its identification
//! (`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10`), optionally compare its
//! version (`-r`) and protocol (`-P`), send our identification and close.
//! Compatible with C check_ssh; links no TLS.

pub mod ident;

use clap::Parser;
use rsplugins::net::runtime::block_on;
use rsplugins::net::{AddressFamily, Deadline, Failure, Session, SessionFacts};
use rsplugins::options::{CommonArgs, ThresholdArgs};
use rsplugins::{CheckError, CheckResult, Perfdata, State};

use ident::Identification;

/// Service name on the first output line.
pub const SERVICE: &str = "SSH";

/// The SSH port.
pub const DEFAULT_PORT: u16 = 22;

/// Check an SSH server.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_ssh_rs",
    version,
    about = "Check an SSH server: read its identification, optionally compare its version \
             and protocol (drop-in for check_ssh)"
)]
pub struct Args {
    /// Host name or address of the server
    #[arg(
        short = 'H',
        long = "hostname",
        value_name = "ADDRESS",
        required_unless_present = "positional"
    )]
    pub hostname: Option<String>,

    /// Port number (default: 22)
    #[arg(short = 'p', long = "port", value_name = "INTEGER", value_parser = rsplugins::options::parse_port)]
    pub port: Option<u16>,

    /// Use IPv4 only
    #[arg(short = '4', long = "use-ipv4", conflicts_with = "use_ipv6")]
    pub use_ipv4: bool,

    /// Use IPv6 only
    #[arg(short = '6', long = "use-ipv6")]
    pub use_ipv6: bool,

    /// CRITICAL unless the server's version is this: its software version and
    /// comments as shown (e.g. 'OpenSSH_9.2p1 Debian-2+deb12u10'), or the
    /// software version alone (e.g. OpenSSH_9.2p1)
    #[arg(
        short = 'r',
        long = "remote-version",
        value_name = "STRING",
        allow_hyphen_values = true
    )]
    pub remote_version: Option<String>,

    /// CRITICAL unless the server's protocol version is this (e.g. 2.0);
    /// without it, a server that does not speak SSH-2 (2.0 or 1.99) is CRITICAL
    #[arg(short = 'P', long = "remote-protocol", value_name = "STRING")]
    pub remote_protocol: Option<String>,

    /// Response time (seconds) thresholds
    #[command(flatten)]
    pub thresholds: ThresholdArgs,

    #[command(flatten)]
    pub common: CommonArgs,

    /// Host (and port) after the options, as C check_ssh accepts them
    #[arg(value_name = "HOST [PORT]", num_args = 0..=2, hide = true, id = "positional")]
    pub positional: Vec<String>,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

/// The host and port from `-H`/`-p` or, as in C, from the words after the
/// options: the host when `-H` is missing, then the port when `-p` is.
pub fn target(args: &Args) -> Result<(String, u16), CheckError> {
    let mut words = args.positional.iter();
    let host = match &args.hostname {
        Some(h) => h.clone(),
        None => words
            .next()
            .cloned()
            .ok_or_else(|| CheckError::unknown("no host given (use -H)"))?,
    };
    let port = match (args.port, words.next()) {
        (Some(p), None) => p,
        (None, Some(word)) => rsplugins::options::parse_port(word)
            .map_err(|e| CheckError::unknown(format!("'{word}' is not a port: {e}")))?,
        (Some(_), Some(word)) => {
            return Err(CheckError::unknown(format!(
                "unexpected argument '{word}' (the port is given with -p)"
            )))
        }
        (None, None) => DEFAULT_PORT,
    };
    if host.trim().is_empty() {
        return Err(CheckError::unknown("the host name is empty"));
    }
    Ok((host, port))
}

/// What the server told: plain facts, judged by [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// Its identification.
    pub identification: Identification,
    /// Peer, timings and the dialogue (the lines before the identification
    /// are in its transcript).
    pub session: SessionFacts,
}

/// Connects, reads the identification, sends ours and closes.
pub async fn acquire(
    host: &str,
    port: u16,
    family: AddressFamily,
    deadline: Deadline,
) -> Result<Facts, Failure> {
    let mut session = Session::connect(host, port, family, ident::limits(), deadline).await?;
    let identification = ident::exchange(&mut session.lines).await?;
    // Timed like C: until our identification is sent.
    let elapsed = session.started.elapsed();
    Ok(Facts {
        identification,
        session: session.facts(elapsed),
    })
}

/// Connects, reads the identification, answers and evaluates; a failure by
/// the one failure policy (a refusal CRITICAL: check_ssh has no `-r` state).
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let (host, port) = target(&args)?;
    let timeout = args.common.timeout;
    let deadline = Deadline::from_timeout(&timeout);
    let family = AddressFamily::from_flags(args.use_ipv4, args.use_ipv6);
    match block_on(acquire(&host, port, family, deadline))? {
        Ok(facts) => Ok(evaluate(&args, &facts)),
        Err(failure) => Err(failure.into_check_error(&timeout, State::Critical, false)),
    }
}

/// Judges the identification in C check_ssh's words,
/// `OpenSSH_9.2p1 Debian-2+deb12u10 (protocol 2.0)` with C's mismatch
/// wording after it, and the response time (named only when it is not
/// OK), folded by [`CheckResult::of_parts`]. `-v` shows the dialogue.
pub fn evaluate(args: &Args, facts: &Facts) -> CheckResult {
    let id = &facts.identification;
    let mut identification = CheckResult::with_state(
        State::Ok,
        format!("{} (protocol {})", id.server(), id.protocol),
    );
    let mut mismatch = |text: String| {
        identification.summary.push_str(&text);
        identification.set_state(State::Critical);
    };
    if let Some(expected) = &args.remote_version {
        if !id.version_matches(expected) {
            mismatch(format!(" version mismatch, expected '{expected}'"));
        }
    }
    match &args.remote_protocol {
        Some(expected) if *expected != id.protocol => {
            mismatch(format!(" protocol version mismatch, expected '{expected}'"));
        }
        Some(_) => {}
        None if !id.speaks_ssh2() => {
            mismatch(": the server does not speak SSH-2 (protocol 2.0)".to_string());
        }
        None => {}
    }
    let thresholds = args.thresholds.thresholds();
    let elapsed = facts.session.elapsed;
    let seconds = elapsed.as_secs_f64();
    let time_state = thresholds.evaluate(seconds);
    // C's line has no response time: it is named only when it counts.
    let mut time = CheckResult::with_state(
        time_state,
        if time_state == State::Ok {
            String::new()
        } else {
            format!("{seconds:.3} s response time")
        },
    );
    // C's perfdata: the time alone, up to the -t budget.
    time.perf(
        Perfdata::seconds("time", elapsed)
            .thresholds(&thresholds)
            .max(args.common.timeout.seconds),
    );
    let mut result = CheckResult::of_parts(vec![identification, time]);
    if args.common.verbosity() > 0 {
        result.details = facts.session.transcript.lines();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::net::Transcript;
    use std::time::Duration;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["check_ssh_rs"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    fn facts(line: &str) -> Facts {
        Facts {
            identification: Identification::parse(line).unwrap(),
            session: SessionFacts {
                host: "x".into(),
                target: "127.0.0.1 port 22".into(),
                connect_time: Duration::from_millis(1),
                elapsed: Duration::from_millis(11),
                ..SessionFacts::default()
            },
        }
    }

    /// The state and the whole text output.
    fn text(args: &Args, line: &str) -> (State, String) {
        let r = evaluate(args, &facts(line));
        (r.state(), rsplugins::output::render_text(SERVICE, &r))
    }

    const OPENSSH: &str = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10";

    #[test]
    fn c_output_form() {
        assert_eq!(
            text(&args(&["-H", "x"]), OPENSSH),
            (
                State::Ok,
                "SSH OK - OpenSSH_9.2p1 Debian-2+deb12u10 (protocol 2.0) | time=0.011s;;;0;10\n"
                    .to_string()
            )
        );
    }

    #[test]
    fn remote_version_and_protocol() {
        let ok = ["OpenSSH_9.2p1 Debian-2+deb12u10", "OpenSSH_9.2p1"];
        for r in ok {
            assert_eq!(text(&args(&["-H", "x", "-r", r]), OPENSSH).0, State::Ok);
        }
        assert_eq!(
            text(&args(&["-H", "x", "-r", "OpenSSH_8.4p1"]), OPENSSH),
            (
                State::Critical,
                "SSH CRITICAL - OpenSSH_9.2p1 Debian-2+deb12u10 (protocol 2.0) version mismatch, \
                 expected 'OpenSSH_8.4p1' | time=0.011s;;;0;10\n"
                    .to_string()
            )
        );
        assert_eq!(text(&args(&["-H", "x", "-P", "2.0"]), OPENSSH).0, State::Ok);
        assert_eq!(
            text(&args(&["-H", "x", "-P", "1.99"]), OPENSSH),
            (
                State::Critical,
                "SSH CRITICAL - OpenSSH_9.2p1 Debian-2+deb12u10 (protocol 2.0) protocol version \
                 mismatch, expected '1.99' | time=0.011s;;;0;10\n"
                    .to_string()
            )
        );
        // Both wrong: both named, in C's order.
        assert_eq!(
            text(&args(&["-H", "x", "-r", "a", "-P", "1.99"]), OPENSSH).1,
            "SSH CRITICAL - OpenSSH_9.2p1 Debian-2+deb12u10 (protocol 2.0) version mismatch, \
             expected 'a' protocol version mismatch, expected '1.99' | time=0.011s;;;0;10\n"
        );
    }

    #[test]
    fn ssh1_only_is_critical_unless_expected() {
        assert_eq!(
            text(&args(&["-H", "x"]), "SSH-1.5-old"),
            (
                State::Critical,
                "SSH CRITICAL - old (protocol 1.5): the server does not speak SSH-2 (protocol 2.0) \
                 | time=0.011s;;;0;10\n"
                    .to_string()
            )
        );
        assert_eq!(
            text(&args(&["-H", "x", "-P", "1.5"]), "SSH-1.5-old").0,
            State::Ok
        );
        assert_eq!(text(&args(&["-H", "x"]), "SSH-1.99-x").0, State::Ok);
    }

    #[test]
    fn response_time_thresholds() {
        assert_eq!(
            text(&args(&["-H", "x", "-w", "0.005", "-t", "5"]), OPENSSH),
            (
                State::Warning,
                "SSH WARNING - 0.011 s response time, OpenSSH_9.2p1 Debian-2+deb12u10 (protocol \
                 2.0) | time=0.011s;0.005;;0;5\n"
                    .to_string()
            )
        );
        // A mismatch and a slow answer: both named, in order.
        assert_eq!(
            text(&args(&["-H", "x", "-c", "0.005", "-P", "1.99"]), OPENSSH),
            (
                State::Critical,
                "SSH CRITICAL - OpenSSH_9.2p1 Debian-2+deb12u10 (protocol 2.0) protocol version \
                 mismatch, expected '1.99', 0.011 s response time | time=0.011s;;0.005;0;10\n"
                    .to_string()
            )
        );
    }

    #[test]
    fn verbose_shows_the_dialogue() {
        let mut f = facts(OPENSSH);
        let mut transcript = Transcript::default();
        transcript.received("hello");
        transcript.received(OPENSSH);
        transcript.sent("SSH-2.0-check_ssh_rs_0\r\n");
        f.session.transcript = transcript;
        assert_eq!(
            evaluate(&args(&["-H", "x", "-v"]), &f).details,
            [
                "< hello",
                &format!("< {OPENSSH}"),
                "> SSH-2.0-check_ssh_rs_0"
            ]
        );
        assert!(evaluate(&args(&["-H", "x"]), &f).details.is_empty());
    }

    #[test]
    fn options_like_c() {
        let a = args(&[
            "-H",
            "h",
            "-p",
            "2222",
            "-4",
            "-t",
            "5",
            "-r",
            "OpenSSH_9.2p1",
            "-P",
            "2.0",
            "-v",
        ]);
        assert_eq!(target(&a).unwrap(), ("h".to_string(), 2222));
        assert_eq!(a.remote_protocol.as_deref(), Some("2.0"));
        assert_eq!(target(&args(&["h"])).unwrap(), ("h".to_string(), 22));
        assert_eq!(
            target(&args(&["h", "2200"])).unwrap(),
            ("h".to_string(), 2200)
        );
        assert_eq!(
            target(&args(&["-H", "h", "2201"])).unwrap(),
            ("h".to_string(), 2201)
        );
        assert!(target(&args(&["h", "x"])).is_err());
        assert!(target(&args(&["-H", "h", "-p", "1", "2"])).is_err());
        assert!(Args::try_parse_from(["check_ssh_rs"]).is_err());
        assert!(Args::try_parse_from(["check_ssh_rs", "-H", "h", "-4", "-6"]).is_err());
    }
}
