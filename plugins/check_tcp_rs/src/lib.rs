//! check_tcp_rs: connect to a TCP service, optionally over TLS, optionally
//! send a string and expect an answer. Compatible with C check_tcp.

use std::time::Duration;

use clap::Parser;
use rsplugins::net::runtime::block_on;
use rsplugins::net::{
    dialogue, printable, AddressFamily, Deadline, Failure, Limits, ProbeArgs, Session,
    SessionFacts, TlsMode, TlsRequest,
};
use rsplugins::options::{CommonArgs, NetArgs, ThresholdArgs};
use rsplugins::tls::TlsArgs;
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

/// What the connection gave: plain facts, judged by [`evaluate`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    /// Bytes received (when a response was read).
    pub received: Vec<u8>,
    /// Whether the expectation held (`None` when nothing was expected).
    pub matched: Option<bool>,
    /// Peer, timings and TLS.
    pub session: SessionFacts,
}

/// After the first bytes, a peer silent this long has said all it will.
const QUIET_AFTER_DATA: Duration = Duration::from_secs(2);

/// What read failures name as awaited.
const AWAITED: &str = "waiting for the response";

/// C's exchange: `-s` (then `-d`), read until the `-e` strings match, the
/// peer closes, goes quiet or `-m` bytes arrived; then `-q`. Returns what
/// was received and whether it matched.
async fn exchange(
    session: &mut Session,
    probe: &ProbeArgs,
) -> Result<(Vec<u8>, Option<bool>), Failure> {
    let deadline = *session.deadline();
    let lines = &mut session.lines;
    if let Some(text) = probe.send_raw() {
        dialogue::send(lines, &text, "the -s string").await?;
        if let Some(delay) = probe.delay {
            let pause = tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0)));
            let _ = deadline.run(pause).await;
        }
    }
    let mut received = Vec::new();
    let mut matched = None;
    if probe.send.is_some() || !probe.expect.is_empty() {
        let max = probe.maxbytes.unwrap_or(usize::MAX);
        loop {
            let read = lines.read_chunk(max - received.len(), AWAITED);
            let chunk = if received.is_empty() {
                read.await
            } else {
                match tokio::time::timeout(QUIET_AFTER_DATA, read).await {
                    Ok(chunk) => chunk,
                    Err(_) => break,
                }
            }
            .map_err(|e| Failure::net(e, AWAITED))?;
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
    if let Some(text) = probe.quit_text() {
        // A peer that already closed does not make the check fail (C does
        // not wait for an answer either).
        let _ = dialogue::send(lines, &text, "the -q string").await;
    }
    lines.shutdown().await;
    Ok((received, matched))
}

/// Connects (over TLS with `-S` or `-D`), exchanges, and returns the facts.
pub async fn acquire(args: &Args, port: u16, deadline: Deadline) -> Result<Facts, Failure> {
    let family = AddressFamily::from_flags(args.net.use_ipv4, args.net.use_ipv6);
    let tls_options = args.tls.options(false);
    // check_tcp has no upgrade command: -D alone means TLS from the start.
    let mode = TlsMode::choose(
        TlsRequest::new(args.ssl, false, args.tls.certificate.is_some(), Some(port)),
        None,
        false,
    );
    let mut session = Session::open(
        &args.net.hostname,
        port,
        family,
        mode.is_tls().then_some(&tls_options),
        Limits::default(),
        deadline,
    )
    .await?;
    let (received, matched) = exchange(&mut session, &args.probe).await?;
    let elapsed = session.started.elapsed();
    Ok(Facts {
        received,
        matched,
        session: session.facts(elapsed),
    })
}

/// Connects, exchanges and evaluates; a failed connection by the one
/// failure policy (`-r` for a refusal, `-t` for a time-out).
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let timeout = args.common.timeout;
    let port = args
        .net
        .port
        .ok_or_else(|| CheckError::unknown("a port is required (-p)"))?;
    let deadline = Deadline::from_timeout(&timeout);
    match block_on(acquire(&args, port, deadline))? {
        Ok(facts) => Ok(evaluate(&args, &facts)),
        Err(failure) => Err(failure.into_check_error(&timeout, args.probe.refuse, args.probe.jail)),
    }
}

