//! check_ftp_rs against scripted peers (normal, TLS and hostile) and, when
//! the testbed is up, against vsftpd, side by side with C check_ftp.

use std::time::Duration;

use predicates::prelude::*;
use rsplugins_tests::peer::{closed_port, send, Peer, Step};
use rsplugins_tests::pki::TestPki;
use rsplugins_tests::{available, plugin, plugin_on, testbed, testbed_ca, testbed_env, within};

const GREETING: &str = "220 rsplugins FTP ready\r\n";

fn ftp(port: u16) -> assert_cmd::Command {
    plugin_on("check_ftp_rs", port)
}

/// Greeting, then QUIT answered with 221.
fn greet_and_quit(greeting: &str) -> Vec<Step> {
    vec![
        send(greeting),
        Step::RecvUntil("QUIT".into()),
        send("221 Goodbye.\r\n"),
    ]
}

/// Greeting, AUTH TLS accepted, TLS, then `rest`.
fn auth_tls_then(rest: Vec<Step>) -> Vec<Step> {
    let mut steps = vec![
        send(GREETING),
        Step::Recv,
        send("234 Proceed with negotiation.\r\n"),
        Step::StartTls,
    ];
    steps.extend(rest);
    steps
}

fn stdout_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

#[test]
fn plain_greeting_and_quit() {
    let peer = Peer::spawn(greet_and_quit(GREETING));
    ftp(peer.port).assert().code(0).stdout(
        predicate::str::is_match(
            r"^FTP OK - 220 rsplugins FTP ready, 0\.\d{3} s \| time=[0-9.]+s;;;0 connect_time=[0-9.]+s;;;0\n$",
        )
        .unwrap(),
    );
    assert_eq!(peer.finish(), vec!["QUIT"]);
}

#[test]
fn multi_line_greeting() {
    let peer = Peer::spawn(greet_and_quit(
        "220-Welcome to the test\r\n  no uploads please\r\n220 rsplugins FTP ready\r\n",
    ));
    ftp(peer.port)
        .args(["-e", "no uploads"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "FTP OK - 220-Welcome to the test, 0.",
        ));
}

