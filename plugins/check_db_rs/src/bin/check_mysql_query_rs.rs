fn main() {
    check_db_rs::mysql_query_dropin::main()
}
