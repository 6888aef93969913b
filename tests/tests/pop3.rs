//! check_pop3_rs against scripted peers (normal and hostile) and, when the
//! testbed is up, against dovecot and the C check_pop.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use predicates::prelude::*;
use rsplugins_tests::peer::{closed_port, send, Peer, Step};
use rsplugins_tests::pki::TestPki;
use rsplugins_tests::{mail_account, plugin, plugin_on, testbed, testbed_ca, testbed_ipv6, within};

const GREETING: &str = "+OK Dovecot (Debian) ready.\r\n";

fn pop3(port: u16) -> assert_cmd::Command {
    plugin_on("check_pop3_rs", port)
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// Greeting, STLS accepted, TLS, then `rest`.
fn stls_script(rest: Vec<Step>) -> Vec<Step> {
    let mut steps = vec![
        send(GREETING),
        Step::Recv,
        send("+OK Begin TLS negotiation now.\r\n"),
        Step::StartTls,
    ];
    steps.extend(rest);
    steps
}

/// USER, PASS and STAT answered positively, then QUIT.
fn login_script(stat: &str) -> Vec<Step> {
    vec![
        Step::Recv,
        send("+OK\r\n"),
        Step::Recv,
        send("+OK Logged in.\r\n"),
        Step::Recv,
        send(stat),
        Step::Recv,
        send("+OK Logging out.\r\n"),
    ]
}

#[test]
fn plain_greeting_and_quit() {
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("+OK Logging out.\r\n"),
    ]);
    pop3(peer.port)
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(r"^POP3 OK - \+OK Dovecot \(Debian\) ready\., 0\.\d{3} s \| time=[0-9.]+s;;;0 connect_time=[0-9.]+s;;;0\n$").unwrap());
    assert_eq!(peer.finish(), vec!["QUIT"]);
}

#[test]
fn stls_upgrade() {
    let pki = TestPki::new();
    let peer = Peer::spawn_tls(
        &pki.localhost(),
        false,
        stls_script(vec![Step::Recv, send("+OK Logging out.\r\n")]),
    );
    pop3(peer.port)
        .arg("--starttls")
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(
            r"^POP3 OK - \+OK Dovecot \(Debian\) ready\., STLS TLSv1\.3, cert localhost \d+ days left, 0\.\d{3} s \| time=[0-9.]+s;;;0 connect_time=[0-9.]+s;;;0 tls_time=[0-9.]+s;;;0\n",
        )
        .unwrap());
    assert_eq!(peer.finish(), vec!["STLS", "QUIT"]);
}

#[test]
fn implicit_tls() {
    let pki = TestPki::new();
    let peer = Peer::spawn_tls(
        &pki.localhost(),
        true,
        vec![send(GREETING), Step::Recv, send("+OK\r\n")],
    );
    pop3(peer.port)
        .args(["-S", "-D", "30,14"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "POP3 OK - +OK Dovecot (Debian) ready., TLSv1.3, cert localhost ",
        ));
    assert_eq!(peer.finish(), vec!["QUIT"]);
}

#[test]
fn verified_login_with_message_counts() {
    let pki = TestPki::new();
    let ca = pki.ca_file();
    let peer = Peer::spawn_tls(
        &pki.localhost(),
        false,
        stls_script(login_script("+OK 3 4096\r\n")),
    );
    let assert = pop3(peer.port)
        .args(["--starttls", "-U", "monitor", "-P", "env:POP3_TEST_PW"])
        .args(["--ca-file", &ca.path(), "--messages-warning", "2"])
        .args(["--messages-critical", "10"])
        .env("POP3_TEST_PW", "s3cret-pop-env")
        .assert()
        .code(1)
        // The count that warns comes first.
        .stdout(predicate::str::starts_with(
            "POP3 WARNING - 3 messages (4.0 KiB), +OK Dovecot (Debian) ready., STLS TLSv1.3, cert localhost ",
        ))
        .stdout(predicate::str::contains(
            " s, logged in as monitor | time=",
        ))
        .stdout(predicate::str::contains(
            " messages=3;2;10;0 size=4096B;;;0\n",
        ));
    assert!(!stdout(&assert).contains("s3cret-pop-env"));
    assert_eq!(
        peer.finish(),
        vec![
            "STLS",
            "USER monitor",
            "PASS s3cret-pop-env",
            "STAT",
            "QUIT"
        ]
    );
}

