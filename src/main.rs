//! The `wmh` command-line tool (native targets).

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    wmh::cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
