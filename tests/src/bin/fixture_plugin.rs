//! A plugin for testing the runner itself (see rsplugins_tests::fixture).
//! Never installed.

fn main() {
    rsplugins_tests::fixture::main()
}
