//! The tests on what a fresh clone lacks, `../shared/` (ignored by default; `check.sh`
//! includes them where it is present): geometry on the real scans (the T1 lines up with
//! the FLAIR after resampling through both affines, `segment` writes masks on exactly
//! the FLAIR's grid), the tissue classifier and brain extraction on real heads, the
//! training cases built from them, skull-stripped pairs, and `evaluate` against the
//! challenge's golden metrics.

use crate::common;

use std::path::Path;

use common::{shared_data, tiny_weights, wmh};
use wmh::case;
use wmh::metrics::dice;
use wmh::volume::{Geometry, Volume, affine, foreground_mask, resample};

fn read(p: &Path) -> Volume {
    Volume::from_nifti_bytes(&std::fs::read(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn cases(data: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(data.join("flair"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
#[ignore = "needs ../shared/data"]
fn every_t1_overlaps_its_flair_after_resampling() {
    let data = shared_data();
    let mut all = Vec::new();
    for case in cases(&data) {
        let flair = read(&case::require(&case, case::FLAIR).unwrap());
        let t1 = read(&case::require(&case, case::T1).unwrap());
        let r = resample::onto_grid(&t1, flair.dims, &flair.geometry.affine);
        let axis = affine::slice_axis(&flair.geometry.affine);
        let d = dice(
            &foreground_mask(&flair.data, flair.dims, axis),
            &foreground_mask(&r.data, flair.dims, axis),
        );
        println!("{}: head-mask Dice {d:.3}", case.display());
        all.push(d);
    }
    // Two cases fall short of 0.9 for reasons in the data, not the geometry:
    // mslesseg-P14-T2 (0.87) shares the FLAIR's grid exactly, but its T1's brain mask
    // includes brainstem and neck slices the FLAIR's excludes (the files' own non-zero
    // masks agree only to Dice 0.866); simvent-105074 (0.88) is a thick-slice head scan
    // whose T1 and FLAIR show different amounts of scalp and neck at the slab ends.
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    assert!(all.iter().all(|&d| d >= 0.85), "poor overlap: {all:?}");
    assert!(mean >= 0.9, "mean overlap {mean:.3}");
    assert!(all.iter().filter(|&&d| d < 0.895).count() <= 2, "{all:?}");
}

#[test]
#[ignore = "needs ../shared/data"]
fn segment_writes_masks_on_each_flair_grid() {
    let data = shared_data();
    let tmp = tempfile::tempdir().unwrap();
    tiny_weights(tmp.path());
    for case in cases(&data) {
        let out_path = tmp.path().join("mask.nii.gz");
        let out = wmh(&[
            "segment",
            "--flair",
            case::require(&case, case::FLAIR).unwrap().to_str().unwrap(),
            "--t1",
            case::require(&case, case::T1).unwrap().to_str().unwrap(),
            "--output",
            out_path.to_str().unwrap(),
            "--weights",
            tmp.path().to_str().unwrap(),
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}: {}",
            case.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        // The brain found in each real T1 is plausible enough not to be warned about,
        // and the filter's region lies inside it.
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let brain_ml = summary["brain_ml"].as_f64().unwrap();
        assert!(
            summary["brain_warning"].is_null(),
            "{}: brain {brain_ml} mL: {}",
            case.display(),
            summary["brain_warning"]
        );
        let region_ml = summary["region_ml"].as_f64().unwrap();
        assert!(
            region_ml > 0.0 && region_ml <= brain_ml,
            "{}: region {region_ml} mL",
            case.display()
        );
        let flair = read(&case::require(&case, case::FLAIR).unwrap());
        let mask = read(&out_path);
        assert_eq!(mask.dims, flair.dims, "{}", case.display());
        assert_eq!(
            mask.geometry.affine,
            flair.geometry.affine,
            "{}",
            case.display()
        );
        let (h, m) = (&flair.geometry.header, &mask.geometry.header);
        assert_eq!((h.sform_code, h.qform_code), (m.sform_code, m.qform_code));
        assert_eq!(
            (h.srow_x, h.srow_y, h.srow_z),
            (m.srow_x, m.srow_y, m.srow_z)
        );
    }
}

/// `wmh tissue` on the MASS T1s it was not tuned on (mass-06..15; the settings were
/// chosen on mass-01..05): white-matter Dice against the real tissue maps.
#[test]
#[ignore = "needs ../shared/data"]
fn tissue_classifier_finds_white_matter_on_untuned_cases() {
    let data = shared_data();
    let tmp = tempfile::tempdir().unwrap();
    let mut wm = Vec::new();
    for i in 6..=15 {
        let case = data.join(format!("tissue/mass-{i:02}"));
        let out = wmh(&[
            "tissue",
            "--t1",
            case::require(&case, case::T1).unwrap().to_str().unwrap(),
            "--reference",
            case.join("tissue.nii.gz").to_str().unwrap(),
            "--output",
            tmp.path().join(format!("seg-{i}.nii.gz")).to_str().unwrap(),
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let d = summary["dice"][2].as_f64().unwrap();
        println!(
            "mass-{i:02}: WM Dice {d:.3}, GM {:.3}, CSF {:.3}",
            summary["dice"][1], summary["dice"][0]
        );
        wm.push(d);
    }
    let mean = wm.iter().sum::<f64>() / wm.len() as f64;
    println!("mean WM Dice {mean:.3}");
    assert!(mean >= 0.85, "mean WM Dice {mean:.3} < 0.85");
    assert!(wm.iter().all(|&d| d >= 0.8), "a case below 0.8: {wm:?}");
}

/// The FLAIRs simulated from `wmh2017/` T1s (training data for the WMH network): after
/// the inference normalisation, every case's labelled lesions are bright, as on the
/// real FLAIRs (whose lesion means lie at 1.1-1.9 head SDs), and nothing is non-finite.
#[test]
#[ignore = "needs ../shared/data"]
fn simulated_flairs_show_lesions_bright_on_every_wmh2017_case() {
    use wmh::pipeline::{Normalisation, Task};
    use wmh::train::data::{Case, SYNTH_PREFIX};
    use wmh::train::synth::Variation;
    let data = shared_data();
    let mut names: Vec<String> = std::fs::read_dir(data.join("wmh2017"))
        .unwrap()
        .map(|e| format!("{SYNTH_PREFIX}{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    names.sort();
    assert_eq!(names.len(), 30);
    for name in &names {
        let case = Case::load(
            &data,
            Task::Wmh,
            name,
            1.0,
            Normalisation::Zscore,
            Variation::Uniform,
        )
        .unwrap();
        assert!(case.stack.data.iter().all(|v| v.is_finite()), "{name}");
        let lesion: Vec<f32> = (0..case.label.len())
            .filter(|&i| case.label[i] > 0.5)
            .map(|i| case.stack.data[i])
            .collect();
        let mean = lesion.iter().sum::<f32>() / lesion.len() as f32;
        println!(
            "{name}: {} lesion voxels, mean {mean:.2} head SDs",
            lesion.len()
        );
        assert!((1.0..4.0).contains(&mean), "{name}: lesion mean {mean}");
    }
}

/// `wmh2017/` T1s as WM-network training cases: the T1 is skull-stripped (zero
/// outside the brain), the brain holds the labelled WMH (`Case::load` refuses a case
/// where it holds less than 95 %), and the WM-region label is white matter plus every
/// labelled WMH voxel and a plausible share of the brain. CI runs the seven nearest the
/// limits of the 30 (all 30 passed on 2026-12-06; `WMH_ALL_CASES=1` runs them all): the
/// two GE 3T scans whose neck once outweighed the brain (amsterdam-ge3t-103, -109), the
/// smallest and largest WM shares (singapore-53 and amsterdam-ge3t-112 at 35 %,
/// singapore-57 at 47 %) and the most head kept (utrecht-17, and utrecht-8, whose brain
/// leaks into the scalp).
#[test]
#[ignore = "needs ../shared/data"]
fn wmh2017_t1s_become_wm_training_cases() {
    use wmh::pipeline::{Normalisation, Task};
    use wmh::train::data::{Case, SYNTH_PREFIX};
    use wmh::train::synth::Variation;
    let data = shared_data();
    let mut names: Vec<String> = std::fs::read_dir(data.join("wmh2017"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 30);
    if std::env::var_os("WMH_ALL_CASES").is_none() {
        let limits = [
            "amsterdam-ge3t-103",
            "amsterdam-ge3t-109",
            "amsterdam-ge3t-112",
            "singapore-53",
            "singapore-57",
            "utrecht-17",
            "utrecht-8",
        ];
        names.retain(|n| limits.contains(&n.as_str()));
        assert_eq!(names.len(), limits.len(), "{names:?}");
    }
    for name in &names {
        let case = Case::load(
            &data,
            Task::Wm,
            &format!("{SYNTH_PREFIX}{name}"),
            1.0,
            Normalisation::Zscore,
            Variation::Uniform,
        )
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let dir = data.join("wmh2017").join(name);
        let t1 = read(&case::require(&dir, case::T1).unwrap());
        let reorient = wmh::volume::Reorientation::to_ras(&t1.geometry.affine, t1.dims);
        let lesions = reorient.forward(&read(&case::require(&dir, case::WMH).unwrap()).data);
        // Stripped voxels are zero, the lowest value, so they normalise to the fill.
        let kept = (case.stack.data.iter())
            .filter(|&&v| v > case.stack.fill)
            .count();
        let head = t1.data.iter().filter(|&&v| v > 0.0).count();
        let wm = case.label.iter().filter(|&&l| l > 0.5).count();
        let lesion_in_label = (0..lesions.len())
            .filter(|&i| lesions[i] == 1.0)
            .all(|i| case.label[i] > 0.5);
        println!(
            "{name}: brain {kept} of {head} non-zero head voxels, WM region {:.0} % of the brain",
            100.0 * wm as f64 / kept as f64
        );
        // Scalp, skull and neck are at least a third of a head scan (utrecht-8, whose
        // extracted brain leaks into the scalp at 2.2 L, keeps 56 % of its head).
        assert!(kept * 3 < head * 2, "{name}: the T1 was not stripped");
        assert!(lesion_in_label, "{name}: a WMH voxel outside the WM region");
        assert!(
            (0.3..0.7).contains(&(wm as f64 / kept as f64)),
            "{name}: WM share {wm} / {kept}"
        );
    }
}

/// Brain extraction (`brain::extract`) on every labelled FLAIR case's T1 (MS and
/// vascular), resampled onto the FLAIR grid as the pipeline does: it holds the manual
/// WMH, and on heads it has an adult brain's volume. The Sim-Vent `brain_mask.nii.gz`
/// is a central region, not the whole brain (no cortex or cerebellum), so there the
/// brain must contain most of it (>= 85 %: near the vertex, 7 mm slices blur brain and
/// scalp). Skull-stripped T1s keep their own brain, less any face and neck left in them.
/// The brain found in the FLAIR alone (the filter of FLAIR-only runs) holds the WMH too
/// and agrees with the T1's (Dice >= 0.9).
#[test]
#[ignore = "needs ../shared/data"]
fn brain_extraction_keeps_the_brain_and_drops_the_head() {
    use wmh::brain::{Method, PLAUSIBLE_BRAIN_ML, extract};
    use wmh::volume::Reorientation;
    let data = shared_data();
    let mut failures = Vec::new();
    for case in pairs(&data) {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let flair = read(&case::require(&case, case::FLAIR).unwrap());
        let t1 = read(&case::require(&case, case::T1).unwrap());
        let truth = read(&case::require(&case, case::WMH).unwrap());
        let r = resample::onto_grid(&t1, flair.dims, &flair.geometry.affine);
        let reorient = Reorientation::to_ras(&flair.geometry.affine, flair.dims);
        let spacing = reorient.canonical_spacing(flair.geometry.voxel_sizes());
        let brain = extract(
            &reorient.forward(&r.data),
            reorient.canonical_dims(),
            spacing,
        );
        let got = reorient.inverse(&brain.mask);
        let ml =
            got.iter().filter(|&&b| b).count() as f64 * flair.geometry.voxel_volume_mm3() / 1000.0;
        let lesion: Vec<usize> = (0..got.len())
            .filter(|&i| truth.data[i].round() == 1.0)
            .collect();
        let held = lesion.iter().filter(|&&i| got[i]).count() as f64 / lesion.len() as f64;
        println!(
            "{name}: {} brain {ml:.0} mL, holds {:.2} % of the WMH",
            brain.method.name(),
            held * 100.0
        );
        if held < 0.99 {
            failures.push(format!("{name}: holds {held:.4} of the WMH"));
        }
        // FLAIR-only runs filter by the brain found in the FLAIR: it must hold the
        // lesions too, and agree with the T1's.
        let alone = extract(
            &reorient.forward(&flair.data),
            reorient.canonical_dims(),
            spacing,
        );
        let alone = reorient.inverse(&alone.mask);
        let held_alone = lesion.iter().filter(|&&i| alone[i]).count() as f64 / lesion.len() as f64;
        let agree = dice(&alone, &got);
        println!(
            "{name}: the FLAIR's own brain holds {:.2} % of the WMH, Dice {agree:.3} with the T1's",
            held_alone * 100.0
        );
        if held_alone < 0.99 || agree < 0.9 {
            failures.push(format!(
                "{name}: FLAIR brain holds {held_alone:.4}, Dice {agree:.3}"
            ));
        }
        if brain.method == Method::Stripped {
            continue;
        }
        let (low, high) = PLAUSIBLE_BRAIN_ML;
        if !matches!(brain.method, Method::Template { .. }) || !(low..=high).contains(&ml) {
            failures.push(format!("{name}: {} {ml:.0} mL", brain.method.name()));
        }
        let central = case.join("brain_mask.nii.gz");
        if central.exists() {
            let central: Vec<bool> = read(&central).data.iter().map(|&v| v > 0.0).collect();
            let inside = (0..got.len()).filter(|&i| central[i] && got[i]).count() as f64
                / central.iter().filter(|&&b| b).count() as f64;
            println!(
                "{name}: contains {:.1} % of the central mask",
                inside * 100.0
            );
            if inside < 0.85 {
                failures.push(format!("{name}: {inside:.3} of the central mask"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

/// `wmh tissue` on `wmh2017/` T1s, which keep skull, scalp and neck and come without
/// brain masks: the brain it finds holds the labelled WMH, and white matter is a
/// plausible share of it. (There are no reference tissue maps for these scans.)
#[test]
#[ignore = "needs ../shared/data"]
fn tissue_classifier_labels_head_t1s_without_a_brain_mask() {
    let data = shared_data();
    let tmp = tempfile::tempdir().unwrap();
    for case in ["utrecht-0", "singapore-50", "amsterdam-ge3t-101"] {
        let dir = data.join("wmh2017").join(case);
        let out_path = tmp.path().join(format!("{case}.nii.gz"));
        let out = wmh(&[
            "tissue",
            "--t1",
            case::require(&dir, case::T1).unwrap().to_str().unwrap(),
            "--output",
            out_path.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let labels = read(&out_path);
        let wmh_labels = read(&case::require(&dir, case::WMH).unwrap());
        let brain = labels.data.iter().filter(|&&l| l > 0.0).count() as f64;
        let wm = labels.data.iter().filter(|&&l| l == 3.0).count() as f64;
        let lesions: Vec<usize> = (0..wmh_labels.data.len())
            .filter(|&i| wmh_labels.data[i] == 1.0)
            .collect();
        let in_brain =
            lesions.iter().filter(|&&i| labels.data[i] > 0.0).count() as f64 / lesions.len() as f64;
        let ml = brain * labels.geometry.voxel_volume_mm3() / 1000.0;
        println!(
            "{case}: brain {ml:.0} mL, WM {:.0} %, WMH inside the brain {:.1} %",
            100.0 * wm / brain,
            100.0 * in_brain
        );
        assert!((900.0..2000.0).contains(&ml), "{case}: brain {ml} mL");
        assert!(
            (0.25..0.6).contains(&(wm / brain)),
            "{case}: WM share {}",
            wm / brain
        );
        assert!(in_brain >= 0.97, "{case}: {in_brain}");
    }
}

#[test]
#[ignore = "needs ../shared/fixtures"]
fn evaluate_reproduces_the_official_golden_metrics() {
    let dir = shared_data().join("../fixtures/metrics-golden");
    let out = wmh(&[
        "evaluate",
        "--reference",
        dir.join("wmh_float32.nii.gz").to_str().unwrap(),
        "--prediction",
        dir.join("result.nii.gz").to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let expected = &expected["gt_float32"];
    for key in ["dsc", "h95", "avd", "recall", "f1"] {
        let (g, e) = (got[key].as_f64().unwrap(), expected[key].as_f64().unwrap());
        assert!((g - e).abs() < 1e-4, "{key}: got {g}, expected {e}");
    }
    assert_eq!(got["reference_voxels"], expected["gt_voxels"]);
    assert_eq!(got["prediction_voxels"], expected["res_voxels"]);
}

/// The real pairs (FLAIR + registered T1) of `flair/` and `vascular/`.
fn pairs(data: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = ["flair", "vascular"]
        .iter()
        .filter_map(|d| std::fs::read_dir(data.join(d)).ok())
        .flatten()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

#[test]
#[ignore = "needs ../shared/data"]
fn a_skull_stripped_flair_lines_up_with_its_head_t1_and_a_shifted_one_does_not() {
    use wmh::pipeline::{Inputs, Overlap, PipelineError, Preparation};
    use wmh::volume::{Volume, affine, foreground_mask, resample};
    let data = shared_data();
    let read = |p: &Path| {
        Volume::from_nifti_bytes(&std::fs::read(p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    for case in pairs(&data) {
        let flair = read(&case::require(&case, case::FLAIR).unwrap());
        let t1 = read(&case::require(&case, case::T1).unwrap());
        let axis = affine::slice_axis(&flair.geometry.affine);
        let r = resample::onto_grid(&t1, flair.dims, &flair.geometry.affine);
        // Stripped as a preprocessing pipeline would: the brain found in the T1.
        let brain = wmh::brain::brain_mask_stored(&r.data, &flair.geometry.affine, flair.dims);
        let mut stripped = flair.clone();
        stripped.data.iter_mut().zip(&brain).for_each(|(v, &b)| {
            if !b {
                *v = 0.0
            }
        });
        let overlap = |f: &Volume, t: &Volume| {
            let r = resample::onto_grid(t, f.dims, &f.geometry.affine);
            Overlap::of(
                &foreground_mask(&f.data, f.dims, axis),
                &foreground_mask(&r.data, f.dims, axis),
            )
        };
        let shifted = |mm: f64| {
            let mut a = t1.geometry.affine;
            a[0][3] += mm;
            let mut t = t1.clone();
            t.geometry = Geometry::from_affine(a);
            t
        };
        let o = overlap(&stripped, &t1);
        let shifts = [10.0, 20.0, 30.0].map(|mm| overlap(&stripped, &shifted(mm)));
        println!(
            "{}: stripped FLAIR + head T1: Dice {:.2}, contained {:.3}; shifted 10/20/30 mm: contained {:.3} / {:.3} / {:.3}",
            case.display(),
            o.dice,
            o.contained,
            shifts[0].contained,
            shifts[1].contained,
            shifts[2].contained,
        );
        let prep = Preparation::default();
        assert!(
            Inputs::prepare(stripped.clone(), Some(&t1), prep).is_ok(),
            "{}: {o:?}",
            case.display()
        );
        let refused = Inputs::prepare(stripped, Some(&shifted(30.0)), prep);
        assert!(
            matches!(refused, Err(PipelineError::Misaligned(_))),
            "{}: a 30 mm shift passed ({:?})",
            case.display(),
            shifts[2]
        );
    }
}

/// Brain extraction on heads with a known brain: three MASS brains (skull-stripped T1s
/// of other people than the template's) wrapped in synthetic CSF, skull, fat and skin
/// (`train::head`, randomised thicknesses and intensities), with 3 mm slices. The
/// extraction must recover each brain with Dice >= 0.95 (experiments/brain-extraction
/// has all five, at 1 mm too).
#[test]
#[ignore = "needs ../shared/data"]
fn brain_extraction_recovers_known_brains_inside_synthetic_heads() {
    use wmh::brain::{Method, extract};
    use wmh::volume::{Reorientation, index};
    let data = shared_data();
    let mut failures = Vec::new();
    // The worst two and the best of the five in experiments/brain-extraction, each with
    // the seed of its head there.
    for (case, seed) in [("mass-07", 13), ("mass-13", 15), ("mass-10", 14)] {
        let dir = data.join("tissue").join(case);
        let t1 = read(&dir.join("t1.nii.gz"));
        let tissue = read(&dir.join("tissue.nii.gz"));
        let reorient = Reorientation::to_ras(&t1.geometry.affine, t1.dims);
        let spacing = reorient.canonical_spacing(t1.geometry.voxel_sizes());
        let (d, image, labels) = (
            reorient.canonical_dims(),
            reorient.forward(&t1.data),
            reorient.forward(&tissue.data),
        );
        // Room for the head: 24 voxels of background on every side.
        const PAD: usize = 24;
        let dims = d.map(|e| e + 2 * PAD);
        let mut head = vec![0f32; dims.iter().product()];
        for k in 0..d[2] {
            for j in 0..d[1] {
                for i in 0..d[0] {
                    head[index(dims, i + PAD, j + PAD, k + PAD)] = image[index(d, i, j, k)];
                }
            }
        }
        let truth: Vec<bool> = head.iter().map(|&v| v > 0.0).collect();
        let wm: Vec<f32> = (0..image.len())
            .filter(|&i| labels[i].round() == 3.0)
            .map(|i| image[i])
            .collect();
        let level = wmh::volume::percentile(&wm, 50.0);
        wmh::train::head::wrap_in_head(&mut head, dims, spacing, level, seed);
        // Three slices averaged into one, as thick clinical slices blur.
        const THICK: usize = 3;
        let plane = dims[0] * dims[1];
        let nz = dims[2] / THICK;
        let mut image = vec![0f32; plane * nz];
        let mut brain = vec![false; plane * nz];
        for z in 0..nz {
            for p in 0..plane {
                let vs = (0..THICK).map(|t| (z * THICK + t) * plane + p);
                image[z * plane + p] = vs.clone().map(|v| head[v]).sum::<f32>() / THICK as f32;
                brain[z * plane + p] = vs.filter(|&v| truth[v]).count() * 2 > THICK;
            }
        }
        let spacing = [spacing[0], spacing[1], spacing[2] * THICK as f64];
        let got = extract(&image, [dims[0], dims[1], nz], spacing);
        let d = dice(&got.mask, &brain);
        println!("{case} with 3 mm slices: {} Dice {d:.4}", got.method.name());
        if d < 0.95 || !matches!(got.method, Method::Template { .. }) {
            failures.push(format!("{case}: {} {d:.4}", got.method.name()));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
