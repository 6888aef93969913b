//! Judging what the server answered, in C check_http's words:
//! `HTTP OK: HTTP/1.1 200 OK - 612 bytes in 0.002 second response time`,
//! with what is wrong between the status line and the size.

use rsplugins::clock::{now_epoch, parse_http_date};
use rsplugins::output::FirstLine;
use rsplugins::perfdata::{Perfdata, Uom};
use rsplugins::tls::cert::certificate_check;
use rsplugins::tls::{CertDays, TlsSummary};
use rsplugins::{CheckResult, State};

use crate::fetch::{Facts, Hop, RedirectStop};
use crate::{Args, OnRedirect};

/// One finding: its state and its words (empty when there is nothing to say).
type Finding = (State, String);

/// The status line against `-e`, or the status classes of C: 5xx
/// CRITICAL, 4xx WARNING, 3xx as `-f` says, the rest OK. `Err` is C's
/// early end (`Invalid HTTP response ...`), shown in the dash form.
fn status(args: &Args, hop: &Hop) -> Result<Finding, Finding> {
    let line = hop.status_line();
    if let Some(expect) = &args.expect {
        if expect.split(',').any(|e| line.contains(e)) {
            return Ok((
                State::Ok,
                format!("Status line output matched \"{expect}\""),
            ));
        }
        let port = hop.target.as_ref().map_or(80, |t| t.port);
        let on_port = if port == 80 {
            String::new()
        } else {
            format!(" on port {port}")
        };
        return Err((
            State::Critical,
            format!("Invalid HTTP response received from host{on_port}: {line}"),
        ));
    }
    let state = match hop.status {
        s if !(100..600).contains(&s) => {
            return Err((State::Critical, format!("Invalid Status ({line})")))
        }
        500.. => State::Critical,
        400.. => State::Warning,
        300.. => match args.onredirect {
            OnRedirect::State(s) => s,
            // A 3xx at the end of following: the redirect stop says why.
            OnRedirect::Follow(_) => State::Ok,
        },
        _ => State::Ok,
    };
    Ok((state, line))
}

/// `-M`: the document's age from its Last-Modified and the server's Date.
fn age(max_age: u64, hop: &Hop) -> Finding {
    let Some(server) = hop.header("date").filter(|d| !d.trim().is_empty()) else {
        return (State::Unknown, "Server date unknown".to_string());
    };
    let Some(document) = hop.header("last-modified").filter(|d| !d.trim().is_empty()) else {
        return (
            State::Critical,
            "Document modification date unknown".to_string(),
        );
    };
    let (srv, doc) = match (parse_http_date(server), parse_http_date(document)) {
        (Some(srv), Some(doc)) => (srv, doc),
        (None, _) => {
            return (
                State::Critical,
                format!("Server date \"{server}\" unparsable"),
            );
        }
        (_, None) => {
            return (
                State::Critical,
                format!("Document date \"{document}\" unparsable"),
            );
        }
    };
    let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
    if doc > srv + 30 {
        (
            State::Critical,
            format!("Document is {} seconds in the future", doc - srv),
        )
    } else if doc < srv.saturating_sub(max_age) {
        let n = srv - doc;
        let text = if n > 2 * 86_400 {
            format!("Last modified {:.1} days ago", n as f64 / 86_400.0)
        } else {
            format!(
                "Last modified {}:{:02}:{:02} ago",
                n / 3600,
                n / 60 % 60,
                n % 60
            )
        };
        (State::Critical, text)
    } else {
        (State::Ok, String::new())
    }
}

fn redirect_stop(stop: &RedirectStop) -> Finding {
    match stop {
        RedirectStop::Loop(url) => (
            State::Critical,
            format!("redirection creates an infinite loop - {url}"),
        ),
        RedirectStop::TooMany(max, url) => (
            State::Warning,
            format!("maximum redirection depth {max} exceeded - {url}"),
        ),
        RedirectStop::Unusable(why) => (State::Unknown, format!("cannot follow: {why}")),
    }
}

/// The certificate on an HTTPS page: judged by `-C` when given, else
/// only an expired one counts (the rule of every TLS plugin).
fn certificate(tls: Option<&TlsSummary>, days: Option<CertDays>) -> Option<Finding> {
    let facts = tls?.facts.cert.as_ref()?;
    let part = certificate_check(facts, days, None);
    let state = part.state();
    match (days, state) {
        (None, State::Critical) | (Some(_), _) => Some((state, part.summary)),
        _ => None,
    }
}

/// `time=...s;w;c;0 size=...B;;;0`, and with `-E` the phases of the last response.
fn perfdata(args: &Args, facts: &Facts, hop: &Hop, bytes: u64) -> Vec<Perfdata> {
    let thresholds = args.thresholds.thresholds();
    let mut points = vec![
        Perfdata::seconds("time", facts.elapsed)
            .thresholds(&thresholds)
            .min(0.0),
        Perfdata::new("size", bytes as f64, Uom::Bytes).min(0.0),
    ];
    if args.extended_perfdata {
        points.push(Perfdata::seconds("time_connect", hop.connect));
        if let Some(tls) = &hop.tls {
            // C's name: graphs of check_http -E key on it.
            points.push(Perfdata::seconds("time_ssl", tls.handshake_time));
        }
        points.push(Perfdata::seconds("time_headers", hop.headers_time));
        points.push(Perfdata::seconds("time_firstbyte", hop.firstbyte));
        points.push(Perfdata::seconds("time_transfer", hop.transfer));
    }
    points
}

