fn main() {
    handlers::reap::main()
}
