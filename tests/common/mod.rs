//! Shared helpers for the integration tests: generated fixtures, tiny networks and
//! running the real `wmh` binary.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::prelude::Device;
use wmh::model::{Ensemble, UNetConfig};
use wmh::phantom::{self, Phantom};
use wmh::pipeline::{Network, NetworkSpec, Task};
use wmh::volume::{Affine, OutputData, Volume};

/// The real data folder, if this checkout sits next to `shared/`.
pub fn shared_data() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if p.join("flair").is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared/data is absent (real scans are not part of the repository)");
        None
    }
}

/// Runs the `wmh` binary.
pub fn wmh(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wmh"))
        .args(args)
        .output()
        .expect("the wmh binary runs")
}

/// Writes untrained networks of base width 4 into `dir`: enough to exercise the full
/// command path quickly, independent of the shipped weights.
pub fn tiny_weights(dir: &Path) {
    let device = Device::flex();
    for task in [Task::Wmh, Task::Wm] {
        let unet = UNetConfig::new().with_base_width(4).with_context(1);
        let spec = NetworkSpec {
            task,
            unet: unet.clone(),
            spacing_mm: 1.0,
            threshold: 0.5,
            members: 1,
            dilation_mm: wmh::pipeline::DEFAULT_WM_DILATION_MM,
        };
        let net = Network {
            model: Ensemble::new(vec![unet.init(&device)]),
            spec: spec.clone(),
        };
        std::fs::write(
            dir.join(format!("{}.json", task.stem())),
            serde_json::to_vec(&spec).unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{}.safetensors", task.stem())),
            net.weights_bytes(false).unwrap(),
        )
        .unwrap();
    }
}

/// A small phantom (48 x 40 x 6, 4 mm voxels) on the given affine.
pub fn small_phantom(affine: Affine) -> Phantom {
    phantom::generate([48, 40, 6], affine, 3)
}

/// An axial grid of 4 x 4 x 8 mm voxels centred on the origin.
pub fn plain_affine() -> Affine {
    [
        [4.0, 0.0, 0.0, -94.0],
        [0.0, 4.0, 0.0, -78.0],
        [0.0, 0.0, 8.0, -20.0],
    ]
}

/// Writes the small phantom's FLAIR and T1 as `f.nii.gz` and `t.nii.gz` into `dir`.
pub fn phantom_files(dir: &Path) -> (PathBuf, PathBuf) {
    let case = small_phantom(plain_affine());
    let (f, t) = (dir.join("f.nii.gz"), dir.join("t.nii.gz"));
    write_volume(&f, &case.flair);
    write_volume(&t, &case.t1);
    (f, t)
}

/// Writes a volume's values as float32 NIfTI on its own grid.
pub fn write_volume(path: &Path, v: &Volume) {
    let gz = path.to_string_lossy().ends_with(".gz");
    std::fs::write(path, v.encode_like(OutputData::F32(&v.data), gz)).unwrap();
}

/// Names of the files in a folder (to prove nothing was left behind).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Runs `wmh segment` on the phantom (written into `dir`) with the networks in
/// `weights` on `device`, writing `m-<tag>.nii` and `p-<tag>.nii` into `dir`; returns
/// the command's output and the probability map's path.
pub fn segment_phantom(dir: &Path, weights: &Path, tag: &str, device: &str) -> (Output, PathBuf) {
    let (flair, t1) = phantom_files(dir);
    let prob = dir.join(format!("p-{tag}.nii"));
    let out = wmh(&[
        "segment",
        "--flair",
        flair.to_str().unwrap(),
        "--t1",
        t1.to_str().unwrap(),
        "--output",
        dir.join(format!("m-{tag}.nii")).to_str().unwrap(),
        "--probability",
        prob.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--device",
        device,
    ]);
    (out, prob)
}

/// The WMH probabilities `wmh segment` writes for the phantom with `weights` (CPU).
pub fn phantom_probabilities(dir: &Path, weights: &Path, tag: &str) -> Vec<f32> {
    let (out, prob) = segment_phantom(dir, weights, tag, "cpu");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Volume::from_nifti_bytes(&std::fs::read(prob).unwrap())
        .unwrap()
        .data
}

/// Largest absolute difference of two equally long sequences.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
