//! WMH segmentation: finds white matter hyperintensities in brain MRI on the user's
//! own machine.
//!
//! The core (`volume`, `model`, `pipeline`, `metrics`) is pure and compiles for native
//! and wasm32 targets; `case`, `cli`, `files` and `train` are native-only, `web` is wasm-only.

pub mod brain;
pub mod burden;
pub mod metrics;
pub mod model;
pub mod phantom;
pub mod pipeline;
pub mod render;
pub mod report;
pub mod tissue;
pub mod volume;

#[cfg(not(target_arch = "wasm32"))]
pub mod case;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(not(target_arch = "wasm32"))]
pub mod files;
#[cfg(not(target_arch = "wasm32"))]
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod web;
