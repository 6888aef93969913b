//! check_imap_rs against scripted peers (normal and hostile) and, when the
//! testbed is up, against dovecot and the C check_imap.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use predicates::prelude::*;
use rsplugins_tests::peer::{closed_port, send, Peer, Step};
use rsplugins_tests::pki::TestPki;
use rsplugins_tests::{mail_account, plugin, plugin_on, testbed, testbed_ca, testbed_ipv6, within};

const GREETING: &str = "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.\r\n";

fn imap(port: u16) -> assert_cmd::Command {
    plugin_on("check_imap_rs", port)
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// Receives a CAPABILITY command and answers it as `tag`.
fn caps(tag: &str, list: &str) -> Vec<Step> {
    vec![
        Step::Recv,
        send(&format!(
            "* CAPABILITY {list}\r\n{tag} OK Pre-login capabilities listed.\r\n"
        )),
    ]
}

/// Receives LOGOUT and answers it as `tag`.
fn logout(tag: &str) -> Vec<Step> {
    vec![
        Step::Recv,
        send(&format!(
            "* BYE Logging out\r\n{tag} OK Logout completed.\r\n"
        )),
    ]
}

const CAPS: &str = "IMAP4rev1 LITERAL+ STARTTLS AUTH=PLAIN";

/// Greeting, CAPABILITY, STARTTLS accepted, TLS, CAPABILITY again, then `rest`.
fn starttls_script(rest: Vec<Step>) -> Vec<Step> {
    [
        vec![send(GREETING)],
        caps("a1", CAPS),
        vec![
            Step::Recv,
            send("a2 OK Begin TLS negotiation now.\r\n"),
            Step::StartTls,
        ],
        caps("a3", "IMAP4rev1 LITERAL+ AUTH=PLAIN"),
        rest,
    ]
    .concat()
}

#[test]
fn plain_greeting_capability_and_logout() {
    let peer = Peer::spawn([vec![send(GREETING)], caps("a1", CAPS), logout("a2")].concat());
    imap(peer.port)
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(r"^IMAP OK - \* OK Dovecot \(Debian\) ready\., 0\.\d{3} s \| time=[0-9.]+s;;;0 connect_time=[0-9.]+s;;;0\n$").unwrap());
    assert_eq!(peer.finish(), vec!["a1 CAPABILITY", "a2 LOGOUT"]);
}

