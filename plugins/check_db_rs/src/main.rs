fn main() {
    check_db_rs::main()
}