#[test]
fn auth_tls_with_certificate_days() {
    let pki = TestPki::new();
    let leaf = pki.localhost();
    let peer = Peer::spawn_tls(
        &leaf,
        false,
        auth_tls_then(vec![
            Step::RecvUntil("QUIT".into()),
            send("221 Goodbye.\r\n"),
        ]),
    );
    ftp(peer.port)
        .args(["--starttls", "-D", "30,14"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(
            r"^FTP OK - 220 rsplugins FTP ready, AUTH TLS TLSv1\.3, cert localhost 36\d days left, 0\.\d{3} s \| time=[0-9.]+s;;;0 connect_time=[0-9.]+s;;;0 tls_time=[0-9.]+s;;;0\n",
        )
        .unwrap());
    assert_eq!(peer.finish(), vec!["AUTH TLS", "QUIT"]);
}

#[test]
fn certificate_days_alone_imply_auth_tls() {
    let pki = TestPki::new();
    let leaf = pki.leaf(&["localhost", "127.0.0.1"], 20);
    let peer = Peer::spawn_tls(
        &leaf,
        false,
        auth_tls_then(vec![
            Step::RecvUntil("QUIT".into()),
            send("221 Goodbye.\r\n"),
        ]),
    );
    ftp(peer.port)
        .args(["-D", "30,14"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
        "FTP WARNING - cert localhost 20 days left, 220 rsplugins FTP ready, AUTH TLS TLSv1.3, 0.",
    ));
}

#[test]
fn implicit_ftps() {
    let pki = TestPki::new();
    let leaf = pki.localhost();
    let peer = Peer::spawn_tls(&leaf, true, greet_and_quit(GREETING));
    ftp(peer.port)
        .args(["-S"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "FTP OK - 220 rsplugins FTP ready, TLSv1.3, cert localhost ",
        ));
    assert_eq!(peer.finish(), vec!["QUIT"]);
}

#[test]
fn verified_login_over_auth_tls_never_shows_the_password() {
    let pki = TestPki::new();
    let ca = pki.ca_file();
    let leaf = pki.localhost();
    let password = "Sekr3t-ftp-pw";
    let peer = Peer::spawn_tls(
        &leaf,
        false,
        auth_tls_then(vec![
            Step::Recv,
            send("331 Please specify the password.\r\n"),
            Step::Recv,
            send("230 Login successful.\r\n"),
            Step::RecvUntil("QUIT".into()),
            send("221 Goodbye.\r\n"),
        ]),
    );
    let assert = ftp(peer.port)
        .args([
            "--starttls",
            "-U",
            "ftpmon",
            "-P",
            password,
            "--ca-file",
            &ca.path(),
            "-vvv",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "FTP OK - 220 rsplugins FTP ready, AUTH TLS TLSv1.3, cert localhost ",
        ))
        .stdout(predicate::str::contains(" s, logged in as ftpmon | time="))
        .stdout(predicate::str::contains("> PASS ********"))
        .stdout(predicate::str::contains("certificate verified"));
    assert!(!stdout_of(&assert).contains(password));
    assert_eq!(
        peer.finish(),
        vec![
            "AUTH TLS".to_string(),
            "USER ftpmon".to_string(),
            format!("PASS {password}"),
            "QUIT".to_string()
        ]
    );
}

#[test]
fn credentials_turn_verification_on_unless_insecure() {
    let pki = TestPki::new();
    let leaf = pki.localhost();
    // Not trusted: the test CA is not given, and a password is about to cross.
    let peer = Peer::spawn_tls(&leaf, false, auth_tls_then(vec![Step::Hang]));
    let assert = ftp(peer.port)
        .args(["--starttls", "-U", "ftpmon", "-P", "pw-verify-1"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "FTP CRITICAL - TLS failed: certificate not trusted: unknown issuer",
        ));
    assert!(!stdout_of(&assert).contains("pw-verify-1"));
    assert_eq!(peer.finish(), vec!["AUTH TLS"]);

    let peer = Peer::spawn_tls(
        &leaf,
        false,
        auth_tls_then(vec![
            Step::Recv,
            send("331 Please specify the password.\r\n"),
            Step::Recv,
            send("230 Login successful.\r\n"),
            Step::RecvUntil("QUIT".into()),
            send("221 Goodbye.\r\n"),
        ]),
    );
    ftp(peer.port)
        .args([
            "--starttls",
            "-U",
            "ftpmon",
            "-P",
            "pw-verify-1",
            "--insecure",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("logged in as ftpmon"));
}

#[test]
fn anonymous_login_needs_no_tls_and_sends_a_mail_like_password() {
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("331 Please specify the password.\r\n"),
        Step::Recv,
        send("230 Login successful.\r\n"),
        Step::RecvUntil("QUIT".into()),
        send("221 Goodbye.\r\n"),
    ]);
    ftp(peer.port)
        .args(["-U", "anonymous"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::is_match(
                r"^FTP OK - 220 rsplugins FTP ready, 0\.\d{3} s, logged in as anonymous \| time=",
            )
            .unwrap(),
        );
    assert_eq!(
        peer.finish(),
        vec!["USER anonymous", "PASS rsplugins@", "QUIT"]
    );
}

#[test]
fn a_password_is_not_sent_in_clear_text_unless_allowed() {
    // Refused before connecting: UNKNOWN, not the CRITICAL of a closed port.
    let port = closed_port();
    ftp(port)
        .args(["-U", "ftpmon", "-P", "pw-plain-1"])
        .assert()
        .code(3)
        .stdout(
            "FTP UNKNOWN - refusing to send a password without TLS (use TLS, or --allow-plaintext)\n",
        );

    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("331 Please specify the password.\r\n"),
        Step::Recv,
        send("230 Login successful.\r\n"),
        Step::RecvUntil("QUIT".into()),
        send("221 Goodbye.\r\n"),
    ]);
    let assert = ftp(peer.port)
        .args(["-U", "ftpmon", "-P", "pw-plain-1", "--allow-plaintext"])
        .assert()
        .code(0);
    assert!(!stdout_of(&assert).contains("pw-plain-1"));
}

#[test]
fn wrong_password_is_critical_and_hidden() {
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("331 Please specify the password.\r\n"),
        Step::Recv,
        // A server that echoes the password must not get it printed either.
        send("530 Login incorrect for pw-wrong-1.\r\n"),
        Step::Hang,
    ]);
    let assert = ftp(peer.port)
        .args(["-U", "ftpmon", "-P", "pw-wrong-1", "--allow-plaintext"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "FTP CRITICAL - login failed: 530 Login incorrect for ********. (user ftpmon), 220 rsplugins FTP ready, 0.",
        ));
    assert!(!stdout_of(&assert).contains("pw-wrong-1"));
}

