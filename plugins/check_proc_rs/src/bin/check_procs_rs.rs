//! `check_procs_rs`: the name users of C's check_procs look for; the same
//! plugin as check_proc_rs.

fn main() {
    check_proc_rs::main()
}
