//! check_ssh_rs: connect to an SSH server, read its identification
//! (`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10`), optionally compare its
//! version (`-r`) and protocol (`-P`), send our identification and close.
//! Compatible with C check_ssh; links no TLS.

pub mod ident;

use std::time::{Duration, Instant};

use clap::Parser;
use rsplugins::net::runtime::block_on;
use rsplugins::net::{connect, AddressFamily, Deadline, LineStream, Stream};
use rsplugins::options::{CommonArgs, ThresholdArgs};
use rsplugins::{CheckError, CheckResult, Perfdata, State};

use ident::{Exchange, Failure};

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

/// Connects, reads the identification, answers and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let (host, port) = target(&args)?;
    let timeout = args.common.timeout;
    let deadline = Deadline::from_timeout(&timeout);
    let family = AddressFamily::from_flags(args.use_ipv4, args.use_ipv6);
    let outcome = block_on(async {
        let start = Instant::now();
        let connected = connect(&host, port, family, &deadline).await?;
        let mut lines = LineStream::new(Stream::Plain(connected.stream), ident::limits(), deadline);
        // Timed like C: until our identification is sent.
        let exchange = ident::exchange(&mut lines).await?;
        let elapsed = start.elapsed();
        Ok::<_, Failure>((exchange, elapsed))
    })?;
    match outcome {
        Ok((exchange, elapsed)) => Ok(evaluate(&args, &exchange, elapsed)),
        Err(failure) => Err(failure.into_check_error(&timeout)),
    }
}

/// Turns the identification into a result, in C check_ssh's words:
/// `OpenSSH_9.2p1 Debian-2+deb12u10 (protocol 2.0)`.
pub fn evaluate(args: &Args, exchange: &Exchange, elapsed: Duration) -> CheckResult {
    let id = &exchange.identification;
    let thresholds = args.thresholds.thresholds();
    let seconds = elapsed.as_secs_f64();
    let mut state = thresholds.evaluate(seconds);
    let mut summary = format!("{} (protocol {})", id.server(), id.protocol);
    if let Some(expected) = &args.remote_version {
        if !id.version_matches(expected) {
            state = State::Critical;
            summary.push_str(&format!(" version mismatch, expected '{expected}'"));
        }
    }
    match &args.remote_protocol {
        Some(expected) if *expected != id.protocol => {
            state = State::Critical;
            summary.push_str(&format!(
                " protocol version mismatch, expected '{expected}'"
            ));
        }
        Some(_) => {}
        None if !id.speaks_ssh2() => {
            state = State::Critical;
            summary.push_str(": the server does not speak SSH-2 (protocol 2.0)");
        }
        None => {}
    }
    if thresholds.evaluate(seconds) != State::Ok {
        summary.push_str(&format!(", {seconds:.3} s response time"));
    }
    let mut result = CheckResult::with_state(state, summary);
    if args.common.verbosity() > 0 {
        for line in &exchange.preceding {
            result.detail(format!(
                "before the identification: {}",
                rsplugins::net::printable(line.as_bytes(), 200)
            ));
        }
        result.detail(format!(
            "identification: {}",
            rsplugins::net::printable(id.line.as_bytes(), 300)
        ));
        result.detail(format!(
            "sent: {}",
            ident::client_identification().trim_end()
        ));
    }
    result.perf(
        Perfdata::seconds("time", elapsed)
            .thresholds(&thresholds)
            .max(args.common.timeout.seconds),
    );
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use ident::Identification;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["check_ssh_rs"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    fn exchange(line: &str) -> Exchange {
        Exchange {
            identification: Identification::parse(line).unwrap(),
            preceding: vec![],
        }
    }

    fn text(args: &Args, line: &str) -> (State, String) {
        let r = evaluate(args, &exchange(line), Duration::from_millis(11));
        (
            r.state(),
            rsplugins::output::render_text(SERVICE, &r)
                .trim_end()
                .to_string(),
        )
    }

    const OPENSSH: &str = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10";

    #[test]
    fn c_output_form() {
        let (state, out) = text(&args(&["-H", "x"]), OPENSSH);
        assert_eq!(state, State::Ok);
        assert_eq!(
            out,
            "SSH OK - OpenSSH_9.2p1 Debian-2+deb12u10 (protocol 2.0) | time=0.011s;;;0;10"
        );
    }

    #[test]
    fn remote_version_and_protocol() {
        let ok = ["OpenSSH_9.2p1 Debian-2+deb12u10", "OpenSSH_9.2p1"];
        for r in ok {
            assert_eq!(text(&args(&["-H", "x", "-r", r]), OPENSSH).0, State::Ok);
        }
        let (state, out) = text(&args(&["-H", "x", "-r", "OpenSSH_8.4p1"]), OPENSSH);
        assert_eq!(state, State::Critical);
        assert!(out.starts_with("SSH CRITICAL - OpenSSH_9.2p1 Debian-2+deb12u10 (protocol 2.0) version mismatch, expected 'OpenSSH_8.4p1' | time="), "{out}");
        assert_eq!(text(&args(&["-H", "x", "-P", "2.0"]), OPENSSH).0, State::Ok);
        let (state, out) = text(&args(&["-H", "x", "-P", "1.99"]), OPENSSH);
        assert_eq!(state, State::Critical);
        assert!(out.contains("(protocol 2.0) protocol version mismatch, expected '1.99'"));
    }

    #[test]
    fn ssh1_only_is_critical_unless_expected() {
        let (state, out) = text(&args(&["-H", "x"]), "SSH-1.5-old");
        assert_eq!(state, State::Critical);
        assert!(out.contains("old (protocol 1.5): the server does not speak SSH-2"));
        assert_eq!(
            text(&args(&["-H", "x", "-P", "1.5"]), "SSH-1.5-old").0,
            State::Ok
        );
        assert_eq!(text(&args(&["-H", "x"]), "SSH-1.99-x").0, State::Ok);
    }

    #[test]
    fn response_time_thresholds() {
        let (state, out) = text(&args(&["-H", "x", "-w", "0.005", "-t", "5"]), OPENSSH);
        assert_eq!(state, State::Warning);
        assert!(out.contains(", 0.011 s response time | time=0.011s;0.005;;0;5"));
    }

    #[test]
    fn verbose_details() {
        let r = evaluate(
            &args(&["-H", "x", "-v"]),
            &Exchange {
                identification: Identification::parse(OPENSSH).unwrap(),
                preceding: vec!["hello".into()],
            },
            Duration::from_millis(1),
        );
        assert_eq!(r.details[0], "before the identification: hello");
        assert_eq!(r.details[1], format!("identification: {OPENSSH}"));
        assert!(r.details[2].starts_with("sent: SSH-2.0-check_ssh_rs_"));
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
