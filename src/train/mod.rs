//! Training both networks (native only): data, augmentation, the Adam loop,
//! validation, checkpoints and logs.
//!
//! A run lives in one folder: `config.json` (the settings), `log.csv` (one row per
//! logged step), `curves.png` (loss and validation curves, redrawn at each validation),
//! `checkpoint/` (model with parameter ids, optimizer state, step) and,
//! at the end, `<task>.json` + `<task>.safetensors`, the files `wmh segment` loads
//! (`last/`, `best/`, and `average/` when the weights are averaged along the run).

pub mod augment;
pub mod average;
pub mod curves;
pub mod data;
pub mod head;
pub mod synth;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn_store::{BurnpackStore, ModuleSnapshot};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::metrics::{dice, lesion_recall_f1};
use crate::model::{
    Ensemble, Symmetries, UNet, UNetConfig, balanced_bce, class_weights, soft_dice,
};
use crate::pipeline::{self, Network, NetworkSpec, Normalisation, Task, preprocess};
use average::WeightAverage;
use data::{Case, Sampling};

/// Everything that defines a training run; saved as `config.json` in the run folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Which network.
    pub task: Task,
    /// Architecture.
    pub unet: UNetConfig,
    /// Training cases (names as `data::Case::load` takes them).
    pub train_cases: Vec<String>,
    /// Validation cases.
    pub val_cases: Vec<String>,
    /// Optimiser steps.
    pub steps: usize,
    /// Patches per step.
    pub batch: usize,
    /// Patch side in pixels.
    pub patch: usize,
    /// Adam learning rate (the peak, with a decaying schedule).
    pub lr: f64,
    /// How the learning rate changes over the steps (constant before it was configurable).
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// Validate every this many steps.
    pub val_every: usize,
    /// Checkpoint at least this often (seconds).
    pub checkpoint_secs: u64,
    /// Seed for initialisation and sampling.
    pub seed: u64,
    /// In-plane spacing of the network (mm).
    pub spacing_mm: f64,
    /// Whether intensity augmentation is on.
    pub intensity_augmentation: bool,
    /// How the input is normalised (the z-score before it was configurable).
    #[serde(default)]
    pub normalisation: Normalisation,
    /// Multiplier of the default contrast, brightness, bias-field and noise ranges (1
    /// before it was configurable).
    #[serde(default = "one")]
    pub intensity_scale: f64,
    /// Maximum |log gamma| of the random gamma curve (0: none, as before it existed).
    #[serde(default)]
    pub log_gamma: f64,
    /// Probability that a WMH patch is centred on a lesion voxel (0.6 before it was
    /// configurable, hence the default for older configs).
    #[serde(default = "default_positive_fraction")]
    pub positive_fraction: f64,
    /// Probability that a WMH patch is centred on a bright voxel outside the lesions
    /// (a hard negative; 0, as before it existed).
    #[serde(default)]
    pub hard_fraction: f64,
    /// Probability that a patch comes from a simulated FLAIR (`wmh2017/` cases) rather
    /// than a real one, when the training set has both.
    #[serde(default)]
    pub synthetic_fraction: f64,
    /// What the class balance beta is measured on (the volumes before it was configurable).
    #[serde(default)]
    pub balance: Balance,
    /// Weight of a soft-Dice term added to the class-balanced BCE (0: BCE alone, as
    /// before it existed).
    #[serde(default)]
    pub dice_weight: f64,
    /// Average the weights from this step on (stochastic weight averaging), exported as
    /// `average/`; none: no averaging, as before it existed.
    #[serde(default)]
    pub average_from: Option<usize>,
    /// Add the weights to the average every this many steps.
    #[serde(default = "default_average_every")]
    pub average_every: usize,
}

fn default_average_every() -> usize {
    50
}

fn default_positive_fraction() -> f64 {
    0.6
}

fn one() -> f64 {
    1.0
}

/// What the class-balanced loss's beta (the positive fraction) is measured on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Balance {
    /// Every voxel of the training volumes, air included.
    #[default]
    Volumes,
    /// The patches the loss sees, drawn as training draws them (lesion-centred ones
    /// included), so positives and negatives carry equal total weight in expectation.
    Patches,
}

