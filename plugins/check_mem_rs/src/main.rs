fn main() {
    check_mem_rs::main()
}