/// Judges the facts, in C check_tcp's words: the response part
/// (`0.001 second response time on localhost port 22 [answer]`, or C's
/// `No data received from host` / `Unexpected response from host/socket`),
/// the TLS version and the certificate, folded by [`CheckResult::of_parts`].
pub fn evaluate(args: &Args, facts: &Facts) -> CheckResult {
    let thresholds = args.thresholds.thresholds();
    let session = &facts.session;
    let probe = &args.probe;
    // Judged by the thresholds, with the timing perfdata.
    let mut time = session.time_part(&thresholds);
    let seconds = format!("{:.3} second response time", session.elapsed.as_secs_f64());
    let shown = printable(facts.received.trim_ascii(), 200);
    let asked = probe.send.is_some() || !probe.expect.is_empty();
    let mut parts = Vec::new();
    if (asked && facts.received.is_empty()) || facts.matched == Some(false) {
        let problem = if facts.received.is_empty() {
            // C: a peer that sent nothing when something was asked for.
            CheckResult::with_state(State::Critical, "No data received from host")
        } else if probe.jail {
            CheckResult::with_state(probe.mismatch, "Unexpected response from host/socket")
        } else {
            CheckResult::with_state(
                probe.mismatch,
                format!("Unexpected response from host/socket: {shown}"),
            )
        };
        parts.push(problem);
        // As in C the line does not show a response time that looks fine
        // next to a wrong answer; a slow one still counts and is named.
        time.summary = if time.state() == State::Ok {
            String::new()
        } else {
            seconds
        };
    } else {
        // The host as given (C: "on localhost port 22"); the address is a detail.
        time.summary = format!(
            "{seconds} on {} port {}",
            session.host,
            args.net.port.unwrap_or_default()
        );
        if !probe.jail && !shown.is_empty() {
            time.summary.push_str(&format!(" [{shown}]"));
        }
    }
    parts.push(time);
    if let Some(tls) = session.tls_text("STARTTLS") {
        parts.push(CheckResult::with_state(State::Ok, tls));
    }
    let days = args.tls.certificate;
    if let Some(mut cert) = session.certificate_part(days) {
        // C check_tcp says nothing of a valid certificate without -D (its
        // details still are there); an expired one is CRITICAL and named.
        if days.is_none() && cert.state() == State::Ok {
            cert.summary.clear();
        }
        parts.push(cert);
    }
    let mut result = CheckResult::of_parts(parts);
    result.details.extend(verbose_details(args, facts));
    result
}