#[test]
fn starttls_upgrade_asks_capabilities_again() {
    let pki = TestPki::new();
    let peer = Peer::spawn_tls(&pki.localhost(), false, starttls_script(logout("a4")));
    imap(peer.port)
        .args(["--starttls", "-v"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(
            r"^IMAP OK - \* OK Dovecot \(Debian\) ready\., STARTTLS TLSv1\.3, cert localhost \d+ days left, 0\.\d{3} s \| time=[0-9.]+s;;;0 connect_time=[0-9.]+s;;;0 tls_time=[0-9.]+s;;;0\n",
        )
        .unwrap())
        // -v shows the dialogue: the capabilities asked again over TLS.
        .stdout(predicate::str::contains(
            "\n(TLSv1.3 established)\n> a3 CAPABILITY\n< * CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN\n",
        ));
    assert_eq!(
        peer.finish(),
        vec!["a1 CAPABILITY", "a2 STARTTLS", "a3 CAPABILITY", "a4 LOGOUT"]
    );
}

#[test]
fn implicit_tls() {
    let pki = TestPki::new();
    let peer = Peer::spawn_tls(
        &pki.localhost(),
        true,
        [vec![send(GREETING)], caps("a1", CAPS), logout("a2")].concat(),
    );
    imap(peer.port)
        .args(["-S", "-D", "30,14"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "IMAP OK - * OK Dovecot (Debian) ready., TLSv1.3, cert localhost ",
        ));
}

#[test]
fn verified_login_quotes_and_counts_messages() {
    let pki = TestPki::new();
    let ca = pki.ca_file();
    let peer = Peer::spawn_tls(
        &pki.localhost(),
        false,
        starttls_script(
            [
                vec![
                    Step::Recv,
                    send("a4 OK [CAPABILITY IMAP4rev1] Logged in\r\n"),
                    Step::Recv,
                    send("* FLAGS (\\Seen)\r\n* 7 EXISTS\r\n* 0 RECENT\r\na5 OK [READ-ONLY] Examine completed.\r\n"),
                ],
                logout("a6"),
            ]
            .concat(),
        ),
    );
    let assert = imap(peer.port)
        .args(["--starttls", "-U", "monitor", "-P", "env:IMAP_TEST_PW"])
        .args(["--ca-file", &ca.path()])
        .args(["--messages-warning", "5", "--messages-critical", "10"])
        .env("IMAP_TEST_PW", r#"s3cret"imap\pw"#)
        .assert()
        .code(1)
        // The count that warns comes first.
        .stdout(predicate::str::starts_with(
            "IMAP WARNING - INBOX 7 messages, * OK Dovecot (Debian) ready., STARTTLS TLSv1.3, cert localhost ",
        ))
        .stdout(predicate::str::contains(" s, logged in as monitor | time="))
        .stdout(predicate::str::contains(" messages=7;5;10;0\n"));
    assert!(!stdout(&assert).contains("s3cret"));
    assert_eq!(
        peer.finish(),
        vec![
            "a1 CAPABILITY",
            "a2 STARTTLS",
            "a3 CAPABILITY",
            r#"a4 LOGIN "monitor" "s3cret\"imap\\pw""#,
            "a5 EXAMINE \"INBOX\"",
            "a6 LOGOUT",
        ]
    );
}

#[test]
fn password_is_never_printed_even_when_the_server_echoes_it() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "s3cret\"imap-file\n").unwrap();
    for format in ["text", "json"] {
        let peer = Peer::spawn_tls(
            &pki.localhost(),
            true,
            [
                vec![send(GREETING)],
                caps("a1", CAPS),
                vec![
                    Step::Recv,
                    // Echoes the password both as sent (escaped) and plain.
                    send("a2 NO [AUTHENTICATIONFAILED] bad \"s3cret\\\"imap-file\" (s3cret\"imap-file)\r\n"),
                    Step::Recv,
                ],
            ]
            .concat(),
        );
        let assert = imap(peer.port)
            .args(["-S", "--insecure", "-U", "monitor", "-v"])
            .args(["-P", &format!("file:{}", file.display())])
            .args(["--output-format", format])
            .assert()
            .code(2)
            .stdout(predicate::str::contains("LOGIN rejected: a2 NO"));
        let out = stdout(&assert);
        assert!(!out.contains("s3cret"), "{out}");
        assert!(out.contains("********"), "{out}");
        // After the refusal the plugin still says LOGOUT.
        assert_eq!(peer.finish()[2], "a3 LOGOUT");
    }
}

#[test]
fn wrong_password() {
    let pki = TestPki::new();
    let ca = pki.ca_file();
    let peer = Peer::spawn_tls(
        &pki.localhost(),
        false,
        starttls_script(vec![
            Step::Recv,
            send("a4 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"),
            Step::Recv,
        ]),
    );
    let assert = imap(peer.port)
        .args(["--starttls", "--ca-file", &ca.path()])
        .args(["-U", "monitor", "-P", "wrong-pw-789"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "IMAP CRITICAL - LOGIN rejected: a4 NO [AUTHENTICATIONFAILED] Authentication failed., * OK Dovecot (Debian) ready., STARTTLS TLSv1.3, ",
        ));
    assert!(!stdout(&assert).contains("wrong-pw-789"));
    assert_eq!(peer.finish().last().unwrap(), "a5 LOGOUT");
}

