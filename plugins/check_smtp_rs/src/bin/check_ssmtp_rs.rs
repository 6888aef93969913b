//! `check_ssmtp_rs`: C's check_ssmtp, SMTP over implicit TLS (SMTPS, port
//! 465 unless `-p`): check_smtp_rs with `--ssl`.

fn main() {
    check_smtp_rs::main_as("SSMTP", &["--ssl"])
}
