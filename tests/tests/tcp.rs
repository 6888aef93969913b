//! check_tcp_rs against scripted peers: normal and hostile.

use std::time::Duration;

use predicates::prelude::*;
use rsplugins_tests::peer::{closed_port, send, Peer, Step};
use rsplugins_tests::pki::TestPki;
use rsplugins_tests::{plugin, plugin_on, testbed_ca, within};

fn tcp(port: u16) -> assert_cmd::Command {
    plugin_on("check_tcp_rs", port)
}

#[test]
fn connect_only() {
    let peer = Peer::spawn(vec![]);
    tcp(peer.port)
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(r"^TCP OK - 0\.\d{3} second response time on 127\.0\.0\.1 port \d+ \| time=[0-9.]+s;;;0 connect_time=[0-9.]+s;;;0\n$").unwrap());
}

#[test]
fn expect_banner() {
    let peer = Peer::spawn(vec![send("220 mail ESMTP ready\r\n")]);
    tcp(peer.port).args(["-e", "220"]).assert().code(0).stdout(
        predicate::str::contains("port ")
            .and(predicate::str::contains(" [220 mail ESMTP ready] | time=")),
    );
}

#[test]
fn send_then_expect_reads_past_the_banner() {
    let peer = Peer::spawn(vec![
        send("220 hi\r\n"),
        Step::Recv,
        send("221 bye\r\n"),
        Step::Close,
    ]);
    tcp(peer.port)
        .args(["-s", "QUIT\\r\\n", "-E", "-e", "221"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("[220 hi\\r\\n221 bye]"));
    assert_eq!(peer.finish(), vec!["QUIT"]);
}

#[test]
fn mismatch_is_warning_or_the_chosen_state() {
    let peer = Peer::spawn(vec![send("554 go away\r\n"), Step::Close]);
    tcp(peer.port)
        .args(["-e", "220"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "TCP WARNING - Unexpected response from host/socket: 554 go away | time=",
        ));
    let peer = Peer::spawn(vec![send("554 go away\r\n"), Step::Close]);
    tcp(peer.port)
        .args(["-e", "220", "-M", "crit", "-j"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "TCP CRITICAL - Unexpected response from host/socket | ",
        ));
}

#[test]
fn all_expect_strings() {
    let peer = Peer::spawn(vec![send("220 mail ESMTP\r\n"), Step::Close]);
    tcp(peer.port)
        .args(["-e", "220", "-e", "Postfix", "-A"])
        .assert()
        .code(1);
    let peer = Peer::spawn(vec![send("220 mail ESMTP\r\n"), Step::Close]);
    tcp(peer.port)
        .args(["-e", "220", "-e", "Postfix"])
        .assert()
        .code(0);
}

#[test]
fn refused_port_and_refuse_state() {
    let port = closed_port();
    tcp(port).assert().code(2).stdout(format!(
        "TCP CRITICAL - connect to 127.0.0.1 port {port}: Connection refused\n"
    ));
    tcp(port).args(["-r", "ok"]).assert().code(0);
    tcp(port).args(["-r", "warn"]).assert().code(1);
}

#[test]
fn silent_server_ends_in_the_timeout_state_in_time() {
    let peer = Peer::spawn(vec![Step::Hang]);
    within(
        Duration::from_secs(4),
        tcp(peer.port).args(["-e", "220", "-t", "2"]),
    )
    .code(2)
    .stdout(predicate::str::starts_with(
        "TCP CRITICAL - timed out after 2 seconds waiting for the response",
    ));
    let peer = Peer::spawn(vec![Step::Hang]);
    within(
        Duration::from_secs(4),
        tcp(peer.port).args(["-e", "220", "-t", "2:unknown"]),
    )
    .code(3);
}

#[test]
fn garbage_greeting_is_shown_printably() {
    let peer = Peer::spawn(vec![
        Step::Send(b"\x00\x01\xfe\xffjunk\r\n".to_vec()),
        Step::Close,
    ]);
    tcp(peer.port)
        .args(["-e", "220"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "Unexpected response from host/socket: \\x00\\x01",
        ));
}

#[test]
fn huge_line_is_bounded() {
    let peer = Peer::spawn(vec![Step::Send(vec![b'x'; 1 << 20]), Step::Hang]);
    within(
        Duration::from_secs(5),
        tcp(peer.port).args(["-e", "220", "-m", "4096", "-t", "3"]),
    )
    .code(1)
    .stdout(predicate::str::contains(
        "Unexpected response from host/socket: xxxx",
    ))
    .stdout(predicate::function(|s: &str| s.len() < 2000));
}

#[test]
fn the_host_is_named_as_given() {
    let peer = Peer::spawn(vec![send("220 hi\r\n")]);
    plugin("check_tcp_rs")
        .args(["-H", "localhost", "-4", "-p", &peer.port.to_string()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            " second response time on localhost port {} | time=",
            peer.port
        )));
}

