//! check_tcp_rs: connect to a TCP service, optionally over TLS, optionally
//! send a string and expect an answer. Compatible with C check_tcp.

use std::time::{Duration, Instant};

use clap::Parser;
use rsplugins::net::runtime::block_on;
use rsplugins::net::{
    printable, AddressFamily, Deadline, Limits, NetError, ProbeArgs, TlsMode, TlsRequest,
};
use rsplugins::options::{CommonArgs, NetArgs, ThresholdArgs};
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

    #[command(flatten)]
    pub probe: ProbeArgs,

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

rsplugins::plugin_entry!(Args, SERVICE, check);

/// What the exchange gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// Bytes received (when a response was read).
    pub received: Vec<u8>,
    /// Whether the expectation held (`None` when nothing was expected).
    pub matched: Option<bool>,
}

/// After the first bytes, a peer silent this long has said all it will.
const QUIET_AFTER_DATA: Duration = Duration::from_secs(2);

async fn exchange(session: &mut Session, args: &Args) -> Result<Exchange, NetError> {
    let probe = &args.probe;
    if let Some(bytes) = probe.send_raw() {
        session.lines.write_all(bytes.as_bytes(), "sending").await?;
        if let Some(delay) = probe.delay {
            tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0))).await;
        }
    }
    let mut received = Vec::new();
    let mut matched = None;
    if probe.send.is_some() || !probe.expect.is_empty() {
        let max = probe.maxbytes.unwrap_or(usize::MAX);
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
            if !probe.expect.is_empty() && probe.expectation_met(&received) {
                break;
            }
            if received.len() >= max {
                break;
            }
        }
        if !probe.expect.is_empty() {
            matched = Some(probe.expectation_met(&received));
        }
    }
    if let Some(bytes) = probe.quit_text() {
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
            TlsMode::choose(
                TlsRequest::new(args.ssl, false, args.tls.certificate.is_some(), Some(port)),
                None,
                false,
            )
            .is_tls()
            .then_some(&tls_options),
            Limits::default(),
            deadline,
        )
        .await?;
        let exchange = exchange(&mut session, &args).await?;
        Ok::<_, NetError>((session, exchange, start.elapsed()))
    })?;
    match outcome {
        Ok((session, exchange, elapsed)) => Ok(evaluate(&args, &session, &exchange, elapsed)),
        Err(e) => {
            let state = e.state(&timeout, args.probe.refuse);
            Err(CheckError::new(state, e.to_string()))
        }
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
    // The host as given (C: "on localhost port 22"); the address is a detail.
    let port = args.net.port.unwrap_or_default();
    let mut summary = format!(
        "{:.3} second response time on {} port {}",
        seconds, args.net.hostname, port
    );
    if let Some(tls) = session.tls_text("STARTTLS") {
        summary.push_str(&format!(", {tls}"));
    }
    let shown = printable(exchange.received.trim_ascii(), 200);
    let mut state = time_state;
    let asked = args.probe.send.is_some() || !args.probe.expect.is_empty();
    match exchange.matched {
        // C: a peer that sent nothing when something was asked for is CRITICAL.
        _ if asked && exchange.received.is_empty() => {
            state = State::Critical;
            summary = "No data received from host".to_string();
        }
        Some(false) => {
            state = state.worst(args.probe.mismatch);
            summary = if args.probe.jail {
                "Unexpected response from host/socket".to_string()
            } else {
                format!("Unexpected response from host/socket: {shown}")
            };
        }
        _ if !args.probe.jail && !shown.is_empty() => summary.push_str(&format!(" [{shown}]")),
        _ => {}
    }
    result.summary = summary;
    if let Some((cert, cert_state)) = session.judged_certificate(args.tls.certificate) {
        // C says nothing of the certificate without -D; an expired one still counts.
        if args.tls.certificate.is_some() || cert_state != State::Ok {
            result.summary.push_str(&format!(", {}", cert.summary));
            state = state.worst(cert_state);
        }
        result.details.extend(cert.details);
    }
    result
        .details
        .extend(verbose_details(args, session, exchange));
    for p in session.timing_perfdata(elapsed, &thresholds) {
        result.perf(p);
    }
    result.set_state(state);
    result
}

/// `-v`: what was sent and received; `-vv`: also the configuration;
/// `-vvv`: also the raw bytes received, escaped.
fn verbose_details(args: &Args, session: &Session, exchange: &Exchange) -> Vec<String> {
    let level = args.common.verbosity();
    let mut lines = Vec::new();
    if level == 0 {
        return lines;
    }
    if level >= 2 {
        let probe = &args.probe;
        lines.push(format!("connected to {}", session.target()));
        lines.push(format!(
            "expect: {} ({}), on mismatch {}, on refusal {}",
            if probe.expect.is_empty() {
                "nothing".to_string()
            } else {
                probe
                    .expect
                    .iter()
                    .map(|e| format!("'{e}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            if probe.all { "all" } else { "any" },
            probe.mismatch,
            probe.refuse
        ));
    }
    if let Some(sent) = args.probe.send_raw() {
        lines.push(format!("sent: {}", printable(sent.as_bytes(), 200)));
    }
    if let Some(quit) = args.probe.quit_text() {
        lines.push(format!("sent on quit: {}", printable(quit.as_bytes(), 200)));
    }
    let limit = if level >= 3 { usize::MAX } else { 200 };
    lines.push(format!(
        "received {} bytes: {}",
        exchange.received.len(),
        printable(&exchange.received, limit)
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(a.probe.expect.len(), 2);
        assert_eq!(a.probe.refuse, State::Ok);
        assert_eq!(a.probe.mismatch, State::Critical);
        assert!(a.ssl && a.probe.jail && a.probe.all && a.probe.escape);
        assert!(Args::try_parse_from(["check_tcp_rs", "-H", "x"]).is_err());
    }
}
