fn main() {
    check_pop3_rs::main()
}