#[test]
fn eight_bit_passwords_travel_as_literals() {
    // LITERAL+: sent at once.
    let peer = Peer::spawn(
        [
            vec![send(GREETING)],
            caps("a1", CAPS),
            vec![Step::Recv, Step::Recv, send("a2 OK Logged in\r\n")],
            logout("a3"),
        ]
        .concat(),
    );
    imap(peer.port)
        .args(["-U", "monitor", "-P", "pässwort", "--allow-plaintext"])
        .assert()
        .code(0);
    assert_eq!(
        peer.finish(),
        vec![
            "a1 CAPABILITY",
            "a2 LOGIN \"monitor\" {9+}",
            "pässwort",
            "a3 LOGOUT"
        ]
    );
    // Without LITERAL+ the plugin waits for the server's go-ahead.
    let peer = Peer::spawn(
        [
            vec![send("* OK ready\r\n")],
            caps("a1", "IMAP4rev1"),
            vec![
                Step::Recv,
                send("+ Ready for literal data\r\n"),
                Step::Recv,
                send("a2 OK Logged in\r\n"),
            ],
            logout("a3"),
        ]
        .concat(),
    );
    imap(peer.port)
        .args(["-U", "monitor", "-P", "pässwort", "--allow-plaintext"])
        .assert()
        .code(0);
    assert_eq!(
        peer.finish(),
        vec![
            "a1 CAPABILITY",
            "a2 LOGIN \"monitor\" {9}",
            "pässwort",
            "a3 LOGOUT"
        ]
    );
}

#[test]
fn no_password_without_tls_unless_allowed() {
    imap(closed_port())
        .args(["-U", "monitor", "-P", "pw-plain-2"])
        .assert()
        .code(3)
        .stdout("IMAP UNKNOWN - refusing to send a password without TLS (use TLS, or --allow-plaintext)\n");
    // LOGINDISABLED: the server forbids it too.
    let peer = Peer::spawn(
        [
            vec![send("* OK ready\r\n")],
            caps("a1", "IMAP4rev1 STARTTLS LOGINDISABLED"),
            vec![Step::Recv],
        ]
        .concat(),
    );
    imap(peer.port)
        .args(["-U", "monitor", "-P", "pw-plain-2", "--allow-plaintext"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "IMAP CRITICAL - LOGIN: the server does not allow LOGIN here (LOGINDISABLED; use TLS), * OK ready, ",
        ));
    assert_eq!(peer.finish(), vec!["a1 CAPABILITY", "a2 LOGOUT"]);
}

#[test]
fn credentials_imply_verification_unless_insecure() {
    let self_signed = TestPki::self_signed(&["localhost", "127.0.0.1"], 100);
    let other_ca = TestPki::new().ca_file();
    let peer = Peer::spawn_tls(&self_signed, false, starttls_script(vec![]));
    imap(peer.port)
        .args(["--starttls", "-U", "monitor", "-P", "pw-verify-2"])
        .args(["--ca-file", &other_ca.path()])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "IMAP CRITICAL - TLS failed: certificate not trusted: self-signed and not in --ca-file",
        ));
    assert_eq!(peer.finish(), vec!["a1 CAPABILITY", "a2 STARTTLS"]);
    let peer = Peer::spawn_tls(
        &self_signed,
        false,
        starttls_script([vec![Step::Recv, send("a4 OK Logged in\r\n")], logout("a5")].concat()),
    );
    imap(peer.port)
        .args([
            "--starttls",
            "--insecure",
            "-U",
            "monitor",
            "-P",
            "pw-verify-2",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(", logged in as monitor |"));
}

#[test]
fn preauth_greeting_skips_login() {
    let peer = Peer::spawn(
        [
            vec![send(
                "* PREAUTH [CAPABILITY IMAP4rev1] Logged in as monitor\r\n",
            )],
            caps("a1", "IMAP4rev1"),
            vec![Step::Recv, send("* 5 EXISTS\r\na2 OK [READ-ONLY] done\r\n")],
            logout("a3"),
        ]
        .concat(),
    );
    imap(peer.port)
        .args(["-U", "monitor", "-P", "pw-pre-1", "--allow-plaintext"])
        .args(["--mailbox", "INBOX"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "* PREAUTH Logged in as monitor, 0.",
        ))
        .stdout(predicate::str::contains(
            ", preauthenticated, INBOX 5 messages |",
        ));
    assert_eq!(
        peer.finish(),
        vec!["a1 CAPABILITY", "a2 EXAMINE \"INBOX\"", "a3 LOGOUT"]
    );
}