/// Patches per batch when the averaged weights' batch-norm statistics are re-measured.
const RECALIBRATION_BATCH: usize = 32;

/// Patches drawn to measure beta with `Balance::Patches`: enough for the fraction to be
/// stable to a few per cent, quick next to a run.
const BALANCE_PATCHES: usize = 4096;

/// The learning rate over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// `lr` at every step.
    #[default]
    Constant,
    /// Cosine annealing from `lr` at the first step to `lr` / 100 at the last, so the
    /// final weights come from small steps rather than wherever a full-size step left them.
    Cosine,
}

impl LrSchedule {
    /// The scheduler for a run of `steps` steps peaking at `lr`, advanced past `done`
    /// steps (a resumed run continues the curve where it stopped).
    fn scheduler(self, lr: f64, steps: usize, done: usize) -> Result<ModuleLrScheduler> {
        let mut s = match self {
            LrSchedule::Constant => ModuleLrScheduler::new(lr),
            LrSchedule::Cosine => {
                CosineAnnealingLrSchedulerConfig::new(lr, steps.saturating_sub(1).max(1))
                    .with_min_lr(lr / 100.0)
                    .init()
                    .map_err(|e| anyhow::anyhow!("learning rate schedule: {e}"))?
            }
        };
        for _ in 0..done {
            s.step();
        }
        Ok(s)
    }
}

/// Index of the case a patch comes from: a simulated one with probability `fraction`
/// (when there are both kinds), uniformly within the kind.
fn pick_case(real: &[usize], synthetic: &[usize], fraction: f64, rng: &mut TrainRng) -> usize {
    use rand::RngExt;
    let pool = if real.is_empty() || (!synthetic.is_empty() && rng.random_bool(fraction)) {
        synthetic
    } else {
        real
    };
    pool[rng.random_range(0..pool.len())]
}

/// `n` samples from `draw` as tensors on `device`: inputs `[n, channels, p, p]`, then
/// targets and validity `[n, 1, p, p]`.
fn batch(
    mut draw: impl FnMut() -> data::Sample,
    n: usize,
    channels: usize,
    p: usize,
    device: &Device,
) -> [Tensor<4>; 3] {
    let mut x = Vec::with_capacity(n * channels * p * p);
    let (mut y, mut v) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let s = draw();
        x.extend(s.input);
        y.extend(s.target);
        v.extend(s.valid);
    }
    [
        Tensor::<4>::from_data(TensorData::new(x, [n, channels, p, p]), device),
        Tensor::<4>::from_data(TensorData::new(y, [n, 1, p, p]), device),
        Tensor::<4>::from_data(TensorData::new(v, [n, 1, p, p]), device),
    ]
}

/// The generator of a run's patches: ChaCha12, the algorithm behind `StdRng` (so runs
/// seeded before it was named draw the same), whose position can be checkpointed.
pub type TrainRng = rand::rngs::ChaCha12Rng;