#[test]
fn verbose_levels_show_the_exchange_then_the_configuration() {
    let script = || vec![send("220 hi\r\n"), Step::Recv, send("221 bye\r\n")];
    let peer = Peer::spawn(script());
    let out = tcp(peer.port)
        .args(["-E", "-s", "QUIT\\r\\n", "-e", "221", "-v"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let details: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(
        details,
        [
            "sent: QUIT\\r\\n",
            "received 17 bytes: 220 hi\\r\\n221 bye\\r\\n"
        ],
        "{text}"
    );
    let peer = Peer::spawn(script());
    tcp(peer.port)
        .args(["-E", "-s", "QUIT\\r\\n", "-e", "221", "-vv"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "\nconnected to 127.0.0.1 port {}\nexpect: '221' (any), on mismatch WARNING, on refusal CRITICAL\nsent: QUIT",
            peer.port
        )));
}

#[test]
fn implicit_tls_with_certificate_days() {
    let pki = TestPki::new();
    let leaf = pki.leaf(&["localhost", "127.0.0.1"], 20);
    let peer = Peer::spawn_tls(&leaf, true, vec![send("* OK ready\r\n")]);
    tcp(peer.port)
        .args(["-S", "-e", "OK", "-D", "30,14"])
        .assert()
        .code(1)
        // The certificate's problem first, then C's line.
        .stdout(predicate::str::starts_with(
            "TCP WARNING - cert localhost 20 days left, 0.",
        ))
        .stdout(predicate::str::contains(format!(
            " second response time on 127.0.0.1 port {} [* OK ready], TLSv1.3 | time=",
            peer.port
        )))
        .stdout(predicate::str::contains("tls_time="));
    let peer = Peer::spawn_tls(&leaf, true, vec![send("* OK ready\r\n")]);
    tcp(peer.port).args(["-S", "-D", "10,5"]).assert().code(0);
}

#[test]
fn expired_certificate_with_days_is_critical() {
    let pki = TestPki::new();
    let leaf = pki.leaf(&["localhost"], -3);
    let peer = Peer::spawn_tls(&leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "-D", "30,14"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "cert localhost expired 3 days ago",
        ));
}