/// What `-v` shows: each response on the way, with its timings.
fn details(facts: &Facts) -> Vec<String> {
    let mut lines = Vec::new();
    for hop in &facts.hops {
        let url = hop
            .target
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut line = format!("{url}: {}", hop.status_line());
        if let Some(tls) = &hop.tls {
            line.push_str(&format!(", {}", tls.facts.version));
            if let Some(p) = &tls.facts.alpn {
                line.push_str(&format!(" ALPN {p}"));
            }
        }
        if let Some(body) = &hop.body {
            line.push_str(&format!(", {} body bytes", body.bytes));
        }
        line.push_str(&format!(
            ", connect {:.6} s, first byte {:.6} s, headers {:.6} s, transfer {:.6} s",
            hop.connect.as_secs_f64(),
            hop.firstbyte.as_secs_f64(),
            hop.headers_time.as_secs_f64(),
            hop.transfer.as_secs_f64()
        ));
        if let Some(location) = hop.header("location") {
            line.push_str(&format!(", Location: {location}"));
        }
        lines.push(line);
    }
    lines
}

/// Judges the responses: the last one (after redirects) counts.
pub fn evaluate(args: &Args, facts: &Facts) -> CheckResult {
    let Some(hop) = facts.hops.last() else {
        return CheckResult::with_state(State::Unknown, "no response was read");
    };
    let url = hop
        .target
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let bytes = hop.body.map_or(0, |b| b.bytes);
    let perf = perfdata(args, facts, hop, bytes);
    let (head_state, head) = match status(args, hop) {
        Ok(found) => found,
        Err((state, text)) => {
            // C ends here without the size and time; `Invalid Status` in its colon form.
            let colon = text.starts_with("Invalid Status");
            let mut result = CheckResult::with_state(state, text);
            if colon {
                result.first_line = Some(FirstLine::Colon);
            }
            result.perfdata = perf;
            return result;
        }
    };
    let mut findings: Vec<Finding> = Vec::new();
    if let Some(stop) = &facts.stop {
        findings.push(redirect_stop(stop));
    }
    if let Some(found) = certificate(hop.tls.as_ref(), args.certificate) {
        findings.push(found);
    }
    if let Some(max) = args.max_age {
        findings.push(age(max, hop));
    }
    if let Some(want) = &args.header_string {
        // Header names arrive in lower case (HTTP/2 has no other): compare without case.
        if !hop
            .header_text()
            .to_ascii_lowercase()
            .contains(&want.to_ascii_lowercase())
        {
            findings.push((
                State::Critical,
                format!("header '{want}' not found on '{url}'"),
            ));
        }
    }
    if let Some(body) = &hop.body {
        if body.string_found == Some(false) {
            let want = args.string.as_deref().unwrap_or_default();
            findings.push((
                State::Critical,
                format!("string '{want}' not found on '{url}'"),
            ));
        }
        if let Some(found) = body.regex_found {
            if found == args.invert_regex {
                let text = if found {
                    "pattern found"
                } else {
                    "pattern not found"
                };
                findings.push((args.state_regex, text.to_string()));
            }
        }
        if body.cut {
            findings.push((
                State::Warning,
                format!("body larger than {bytes} bytes: not read to the end (--max-body)"),
            ));
        }
    }
    if let Some((min, max)) = args.pagesize {
        if max.is_some_and(|m| bytes > m) {
            findings.push((State::Warning, format!("page size {bytes} too large")));
        } else if bytes < min {
            findings.push((State::Warning, format!("page size {bytes} too small")));
        }
    }
    let seconds = facts.elapsed.as_secs_f64();
    let time_state = args.thresholds.thresholds().evaluate(seconds);
    let state = State::worst_of(
        std::iter::once(head_state)
            .chain(findings.iter().map(|(s, _)| *s))
            .chain(std::iter::once(time_state)),
    );
    let problems: Vec<&str> = findings
        .iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(_, t)| t.as_str())
        .collect();
    let mut summary = head;
    if !problems.is_empty() {
        summary.push_str(" - ");
        summary.push_str(&problems.join(", "));
    }
    // C says "second" whatever the number.
    summary.push_str(&format!(
        " - {bytes} bytes in {seconds:.3} second response time"
    ));
    let mut result = CheckResult::with_state(state, summary);
    result.first_line = Some(FirstLine::Colon);
    result.perfdata = perf;
    if args.common.verbosity() > 0 {
        result.details = details(facts);
    }
    result
}

/// `-C` without `--continue-after-certificate`: only the certificate, in
/// C's words (`Certificate 'localhost' will expire on ...`).
pub fn evaluate_certificate(tls: Option<&TlsSummary>, days: CertDays, host: &str) -> CheckResult {
    let Some(cert) = tls.and_then(|t| t.facts.cert.as_ref()) else {
        return CheckResult::with_state(
            State::Critical,
            format!("Cannot retrieve the server certificate of {host}"),
        );
    };
    let left = cert.days_left_at(now_epoch());
    let state = days.evaluate(left);
    let when = cert.not_after_text();
    let text = if left < 0 {
        format!("Certificate '{}' expired on {when}.", cert.subject)
    } else if state == State::Ok {
        format!("Certificate '{}' will expire on {when}.", cert.subject)
    } else {
        format!(
            "Certificate '{}' expires in {left} day(s) ({when}).",
            cert.subject
        )
    };
    let mut result = CheckResult::with_state(state, text);
    result.perf(Perfdata::new("days_left", left as f64, Uom::None));
    result
}
