//! The `authgate` binary.

fn main() -> std::process::ExitCode {
    authgate_server::cli::main()
}
