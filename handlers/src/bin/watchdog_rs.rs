fn main() {
    handlers::watchdog::main()
}
