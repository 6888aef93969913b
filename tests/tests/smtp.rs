//! check_smtp_rs against scripted peers (normal and hostile) and, when the
//! testbed is up, against the real postfix.

use std::time::Duration;

use predicates::prelude::*;
use rsplugins_tests::peer::{send, Peer, Step};
use rsplugins_tests::pki::TestPki;
use rsplugins_tests::{plugin, testbed, testbed_ca, within};

const EHLO_REPLY: &str =
    "250-mx.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n";
const EHLO_NO_TLS: &str = "250-mx.test\r\n250 8BITMIME\r\n";

fn smtp(port: u16) -> assert_cmd::Command {
    let mut cmd = plugin("check_smtp_rs");
    cmd.args([
        "-H",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-F",
        "probe.test",
    ]);
    cmd
}

fn greeting_ehlo_quit(ehlo: &str) -> Vec<Step> {
    vec![
        send("220 mx.test ESMTP ready\r\n"),
        Step::Recv,
        send(ehlo),
        Step::Recv,
        send("221 2.0.0 Bye\r\n"),
    ]
}

#[test]
fn plain_dialogue() {
    let peer = Peer::spawn(greeting_ehlo_quit(EHLO_REPLY));
    smtp(peer.port)
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(r"^SMTP OK - 220 mx\.test ESMTP ready, 0\.\d{3} s \| time=[0-9.]+s;;;0 connect_time=[0-9.]+s;;;0\n$").unwrap());
    assert_eq!(peer.finish(), vec!["EHLO probe.test", "QUIT"]);
}

#[test]
fn helo_fallback() {
    let peer = Peer::spawn(vec![
        send("220 old.mx SMTP\r\n"),
        Step::Recv,
        send("502 5.5.2 Error: command not recognized\r\n"),
        Step::Recv,
        send("250 old.mx\r\n"),
        Step::Recv,
        send("221 bye\r\n"),
    ]);
    smtp(peer.port).assert().code(0);
    assert_eq!(
        peer.finish(),
        vec!["EHLO probe.test", "HELO probe.test", "QUIT"]
    );
}

#[test]
fn expect_matches_the_greeting_or_the_hello_reply_as_in_c() {
    let peer = Peer::spawn(greeting_ehlo_quit(EHLO_REPLY));
    smtp(peer.port)
        .args(["-e", "250"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "SMTP OK - 220 mx.test ESMTP ready, 0.",
        ));
    // Neither holds it: WARNING with C's message, the greeting once.
    let peer = Peer::spawn(greeting_ehlo_quit(EHLO_REPLY));
    smtp(peer.port)
        .args(["-e", "NOPE"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::is_match(
                r"^SMTP WARNING - Invalid SMTP response received from host: 220 mx.test ESMTP ready, 0\.\d{3} s \| ",
            )
            .unwrap(),
        );
}

#[test]
fn wrong_greeting_code() {
    let peer = Peer::spawn(vec![
        send("554 5.3.2 mx.test closing: go away\r\n"),
        Step::Recv,
        send("221 bye\r\n"),
    ]);
    smtp(peer.port)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "Invalid SMTP response received from host: 554 5.3.2",
        ));
}

#[test]
fn starttls_with_certificate_and_verification() {
    let pki = TestPki::new();
    let ca = pki.ca_file();
    let leaf = pki.leaf(&["localhost", "127.0.0.1"], 200);
    let script = || {
        vec![
            send("220 mx.test ESMTP ready\r\n"),
            Step::Recv,
            send(EHLO_REPLY),
            Step::Recv,
            send("220 2.0.0 Ready to start TLS\r\n"),
            Step::StartTls,
            Step::Recv,
            send("250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n"),
            Step::Recv,
            send("221 bye\r\n"),
        ]
    };
    let peer = Peer::spawn_tls(&leaf, false, script());
    smtp(peer.port)
        .args(["-S", "-D", "30,14", "--ca-file", &ca.path()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "SMTP OK - 220 mx.test ESMTP ready, STARTTLS TLSv1.3, cert localhost 200 days left, 0.",
        ))
        .stdout(predicate::str::contains("tls_time="));
    assert_eq!(
        peer.finish(),
        vec!["EHLO probe.test", "STARTTLS", "EHLO probe.test", "QUIT"]
    );

    let peer = Peer::spawn_tls(&leaf, false, script());
    smtp(peer.port)
        .args(["-S", "-D", "365,250"])
        .assert()
        .code(2);
    let peer = Peer::spawn_tls(&leaf, false, script());
    smtp(peer.port).args(["-S", "-D", "250"]).assert().code(1);
}