#[test]
fn mailbox_names_and_missing_mailboxes() {
    let peer = Peer::spawn(
        [
            vec![send(GREETING)],
            caps("a1", CAPS),
            vec![
                Step::Recv,
                send("a2 OK Logged in\r\n"),
                Step::Recv,
                send("a3 NO Mailbox doesn't exist: Entw&APw-rfe\r\n"),
                Step::Recv,
            ],
        ]
        .concat(),
    );
    imap(peer.port)
        .args(["-U", "monitor", "-P", "pw-mbox-1", "--allow-plaintext"])
        .args(["--mailbox", "Entwürfe"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "IMAP CRITICAL - EXAMINE Entwürfe rejected: a3 NO Mailbox doesn't exist: Entw&APw-rfe, * OK Dovecot",
        ))
        .stdout(predicate::str::contains(", logged in as monitor |"));
    let received = peer.finish();
    assert_eq!(received[2], "a3 EXAMINE \"Entw&APw-rfe\"");
    assert_eq!(received[3], "a4 LOGOUT");
}

#[test]
fn silent_server_ends_in_the_timeout_state_in_time() {
    let peer = Peer::spawn(vec![Step::Hang]);
    within(Duration::from_secs(4), imap(peer.port).args(["-t", "2"]))
        .code(2)
        .stdout("IMAP CRITICAL - timed out after 2 seconds waiting for the greeting\n");
    let peer = Peer::spawn(vec![Step::Hang]);
    within(
        Duration::from_secs(4),
        imap(peer.port).args(["-t", "2:unknown"]),
    )
    .code(3);
    // A server that greets, then never completes CAPABILITY.
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("* CAPABILITY IMAP4rev1\r\n"),
        Step::Hang,
    ]);
    within(Duration::from_secs(4), imap(peer.port).args(["-t", "2"]))
        .code(2)
        .stdout(predicate::str::starts_with(
            "IMAP CRITICAL - timed out after 2 seconds waiting for the reply to CAPABILITY, * OK Dovecot",
        ));
}

#[test]
fn garbage_greeting_is_shown_printably() {
    let peer = Peer::spawn(vec![
        Step::Send(b"\x00\x01\xfe\xffjunk\r\n".to_vec()),
        Step::Close,
    ]);
    imap(peer.port)
        .assert()
        .code(2)
        .stdout("IMAP CRITICAL - not an IMAP greeting: \\x00\\x01\u{fffd}\u{fffd}junk\n");
    let peer = Peer::spawn(vec![send("+OK POP3 ready\r\n"), Step::Close]);
    imap(peer.port)
        .assert()
        .code(2)
        .stdout("IMAP CRITICAL - not an IMAP greeting: +OK POP3 ready\n");
}

#[test]
fn close_mid_reply() {
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("* CAPABILITY IMAP4rev1\r\na1 O"),
        Step::Close,
    ]);
    imap(peer.port)
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "IMAP CRITICAL - connection closed by the server after 'a1 O' while waiting for the reply to CAPABILITY, * OK Dovecot (Debian) ready., ",
        ));
    // BYE, then the close.
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("* BYE Server shutting down.\r\n"),
        Step::Close,
    ]);
    imap(peer.port)
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "IMAP CRITICAL - the server closed the connection during CAPABILITY: * BYE Server shutting down., ",
        ));
}

#[test]
fn bye_greeting_is_critical() {
    let peer = Peer::spawn(vec![send("* BYE Too many connections\r\n"), Step::Close]);
    imap(peer.port)
        .assert()
        .code(2)
        .stdout("IMAP CRITICAL - server not ready: * BYE Too many connections\n");
}

