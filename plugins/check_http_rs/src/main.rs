fn main() {
    check_http_rs::main()
}
