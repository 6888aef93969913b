//! check_http_rs against the testbed's nginx (HTTP on 80 and 8080, HTTPS
//! with HTTP/2 on 443, a 5-day certificate on 8443) in C check_http's
//! words, and against hostile in-process peers (always run).

use std::time::Duration;

use assert_cmd::assert::Assert;
use predicates::prelude::*;
use rsplugins_tests::http_peer::{self, RawPeer};
use rsplugins_tests::peer::{closed_port, send, Peer, Step};
use rsplugins_tests::pki::TestPki;
use rsplugins_tests::{
    plugin, plugin_on, testbed_ca, testbed_env, testbed_ipv6, testbed_nginx, within,
};

fn http() -> assert_cmd::Command {
    plugin("check_http_rs")
}

/// check_http_rs with `args` (against nginx: `-H localhost ...`).
fn web(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = http();
    cmd.args(args);
    cmd
}

/// check_http_rs at a scripted peer: `-H 127.0.0.1 -p PORT`.
fn at(port: u16) -> assert_cmd::Command {
    plugin_on("check_http_rs", port)
}

fn re(pattern: &str) -> predicates::str::RegexPredicate {
    predicate::str::is_match(pattern).unwrap()
}

/// `text` as a regular expression matching it literally.
fn lit(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// C's line for a judged page, whole: `HTTP OK: HTTP/1.1 200 OK - 118
/// bytes in 0.003 second response time | time=...s;;;0 size=118B;;;0`.
/// `head` is literal text (status line and findings), `bytes` a pattern.
fn judged(state: &str, head: &str, bytes: &str) -> predicates::str::RegexPredicate {
    re(&format!(
        r"^HTTP {state}: {} - {bytes} bytes in \d+\.\d{{3}} second response time \| time=[0-9.]+s;;;0 size={bytes}B;;;0\n$",
        lit(head)
    ))
}

/// The same, for the first line only (more lines follow: `-v`).
fn judged_first(state: &str, head: &str, bytes: &str) -> predicates::str::RegexPredicate {
    re(&format!(
        r"^HTTP {state}: {} - {bytes} bytes in \d+\.\d{{3}} second response time \| time=[0-9.]+s;;;0 size={bytes}B;;;0\n",
        lit(head)
    ))
}

fn stdout(assert: &Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// The value of `days_left=N` in a `-C` answer.
fn days_left(text: &str) -> i64 {
    text.split("days_left=")
        .nth(1)
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or_else(|| panic!("no days_left in {text:?}"))
}

/// The answer to a GET: `HTTP/1.1 200 OK` with `body`.
fn ok_response(body: &str) -> Step {
    send(&format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

/// The headers of a request as the peer recorded them, lower-cased.
fn lower(lines: &[String]) -> Vec<String> {
    lines.iter().map(|l| l.to_ascii_lowercase()).collect()
}

const TWO_SECONDS_AND_SOME: Duration = Duration::from_millis(3500);

// ---- the real nginx of tests/testbed ----

#[test]
fn nginx_front_page_in_cs_words() {
    if !testbed_nginx() {
        return;
    }
    web(&["-H", "localhost"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "118"));
    web(&["-H", "127.0.0.1", "-u", "/"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "118"));
    // -I alone: the address is the Host too.
    web(&["-I", "127.0.0.1", "-s", "It works."])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "118"));
}

#[test]
fn nginx_string_found_or_not() {
    if !testbed_nginx() {
        return;
    }
    web(&["-H", "localhost", "-u", "/health", "-s", "OK"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "3"));
    web(&["-H", "localhost", "-u", "/health", "-s", "missing"])
        .assert()
        .code(2)
        .stdout(judged(
            "CRITICAL",
            "HTTP/1.1 200 OK - string 'missing' not found on 'http://localhost:80/health'",
            "3",
        ));
}

#[test]
fn nginx_status_classes() {
    if !testbed_nginx() {
        return;
    }
    web(&["-H", "localhost", "-u", "/nope"])
        .assert()
        .code(1)
        .stdout(judged("WARNING", "HTTP/1.1 404 Not Found", r"\d+"));
    web(&["-H", "localhost", "-u", "/error500"])
        .assert()
        .code(2)
        .stdout(judged(
            "CRITICAL",
            "HTTP/1.1 500 Internal Server Error",
            r"\d+",
        ));
    web(&["-H", "localhost", "-u", "/error503"])
        .assert()
        .code(2)
        .stdout(judged(
            "CRITICAL",
            "HTTP/1.1 503 Service Temporarily Unavailable",
            r"\d+",
        ));
    // Plain HTTP to the TLS port: nginx's 400, as C shows it.
    web(&["-H", "localhost", "-p", "443"])
        .assert()
        .code(1)
        .stdout(judged("WARNING", "HTTP/1.1 400 Bad Request", r"\d+"));
}

#[test]
fn nginx_redirect_judged_by_f_or_followed() {
    if !testbed_nginx() {
        return;
    }
    let redirect = |extra: &[&str]| {
        let mut cmd = web(&["-H", "localhost", "-u", "/redirect"]);
        cmd.args(extra);
        cmd
    };
    redirect(&[])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 301 Moved Permanently", r"\d+"));
    redirect(&["-f", "warning"]).assert().code(1).stdout(judged(
        "WARNING",
        "HTTP/1.1 301 Moved Permanently",
        r"\d+",
    ));
    redirect(&["-f", "critical"])
        .assert()
        .code(2)
        .stdout(judged("CRITICAL", "HTTP/1.1 301 Moved Permanently", r"\d+"));
    redirect(&["-f", "unknown"]).assert().code(3);
    redirect(&["-f", "follow", "-s", "OK"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "3"));
    // -v shows both responses, the first with its Location.
    let out = redirect(&["-f", "follow", "-v"]).assert().code(0);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[1].starts_with("http://localhost:80/redirect: HTTP/1.1 301 Moved Permanently, ")
            && lines[1].ends_with(", Location: /health"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("http://localhost:80/health: HTTP/1.1 200 OK, 3 body bytes, "),
        "{text}"
    );
    // An absolute Location, with each way of following it.
    for how in ["follow", "sticky", "stickyport"] {
        web(&[
            "-H",
            "localhost",
            "-I",
            "127.0.0.1",
            "-u",
            "/redirect-abs",
            "-f",
            how,
            "-s",
            "OK",
        ])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "3"));
    }
}

