fn main() {
    check_db_rs::pgsql_dropin::main()
}
