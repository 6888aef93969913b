//! One failure policy for every network plugin, proven as one table: the
//! same event gives the same state and the same wording in all six
//! (README.md, "Conventions": the failure policy).

use std::time::Duration;

use rsplugins_tests::peer::{closed_port, send, Peer, Step};
use rsplugins_tests::pki::TestPki;
use rsplugins_tests::{plugin, within};

type Row = (
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
    &'static [&'static str],
);

/// (binary, service, extra arguments so the plugin reads what the peer sends,
/// option for implicit TLS when the plugin speaks TLS, a good dialogue: the
/// greeting, then one answer per line received)
const PLUGINS: &[Row] = &[
    ("check_tcp_rs", "TCP", &["-e", "x"], Some("-S"), &["x\r\n"]),
    (
        "check_smtp_rs",
        "SMTP",
        &[],
        Some("--ssl"),
        &["220 mx ESMTP\r\n", "250 mx\r\n", "221 bye\r\n"],
    ),
    (
        "check_pop3_rs",
        "POP3",
        &[],
        Some("-S"),
        &["+OK ready\r\n", "+OK bye\r\n"],
    ),
    (
        "check_imap_rs",
        "IMAP",
        &[],
        Some("-S"),
        &[
            "* OK ready\r\n",
            "* CAPABILITY IMAP4rev1\r\na1 OK done\r\n",
            "* BYE bye\r\na2 OK done\r\n",
        ],
    ),
    (
        "check_ftp_rs",
        "FTP",
        &[],
        Some("-S"),
        &["220 ready\r\n", "221 bye\r\n"],
    ),
    (
        "check_ssh_rs",
        "SSH",
        &[],
        None,
        &["SSH-2.0-OpenSSH_9.2p1\r\n"],
    ),
];

/// The steps of a good dialogue.
fn dialogue(lines: &[&str]) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            steps.push(Step::Recv);
        }
        steps.push(send(line));
    }
    steps
}

/// What each plugin awaits first, as its messages name it.
fn awaited(name: &str) -> &'static str {
    match name {
        "check_ssh_rs" => "the SSH identification",
        "check_tcp_rs" => "the response",
        _ => "the greeting",
    }
}

/// Runs `name` and returns (exit code, first line).
fn first_line(name: &str, args: &[&str]) -> (i32, String) {
    let out = within(Duration::from_secs(8), plugin(name).args(args))
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text.lines().next().unwrap_or("").to_string(),
    )
}

#[test]
fn no_address_of_the_family_asked_for_is_unknown() {
    for (name, service, extra, _, _) in PLUGINS {
        let mut args = vec!["-H", "::1", "-4", "-p", "1"];
        args.extend_from_slice(extra);
        assert_eq!(
            first_line(name, &args),
            (3, format!("{service} UNKNOWN - ::1 has no IPv4 address")),
            "{name}"
        );
    }
}

#[test]
fn a_refused_connection_is_critical() {
    for (name, service, extra, _, _) in PLUGINS {
        let port = closed_port().to_string();
        let mut args = vec!["-H", "127.0.0.1", "-p", &port];
        args.extend_from_slice(extra);
        assert_eq!(
            first_line(name, &args),
            (
                2,
                format!(
                    "{service} CRITICAL - connect to 127.0.0.1 port {port}: Connection refused"
                )
            ),
            "{name}"
        );
    }
}

#[test]
fn a_silent_server_ends_in_the_timeout_state_naming_what_was_awaited() {
    for (name, service, extra, _, _) in PLUGINS {
        let peer = Peer::spawn(vec![Step::Hang]);
        let port = peer.port.to_string();
        let mut args = vec!["-H", "127.0.0.1", "-p", &port, "-t", "1:UNKNOWN"];
        args.extend_from_slice(extra);
        assert_eq!(
            first_line(name, &args),
            (
                3,
                format!(
                    "{service} UNKNOWN - timed out after 1 seconds waiting for {}",
                    awaited(name)
                )
            ),
            "{name}"
        );
    }
}

#[test]
fn a_close_before_any_data_is_critical_and_says_what_was_awaited() {
    for (name, service, extra, _, _) in PLUGINS {
        let peer = Peer::spawn(vec![Step::Close]);
        let port = peer.port.to_string();
        let mut args = vec!["-H", "127.0.0.1", "-p", &port];
        args.extend_from_slice(extra);
        let (code, line) = first_line(name, &args);
        assert_eq!(code, 2, "{name}: {line}");
        if *name == "check_tcp_rs" {
            // C's words for check_tcp's one case; its perfdata follows.
            assert!(
                line.starts_with("TCP CRITICAL - No data received from host | "),
                "{line}"
            );
            continue;
        }
        assert_eq!(
            line,
            format!(
                "{service} CRITICAL - connection closed by the server while waiting for {}",
                awaited(name)
            ),
            "{name}"
        );
    }
}

#[test]
fn an_expired_certificate_is_critical_even_without_days() {
    let pki = TestPki::new();
    let leaf = pki.leaf(&["localhost", "127.0.0.1"], -10);
    for (name, service, extra, tls, greeting) in PLUGINS {
        let Some(tls) = tls else { continue };
        let peer = Peer::spawn_tls(&leaf, true, dialogue(greeting));
        let port = peer.port.to_string();
        let mut args = vec!["-H", "127.0.0.1", "-p", &port, tls, "-t", "2"];
        args.extend_from_slice(extra);
        let (code, line) = first_line(name, &args);
        assert_eq!(code, 2, "{name}: {line}");
        assert!(
            line.starts_with(&format!("{service} CRITICAL - ")),
            "{name}: {line}"
        );
        assert!(line.contains("expired 10 days ago"), "{name}: {line}");
    }
}

