//! Same answer everywhere: the CPU (flex) and GPU (wgpu) backends give the same
//! segmentation from the same weights, also with the WMH network averaged over the
//! slice's 8 in-plane symmetries (flips and transposes on each backend). It needs a
//! GPU adapter (lavapipe will do), so it is ignored by default and `check.sh` runs it.

use crate::common;

use common::{assert_runs_agree, segment_phantom_with, tiny_weights};

#[test]
#[ignore = "needs a GPU adapter (a Vulkan driver such as lavapipe)"]
fn cpu_and_gpu_backends_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    tiny_weights(d);
    for symmetries in ["1", "8"] {
        let mut runs = Vec::new();
        for device in ["cpu", "gpu"] {
            let tag = format!("{device}-{symmetries}");
            let extra = ["--symmetries", symmetries];
            let (out, run) = segment_phantom_with(d, d, &tag, device, &extra);
            let err = String::from_utf8_lossy(&out.stderr);
            runs.push(run.unwrap_or_else(|| panic!("{device}: {err}")));
        }
        let what = format!("CPU vs GPU, {symmetries} symmetries");
        assert_runs_agree(&runs[0], &runs[1], 1e-4, &what);
    }
}
