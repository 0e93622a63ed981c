//! The browser app (wasm32 only): Leptos components, the in-browser engine that
//! runs both networks on WebGPU or on the CPU, and the slice viewer.
//!
//! This layer never decodes NIfTI itself and never talks to any origin but its own:
//! files come from the user's disk, weights from the page's own `weights/` folder.

mod app;
mod controls;
mod engine;
mod error;
mod results;
mod viewer;

pub use error::WebError;

/// Mounts the app on the page's `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
