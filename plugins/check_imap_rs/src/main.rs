fn main() {
    check_imap_rs::main()
}
