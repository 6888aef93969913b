use std::time::Duration;

use clap::Parser;
use rsplugins::output::{render_text_as, FirstLine};
use rsplugins::State;

use super::*;
use crate::body::BodyFacts;
use crate::fetch::{Facts, Hop, RedirectStop};

fn args(extra: &[&str]) -> Args {
    let mut argv = vec!["check_http_rs", "-H", "localhost"];
    argv.extend_from_slice(extra);
    Args::try_parse_from(argv).unwrap()
}

fn hop(status: u16, reason: &str, bytes: u64) -> Hop {
    Hop {
        target: Some(first_target(&args(&[])).unwrap()),
        version: "HTTP/1.1".into(),
        status,
        reason: reason.into(),
        headers: vec![
            ("date".into(), "Mon, 07 Dec 2026 10:00:00 GMT".into()),
            (
                "last-modified".into(),
                "Mon, 07 Dec 2026 09:00:00 GMT".into(),
            ),
            ("x-rsplugins".into(), "testbed".into()),
        ],
        body: Some(BodyFacts {
            bytes,
            ..BodyFacts::default()
        }),
        ..Hop::default()
    }
}

fn facts(hops: Vec<Hop>) -> Facts {
    Facts {
        hops,
        stop: None,
        elapsed: Duration::from_micros(2123),
    }
}

fn text(a: &Args, f: &Facts) -> (State, String) {
    let r = evaluate(a, f);
    (r.state(), render_text_as(SERVICE, FirstLine::Dash, &r))
}

#[test]
fn c_s_first_line_for_each_status_class() {
    let ok = text(&args(&[]), &facts(vec![hop(200, "OK", 612)]));
    assert_eq!(
        ok,
        (
            State::Ok,
            "HTTP OK: HTTP/1.1 200 OK - 612 bytes in 0.002 second response time | time=0.002123s;;;0 size=612B;;;0\n".into()
        )
    );
    assert_eq!(
        text(&args(&[]), &facts(vec![hop(404, "Not Found", 3)])).0,
        State::Warning
    );
    assert_eq!(
        text(
            &args(&[]),
            &facts(vec![hop(500, "Internal Server Error", 3)])
        )
        .0,
        State::Critical
    );
    assert_eq!(
        text(&args(&[]), &facts(vec![hop(301, "Moved Permanently", 3)])).0,
        State::Ok
    );
    assert_eq!(
        text(
            &args(&["-f", "critical"]),
            &facts(vec![hop(301, "Moved Permanently", 3)])
        )
        .0,
        State::Critical
    );
    let (state, line) = text(&args(&[]), &facts(vec![hop(99, "Odd", 3)]));
    assert_eq!(state, State::Critical);
    assert!(
        line.starts_with("HTTP CRITICAL: Invalid Status (HTTP/1.1 99 Odd)"),
        "{line}"
    );
}

#[test]
fn expect_replaces_the_status_classes() {
    let (state, line) = text(
        &args(&["-e", "404,200"]),
        &facts(vec![hop(404, "Not Found", 3)]),
    );
    assert_eq!(state, State::Ok);
    assert!(
        line.starts_with("HTTP OK: Status line output matched \"404,200\" - 3 bytes in"),
        "{line}"
    );
    let (state, line) = text(
        &args(&["-e", "200"]),
        &facts(vec![hop(404, "Not Found", 3)]),
    );
    assert_eq!(state, State::Critical);
    assert!(
        line.starts_with(
            "HTTP CRITICAL - Invalid HTTP response received from host: HTTP/1.1 404 Not Found"
        ),
        "{line}"
    );
    let mut h2 = hop(200, "", 3);
    h2.version = "HTTP/2".into();
    assert_eq!(
        text(&args(&["-e", "HTTP/2 200"]), &facts(vec![h2])).0,
        State::Ok
    );
}