#[test]
fn password_asked_but_not_given_is_unknown() {
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("331 Please specify the password.\r\n"),
        Step::Hang,
    ]);
    ftp(peer.port)
        .args(["-U", "ftpmon"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "FTP UNKNOWN - the server asks for a password for ftpmon (give -P)",
        ));
}

#[test]
fn silent_server_ends_in_the_timeout_state_in_time() {
    let peer = Peer::spawn(vec![Step::Hang]);
    within(Duration::from_secs(4), ftp(peer.port).args(["-t", "2"]))
        .code(2)
        .stdout("FTP CRITICAL - timed out after 2 seconds waiting for the greeting\n");
    let peer = Peer::spawn(vec![Step::Hang]);
    within(
        Duration::from_secs(4),
        ftp(peer.port).args(["-t", "2:unknown"]),
    )
    .code(3)
    .stdout(predicate::str::starts_with("FTP UNKNOWN - timed out"));
}

#[test]
fn silent_after_auth_tls_reply_or_login() {
    let peer = Peer::spawn(vec![send(GREETING), Step::Recv, Step::Hang]);
    within(
        Duration::from_secs(4),
        ftp(peer.port).args(["--starttls", "-t", "2"]),
    )
    .code(2)
    .stdout("FTP CRITICAL - timed out after 2 seconds waiting for the reply to AUTH TLS\n");
    let peer = Peer::spawn(vec![send(GREETING), Step::Recv, Step::Hang]);
    within(
        Duration::from_secs(4),
        ftp(peer.port).args(["-U", "anonymous", "-t", "2"]),
    )
    .code(2)
    .stdout("FTP CRITICAL - timed out after 2 seconds waiting for the reply to USER\n");
}

#[test]
fn garbage_greeting_is_critical_and_printable() {
    let peer = Peer::spawn(vec![
        Step::Send(b"\x00\x01\xfe\xffjunk\r\n".to_vec()),
        Step::Hang,
    ]);
    within(Duration::from_secs(4), ftp(peer.port).args(["-t", "3"]))
        .code(2)
        .stdout(predicate::str::starts_with(
            "FTP CRITICAL - invalid response from server: \\x00\\x01",
        ))
        .stdout(predicate::str::ends_with(
            "junk while waiting for the greeting\n",
        ));
    // An SSH server on the FTP port.
    let peer = Peer::spawn(vec![send("SSH-2.0-OpenSSH_9.2p1\r\n"), Step::Hang]);
    ftp(peer.port).assert().code(2).stdout(
        "FTP CRITICAL - invalid response from server: SSH-2.0-OpenSSH_9.2p1 while waiting for the greeting\n",
    );
}

#[test]
fn close_mid_reply() {
    let peer = Peer::spawn(vec![send("220-Welcome\r\n"), Step::Close]);
    ftp(peer.port)
        .assert()
        .code(2)
        .stdout("FTP CRITICAL - connection closed by the server while waiting for the greeting\n");
    let peer = Peer::spawn(vec![send("220 rsplugins FT"), Step::Close]);
    ftp(peer.port).assert().code(2).stdout(
        "FTP CRITICAL - connection closed by the server after '220 rsplugins FT' while waiting for the greeting\n",
    );
    let peer = Peer::spawn(vec![send(GREETING), Step::Recv, Step::Close]);
    ftp(peer.port)
        .args(["-U", "anonymous"])
        .assert()
        .code(2)
        .stdout(
            "FTP CRITICAL - connection closed by the server while waiting for the reply to USER\n",
        );
}

#[test]
fn unavailable_delayed_and_odd_greetings() {
    let peer = Peer::spawn(vec![
        send("421 Too many users, try later.\r\n"),
        Step::Close,
    ]);
    ftp(peer.port)
        .assert()
        .code(2)
        .stdout(predicate::str::is_match(
            r"^FTP CRITICAL - service not available: 421 Too many users, try later\., 0\.\d{3} s \| time=",
        )
        .unwrap());
    let peer = Peer::spawn(vec![send("500 go away\r\n"), Step::Close]);
    ftp(peer.port)
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "FTP CRITICAL - service not available: 500 go away, 0.",
        ));
    let peer = Peer::spawn(vec![
        send("120 Service ready in 5 minutes.\r\n"),
        Step::Hang,
    ]);
    ftp(peer.port)
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "FTP WARNING - service not ready yet: 120 Service ready in 5 minutes., 0.",
        ));
    let peer = Peer::spawn(vec![send("230 already in\r\n"), Step::Hang]);
    ftp(peer.port)
        .args(["-M", "crit"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "FTP CRITICAL - not an FTP greeting: 230 already in, 0.",
        ));
    let peer = Peer::spawn(vec![send("421 busy\r\n"), Step::Close]);
    ftp(peer.port)
        .args(["-j"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "FTP CRITICAL - service not available: greeting 421, 0.",
        ));
}