#[test]
fn starttls_refused() {
    let peer = Peer::spawn(
        [
            vec![send("* OK [CAPABILITY IMAP4rev1] ready\r\n")],
            caps("a1", "IMAP4rev1"),
            vec![
                Step::Recv,
                send("a2 BAD Unknown command STARTTLS\r\n"),
                Step::Recv,
            ],
        ]
        .concat(),
    );
    imap(peer.port)
        .arg("--starttls")
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "IMAP CRITICAL - STARTTLS refused: a2 BAD Unknown command STARTTLS, * OK ready, 0.",
        ));
    assert_eq!(
        peer.finish(),
        vec!["a1 CAPABILITY", "a2 STARTTLS", "a3 LOGOUT"]
    );
}

#[test]
fn tls_handshake_failures() {
    let peer = Peer::spawn(
        [
            vec![send(GREETING)],
            caps("a1", CAPS),
            vec![
                Step::Recv,
                send("a2 OK Begin TLS negotiation now.\r\n"),
                Step::Recv,
                send("this is not TLS\r\n"),
                Step::Hang,
            ],
        ]
        .concat(),
    );
    within(
        Duration::from_secs(5),
        imap(peer.port).args(["--starttls", "-t", "3"]),
    )
    .code(2)
    .stdout(predicate::str::starts_with("IMAP CRITICAL - TLS failed: "));
    let peer = Peer::spawn(vec![send(GREETING), Step::Hang]);
    within(
        Duration::from_secs(5),
        imap(peer.port).args(["-S", "-t", "3"]),
    )
    .code(2)
    .stdout(predicate::str::starts_with("IMAP CRITICAL - TLS failed: "));
}

#[test]
fn data_injected_before_the_handshake_is_refused() {
    let peer = Peer::spawn(
        [
            vec![send(GREETING)],
            caps("a1", CAPS),
            vec![
                Step::Recv,
                send("a2 OK Begin TLS negotiation now.\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"),
                Step::Hang,
            ],
        ]
        .concat(),
    );
    within(
        Duration::from_secs(5),
        imap(peer.port).args(["--starttls", "-t", "3"]),
    )
    .code(2)
    .stdout("IMAP CRITICAL - server sent data before the TLS handshake (possible injection)\n");
}

#[test]
fn expired_certificate_with_days() {
    let pki = TestPki::new();
    let expired = pki.leaf(&["localhost", "127.0.0.1"], -3);
    let peer = Peer::spawn_tls(
        &expired,
        true,
        [vec![send(GREETING)], caps("a1", CAPS), logout("a2")].concat(),
    );
    imap(peer.port)
        .args(["-S", "-D", "30,14"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "IMAP CRITICAL - cert localhost expired 3 days ago (",
        ))
        .stdout(predicate::str::contains(
            " UTC), * OK Dovecot (Debian) ready., TLSv1.3, 0.",
        ));
}

#[test]
fn refused_port_and_refuse_state() {
    let port = closed_port();
    imap(port).assert().code(2).stdout(format!(
        "IMAP CRITICAL - connect to 127.0.0.1 port {port}: Connection refused\n"
    ));
    imap(port).args(["-r", "ok"]).assert().code(0);
}

#[test]
fn logout_without_bye_is_a_warning() {
    let peer = Peer::spawn(
        [
            vec![send(GREETING)],
            caps("a1", CAPS),
            vec![Step::Recv, send("a2 OK Logout completed.\r\n")],
        ]
        .concat(),
    );
    let first =
        "IMAP WARNING - LOGOUT: no * BYE before the tagged OK, * OK Dovecot (Debian) ready., 0.";
    imap(peer.port)
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(first));
}

