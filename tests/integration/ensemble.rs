//! `wmh convert --add` combines WMH networks into an ensemble whose segmentation
//! probabilities are the mean of its members', and which refuses mismatched networks;
//! `--wm-dilation` sets the WM region's dilation.

use crate::common;

use common::{assert_runs_agree, max_abs_diff, phantom_run, tiny_weights, wmh};
use std::path::Path;

fn convert(args: &[&str]) -> std::process::Output {
    wmh(&[&["convert"], args].concat())
}

#[test]
fn an_ensemble_averages_its_members_probabilities() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dirs: Vec<_> = ["a", "b", "c"].iter().map(|n| d.join(n)).collect();
    for dir in &dirs {
        std::fs::create_dir(dir).unwrap();
        tiny_weights(dir);
    }
    // One WM network for all, so that only the WMH networks differ.
    for dir in &dirs[1..] {
        for f in ["wm.json", "wm.safetensors"] {
            std::fs::copy(dirs[0].join(f), dir.join(f)).unwrap();
        }
    }
    let ens = d.join("ens");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = convert(&[
        "--weights",
        &s(&dirs[0]),
        "--add",
        &format!("{},{}", s(&dirs[1]), s(&dirs[2])),
        "--threshold",
        "0.7",
        "--out",
        &s(&ens),
    ]);
    assert!(out.status.success(), "{out:?}");
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ens.join("wmh.json")).unwrap()).unwrap();
    assert_eq!(spec["members"], 3);
    assert_eq!(spec["threshold"].as_f64().unwrap() as f32, 0.7);

    let members: Vec<_> = ["a", "b", "c"]
        .iter()
        .zip(&dirs)
        .map(|(tag, dir)| phantom_run(d, dir, tag))
        .collect();
    assert!(
        members[0]
            .probability
            .iter()
            .zip(&members[1].probability)
            .any(|(a, b)| a != b),
        "the members should differ for this test to mean anything"
    );
    let mean = phantom_run(d, &ens, "ens");
    // The same f32 WM network gives every run the same region.
    assert!(members.iter().all(|m| m.wm == mean.wm));
    let expected: Vec<f32> = (0..mean.probability.len())
        .map(|i| members.iter().map(|m| m.probability[i]).sum::<f32>() / 3.0)
        .collect();
    let worst = max_abs_diff(&mean.probability, &expected);
    assert!(worst < 1e-5, "ensemble differs from the mean by {worst}");

    // f16 keeps the ensemble layout.
    let half = d.join("half");
    let out = convert(&["--weights", &s(&ens), "--out", &s(&half), "--half"]);
    assert!(out.status.success(), "{out:?}");
    assert_runs_agree(&mean, &phantom_run(d, &half, "half"), 5e-3, "f16 ensemble");
}

#[test]
fn networks_of_different_widths_are_not_combined() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for dir in [&a, &b] {
        std::fs::create_dir(dir).unwrap();
        tiny_weights(dir);
    }
    // Rewrite b's WMH settings to another width: its tensors no longer fit, and even
    // loaded they could not share an ensemble with a's.
    let spec = std::fs::read_to_string(b.join("wmh.json")).unwrap();
    std::fs::write(
        b.join("wmh.json"),
        spec.replace("\"base_width\":4", "\"base_width\":8"),
    )
    .unwrap();
    let out_dir = tmp.path().join("ens");
    let out = convert(&[
        "--weights",
        a.to_str().unwrap(),
        "--add",
        b.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error"));
    assert!(!out_dir.join("wmh.safetensors").exists());
}

#[test]
fn convert_sets_the_wm_region_dilation_and_refuses_absurd_values() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    std::fs::create_dir(&a).unwrap();
    tiny_weights(&a);
    let with_dilation = |mm: &str, out: &Path| {
        convert(&[
            "--weights",
            a.to_str().unwrap(),
            "--wm-dilation",
            mm,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let out_dir = tmp.path().join("out");
    let out = with_dilation("1.5", &out_dir);
    assert!(out.status.success(), "{out:?}");
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("wm.json")).unwrap()).unwrap();
    assert_eq!(spec["dilation_mm"], 1.5);

    let bad = tmp.path().join("bad");
    let out = with_dilation("50", &bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--wm-dilation"));
    assert!(!bad.join("wm.json").exists());
}
