//! check_ssh_rs against scripted peers (normal and hostile) and, when the
//! testbed is up, against sshd, side by side with C check_ssh.

use std::time::Duration;

use predicates::prelude::*;
use rsplugins_tests::peer::{closed_port, send, Peer, Step};
use rsplugins_tests::{available, plugin, plugin_on, testbed, testbed_env, testbed_ipv6, within};

const OPENSSH: &str = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n";

fn ssh(port: u16) -> assert_cmd::Command {
    plugin_on("check_ssh_rs", port)
}

/// The identification, then read the client's.
fn identify(line: &str) -> Vec<Step> {
    vec![send(line), Step::Recv]
}

#[test]
fn identification_in_c_form_and_ours_sent_back() {
    let peer = Peer::spawn(identify(OPENSSH));
    ssh(peer.port).assert().code(0).stdout(
        predicate::str::is_match(
            r"^SSH OK - OpenSSH_9\.2p1 Debian-2\+deb12u10 \(protocol 2\.0\) \| time=[0-9.]+s;;;0;10\n$",
        )
        .unwrap(),
    );
    let sent = peer.finish();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].starts_with("SSH-2.0-check_ssh_rs_"),
        "sent {sent:?}"
    );
}

#[test]
fn lines_before_the_identification_are_allowed() {
    let peer = Peer::spawn(identify(
        "Authorised users only\r\nAll connections are logged\r\nSSH-2.0-dropbear_2022.83\r\n",
    ));
    ssh(peer.port)
        .args(["-v"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "SSH OK - dropbear_2022.83 (protocol 2.0) | time=",
        ))
        // -v: the dialogue, our identification last.
        .stdout(predicate::str::contains(
            "\n< Authorised users only\n< All connections are logged\n< SSH-2.0-dropbear_2022.83\n> SSH-2.0-check_ssh_rs_",
        ));
}

#[test]
fn remote_version_as_c_compares_it() {
    for (expected, code) in [
        ("OpenSSH_9.2p1 Debian-2+deb12u10", 0),
        ("OpenSSH_9.2p1", 0),
        ("OpenSSH_8.4p1", 2),
        ("OpenSSH_9.2p1 Debian-2+deb12u9", 2),
    ] {
        let peer = Peer::spawn(identify(OPENSSH));
        let assert = ssh(peer.port).args(["-r", expected]).assert().code(code);
        if code == 2 {
            assert.stdout(predicate::str::starts_with(format!(
                "SSH CRITICAL - OpenSSH_9.2p1 Debian-2+deb12u10 (protocol 2.0) version mismatch, expected '{expected}' | time="
            )));
        }
    }
}

#[test]
fn remote_protocol() {
    let peer = Peer::spawn(identify(OPENSSH));
    ssh(peer.port).args(["-P", "2.0"]).assert().code(0);
    let peer = Peer::spawn(identify(OPENSSH));
    ssh(peer.port)
        .args(["-P", "1.99"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "SSH CRITICAL - OpenSSH_9.2p1 Debian-2+deb12u10 (protocol 2.0) protocol version mismatch, expected '1.99' | ",
        ));
}

#[test]
fn ssh1_only_is_critical_and_1_99_is_fine() {
    let peer = Peer::spawn(identify("SSH-1.5-OldServer_1.2\r\n"));
    ssh(peer.port)
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "SSH CRITICAL - OldServer_1.2 (protocol 1.5): the server does not speak SSH-2 (protocol 2.0) | ",
        ));
    let peer = Peer::spawn(identify("SSH-1.99-Cisco-1.25\r\n"));
    ssh(peer.port)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "SSH OK - Cisco-1.25 (protocol 1.99) | ",
        ));
}

#[test]
fn silent_server_ends_in_the_timeout_state_in_time() {
    let peer = Peer::spawn(vec![Step::Hang]);
    within(Duration::from_secs(4), ssh(peer.port).args(["-t", "2"]))
        .code(2)
        .stdout("SSH CRITICAL - timed out after 2 seconds waiting for the SSH identification\n");
    let peer = Peer::spawn(vec![Step::Hang]);
    within(
        Duration::from_secs(4),
        ssh(peer.port).args(["-t", "2:unknown"]),
    )
    .code(3);
}

#[test]
fn garbage_and_other_services_are_critical_at_once() {
    let peer = Peer::spawn(vec![
        Step::Send(b"\x00\x01\xfe\xffjunk\r\n".to_vec()),
        Step::Hang,
    ]);
    within(Duration::from_secs(4), &mut ssh(peer.port))
        .code(2)
        .stdout(predicate::str::starts_with(
            "SSH CRITICAL - not an SSH identification: \\x00\\x01",
        ));
    // A mail server on the SSH port: reported without waiting for -t.
    let peer = Peer::spawn(vec![send("220 mail ESMTP Postfix\r\n"), Step::Hang]);
    within(Duration::from_secs(4), &mut ssh(peer.port))
        .code(2)
        .stdout("SSH CRITICAL - not an SSH identification: 220 mail ESMTP Postfix\n");
    // An endless stream of lines.
    let peer = Peer::spawn(vec![Step::Send(b"noise\r\n".repeat(100)), Step::Hang]);
    within(Duration::from_secs(4), &mut ssh(peer.port))
        .code(2)
        .stdout("SSH CRITICAL - SSH identification: none in the first 20 lines (first: 'noise')\n");
}

#[test]
fn invalid_identification() {
    let peer = Peer::spawn(identify("SSH-2.0-\r\n"));
    ssh(peer.port)
        .assert()
        .code(2)
        .stdout("SSH CRITICAL - SSH identification: no valid software version in 'SSH-2.0-'\n");
}

