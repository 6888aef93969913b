fn main() {
    handlers::shed::main()
}
