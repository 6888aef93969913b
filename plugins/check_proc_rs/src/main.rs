fn main() {
    check_proc_rs::main()
}