#[test]
fn starttls_not_offered_or_refused() {
    let peer = Peer::spawn(greeting_ehlo_quit(EHLO_NO_TLS));
    smtp(peer.port)
        .arg("-S")
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "SMTP WARNING - STARTTLS not offered by the server, 220",
        ));
    let peer = Peer::spawn(vec![
        send("220 mx.test ESMTP\r\n"),
        Step::Recv,
        send(EHLO_REPLY),
        Step::Recv,
        send("454 4.7.0 TLS not available due to local problem\r\n"),
        Step::Recv,
        send("221 bye\r\n"),
    ]);
    smtp(peer.port)
        .arg("-S")
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "SMTP CRITICAL - STARTTLS refused: 454 4.7.0 TLS not available",
        ));
}

#[test]
fn data_injected_after_the_starttls_reply_is_refused() {
    let peer = Peer::spawn(vec![
        send("220 mx.test ESMTP\r\n"),
        Step::Recv,
        send(EHLO_REPLY),
        Step::Recv,
        send("220 go ahead\r\n250 injected\r\n"),
        Step::Hang,
    ]);
    smtp(peer.port)
        .arg("-S")
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "server sent data before the TLS handshake",
        ));
}

#[test]
fn tls_handshake_failure_after_starttls() {
    let peer = Peer::spawn(vec![
        send("220 mx.test ESMTP\r\n"),
        Step::Recv,
        send(EHLO_REPLY),
        Step::Recv,
        send("220 go ahead\r\n"),
        Step::Sleep(Duration::from_millis(200)),
        send("this is not TLS\r\n"),
        Step::Close,
    ]);
    within(
        Duration::from_secs(5),
        smtp(peer.port).args(["-S", "-t", "3"]),
    )
    .code(2)
    .stdout(predicate::str::starts_with("SMTP CRITICAL - TLS failed: "));
}

#[test]
fn expired_certificate_with_days_is_critical() {
    let pki = TestPki::new();
    let leaf = pki.leaf(&["localhost"], -10);
    let peer = Peer::spawn_tls(
        &leaf,
        true,
        vec![
            send("220 smtps ready\r\n"),
            Step::Recv,
            send(EHLO_NO_TLS),
            Step::Recv,
            send("221 bye\r\n"),
        ],
    );
    smtp(peer.port)
        .args(["--ssl", "-D", "30,14"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "cert localhost expired 10 days ago",
        ));
}

#[test]
fn auth_over_tls_success_and_failure_never_show_the_password() {
    let pki = TestPki::new();
    let ca = pki.ca_file();
    let leaf = pki.localhost();
    let script = |answer: &str| {
        vec![
            send("220 smtps ready\r\n"),
            Step::Recv,
            send(EHLO_REPLY),
            Step::Recv,
            send(answer),
            Step::Recv,
            send("221 bye\r\n"),
        ]
    };
    let peer = Peer::spawn_tls(
        &leaf,
        true,
        script("235 2.7.0 Authentication successful\r\n"),
    );
    smtp(peer.port)
        .args([
            "--ssl",
            "--ca-file",
            &ca.path(),
            "-A",
            "PLAIN",
            "-U",
            "monitor",
            "-P",
            "S3cret-pw",
            "-v",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("AUTH PLAIN as monitor"))
        .stdout(predicate::str::contains("S3cret-pw").not())
        .stdout(predicate::str::contains("AHBvbml0b3IA").not());
    let sent = peer.finish();
    assert!(sent[1].starts_with("AUTH PLAIN "), "{sent:?}");

    let peer = Peer::spawn_tls(
        &leaf,
        true,
        script("535 5.7.8 Error: authentication failed\r\n"),
    );
    smtp(peer.port)
        .args([
            "--ssl",
            "--ca-file",
            &ca.path(),
            "-A",
            "PLAIN",
            "-U",
            "monitor",
            "-P",
            "env:SMTP_TEST_PW",
        ])
        .env("SMTP_TEST_PW", "Wr0ng-pw")
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "SMTP CRITICAL - AUTH PLAIN failed: 535 5.7.8 Error: authentication failed",
        ))
        .stdout(predicate::str::contains("Wr0ng-pw").not());
}

