//! `wmh train` end to end on a generated case: a time limit stops the run early with
//! weights, log and checkpoint written, `--resume` carries on to the full step count, and
//! a fresh start replaces the log, a resumed run ends where an uninterrupted one does,
//! weight averaging exports its mean and survives a resume, and a network with
//! concatenated shortcuts trains, exports and segments; resuming on the CPU needs no GPU
//! adapter.

use crate::common;

use common::wmh;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wmh::case;

/// `wmh train` on a tiny network with `extra` flags, ready to run.
fn train_command(data: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wmh"));
    command
        .args(["train", "--task", "wmh", "--data"])
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(["--train", "example", "--val", "example", "--width", "4"])
        .args(["--patch", "32", "--batch", "2", "--val-every", "100"])
        .args(extra);
    command
}

fn train(data: &Path, out: &Path, extra: &[&str]) -> Output {
    train_command(data, out, extra)
        .output()
        .expect("the wmh binary runs")
}

/// A data folder under `dir` whose only FLAIR case is the generated example, its truth
/// as the case's WMH label; returns the folder.
fn example_data(dir: &Path) -> PathBuf {
    let case = dir.join("data/flair/example");
    let made = wmh(&["example", "--out", case.to_str().unwrap()]);
    assert!(made.status.success(), "{made:?}");
    dir.join("data")
}

