//! `check_simap_rs`: C's check_simap, IMAP over implicit TLS (IMAPS, port
//! 993 unless `-p`): check_imap_rs with `--ssl`.

fn main() {
    check_imap_rs::main_as("SIMAP", &["--ssl"])
}
