//! The integration tests as one binary, so burn and wgpu are linked once rather than
//! once per file. The decoder fuzzer stays a binary of its own (`tests/fuzz_nifti.rs`):
//! its counting allocator is process-wide.
//!
//! Tests that need what a fresh clone lacks are `#[ignore]`d with the reason, and
//! `check.sh` includes them where it is present:
//! - `../shared/` (the real scans and the challenge's golden metrics): the tests in
//!   [`real_data`];
//! - a GPU adapter (a Vulkan driver such as lavapipe): every test with `gpu` in its name.

mod common;

mod backends;
mod cohort;
mod ensemble;
mod evaluate;
mod geometry;
mod hostile_inputs;
mod real_data;
mod render_gpu;
mod train_backends;
mod train_run;
mod weights_half;
