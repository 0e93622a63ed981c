//! `wmh convert --half` writes f16 weights that load and segment like the f32 ones.

use crate::common;

use common::{assert_runs_agree, phantom_run, tiny_weights, wmh};
use wmh::pipeline::stores_half;

#[test]
fn half_weights_are_smaller_and_segment_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let full = d.join("f32");
    let half = d.join("f16");
    std::fs::create_dir(&full).unwrap();
    tiny_weights(&full);
    let out = wmh(&[
        "convert",
        "--weights",
        full.to_str().unwrap(),
        "--out",
        half.to_str().unwrap(),
        "--half",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for stem in ["wmh", "wm"] {
        let a = std::fs::read(full.join(format!("{stem}.safetensors"))).unwrap();
        let b = std::fs::read(half.join(format!("{stem}.safetensors"))).unwrap();
        assert!(!stores_half(&a) && stores_half(&b), "{stem}: dtypes");
        assert!(
            b.len() < a.len() * 3 / 4,
            "{stem}: {} vs {} bytes",
            b.len(),
            a.len()
        );
    }
    assert_runs_agree(
        &phantom_run(d, &full, "f32"),
        &phantom_run(d, &half, "f16"),
        5e-3,
        "f16 weights",
    );
}
