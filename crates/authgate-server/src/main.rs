//! The `authgate` binary.

/// mimalloc instead of glibc malloc: a token allocates ~100 small blocks,
/// many freed on another thread (audit events are built by a request and
/// dropped by the audit writer), which contends on glibc's arena locks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    authgate_server::cli::main()
}
