fn main() {
    check_tcp_rs::main()
}
