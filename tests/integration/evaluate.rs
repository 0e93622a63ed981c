//! `wmh evaluate` against the official scoring program's golden output.

use crate::common;

use std::path::Path;

use common::{wmh, write_volume};
use wmh::volume::{Geometry, Volume};

#[test]
fn evaluate_refuses_mismatched_grids() {
    let tmp = tempfile::tempdir().unwrap();
    let eye = [
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
    ];
    let a = Volume {
        dims: [4, 4, 4],
        data: vec![0.0; 64],
        geometry: Geometry::from_affine(eye),
    };
    let b = Volume {
        dims: [4, 4, 2],
        data: vec![0.0; 32],
        geometry: Geometry::from_affine(eye),
    };
    write_volume(&tmp.path().join("a.nii"), &a);
    write_volume(&tmp.path().join("b.nii"), &b);
    let out = wmh(&[
        "evaluate",
        "--reference",
        tmp.path().join("a.nii").to_str().unwrap(),
        "--prediction",
        tmp.path().join("b.nii").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("share a grid"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);
}

#[test]
fn evaluate_prints_nan_as_null_for_an_empty_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let eye = [
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
    ];
    let empty = Volume {
        dims: [4, 4, 4],
        data: vec![0.0; 64],
        geometry: Geometry::from_affine(eye),
    };
    let mut one = empty.clone();
    one.data[21] = 1.0;
    write_volume(&tmp.path().join("r.nii.gz"), &empty);
    write_volume(&tmp.path().join("p.nii.gz"), &one);
    let out = wmh(&[
        "evaluate",
        "--reference",
        tmp.path().join("r.nii.gz").to_str().unwrap(),
        "--prediction",
        tmp.path().join("p.nii.gz").to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success());
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(got["avd"].is_null() && got["h95"].is_null());
    assert_eq!(got["dsc"], 0.0);
}

/// `wmh validate` scores several thresholds and lesion peaks from one prediction: each
/// pair's rows equal those of a run at that pair alone, and the baseline is scored once.
/// On the example, a lesion peak drops the network's weak specks and keeps every lesion.
#[test]
fn validate_sweeps_thresholds_and_peaks_from_one_prediction() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("example");
    let out = wmh(&["example", "--out", case.to_str().unwrap()]);
    assert!(out.status.success());
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights");
    let run = |thresholds: &str, peaks: &str, json: &str| -> Vec<serde_json::Value> {
        let path = tmp.path().join(json);
        let out = wmh(&[
            "validate",
            "--weights",
            weights.to_str().unwrap(),
            "--threshold",
            thresholds,
            "--lesion-peak",
            peaks,
            "--json",
            path.to_str().unwrap(),
            case.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let sweep = run("0.5,0.95", "0,0.95", "sweep.json");
    let single = run("0.5", "0.95", "single.json");
    assert_eq!(sweep.len(), 9, "{sweep:#?}");
    assert_eq!(single.len(), 3);
    let at = |rows: &[serde_json::Value], method: &str, t: f64, p: f64| {
        let near =
            |r: &serde_json::Value, k: &str, v: f64| (r[k].as_f64().unwrap() - v).abs() < 1e-6;
        rows.iter()
            .find(|r| r["method"] == method && near(r, "threshold", t) && near(r, "lesion_peak", p))
            .unwrap_or_else(|| panic!("no {method} at {t}, {p}"))["scores"]
            .clone()
    };
    for method in ["networks + WM filter", "WMH network only"] {
        assert_eq!(
            at(&sweep, method, 0.5, 0.95),
            at(&single, method, 0.5, 0.95)
        );
        assert_ne!(at(&sweep, method, 0.5, 0.0), at(&sweep, method, 0.95, 0.0));
        let (all, peaked) = (at(&sweep, method, 0.5, 0.0), at(&sweep, method, 0.5, 0.95));
        assert_eq!(
            peaked["recall"], all["recall"],
            "{method}: a true lesion was dropped"
        );
        assert!(
            peaked["f1"].as_f64().unwrap() > all["f1"].as_f64().unwrap(),
            "{method}: {peaked} against {all}"
        );
    }
}