#[test]
fn auth_tls_refused() {
    for reply in [
        "500 AUTH not understood",
        "502 Command not implemented",
        "534 Request denied for policy reasons",
    ] {
        let peer = Peer::spawn(vec![
            send(GREETING),
            Step::Recv,
            send(&format!("{reply}\r\n")),
            Step::Hang,
        ]);
        ftp(peer.port)
            .args(["--starttls"])
            .assert()
            .code(2)
            .stdout(predicate::str::starts_with(format!(
                "FTP CRITICAL - AUTH TLS refused: {reply}, 220 rsplugins FTP ready, 0."
            )));
        assert_eq!(peer.finish(), vec!["AUTH TLS"]);
    }
}

#[test]
fn tls_handshake_failure() {
    // 234, then clear text instead of a handshake.
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("234 Proceed with negotiation.\r\n"),
        Step::Sleep(Duration::from_millis(200)),
        send("this is not TLS at all\r\n"),
        Step::Hang,
    ]);
    within(
        Duration::from_secs(5),
        ftp(peer.port).args(["--starttls", "-t", "3"]),
    )
    .code(2)
    .stdout(predicate::str::starts_with("FTP CRITICAL - TLS failed: "));
    // 234 and injected commands in the same packet: refused before TLS.
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("234 Proceed with negotiation.\r\n230 injected\r\n"),
        Step::Hang,
    ]);
    ftp(peer.port)
        .args(["--starttls"])
        .assert()
        .code(2)
        .stdout("FTP CRITICAL - server sent data before the TLS handshake (possible injection)\n");
    // Implicit TLS against a clear-text server.
    let peer = Peer::spawn(vec![send(GREETING), Step::Hang]);
    within(
        Duration::from_secs(5),
        ftp(peer.port).args(["-S", "-t", "3"]),
    )
    .code(2)
    .stdout(predicate::str::starts_with("FTP CRITICAL - TLS failed: "));
}

#[test]
fn expired_certificate_with_days_is_critical() {
    let pki = TestPki::new();
    let leaf = pki.leaf(&["localhost", "127.0.0.1"], -3);
    let peer = Peer::spawn_tls(
        &leaf,
        false,
        auth_tls_then(vec![
            Step::RecvUntil("QUIT".into()),
            send("221 Goodbye.\r\n"),
        ]),
    );
    ftp(peer.port)
        .args(["--starttls", "-D", "30,14"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "FTP CRITICAL - cert localhost expired 3 days ago (",
        ))
        .stdout(predicate::str::contains(
            "), 220 rsplugins FTP ready, AUTH TLS TLSv1.3, 0.",
        ));
    // With credentials the chain is verified, so the handshake itself fails.
    let ca = pki.ca_file();
    let peer = Peer::spawn_tls(&leaf, false, auth_tls_then(vec![Step::Hang]));
    ftp(peer.port)
        .args([
            "--starttls",
            "-U",
            "ftpmon",
            "-P",
            "pw-expired-1",
            "--ca-file",
            &ca.path(),
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "FTP CRITICAL - TLS failed: certificate not trusted: expired (notAfter ",
        ));
}

#[test]
fn refused_port_and_refuse_state() {
    let port = closed_port();
    ftp(port).assert().code(2).stdout(format!(
        "FTP CRITICAL - connect to 127.0.0.1 port {port}: Connection refused\n"
    ));
    ftp(port).args(["-r", "ok"]).assert().code(0);
    ftp(port).args(["-r", "warn"]).assert().code(1);
}

#[test]
fn expect_strings_and_mismatch_state() {
    let peer = Peer::spawn(greet_and_quit(GREETING));
    ftp(peer.port)
        .args(["-e", "vsFTPd"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "FTP WARNING - Unexpected response from host/socket: 220 rsplugins FTP ready, 0.",
        ));
    let peer = Peer::spawn(greet_and_quit(GREETING));
    ftp(peer.port)
        .args(["-e", "vsFTPd", "-M", "crit", "-j"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "FTP CRITICAL - Unexpected response from host/socket, 0.",
        ));
    let peer = Peer::spawn(greet_and_quit(GREETING));
    ftp(peer.port)
        .args(["-e", "220", "-e", "rsplugins", "-A"])
        .assert()
        .code(0);
}