#[test]
fn expect_send_and_quit_like_c() {
    let peer = Peer::spawn([vec![send(GREETING)], caps("a1", CAPS), logout("a2")].concat());
    imap(peer.port)
        .args(["-e", "NOPE"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "IMAP WARNING - unexpected response: 'NOPE' not found, * OK Dovecot",
        ));
    // --expect sees the whole greeting, [CAPABILITY ...] included.
    let peer = Peer::spawn([vec![send(GREETING)], caps("a1", CAPS), logout("a2")].concat());
    imap(peer.port).args(["-e", "IDLE"]).assert().code(0);

    let peer = Peer::spawn(
        [
            vec![send(GREETING)],
            caps("a1", CAPS),
            vec![Step::Recv, send("* 3 EXISTS\r\nx1 OK NOOP completed.\r\n")],
            logout("a2"),
        ]
        .concat(),
    );
    imap(peer.port)
        .args(["-s", "x1 NOOP", "-e", "x1 OK"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            ", answer 'x1 OK NOOP completed.' |",
        ));
    assert_eq!(peer.finish(), vec!["a1 CAPABILITY", "x1 NOOP", "a2 LOGOUT"]);

    let peer = Peer::spawn([vec![send(GREETING)], caps("a1", CAPS), vec![Step::Recv]].concat());
    imap(peer.port).args(["-q", "z9 LOGOUT"]).assert().code(0);
    assert_eq!(peer.finish(), vec!["a1 CAPABILITY", "z9 LOGOUT"]);
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
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        conn.write_all(b"* OK v6 ready\r\n").unwrap();
        let mut received = Vec::new();
        for reply in ["* CAPABILITY IMAP4rev1\r\na1 OK\r\n", "* BYE\r\na2 OK\r\n"] {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            received.push(line.trim_end().to_string());
            conn.write_all(reply.as_bytes()).unwrap();
        }
        received
    });
    plugin("check_imap_rs")
        .args(["-H", "::1", "-p", &port.to_string(), "-6"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("IMAP OK - * OK v6 ready, "));
    assert_eq!(server.join().unwrap(), vec!["a1 CAPABILITY", "a2 LOGOUT"]);
}

#[test]
fn bad_options_exit_3() {
    for args in [
        vec!["-H", "x", "--starttls", "-S"],
        vec!["-H", "x", "--messages-critical", "5"],
        vec!["-H", "x", "--mailbox", "INBOX"],
        vec!["-H", "x", "-P", "pw"],
        vec!["-H", "x", "-p", "99999"],
        vec!["-H", "x", "-D", "14,30"],
        vec!["-p", "143"],
    ] {
        plugin("check_imap_rs")
            .args(&args)
            .assert()
            .code(3)
            .stdout(predicate::str::starts_with("IMAP UNKNOWN - "));
    }
}

// ---- against dovecot (tests/testbed) ----

fn real(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = plugin("check_imap_rs");
    cmd.args(args);
    cmd
}

