//! Same answer everywhere: the CPU (flex) and GPU (wgpu) backends give the same
//! segmentation from the same weights. Without a GPU adapter (no Vulkan driver, not
//! even lavapipe) the comparison is skipped with a message.

mod common;

use common::{assert_runs_agree, segment_phantom, tiny_weights};

#[test]
fn cpu_and_gpu_backends_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    tiny_weights(d);
    let mut runs = Vec::new();
    for device in ["cpu", "gpu"] {
        let (out, run) = segment_phantom(d, d, device, device);
        let err = String::from_utf8_lossy(&out.stderr);
        if device == "gpu" && err.contains("no usable GPU adapter") {
            eprintln!("skipping: no GPU adapter here ({})", err.trim());
            return;
        }
        runs.push(run.unwrap_or_else(|| panic!("{device}: {err}")));
    }
    assert_runs_agree(&runs[0], &runs[1], 1e-4, "CPU vs GPU");
}
