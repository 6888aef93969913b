fn main() {
    handlers::restart::main()
}
