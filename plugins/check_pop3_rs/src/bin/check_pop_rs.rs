//! `check_pop_rs`: the name users of C's check_pop look for; the same
//! plugin as check_pop3_rs, with C's service name.

fn main() {
    check_pop3_rs::main_as("POP", &[])
}