#[test]
fn a_server_leaving_after_its_identification_is_still_ok() {
    let peer = Peer::spawn(vec![send(OPENSSH), Step::Close]);
    ssh(peer.port).assert().code(0);
}

#[test]
fn response_time_thresholds() {
    let peer = Peer::spawn(vec![
        Step::Sleep(Duration::from_millis(600)),
        send(OPENSSH),
        Step::Recv,
    ]);
    ssh(peer.port)
        .args(["-w", "0.2", "-c", "5", "-t", "8"])
        .assert()
        .code(1)
        // The slow time first, then C's line.
        .stdout(
            predicate::str::is_match(
                r"^SSH WARNING - 0\.\d{3} s response time, OpenSSH_9\.2p1 Debian-2\+deb12u10 \(protocol 2\.0\) \| time=0\.\d+s;0\.2;5;0;8\n$",
            )
            .unwrap(),
        );
}

#[test]
fn host_and_port_after_the_options_as_in_c() {
    let peer = Peer::spawn(identify(OPENSSH));
    plugin("check_ssh_rs")
        .args(["-t", "5", "127.0.0.1", &peer.port.to_string()])
        .assert()
        .code(0);
}

#[test]
fn bad_options_exit_3() {
    plugin("check_ssh_rs").assert().code(3);
    plugin("check_ssh_rs")
        .args(["-H", "x", "-p", "99999"])
        .assert()
        .code(3);
    plugin("check_ssh_rs")
        .args(["-H", "x", "-4", "-6"])
        .assert()
        .code(3);
    plugin("check_ssh_rs")
        .args(["127.0.0.1", "not-a-port"])
        .assert()
        .code(3);
}

// ---- the real sshd of tests/testbed ----

const C_CHECK_SSH: &str = "/usr/lib/nagios/plugins/check_ssh";

fn sshd_port() -> String {
    testbed_env("RSPLUGINS_TESTBED_SSH_PORT").unwrap_or_else(|| "22".into())
}

/// What the server shows: `OpenSSH_9.2p1 Debian-2+deb12u10`.
fn sshd_version() -> String {
    let out = plugin("check_ssh_rs")
        .args(["-H", "127.0.0.1", "-p", &sshd_port()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rest = text
        .strip_prefix("SSH OK - ")
        .unwrap_or_else(|| panic!("sshd not OK: {text}"));
    rest.split(" (protocol ").next().unwrap().to_string()
}

#[test]
fn testbed_sshd_ipv4_and_ipv6() {
    if !testbed() {
        return;
    }
    let port = sshd_port();
    plugin("check_ssh_rs")
        .args(["-H", "127.0.0.1", "-p", &port])
        .assert()
        .code(0)
        .stdout(
            predicate::str::is_match(r"^SSH OK - OpenSSH_\S+.* \(protocol 2\.0\) \| time=")
                .unwrap(),
        );
    if !testbed_ipv6() {
        return;
    }
    plugin("check_ssh_rs")
        .args(["-H", "::1", "-p", &port, "-6"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("SSH OK - OpenSSH_"));
}

#[test]
fn testbed_sshd_remote_version_and_protocol() {
    if !testbed() {
        return;
    }
    let port = sshd_port();
    let version = sshd_version();
    let software = version.split(' ').next().unwrap().to_string();
    for (r, code) in [
        (version.as_str(), 0),
        (software.as_str(), 0),
        ("OpenSSH_1.0p1", 2),
    ] {
        plugin("check_ssh_rs")
            .args(["-H", "127.0.0.1", "-p", &port, "-r", r])
            .assert()
            .code(code);
    }
    plugin("check_ssh_rs")
        .args(["-H", "127.0.0.1", "-p", &port, "-P", "2.0"])
        .assert()
        .code(0);
    plugin("check_ssh_rs")
        .args(["-H", "127.0.0.1", "-p", &port, "-P", "1.99"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "protocol version mismatch, expected '1.99'",
        ));
}

/// Exit codes of both plugins against sshd, where they mean the same thing.
#[test]
fn testbed_same_exit_codes_as_c_check_ssh() {
    if !testbed() {
        return;
    }
    if !available(C_CHECK_SSH, std::path::Path::new(C_CHECK_SSH).exists()) {
        return;
    }
    let port = sshd_port();
    let version = sshd_version();
    let closed = closed_port().to_string();
    let mut cases: Vec<Vec<&str>> = vec![
        vec!["-H", "127.0.0.1", "-p", &port],
        vec!["-H", "127.0.0.1", "-p", &port, "-r", &version],
        vec!["-H", "127.0.0.1", "-p", &port, "-r", "OpenSSH_1.0p1"],
        vec!["-H", "127.0.0.1", "-p", &port, "-P", "2.0"],
        vec!["-H", "127.0.0.1", "-p", &port, "-P", "1.99"],
        vec!["-H", "127.0.0.1", "-p", &closed],
        vec!["-H", "127.0.0.1", "-p", &port, "-4"],
    ];
    if testbed_ipv6() {
        cases.push(vec!["-H", "::1", "-p", &port, "-6"]);
    }
    for case in cases {
        let ours = plugin("check_ssh_rs")
            .args(&case)
            .output()
            .unwrap()
            .status
            .code();
        let c = std::process::Command::new(C_CHECK_SSH)
            .args(&case)
            .output()
            .unwrap()
            .status
            .code();
        assert_eq!(ours, c, "exit codes differ for {case:?}");
    }
}
