//! `check_spop_rs`: C's check_spop, POP3 over implicit TLS (POP3S, port
//! 995 unless `-p`): check_pop3_rs with `--ssl`.

// Its own C `main`: no std start-up, the time-out by a signal instead of a
// supervisor thread (see rsplugins::lean_main).
#![cfg_attr(not(test), no_main)]

rsplugins::lean_main!(check_pop3_rs::main_as("SPOP", &["--ssl"]));