#[test]
fn an_endless_line_is_bounded_and_critical() {
    for (name, service, extra, _, _) in PLUGINS {
        // check_tcp_rs reads bytes, not lines: -m bounds it instead.
        if *name == "check_tcp_rs" {
            continue;
        }
        let peer = Peer::spawn(vec![Step::Send(vec![b'x'; 1 << 20]), Step::Hang]);
        let port = peer.port.to_string();
        let mut args = vec!["-H", "127.0.0.1", "-p", &port, "-t", "4"];
        args.extend_from_slice(extra);
        let (code, line) = first_line(name, &args);
        let pattern = format!(
            r"^{service} CRITICAL - server sent a line longer than \d+ bytes while waiting for {}$",
            awaited(name)
        );
        assert_eq!(code, 2, "{name}: {line}");
        assert!(regex_like(&pattern, &line), "{name}: {line}");
    }
}

/// `pattern` (a regex) matches `text`.
fn regex_like(pattern: &str, text: &str) -> bool {
    use predicates::prelude::*;
    predicate::str::is_match(pattern).is_ok_and(|p| p.eval(text))
}

#[test]
fn a_slow_drip_ends_in_the_timeout_state() {
    for (name, service, extra, _, _) in PLUGINS {
        let peer = Peer::spawn(vec![Step::Drip(
            b"220 slow".to_vec(),
            Duration::from_millis(400),
        )]);
        let port = peer.port.to_string();
        let mut args = vec!["-H", "127.0.0.1", "-p", &port, "-t", "1:UNKNOWN"];
        args.extend_from_slice(extra);
        assert_eq!(
            first_line(name, &args),
            (
                3,
                format!(
                    "{service} UNKNOWN - timed out after 1 seconds waiting for {}",
                    awaited(name)
                )
            ),
            "{name}"
        );
    }
}

#[test]
fn a_close_in_the_middle_of_a_line_shows_what_arrived_and_what_was_awaited() {
    for (name, service, extra, _, greeting) in PLUGINS {
        // check_tcp_rs reads bytes, not lines: what arrived is its answer.
        if *name == "check_tcp_rs" {
            continue;
        }
        let partial = &greeting[0][..greeting[0].len() / 2];
        let peer = Peer::spawn(vec![send(partial), Step::Close]);
        let port = peer.port.to_string();
        let mut args = vec!["-H", "127.0.0.1", "-p", &port, "-t", "4"];
        args.extend_from_slice(extra);
        let (code, line) = first_line(name, &args);
        assert_eq!(code, 2, "{name}: {line}");
        assert_eq!(
            line,
            format!(
                "{service} CRITICAL - connection closed by the server after '{partial}' \
                 while waiting for {}",
                awaited(name)
            ),
            "{name}"
        );
    }
}

#[test]
fn garbage_instead_of_a_greeting_is_critical_and_shown_escaped() {
    for (name, service, extra, _, _) in PLUGINS {
        // check_tcp_rs has no greeting: any bytes are an answer to match.
        if *name == "check_tcp_rs" {
            continue;
        }
        let peer = Peer::spawn(vec![send("\x01\x02 hello\r\n"), Step::Hang]);
        let port = peer.port.to_string();
        let mut args = vec!["-H", "127.0.0.1", "-p", &port, "-t", "4"];
        args.extend_from_slice(extra);
        let (code, line) = first_line(name, &args);
        assert_eq!(code, 2, "{name}: {line}");
        assert!(
            line.starts_with(&format!("{service} CRITICAL - ")),
            "{name}: {line}"
        );
        assert!(line.contains(r"\x01\x02 hello"), "{name}: {line}");
    }
}

#[test]
fn a_refused_tls_upgrade_is_critical_and_names_the_command() {
    // (binary, service, the dialogue up to the refusal, then the goodbye
    // answered, the first words expected)
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "check_smtp_rs",
            "SMTP",
            &[
                "220 mx ESMTP\r\n",
                "250-mx\r\n250 STARTTLS\r\n",
                "454 4.7.0 TLS not available\r\n",
                "221 bye\r\n",
            ],
            "STARTTLS refused: 454 4.7.0 TLS not available",
        ),
        (
            "check_pop3_rs",
            "POP3",
            &["+OK ready\r\n", "-ERR not now\r\n", "+OK bye\r\n"],
            "STLS refused: -ERR not now",
        ),
        (
            "check_imap_rs",
            "IMAP",
            &[
                "* OK ready\r\n",
                "* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n",
                "a2 NO not now\r\n",
                "* BYE bye\r\na3 OK done\r\n",
            ],
            "STARTTLS refused: a2 NO not now",
        ),
        (
            "check_ftp_rs",
            "FTP",
            &["220 ready\r\n", "534 not now\r\n", "221 bye\r\n"],
            "AUTH TLS refused: 534 not now",
        ),
    ];
    for (name, service, lines, expected) in cases {
        let peer = Peer::spawn(dialogue(lines));
        let port = peer.port.to_string();
        let args = ["-H", "127.0.0.1", "-p", &port, "--starttls", "-t", "4"];
        let (code, line) = first_line(name, &args);
        assert_eq!(code, 2, "{name}: {line}");
        assert!(
            line.starts_with(&format!("{service} CRITICAL - {expected}")),
            "{name}: {line}"
        );
    }
}
