fn main() {
    check_ftp_rs::main()
}