/// `-v`: what was sent and received; `-vv`: also the configuration;
/// `-vvv`: also the raw bytes received, escaped.
fn verbose_details(args: &Args, facts: &Facts) -> Vec<String> {
    let level = args.common.verbosity();
    let mut lines = Vec::new();
    if level == 0 {
        return lines;
    }
    let probe = &args.probe;
    if level >= 2 {
        lines.push(format!("connected to {}", facts.session.target));
        lines.push(format!(
            "expect: {} ({}), on mismatch {}, on refusal {}",
            if probe.expect.is_empty() {
                "nothing".to_string()
            } else {
                probe.expect_list()
            },
            if probe.all { "all" } else { "any" },
            probe.mismatch,
            probe.refuse
        ));
    }
    if let Some(sent) = probe.send_raw() {
        lines.push(format!("sent: {}", printable(sent.as_bytes(), 200)));
    }
    if let Some(quit) = probe.quit_text() {
        lines.push(format!("sent on quit: {}", printable(quit.as_bytes(), 200)));
    }
    let limit = if level >= 3 { usize::MAX } else { 200 };
    lines.push(format!(
        "received {} bytes: {}",
        facts.received.len(),
        printable(&facts.received, limit)
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::tls::{CertFacts, TlsFacts, TlsSummary};

    fn args(extra: &[&str]) -> Args {
        let argv = ["check_tcp_rs", "-H", "localhost", "-p", "22"];
        Args::try_parse_from(argv.iter().chain(extra)).unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn plain(received: &str, matched: Option<bool>) -> Facts {
        Facts {
            received: received.as_bytes().to_vec(),
            matched,
            session: SessionFacts {
                host: "localhost".into(),
                target: "127.0.0.1 port 22".into(),
                connect_time: ms(1),
                elapsed: ms(4),
                ..SessionFacts::default()
            },
        }
    }

    /// A session over implicit TLS whose certificate ends in `days_left` days.
    fn over_tls(received: &str, days_left: i64) -> (Facts, CertFacts) {
        let cert = CertFacts {
            subject: "localhost".into(),
            issuer: "rsplugins test CA".into(),
            not_after: rsplugins::clock::now_epoch() + days_left * 86_400 + 3600,
        };
        let mut facts = plain(received, None);
        facts.session.tls = Some(TlsSummary {
            facts: TlsFacts {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_256_GCM_SHA384".into(),
                cert: Some(cert.clone()),
                verified: false,
                alpn: None,
            },
            handshake_time: ms(2),
            upgraded: false,
        });
        (facts, cert)
    }

    /// The whole text output and the state.
    fn text(args: &Args, facts: &Facts) -> (State, String) {
        let r = evaluate(args, facts);
        (r.state(), rsplugins::output::render_text(SERVICE, &r))
    }

    const PERF: &str = "time=0.004s;;;0 connect_time=0.001s;;;0";
    const TLS_PERF: &str = "time=0.004s;;;0 connect_time=0.001s;;;0 tls_time=0.002s;;;0";

    #[test]
    fn c_first_line_connect_only_and_with_an_answer() {
        assert_eq!(
            text(&args(&[]), &plain("", None)),
            (
                State::Ok,
                format!("TCP OK - 0.004 second response time on localhost port 22 | {PERF}\n")
            )
        );
        let answer = plain("SSH-2.0-OpenSSH_9.2p1\r\n", Some(true));
        assert_eq!(
            text(&args(&["-e", "SSH-"]), &answer),
            (
                State::Ok,
                format!(
                    "TCP OK - 0.004 second response time on localhost port 22 \
                     [SSH-2.0-OpenSSH_9.2p1] | {PERF}\n"
                )
            )
        );
        // -j: the answer is not shown.
        assert_eq!(
            text(&args(&["-e", "SSH-", "-j"]), &answer).1,
            format!("TCP OK - 0.004 second response time on localhost port 22 | {PERF}\n")
        );
    }

    #[test]
    fn no_data_is_critical_in_c_words() {
        for extra in [&["-e", "220"][..], &["-s", "HELO\\r\\n", "-E"]] {
            let matched = (!extra.contains(&"-s")).then_some(false);
            assert_eq!(
                text(&args(extra), &plain("", matched)),
                (
                    State::Critical,
                    format!("TCP CRITICAL - No data received from host | {PERF}\n")
                ),
                "{extra:?}"
            );
        }
    }

    #[test]
    fn mismatch_in_c_words_and_the_chosen_state() {
        let wrong = plain("554 go away\r\n", Some(false));
        assert_eq!(
            text(&args(&["-e", "220"]), &wrong),
            (
                State::Warning,
                format!(
                    "TCP WARNING - Unexpected response from host/socket: 554 go away | {PERF}\n"
                )
            )
        );
        assert_eq!(
            text(&args(&["-e", "220", "-M", "crit", "-j"]), &wrong),
            (
                State::Critical,
                format!("TCP CRITICAL - Unexpected response from host/socket | {PERF}\n")
            )
        );
        assert_eq!(text(&args(&["-e", "220", "-M", "ok"]), &wrong).0, State::Ok);
    }

    #[test]
    fn a_slow_response_is_judged_and_named_first() {
        let (state, out) = text(
            &args(&["-e", "220", "-w", "0.001", "-c", "1"]),
            &plain("220 hi\r\n", Some(true)),
        );
        assert_eq!(state, State::Warning);
        assert_eq!(
            out,
            "TCP WARNING - 0.004 second response time on localhost port 22 [220 hi] \
             | time=0.004s;0.001;1;0 connect_time=0.001s;;;0\n"
        );
        // With a wrong answer too: both named, the answer first.
        let (state, out) = text(
            &args(&["-e", "220", "-c", "0.001"]),
            &plain("554 no\r\n", Some(false)),
        );
        assert_eq!(state, State::Critical);
        assert_eq!(
            out,
            "TCP CRITICAL - Unexpected response from host/socket: 554 no, 0.004 second response \
             time | time=0.004s;;0.001;0 connect_time=0.001s;;;0\n"
        );
    }

    #[test]
    fn tls_and_the_certificate_judged_by_days() {
        let (facts, cert) = over_tls("* OK ready\r\n", 20);
        let detail = format!(
            "certificate subject 'localhost', issuer 'rsplugins test CA', expires {}",
            cert.not_after_text()
        );
        assert_eq!(
            text(&args(&["-S", "-e", "OK", "-D", "30,14"]), &facts),
            (
                State::Warning,
                format!(
                    "TCP WARNING - cert localhost 20 days left, 0.004 second response time on \
                     localhost port 22 [* OK ready], TLSv1.3 | {TLS_PERF}\n{detail}\n"
                )
            )
        );
        assert_eq!(
            text(&args(&["-S", "-e", "OK", "-D", "10,5"]), &facts),
            (
                State::Ok,
                format!(
                    "TCP OK - 0.004 second response time on localhost port 22 [* OK ready], \
                     TLSv1.3, cert localhost 20 days left | {TLS_PERF}\n{detail}\n"
                )
            )
        );
    }

    #[test]
    fn without_days_a_valid_certificate_is_not_named_an_expired_one_is() {
        let (facts, cert) = over_tls("", 3);
        let detail = |c: &CertFacts| {
            format!(
                "certificate subject 'localhost', issuer 'rsplugins test CA', expires {}",
                c.not_after_text()
            )
        };
        assert_eq!(
            text(&args(&["-S"]), &facts),
            (
                State::Ok,
                format!(
                    "TCP OK - 0.004 second response time on localhost port 22, TLSv1.3 \
                     | {TLS_PERF}\n{}\n",
                    detail(&cert)
                )
            )
        );
        let (facts, cert) = over_tls("", -3);
        assert_eq!(
            text(&args(&["-S"]), &facts),
            (
                State::Critical,
                format!(
                    "TCP CRITICAL - cert localhost expired 2 days ago ({}), 0.004 second response \
                     time on localhost port 22, TLSv1.3 | {TLS_PERF}\n{}\n",
                    cert.not_after_text(),
                    detail(&cert)
                )
            )
        );
    }

    #[test]
    fn verbose_levels() {
        let facts = plain("220 hi\r\n221 bye\r\n", Some(true));
        let details = |v: &str| {
            evaluate(
                &args(&["-E", "-s", "QUIT\\r\\n", "-q", "x", "-e", "221", v]),
                &facts,
            )
            .details
        };
        assert_eq!(
            details("-v"),
            [
                "sent: QUIT\\r\\n",
                "sent on quit: x",
                "received 17 bytes: 220 hi\\r\\n221 bye\\r\\n"
            ]
        );
        assert_eq!(
            details("-vv")[..2],
            [
                "connected to 127.0.0.1 port 22",
                "expect: '221' (any), on mismatch WARNING, on refusal CRITICAL"
            ]
        );
        let long = plain(&"x".repeat(300), Some(true));
        let v = evaluate(&args(&["-e", "x", "-v"]), &long).details;
        assert!(v[0].ends_with("x..."), "{v:?}");
        let vvv = evaluate(&args(&["-e", "x", "-vvv"]), &long).details;
        assert!(vvv[2].ends_with(&"x".repeat(300)), "{vvv:?}");
        assert!(evaluate(&args(&[]), &facts).details.is_empty());
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
        assert_eq!(a.probe.expect.len(), 2);
        assert_eq!(a.probe.refuse, State::Ok);
        assert_eq!(a.probe.mismatch, State::Critical);
        assert!(a.ssl && a.probe.jail && a.probe.all && a.probe.escape);
        assert!(Args::try_parse_from(["check_tcp_rs", "-H", "x"]).is_err());
    }
}
