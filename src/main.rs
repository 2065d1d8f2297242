fn main() {
    std::process::exit(oomsleuth::cli::run());
}
