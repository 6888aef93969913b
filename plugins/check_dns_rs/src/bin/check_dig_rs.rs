//! `check_dig_rs`: C check_dig's options (`-H` is the server, `-l` the
//! name) on the same query engine as check_dns_rs.

// Its own C `main`: no std start-up, the time-out by a signal instead of a
// supervisor thread (see rsplugins::lean_main).
#![cfg_attr(not(test), no_main)]

rsplugins::lean_main!(check_dns_rs::dig::main());