#[test]
fn content_checks_name_the_page_in_c_s_words() {
    let mut h = hop(200, "OK", 10);
    h.body = Some(BodyFacts {
        bytes: 10,
        string_found: Some(false),
        regex_found: Some(false),
        cut: false,
    });
    let (state, line) = text(
        &args(&["-s", "needle", "-r", "x+", "-d", "X-Missing"]),
        &facts(vec![h]),
    );
    assert_eq!(state, State::Critical);
    assert!(
        line.starts_with(
            "HTTP CRITICAL: HTTP/1.1 200 OK - header 'X-Missing' not found on 'http://localhost:80/', \
             string 'needle' not found on 'http://localhost:80/', pattern not found - 10 bytes in"
        ),
        "{line}"
    );
    // Header names are matched without case (HTTP/2 sends them in lower case).
    assert_eq!(
        text(
            &args(&["-d", "X-Rsplugins: testbed"]),
            &facts(vec![hop(200, "OK", 1)])
        )
        .0,
        State::Ok
    );
}

#[test]
fn regex_inversion_and_its_state() {
    let mut h = hop(200, "OK", 10);
    h.body = Some(BodyFacts {
        bytes: 10,
        regex_found: Some(true),
        ..BodyFacts::default()
    });
    let f = facts(vec![h]);
    assert_eq!(text(&args(&["-r", "x"]), &f).0, State::Ok);
    let (state, line) = text(
        &args(&["-r", "x", "--invert-regex", "--state-regex", "warning"]),
        &f,
    );
    assert_eq!(state, State::Warning);
    assert!(line.contains("- pattern found - 10 bytes"), "{line}");
}

#[test]
fn page_size_age_and_a_cut_body() {
    let f = facts(vec![hop(200, "OK", 10)]);
    assert!(text(&args(&["-m", "100"]), &f)
        .1
        .contains("page size 10 too small"));
    assert!(text(&args(&["-m", "1:5"]), &f)
        .1
        .contains("page size 10 too large"));
    assert_eq!(text(&args(&["-m", "1:50"]), &f).0, State::Ok);
    assert_eq!(text(&args(&["-M", "2h"]), &f).0, State::Ok);
    let (state, line) = text(&args(&["-M", "10m"]), &f);
    assert_eq!(state, State::Critical);
    assert!(line.contains("Last modified 1:00:00 ago"), "{line}");
    let mut h = hop(200, "OK", 8);
    h.body = Some(BodyFacts {
        bytes: 8,
        cut: true,
        ..BodyFacts::default()
    });
    let (state, line) = text(&args(&[]), &facts(vec![h]));
    assert_eq!(state, State::Warning);
    assert!(
        line.contains("body larger than 8 bytes: not read to the end (--max-body)"),
        "{line}"
    );
}

#[test]
fn redirects_followed_loops_and_depth() {
    let first = hop(301, "Moved Permanently", 0);
    let last = hop(200, "OK", 3);
    let (state, line) = text(&args(&["-f", "follow"]), &facts(vec![first.clone(), last]));
    assert_eq!(state, State::Ok);
    assert!(
        line.starts_with("HTTP OK: HTTP/1.1 200 OK - 3 bytes"),
        "{line}"
    );
    let mut f = facts(vec![first.clone(), hop(302, "Found", 0)]);
    f.stop = Some(RedirectStop::Loop("http://localhost:80/loop1".into()));
    let (state, line) = text(&args(&["-f", "follow"]), &f);
    assert_eq!(state, State::Critical);
    assert!(
        line.contains("redirection creates an infinite loop - http://localhost:80/loop1"),
        "{line}"
    );
    f.stop = Some(RedirectStop::TooMany(1, "http://localhost:80/x".into()));
    assert_eq!(text(&args(&["-f", "follow"]), &f).0, State::Warning);
}

#[test]
fn time_thresholds_and_extended_perfdata() {
    let mut f = facts(vec![hop(200, "OK", 1)]);
    f.elapsed = Duration::from_millis(1500);
    let (state, line) = text(&args(&["-w", "1", "-c", "2", "-E"]), &f);
    assert_eq!(state, State::Warning);
    assert!(line.contains(" | time=1.5s;1;2;0 size=1B;;;0 time_connect=0s;;;0 time_headers=0s;;;0 time_firstbyte=0s;;;0 time_transfer=0s;;;0"), "{line}");
}