#[test]
fn send_string_reply_is_shown_and_matched() {
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("215 UNIX Type: L8\r\n"),
        Step::RecvUntil("QUIT".into()),
        send("221 Goodbye.\r\n"),
    ]);
    ftp(peer.port)
        .args(["-s", "SYST", "-e", "UNIX"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::is_match(
                r"^FTP OK - 220 rsplugins FTP ready, 0\.\d{3} s, reply 215 UNIX Type: L8 \| time=",
            )
            .unwrap(),
        );
    assert_eq!(peer.finish(), vec!["SYST", "QUIT"]);
}

#[test]
fn quit_answered_wrongly_is_a_warning() {
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("500 Unknown command.\r\n"),
    ]);
    ftp(peer.port)
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "FTP WARNING - QUIT rejected: 500 Unknown command., 220 rsplugins FTP ready, 0.",
        ));
    // Closing instead of answering is fine.
    let peer = Peer::spawn(vec![send(GREETING), Step::Recv, Step::Close]);
    ftp(peer.port).assert().code(0);
}

#[test]
fn response_time_thresholds() {
    let peer = Peer::spawn(vec![
        Step::Sleep(Duration::from_millis(600)),
        send(GREETING),
        Step::RecvUntil("QUIT".into()),
        send("221 Goodbye.\r\n"),
    ]);
    ftp(peer.port)
        .args(["-w", "0.2", "-c", "5"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(" | time=0.").and(predicate::str::contains("s;0.2;5;0 ")));
}

#[test]
fn bad_options_exit_3() {
    plugin("check_ftp_rs").assert().code(3);
    plugin("check_ftp_rs")
        .args(["-H", "x", "-p", "99999"])
        .assert()
        .code(3);
    plugin("check_ftp_rs")
        .args(["-H", "x", "-S", "--starttls"])
        .assert()
        .code(3);
    plugin("check_ftp_rs")
        .args(["-H", "x", "-D", "14,30"])
        .assert()
        .code(3);
    plugin("check_ftp_rs")
        .args(["-H", "x", "-P", "pw-no-user"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("pw-no-user").not());
}

// ---- the real vsftpd of tests/testbed ----

const C_CHECK_FTP: &str = "/usr/lib/nagios/plugins/check_ftp";

fn vsftpd(extra: &[&str]) -> assert_cmd::Command {
    let port = testbed_env("RSPLUGINS_TESTBED_FTP_PORT").unwrap_or_else(|| "21".into());
    let mut cmd = plugin("check_ftp_rs");
    cmd.args(["-H", "127.0.0.1", "-p", &port]).args(extra);
    cmd
}

fn ftp_user() -> (String, String) {
    (
        testbed_env("RSPLUGINS_TESTBED_FTP_USER").unwrap_or_else(|| "ftpmon".into()),
        testbed_env("RSPLUGINS_TESTBED_FTP_PASS").unwrap_or_else(|| "ftppass".into()),
    )
}

#[test]
fn testbed_vsftpd_plain_and_anonymous() {
    if !testbed() {
        return;
    }
    vsftpd(&[])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "FTP OK - 220 rsplugins FTP ready, 0.",
        ));
    vsftpd(&["-U", "anonymous"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            " s, logged in as anonymous | time=",
        ));
    // vsftpd answers SYST only after a login.
    vsftpd(&["-U", "anonymous", "-s", "SYST", "-e", "UNIX"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("reply 215 UNIX"));
}

#[test]
fn testbed_vsftpd_auth_tls_and_logins() {
    if !testbed() {
        return;
    }
    let ca = testbed_ca();
    let (user, pass) = ftp_user();
    vsftpd(&["--starttls", "--ca-file", &ca])
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(
            r"^FTP OK - 220 rsplugins FTP ready, AUTH TLS TLSv1\.[23], cert localhost \d+ days left, 0\.\d{3} s \| ",
        )
        .unwrap());
    let assert = vsftpd(&["--starttls", "--ca-file", &ca, "-U", &user, "-P", &pass])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            " s, logged in as {user} | time="
        )));
    assert!(!stdout_of(&assert).contains(&pass));
    let assert = vsftpd(&[
        "--starttls",
        "--ca-file",
        &ca,
        "-U",
        &user,
        "-P",
        "definitely-wrong-pw",
    ])
    .assert()
    .code(2)
    .stdout(predicate::str::starts_with(
        "FTP CRITICAL - login failed: 530 ",
    ));
    assert!(!stdout_of(&assert).contains("definitely-wrong-pw"));
    // Without the test CA the credentials' verification fails.
    vsftpd(&["--starttls", "-U", &user, "-P", &pass])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("certificate not trusted"));
    // Anonymous over AUTH TLS.
    vsftpd(&["--starttls", "-U", "anonymous"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("logged in as anonymous"));
}

