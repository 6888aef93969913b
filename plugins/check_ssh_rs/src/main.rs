fn main() {
    check_ssh_rs::main()
}
