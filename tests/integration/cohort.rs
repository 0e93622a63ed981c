//! `wmh cohort`: many cases in one run give the same masks as `wmh segment` case by
//! case, a bad case fails alone, and a bad plan is refused before anything is written.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{listing, phantom_files, tiny_weights, wmh};
use wmh::case;

/// A CSV file's rows as column-name -> value maps.
fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .zip(rec.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Every file below `dir` with its bytes, to show that inputs are untouched.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(snapshot(&p));
        } else {
            v.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    v.sort();
    v
}

/// The built-in example written into `dir/example`, and the shipped weights folder.
fn example_and_shipped_weights(dir: &Path) -> (PathBuf, PathBuf) {
    let case = dir.join("example");
    assert!(
        wmh(&["example", "--out", case.to_str().unwrap()])
            .status
            .success()
    );
    (case, Path::new(env!("CARGO_MANIFEST_DIR")).join("weights"))
}

#[test]
fn a_cohort_gives_segments_masks_and_a_bad_case_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("weights");
    let cases = dir.path().join("cases");
    for d in [&weights, &cases.join("both"), &cases.join("bad")] {
        std::fs::create_dir_all(d).unwrap();
    }
    tiny_weights(&weights);
    // "both" has FLAIR and T1 in its folder; "flaironly" comes from the manifest.
    let (flair, t1) = phantom_files(&cases.join("both"));
    std::fs::rename(&flair, cases.join("both/flair.nii.gz")).unwrap();
    std::fs::rename(&t1, cases.join("both/t1.nii.gz")).unwrap();
    std::fs::write(cases.join("bad/flair.nii.gz"), b"not a scan").unwrap();
    std::fs::write(
        cases.join("list.csv"),
        "id,flair,t1\nflaironly,both/flair.nii.gz,\n",
    )
    .unwrap();
    let before = snapshot(&cases);

    let out = dir.path().join("out");
    let run = wmh(&[
        "cohort",
        cases.join("both").to_str().unwrap(),
        cases.join("bad").to_str().unwrap(),
        "--manifest",
        cases.join("list.csv").to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--wm-mask",
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success(),
        "one case failed, so the run must fail"
    );
    assert!(stderr.contains("bad:"), "{stderr}");
    assert!(stderr.contains("1 of 3 cases failed"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(snapshot(&cases), before, "inputs changed");
    assert_eq!(
        listing(&out),
        [
            "both_wm_region.nii.gz",
            "both_wmh_mask.nii.gz",
            "flaironly_wmh_mask.nii.gz",
            "lesions.csv",
            "summary.csv"
        ],
        "no output for the failed case, no partial files"
    );

    // The same cases one by one through `wmh segment`.
    let single = |name: &str, with_t1: bool| {
        let path = dir.path().join(format!("{name}.nii.gz"));
        let mut args = vec![
            "segment".to_string(),
            "--flair".into(),
            cases.join("both/flair.nii.gz").display().to_string(),
            "--output".into(),
            path.display().to_string(),
            "--weights".into(),
            weights.display().to_string(),
            "--json".into(),
        ];
        if with_t1 {
            args.extend([
                "--t1".into(),
                cases.join("both/t1.nii.gz").display().to_string(),
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = wmh(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (std::fs::read(path).unwrap(), json)
    };
    let (mask_both, json_both) = single("both", true);
    let (mask_flair, json_flair) = single("flaironly", false);
    assert_eq!(
        std::fs::read(out.join("both_wmh_mask.nii.gz")).unwrap(),
        mask_both
    );
    assert_eq!(
        std::fs::read(out.join("flaironly_wmh_mask.nii.gz")).unwrap(),
        mask_flair
    );

    let summary = read_csv(&out.join("summary.csv"));
    let row = |id: &str| summary.iter().find(|r| r["id"] == id).unwrap();
    assert_eq!(summary.len(), 3);
    assert_eq!(row("bad")["status"], "failed");
    assert!(row("bad")["error"].contains("not a NIfTI-1 file"));
    assert_eq!(row("bad")["mask"], "");
    for (id, json, filtered, filter) in [
        ("both", &json_both, "true", "white-matter"),
        ("flaironly", &json_flair, "false", "brain"),
    ] {
        let r = row(id);
        assert_eq!(r["status"], "ok");
        assert_eq!(r["error"], "");
        assert_eq!(r["wm_filter"], filtered);
        assert_eq!(r["filter"], filter);
        assert_eq!(r["filter"], json["filter"].as_str().unwrap());
        assert_eq!(r["threshold"], "0.5", "the weights' own threshold");
        assert_eq!(r["lesion_count"], json["lesion_count"].to_string());
        let total: f64 = r["total_ml"].parse().unwrap();
        assert!((total - json["total_ml"].as_f64().unwrap()).abs() < 1e-9);
    }

    // The burden by region is the same in the JSON and the CSV (these untrained
    // networks may leave it out); FLAIR-only there is none, and the JSON says why.
    let burden = &json_both["burden"];
    let zones = [
        "periventricular_ml",
        "deep_ml",
        "juxtacortical_ml",
        "infratentorial_ml",
    ];
    for z in zones {
        let csv = row("both")[z].parse::<f64>().ok();
        assert_eq!(csv.is_some(), burden[z].is_number(), "{z}");
        assert!(csv.is_none_or(|v| (v - burden[z].as_f64().unwrap()).abs() < 1e-9));
        assert_eq!(row("flaironly")[z], "", "{z}");
    }
    assert!(json_flair["burden"].is_null());
    assert!(
        json_flair["burden_notes"][0]
            .as_str()
            .unwrap()
            .contains("need a T1")
    );

    // lesions.csv lists each case's lesions, largest first, summing to its total.
    let lesions = read_csv(&out.join("lesions.csv"));
    for id in ["both", "flaironly"] {
        let mine: Vec<_> = lesions.iter().filter(|l| l["id"] == id).collect();
        assert_eq!(mine.len().to_string(), row(id)["lesion_count"]);
        let ml: Vec<f64> = mine
            .iter()
            .map(|l| l["volume_ml"].parse().unwrap())
            .collect();
        assert!(
            ml.windows(2).all(|w| w[0] >= w[1]),
            "{id}: not largest first"
        );
        let total: f64 = row(id)["total_ml"].parse().unwrap();
        assert!((ml.iter().sum::<f64>() - total).abs() < 1e-6 * total.max(1.0));
    }
}

#[test]
fn a_bad_plan_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("weights");
    std::fs::create_dir_all(&weights).unwrap();
    tiny_weights(&weights);
    for d in ["a/case", "b/case", "empty"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    phantom_files(&dir.path().join("a/case"));
    std::fs::rename(
        dir.path().join("a/case/f.nii.gz"),
        dir.path().join("a/case/flair.nii.gz"),
    )
    .unwrap();
    std::fs::copy(
        dir.path().join("a/case/flair.nii.gz"),
        dir.path().join("b/case/flair.nii.gz"),
    )
    .unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    let manifest = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap();
        p(name)
    };
    // The "x" case's FLAIR sits where its mask would be written (below).
    std::fs::copy(
        dir.path().join("a/case/flair.nii.gz"),
        dir.path().join("a/x_wmh_mask.nii.gz"),
    )
    .unwrap();

    let plans: [(Vec<String>, &str); 7] = [
        (vec![p("a/case"), p("b/case")], "appears twice"),
        (
            vec![
                "--manifest".into(),
                manifest(
                    "m0.csv",
                    "id,flair\nX,a/case/flair.nii.gz\nx,b/case/flair.nii.gz\n",
                ),
            ],
            "appears twice",
        ),
        (vec![p("empty")], "no flair.nii.gz or flair.nii"),
        (vec![p("missing")], "not a case folder"),
        (
            vec![
                "--manifest".into(),
                manifest("m1.csv", "id,flair\nx,nope.nii.gz\n"),
            ],
            "no such file",
        ),
        (
            vec![
                "--manifest".into(),
                manifest("m2.csv", "id,flair\n../up,a/case/flair.nii.gz\n"),
            ],
            "case id",
        ),
        (vec![], "no cases"),
    ];
    let before = snapshot(dir.path());
    for (cases, expected) in plans {
        let out = p("out");
        let mut args = vec![
            "cohort",
            "--out-dir",
            &out,
            "--weights",
            weights.to_str().unwrap(),
        ];
        args.extend(cases.iter().map(String::as_str));
        let o = wmh(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{expected}: accepted");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(
            snapshot(dir.path()),
            before,
            "{expected}: something was written"
        );
        assert!(!dir.path().join("out").exists());
    }

    // Writing the "x" case's mask into folder a/ would overwrite its FLAIR.
    let m = manifest("m3.csv", "id,flair\nx,a/x_wmh_mask.nii.gz\n");
    let before = snapshot(dir.path());
    let o = wmh(&[
        "cohort",
        "--manifest",
        &m,
        "--out-dir",
        &p("a"),
        "--weights",
        weights.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("refusing to overwrite an input file"),
        "{stderr}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn the_minimum_lesion_size_reaches_the_mask_and_the_tables_and_bad_cuts_are_refused() {
    // The built-in example with the shipped networks has lesions of 0.3 to 1.6 mL.
    let dir = tempfile::tempdir().unwrap();
    let (case, weights) = example_and_shipped_weights(dir.path());
    let run = |min: &str| {
        let out = dir.path().join(format!("out-{min}"));
        let o = wmh(&[
            "cohort",
            case.to_str().unwrap(),
            "--out-dir",
            out.to_str().unwrap(),
            "--weights",
            weights.to_str().unwrap(),
            "--min-lesion-mm3",
            min,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            read_csv(&out.join("summary.csv")),
            read_csv(&out.join("lesions.csv")),
        )
    };
    let (all_summary, all) = run("0");
    let (large_summary, large) = run("600");
    assert_eq!(large_summary[0]["min_lesion_mm3"], "600.0");
    let ml = |rows: &[HashMap<String, String>]| -> Vec<f64> {
        rows.iter()
            .map(|l| l["volume_ml"].parse().unwrap())
            .collect()
    };
    let kept: Vec<f64> = ml(&all).into_iter().filter(|&v| v >= 0.600).collect();
    assert!(
        !kept.is_empty() && kept.len() < all.len(),
        "the example should have lesions on both sides of 600 mm³: {:?}",
        ml(&all)
    );
    assert_eq!(
        ml(&large),
        kept,
        "exactly the lesions of 600 mm³ or more stay, unchanged"
    );
    let total: f64 = large_summary[0]["total_ml"].parse().unwrap();
    assert!((total - kept.iter().sum::<f64>()).abs() < 1e-9);
    assert_eq!(large_summary[0]["lesion_count"], kept.len().to_string());
    assert!(all_summary[0]["lesion_count"].parse::<usize>().unwrap() > kept.len());

    for (bad, refusal) in [
        ("--min-lesion-mm3=-1", "--min-lesion-mm3 must be"),
        ("--lesion-peak=1.5", "--lesion-peak must be between 0 and 1"),
    ] {
        let o = wmh(&[
            "segment",
            "--flair",
            case::require(&case, case::FLAIR).unwrap().to_str().unwrap(),
            "--output",
            dir.path().join("m.nii.gz").to_str().unwrap(),
            bad,
        ]);
        assert!(!o.status.success());
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(refusal),
            "{bad}"
        );
        assert!(!dir.path().join("m.nii.gz").exists());
    }
}

#[test]
fn symmetries_reach_the_mask_and_the_tables_and_other_counts_are_refused() {
    // The shipped WMH networks on the built-in example's FLAIR (no T1, to keep it quick).
    let dir = tempfile::tempdir().unwrap();
    let (case, weights) = example_and_shipped_weights(dir.path());
    let flair = case::require(&case, case::FLAIR).unwrap();
    let segment_as = |symmetries: &str, json: bool| {
        let mask = dir.path().join(format!("mask-{symmetries}-{json}.nii.gz"));
        let mut args = vec![
            "segment",
            "--flair",
            flair.to_str().unwrap(),
            "--output",
            mask.to_str().unwrap(),
            "--weights",
            weights.to_str().unwrap(),
            "--symmetries",
            symmetries,
        ];
        if json {
            args.push("--json");
        }
        (wmh(&args), mask)
    };
    // Two counts here; all eight are run on each backend in `backends`.
    let (one, one_mask) = segment_as("1", true);
    // Without --json the summary line says how the probabilities were averaged.
    let (two, two_mask) = segment_as("2", false);
    for o in [&one, &two] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let two_line = String::from_utf8_lossy(&two.stdout);
    assert!(
        two_line.contains("averaged over 2 symmetries"),
        "{two_line}"
    );
    let one_json: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(one_json["symmetries"], 1);
    assert_ne!(
        std::fs::read(&one_mask).unwrap(),
        std::fs::read(&two_mask).unwrap(),
        "averaging over the symmetries changes the example's mask"
    );

    // A cohort averaged over 2 gives the same mask as `segment` and says so in its table.
    std::fs::write(
        dir.path().join("list.csv"),
        format!("id,flair,t1\nex,{},\n", flair.display()),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = wmh(&[
        "cohort",
        "--manifest",
        dir.path().join("list.csv").to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--symmetries",
        "2",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(out.join("ex_wmh_mask.nii.gz")).unwrap(),
        std::fs::read(&two_mask).unwrap()
    );
    let summary = read_csv(&out.join("summary.csv"));
    assert_eq!(summary[0]["symmetries"], "2");
    let two_lesions = two_line.split(' ').next().unwrap();
    assert_eq!(summary[0]["lesion_count"], two_lesions, "{two_line}");

    // Any other count is refused before anything is written.
    let (bad, bad_mask) = segment_as("4", true);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("1 (as is), 2 (and its mirror image) or 8")
    );
    assert!(!bad_mask.exists());
}

#[test]
fn a_bids_dataset_becomes_derivatives_resumes_and_tabulates() {
    let tmp = tempfile::tempdir().unwrap();
    let (raw, out, w) = (
        tmp.path().join("raw"),
        tmp.path().join("out"),
        tmp.path().join("w"),
    );
    std::fs::create_dir_all(&w).unwrap();
    tiny_weights(&w);
    let (flair, t1) = phantom_files(tmp.path());
    let put = |rel: &str, from: &Path| {
        let p = raw.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::copy(from, p).unwrap();
    };
    std::fs::create_dir_all(&raw).unwrap();
    std::fs::write(
        raw.join("dataset_description.json"),
        r#"{"Name": "test", "BIDSVersion": "1.10.0"}"#,
    )
    .unwrap();
    put("sub-01/anat/sub-01_FLAIR.nii.gz", &flair);
    put("sub-01/anat/sub-01_T1w.nii.gz", &t1);
    put("sub-02/ses-a/anat/sub-02_ses-a_FLAIR.nii.gz", &flair);
    put("sub-02/ses-a/anat/sub-02_ses-a_T1w.nii.gz", &t1);
    put("sub-02/ses-b/anat/sub-02_ses-b_run-1_FLAIR.nii.gz", &flair);
    put("sub-02/ses-b/anat/sub-02_ses-b_run-2_FLAIR.nii.gz", &t1);
    std::fs::create_dir_all(raw.join("sub-03/anat")).unwrap();
    std::fs::write(raw.join("sub-03/anat/sub-03_FLAIR.nii.gz"), b"not a scan").unwrap();
    let before = snapshot(&raw);
    let bids = |extra: &[&str]| {
        let mut args = vec![
            "bids",
            raw.to_str().unwrap(),
            out.to_str().unwrap(),
            "--weights",
            w.to_str().unwrap(),
        ];
        args.extend(extra);
        wmh(&args)
    };

    // The participant level: the broken scan fails alone, the others are written.
    let run = bids(&["participant"]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{err}");
    assert!(
        err.contains("sub-03") && err.contains("2 FLAIR images"),
        "{err}"
    );
    let description: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("dataset_description.json")).unwrap())
            .unwrap();
    assert_eq!(description["DatasetType"], "derivative");
    assert!(
        description["GeneratedBy"][0]["Description"]
            .as_str()
            .unwrap()
            .contains("SHA-256")
    );
    let mask = out.join("sub-01/anat/sub-01_space-FLAIR_desc-wmh_mask.nii.gz");
    let sidecar: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("sub-01/anat/sub-01_space-FLAIR_desc-wmh_mask.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(sidecar["WhiteMatterFilter"], true);
    assert_eq!(
        sidecar["Sources"][0],
        "bids:raw:sub-01/anat/sub-01_FLAIR.nii.gz"
    );
    // A space that is not a template needs its reference (BIDS-Derivatives).
    assert_eq!(sidecar["SpatialReference"], sidecar["Sources"][0]);
    assert!(out.join(".bidsignore").is_file() && out.join("README").is_file());
    assert!(sidecar["LesionCount"].is_u64() && sidecar["TotalVolumeMl"].is_f64());
    let session_b = out.join("sub-02/ses-b/anat/sub-02_ses-b_space-FLAIR_desc-wmh_mask.json");
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(session_b).unwrap()).unwrap();
    assert_eq!(
        b["Sources"][0],
        "bids:raw:sub-02/ses-b/anat/sub-02_ses-b_run-1_FLAIR.nii.gz"
    );
    assert!(b["Warnings"].to_string().contains("no T1w"));
    assert!(out.join("logs/sub-03_desc-wmh_error.json").is_file());
    assert_eq!(snapshot(&raw), before, "the raw dataset was touched");

    // The same mask as `wmh segment` on the same files.
    let alone = tmp.path().join("alone.nii.gz");
    let seg = wmh(&[
        "segment",
        "--flair",
        flair.to_str().unwrap(),
        "--t1",
        t1.to_str().unwrap(),
        "--output",
        alone.to_str().unwrap(),
        "--weights",
        w.to_str().unwrap(),
    ]);
    assert!(seg.status.success());
    assert_eq!(
        std::fs::read(&alone).unwrap(),
        std::fs::read(&mask).unwrap()
    );

    // Again, for the scans that were done: nothing is redone.
    let modified = std::fs::metadata(&mask).unwrap().modified().unwrap();
    let again = bids(&["participant", "--participant-label", "sub-01", "02"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("3 scans selected, 3 already done"));
    assert_eq!(
        std::fs::metadata(&mask).unwrap().modified().unwrap(),
        modified
    );

    // The group level: one row per scan.
    let group = bids(&["group"]);
    assert!(
        group.status.success(),
        "{}",
        String::from_utf8_lossy(&group.stderr)
    );
    let tsv = std::fs::read_to_string(out.join("group/wmh.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = tsv
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    let ids: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[0], r[1], r[2])).collect();
    assert_eq!(
        ids,
        [
            ("sub-01", "", "ok"),
            ("sub-02", "ses-a", "ok"),
            ("sub-02", "ses-b", "ok"),
            ("sub-03", "", "failed"),
        ],
        "{tsv}"
    );
}

#[test]
fn the_example_is_split_by_region_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (case, weights) = example_and_shipped_weights(dir.path());
    let (regions, report) = (dir.path().join("regions.nii.gz"), dir.path().join("r.html"));
    let o = wmh(&[
        "segment",
        "--flair",
        case.join("flair.nii.gz").to_str().unwrap(),
        "--t1",
        case.join("t1.nii.gz").to_str().unwrap(),
        "--output",
        dir.path().join("mask.nii.gz").to_str().unwrap(),
        "--regions",
        regions.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The zones add up to the total, and the example's WMH lie by its ventricles and
    // in its deep white matter.
    let burden = &json["burden"];
    let ml = |z: &str| burden[format!("{z}_ml")].as_f64();
    let zones = ["periventricular", "deep", "juxtacortical", "infratentorial"];
    let sum: f64 = zones.iter().filter_map(|z| ml(z)).sum();
    assert!(
        (sum - json["total_ml"].as_f64().unwrap()).abs() < 1e-9,
        "{burden}"
    );
    assert!(
        ml("periventricular").unwrap() > 0.0 && ml("deep").unwrap() > 0.0,
        "{burden}"
    );
    assert!(burden["ventricles_ml"].as_f64().unwrap() > 1.0, "{burden}");
    let lesions = json["lesions"].as_array().unwrap();
    assert!(
        lesions
            .iter()
            .all(|l| zones.contains(&l["zone"].as_str().unwrap()))
    );
    // The regions map: codes 0-4 on the FLAIR's grid.
    let map = wmh::volume::io::decode(&std::fs::read(&regions).unwrap()).unwrap();
    let flair =
        wmh::volume::io::decode(&std::fs::read(case.join("flair.nii.gz")).unwrap()).unwrap();
    assert_eq!(
        (map.dims, map.geometry.affine),
        (flair.dims, flair.geometry.affine)
    );
    assert!(
        map.data
            .iter()
            .all(|&c| (0.0..=4.0).contains(&c) && c.fract() == 0.0)
    );
    // The report holds the same totals and regions, and the FLAIR's name and date.
    let html = std::fs::read_to_string(&report).unwrap();
    let total = format!(
        "<p data-total>{} lesions, {:.2} mL</p>",
        json["lesion_count"],
        json["total_ml"].as_f64().unwrap()
    );
    assert!(html.contains(&total), "{total}");
    assert!(html.contains("<td>flair.nii.gz (file dated "));
    for z in zones {
        let v = ml(z).map_or("not placed".into(), |v| format!("{v:.2}"));
        assert!(
            html.contains(&format!("<tr><td>{z}</td><td>{v}</td></tr>")),
            "{z}"
        );
    }
}
