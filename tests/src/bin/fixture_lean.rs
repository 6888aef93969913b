//! The runner's fixture started as every plugin but check_proc_rs is: its
//! own C `main`, the time-out by signal (see rsplugins::lean_main). Never
//! installed.
#![cfg_attr(not(test), no_main)]

rsplugins::lean_main!(rsplugins_tests::fixture::main());
