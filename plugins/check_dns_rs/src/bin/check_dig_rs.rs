//! `check_dig_rs`: C check_dig's options (`-H` is the server, `-l` the
//! name) on the same query engine as check_dns_rs.

fn main() {
    check_dns_rs::dig::main()
}