#[test]
fn password_is_never_printed_even_when_the_server_echoes_it() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "s3cret-pop-file\n").unwrap();
    for format in ["text", "json"] {
        let peer = Peer::spawn_tls(
            &pki.localhost(),
            true,
            vec![
                send(GREETING),
                Step::Recv,
                send("+OK\r\n"),
                Step::Recv,
                send("-ERR wrong password s3cret-pop-file for monitor\r\n"),
                Step::Recv,
            ],
        );
        let assert = pop3(peer.port)
            .args(["-S", "--insecure", "-U", "monitor", "-v"])
            .args(["-P", &format!("file:{}", file.display())])
            .args(["--output-format", format])
            .assert()
            .code(2)
            .stdout(predicate::str::contains(
                "PASS rejected: -ERR wrong password ******** for monitor",
            ));
        assert!(!stdout(&assert).contains("s3cret-pop-file"));
        // After the refusal the plugin still says QUIT.
        assert_eq!(
            peer.finish(),
            vec!["USER monitor", "PASS s3cret-pop-file", "QUIT"]
        );
    }
}

#[test]
fn wrong_password_and_unknown_user() {
    let pki = TestPki::new();
    let ca = pki.ca_file();
    let peer = Peer::spawn_tls(
        &pki.localhost(),
        false,
        stls_script(vec![
            Step::Recv,
            send("+OK\r\n"),
            Step::Recv,
            send("-ERR [AUTH] Authentication failed.\r\n"),
            Step::Recv,
        ]),
    );
    let assert = pop3(peer.port)
        .args(["--starttls", "--ca-file", &ca.path()])
        .args(["-U", "monitor", "-P", "wrong-pw-123"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "POP3 CRITICAL - PASS rejected: -ERR [AUTH] Authentication failed., +OK Dovecot (Debian) ready., STLS TLSv1.3, ",
        ))
        .stdout(predicate::str::contains("time="));
    assert!(!stdout(&assert).contains("wrong-pw-123"));

    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("-ERR no such user\r\n"),
        Step::Recv,
    ]);
    pop3(peer.port)
        .args(["-U", "nobody", "-P", "x-pw-456", "--allow-plaintext"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "POP3 CRITICAL - USER rejected: -ERR no such user, ",
        ));
    assert_eq!(peer.finish(), vec!["USER nobody", "QUIT"]);
}

#[test]
fn no_password_without_tls_unless_allowed() {
    // Refused before connecting: the closed port is never tried.
    pop3(closed_port())
        .args(["-U", "monitor", "-P", "pw-plain-1"])
        .assert()
        .code(3)
        .stdout("POP3 UNKNOWN - refusing to send a password without TLS (use TLS, or --allow-plaintext)\n");
    pop3(closed_port())
        .args(["-U", "monitor"])
        .assert()
        .code(3)
        .stdout("POP3 UNKNOWN - --user needs --password\n");
    let peer = Peer::spawn([vec![send(GREETING)], login_script("+OK 0 0\r\n")].concat());
    pop3(peer.port)
        .args(["-U", "monitor", "-P", "pw-plain-1", "--allow-plaintext"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "logged in as monitor, 0 messages (0 B) |",
        ));
}

#[test]
fn credentials_imply_verification_unless_insecure() {
    let self_signed = TestPki::self_signed(&["localhost", "127.0.0.1"], 100);
    let peer = Peer::spawn_tls(&self_signed, false, stls_script(vec![]));
    pop3(peer.port)
        .args(["--starttls", "-U", "monitor", "-P", "pw-verify-1"])
        .assert()
        .code(2)
        // The reason depends on the system store (a CN=localhost snakeoil
        // certificate there gives a signature mismatch, else unknown issuer).
        .stdout(predicate::str::starts_with(
            "POP3 CRITICAL - TLS failed: certificate not trusted: ",
        ));
    // The password was not sent.
    assert_eq!(peer.finish(), vec!["STLS"]);
    let other_ca = TestPki::new().ca_file();
    let peer = Peer::spawn_tls(&self_signed, false, stls_script(vec![]));
    pop3(peer.port)
        .args(["--starttls", "-U", "monitor", "-P", "pw-verify-1"])
        .args(["--ca-file", &other_ca.path()])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "POP3 CRITICAL - TLS failed: certificate not trusted: self-signed and not in --ca-file",
        ));
    assert_eq!(peer.finish(), vec!["STLS"]);

    let peer = Peer::spawn_tls(
        &self_signed,
        false,
        stls_script(login_script("+OK 1 10\r\n")),
    );
    pop3(peer.port)
        .args([
            "--starttls",
            "--insecure",
            "-U",
            "monitor",
            "-P",
            "pw-verify-1",
        ])
        .assert()
        .code(0);
    // A plain probe does not verify (as C).
    let peer = Peer::spawn_tls(
        &self_signed,
        true,
        vec![send(GREETING), Step::Recv, send("+OK\r\n")],
    );
    pop3(peer.port).arg("-S").assert().code(0);
}

