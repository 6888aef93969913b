//! check_tcp_rs: connect to a TCP service, optionally over TLS, optionally
//! send a string and expect an answer. Compatible with C check_tcp.

use std::time::{Duration, Instant};

use clap::{ArgAction, CommandFactory, Parser};
use rsplugins::net::runtime::block_on;
use rsplugins::net::{printable, AddressFamily, Deadline, Limits, NetError};
use rsplugins::options::{CommonArgs, NetArgs, ThresholdArgs};
use rsplugins::runner::{self, PluginArgs};
use rsplugins::tls::{Session, TlsArgs};
use rsplugins::{CheckError, CheckResult, State};

/// Service name on the first output line.
pub const SERVICE: &str = "TCP";

/// Check a TCP service.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_tcp_rs",
    version,
    about = "Check a TCP service: connect, optionally send a string and expect an answer, \
             optionally over TLS (drop-in for check_tcp)",
    mut_arg("port", |a| a.required(true).help("Port number"))
)]
pub struct Args {
    #[command(flatten)]
    pub net: NetArgs,

    /// String to send to the server
    #[arg(
        short = 's',
        long = "send",
        value_name = "STRING",
        allow_hyphen_values = true
    )]
    pub send: Option<String>,

    /// String to expect in the server's response (repeatable; any matches unless -A)
    #[arg(short = 'e', long = "expect", value_name = "STRING", action = ArgAction::Append, allow_hyphen_values = true)]
    pub expect: Vec<String>,

    /// All expect strings must occur in the response
    #[arg(short = 'A', long = "all")]
    pub all: bool,

    /// String to send to close the connection cleanly (CRLF is added unless -E)
    #[arg(
        short = 'q',
        long = "quit",
        value_name = "STRING",
        allow_hyphen_values = true
    )]
    pub quit: Option<String>,

    /// Interpret \n, \r, \t and \\ in the send and quit strings
    #[arg(short = 'E', long = "escape")]
    pub escape: bool,

    /// State when the connection is refused
    #[arg(
        short = 'r',
        long = "refuse",
        value_name = "ok|warn|crit",
        default_value = "critical"
    )]
    pub refuse: State,

    /// State when the expected string is not received
    #[arg(
        short = 'M',
        long = "mismatch",
        value_name = "ok|warn|crit",
        default_value = "warning"
    )]
    pub mismatch: State,

    /// Do not show the server's response in the output
    #[arg(short = 'j', long = "jail")]
    pub jail: bool,

    /// Stop reading once this many bytes are received
    #[arg(short = 'm', long = "maxbytes", value_name = "INTEGER")]
    pub maxbytes: Option<usize>,

    /// Seconds to wait between sending the string and reading the response
    #[arg(short = 'd', long = "delay", value_name = "SECONDS")]
    pub delay: Option<f64>,

    /// Use TLS from the start of the connection
    #[arg(short = 'S', long = "ssl")]
    pub ssl: bool,

    #[command(flatten)]
    pub tls: TlsArgs,

    /// Response time (seconds) thresholds
    #[command(flatten)]
    pub thresholds: ThresholdArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl PluginArgs for Args {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

/// The clap definition (for man pages and generated command definitions).
pub fn command() -> clap::Command {
    Args::command()
}

/// Entry point of the binary.
pub fn main() -> ! {
    runner::run::<Args, _>(SERVICE, check)
}

/// Replaces `\n`, `\r`, `\t` and `\\` (C check_tcp's -E).
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// What the exchange gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// Bytes received (when a response was read).
    pub received: Vec<u8>,
    /// Whether the expectation held (`None` when nothing was expected).
    pub matched: Option<bool>,
}

/// Whether `received` satisfies the expect strings (any, or all with -A).
pub fn expectation_met(received: &[u8], expect: &[String], all: bool) -> bool {
    let text = String::from_utf8_lossy(received);
    if all {
        expect.iter().all(|e| text.contains(e.as_str()))
    } else {
        expect.iter().any(|e| text.contains(e.as_str()))
    }
}

/// After the first bytes, a peer silent this long has said all it will.
const QUIET_AFTER_DATA: Duration = Duration::from_secs(2);

