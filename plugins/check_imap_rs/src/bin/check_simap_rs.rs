//! `check_simap_rs`: C's check_simap, IMAP over implicit TLS (IMAPS, port
//! 993 unless `-p`): check_imap_rs with `--ssl`.

// Its own C `main`: no std start-up, the time-out by a signal instead of a
// supervisor thread (see rsplugins::lean_main).
#![cfg_attr(not(test), no_main)]

rsplugins::lean_main!(check_imap_rs::main_as("SIMAP", &["--ssl"]));
