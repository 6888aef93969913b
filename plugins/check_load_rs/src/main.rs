fn main() {
    check_load_rs::main()
}