#[test]
fn verification_uses_the_given_ca_and_the_host_name() {
    let pki = TestPki::new();
    let ca = pki.ca_file();
    let leaf = pki.localhost();
    let peer = Peer::spawn_tls(&leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--ca-file", &ca.path()])
        .assert()
        .code(0);

    let wrong = pki.leaf(&["other.example"], 100);
    let peer = Peer::spawn_tls(&wrong, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--ca-file", &ca.path()])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "certificate not trusted: for other.example, not for 127.0.0.1",
        ));

    let self_signed = TestPki::self_signed(&["localhost", "127.0.0.1"], 100);
    let peer = Peer::spawn_tls(&self_signed, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--ca-file", &ca.path()])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("certificate not trusted"));
    // Without verification a self-signed server is fine (as with the C plugin).
    let peer = Peer::spawn_tls(&self_signed, true, vec![]);
    tcp(peer.port).args(["-S"]).assert().code(0);
}

#[test]
fn tls_handshake_failure_against_a_plain_server() {
    let peer = Peer::spawn(vec![send("220 plain text, no TLS here\r\n"), Step::Hang]);
    within(
        Duration::from_secs(5),
        tcp(peer.port).args(["-S", "-t", "3"]),
    )
    .code(2)
    .stdout(predicate::str::starts_with("TCP CRITICAL - TLS failed: "));
}

#[test]
fn response_time_thresholds() {
    let peer = Peer::spawn(vec![
        Step::Sleep(Duration::from_millis(600)),
        send("220 late\r\n"),
        Step::Close,
    ]);
    tcp(peer.port)
        .args(["-e", "220", "-w", "0.2", "-c", "5"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("time=0.").and(predicate::str::contains("s;0.2;5;0 ")));
}

#[test]
fn ipv6_loopback() {
    let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback here: skipping");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    plugin("check_tcp_rs")
        .args(["-H", "::1", "-p", &port.to_string(), "-6"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!("on ::1 port {port}")));
    plugin("check_tcp_rs")
        .args(["-H", "::1", "-p", &port.to_string(), "-4"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("::1 has no IPv4 address"));
}

#[test]
fn bad_options_exit_3() {
    plugin("check_tcp_rs").args(["-H", "x"]).assert().code(3);
    plugin("check_tcp_rs")
        .args(["-H", "x", "-p", "99999"])
        .assert()
        .code(3);
    plugin("check_tcp_rs")
        .args(["-H", "x", "-p", "1", "-D", "14,30"])
        .assert()
        .code(3);
    plugin("check_tcp_rs")
        .args(["-H", "x", "-p", "1", "-r", "maybe"])
        .assert()
        .code(3);
    plugin("check_tcp_rs")
        .args(["-H", "x", "-p", "1", "-4", "-6"])
        .assert()
        .code(3);
}

// ---- the real postfix of the testbed (the same cases as the C reference) ----

#[test]
fn real_postfix_port_expect_and_refused() {
    if !rsplugins_tests::testbed() {
        return;
    }
    let run = |args: &[&str]| {
        let mut cmd = plugin("check_tcp_rs");
        cmd.args(args);
        cmd
    };
    run(&["-H", "127.0.0.1", "-p", "25"]).assert().code(0);
    run(&["-H", "127.0.0.1", "-p", "25", "-e", "220"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("[220 "));
    // C reads once and reports a mismatch (WARNING); we read on to the 221.
    run(&[
        "-H",
        "127.0.0.1",
        "-p",
        "25",
        "-s",
        "QUIT\\r\\n",
        "-E",
        "-e",
        "221",
    ])
    .assert()
    .code(0);
    run(&["-H", "127.0.0.1", "-p", "25", "-e", "NOPE"])
        .assert()
        .code(1);
    run(&["-H", "127.0.0.1", "-p", "29"]).assert().code(2);
    run(&["-H", "::1", "-p", "25", "-6", "-e", "220"])
        .assert()
        .code(0);
    run(&[
        "-H",
        "127.0.0.1",
        "-p",
        "465",
        "-S",
        "-D",
        "30,14",
        "--ca-file",
        &testbed_ca(),
    ])
    .assert()
    .code(0)
    .stdout(predicate::str::contains("cert localhost 36"));
}

#[test]
fn tls_1_2_servers_are_spoken_to() {
    let pki = TestPki::new();
    let leaf = pki.localhost().tls12_only();
    let peer = Peer::spawn_tls(&leaf, true, vec![send("220 old tls\r\n")]);
    let ca = pki.ca_file();
    tcp(peer.port)
        .args(["-S", "-e", "220", "--ca-file", &ca.path(), "-D", "30"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            " [220 old tls], TLSv1.2, cert localhost 365 days left",
        ));
}

#[test]
fn sni_is_the_host_name_or_the_one_given() {
    let pki = TestPki::new();
    let leaf = pki.localhost();
    let peer = Peer::spawn_tls(&leaf, true, vec![]);
    plugin("check_tcp_rs")
        .args(["-H", "localhost", "-4", "-p", &peer.port.to_string(), "-S"])
        .assert()
        .code(0);
    assert_eq!(peer.sni().as_deref(), Some("localhost"));

    let peer = Peer::spawn_tls(&leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--sni", "mail.example.test"])
        .assert()
        .code(0);
    assert_eq!(peer.sni().as_deref(), Some("mail.example.test"));

    // An address is no server name: none is sent (RFC 6066).
    let peer = Peer::spawn_tls(&leaf, true, vec![]);
    tcp(peer.port).arg("-S").assert().code(0);
    assert_eq!(peer.sni(), None);
}
