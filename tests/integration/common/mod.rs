//! Shared helpers for the integration tests: generated fixtures, tiny networks and
//! running the real `wmh` binary.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::prelude::Device;
use wmh::model::UNetConfig;
use wmh::phantom::{self, Phantom};
use wmh::pipeline::{Network, NetworkSpec, Task};
use wmh::volume::{Affine, OutputData, Volume};

/// The real data folder next to this checkout. The tests that call it are ignored by
/// default (a fresh clone has no `../shared/`); run with `--include-ignored`, they fail
/// loudly where it is missing rather than pass without looking.
pub fn shared_data() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    assert!(
        p.join("flair").is_dir(),
        "{} is absent: the real scans are not part of the repository",
        p.display()
    );
    p
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
        let spec = NetworkSpec::new(task, unet, 1.0);
        let net = Network::init(spec.clone(), &device);
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

/// What `wmh segment` wrote for the phantom: probabilities, WM region and mask.
pub struct PhantomRun {
    /// WMH probabilities after the WM filter.
    pub probability: Vec<f32>,
    /// The WM region the filter used (0/1).
    pub wm: Vec<f32>,
    /// The final lesion mask (0/1).
    pub mask: Vec<f32>,
}

/// Runs `wmh segment` on the phantom (written into `dir`) with the networks in
/// `weights` on `device`, writing `m-`, `p-` and `w-<tag>.nii` into `dir`; returns the
/// command's output and, when it succeeded, what it wrote.
pub fn segment_phantom(
    dir: &Path,
    weights: &Path,
    tag: &str,
    device: &str,
) -> (Output, Option<PhantomRun>) {
    segment_phantom_with(dir, weights, tag, device, &[])
}

/// [`segment_phantom`] with `extra` arguments for `wmh segment`.
pub fn segment_phantom_with(
    dir: &Path,
    weights: &Path,
    tag: &str,
    device: &str,
    extra: &[&str],
) -> (Output, Option<PhantomRun>) {
    let (flair, t1) = phantom_files(dir);
    let path = |kind: &str| dir.join(format!("{kind}-{tag}.nii"));
    let (m, p, w) = (path("m"), path("p"), path("w"));
    let mut args = vec![
        "segment",
        "--flair",
        flair.to_str().unwrap(),
        "--t1",
        t1.to_str().unwrap(),
        "--output",
        m.to_str().unwrap(),
        "--probability",
        p.to_str().unwrap(),
        "--wm-mask",
        w.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--device",
        device,
    ];
    args.extend(extra);
    let out = wmh(&args);
    let read = |kind: &str| {
        Volume::from_nifti_bytes(&std::fs::read(path(kind)).unwrap())
            .unwrap()
            .data
    };
    let run = out.status.success().then(|| PhantomRun {
        probability: read("p"),
        wm: read("w"),
        mask: read("m"),
    });
    (out, run)
}

/// What `wmh segment` writes for the phantom with `weights` (CPU).
pub fn phantom_run(dir: &Path, weights: &Path, tag: &str) -> PhantomRun {
    let (out, run) = segment_phantom(dir, weights, tag, "cpu");
    run.unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&out.stderr)))
}

/// Asserts that two runs agree: probabilities within `tol` wherever both used the
/// same WM region, and at most one voxel in a thousand in a different region or mask.
///
/// The untrained test networks put many WM probabilities near the 0.5 threshold, so
/// rounding (f16 weights, another backend) may flip a few of them, and the dilated
/// region then moves a filtered probability all the way to 0; that is a flip at the
/// threshold, not a disagreement between the runs.
pub fn assert_runs_agree(a: &PhantomRun, b: &PhantomRun, tol: f32, what: &str) {
    let n = a.probability.len();
    assert_eq!(n, b.probability.len(), "{what}: grids");
    let differ = |x: &[f32], y: &[f32]| x.iter().zip(y).filter(|(p, q)| p != q).count();
    let wm = differ(&a.wm, &b.wm);
    let mask = differ(&a.mask, &b.mask);
    assert!(
        wm * 1000 <= n,
        "{what}: {wm} of {n} WM-region voxels differ"
    );
    assert!(mask * 1000 <= n, "{what}: {mask} of {n} mask voxels differ");
    let worst = (0..n)
        .filter(|&i| a.wm[i] == b.wm[i])
        .map(|i| (a.probability[i] - b.probability[i]).abs())
        .fold(0.0, f32::max);
    assert!(worst < tol, "{what}: probabilities differ by up to {worst}");
}

/// Largest absolute difference of two equally long sequences.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
