fn main() {
    check_db_rs::mysql_dropin::main()
}