#[test]
fn silent_server_ends_in_the_timeout_state_in_time() {
    let peer = Peer::spawn(vec![Step::Hang]);
    within(Duration::from_secs(4), pop3(peer.port).args(["-t", "2"]))
        .code(2)
        .stdout("POP3 CRITICAL - timed out after 2 seconds waiting for the greeting\n");
    let peer = Peer::spawn(vec![Step::Hang]);
    within(
        Duration::from_secs(4),
        pop3(peer.port).args(["-t", "2:unknown"]),
    )
    .code(3);
    // Silence after the greeting names the step.
    let peer = Peer::spawn(vec![send(GREETING), Step::Recv, Step::Hang]);
    within(
        Duration::from_secs(4),
        pop3(peer.port).args(["-t", "2", "--starttls"]),
    )
    .code(2)
    .stdout(predicate::str::starts_with(
        "POP3 CRITICAL - timed out after 2 seconds waiting for the reply to STLS, +OK Dovecot",
    ));
}

#[test]
fn garbage_greeting_is_shown_printably() {
    let peer = Peer::spawn(vec![
        Step::Send(b"\x00\x01\xfe\xffjunk\r\n".to_vec()),
        Step::Close,
    ]);
    pop3(peer.port)
        .assert()
        .code(2)
        .stdout("POP3 CRITICAL - not a POP3 greeting: \\x00\\x01\u{fffd}\u{fffd}junk\n");
    // An IMAP server on the POP3 port.
    let peer = Peer::spawn(vec![send("* OK IMAP4rev1 ready\r\n"), Step::Close]);
    pop3(peer.port)
        .assert()
        .code(2)
        .stdout("POP3 CRITICAL - not a POP3 greeting: * OK IMAP4rev1 ready\n");
}

#[test]
fn close_mid_reply() {
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("+OK\r\n"),
        Step::Recv,
        send("+OK Logged in.\r\n"),
        Step::Recv,
        send("+OK 3"),
        Step::Close,
    ]);
    pop3(peer.port)
        .args(["-U", "monitor", "-P", "pw-mid-1", "--allow-plaintext"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "POP3 CRITICAL - connection closed by the server after '+OK 3' while waiting for the reply to STAT, +OK Dovecot (Debian) ready., ",
        ));
}

#[test]
fn err_greeting_is_critical() {
    let peer = Peer::spawn(vec![send("-ERR too many connections\r\n"), Step::Close]);
    pop3(peer.port)
        .assert()
        .code(2)
        .stdout("POP3 CRITICAL - server not ready: -ERR too many connections\n");
    let peer = Peer::spawn(vec![send("-ERR too many connections\r\n"), Step::Close]);
    pop3(peer.port)
        .arg("-j")
        .assert()
        .code(2)
        .stdout("POP3 CRITICAL - server not ready (-ERR greeting)\n");
}

#[test]
fn stls_refused() {
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("-ERR TLS support isn't enabled.\r\n"),
        Step::Recv,
    ]);
    pop3(peer.port)
        .arg("--starttls")
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "POP3 CRITICAL - STLS refused: -ERR TLS support isn't enabled., +OK Dovecot (Debian) ready., 0.",
        ));
    assert_eq!(peer.finish(), vec!["STLS", "QUIT"]);
}