#[test]
fn nginx_redirect_loop_is_critical() {
    if !testbed_nginx() {
        return;
    }
    web(&["-H", "localhost", "-u", "/loop1", "-f", "follow"])
        .assert()
        .code(2)
        .stdout(judged(
            "CRITICAL",
            "HTTP/1.1 302 Moved Temporarily - redirection creates an infinite loop - http://localhost:80/loop1",
            r"\d+",
        ));
    // Over HTTPS (HTTP/2) the same.
    web(&["-H", "localhost", "-S", "-u", "/loop1", "-f", "follow"])
        .assert()
        .code(2)
        .stdout(judged(
            "CRITICAL",
            "HTTP/2 302 - redirection creates an infinite loop - https://localhost:443/loop1",
            r"\d+",
        ));
    web(&["-H", "localhost", "-S", "-u", "/redirect", "-f", "follow"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/2 200", "3"));
}

#[test]
fn nginx_max_redirs() {
    if !testbed_nginx() {
        return;
    }
    web(&[
        "-H",
        "localhost",
        "-u",
        "/redirect",
        "-f",
        "follow",
        "--max-redirs",
        "0",
    ])
    .assert()
    .code(1)
    .stdout(judged(
        "WARNING",
        "HTTP/1.1 301 Moved Permanently - maximum redirection depth 0 exceeded - http://localhost:80/health",
        r"\d+",
    ));
    web(&[
        "-H",
        "localhost",
        "-u",
        "/redirect",
        "-f",
        "follow",
        "--max-redirs",
        "1",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "3"));
}

#[test]
fn nginx_https_speaks_http2_by_alpn() {
    if !testbed_nginx() {
        return;
    }
    web(&["-H", "localhost", "-S", "-u", "/health"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/2 200", "3"));
    web(&["-H", "localhost", "-S", "-v"])
        .assert()
        .code(0)
        .stdout(judged_first("OK", "HTTP/2 200", "118"))
        .stdout(re(
            r"\nhttps://localhost:443/: HTTP/2 200, TLSv1\.[23] ALPN h2, 118 body bytes, connect ",
        ));
    // 8443 offers HTTP/1.1 only.
    web(&["-H", "localhost", "-p", "8443", "-S", "-v"])
        .assert()
        .code(0)
        .stdout(judged_first("OK", "HTTP/1.1 200 OK", "11"))
        .stdout(predicate::str::contains(" ALPN http/1.1, 11 body bytes"));
    // TLS to the plain port: the handshake fails.
    web(&["-H", "localhost", "-p", "80", "-S"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("HTTP CRITICAL - TLS failed: "));
}

#[test]
fn nginx_over_ipv6() {
    if !testbed_nginx() || !testbed_ipv6() {
        return;
    }
    web(&["-H", "::1", "-6", "-S", "-u", "/health"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/2 200", "3"));
    web(&["-I", "::1", "-H", "localhost", "-S", "-u", "/health"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/2 200", "3"));
    web(&["-H", "::1", "-u", "/health", "-v"])
        .assert()
        .code(0)
        .stdout(judged_first("OK", "HTTP/1.1 200 OK", "3"))
        .stdout(predicate::str::contains(
            "\nhttp://[::1]:80/health: HTTP/1.1 200 OK, 3 body bytes, ",
        ));
    web(&["-H", "[::1]:80", "-u", "/health"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "3"));
}

#[test]
fn nginx_certificate_verified_with_the_test_ca_only() {
    if !testbed_nginx() {
        return;
    }
    let ca = testbed_ca();
    web(&["-H", "localhost", "-S", "--verify-cert", "--ca-cert", &ca])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/2 200", "118"));
    // The IP address is in the certificate too; --ca-cert implies -D.
    web(&["-H", "127.0.0.1", "-S", "--ca-cert", &ca])
        .assert()
        .code(0);
    // The system's store does not know the test CA.
    web(&["-H", "localhost", "-S", "--verify-cert"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "HTTP CRITICAL - TLS failed: certificate not trusted: unknown issuer 'rsplugins test CA'",
        ));
    // Nor does another CA.
    let other = TestPki::new().ca_file();
    web(&["-H", "localhost", "-S", "--ca-cert", &other.path()])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "HTTP CRITICAL - TLS failed: certificate not trusted: unknown issuer",
        ));
}

#[test]
fn nginx_certificate_days() {
    if !testbed_nginx() {
        return;
    }
    let out = web(&["-H", "localhost", "-S", "-C", "30,14"]).assert().code(0).stdout(re(
        r"^HTTP OK - Certificate 'localhost' will expire on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\. \| days_left=\d+\n$",
    ));
    assert!(days_left(&stdout(&out)) >= 30);

    // 8443: the 5-day certificate.
    let short = |days: &str| web(&["-H", "localhost", "-p", "8443", "-S", "-C", days]);
    let out = short("30,14").assert().code(2).stdout(re(
        r"^HTTP CRITICAL - Certificate 'localhost' expires in \d day\(s\) \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)\. \| days_left=\d\n$",
    ));
    let left = days_left(&stdout(&out));
    assert!(
        stdout(&out).contains(&format!("expires in {left} day(s)")),
        "{}",
        stdout(&out)
    );
    assert!((0..=5).contains(&left), "{left}");
    // -C 3: OK while 3 days or more are left (setup renews it below 1).
    short("3")
        .assert()
        .code(if left >= 3 { 0 } else { 1 })
        .stdout(predicate::str::starts_with(if left >= 3 {
            "HTTP OK - Certificate 'localhost' will expire on "
        } else {
            "HTTP WARNING - Certificate 'localhost' expires in "
        }));
    // The bound: exactly the days left is OK, one more is WARNING.
    short(&left.to_string()).assert().code(0);
    short(&(left + 1).to_string())
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(format!(
            "HTTP WARNING - Certificate 'localhost' expires in {left} day(s) ("
        )));
}

#[test]
fn nginx_continue_after_certificate_checks_the_page_too() {
    if !testbed_nginx() {
        return;
    }
    web(&[
        "-H",
        "localhost",
        "-p",
        "8443",
        "-S",
        "-C",
        "30",
        "--continue-after-certificate",
        "-s",
        "short cert",
    ])
    .assert()
    .code(1)
    .stdout(re(
        r"^HTTP WARNING: HTTP/1\.1 200 OK - cert localhost \d days left - 11 bytes in \d+\.\d{3} second response time \| time=[0-9.]+s;;;0 size=11B;;;0\n$",
    ));
    // Both problems on the line, the worst state.
    web(&[
        "-H",
        "localhost",
        "-p",
        "8443",
        "-S",
        "-C",
        "30,14",
        "--continue-after-certificate",
        "-s",
        "nope",
    ])
    .assert()
    .code(2)
    .stdout(re(
        r"^HTTP CRITICAL: HTTP/1\.1 200 OK - cert localhost \d days left, string 'nope' not found on 'https://localhost:8443/' - 11 bytes in ",
    ));
    // On 443 the year-long certificate is fine and the page is judged.
    web(&[
        "-H",
        "localhost",
        "-S",
        "-C",
        "30,14",
        "--continue-after-certificate",
        "-u",
        "/nope",
    ])
    .assert()
    .code(1)
    .stdout(re(
        r"^HTTP WARNING: HTTP/2 404 - cert localhost \d+ days left - ",
    ));
}

#[test]
fn nginx_tls_versions() {
    if !testbed_nginx() {
        return;
    }
    for (flag, version) in [("-S1.2", "TLSv1.2"), ("-S1.3", "TLSv1.3")] {
        web(&["-H", "localhost", flag, "-u", "/health", "-v"])
            .assert()
            .code(0)
            .stdout(judged_first("OK", "HTTP/2 200", "3"))
            .stdout(predicate::str::contains(format!(
                ": HTTP/2 200, {version} ALPN h2, "
            )));
    }
    web(&["-H", "localhost", "-S1.2+", "-u", "/health"])
        .assert()
        .code(0);
    web(&["-H", "localhost", "-S1.1"]).assert().code(3).stdout(
        "HTTP UNKNOWN - -S 1.1: TLS 1.1 is not supported (insecure; TLS 1.2 and 1.3 are)\n",
    );
    for old in ["-S1", "-S2", "-S3"] {
        web(&["-H", "localhost", old])
            .assert()
            .code(3)
            .stdout(predicate::str::contains("is not supported (insecure;"));
    }
    web(&["-H", "localhost", "-S4"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("-S 4: not a TLS version"));
}

#[test]
fn nginx_virtual_host() {
    if !testbed_nginx() {
        return;
    }
    let vhost = testbed_env("RSPLUGINS_TESTBED_HTTP_VHOST").unwrap_or("www.example.test".into());
    web(&["-H", &vhost, "-I", "127.0.0.1", "-s", "vhost"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "23"));
    // Over HTTPS the name goes in SNI and :authority.
    web(&["-H", &vhost, "-I", "127.0.0.1", "-S", "-s", "vhost"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/2 200", "23"));
    // -k Host: sent instead of ours over HTTP/1.1.
    web(&[
        "-H",
        "localhost",
        "-k",
        &format!("Host: {vhost}"),
        "-s",
        &format!("vhost {vhost}"),
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "23"));
    // The default server answers any other name.
    web(&["-H", "localhost", "-s", "vhost"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("string 'vhost' not found"));
}

#[test]
fn nginx_host_header_over_http2() {
    if !testbed_nginx() {
        return;
    }
    let vhost = testbed_env("RSPLUGINS_TESTBED_HTTP_VHOST").unwrap_or("www.example.test".into());
    // Over HTTP/2 a -k Host: is the :authority, so the virtual host answers.
    web(&[
        "-H",
        "localhost",
        "-S",
        "-k",
        &format!("Host: {vhost}"),
        "-s",
        &format!("vhost {vhost}"),
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/2 200", "23"));
    // Without it, the default server's front page.
    web(&["-H", "localhost", "-S", "-u", "/", "-s", "It works."])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/2 200", "118"));
}

#[test]
fn nginx_other_port() {
    if !testbed_nginx() {
        return;
    }
    let port = testbed_env("RSPLUGINS_TESTBED_HTTP_ALT_PORT").unwrap_or("8080".into());
    web(&["-H", "localhost", "-p", &port, "-s", "port 8080"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "10"));
    // The port appended to -H, as C's help says.
    web(&["-H", &format!("localhost:{port}"), "-s", "port 8080"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "10"));
    // A whole URL in -u: its host and port.
    web(&[
        "-H",
        "localhost",
        "-u",
        &format!("http://localhost:{port}/"),
        "-s",
        "port 8080",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "10"));
    // The default port is not 8080: the front page, without the string.
    web(&["-H", "localhost", "-s", "port 8080"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("string 'port 8080' not found"));
}

#[test]
fn nginx_basic_auth() {
    if !testbed_nginx() {
        return;
    }
    let auth = |extra: &[&str]| {
        let mut cmd = web(&["-H", "localhost", "-u", "/auth/"]);
        cmd.args(extra);
        cmd
    };
    auth(&[])
        .assert()
        .code(1)
        .stdout(judged("WARNING", "HTTP/1.1 401 Unauthorized", r"\d+"));
    auth(&["-a", "webmon:webpass", "-s", "secret area"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "12"));
    // The secret from the environment, or from a file's first line.
    auth(&["-a", "env:RSPLUGINS_TEST_WEB_AUTH", "-s", "secret area"])
        .env("RSPLUGINS_TEST_WEB_AUTH", "webmon:webpass")
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "12"));
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, b"webmon:webpass\n").unwrap();
    let spec = format!("file:{}", file.path().display());
    auth(&["-a", &spec, "-s", "secret area"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "12"));
    auth(&["-a", "webmon:wrong"])
        .assert()
        .code(1)
        .stdout(judged("WARNING", "HTTP/1.1 401 Unauthorized", r"\d+"));
    auth(&["-a", "nocolon"])
        .assert()
        .code(3)
        .stdout("HTTP UNKNOWN - -a takes USER:PASSWORD\n");
    // The secret never reaches the output, however verbose.
    for extra in [
        &["-a", "webmon:webpass", "-v"][..],
        &["-a", "webmon:webpass", "-vv"],
        &["-a", "webmon:webpass", "--output-format", "json"],
        &["-a", "env:RSPLUGINS_TEST_WEB_AUTH", "-vv"],
    ] {
        let mut cmd = auth(extra);
        cmd.env("RSPLUGINS_TEST_WEB_AUTH", "webmon:webpass");
        let out = cmd.assert().code(0);
        let text = stdout(&out);
        assert!(
            !text.contains("webpass") && !text.contains("d2VibW9uOndlYnBhc3M="),
            "{extra:?}: {text}"
        );
    }
}

#[test]
fn nginx_credentials_over_https_need_a_verified_certificate() {
    if !testbed_nginx() {
        return;
    }
    // A password crosses only a verified connection: the test CA is not
    // the system's.
    web(&[
        "-H",
        "localhost",
        "-S",
        "-u",
        "/auth/",
        "-a",
        "webmon:webpass",
    ])
    .assert()
    .code(2)
    .stdout(predicate::str::starts_with(
        "HTTP CRITICAL - TLS failed: certificate not trusted: unknown issuer 'rsplugins test CA'",
    ))
    .stdout(predicate::str::contains("use --ca-file"));
    let ca = testbed_ca();
    web(&[
        "-H",
        "localhost",
        "-S",
        "-u",
        "/auth/",
        "-a",
        "webmon:webpass",
        "--ca-cert",
        &ca,
        "-s",
        "secret area",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/2 200", "12"));
    // --insecure says so explicitly.
    web(&[
        "-H",
        "localhost",
        "-S",
        "-u",
        "/auth/",
        "-a",
        "webmon:webpass",
        "--insecure",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/2 200", "12"));
    // Without credentials nothing is verified (as C).
    web(&["-H", "localhost", "-S", "-u", "/auth/"])
        .assert()
        .code(1)
        .stdout(judged("WARNING", "HTTP/2 401", r"\d+"));
}

#[test]
fn nginx_large_page_and_max_body() {
    if !testbed_nginx() {
        return;
    }
    let size = testbed_env("RSPLUGINS_TESTBED_HTTP_LARGE_SIZE").unwrap_or("2097152".into());
    assert_eq!(size, "2097152");
    web(&["-H", "localhost", "-u", "/large", "-s", "END-OF-LARGE-PAGE"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", &size));
    web(&["-H", "localhost", "-u", "/large", "--max-body", "1000"])
        .assert()
        .code(1)
        .stdout(judged(
            "WARNING",
            "HTTP/1.1 200 OK - body larger than 1000 bytes: not read to the end (--max-body)",
            "1000",
        ));
    // The string past the bound is not found: CRITICAL, both said.
    web(&[
        "-H",
        "localhost",
        "-u",
        "/large",
        "--max-body",
        "100000",
        "-s",
        "END-OF-LARGE-PAGE",
    ])
    .assert()
    .code(2)
    .stdout(judged(
        "CRITICAL",
        "HTTP/1.1 200 OK - string 'END-OF-LARGE-PAGE' not found on 'http://localhost:80/large', body larger than 100000 bytes: not read to the end (--max-body)",
        "100000",
    ));
    // Over HTTP/2 the same bound.
    web(&[
        "-H",
        "localhost",
        "-S",
        "-u",
        "/large",
        "--max-body",
        "1000",
    ])
    .assert()
    .code(1)
    .stdout(judged(
        "WARNING",
        "HTTP/2 200 - body larger than 1000 bytes: not read to the end (--max-body)",
        "1000",
    ));
}

#[test]
fn nginx_body_of_exactly_max_body_is_read_whole() {
    if !testbed_nginx() {
        return;
    }
    // /health has a Content-Length of 3.
    web(&["-H", "localhost", "-u", "/health", "--max-body", "3"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "3"));
    web(&["-H", "localhost", "-S", "-u", "/health", "--max-body", "3"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/2 200", "3"));
    web(&["-H", "localhost", "-u", "/health", "--max-body", "2"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            " - body larger than 2 bytes: not read to the end (--max-body) - 2 bytes in ",
        ));
}

#[test]
fn nginx_chunked_body() {
    if !testbed_nginx() {
        return;
    }
    web(&[
        "-H",
        "localhost",
        "-u",
        "/chunked",
        "-d",
        "transfer-encoding: chunked",
        "-s",
        "chunked response",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "17"));
    // Over HTTP/2 there are no chunks: the same 17 bytes.
    web(&["-H", "localhost", "-S", "-u", "/chunked", "-s", "chunked"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/2 200", "17"));
}

#[test]
fn nginx_chunked_body_of_exactly_max_body_is_not_cut() {
    if !testbed_nginx() {
        return;
    }
    web(&[
        "-H",
        "localhost",
        "-u",
        "/chunked",
        "--max-body",
        "17",
        "-d",
        "transfer-encoding: chunked",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "17"));
    web(&["-H", "localhost", "-u", "/chunked", "--max-body", "16"])
        .assert()
        .code(1)
        .stdout(judged(
            "WARNING",
            "HTTP/1.1 200 OK - body larger than 16 bytes: not read to the end (--max-body)",
            "16",
        ));
}

#[test]
fn nginx_gzip_decompressed_when_asked() {
    if !testbed_nginx() {
        return;
    }
    // Asked for, the body comes compressed and is searched decoded.
    web(&[
        "-H",
        "localhost",
        "-u",
        "/gzip",
        "--enable-automatic-decompression",
        "-d",
        "content-encoding: gzip",
        "-s",
        "line 0064",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "4096"));
    web(&[
        "-H",
        "localhost",
        "-S",
        "-u",
        "/gzip",
        "--enable-automatic-decompression",
        "-d",
        "content-encoding: gzip",
        "-s",
        "line 0064",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/2 200", "4096"));
    // Not asked for, nginx sends it plain.
    web(&[
        "-H",
        "localhost",
        "-u",
        "/gzip",
        "-d",
        "content-encoding: gzip",
        "-s",
        "line 0001",
    ])
    .assert()
    .code(2)
    .stdout(judged(
        "CRITICAL",
        "HTTP/1.1 200 OK - header 'content-encoding: gzip' not found on 'http://localhost:80/gzip'",
        "4096",
    ));
    web(&["-H", "localhost", "-u", "/gzip", "-s", "line 0064"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "4096"));
}

#[test]
fn nginx_post_and_method() {
    if !testbed_nginx() {
        return;
    }
    // -P posts (the method is POST).
    web(&[
        "-H",
        "localhost",
        "-u",
        "/post",
        "-P",
        "a=b",
        "-s",
        "posted",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "7"));
    web(&[
        "-H",
        "localhost",
        "-S",
        "-u",
        "/post",
        "-P",
        "a=b",
        "-s",
        "posted",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/2 200", "7"));
    // GET is refused there; -j names the method, over -P too.
    web(&["-H", "localhost", "-u", "/post"])
        .assert()
        .code(1)
        .stdout(judged("WARNING", "HTTP/1.1 405 Not Allowed", r"\d+"));
    web(&["-H", "localhost", "-u", "/post", "-j", "GET", "-P", "a=b"])
        .assert()
        .code(1)
        .stdout(judged("WARNING", "HTTP/1.1 405 Not Allowed", r"\d+"));
    web(&[
        "-H",
        "localhost",
        "-u",
        "/post",
        "-j",
        "POST",
        "-s",
        "posted",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "7"));
    // HEAD: the status, no body.
    web(&["-H", "localhost", "-j", "HEAD"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "0"));
    web(&["-H", "localhost", "-S", "-j", "HEAD"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/2 200", "0"));
}

#[test]
fn nginx_json_output() {
    if !testbed_nginx() {
        return;
    }
    let out = web(&["-H", "localhost", "--output-format", "json"])
        .assert()
        .code(0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["state"], "OK", "{json}");
    assert_eq!(json["exit_code"], 0, "{json}");
    assert_eq!(json["service"], "HTTP", "{json}");
    let summary = json["summary"].as_str().unwrap_or_default();
    assert!(
        summary.starts_with("HTTP/1.1 200 OK - 118 bytes in "),
        "{json}"
    );
    let size = json["perfdata"]
        .as_array()
        .and_then(|p| p.iter().find(|d| d["label"] == "size"))
        .unwrap_or_else(|| panic!("no size in {json}"));
    assert_eq!(size["value"], 118.0, "{json}");
    assert_eq!(size["uom"], "B", "{json}");
    // A problem has its state and exit code too.
    let out = web(&["-H", "localhost", "-u", "/nope", "--output-format", "json"])
        .assert()
        .code(1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["state"], "WARNING", "{json}");
    assert_eq!(json["exit_code"], 1, "{json}");
}

#[test]
fn nginx_expected_status_line() {
    if !testbed_nginx() {
        return;
    }
    web(&["-H", "localhost", "-e", "200"])
        .assert()
        .code(0)
        .stdout(judged("OK", "Status line output matched \"200\"", "118"));
    // -e skips the status classes: a 404 it does not name is CRITICAL, in C's words.
    web(&["-H", "localhost", "-u", "/nope", "-e", "200"])
        .assert()
        .code(2)
        .stdout(re(
            r"^HTTP CRITICAL - Invalid HTTP response received from host: HTTP/1\.1 404 Not Found( \|[^\n]*)?\n$",
        ));
    // ... and a 404 it names is OK.
    web(&["-H", "localhost", "-u", "/nope", "-e", "404"])
        .assert()
        .code(0)
        .stdout(judged("OK", "Status line output matched \"404\"", r"\d+"));
    // Any of a comma-separated list.
    web(&["-H", "localhost", "-e", "HTTP/1.0,HTTP/1.1"])
        .assert()
        .code(0)
        .stdout(judged(
            "OK",
            "Status line output matched \"HTTP/1.0,HTTP/1.1\"",
            "118",
        ));
    // Not on port 80: C names the port.
    web(&["-H", "localhost", "-p", "8080", "-e", "404"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "HTTP CRITICAL - Invalid HTTP response received from host on port 8080: HTTP/1.1 200 OK",
        ));
}

#[test]
fn nginx_no_body() {
    if !testbed_nginx() {
        return;
    }
    // -N: judged on the status line and headers; no body bytes read.
    web(&["-H", "localhost", "-N"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "0"));
    web(&["-H", "localhost", "-S", "-N"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/2 200", "0"));
    // Even on the large page (a GET all the same).
    let out = web(&["-H", "localhost", "-u", "/large", "-N", "-v"])
        .assert()
        .code(0)
        .stdout(judged_first("OK", "HTTP/1.1 200 OK", "0"));
    assert!(!stdout(&out).contains("body bytes"), "{}", stdout(&out));
    web(&["-H", "localhost", "-u", "/nope", "-N"])
        .assert()
        .code(1)
        .stdout(judged("WARNING", "HTTP/1.1 404 Not Found", "0"));
}

#[test]
fn nginx_page_size() {
    if !testbed_nginx() {
        return;
    }
    let sized = |m: &str| web(&["-H", "localhost", "-m", m]);
    sized("100:200")
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "118"));
    // C's trailing b, and a bound of exactly the size.
    sized("118b:118b")
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "118"));
    sized("118")
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "118"));
    sized("10:117").assert().code(1).stdout(judged(
        "WARNING",
        "HTTP/1.1 200 OK - page size 118 too large",
        "118",
    ));
    sized("119").assert().code(1).stdout(judged(
        "WARNING",
        "HTTP/1.1 200 OK - page size 118 too small",
        "118",
    ));
}

#[test]
fn nginx_document_age() {
    if !testbed_nginx() {
        return;
    }
    // The front page is a file: Last-Modified against the server's Date.
    web(&["-H", "localhost", "-M", "1"])
        .assert()
        .code(2)
        .stdout(re(
            r"^HTTP CRITICAL: HTTP/1\.1 200 OK - Last modified (\d+:\d\d:\d\d|\d+\.\d days) ago - 118 bytes in ",
        ));
    web(&["-H", "localhost", "-M", "3650d"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "118"));
    // A returned page has no Last-Modified.
    web(&["-H", "localhost", "-u", "/health", "-M", "1h"])
        .assert()
        .code(2)
        .stdout(judged(
            "CRITICAL",
            "HTTP/1.1 200 OK - Document modification date unknown",
            "3",
        ));
    web(&["-H", "localhost", "-M", "1y"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with("HTTP UNKNOWN - "));
}

#[test]
fn nginx_header_string() {
    if !testbed_nginx() {
        return;
    }
    web(&[
        "-H",
        "localhost",
        "-u",
        "/headers",
        "-d",
        "X-Rsplugins: testbed",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "8"));
    // HTTP/2 names headers in lower case: compared without case.
    web(&[
        "-H",
        "localhost",
        "-S",
        "-u",
        "/headers",
        "-d",
        "X-Rsplugins: testbed",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/2 200", "8"));
    web(&["-H", "localhost", "-u", "/headers", "-d", "X-Nope"])
        .assert()
        .code(2)
        .stdout(judged(
            "CRITICAL",
            "HTTP/1.1 200 OK - header 'X-Nope' not found on 'http://localhost:80/headers'",
            "8",
        ));
}

#[test]
fn nginx_regular_expressions() {
    if !testbed_nginx() {
        return;
    }
    let health = |extra: &[&str]| {
        let mut cmd = web(&["-H", "localhost", "-u", "/health"]);
        cmd.args(extra);
        cmd
    };
    health(&["-r", "^OK$"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "3"));
    health(&["-r", "ok"]).assert().code(2).stdout(judged(
        "CRITICAL",
        "HTTP/1.1 200 OK - pattern not found",
        "3",
    ));
    health(&["-R", "^ok$"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "3"));
    health(&["-r", "OK", "--invert-regex"])
        .assert()
        .code(2)
        .stdout(judged("CRITICAL", "HTTP/1.1 200 OK - pattern found", "3"));
    health(&["-r", "nope", "--invert-regex"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "3"));
    health(&["-r", "nope", "--state-regex", "warning"])
        .assert()
        .code(1)
        .stdout(judged(
            "WARNING",
            "HTTP/1.1 200 OK - pattern not found",
            "3",
        ));
    health(&["-r", "nope", "--state-regex", "unknown"])
        .assert()
        .code(3)
        .stdout(judged(
            "UNKNOWN",
            "HTTP/1.1 200 OK - pattern not found",
            "3",
        ));
    // Without -l '.' stops at a line end, with -l it does not.
    health(&["-r", "OK."]).assert().code(2).stdout(judged(
        "CRITICAL",
        "HTTP/1.1 200 OK - pattern not found",
        "3",
    ));
    health(&["-l", "-r", "OK."])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "3"));
    web(&[
        "-H",
        "localhost",
        "-r",
        "<title>rsplugins test page</title>",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "118"));
    health(&["-r", "(unclosed"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "HTTP UNKNOWN - invalid regular expression '(unclosed'",
        ));
}

#[test]
fn nginx_extended_perfdata() {
    if !testbed_nginx() {
        return;
    }
    let labels = |text: &str| -> Vec<String> {
        let perf = text.lines().next().unwrap_or_default();
        let perf = perf.split(" | ").nth(1).unwrap_or_default();
        perf.split_whitespace()
            .map(|p| p.split('=').next().unwrap_or_default().to_string())
            .collect()
    };
    // Four points on HTTP, five with the TLS handshake on HTTPS.
    let out = web(&["-H", "localhost", "-E"])
        .assert()
        .code(0)
        .stdout(re(
            r"^HTTP OK: HTTP/1\.1 200 OK - 118 bytes in \d+\.\d{3} second response time \| time=[0-9.]+s;;;0 size=118B;;;0 time_connect=[0-9.]+s;;;0 time_headers=[0-9.]+s;;;0 time_firstbyte=[0-9.]+s;;;0 time_transfer=[0-9.]+s;;;0\n$",
        ));
    assert_eq!(
        labels(&stdout(&out)),
        [
            "time",
            "size",
            "time_connect",
            "time_headers",
            "time_firstbyte",
            "time_transfer"
        ]
    );
    let out = web(&["-H", "localhost", "-S", "-E"]).assert().code(0);
    assert_eq!(
        labels(&stdout(&out)),
        [
            "time",
            "size",
            "time_connect",
            "time_ssl",
            "time_headers",
            "time_firstbyte",
            "time_transfer"
        ]
    );
    // Without -E, none.
    let out = web(&["-H", "localhost"]).assert().code(0);
    assert_eq!(labels(&stdout(&out)), ["time", "size"]);
}

#[test]
fn nginx_user_agent_and_headers_accepted() {
    if !testbed_nginx() {
        return;
    }
    web(&[
        "-H",
        "localhost",
        "-A",
        "rsplugins-test/1.0",
        "-k",
        "X-Test: 1",
        "-k",
        "Accept: text/html",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "118"));
    web(&[
        "-H",
        "localhost",
        "-S",
        "-A",
        "rsplugins-test/1.0",
        "-k",
        "X-Test: 1",
    ])
    .assert()
    .code(0)
    .stdout(judged("OK", "HTTP/2 200", "118"));
    // A -k line without a colon is refused, not sent.
    web(&["-H", "localhost", "-k", "X-Test"])
        .assert()
        .code(3)
        .stdout("HTTP UNKNOWN - -k 'X-Test' is not 'Name: value'\n");
}

#[test]
fn unresolvable_name_is_unknown() {
    if !testbed_nginx() {
        return;
    }
    web(&["-H", "no-such-host.invalid"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "HTTP UNKNOWN - cannot resolve no-such-host.invalid: ",
        ));
}

// ---- options, addresses (always run) ----

#[test]
fn unsupported_and_bad_options_exit_3() {
    web(&["-H", "localhost", "-b", "user:pass"])
        .assert()
        .code(3)
        .stdout(
            "HTTP UNKNOWN - -b/--proxy-authorization is not supported: check_http_rs does not use a proxy\n",
        );
    web(&["-H", "localhost", "-L"])
        .assert()
        .code(3)
        .stdout("HTTP UNKNOWN - -L/--link is not supported: the output is plain text\n");
    web(&["-u", "/"]).assert().code(3).stdout(
        "HTTP UNKNOWN - no host: give -H (the virtual host) or -I (the address), or both\n",
    );
    for bad in [
        &["-f", "maybe"][..],
        &["-p", "99999"],
        &["-m", "big"],
        &["-M", "x"],
        &["-w", "x"],
        &["-C", "14,30"],
        &["-4", "-6"],
        &["-D", "--insecure"],
        &["-S4"],
        &["-j", "GET", "--no-such-option"],
    ] {
        let out = web(&["-H", "localhost"]).args(bad).assert().code(3);
        assert!(
            stdout(&out).starts_with("HTTP UNKNOWN - "),
            "{bad:?}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn refused_port_is_critical() {
    let port = closed_port();
    within(Duration::from_secs(3), &mut at(port))
        .code(2)
        .stdout(format!(
            "HTTP CRITICAL - connect to 127.0.0.1 port {port}: Connection refused\n"
        ));
}

#[test]
fn no_address_of_the_family_is_unknown() {
    web(&["-H", "::1", "-4"])
        .assert()
        .code(3)
        .stdout("HTTP UNKNOWN - ::1 has no IPv4 address\n");
    web(&["-H", "127.0.0.1", "-6"])
        .assert()
        .code(3)
        .stdout("HTTP UNKNOWN - 127.0.0.1 has no IPv6 address\n");
}

// ---- the request as sent (a peer records it) ----

/// A peer recording the request head, then answering `200 OK` with `ok`.
fn recording() -> Peer {
    Peer::spawn(vec![Step::RecvUntilLine(String::new()), ok_response("ok")])
}

/// A peer recording the request head, then sending `response` as it is.
fn answering(response: &str) -> Peer {
    Peer::spawn(vec![Step::RecvUntilLine(String::new()), send(response)])
}

/// The same, closing the connection after the response (its end).
fn answering_then_closing(response: &str) -> Peer {
    Peer::spawn(vec![
        Step::RecvUntilLine(String::new()),
        send(response),
        Step::Close,
    ])
}

#[test]
fn the_request_as_sent() {
    let peer = recording();
    at(peer.port)
        .args(["-u", "/x?y=1", "-a", "webmon:webpass", "-k", "X-Test: 1"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "2"));
    let port = peer.port;
    let got = peer.finish();
    assert_eq!(got[0], "GET /x?y=1 HTTP/1.1", "{got:?}");
    assert_eq!(got.last().map(String::as_str), Some(""), "{got:?}");
    let headers = lower(&got[1..]);
    let has = |h: &str| headers.iter().any(|l| l == h);
    assert!(has(&format!("host: 127.0.0.1:{port}")), "{got:?}");
    assert!(has("connection: close"), "{got:?}");
    assert!(has("x-test: 1"), "{got:?}");
    assert!(has("authorization: basic d2vibw9uondlynbhc3m="), "{got:?}");
    // The token as it is (base64 is case-sensitive).
    assert!(
        got.iter()
            .any(|h| h.ends_with(": Basic d2VibW9uOndlYnBhc3M=")),
        "{got:?}"
    );
    assert!(
        headers
            .iter()
            .any(|h| h.starts_with("user-agent: check_http_rs/v")),
        "{got:?}"
    );
    // A GET has no body, so no content-* headers.
    assert!(
        !headers.iter().any(|h| h.starts_with("content-")),
        "{got:?}"
    );
    assert_eq!(
        headers.iter().filter(|h| h.starts_with("host:")).count(),
        1,
        "{got:?}"
    );
}

#[test]
fn the_post_as_sent() {
    // The body ends in a newline so the peer can record it as a line.
    let peer = Peer::spawn(vec![
        Step::RecvUntilLine(String::new()),
        Step::Recv,
        ok_response("ok"),
    ]);
    at(peer.port)
        .args(["-u", "/post", "-P", "a=b&c=d\n", "-A", "rsplugins-test/1.0"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "2"));
    let got = peer.finish();
    assert_eq!(got[0], "POST /post HTTP/1.1", "{got:?}");
    assert_eq!(got.last().map(String::as_str), Some("a=b&c=d"), "{got:?}");
    let headers = lower(&got);
    for want in [
        "content-length: 8",
        "user-agent: rsplugins-test/1.0",
        "content-type: application/x-www-form-urlencoded",
    ] {
        assert!(headers.iter().any(|h| h == want), "{want}: {got:?}");
    }
    assert_eq!(
        headers
            .iter()
            .filter(|h| h.starts_with("user-agent:"))
            .count(),
        1,
        "{got:?}"
    );

    // -j names the method (in any case), -T the content type.
    let peer = recording();
    at(peer.port)
        .args(["-j", "put", "-T", "application/json", "-P", "{}\n"])
        .assert()
        .code(0);
    let got = peer.finish();
    assert_eq!(got[0], "PUT / HTTP/1.1", "{got:?}");
    let headers = lower(&got);
    assert!(
        headers
            .iter()
            .any(|h| h == "content-type: application/json"),
        "{got:?}"
    );
    assert!(headers.iter().any(|h| h == "content-length: 3"), "{got:?}");
}

#[test]
fn the_host_header_names_the_virtual_host_and_its_port() {
    // The Host lines a peer received from check_http_rs ARGS, where
    // ARGS may name the peer's port as PORT.
    let host_sent = |args: &[&str]| -> (u16, Vec<String>) {
        let peer = recording();
        let port = peer.port;
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("PORT", &port.to_string()))
            .collect();
        http().args(&args).assert().code(0);
        let hosts = lower(&peer.finish())
            .into_iter()
            .filter(|h| h.starts_with("host:"))
            .collect();
        (port, hosts)
    };
    // -H: the name and the port (not the scheme's default).
    let (port, hosts) = host_sent(&["-H", "127.0.0.1", "-p", "PORT"]);
    assert_eq!(hosts, [format!("host: 127.0.0.1:{port}")]);
    // -I alone: the address is the Host.
    let (port, hosts) = host_sent(&["-I", "127.0.0.1", "-p", "PORT"]);
    assert_eq!(hosts, [format!("host: 127.0.0.1:{port}")]);
    // -H with -I: the virtual host, wherever the connection goes.
    let (port, hosts) = host_sent(&["-H", "www.example.test", "-I", "127.0.0.1", "-p", "PORT"]);
    assert_eq!(hosts, [format!("host: www.example.test:{port}")]);
    // The port appended to -H is the port connected to and in the Host.
    let (port, hosts) = host_sent(&["-H", "www.example.test:PORT", "-I", "127.0.0.1"]);
    assert_eq!(hosts, [format!("host: www.example.test:{port}")]);
    // A -k Host: replaces ours (one Host line).
    let (_, hosts) = host_sent(&["-H", "127.0.0.1", "-p", "PORT", "-k", "Host: other.test"]);
    assert_eq!(hosts, ["host: other.test"]);
}

#[test]
fn the_port_appended_to_h_stays_in_the_host_header_with_p() {
    let host_sent = |vhost: &str| -> Vec<String> {
        let peer = recording();
        http()
            .args(["-H", vhost, "-I", "127.0.0.1", "-p", &peer.port.to_string()])
            .assert()
            .code(0)
            .stdout(judged("OK", "HTTP/1.1 200 OK", "2"));
        lower(&peer.finish())
            .into_iter()
            .filter(|h| h.starts_with("host:"))
            .collect()
    };
    // -p is where the connection goes; -H's port is what the Host names.
    assert_eq!(
        host_sent("www.example.test:5000"),
        ["host: www.example.test:5000"]
    );
    // The scheme's default port is left out of the Host, as C.
    assert_eq!(host_sent("www.example.test:80"), ["host: www.example.test"]);
}

#[test]
fn repeated_headers_are_all_sent() {
    let peer = recording();
    at(peer.port)
        .args([
            "-k",
            "X-Multi: one",
            "-k",
            "X-Multi: two",
            "-k",
            "User-Agent: mine/1",
        ])
        .assert()
        .code(0);
    let got = lower(&peer.finish());
    // Every -k line, in order, as C sends them.
    let multi: Vec<&String> = got.iter().filter(|h| h.starts_with("x-multi:")).collect();
    assert_eq!(multi, ["x-multi: one", "x-multi: two"], "{got:?}");
    // A -k header replaces our default of that name.
    let agents: Vec<&String> = got
        .iter()
        .filter(|h| h.starts_with("user-agent:"))
        .collect();
    assert_eq!(agents, ["user-agent: mine/1"], "{got:?}");
}

#[test]
fn head_reads_no_body() {
    // A HEAD answer announces a body it never sends (and keeps the
    // connection): nothing is waited for.
    let peer = Peer::spawn(vec![
        Step::RecvUntilLine(String::new()),
        send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
        Step::Hang,
    ]);
    within(
        Duration::from_secs(3),
        at(peer.port).args(["-j", "HEAD", "-t", "5"]),
    )
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "0"));
    let got = peer.finish();
    assert_eq!(got[0], "HEAD / HTTP/1.1", "{got:?}");
}

// ---- hostile peers (always run) ----

#[test]
fn silence_after_accept_times_out_waiting_for_the_headers() {
    let peer = Peer::spawn(vec![Step::Hang]);
    within(TWO_SECONDS_AND_SOME, at(peer.port).args(["-t", "2"]))
        .code(2)
        .stdout("HTTP CRITICAL - timed out after 2 seconds waiting for the response headers\n");
    // The state of a time-out as -t says.
    let peer = Peer::spawn(vec![Step::Hang]);
    within(
        TWO_SECONDS_AND_SOME,
        at(peer.port).args(["-t", "2:unknown"]),
    )
    .code(3)
    .stdout("HTTP UNKNOWN - timed out after 2 seconds waiting for the response headers\n");
}

#[test]
fn silence_in_the_body_times_out_waiting_for_the_body() {
    let peer = Peer::spawn(vec![
        Step::RecvUntilLine(String::new()),
        send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"),
        Step::Hang,
    ]);
    within(TWO_SECONDS_AND_SOME, at(peer.port).args(["-t", "2"]))
        .code(2)
        .stdout("HTTP CRITICAL - timed out after 2 seconds waiting for the body\n");
}

#[test]
fn a_dripped_status_line_ends_by_the_time_out() {
    // A byte every 100 ms: the time-out bounds the whole response, not
    // each read.
    let peer = Peer::spawn(vec![
        Step::RecvUntilLine(String::new()),
        Step::Drip(
            format!("HTTP/1.1 200 OK\r\nX-Slow: {}\r\n\r\n", "z".repeat(100)).into_bytes(),
            Duration::from_millis(100),
        ),
    ]);
    within(TWO_SECONDS_AND_SOME, at(peer.port).args(["-t", "2"]))
        .code(2)
        .stdout("HTTP CRITICAL - timed out after 2 seconds waiting for the response headers\n");
}

#[test]
fn a_huge_header_line_is_refused_fast() {
    // 10 MB in one header line: refused at 64 KiB, long before the time-out.
    let peer = answering(&format!(
        "HTTP/1.1 200 OK\r\nX-Big: {}\r\n\r\n",
        "a".repeat(10_000_000)
    ));
    within(Duration::from_secs(3), &mut at(peer.port))
        .code(2)
        .stdout(
            "HTTP CRITICAL - invalid response from server: response headers larger than 64 KiB or more than 1000 lines while waiting for the response headers\n",
        );
}

/// A `200 OK` with `fields` short header fields besides its Content-Length.
fn with_fields(fields: usize) -> String {
    let mut text = String::from("HTTP/1.1 200 OK\r\n");
    for i in 0..fields {
        text.push_str(&format!("X-F{i}: v\r\n"));
    }
    text + "Content-Length: 2\r\n\r\nok"
}

#[test]
fn a_hundred_header_fields_are_read() {
    // 101 fields: one more than hyper's default limit; C reads them all.
    let peer = answering(&with_fields(100));
    at(peer.port)
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "2"));
}

#[test]
fn many_small_header_fields_are_read() {
    // 1000 fields (about 10 KB) are read, -d searches them all...
    let peer = answering(&with_fields(999));
    at(peer.port)
        .args(["-d", "X-F998: v"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "2"));
    // ... one more is refused, as a header block over 64 KiB is.
    let peer = answering(&with_fields(1000));
    within(Duration::from_secs(3), &mut at(peer.port))
        .code(2)
        .stdout(
            "HTTP CRITICAL - invalid response from server: response headers larger than 64 KiB or more than 1000 lines while waiting for the response headers\n",
        );
}

/// A raw peer whose one connection gets a chunked body that never ends.
fn endless(size: usize, pause: Duration) -> RawPeer {
    RawPeer::spawn(1, move |_, mut stream, log| {
        if http_peer::read_head(&mut stream, log).is_some() {
            http_peer::endless_chunks(stream, size, pause);
        }
    })
}

#[test]
fn an_endless_chunked_body_is_cut_at_max_body() {
    let peer = endless(1000, Duration::ZERO);
    within(
        Duration::from_secs(5),
        at(peer.port).args(["--max-body", "5000"]),
    )
    .code(1)
    .stdout(judged(
        "WARNING",
        "HTTP/1.1 200 OK - body larger than 5000 bytes: not read to the end (--max-body)",
        "5000",
    ));
    peer.finish();
    // The default bound: 8 MiB, then a string not found is said too.
    let peer = endless(16 * 1024, Duration::ZERO);
    within(Duration::from_secs(20), &mut at(peer.port))
        .code(1)
        .stdout(judged(
            "WARNING",
            "HTTP/1.1 200 OK - body larger than 8388608 bytes: not read to the end (--max-body)",
            "8388608",
        ));
    peer.finish();
    let peer = endless(1000, Duration::ZERO);
    within(
        Duration::from_secs(5),
        at(peer.port).args(["--max-body", "5000", "-s", "never"]),
    )
    .code(2)
    .stdout(judged(
        "CRITICAL",
        &format!(
            "HTTP/1.1 200 OK - string 'never' not found on 'http://127.0.0.1:{}/', body larger than 5000 bytes: not read to the end (--max-body)",
            peer.port
        ),
        "5000",
    ));
    peer.finish();
}

#[test]
fn a_slow_endless_body_ends_by_the_time_out() {
    let peer = endless(10, Duration::from_millis(200));
    within(TWO_SECONDS_AND_SOME, at(peer.port).args(["-t", "2"]))
        .code(2)
        .stdout("HTTP CRITICAL - timed out after 2 seconds waiting for the body\n");
    peer.finish();
}

/// gzip's CRC-32 of `n` zero bytes, without feeding them one by one: the
/// register's step over one zero bit is a linear map, squared to steps of
/// 2, 4, 8... bits (zlib's crc32_combine).
fn crc32_of_zeros(n: u64) -> u32 {
    fn apply(map: &[u32; 32], v: u32) -> u32 {
        (0..32)
            .filter(|i| v >> i & 1 == 1)
            .fold(0, |acc, i| acc ^ map[i])
    }
    // Column i: where bit i of the register goes after one zero bit.
    let mut step: [u32; 32] =
        std::array::from_fn(|i| if i == 0 { 0xEDB8_8320 } else { 1 << (i - 1) });
    let mut register = 0xFFFF_FFFF_u32;
    let mut bits = n * 8;
    while bits > 0 {
        if bits & 1 == 1 {
            register = apply(&step, register);
        }
        step = std::array::from_fn(|i| apply(&step, step[i]));
        bits >>= 1;
    }
    !register
}

/// A gzip member of `n` (at least 1) zero bytes, deflated by hand with the
/// fixed Huffman codes: a literal 0, then copies of 258 bytes at distance 1
/// (13 bits each), the rest as literals. 256 MiB take about 1.7 MB.
fn gzip_of_zeros(n: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        len: u32,
    }
    impl Bits {
        /// A field, least significant bit first.
        fn put(&mut self, value: u64, count: u32) {
            self.acc |= value << self.len;
            self.len += count;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u64, count: u32) {
            let reversed = (0..count).fold(0, |r, i| r | ((code >> i) & 1) << (count - 1 - i));
            self.put(reversed, count);
        }
    }
    // ID, deflate, no flags, no time, no extra flags, OS unknown.
    let mut bits = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255],
        acc: 0,
        len: 0,
    };
    bits.put(1, 1); // the last block
    bits.put(1, 2); // fixed Huffman codes
    bits.code(0x30, 8); // literal 0
    let mut left = n - 1;
    while left >= 258 {
        bits.code(0xC5, 8); // length 258 (code 285)
        bits.code(0, 5); // distance 1 (code 0)
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0x30, 8);
    }
    bits.code(0, 7); // end of block (256)
    bits.put(0, 7); // to the byte boundary
    let mut out = bits.out;
    out.extend_from_slice(&crc32_of_zeros(n).to_le_bytes());
    out.extend_from_slice(&((n & 0xFFFF_FFFF) as u32).to_le_bytes());
    out
}

#[test]
fn a_gzip_bomb_is_bounded_after_decoding() {
    let body = gzip_of_zeros(256 << 20);
    assert!(body.len() < 2 << 20);
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let peer = RawPeer::spawn(1, move |_, mut stream, log| {
        if http_peer::read_head(&mut stream, log).is_some() {
            let _ = http_peer::write(&mut stream, head.as_bytes())
                && http_peer::write(&mut stream, &body);
        }
    });
    // 256 MiB decoded are cut at --max-body, counted after decoding.
    within(
        Duration::from_secs(5),
        at(peer.port).args(["--enable-automatic-decompression", "--max-body", "1048576"]),
    )
    .code(1)
    .stdout(judged(
        "WARNING",
        "HTTP/1.1 200 OK - body larger than 1048576 bytes: not read to the end (--max-body)",
        "1048576",
    ));
    let heads = peer.finish();
    assert!(
        heads[0]
            .to_ascii_lowercase()
            .contains("\r\naccept-encoding: gzip, deflate\r\n"),
        "{heads:?}"
    );
}

#[test]
fn a_bad_chunk_is_critical() {
    let peer =
        answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
    let out = at(peer.port).assert().code(2);
    let text = stdout(&out);
    assert!(
        text.starts_with("HTTP CRITICAL - Invalid chunk size line: ")
            && text.ends_with(" while waiting for the body\n"),
        "{text}"
    );
}

/// C's state and our words for what is not an HTTP response.
fn not_http(text: &str) -> bool {
    text.starts_with("HTTP CRITICAL - invalid response from server: not an HTTP response (")
        && text.ends_with(") while waiting for the response headers\n")
}

#[test]
fn a_bad_status_line_is_not_an_http_response() {
    let peer = answering("HTTP/1.1 abc\r\nContent-Length: 2\r\n\r\nok");
    let out = at(peer.port).assert().code(2);
    assert!(not_http(&stdout(&out)), "{}", stdout(&out));
}

#[test]
fn http_0_9_garbage_is_critical() {
    let peer = answering_then_closing("hello\r\n");
    let out = at(peer.port).assert().code(2);
    assert!(not_http(&stdout(&out)), "{}", stdout(&out));
}

#[test]
fn a_status_out_of_range_is_critical() {
    let peer = answering("HTTP/1.1 700 Odd\r\nContent-Length: 2\r\n\r\nok");
    at(peer.port)
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "Invalid Status (HTTP/1.1 700 Odd)",
        ));
}

#[test]
fn a_status_out_of_range_in_cs_words() {
    let peer = answering("HTTP/1.1 700 Odd\r\nContent-Length: 2\r\n\r\nok");
    at(peer.port).assert().code(2).stdout(re(
        r"^HTTP CRITICAL: Invalid Status \(HTTP/1\.1 700 Odd\)( \|[^\n]*)?\n$",
    ));
}

#[test]
fn a_close_after_the_status_line_is_critical() {
    let peer = answering_then_closing("HTTP/1.1 200 OK\r\n");
    at(peer.port).assert().code(2).stdout(
        "HTTP CRITICAL - connection closed by the server while waiting for the response headers\n",
    );
}

#[test]
fn a_close_in_the_body_is_critical() {
    let peer = answering_then_closing("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
    at(peer.port)
        .assert()
        .code(2)
        .stdout("HTTP CRITICAL - connection closed by the server while waiting for the body\n");
}

#[test]
fn an_unsized_body_of_exactly_max_body_is_not_cut() {
    // Chunked: the last chunk comes after the tenth byte.
    let chunked =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n";
    let peer = answering(chunked);
    at(peer.port)
        .args(["--max-body", "10"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "10"));
    // Ended by the close.
    let closed = "HTTP/1.0 200 OK\r\n\r\n0123456789";
    let peer = answering_then_closing(closed);
    at(peer.port)
        .args(["--max-body", "10"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.0 200 OK", "10"));
    // One byte fewer allowed: cut.
    let peer = answering(chunked);
    at(peer.port)
        .args(["--max-body", "9"])
        .assert()
        .code(1)
        .stdout(judged(
            "WARNING",
            "HTTP/1.1 200 OK - body larger than 9 bytes: not read to the end (--max-body)",
            "9",
        ));
    let peer = answering_then_closing(closed);
    at(peer.port)
        .args(["--max-body", "9"])
        .assert()
        .code(1)
        .stdout(judged(
            "WARNING",
            "HTTP/1.0 200 OK - body larger than 9 bytes: not read to the end (--max-body)",
            "9",
        ));
}

#[test]
fn a_body_of_exactly_max_body_with_a_length_is_whole() {
    let peer = recording();
    at(peer.port)
        .args(["--max-body", "2"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "2"));
    let peer = Peer::spawn(vec![Step::RecvUntilLine(String::new()), ok_response("ok!")]);
    at(peer.port)
        .args(["--max-body", "2"])
        .assert()
        .code(1)
        .stdout(judged(
            "WARNING",
            "HTTP/1.1 200 OK - body larger than 2 bytes: not read to the end (--max-body)",
            "2",
        ));
}

#[test]
fn interim_and_http_1_0_answers() {
    // A 100 Continue before the answer is skipped, as C does.
    let peer =
        answering_then_closing("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nhello world");
    at(peer.port)
        .args(["-s", "world"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.0 200 OK", "11"));
    // HTTP/1.0 with a length, the connection left open.
    let peer = answering("HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\nhello world");
    at(peer.port)
        .args(["-s", "world"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.0 200 OK", "11"));
}

#[test]
fn response_time_thresholds() {
    let slow = || {
        Peer::spawn(vec![
            Step::RecvUntilLine(String::new()),
            Step::Sleep(Duration::from_millis(500)),
            ok_response("ok"),
        ])
    };
    let peer = slow();
    at(peer.port)
        .args(["-w", "0.2", "-c", "5"])
        .assert()
        .code(1)
        .stdout(re(
            r"^HTTP WARNING: HTTP/1\.1 200 OK - 2 bytes in \d+\.\d{3} second response time \| time=[0-9.]+s;0\.2;5;0 size=2B;;;0\n$",
        ));
    let peer = slow();
    at(peer.port)
        .args(["-w", "0.1", "-c", "0.2"])
        .assert()
        .code(2)
        .stdout(re(
            r"^HTTP CRITICAL: HTTP/1\.1 200 OK - 2 bytes in \d+\.\d{3} second response time \| time=[0-9.]+s;0\.1;0\.2;0 size=2B;;;0\n$",
        ));
    let peer = recording();
    at(peer.port)
        .args(["-w", "5", "-c", "10"])
        .assert()
        .code(0)
        .stdout(re(
            r"^HTTP OK: HTTP/1\.1 200 OK - 2 bytes in \d+\.\d{3} second response time \| time=[0-9.]+s;5;10;0 size=2B;;;0\n$",
        ));
}

#[test]
fn a_tls_server_closing_in_the_handshake_is_critical() {
    // The ClientHello read whole, then a clean close.
    let peer = RawPeer::spawn(1, |_, stream, _| {
        http_peer::read_then_close(stream, Duration::from_millis(300));
    });
    within(Duration::from_secs(5), at(peer.port).arg("-S"))
        .code(2)
        .stdout(
            "HTTP CRITICAL - TLS failed: the server closed the connection during the handshake\n",
        );
    peer.finish();
    // A reset: closed with the ClientHello unread.
    let peer = RawPeer::spawn(1, |_, mut stream, _| {
        let mut first = [0u8; 5];
        let _ = std::io::Read::read_exact(&mut stream, &mut first);
        std::thread::sleep(Duration::from_millis(200));
    });
    let out = within(Duration::from_secs(5), at(peer.port).arg("-S")).code(2);
    assert!(
        stdout(&out).starts_with("HTTP CRITICAL - TLS failed: "),
        "{}",
        stdout(&out)
    );
    peer.finish();
    // A plain-text answer to the ClientHello.
    let peer = RawPeer::spawn(1, |_, mut stream, _| {
        let mut first = [0u8; 5];
        let _ = std::io::Read::read_exact(&mut stream, &mut first);
        http_peer::write(&mut stream, b"HTTP/1.1 400 Bad Request\r\n\r\n");
        http_peer::read_then_close(stream, Duration::from_millis(300));
    });
    let out = within(Duration::from_secs(5), at(peer.port).arg("-S")).code(2);
    assert!(
        stdout(&out).starts_with("HTTP CRITICAL - TLS failed: "),
        "{}",
        stdout(&out)
    );
    peer.finish();
}

// ---- redirects at peers (always run) ----

#[test]
fn a_redirect_to_a_closed_port_is_refused() {
    let closed = closed_port();
    let peer = answering(&format!(
        "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{closed}/\r\nContent-Length: 0\r\n\r\n"
    ));
    within(Duration::from_secs(3), at(peer.port).args(["-f", "follow"]))
        .code(2)
        .stdout(format!(
            "HTTP CRITICAL - connect to 127.0.0.1 port {closed}: Connection refused\n"
        ));
}

/// A raw peer redirecting its first request to `location(its port)` and
/// answering the next ones `200 OK` with `second`.
fn redirecting(connections: usize, location: impl Fn(u16) -> String + Send + 'static) -> RawPeer {
    RawPeer::spawn(connections, move |i, mut stream, log| {
        if http_peer::read_head(&mut stream, log).is_none() {
            return;
        }
        let port = stream.local_addr().map(|a| a.port()).unwrap_or_default();
        let answer = if i == 0 {
            format!(
                "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
                location(port)
            )
        } else {
            "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond".to_string()
        };
        http_peer::write(&mut stream, answer.as_bytes());
        // Until the client leaves.
        let _ = std::io::Read::read_to_end(&mut stream, &mut Vec::new());
    })
}

#[test]
fn sticky_and_stickyport_keep_the_address_and_the_port() {
    // To another address of the same port: 127.0.0.2, where nothing listens.
    let elsewhere = |port: u16| format!("http://127.0.0.2:{port}/next");
    let peer = redirecting(1, elsewhere);
    within(Duration::from_secs(3), at(peer.port).args(["-f", "follow"]))
        .code(2)
        .stdout(format!(
            "HTTP CRITICAL - connect to 127.0.0.2 port {}: Connection refused\n",
            peer.port
        ));
    peer.finish();
    // sticky keeps the address: the second request comes back here.
    let peer = redirecting(2, elsewhere);
    within(
        Duration::from_secs(3),
        at(peer.port).args(["-f", "sticky", "-s", "second"]),
    )
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "6"));
    let port = peer.port;
    let heads = peer.finish();
    assert!(heads[1].starts_with("GET /next HTTP/1.1\r\n"), "{heads:?}");
    assert!(
        heads[1]
            .to_ascii_lowercase()
            .contains(&format!("\r\nhost: 127.0.0.2:{port}\r\n")),
        "{heads:?}"
    );
    // To another port: sticky goes there (refused), stickyport stays.
    let closed = closed_port();
    let other_port = move |_| format!("http://127.0.0.2:{closed}/next");
    let peer = redirecting(1, other_port);
    within(Duration::from_secs(3), at(peer.port).args(["-f", "sticky"]))
        .code(2)
        .stdout(format!(
            "HTTP CRITICAL - connect to 127.0.0.1 port {closed}: Connection refused\n"
        ));
    peer.finish();
    let peer = redirecting(2, other_port);
    within(
        Duration::from_secs(3),
        at(peer.port).args(["-f", "stickyport", "-s", "second"]),
    )
    .code(0)
    .stdout(judged("OK", "HTTP/1.1 200 OK", "6"));
    let port = peer.port;
    let heads = peer.finish();
    assert!(heads[1].starts_with("GET /next HTTP/1.1\r\n"), "{heads:?}");
    // The Host names the port actually connected to, as C.
    assert!(
        heads[1]
            .to_ascii_lowercase()
            .contains(&format!("\r\nhost: 127.0.0.2:{port}\r\n")),
        "{heads:?}"
    );
}

#[test]
fn redirects_that_cannot_be_followed_are_unknown() {
    let no_location = "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n";
    let peer = answering(no_location);
    at(peer.port)
        .args(["-f", "follow"])
        .assert()
        .code(3)
        .stdout(judged(
            "UNKNOWN",
            "HTTP/1.1 302 Found - cannot follow: 302 without a Location header",
            "0",
        ));
    let ftp = "HTTP/1.1 302 Found\r\nLocation: ftp://x/y\r\nContent-Length: 0\r\n\r\n";
    let peer = answering(ftp);
    at(peer.port)
        .args(["-f", "follow"])
        .assert()
        .code(3)
        .stdout(judged(
            "UNKNOWN",
            "HTTP/1.1 302 Found - cannot follow: cannot follow a redirect to ftp://x/y",
            "0",
        ));
    // Not followed, the redirect is judged by -f (ok by default).
    let peer = answering(ftp);
    at(peer.port)
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 302 Found", "0"));
}

// ---- secrets in what the server says (always run) ----

#[test]
fn the_password_is_masked_in_what_the_server_says() {
    // A server echoing the pair and its base64, in the status line and
    // the Location (-v shows it).
    let echo = "HTTP/1.1 302 Found webmon:webpass d2VibW9uOndlYnBhc3M=\r\nLocation: /x?webmon:webpass&d2VibW9uOndlYnBhc3M=\r\nContent-Length: 0\r\n\r\n";
    for extra in [&["-v"][..], &["-vv"], &["--output-format", "json"]] {
        let peer = answering(echo);
        let out = at(peer.port)
            .args(["-a", "webmon:webpass"])
            .args(extra)
            .assert()
            .code(0);
        let text = stdout(&out);
        assert!(
            !text.contains("webpass") && !text.contains("d2VibW9uOndlYnBhc3M="),
            "{extra:?}: {text}"
        );
        assert!(text.contains("302 Found "), "{extra:?}: {text}");
    }
}

#[test]
fn the_password_alone_is_masked_too() {
    let peer = answering("HTTP/1.1 401 Bad password webpass\r\nContent-Length: 0\r\n\r\n");
    let out = at(peer.port)
        .args(["-a", "webmon:webpass", "-v"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "HTTP WARNING: HTTP/1.1 401 Bad password ",
        ));
    let text = stdout(&out);
    assert!(!text.contains("webpass"), "{text}");
}

#[test]
fn a_short_password_leaves_the_plugins_own_words_alone() {
    // A password that is also a state word.
    let peer = recording();
    at(peer.port)
        .args(["-a", "webmon:OK"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("HTTP OK: "))
        .stdout(predicate::str::contains(" - 2 bytes in "))
        .stdout(re(r" \| time=[0-9.]+s;;;0 size=2B;;;0\n$"));
    let peer = recording();
    let out = at(peer.port)
        .args(["-a", "webmon:OK", "--output-format", "json"])
        .assert()
        .code(0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["state"], "OK", "{json}");
    // A password that is a digit of the size.
    let peer = recording();
    at(peer.port)
        .args(["-a", "webmon:2"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(" - 2 bytes in "))
        .stdout(re(r" \| time=[0-9.]+s;;;0 size=2B;;;0\n$"));
}

// ---- TLS peers (always run) ----

/// A TLS peer presenting `leaf`, answering one request `200 OK` with `ok`.
fn tls_peer(leaf: &rsplugins_tests::pki::Leaf) -> Peer {
    Peer::spawn_tls(
        leaf,
        true,
        vec![Step::RecvUntilLine(String::new()), ok_response("ok")],
    )
}

#[test]
fn tls_versions_against_a_peer() {
    let pki = TestPki::new();
    let peer = tls_peer(&pki.localhost());
    at(peer.port)
        .args(["-S", "-v"])
        .assert()
        .code(0)
        .stdout(judged_first("OK", "HTTP/1.1 200 OK", "2"))
        .stdout(predicate::str::contains(
            ": HTTP/1.1 200 OK, TLSv1.3, 2 body bytes",
        ));
    // A server of TLS 1.2 only: still spoken, and asked for by -S1.2.
    let old = pki.localhost().tls12_only();
    for flag in ["-S", "-S1.2", "-S1.2+"] {
        let peer = tls_peer(&old);
        at(peer.port)
            .args([flag, "-v"])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(
                ": HTTP/1.1 200 OK, TLSv1.2, 2 body bytes",
            ));
    }
    let peer = tls_peer(&pki.localhost());
    at(peer.port)
        .args(["-S1.2", "-v"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            ": HTTP/1.1 200 OK, TLSv1.2, 2 body bytes",
        ));
    // -S1.3 against TLS 1.2 only: no common version.
    let peer = tls_peer(&old);
    at(peer.port)
        .arg("-S1.3")
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "HTTP CRITICAL - TLS failed: the server refused the handshake",
        ));
}

#[test]
fn certificate_days_against_a_peer() {
    let pki = TestPki::new();
    let soon = pki.leaf(&["localhost", "127.0.0.1"], 20);
    let peer = Peer::spawn_tls(&soon, true, vec![]);
    at(peer.port).args(["-C", "30"]).assert().code(1).stdout(re(
        r"^HTTP WARNING - Certificate 'localhost' expires in 20 day\(s\) \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)\. \| days_left=20\n$",
    ));
    let peer = Peer::spawn_tls(&soon, true, vec![]);
    at(peer.port).args(["-C", "30,20"]).assert().code(1);
    let peer = Peer::spawn_tls(&soon, true, vec![]);
    at(peer.port)
        .args(["-C", "30,21"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "HTTP CRITICAL - Certificate 'localhost' expires in 20 day(s) (",
        ));
    let peer = Peer::spawn_tls(&soon, true, vec![]);
    at(peer.port)
        .args(["-C", "20"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "HTTP OK - Certificate 'localhost' will expire on ",
        ));
    // Expired three days ago.
    let expired = pki.leaf(&["localhost", "127.0.0.1"], -3);
    let peer = Peer::spawn_tls(&expired, true, vec![]);
    at(peer.port)
        .args(["-C", "30"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "HTTP CRITICAL - Certificate 'localhost' expired on ",
        ));
    // Without -C the page is checked, and an expired certificate is CRITICAL.
    let peer = tls_peer(&expired);
    at(peer.port).arg("-S").assert().code(2).stdout(re(
        r"^HTTP CRITICAL: HTTP/1\.1 200 OK - cert localhost expired 3 days ago \([^)]*\) - 2 bytes in ",
    ));
}

#[test]
fn verification_against_a_peer() {
    let pki = TestPki::new();
    let ca = pki.ca_file();
    let peer = tls_peer(&pki.localhost());
    at(peer.port)
        .args(["-S", "--ca-cert", &ca.path()])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "2"));
    // The right CA, the wrong name.
    let peer = tls_peer(&pki.leaf(&["other.example"], 100));
    at(peer.port)
        .args(["-S", "--ca-cert", &ca.path()])
        .assert()
        .code(2)
        .stdout("HTTP CRITICAL - TLS failed: certificate not trusted: for other.example, not for 127.0.0.1\n");
    // Not verified by default (as C) ...
    let peer = tls_peer(&pki.leaf(&["other.example"], 100));
    at(peer.port)
        .arg("-S")
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "2"));
    // ... but a password turns verification on: this CA is unknown here.
    let peer = tls_peer(&pki.localhost());
    at(peer.port)
        .args(["-S", "-a", "webmon:webpass"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "HTTP CRITICAL - TLS failed: certificate not trusted: ",
        ));
    let peer = tls_peer(&pki.localhost());
    at(peer.port)
        .args(["-S", "-a", "webmon:webpass", "--ca-cert", &ca.path()])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "2"));
    let peer = tls_peer(&pki.localhost());
    at(peer.port)
        .args(["-S", "-a", "webmon:webpass", "--insecure"])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "2"));
}

#[test]
fn sni_is_the_virtual_host() {
    let pki = TestPki::new();
    let leaf = pki.leaf(&["www.example.test"], 100);
    let peer = tls_peer(&leaf);
    http()
        .args([
            "-H",
            "www.example.test",
            "-I",
            "127.0.0.1",
            "-p",
            &peer.port.to_string(),
            "-S",
            "--sni",
        ])
        .assert()
        .code(0)
        .stdout(judged("OK", "HTTP/1.1 200 OK", "2"));
    assert_eq!(peer.sni().as_deref(), Some("www.example.test"));
    let port = peer.port;
    let got = lower(&peer.finish());
    assert!(
        got.contains(&format!("host: www.example.test:{port}")),
        "{got:?}"
    );
    // An address is no server name: no SNI.
    let peer = tls_peer(&leaf);
    at(peer.port).arg("-S").assert().code(0);
    assert_eq!(peer.sni(), None);
    // The name verified is the virtual host too.
    let ca = pki.ca_file();
    let peer = tls_peer(&leaf);
    http()
        .args([
            "-H",
            "www.example.test",
            "-I",
            "127.0.0.1",
            "-p",
            &peer.port.to_string(),
            "-S",
            "--ca-cert",
            &ca.path(),
        ])
        .assert()
        .code(0);
    assert_eq!(peer.sni().as_deref(), Some("www.example.test"));
}
