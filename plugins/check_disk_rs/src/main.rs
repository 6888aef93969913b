fn main() {
    check_disk_rs::main()
}