#[test]
fn tls_handshake_failures() {
    // STLS accepted, then no TLS from the server.
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("+OK Begin TLS negotiation now.\r\n"),
        Step::Recv,
        send("this is not TLS\r\n"),
        Step::Hang,
    ]);
    within(
        Duration::from_secs(5),
        pop3(peer.port).args(["--starttls", "-t", "3"]),
    )
    .code(2)
    .stdout(predicate::str::starts_with("POP3 CRITICAL - TLS failed: "));
    // Implicit TLS against a plain server.
    let peer = Peer::spawn(vec![send(GREETING), Step::Hang]);
    within(
        Duration::from_secs(5),
        pop3(peer.port).args(["-S", "-t", "3"]),
    )
    .code(2)
    .stdout(predicate::str::starts_with("POP3 CRITICAL - TLS failed: "));
}

#[test]
fn data_injected_before_the_handshake_is_refused() {
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("+OK Begin TLS negotiation now.\r\n+OK injected\r\n"),
        Step::Hang,
    ]);
    within(
        Duration::from_secs(5),
        pop3(peer.port).args(["--starttls", "-t", "3"]),
    )
    .code(2)
    .stdout("POP3 CRITICAL - server sent data before the TLS handshake (possible injection)\n");
}

#[test]
fn certificate_days() {
    let pki = TestPki::new();
    let expired = pki.leaf(&["localhost", "127.0.0.1"], -3);
    let peer = Peer::spawn_tls(
        &expired,
        true,
        vec![send(GREETING), Step::Recv, send("+OK\r\n")],
    );
    pop3(peer.port)
        .args(["-S", "-D", "30,14"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "POP3 CRITICAL - cert localhost expired 3 days ago (",
        ))
        .stdout(predicate::str::contains(
            " UTC), +OK Dovecot (Debian) ready., TLSv1.3, 0.",
        ));
    let soon = pki.leaf(&["localhost", "127.0.0.1"], 20);
    let peer = Peer::spawn_tls(
        &soon,
        true,
        vec![send(GREETING), Step::Recv, send("+OK\r\n")],
    );
    pop3(peer.port)
        .args(["-S", "-D", "30,14"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("cert localhost 20 days left"));
    // A verified login refuses the expired certificate outright.
    let ca = pki.ca_file();
    let peer = Peer::spawn_tls(&expired, true, vec![send(GREETING)]);
    pop3(peer.port)
        .args(["-S", "--ca-file", &ca.path(), "-U", "u", "-P", "pw-exp-1"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "POP3 CRITICAL - TLS failed: certificate not trusted: expired (notAfter ",
        ));
}

#[test]
fn refused_port_and_refuse_state() {
    let port = closed_port();
    pop3(port).assert().code(2).stdout(format!(
        "POP3 CRITICAL - connect to 127.0.0.1 port {port}: Connection refused\n"
    ));
    pop3(port).args(["-r", "ok"]).assert().code(0);
    pop3(port).args(["-r", "warn"]).assert().code(1);
}

#[test]
fn expect_mismatch_and_jail() {
    let peer = Peer::spawn(vec![send("+OK ready\r\n"), Step::Recv, send("+OK\r\n")]);
    pop3(peer.port)
        .args(["-e", "Dovecot"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "POP3 WARNING - unexpected response: 'Dovecot' not found, +OK ready, 0.",
        ));
    let peer = Peer::spawn(vec![send("+OK ready\r\n"), Step::Recv, send("+OK\r\n")]);
    pop3(peer.port)
        .args(["-e", "Dovecot", "-M", "crit", "-j"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(format!(
            "POP3 CRITICAL - unexpected response: 'Dovecot' not found, 127.0.0.1 port {}, 0.",
            peer.port
        )));
    let peer = Peer::spawn(vec![send("+OK ready\r\n"), Step::Recv, send("+OK\r\n")]);
    pop3(peer.port)
        .args(["-e", "nope", "-e", "ready"])
        .assert()
        .code(0);
}

#[test]
fn quit_rejected_is_a_warning() {
    let peer = Peer::spawn(vec![send(GREETING), Step::Recv, send("-ERR not now\r\n")]);
    pop3(peer.port)
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "POP3 WARNING - QUIT rejected: -ERR not now, +OK Dovecot (Debian) ready., 0.",
        ));
}