async fn exchange(session: &mut Session, args: &Args) -> Result<Exchange, NetError> {
    if let Some(send) = &args.send {
        let bytes = if args.escape {
            unescape(send)
        } else {
            send.clone()
        };
        session.lines.write_all(bytes.as_bytes(), "sending").await?;
        if let Some(delay) = args.delay {
            tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0))).await;
        }
    }
    let mut received = Vec::new();
    let mut matched = None;
    if args.send.is_some() || !args.expect.is_empty() {
        let max = args.maxbytes.unwrap_or(usize::MAX);
        loop {
            let read = session
                .lines
                .read_chunk(max - received.len(), "waiting for the response");
            let chunk = if received.is_empty() {
                read.await?
            } else {
                match tokio::time::timeout(QUIET_AFTER_DATA, read).await {
                    Ok(chunk) => chunk?,
                    Err(_) => break,
                }
            };
            if chunk.is_empty() {
                break;
            }
            received.extend_from_slice(&chunk);
            if !args.expect.is_empty() && expectation_met(&received, &args.expect, args.all) {
                break;
            }
            if received.len() >= max {
                break;
            }
        }
        if !args.expect.is_empty() {
            matched = Some(expectation_met(&received, &args.expect, args.all));
        }
    }
    if let Some(quit) = &args.quit {
        let bytes = if args.escape {
            unescape(quit)
        } else {
            format!("{quit}\r\n")
        };
        // A peer that already closed does not make the check fail.
        let _ = session
            .lines
            .write_all(bytes.as_bytes(), "sending quit")
            .await;
    }
    session.lines.shutdown().await;
    Ok(Exchange { received, matched })
}

/// Connects, exchanges and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let timeout = args.common.timeout;
    let deadline = Deadline::from_timeout(&timeout);
    let family = AddressFamily::from_flags(args.net.use_ipv4, args.net.use_ipv6);
    let tls_options = args.tls.options(false);
    let port = args
        .net
        .port
        .ok_or_else(|| CheckError::unknown("a port is required (-p)"))?;
    let outcome = block_on(async {
        let start = Instant::now();
        let mut session = Session::open(
            &args.net.hostname,
            port,
            family,
            args.ssl.then_some(&tls_options),
            Limits::default(),
            deadline,
        )
        .await?;
        let exchange = exchange(&mut session, &args).await?;
        Ok::<_, NetError>((session, exchange, start.elapsed()))
    })?;
    match outcome {
        Ok((session, exchange, elapsed)) => Ok(evaluate(&args, &session, &exchange, elapsed)),
        Err(NetError::Refused { target }) => Err(CheckError::new(
            args.refuse,
            format!("connect to {target}: Connection refused"),
        )),
        Err(e) => Err(e.into_check_error(&timeout)),
    }
}

/// Turns the session and exchange into a result.
pub fn evaluate(
    args: &Args,
    session: &Session,
    exchange: &Exchange,
    elapsed: Duration,
) -> CheckResult {
    let thresholds = args.thresholds.thresholds();
    let seconds = elapsed.as_secs_f64();
    let time_state = thresholds.evaluate(seconds);
    let mut result = CheckResult::new(String::new());
    let mut summary = format!(
        "{:.3} second response time on {}",
        seconds,
        session.target()
    );
    if let Some(tls) = session.tls_text("STARTTLS") {
        summary.push_str(&format!(", {tls}"));
    }
    let shown = printable(exchange.received.trim_ascii(), 200);
    let mut state = time_state;
    match exchange.matched {
        Some(false) => {
            state = state.worst(args.mismatch);
            summary = if args.jail {
                "Unexpected response from host/socket".to_string()
            } else {
                format!("Unexpected response from host/socket: {shown}")
            };
        }
        _ if !args.jail && !shown.is_empty() => summary.push_str(&format!(" [{shown}]")),
        _ => {}
    }
    result.summary = summary;
    if let Some(cert) = session.certificate_check(args.tls.certificate) {
        if args.tls.certificate.is_some() {
            result.summary.push_str(&format!(", {}", cert.summary));
            state = state.worst(cert.state());
        }
        result.details.extend(cert.details);
    }
    for p in session.timing_perfdata(elapsed, &thresholds) {
        result.perf(p);
    }
    result.set_state(state);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(unescape("QUIT\\r\\n"), "QUIT\r\n");
        assert_eq!(unescape("a\\tb\\\\c\\x"), "a\tb\\c\\x");
        assert_eq!(unescape("end\\"), "end\\");
    }

    #[test]
    fn expectations() {
        let expect = vec!["220".to_string(), "ESMTP".to_string()];
        assert!(expectation_met(b"220 mail ESMTP", &expect, true));
        assert!(expectation_met(b"220 mail", &expect, false));
        assert!(!expectation_met(b"220 mail", &expect, true));
        assert!(!expectation_met(b"554 go away", &expect, false));
    }

    #[test]
    fn options_like_c() {
        let a = Args::try_parse_from([
            "check_tcp_rs",
            "-H",
            "127.0.0.1",
            "-p",
            "25",
            "-e",
            "220",
            "-e",
            "ESMTP",
            "-A",
            "-s",
            "HELO x\\r\\n",
            "-E",
            "-q",
            "QUIT",
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
        ])
        .unwrap();
        assert_eq!(a.expect.len(), 2);
        assert_eq!(a.refuse, State::Ok);
        assert_eq!(a.mismatch, State::Critical);
        assert!(a.ssl && a.jail && a.all && a.escape);
        assert!(Args::try_parse_from(["check_tcp_rs", "-H", "x"]).is_err());
    }
}