#[test]
fn targets_from_host_address_port_and_url() {
    let t = first_target(&args(&[])).unwrap();
    assert_eq!(t.to_string(), "http://localhost:80/");
    let t = first_target(&args(&["-I", "127.0.0.1", "-S", "-u", "health"])).unwrap();
    assert_eq!(
        (t.address.as_str(), t.port, t.tls),
        ("127.0.0.1", 443, true)
    );
    assert_eq!(t.to_string(), "https://localhost:443/health");
    let t =
        first_target(&Args::try_parse_from(["c", "-H", "www.example.test:8080"]).unwrap()).unwrap();
    assert_eq!(
        (t.port, t.host_header()),
        (8080, "www.example.test:8080".to_string())
    );
    let t = first_target(
        &Args::try_parse_from(["c", "-u", "https://[::1]:8443/x?y", "-I", "::1"]).unwrap(),
    )
    .unwrap();
    assert_eq!(t.to_string(), "https://[::1]:8443/x?y");
    assert!(first_target(&Args::try_parse_from(["c"]).unwrap()).is_err());
}

#[test]
fn ssl_versions_as_the_itl_passes_them() {
    // As the runner parses: getopt's `-S1.2` reaches clap as `--ssl=1.2`.
    let v = |extra: &[&str]| {
        let argv: Vec<String> = ["check_http_rs", "-H", "localhost"]
            .iter()
            .chain(extra)
            .map(|w| w.to_string())
            .collect();
        let argv = rsplugins::argv::normalize(&<Args as clap::CommandFactory>::command(), argv);
        tls_options(&Args::try_parse_from(argv).unwrap()).map(|o| o.versions)
    };
    assert_eq!(v(&["-S"]), Ok(TlsVersions::Any));
    assert_eq!(v(&["-S1.2"]), Ok(TlsVersions::Only12));
    assert_eq!(v(&["--ssl=1.2+"]), Ok(TlsVersions::Any));
    assert_eq!(v(&["-S1.3", "-u", "/"]), Ok(TlsVersions::Only13));
    assert_eq!(v(&["--ssl", "-u", "/"]), Ok(TlsVersions::Any));
    let refused = |extra: &[&str]| v(extra).unwrap_err().message;
    assert!(refused(&["-S1.1"]).contains("TLS 1.1 is not supported"));
    assert!(refused(&["-S3"]).contains("SSLv3"));
}

#[test]
fn the_request_carries_auth_headers_and_the_post() {
    let a = ask(&args(&[
        "-a",
        "webmon:webpass",
        "-k",
        "X-A: 1",
        "-P",
        "a=b",
    ]))
    .unwrap();
    assert_eq!(a.method, "POST");
    assert!(a
        .headers
        .contains(&("authorization".into(), "Basic d2VibW9uOndlYnBhc3M=".into())));
    assert!(a.headers.contains(&("x-a".into(), "1".into())));
    assert!(a.headers.contains(&(
        "content-type".into(),
        "application/x-www-form-urlencoded".into()
    )));
    // Credentials switch verification on (unless --insecure).
    assert!(a.tls.verify);
    assert!(!ask(&args(&["-a", "u:p", "--insecure"])).unwrap().tls.verify);
    assert!(ask(&args(&["-a", "nocolon"])).is_err());
    assert!(ask(&args(&["-k", "no colon"])).is_err());
    assert!(ask(&args(&["-r", "("])).is_err());
}

#[test]
fn ages_and_page_sizes_parse() {
    assert_eq!(parse_age("10m"), Ok(600));
    assert_eq!(parse_age("2d"), Ok(172_800));
    assert!(parse_age("10w").is_err());
    assert_eq!(parse_pagesize("100:2000"), Ok((100, Some(2000))));
    assert_eq!(parse_pagesize("100b"), Ok((100, None)));
}
