//! `check_spop_rs`: C's check_spop, POP3 over implicit TLS (POP3S, port
//! 995 unless `-p`): check_pop3_rs with `--ssl`.

fn main() {
    check_pop3_rs::main_as("SPOP", &["--ssl"])
}
