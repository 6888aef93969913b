//! `check_pop_rs`: the name users of C's check_pop look for; the same
//! plugin as check_pop3_rs, with C's service name.

// Its own C `main`: no std start-up, the time-out by a signal instead of a
// supervisor thread (see rsplugins::lean_main).
#![cfg_attr(not(test), no_main)]

rsplugins::lean_main!(check_pop3_rs::main_as("POP", &[]));
