//! The `rankd` command line: parse, build the config, call into the library.

mod cli;

// mimalloc, not glibc malloc: candle's CPU matmuls allocate and free multi-megabyte buffers on
// every pass, and glibc's handling of them was measured at ~1.5 ms a pass (../shared/gpu.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // Before any thread exists: candle's CPU thread count is read from the environment once.
    rankd::model::configure_cpu_threads();
    cli::main()
}
