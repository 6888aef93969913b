//! `-D` (certificate days) implies TLS in every TLS plugin, as in C: implicit
//! TLS on the protocol's implicit-TLS port, the upgrade command elsewhere.
//! Run against the testbed's postfix (2526/2465 carry a 5-day certificate)
//! and dovecot (a certificate with about a year left).

use predicates::prelude::*;
use rsplugins_tests::{plugin, testbed};

/// (plugin, port, -D, exit code, what the first line must hold)
const CASES: &[(&str, &str, &str, i32, &str)] = &[
    // STARTTLS port with a certificate that ends within days: C says CRITICAL.
    ("check_smtp_rs", "2526", "30,10", 2, ", STARTTLS TLSv1."),
    ("check_smtp_rs", "465", "400", 1, ", TLSv1."),
    ("check_tcp_rs", "2465", "30", 1, ", TLSv1."),
    ("check_pop3_rs", "995", "400", 1, ", TLSv1."),
    ("check_pop3_rs", "110", "400", 1, ", STLS TLSv1."),
    ("check_imap_rs", "993", "400", 1, ", TLSv1."),
    ("check_imap_rs", "143", "400", 1, ", STARTTLS TLSv1."),
    ("check_ftp_rs", "990", "400", 1, ", TLS"),
];

#[test]
fn certificate_days_imply_tls_in_every_plugin() {
    if !testbed() {
        return;
    }
    for (name, port, days, code, holds) in CASES {
        let out = plugin(name)
            .args(["-H", "127.0.0.1", "-p", port, "-D", days, "-t", "5"])
            .assert()
            .code(*code)
            .stdout(predicate::str::contains(" days left"))
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8_lossy(&out);
        let first = text.lines().next().unwrap_or("");
        assert!(first.contains(holds), "{name} -p {port} -D {days}: {first}");
    }
}

/// The C names that imply TLS (check_ssmtp, check_spop, check_simap are
/// C's check_tcp family under names that mean SSL on the implicit port), and
/// check_pop under C's name: each says its C service name.
#[test]
fn c_names_imply_tls_and_their_port() {
    if !testbed() {
        return;
    }
    for (name, service, holds) in [
        ("check_ssmtp_rs", "SSMTP", ", TLSv1."),
        ("check_spop_rs", "SPOP", ", TLSv1."),
        ("check_simap_rs", "SIMAP", ", TLSv1."),
        ("check_pop_rs", "POP", "+OK Dovecot"),
    ] {
        let out = plugin(name)
            .args(["-H", "127.0.0.1", "-t", "5"])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8_lossy(&out);
        let first = text.lines().next().unwrap_or("");
        assert!(
            first.starts_with(&format!("{service} OK - ")) && first.contains(holds),
            "{name}: {first}"
        );
    }
}
