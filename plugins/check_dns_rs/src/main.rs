fn main() {
    check_dns_rs::main()
}
