// A local check: its own C `main`, without std's start-up and with a signal
// time-out instead of a supervisor thread (see rsplugins::lean_main).
#![cfg_attr(not(test), no_main)]

rsplugins::lean_main!(check_mem_rs::main());