/// The step column of a run's log.csv.
fn logged_steps(out: &Path) -> Vec<usize> {
    std::fs::read_to_string(out.join("log.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn a_time_limit_stops_with_weights_and_resume_finishes_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = example_data(tmp.path());
    let out = tmp.path().join("run");

    // A zero limit ends the run after its first step, long before the 50 asked for.
    let cosine = ["--lr-schedule", "cosine"];
    let first = train(
        &data,
        &out,
        &[&cosine[..], &["--steps", "50", "--time-limit", "0"]].concat(),
    );
    assert!(first.status.success(), "{first:?}");
    assert!(String::from_utf8_lossy(&first.stderr).contains("time limit reached"));
    assert_eq!(logged_steps(&out), vec![1]);
    for f in [
        "last/wmh.json",
        "last/wmh.safetensors",
        "checkpoint/state.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }

    let config = std::fs::read_to_string(out.join("config.json")).unwrap();
    assert!(config.contains(r#""lr_schedule": "cosine""#), "{config}");

    let second = train(
        &data,
        &out,
        &[&cosine[..], &["--steps", "3", "--resume"]].concat(),
    );
    assert!(second.status.success(), "{second:?}");
    assert!(String::from_utf8_lossy(&second.stderr).contains("resuming at step 1"));
    assert_eq!(logged_steps(&out), vec![1, 3]);

    // Starting afresh in the same folder replaces the log rather than appending to it.
    let fresh = train(&data, &out, &["--steps", "2"]);
    assert!(fresh.status.success(), "{fresh:?}");
    assert_eq!(logged_steps(&out), vec![2]);
}

#[test]
fn resuming_on_the_cpu_needs_no_gpu_adapter() {
    let tmp = tempfile::tempdir().unwrap();
    let data = example_data(tmp.path());
    let out = tmp.path().join("run");
    let first = train(&data, &out, &["--steps", "5", "--time-limit", "0"]);
    assert!(first.status.success(), "{first:?}");

    // No Vulkan driver and no EGL vendor: wgpu finds no adapter, as on a machine without
    // a GPU stack. Loading the optimizer state must not reach for one.
    let resumed = train_command(&data, &out, &["--steps", "3", "--resume"])
        .env_remove("BURN_DEVICE")
        .env("VK_DRIVER_FILES", "/nonexistent")
        .env("VK_ICD_FILENAMES", "/nonexistent")
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent")
        .env("__EGL_VENDOR_LIBRARY_DIRS", "/nonexistent")
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{resumed:?}");
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("resuming at step 1"));
    assert_eq!(logged_steps(&out), vec![1, 3]);
}

/// The beta a run reports on stderr.
fn reported_beta(stderr: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(stderr);
    let after = text.split("beta = ").nth(1).expect("beta reported");
    after.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn balance_over_patches_measures_what_lesion_centred_sampling_feeds_the_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let data = example_data(tmp.path());

    let run = |balance: &str| {
        let out = tmp.path().join(balance);
        let done = train(&data, &out, &["--steps", "1", "--balance", balance]);
        assert!(done.status.success(), "{done:?}");
        let config = std::fs::read_to_string(out.join("config.json")).unwrap();
        assert!(
            config.contains(&format!(r#""balance": "{balance}""#)),
            "{config}"
        );
        reported_beta(&done.stderr)
    };
    let (volumes, patches) = (run("volumes"), run("patches"));
    // Most patches are centred on a lesion, so they hold far more lesion than the
    // volume's air, skull and brain do.
    assert!(volumes > 0.0 && volumes < 0.05, "{volumes}");
    assert!(
        patches > 3.0 * volumes && patches < 0.5,
        "{patches} vs {volumes}"
    );
}

/// The loss column of a run's log.csv.
fn logged_losses(out: &Path) -> Vec<f64> {
    std::fs::read_to_string(out.join("log.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn a_dice_weight_adds_the_soft_dice_term_to_the_same_first_step() {
    let tmp = tempfile::tempdir().unwrap();
    let data = example_data(tmp.path());

    let run = |dice: &str| {
        let out = tmp.path().join(format!("dice-{dice}"));
        let done = train(&data, &out, &["--steps", "1", "--dice-weight", dice]);
        assert!(done.status.success(), "{done:?}");
        let config = std::fs::read_to_string(out.join("config.json")).unwrap();
        assert!(
            config.contains(&format!(r#""dice_weight": {dice}"#)),
            "{config}"
        );
        logged_losses(&out)[0]
    };
    // Same seed, so the same initial network and batch: the difference is the soft-Dice
    // loss of an untrained network, weighted by 2, which lies between 0 and 2 and is far
    // from 0 (its output is near 0.5 everywhere, while lesions are a small part of it).
    let (bce, both) = (run("0.0"), run("2.0"));
    let dice = (both - bce) / 2.0;
    assert!(dice > 0.3 && dice < 1.0, "BCE {bce}, with Dice {both}");
}

#[test]
fn the_flair_normalisation_reaches_the_exported_network_and_what_it_sees() {
    let tmp = tempfile::tempdir().unwrap();
    let data = example_data(tmp.path());
    let run = |norm: &str| {
        let out = tmp.path().join(format!("norm-{norm}"));
        let done = train(&data, &out, &["--steps", "1", "--normalisation", norm]);
        assert!(done.status.success(), "{done:?}");
        let config = std::fs::read_to_string(out.join("config.json")).unwrap();
        assert!(
            config.contains(&format!(r#""normalisation": "{norm}""#)),
            "{config}"
        );
        let spec = std::fs::read_to_string(out.join("last/wmh.json")).unwrap();
        // Inference must prepare the FLAIR as training did; the z-score is the default
        // an older weights file without the field is read with.
        assert_eq!(
            spec.contains(r#""normalisation": "peak""#),
            norm == "peak",
            "{spec}"
        );
        logged_losses(&out)[0]
    };
    // Same seed, same patches: only the input's scale differs, and with it the loss.
    assert_ne!(run("zscore"), run("peak"));
}

/// The "average of N networks" count a run reports on stderr.
fn reported_average(stderr: &[u8]) -> usize {
    let text = String::from_utf8_lossy(stderr);
    let rest = text
        .split("average of ")
        .nth(1)
        .unwrap_or_else(|| panic!("no average reported: {text}"));
    rest.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn weight_averaging_exports_the_mean_and_carries_it_across_a_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let data = example_data(tmp.path());
    let average = ["--average-from", "2", "--average-every", "2"];

    // Steps 2, 4 and 6 join the average.
    let whole = tmp.path().join("whole");
    let done = train(&data, &whole, &[&average[..], &["--steps", "6"]].concat());
    assert!(done.status.success(), "{done:?}");
    assert_eq!(reported_average(&done.stderr), 3);
    let config = std::fs::read_to_string(whole.join("config.json")).unwrap();
    assert!(config.contains(r#""average_from": 2"#), "{config}");
    let mean = std::fs::read(whole.join("average/wmh.safetensors")).unwrap();
    let last = std::fs::read(whole.join("last/wmh.safetensors")).unwrap();
    assert_eq!(mean.len(), last.len());
    assert_ne!(
        mean, last,
        "the mean of three steps' weights is not the last one"
    );
    assert!(whole.join("average/wmh.json").is_file());

    // Stopped after step 4 (two in the average) and resumed: the checkpointed mean
    // continues rather than starting over.
    let split = tmp.path().join("split");
    let first = train(&data, &split, &[&average[..], &["--steps", "4"]].concat());
    assert!(first.status.success(), "{first:?}");
    assert_eq!(reported_average(&first.stderr), 2);
    let second = train(
        &data,
        &split,
        &[&average[..], &["--steps", "6", "--resume"]].concat(),
    );
    assert!(second.status.success(), "{second:?}");
    assert_eq!(reported_average(&second.stderr), 3);

    // Without the option there is no average.
    let plain = tmp.path().join("plain");
    let done = train(&data, &plain, &["--steps", "2"]);
    assert!(done.status.success(), "{done:?}");
    assert!(!plain.join("average").exists());
}

/// The probability map `segment` writes for `flair` with the WMH network in `weights`.
fn probabilities(weights: &Path, flair: &Path, out: &Path) -> Vec<u8> {
    let done = wmh(&[
        "segment",
        "--weights",
        weights.to_str().unwrap(),
        "--flair",
        flair.to_str().unwrap(),
        "--output",
        out.join("mask.nii").to_str().unwrap(),
        "--probability",
        out.join("prob.nii").to_str().unwrap(),
    ]);
    assert!(done.status.success(), "{done:?}");
    std::fs::read(out.join("prob.nii")).unwrap()
}

#[test]
fn a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = example_data(tmp.path());
    let flair = case::require(&data.join("flair/example"), case::FLAIR).unwrap();

    let whole = tmp.path().join("whole");
    let done = train(&data, &whole, &["--steps", "4"]);
    assert!(done.status.success(), "{done:?}");

    // Stopped after its first step, then resumed: the checkpoint holds the patch
    // generator's position, so steps 2-4 draw the patches the whole run drew.
    let split = tmp.path().join("split");
    let first = train(&data, &split, &["--steps", "4", "--time-limit", "0"]);
    assert!(first.status.success(), "{first:?}");
    assert_eq!(logged_steps(&split), vec![1]);
    let second = train(&data, &split, &["--steps", "4", "--resume"]);
    assert!(second.status.success(), "{second:?}");
    assert!(String::from_utf8_lossy(&second.stderr).contains("resuming at step 1"));

    let a = probabilities(&whole.join("last"), &flair, &whole);
    let b = probabilities(&split.join("last"), &flair, &split);
    assert!(
        a == b,
        "the resumed run's network differs from the uninterrupted one's"
    );

    // A run with another seed gives other probabilities, so the comparison has teeth.
    let other = tmp.path().join("other");
    let done = train(&data, &other, &["--steps", "4", "--seed", "2"]);
    assert!(done.status.success(), "{done:?}");
    assert!(probabilities(&other.join("last"), &flair, &other) != a);
}

#[test]
fn a_network_with_concatenated_shortcuts_trains_exports_and_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let data = example_data(tmp.path());
    let flair = case::require(&data.join("flair/example"), case::FLAIR).unwrap();

    let concat = tmp.path().join("concat");
    let done = train(&data, &concat, &["--steps", "2", "--shortcut", "concat"]);
    assert!(done.status.success(), "{done:?}");
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(concat.join("last/wmh.json")).unwrap()).unwrap();
    assert_eq!(spec["unet"]["shortcut"], "concat", "{spec}");

    // The exported spec rebuilds the wider decoders, so its weights load and segment;
    // the same seed with added shortcuts is another network.
    let a = probabilities(&concat.join("last"), &flair, &concat);
    let add = tmp.path().join("add");
    let done = train(&data, &add, &["--steps", "2"]);
    assert!(done.status.success(), "{done:?}");
    assert!(probabilities(&add.join("last"), &flair, &add) != a);
}

#[test]
fn a_simulated_flair_is_written_on_its_t1_grid_and_trains_a_network_that_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let data = example_data(tmp.path());
    let example = data.join("flair/example");
    let flair = case::require(&example, case::FLAIR).unwrap();
    let t1 = case::require(&example, case::T1).unwrap();
    let truth = case::require(&example, case::WMH).unwrap();

    // `wmh synth` paints the labelled lesions bright on the T1's own grid.
    let synth = |out: &Path, more: &[&str]| {
        let (t1, truth, out) = (t1.to_str(), truth.to_str(), out.to_str());
        let args = ["synth", "--t1", t1.unwrap(), "--wmh", truth.unwrap()];
        let done = wmh(&[&args[..], &["-o", out.unwrap(), "--json"], more].concat());
        assert!(done.status.success(), "{done:?}");
        serde_json::from_slice::<serde_json::Value>(&done.stdout).unwrap()
    };
    let simulated = tmp.path().join("synth.nii.gz");
    let summary = synth(&simulated, &[]);
    let read =
        |p: &Path| wmh::volume::Volume::from_nifti_bytes(&std::fs::read(p).unwrap()).unwrap();
    let (image, t1v, labels) = (read(&simulated), read(&t1), read(&truth));
    assert_eq!(image.dims, t1v.dims);
    assert_eq!(image.geometry.affine, t1v.geometry.affine);
    let lesion: Vec<bool> = labels.data.iter().map(|&v| v == 1.0).collect();
    let count = lesion.iter().filter(|&&l| l).count();
    assert_eq!(summary["lesion_voxels"], count);
    let mean = |inside: bool| {
        let v: Vec<f32> = (image.data.iter().zip(&lesion))
            .filter(|&(_, &l)| l == inside)
            .map(|(&v, _)| v)
            .collect();
        v.iter().sum::<f32>() / v.len() as f32
    };
    assert!(mean(true) > 2.0 * mean(false), "lesions are not bright");
    assert_eq!(summary["spread"], 0.0);

    // `--variation regional` says what it drew: per-lesion spread, brighter regions.
    let regional = tmp.path().join("regional.nii");
    let summary = synth(&regional, &["--variation", "regional"]);
    assert!(summary["spread"].as_f64().unwrap() > 0.0, "{summary}");
    let regions = summary["regions"].as_array().unwrap().len();
    assert!((2..=5).contains(&regions), "{summary}");
    assert_ne!(read(&regional).data, image.data);

    // A T1 with labels under `wmh2017/` is a training case whose FLAIR is simulated, and
    // a case under `vascular/` a real one: they train, export and segment a real FLAIR.
    for folder in ["wmh2017/example", "vascular/example"] {
        let dir = data.join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&t1, dir.join("t1.nii.gz")).unwrap();
        std::fs::copy(&truth, dir.join("wmh.nii.gz")).unwrap();
    }
    std::fs::copy(&flair, data.join("vascular/example/flair.nii.gz")).unwrap();
    let out = tmp.path().join("synth-run");
    let done = train_command(&data, &out, &["--steps", "2"])
        .args(["--train", "wmh2017/example,vascular/example"])
        .args(["--synth-variation", "regional"])
        .output()
        .unwrap();
    assert!(done.status.success(), "{done:?}");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    let cases = config["train_cases"].as_array().unwrap();
    for name in ["wmh2017/example", "vascular/example"] {
        assert!(cases.iter().any(|c| c == name), "{config}");
    }
    assert_eq!(config["synth_variation"], "regional", "{config}");
    let probs = probabilities(&out.join("last"), &flair, &out);
    let mask = read(&out.join("mask.nii"));
    assert_eq!(mask.dims, read(&flair).dims);
    assert!(!probs.is_empty());
}
