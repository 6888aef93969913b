// Its own C `main`: no std start-up, the time-out by a signal instead of a
// supervisor thread (see rsplugins::lean_main).
#![cfg_attr(not(test), no_main)]

rsplugins::lean_main!(check_pop3_rs::main());