#[test]
fn send_quit_and_escape_like_c() {
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("+OK\r\nTOP\r\nSASL PLAIN\r\n.\r\n"),
        Step::Recv,
        send("+OK bye\r\n"),
    ]);
    pop3(peer.port)
        .args(["-s", "CAPA", "-e", "SASL", "-v"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(", answer '+OK' | time="))
        // -v shows the dialogue.
        .stdout(predicate::str::contains(
            "\n> CAPA\n< +OK\n< TOP\n< SASL PLAIN\n< .\n> QUIT\n< +OK bye\n",
        ));
    assert_eq!(peer.finish(), vec!["CAPA", "QUIT"]);

    let peer = Peer::spawn(vec![send(GREETING), Step::Recv, send("+OK\r\n")]);
    pop3(peer.port)
        .args(["-q", "QUIT\\r\\n", "-E"])
        .assert()
        .code(0);
    assert_eq!(peer.finish(), vec!["QUIT"]);
}

#[test]
fn response_time_thresholds() {
    let peer = Peer::spawn(vec![
        Step::Sleep(Duration::from_millis(600)),
        send(GREETING),
        Step::Recv,
        send("+OK\r\n"),
    ]);
    pop3(peer.port)
        .args(["-w", "0.2", "-c", "5"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("s;0.2;5;0 connect_time="));
}

#[test]
fn ipv6_loopback() {
    let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback here: skipping");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(b"+OK v6 ready\r\n").unwrap();
        let mut line = String::new();
        BufReader::new(conn.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        conn.write_all(b"+OK\r\n").unwrap();
        line
    });
    plugin("check_pop3_rs")
        .args(["-H", "::1", "-p", &port.to_string(), "-6"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("POP3 OK - +OK v6 ready, "));
    assert_eq!(server.join().unwrap(), "QUIT\r\n");
    plugin("check_pop3_rs")
        .args(["-H", "::1", "-p", &port.to_string(), "-4"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("::1 has no IPv4 address"));
}

#[test]
fn bad_options_exit_3() {
    for args in [
        vec!["-H", "x", "--starttls", "-S"],
        vec!["-H", "x", "--messages-warning", "5"],
        vec!["-H", "x", "-P", "pw"],
        vec!["-H", "x", "-p", "99999"],
        vec!["-H", "x", "-D", "14,30"],
        vec!["-H", "x", "-d", "soon"],
        vec!["-p", "110"],
    ] {
        plugin("check_pop3_rs")
            .args(&args)
            .assert()
            .code(3)
            .stdout(predicate::str::starts_with("POP3 UNKNOWN - "));
    }
}

// ---- against dovecot (tests/testbed) ----

fn real(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = plugin("check_pop3_rs");
    cmd.args(args);
    cmd
}

#[test]
fn dovecot_plain_stls_and_implicit_tls() {
    if !testbed() {
        return;
    }
    real(&["-H", "127.0.0.1"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "POP3 OK - +OK Dovecot (Debian) ready., 0.",
        ));
    real(&["-H", "127.0.0.1", "--starttls"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "POP3 OK - +OK Dovecot (Debian) ready., STLS TLSv1.3, cert localhost ",
        ));
    real(&["-H", "127.0.0.1", "-S", "--ca-file", &testbed_ca()])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "POP3 OK - +OK Dovecot (Debian) ready., TLSv1.3, cert localhost ",
        ));
}