/// The patch generator at a checkpoint's position, so a resumed run draws what an
/// uninterrupted one would have. Checkpoints from before the position was saved resume
/// with a generator seeded from the step: reproducible, but other draws.
fn draws(seed: u64, state: &State) -> TrainRng {
    match state.draws {
        Some(word) => {
            let mut rng = TrainRng::seed_from_u64(seed);
            rng.set_word_pos(word);
            rng
        }
        None => {
            TrainRng::seed_from_u64(seed ^ (state.step as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        }
    }
}

/// Progress stored with a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    step: usize,
    best_dice: f64,
    seconds: f64,
    /// Networks in the weight average (`checkpoint/average.bpk`).
    #[serde(default)]
    averaged: usize,
    /// Position of the patch generator (32-bit words drawn); none in older checkpoints.
    #[serde(default, with = "word_pos")]
    draws: Option<u128>,
}

/// A generator position as a decimal string: JSON numbers lose precision beyond 2^53.
mod word_pos {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(w) => s.serialize_some(&w.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|w| w.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// The first line of `log.csv`.
const LOG_HEADER: &str = "step,seconds,loss,val_dice,val_f1,slices_per_s";

/// The data rows of a `log.csv` text (header dropped) whose step is at most `step`, each
/// ending in a newline.
fn log_up_to(text: &str, step: usize) -> String {
    text.lines()
        .filter(|l| {
            l.split(',')
                .next()
                .and_then(|s| s.parse::<usize>().ok())
                .is_some_and(|s| s <= step)
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Validation scores of one evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Validation {
    /// Mean Dice over validation cases.
    pub dice: f64,
    /// Mean lesion F1 over validation cases.
    pub f1: f64,
}

/// Runs (or resumes) training in `out`; `device` is a plain device (autodiff is added).
/// With `time_limit`, training ends early once that much time has passed in this call,
/// validating, checkpointing and exporting as at the last step (so `--resume` continues).
/// A resume loads the optimizer state on burn's `Device::default()` first (burn-optim
/// 0.22), so a caller without a GPU must make that the CPU, as `wmh` does.
pub fn run(
    config: &TrainConfig,
    data_dir: &Path,
    out: &Path,
    device: &Device,
    resume: bool,
    time_limit: Option<Duration>,
) -> Result<()> {
    let began = Instant::now();
    std::fs::create_dir_all(out.join("checkpoint"))?;
    std::fs::write(
        out.join("config.json"),
        serde_json::to_string_pretty(config)?,
    )?;
    let load = |names: &[String]| -> Result<Vec<Case>> {
        names
            .iter()
            .map(|n| {
                Case::load(
                    data_dir,
                    config.task,
                    n,
                    config.spacing_mm,
                    config.normalisation,
                )
            })
            .collect()
    };
    let train = load(&config.train_cases)?;
    // Only WMH cases from `wmh2017/` are simulated; WM cases there are real T1s.
    let (synthetic, real): (Vec<usize>, Vec<usize>) = (0..train.len())
        .partition(|&i| config.task == Task::Wmh && train[i].name.starts_with(data::SYNTH_PREFIX));
    let val = load(&config.val_cases)?;

    device.seed(config.seed);
    let ad = device.clone().autodiff();
    let mut model: UNet = config.unet.init(&ad);
    let mut optim = AdamConfig::new().init();
    let mut state = State {
        step: 0,
        best_dice: -1.0,
        seconds: 0.0,
        averaged: 0,
        draws: None,
    };
    let ckpt = out.join("checkpoint");
    let resumed = resume && ckpt.join("state.json").exists();
    if resumed {
        model
            .load_from(&mut BurnpackStore::from_file(ckpt.join("model.bpk")))
            .map_err(|e| anyhow::anyhow!("checkpoint model: {e}"))?;
        optim = optim
            .load(ckpt.join("optim.bin"))
            .map_err(|e| anyhow::anyhow!("checkpoint optimizer: {e:?}"))?;
        state = serde_json::from_str(&std::fs::read_to_string(ckpt.join("state.json"))?)?;
        eprintln!("resuming at step {}", state.step);
    }
    let mut average = if resumed && state.averaged > 0 {
        let mut mean: UNet = config.unet.init(device);
        mean.load_from(&mut BurnpackStore::from_file(ckpt.join("average.bpk")))
            .map_err(|e| anyhow::anyhow!("checkpoint average: {e}"))?;
        Some(WeightAverage::restore(mean, state.averaged))
    } else {
        None
    };
    let mut learning_rate = config
        .lr_schedule
        .scheduler(config.lr, config.steps, state.step)?;
    let log_path = out.join("log.csv");
    // A fresh start replaces an earlier run's log; a resume keeps the rows up to its
    // checkpoint, since steps logged after it are trained (and logged) again.
    let kept = match std::fs::read_to_string(&log_path) {
        Ok(text) if resumed => log_up_to(&text, state.step),
        _ => String::new(),
    };
    std::fs::write(&log_path, format!("{LOG_HEADER}\n{kept}"))?;
    let mut log = std::fs::OpenOptions::new().append(true).open(&log_path)?;
    let sampling = Sampling {
        size: config.patch,
        context: config.unet.context,
        spacing_mm: config.spacing_mm,
        positive_fraction: if config.task == Task::Wmh {
            config.positive_fraction
        } else {
            0.0
        },
        hard_fraction: if config.task == Task::Wmh {
            config.hard_fraction
        } else {
            0.0
        },
        zoom: 0.1,
        intensity: if config.intensity_augmentation {
            augment::Intensity::DEFAULT
                .scaled(config.intensity_scale as f32, config.log_gamma as f32)
        } else {
            augment::Intensity::NONE
        },
    };
    let counts: Vec<(usize, usize)> = match config.balance {
        Balance::Volumes => train.iter().map(Case::counts).collect(),
        Balance::Patches => {
            // Its own generator, so the run's draws do not depend on this measurement.
            let mut rng = TrainRng::seed_from_u64(config.seed.wrapping_add(0x0ba1_a0ce));
            (0..BALANCE_PATCHES)
                .map(|_| {
                    let case = pick_case(&real, &synthetic, config.synthetic_fraction, &mut rng);
                    data::draw(&train[case], &sampling, &mut rng).counts()
                })
                .collect()
        }
    };
    let (pos, valid) = (counts.iter()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let beta = pos as f64 / valid.max(1) as f64;
    let weights = class_weights(beta);
    eprintln!(
        "{} training cases, {} validation cases; positive fraction beta = {beta:.5} ({:?}), weights {:.2}/{:.4}",
        train.len(),
        val.len(),
        config.balance,
        weights.0,
        weights.1
    );
    let mut rng = draws(config.seed, &state);
    let bar = ProgressBar::new(config.steps as u64).with_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} steps, {elapsed} elapsed, eta {eta}",
        )?
        .progress_chars("=> "),
    );
    bar.set_position(state.step as u64);
    let start = Instant::now();
    let seconds_before = state.seconds;
    let mut last_ckpt = Instant::now();
    let mut loss_sum = 0.0;
    let mut loss_n = 0;
    let mut window = Instant::now();
    let mut window_steps = 0;
    let channels = config.unet.in_channels();
    let p = config.patch;
    while state.step < config.steps {
        let draw = || {
            let case = pick_case(&real, &synthetic, config.synthetic_fraction, &mut rng);
            data::draw(&train[case], &sampling, &mut rng)
        };
        let [x, y, v] = batch(draw, config.batch, channels, p, &ad);
        let logits = model.forward(x);
        let mut loss = balanced_bce(logits.clone(), y.clone(), v.clone(), weights);
        if config.dice_weight > 0.0 {
            loss = loss + soft_dice(logits, y, v).mul_scalar(config.dice_weight);
        }
        let loss_value = loss
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .map_or(f32::NAN, |l| l[0]);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(learning_rate.step(), model, grads);
        state.step += 1;
        if config.average_from.is_some_and(|from| {
            state.step >= from && (state.step - from).is_multiple_of(config.average_every)
        }) {
            match average.as_mut() {
                Some(a) => a.add(&model),
                None => average = Some(WeightAverage::new(&model)),
            }
            state.averaged = average.as_ref().map_or(0, WeightAverage::count);
        }
        window_steps += 1;
        loss_sum += f64::from(loss_value);
        loss_n += 1;
        bar.set_position(state.step as u64);
        bar.set_message(format!("loss {:.4}", loss_sum / loss_n as f64));
        let last = state.step == config.steps || time_limit.is_some_and(|t| began.elapsed() >= t);
        let validate_now = state.step.is_multiple_of(config.val_every) || last;
        if validate_now {
            let rate = (window_steps * config.batch) as f64 / window.elapsed().as_secs_f64();
            let val_scores = validate(&model.valid(), config.unet.context, &val, device);
            state.seconds = seconds_before + start.elapsed().as_secs_f64();
            writeln!(
                log,
                "{},{:.1},{:.5},{:.4},{:.4},{:.2}",
                state.step,
                state.seconds,
                loss_sum / loss_n as f64,
                val_scores.dice,
                val_scores.f1,
                rate
            )?;
            log.flush()?;
            // A picture is a convenience: failing to draw it must not stop training.
            if let Err(e) = curves::plot_run(out) {
                bar.suspend(|| eprintln!("warning: curves.png not drawn: {e:#}"));
            }
            bar.suspend(|| eprintln!(
                "step {}: loss {:.4}, validation Dice {:.4}, lesion F1 {:.4}, {rate:.1} slices/s",
                state.step,
                loss_sum / loss_n as f64,
                val_scores.dice,
                val_scores.f1
            ));
            if val_scores.dice > state.best_dice {
                state.best_dice = val_scores.dice;
                export(&model.valid(), config, &out.join("best"))?;
            }
            loss_sum = 0.0;
            loss_n = 0;
            window = Instant::now();
            window_steps = 0;
        }
        if last_ckpt.elapsed().as_secs() >= config.checkpoint_secs || last {
            state.seconds = seconds_before + start.elapsed().as_secs_f64();
            model
                .save_into(&mut BurnpackStore::from_file(ckpt.join("model.bpk")).overwrite(true))
                .map_err(|e| anyhow::anyhow!("checkpoint model: {e}"))?;
            optim
                .save(ckpt.join("optim.bin"))
                .map_err(|e| anyhow::anyhow!("checkpoint optimizer: {e:?}"))?;
            if let Some(a) = &average {
                a.mean()
                    .save_into(
                        &mut BurnpackStore::from_file(ckpt.join("average.bpk")).overwrite(true),
                    )
                    .map_err(|e| anyhow::anyhow!("checkpoint average: {e}"))?;
            }
            state.draws = Some(rng.get_word_pos());
            std::fs::write(ckpt.join("state.json"), serde_json::to_string(&state)?)?;
            last_ckpt = Instant::now();
        }
        if last && state.step < config.steps {
            bar.suspend(|| eprintln!("time limit reached: stopping at step {}", state.step));
            break;
        }
    }
    bar.finish();
    export(&model.valid(), config, &out.join("last"))?;
    if let Some(a) = &average {
        // Its own generator, so the run's draws do not depend on the recalibration.
        let mut rng = TrainRng::seed_from_u64(config.seed.wrapping_add(0x5ca1_ab1e));
        let batches = (0..average::RECALIBRATION_BATCHES).map(|_| {
            let draw = || {
                let case = pick_case(&real, &synthetic, config.synthetic_fraction, &mut rng);
                data::draw(&train[case], &sampling, &mut rng)
            };
            let [x, _, _] = batch(draw, RECALIBRATION_BATCH, channels, p, device);
            x
        });
        let mean = average::recalibrate_batch_norm(a.mean(), batches, device);
        let scores = validate(&mean, config.unet.context, &val, device);
        eprintln!(
            "average of {} networks from step {}: validation Dice {:.4}, lesion F1 {:.4}",
            a.count(),
            config.average_from.unwrap_or_default(),
            scores.dice,
            scores.f1
        );
        export(&mean, config, &out.join("average"))?;
    }
    Ok(())
}

/// Writes `<task>.json` and `<task>.safetensors` into `dir`.
pub fn export(model: &UNet, config: &TrainConfig, dir: &PathBuf) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let spec = NetworkSpec {
        normalisation: config.normalisation,
        ..NetworkSpec::new(config.task, config.unet.clone(), config.spacing_mm)
    };
    let net = Network {
        model: Ensemble::new(vec![model.clone()]),
        spec: spec.clone(),
    };
    let stem = config.task.stem();
    std::fs::write(
        dir.join(format!("{stem}.json")),
        serde_json::to_string_pretty(&spec)?,
    )?;
    std::fs::write(
        dir.join(format!("{stem}.safetensors")),
        net.weights_bytes(false)?,
    )
    .context("weights")?;
    Ok(())
}

/// Mean Dice and lesion F1 of whole-volume predictions on `cases` (canonical grid).
pub fn validate(model: &UNet, context: usize, cases: &[Case], device: &Device) -> Validation {
    let model = &Ensemble::new(vec![model.clone()]);
    let (mut dsum, mut fsum) = (0.0, 0.0);
    for case in cases {
        let n = case.stack.slices();
        let mut planes = Vec::with_capacity(n);
        for z0 in (0..n).step_by(4) {
            planes.extend(pipeline::predict(
                model,
                context,
                &case.stack,
                z0..(z0 + 4).min(n),
                Symmetries::One,
                device,
            ));
        }
        let prob = preprocess::assemble(&planes, &case.stack.plane, case.stack.dims);
        let pred: Vec<bool> = prob
            .iter()
            .zip(&case.valid)
            .map(|(&p, &v)| p >= 0.5 && v > 0.5)
            .collect();
        let truth: Vec<bool> = case.label.iter().map(|&l| l > 0.5).collect();
        let inter = pred.iter().zip(&truth).filter(|&(&a, &b)| a && b).count();
        dsum += dice(
            inter,
            truth.iter().filter(|&&t| t).count(),
            pred.iter().filter(|&&p| p).count(),
        );
        fsum += lesion_recall_f1(&truth, &pred, case.stack.dims).1;
    }
    let n = cases.len().max(1) as f64;
    Validation {
        dice: dsum / n,
        f1: fsum / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, RngExt};

    #[test]
    fn the_patch_generator_draws_what_std_rng_drew() {
        // The committed runs were drawn with StdRng; the named type must reproduce them.
        let mut named = TrainRng::seed_from_u64(7);
        let mut std = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..100 {
            assert_eq!(named.next_u64(), std.next_u64());
        }
    }

    #[test]
    fn a_checkpointed_generator_continues_where_it_stopped() {
        let mut rng = TrainRng::seed_from_u64(3);
        for _ in 0..37 {
            rng.random_range(0..1000);
        }
        let state = State {
            step: 5,
            best_dice: 0.0,
            seconds: 0.0,
            averaged: 0,
            draws: Some(rng.get_word_pos()),
        };
        // Through the JSON a checkpoint stores, as a resume reads it.
        let state: State = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        let mut resumed = draws(3, &state);
        let want: Vec<u32> = (0..50).map(|_| rng.random_range(0..1000)).collect();
        let got: Vec<u32> = (0..50).map(|_| resumed.random_range(0..1000)).collect();
        assert_eq!(got, want);
        // An old checkpoint without the position still resumes, seeded from the step.
        let old: State =
            serde_json::from_str(r#"{"step":5,"best_dice":0.0,"seconds":0.0}"#).unwrap();
        assert_eq!(old.draws, None);
        assert_ne!(draws(3, &old).next_u64(), draws(3, &state).next_u64());
    }

    fn rates(schedule: LrSchedule, steps: usize, done: usize, n: usize) -> Vec<f64> {
        let mut s = schedule.scheduler(1e-3, steps, done).unwrap();
        (0..n).map(|_| s.step().base()).collect()
    }

    #[test]
    fn a_resumed_log_keeps_only_the_rows_up_to_the_checkpoint() {
        let text =
            format!("{LOG_HEADER}\n250,1,0.5,0.1,0.1,9\n500,2,0.4,0.2,0.2,9\n750,3,0.3,0.3,0.3,9");
        assert_eq!(
            log_up_to(&text, 500),
            "250,1,0.5,0.1,0.1,9\n500,2,0.4,0.2,0.2,9\n"
        );
        assert_eq!(log_up_to(&text, 0), "");
    }

    #[test]
    fn constant_schedule_keeps_the_rate() {
        assert!(
            rates(LrSchedule::Constant, 10, 3, 5)
                .iter()
                .all(|&r| r == 1e-3)
        );
    }

    #[test]
    fn cosine_schedule_falls_from_the_peak_to_a_hundredth_at_the_last_step() {
        let r = rates(LrSchedule::Cosine, 101, 0, 101);
        assert!((r[0] - 1e-3).abs() < 1e-12);
        assert!((r[50] - 0.5 * (1e-3 + 1e-5)).abs() < 1e-12, "{}", r[50]);
        assert!((r[100] - 1e-5).abs() < 1e-12, "{}", r[100]);
        assert!(r.windows(2).all(|w| w[1] < w[0]));
    }

    #[test]
    fn a_resumed_cosine_schedule_continues_the_curve() {
        let whole = rates(LrSchedule::Cosine, 40, 0, 40);
        let resumed = rates(LrSchedule::Cosine, 40, 25, 15);
        assert_eq!(&whole[25..], &resumed[..]);
    }
}