#[test]
fn dovecot_plain_starttls_and_implicit_tls() {
    if !testbed() {
        return;
    }
    real(&["-H", "127.0.0.1"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "IMAP OK - * OK Dovecot (Debian) ready., 0.",
        ));
    real(&[
        "-H",
        "127.0.0.1",
        "--starttls",
        "--verify",
        "--ca-file",
        &testbed_ca(),
    ])
    .assert()
    .code(0)
    .stdout(predicate::str::starts_with(
        "IMAP OK - * OK Dovecot (Debian) ready., STARTTLS TLSv1.3, cert localhost ",
    ));
    real(&["-H", "127.0.0.1", "-S"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "IMAP OK - * OK Dovecot (Debian) ready., TLSv1.3, cert localhost ",
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
    real(&["-H", "127.0.0.1", "-S", "-D", "400,380"])
        .assert()
        .code(2);
    real(&["-H", "127.0.0.1", "--starttls", "-D", "400,380"])
        .assert()
        .code(2);
}

#[test]
fn dovecot_login_and_message_counts() {
    if !testbed() {
        return;
    }
    let (user, pass) = mail_account();
    let ca = testbed_ca();
    let assert = real(&["-H", "127.0.0.1", "--starttls", "-U", &user, "-P", "env:PW"])
        .args(["--ca-file", &ca, "--messages-critical", "1000"])
        .env("PW", &pass)
        .assert()
        .code(0)
        .stdout(
            predicate::str::is_match(format!(r", logged in as {user}, INBOX \d+ messages? \|"))
                .unwrap(),
        )
        .stdout(predicate::str::is_match(r" messages=\d+;;1000;0\n").unwrap());
    assert!(!stdout(&assert).contains(&pass));
    // -v shows the dialogue, the password masked, LOGOUT answered with BYE.
    let assert = real(&["-H", "127.0.0.1", "-S", "-U", &user, "-P", &pass, "-v"])
        .args(["--ca-file", &ca, "--mailbox", "INBOX"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "\n> a2 LOGIN \"{user}\" \"********\"\n"
        )))
        .stdout(predicate::str::contains("\n> a3 EXAMINE \"INBOX\"\n"))
        .stdout(predicate::str::contains(
            "\n> a4 LOGOUT\n< * BYE Logging out\n< a4 OK Logout completed",
        ));
    assert!(!stdout(&assert).contains(&pass));
    // The seeded INBOX is not empty: a 0:0 range alerts.
    real(&["-H", "127.0.0.1", "-S", "-U", &user, "-P", &pass])
        .args(["--ca-file", &ca, "--messages-warning", "0"])
        .assert()
        .code(1);
    real(&[
        "-H",
        "127.0.0.1",
        "-S",
        "-U",
        &user,
        "-P",
        "not-the-password-8",
    ])
    .args(["--ca-file", &ca])
    .assert()
    .code(2)
    .stdout(predicate::str::starts_with(
        "IMAP CRITICAL - LOGIN rejected: a2 NO [AUTHENTICATIONFAILED] Authentication failed., * OK",
    ));
    real(&["-H", "127.0.0.1", "-S", "-U", &user, "-P", &pass])
        .args(["--ca-file", &ca, "--mailbox", "No such box"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "IMAP CRITICAL - EXAMINE No such box rejected: a3 NO ",
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
    .args(["--mailbox", "INBOX"])
    .assert()
    .code(0);
}

#[test]
fn dovecot_ipv6_and_refused_port() {
    if !testbed() {
        return;
    }
    if testbed_ipv6() {
        let (user, pass) = mail_account();
        real(&[
            "-H",
            "::1",
            "-6",
            "-S",
            "--ca-file",
            &testbed_ca(),
            "-U",
            &user,
            "-P",
            &pass,
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "IMAP OK - * OK Dovecot (Debian) ready., TLSv1.3, ",
        ));
    }
    let port = closed_port().to_string();
    real(&["-H", "127.0.0.1", "-p", &port])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Connection refused"));
}

#[test]
fn same_exit_codes_as_c_check_imap() {
    const C: &str = "/usr/lib/nagios/plugins/check_imap";
    if !testbed() || !std::path::Path::new(C).exists() {
        return;
    }
    let port = closed_port().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["-H", "127.0.0.1"],
        vec!["-H", "127.0.0.1", "-p", "993", "-S"],
        vec!["-H", "127.0.0.1", "-p", "993", "-S", "-D", "30,14"],
        vec!["-H", "127.0.0.1", "-p", "993", "-S", "-D", "400,380"],
        vec!["-H", "::1", "-6"],
        vec!["-H", "127.0.0.1", "-p", &port],
        vec!["-H", "127.0.0.1", "-p", &port, "-r", "warn"],
        vec!["-H", "127.0.0.1", "-e", "IMAP4rev1"],
        vec!["-H", "127.0.0.1", "-e", "NOPE"],
        vec!["-H", "127.0.0.1", "-e", "NOPE", "-M", "crit"],
        vec!["-H", "127.0.0.1", "-w", "0.000001", "-c", "5"],
    ];
    for args in cases {
        let c = std::process::Command::new(C).args(&args).output().unwrap();
        let ours = plugin("check_imap_rs").args(&args).output().unwrap();
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
    if !testbed() {
        return;
    }
    real(&[
        "-H",
        "127.0.0.1",
        "-E",
        "-s",
        "a1 LOGOUT\\r\\n",
        "-e",
        "* BYE",
    ])
    .assert()
    .code(0)
    .stdout(predicate::str::starts_with(
        "IMAP OK - * OK Dovecot (Debian) ready., 0.",
    ))
    .stdout(predicate::str::contains("answer '* BYE Logging out'"));
}