#[test]
fn testbed_vsftpd_certificate_days() {
    if !testbed() {
        return;
    }
    vsftpd(&["-D", "30,14"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("AUTH TLS TLSv1."));
    vsftpd(&["-D", "400,380"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("cert localhost "));
    vsftpd(&["-D", "400"]).assert().code(1);
}

#[test]
fn testbed_vsftpd_implicit_ftps() {
    if !testbed() {
        return;
    }
    let port = testbed_env("RSPLUGINS_TESTBED_FTPS_IMPLICIT_PORT");
    if !available("the testbed's implicit FTPS port", port.is_some()) {
        return;
    }
    let port = port.unwrap_or_default();
    let ca = testbed_ca();
    let (user, pass) = ftp_user();
    plugin("check_ftp_rs")
        .args(["-H", "127.0.0.1", "-p", &port, "-S", "--ca-file", &ca])
        .args(["-U", &user, "-P", &pass, "-D", "30,14"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(
            r"^FTP OK - 220 rsplugins FTP ready, TLSv1\.[23], cert localhost \d+ days left, 0\.\d{3} s, logged in as ",
        )
        .unwrap());
}

#[test]
fn refused_port() {
    let port = closed_port();
    ftp(port)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Connection refused"));
}

/// Exit codes of both plugins on the cases where they mean the same thing.
#[test]
fn testbed_same_exit_codes_as_c_check_ftp() {
    if !testbed() {
        return;
    }
    if !available(C_CHECK_FTP, std::path::Path::new(C_CHECK_FTP).exists()) {
        return;
    }
    let port = testbed_env("RSPLUGINS_TESTBED_FTP_PORT").unwrap_or_else(|| "21".into());
    let closed = closed_port().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["-H", "127.0.0.1", "-p", &port],
        vec!["-H", "127.0.0.1", "-p", &port, "-e", "rsplugins FTP"],
        vec!["-H", "127.0.0.1", "-p", &port, "-e", "NOPE"],
        vec!["-H", "127.0.0.1", "-p", &port, "-e", "NOPE", "-M", "crit"],
        vec!["-H", "127.0.0.1", "-p", &port, "-w", "0.000001", "-c", "5"],
        vec!["-H", "127.0.0.1", "-p", &closed],
        vec!["-H", "127.0.0.1", "-p", &closed, "-r", "ok"],
    ];
    for case in cases {
        let ours = plugin("check_ftp_rs")
            .args(&case)
            .output()
            .unwrap()
            .status
            .code();
        let c = std::process::Command::new(C_CHECK_FTP)
            .args(&case)
            .output()
            .unwrap()
            .status
            .code();
        assert_eq!(ours, c, "exit codes differ for {case:?}");
    }
}

#[test]
fn the_users_quit_string_is_sent_not_awaited() {
    // The ITL's ftp_escape_send + ftp_quit: "QUIT" without a line end, which
    // no server answers. C sends it and ends OK at once.
    let peer = Peer::spawn(vec![
        send(GREETING),
        Step::Recv,
        send("215 UNIX Type: L8\r\n"),
        Step::Hang,
    ]);
    within(
        Duration::from_secs(3),
        ftp(peer.port).args(["-E", "-s", "SYST\\r\\n", "-q", "QUIT", "-t", "8"]),
    )
    .code(0)
    .stdout(
        predicate::str::is_match(
            r"^FTP OK - 220 rsplugins FTP ready, 0\.\d{3} s, reply 215 UNIX Type: L8 \| time=",
        )
        .unwrap(),
    );
}

#[test]
fn an_unanswered_quit_takes_the_timeout_state() {
    let peer = Peer::spawn(vec![send(GREETING), Step::Hang]);
    within(
        Duration::from_secs(5),
        ftp(peer.port).args(["-t", "2:UNKNOWN"]),
    )
    .code(3)
    .stdout(predicate::str::contains(
        "timed out after 2 seconds waiting for the reply to QUIT",
    ));
}
