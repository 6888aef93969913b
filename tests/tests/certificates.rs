//! Trusting a self-signed certificate (CA:TRUE, as `openssl req -x509` makes
//! it) through `--ca-file` or `--pin`, and refusals in plain words, against
//! check_tcp_rs and check_smtp_rs.

use predicates::prelude::*;
use rsplugins_tests::peer::{send, Peer, Step};
use rsplugins_tests::pki::{SelfSignedCa, TestPki};
use rsplugins_tests::plugin_on;

fn tcp(port: u16) -> assert_cmd::Command {
    plugin_on("check_tcp_rs", port)
}

fn smtp(port: u16) -> assert_cmd::Command {
    let mut cmd = plugin_on("check_smtp_rs", port);
    cmd.args(["-F", "probe.test"]);
    cmd
}

/// The administrator's server: self-signed CA:TRUE for 127.0.0.1.
fn server_cert() -> SelfSignedCa {
    TestPki::self_signed_ca("mail.test", &["mail.test", "127.0.0.1"], 365)
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

const WRONG_PIN: &str = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

#[test]
fn tcp_ca_file_naming_the_server_certificate_trusts_it() {
    let cert = server_cert();
    let file = cert.file();
    let peer = Peer::spawn_tls(&cert.leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--ca-file", &file.path()])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("TCP OK - "));
}

#[test]
fn tcp_ca_file_still_checks_the_name() {
    // As `openssl req -x509 -subj /CN=mail.test` makes it: no subjectAltName.
    let cert = TestPki::self_signed_ca("mail.test", &[], 365);
    let file = cert.file();
    let peer = Peer::spawn_tls(&cert.leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--ca-file", &file.path()])
        .assert()
        .code(2)
        .stdout(
            "TCP CRITICAL - TLS failed: certificate not trusted: for mail.test, not for 127.0.0.1\n",
        );
    // The CN counts when there is no subjectAltName.
    let peer = Peer::spawn_tls(&cert.leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--ca-file", &file.path(), "--sni", "mail.test"])
        .assert()
        .code(0);
}

#[test]
fn tcp_ca_file_still_checks_the_dates() {
    let cert = TestPki::self_signed_ca("mail.test", &["127.0.0.1"], -3);
    let file = cert.file();
    let peer = Peer::spawn_tls(&cert.leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--ca-file", &file.path()])
        .assert()
        .code(2)
        .stdout(predicate::str::is_match(
            r"^TCP CRITICAL - TLS failed: certificate not trusted: expired \(notAfter \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)\n$",
        ).unwrap());
}

#[test]
fn tcp_pin_trusts_exactly_that_certificate() {
    let cert = server_cert();
    let fingerprint = cert.leaf.fingerprint();
    let peer = Peer::spawn_tls(&cert.leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--pin", &fingerprint])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("TCP OK - "));
    // Lower case without colons, next to another pin (rotation).
    let bare = fingerprint.replace(':', "").to_lowercase();
    let peer = Peer::spawn_tls(&cert.leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--pin", WRONG_PIN, "--pin", &bare, "--verify"])
        .assert()
        .code(0);
    // No name check: a certificate for another name is fine when pinned.
    let other = TestPki::self_signed_ca("elsewhere.test", &[], 365);
    let peer = Peer::spawn_tls(&other.leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--pin", &other.leaf.fingerprint()])
        .assert()
        .code(0);
}

#[test]
fn tcp_pin_still_judges_the_dates() {
    let cert = TestPki::self_signed_ca("mail.test", &["127.0.0.1"], -3);
    let peer = Peer::spawn_tls(&cert.leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--pin", &cert.leaf.fingerprint(), "-D", "30,14"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "cert mail.test expired 3 days ago",
        ));
    let soon = TestPki::self_signed_ca("mail.test", &["127.0.0.1"], 10);
    let peer = Peer::spawn_tls(&soon.leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--pin", &soon.leaf.fingerprint(), "-D", "30"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("10 days"));
}

#[test]
fn tcp_wrong_pin_is_critical_naming_the_fingerprint_seen() {
    let cert = server_cert();
    let peer = Peer::spawn_tls(&cert.leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--pin", WRONG_PIN])
        .assert()
        .code(2)
        .stdout(format!(
            "TCP CRITICAL - TLS failed: certificate not trusted: does not match --pin (its SHA-256 fingerprint is {})\n",
            cert.leaf.fingerprint()
        ));
}

#[test]
fn tcp_invalid_pin_is_a_usage_error() {
    for bad in ["abc", &"g".repeat(64), &"ab".repeat(33)] {
        let assert = tcp(1).args(["-S", "--pin", bad]).assert().code(3);
        let out = stdout(&assert);
        assert!(out.starts_with("TCP UNKNOWN - "), "{out}");
        assert!(out.contains("is not a SHA-256 fingerprint"), "{out}");
    }
    // --pin trusts by itself: with --insecure or --ca-file it is ambiguous.
    tcp(1)
        .args(["-S", "--pin", WRONG_PIN, "--insecure"])
        .assert()
        .code(3);
    tcp(1)
        .args(["-S", "--pin", WRONG_PIN, "--ca-file", "/dev/null"])
        .assert()
        .code(3);
}

#[test]
fn tcp_untrusted_self_signed_reads_as_words() {
    let cert = server_cert();
    let other_ca = TestPki::new().ca_file();
    let peer = Peer::spawn_tls(&cert.leaf, true, vec![]);
    tcp(peer.port)
        .args(["-S", "--verify", "--ca-file", &other_ca.path()])
        .assert()
        .code(2)
        .stdout("TCP CRITICAL - TLS failed: certificate not trusted: self-signed and not in --ca-file\n");
    // Against the system's CAs (or none on a bare system: also ours).
    let peer = Peer::spawn_tls(&cert.leaf, true, vec![]);
    let assert = tcp(peer.port).args(["-S", "--verify"]).assert().code(2);
    let out = stdout(&assert);
    assert!(
        out == "TCP CRITICAL - TLS failed: certificate not trusted: self-signed (trust it with --ca-file or --pin)\n"
            || out == "TCP CRITICAL - TLS failed: no trusted CA certificates found on this system (use --ca-file)\n",
        "{out}"
    );
}

#[test]
fn tcp_unknown_ca_and_wrong_name_read_as_words() {
    let pki = TestPki::new();
    // The other CA has the same name: it is found, but its key does not verify.
    let namesake = TestPki::new().ca_file();
    let peer = Peer::spawn_tls(&pki.localhost(), true, vec![]);
    tcp(peer.port)
        .args(["-S", "--ca-file", &namesake.path()])
        .assert()
        .code(2)
        .stdout("TCP CRITICAL - TLS failed: certificate not trusted: unknown issuer 'rsplugins test CA' (the trusted CA of that name did not sign it)\n");
    let unrelated = server_cert().file();
    let peer = Peer::spawn_tls(&pki.localhost(), true, vec![]);
    tcp(peer.port)
        .args(["-S", "--ca-file", &unrelated.path()])
        .assert()
        .code(2)
        .stdout("TCP CRITICAL - TLS failed: certificate not trusted: unknown issuer 'rsplugins test CA' (not in --ca-file)\n");
    let ca = pki.ca_file();
    let peer = Peer::spawn_tls(&pki.leaf(&["mail.example"], 100), true, vec![]);
    tcp(peer.port)
        .args(["-S", "--ca-file", &ca.path()])
        .assert()
        .code(2)
        .stdout("TCP CRITICAL - TLS failed: certificate not trusted: for mail.example, not for 127.0.0.1\n");
}

const EHLO_REPLY: &str = "250-mx.test\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n";

/// STARTTLS, then AUTH LOGIN as the administrator's check does it.
fn starttls_login_script() -> Vec<Step> {
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
        send("334 VXNlcm5hbWU6\r\n"),
        Step::Recv,
        send("334 UGFzc3dvcmQ6\r\n"),
        Step::Recv,
        send("235 2.7.0 Authentication successful\r\n"),
        Step::Recv,
        send("221 bye\r\n"),
    ]
}

const LOGIN: [&str; 7] = ["-S", "-A", "LOGIN", "-U", "monitor", "-P", "pw-cert-1"];

#[test]
fn smtp_ca_file_naming_the_server_certificate_trusts_it() {
    let cert = server_cert();
    let file = cert.file();
    let peer = Peer::spawn_tls(&cert.leaf, false, starttls_login_script());
    smtp(peer.port)
        .args(LOGIN)
        .args(["--ca-file", &file.path()])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "SMTP OK - 220 mx.test ESMTP ready, STARTTLS TLSv1.3, cert mail.test 365 days left, ",
        ))
        .stdout(predicate::str::contains("pw-cert-1").not());
    let sent = peer.finish();
    assert_eq!(sent.get(2).map(String::as_str), Some("EHLO probe.test"));
    assert_eq!(sent.get(3).map(String::as_str), Some("AUTH LOGIN"));
}

#[test]
fn smtp_pin_trusts_exactly_that_certificate() {
    let cert = server_cert();
    let peer = Peer::spawn_tls(&cert.leaf, false, starttls_login_script());
    smtp(peer.port)
        .args(LOGIN)
        .args(["--pin", &cert.leaf.fingerprint()])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "SMTP OK - 220 mx.test ESMTP ready, STARTTLS TLSv1.3, cert mail.test 365 days left, ",
        ));
}

#[test]
fn smtp_wrong_pin_is_critical_and_sends_no_password() {
    let cert = server_cert();
    let peer = Peer::spawn_tls(&cert.leaf, false, starttls_login_script());
    smtp(peer.port)
        .args(LOGIN)
        .args(["--pin", WRONG_PIN])
        .assert()
        .code(2)
        .stdout(format!(
            "SMTP CRITICAL - TLS failed: certificate not trusted: does not match --pin (its SHA-256 fingerprint is {})\n",
            cert.leaf.fingerprint()
        ));
    assert_eq!(peer.finish(), vec!["EHLO probe.test", "STARTTLS"]);
}

#[test]
fn smtp_untrusted_self_signed_reads_as_words() {
    let cert = server_cert();
    let other_ca = TestPki::new().ca_file();
    let peer = Peer::spawn_tls(&cert.leaf, false, starttls_login_script());
    smtp(peer.port)
        .args(LOGIN)
        .args(["--verify", "--ca-file", &other_ca.path()])
        .assert()
        .code(2)
        .stdout("SMTP CRITICAL - TLS failed: certificate not trusted: self-signed and not in --ca-file\n");
    assert_eq!(peer.finish(), vec!["EHLO probe.test", "STARTTLS"]);
}