#[test]
fn dovecot_certificate_days() {
    if !testbed() {
        return;
    }
    real(&["-H", "127.0.0.1", "-S", "-D", "30,14"])
        .assert()
        .code(0);
    real(&["-H", "127.0.0.1", "--starttls", "-D", "30,14"])
        .assert()
        .code(0);
    real(&["-H", "127.0.0.1", "-S", "-D", "400,380"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("POP3 CRITICAL - "));
}

#[test]
fn dovecot_login_and_message_counts() {
    if !testbed() {
        return;
    }
    let user = mail_account().0;
    let pass = mail_account().1;
    let ca = testbed_ca();
    let assert = real(&["-H", "127.0.0.1", "--starttls", "-U", &user, "-P", "env:PW"])
        .args(["--ca-file", &ca, "--messages-critical", "1000"])
        .env("PW", &pass)
        .assert()
        .code(0)
        .stdout(
            predicate::str::is_match(format!(r", logged in as {user}, \d+ messages? \(")).unwrap(),
        )
        .stdout(predicate::str::is_match(r" messages=\d+;;1000;0 size=\d+B;;;0\n").unwrap());
    assert!(!stdout(&assert).contains(&pass));
    // -v shows the dialogue, the password masked.
    let assert = real(&["-H", "127.0.0.1", "--starttls", "-U", &user, "-P", &pass, "-v"])
        .args(["--ca-file", &ca])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "\n(TLSv1.3 established)\n> USER {user}\n< +OK\n> PASS ********\n< +OK Logged in.\n> STAT\n< +OK "
        )))
        .stdout(predicate::str::contains("\n> QUIT\n< +OK Logging out.\n"));
    assert!(!stdout(&assert).contains(&pass));
    // The seeded INBOX is not empty: a 0:0 range alerts.
    real(&["-H", "127.0.0.1", "-S", "-U", &user, "-P", &pass])
        .args(["--ca-file", &ca, "--messages-warning", "0"])
        .assert()
        .code(1);
    // The password is masked in the output, and a bad one is CRITICAL.
    real(&[
        "-H",
        "127.0.0.1",
        "-S",
        "-U",
        &user,
        "-P",
        "not-the-password-9",
    ])
    .args(["--ca-file", &ca])
    .assert()
    .code(2)
    .stdout(predicate::str::starts_with(
        "POP3 CRITICAL - PASS rejected: -ERR [AUTH] Authentication failed., +OK Dovecot",
    ));
    real(&[
        "-H",
        "127.0.0.1",
        "-U",
        &user,
        "-P",
        &pass,
        "--allow-plaintext",
    ])
    .assert()
    .code(0);
}

#[test]
fn dovecot_ipv6_and_refused_port() {
    if !testbed() {
        return;
    }
    if testbed_ipv6() {
        real(&["-H", "::1", "-6", "--starttls", "--ca-file", &testbed_ca()])
            .assert()
            .code(0)
            .stdout(predicate::str::starts_with(
                "POP3 OK - +OK Dovecot (Debian) ready., STLS TLSv1.3, ",
            ));
    }
    let port = closed_port().to_string();
    real(&["-H", "127.0.0.1", "-p", &port])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Connection refused"));
}

#[test]
fn same_exit_codes_as_c_check_pop() {
    const C: &str = "/usr/lib/nagios/plugins/check_pop";
    if !testbed() || !std::path::Path::new(C).exists() {
        return;
    }
    let port = closed_port().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["-H", "127.0.0.1"],
        vec!["-H", "127.0.0.1", "-p", "995", "-S"],
        vec!["-H", "127.0.0.1", "-p", "995", "-S", "-D", "30,14"],
        vec!["-H", "127.0.0.1", "-p", "995", "-S", "-D", "400,380"],
        vec!["-H", "::1", "-6"],
        vec!["-H", "127.0.0.1", "-p", &port],
        vec!["-H", "127.0.0.1", "-p", &port, "-r", "ok"],
        vec!["-H", "127.0.0.1", "-e", "Dovecot"],
        vec!["-H", "127.0.0.1", "-e", "nope"],
        vec!["-H", "127.0.0.1", "-e", "nope", "-M", "crit"],
        vec!["-H", "127.0.0.1", "-w", "0.000001", "-c", "5"],
    ];
    for args in cases {
        let c = std::process::Command::new(C).args(&args).output().unwrap();
        let ours = plugin("check_pop3_rs").args(&args).output().unwrap();
        assert_eq!(
            ours.status.code(),
            c.status.code(),
            "{args:?}: ours {} / C {}",
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&c.stdout)
        );
    }
}

#[test]
fn a_session_ended_by_the_users_send_string_is_ok() {
    // The scripted server closes after answering the user's QUIT, as dovecot does.
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("+OK Logging out.\r\n"),
        Step::Close,
    ]);
    pop3(peer.port)
        .args(["-s", "QUIT", "-e", "+OK"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "POP3 OK - +OK Dovecot (Debian) ready., 0.",
        ));
    if !testbed() {
        return;
    }
    real(&["-H", "127.0.0.1", "-s", "QUIT", "-e", "+OK"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("answer '+OK Logging out'"));
}