#[test]
fn credentials_verify_the_certificate_unless_insecure() {
    let self_signed = TestPki::self_signed(&["localhost", "127.0.0.1"], 100);
    let peer = Peer::spawn_tls(&self_signed, true, vec![send("220 x\r\n")]);
    smtp(peer.port)
        .args(["--ssl", "-A", "LOGIN", "-U", "u", "-P", "pw-verify-test"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("certificate not trusted"));
    let peer = Peer::spawn_tls(
        &self_signed,
        true,
        vec![
            send("220 x\r\n"),
            Step::Recv,
            send(EHLO_REPLY),
            Step::Recv,
            send("334 VXNlcm5hbWU6\r\n"),
            Step::Recv,
            send("334 UGFzc3dvcmQ6\r\n"),
            Step::Recv,
            send("235 ok\r\n"),
            Step::Recv,
            send("221 bye\r\n"),
        ],
    );
    smtp(peer.port)
        .args([
            "--ssl",
            "--insecure",
            "-A",
            "LOGIN",
            "-U",
            "u",
            "-P",
            "pw-verify-test",
        ])
        .assert()
        .code(0);
}

#[test]
fn no_password_over_plaintext() {
    let peer = Peer::spawn(greeting_ehlo_quit(EHLO_REPLY));
    smtp(peer.port)
        .args(["-A", "LOGIN", "-U", "u", "-P", "pw-plaintext-test"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "refusing to send a password without TLS",
        ));
    drop(peer);
}

#[test]
fn commands_and_responses() {
    let peer = Peer::spawn(vec![
        send("220 mx\r\n"),
        Step::Recv,
        send(EHLO_NO_TLS),
        Step::Recv,
        send("250 2.0.0 Ok\r\n"),
        Step::Recv,
        send("252 2.0.0 root\r\n"),
        Step::Recv,
        send("221 bye\r\n"),
    ]);
    smtp(peer.port)
        .args(["-C", "NOOP", "-R", "^250", "-C", "VRFY root", "-R", "^250"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "SMTP WARNING - Invalid response '252 2.0.0 root' to command 'VRFY root'",
        ));
}

#[test]
fn full_transaction_each_step_reported() {
    let peer = Peer::spawn(vec![
        send("220 mx\r\n"),
        Step::Recv,
        send(EHLO_NO_TLS),
        Step::Recv,
        send("250 2.1.0 Ok\r\n"),
        Step::Recv,
        send("250 2.1.5 Ok\r\n"),
        Step::Recv,
        send("354 End data with <CR><LF>.<CR><LF>\r\n"),
        Step::RecvUntilLine(".".to_string()),
        send("250 2.0.0 Ok: queued as ABC123\r\n"),
        Step::Recv,
        send("221 bye\r\n"),
    ]);
    smtp(peer.port)
        .args(["--mail-from", "probe@test", "--rcpt-to", "monitor@localhost", "--send-mail"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(r"^SMTP OK - 220 mx, 0\.\d{3} s, MAIL FROM <probe@test>, RCPT TO <monitor@localhost>, DATA, message accepted: 250 2\.0\.0 Ok: queued as ABC123 \| time=").unwrap());
    let sent = peer.finish();
    assert_eq!(sent[1], "MAIL FROM:<probe@test>");
    assert_eq!(sent[2], "RCPT TO:<monitor@localhost>");
    assert_eq!(sent[3], "DATA");
    assert!(sent
        .iter()
        .any(|l| l == "..A line starting with a dot proves dot-stuffing."));
    assert_eq!(sent.last().map(String::as_str), Some("QUIT"));
}

#[test]
fn rejected_recipient_is_critical() {
    let peer = Peer::spawn(vec![
        send("220 mx\r\n"),
        Step::Recv,
        send(EHLO_NO_TLS),
        Step::Recv,
        send("250 2.1.0 Ok\r\n"),
        Step::Recv,
        send("550 5.1.1 <nobody@localhost>: Recipient address rejected\r\n"),
        Step::Recv,
        send("250 reset\r\n"),
        Step::Recv,
        send("221 bye\r\n"),
    ]);
    smtp(peer.port)
        .args([
            "-f",
            "probe@test",
            "--rcpt-to",
            "nobody@localhost",
            "--send-mail",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "SMTP CRITICAL - RCPT TO <nobody@localhost> refused: 550 5.1.1",
        ));
}

#[test]
fn quit_failure_is_warning_unless_ignored() {
    let script = || {
        vec![
            send("220 mx\r\n"),
            Step::Recv,
            send(EHLO_NO_TLS),
            Step::Recv,
            send("500 what\r\n"),
        ]
    };
    let peer = Peer::spawn(script());
    smtp(peer.port)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("QUIT answered 500 what"));
    let peer = Peer::spawn(script());
    smtp(peer.port).arg("-q").assert().code(0);
}

#[test]
fn hostile_peers_end_in_time_with_a_clear_message() {
    // Silence, drips, endless lines and closes before the greeting are rows
    // of tests/failure_policy.rs; these are SMTP's own.
    let cases: Vec<(Vec<Step>, i32, &str)> = vec![
        (
            vec![
                Step::Send(b"\x16\x03\x01\x00\xa5binary\r\n".to_vec()),
                Step::Close,
            ],
            2,
            "invalid response from server: \\x16\\x03\\x01",
        ),
        (
            vec![
                send("220 mx\r\n"),
                Step::Recv,
                send("250-mx\r\n250-PIPE"),
                Step::Close,
            ],
            2,
            "connection closed by the server after '250-PIPE'",
        ),
    ];
    for (script, code, message) in cases {
        let peer = Peer::spawn(script);
        within(Duration::from_secs(5), smtp(peer.port).args(["-t", "2"]))
            .code(code)
            .stdout(predicate::str::starts_with("SMTP CRITICAL - "))
            .stdout(predicate::str::contains(message));
    }
    let peer = Peer::spawn(vec![Step::Hang]);
    within(
        Duration::from_secs(5),
        smtp(peer.port).args(["-t", "1:unknown"]),
    )
    .code(3);
}

// ---- the real postfix of the testbed ----

fn postfix(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = plugin("check_smtp_rs");
    cmd.args(["-F", "probe.test"]).args(args);
    cmd
}

#[test]
fn real_postfix_plain_starttls_and_days() {
    if !testbed() {
        return;
    }
    postfix(&["-H", "127.0.0.1"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("SMTP OK - 220 "));
    postfix(&["-H", "127.0.0.1", "-p", "2525"]).assert().code(0);
    postfix(&[
        "-H",
        "127.0.0.1",
        "-S",
        "--ca-file",
        &testbed_ca(),
        "-D",
        "30,14",
    ])
    .assert()
    .code(0)
    .stdout(predicate::str::contains(
        "STARTTLS TLSv1.3, cert localhost 36",
    ));
    postfix(&["-H", "127.0.0.1", "-S", "-D", "400,380"])
        .assert()
        .code(2);
    postfix(&["-H", "127.0.0.1", "-e", "NOPE"]).assert().code(1);
    postfix(&["-H", "127.0.0.1", "-C", "MAIL FROM:<a@vm>", "-R", "250"])
        .assert()
        .code(0);
}

#[test]
fn real_postfix_ipv6_refused_and_smtps() {
    if !testbed() {
        return;
    }
    postfix(&["-H", "::1", "-6"]).assert().code(0);
    postfix(&["-H", "127.0.0.1", "-p", "2599"]).assert().code(2);
    postfix(&["-H", "127.0.0.1", "--ssl", "--ca-file", &testbed_ca()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(", TLSv1."));
}

#[test]
fn real_postfix_full_transaction_to_a_local_mailbox() {
    if !testbed() {
        return;
    }
    postfix(&[
        "-H",
        "127.0.0.1",
        "--mail-from",
        "probe@localhost",
        "--rcpt-to",
        "monitor@localhost",
        "--send-mail",
    ])
    .assert()
    .code(0)
    .stdout(predicate::str::contains(
        "message accepted: 250 2.0.0 Ok: queued as ",
    ));
    postfix(&[
        "-H",
        "127.0.0.1",
        "--mail-from",
        "probe@localhost",
        "--rcpt-to",
        "nosuchuser@localhost",
    ])
    .assert()
    .code(2)
    .stdout(predicate::str::contains(
        "RCPT TO <nosuchuser@localhost> refused: 550",
    ));
}

#[test]
fn real_postfix_auth_after_starttls_and_a_short_lived_certificate() {
    if !testbed() {
        return;
    }
    let ca = &testbed_ca();
    for mechanism in ["PLAIN", "LOGIN"] {
        postfix(&[
            "-H",
            "127.0.0.1",
            "-p",
            "2525",
            "-S",
            "--ca-file",
            ca,
            "-A",
            mechanism,
            "-U",
            "monitor",
            "-P",
            "env:RSPLUGINS_SMTP_PW",
        ])
        .env("RSPLUGINS_SMTP_PW", "monpass")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "AUTH {mechanism} as monitor"
        )))
        .stdout(predicate::str::contains("monpass").not());
    }
    postfix(&[
        "-H",
        "127.0.0.1",
        "-p",
        "2525",
        "-S",
        "--ca-file",
        ca,
        "-A",
        "LOGIN",
        "-U",
        "monitor",
        "-P",
        "wrong-pw-x",
    ])
    .assert()
    .code(2)
    .stdout(predicate::str::starts_with(
        "SMTP CRITICAL - AUTH LOGIN failed: 535",
    ))
    .stdout(predicate::str::contains("wrong-pw-x").not());
    // The 5-day certificate: WARNING under -D 30,3, CRITICAL under -D 30,10.
    postfix(&["-H", "127.0.0.1", "-p", "2526", "-S", "-D", "30,3"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("days left"));
    postfix(&["-H", "127.0.0.1", "-p", "2526", "-S", "-D", "30,10"])
        .assert()
        .code(2);
}

#[test]
fn an_unanswered_quit_takes_the_timeout_state() {
    let peer = Peer::spawn(vec![
        send("220 mx\r\n"),
        Step::Recv,
        send(EHLO_NO_TLS),
        Step::Recv,
        Step::Hang,
    ]);
    within(
        Duration::from_secs(5),
        smtp(peer.port).args(["-t", "2:UNKNOWN"]),
    )
    .code(3)
    .stdout(predicate::str::contains(
        "QUIT failed: timed out after 2 seconds",
    ));
}

#[test]
fn a_421_greeting_is_answered_at_once() {
    // 421: the server is closing; waiting for a QUIT reply would take the whole budget.
    let peer = Peer::spawn(vec![
        send("421 4.3.2 mx.test busy, closing\r\n"),
        Step::Hang,
    ]);
    within(Duration::from_secs(3), smtp(peer.port).args(["-t", "10"]))
        .code(1)
        .stdout(predicate::str::starts_with(
            "SMTP WARNING - Invalid SMTP response received from host: 421 4.3.2 mx.test busy, closing, 0.",
        ));
}

#[test]
fn echoed_auth_payloads_are_masked() {
    // A server that echoes what it was sent (AUTH PLAIN's payload, AUTH
    // LOGIN's base64 password) must not put the password on the output.
    let plain_token = "AG1vbml0b3IAU2VjcjN0UFc="; // \0monitor\0Secr3tPW
    let peer = Peer::spawn(vec![
        send("220 mx\r\n"),
        Step::Recv,
        send(EHLO_REPLY),
        Step::Recv,
        send(&format!("535 5.7.8 bad: AUTH PLAIN {plain_token}\r\n")),
        Step::Recv,
        send("221 bye\r\n"),
    ]);
    smtp(peer.port)
        .args([
            "-A",
            "PLAIN",
            "-U",
            "monitor",
            "-P",
            "Secr3tPW",
            "--allow-plaintext",
            "-v",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("AUTH PLAIN ********"))
        .stdout(predicate::str::contains(plain_token).not())
        .stdout(predicate::str::contains("Secr3tPW").not());
    let peer = Peer::spawn(vec![
        send("220 mx\r\n"),
        Step::Recv,
        send(EHLO_REPLY),
        Step::Recv,
        send("334 VXNlcm5hbWU6\r\n"),
        Step::Recv,
        send("334 UGFzc3dvcmQ6\r\n"),
        Step::Recv,
        send("535 5.7.8 you sent U2VjcjN0UFc=\r\n"),
        Step::Recv,
        send("221 bye\r\n"),
    ]);
    smtp(peer.port)
        .args([
            "-A",
            "LOGIN",
            "-U",
            "monitor",
            "-P",
            "Secr3tPW",
            "--allow-plaintext",
            "-v",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("535 5.7.8 you sent ********"))
        .stdout(predicate::str::contains("U2VjcjN0UFc=").not());
}
