//! Entry points: the `wmh` command-line tool natively, the web app in the browser.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    wmh::cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {
    wmh::web::start();
}
