fn main() {
    check_swap_rs::main()
}
