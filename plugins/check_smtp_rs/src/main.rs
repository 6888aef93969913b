fn main() {
    check_smtp_rs::main()
}
