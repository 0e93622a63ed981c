//! One training run in small steps: [`Trainer::open`] (load the cases, start or resume
//! from the checkpoint), [`Trainer::step`], [`Trainer::validate_and_log`],
//! [`Trainer::checkpoint`] and [`Trainer::finish`].

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Bytes;
use burn_store::{BurnpackStore, ModuleSnapshot};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::average::{self, WeightAverage};
use super::data::Case;
use super::patches::{Patches, load_cases};
use super::{TrainConfig, export, validate};
use crate::files;
use crate::model::{UNet, balanced_bce, soft_dice};

/// Patches per batch when the averaged weights' batch-norm statistics are re-measured.
const RECALIBRATION_BATCH: usize = 32;

/// The first line of `log.csv`.
pub(super) const LOG_HEADER: &str = "step,seconds,loss,val_dice,val_f1,slices_per_s";

/// The generator of a run's patches: ChaCha12, the algorithm behind `StdRng` (so runs
/// seeded before it was named draw the same), whose position can be checkpointed.
pub type TrainRng = rand::rngs::ChaCha12Rng;

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

/// What a checkpoint holds besides the patch generator.
struct Progress {
    model: UNet,
    optim: ModuleOptimizer,
    state: State,
    average: Option<WeightAverage>,
}

impl Progress {
    /// This progress with the weights, optimizer state, steps and weight average of the
    /// checkpoint in `dir`.
    fn restore(self, dir: &Path, config: &TrainConfig, device: &Device) -> Result<Self> {
        let mut model = self.model;
        let path = dir.join("model.bpk");
        model
            .load_from(&mut BurnpackStore::from_bytes(Some(read(&path)?)))
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        let path = dir.join("optim.bin");
        let optim = (self.optim)
            .from_bytes(read(&path)?)
            .map_err(|e| anyhow!("{}: {e:?}", path.display()))?;
        let path = dir.join("state.json");
        let state: State =
            serde_json::from_slice(&read(&path)?).with_context(|| format!("{}", path.display()))?;
        let average = if state.averaged > 0 {
            let path = dir.join("average.bpk");
            let mut mean: UNet = config.unet().init(device);
            mean.load_from(&mut BurnpackStore::from_bytes(Some(read(&path)?)))
                .map_err(|e| anyhow!("{}: {e}", path.display()))?;
            Some(WeightAverage::restore(mean, state.averaged))
        } else {
            None
        };
        Ok(Self {
            model,
            optim,
            state,
            average,
        })
    }
}

/// Mean loss and throughput since the last validation.
struct Window {
    loss_sum: f64,
    steps: usize,
    since: Instant,
}

impl Window {
    fn new() -> Self {
        Self {
            loss_sum: 0.0,
            steps: 0,
            since: Instant::now(),
        }
    }

    fn loss(&self) -> f64 {
        self.loss_sum / self.steps as f64
    }
}

/// A training run in progress.
pub struct Trainer {
    config: TrainConfig,
    out: PathBuf,
    device: Device,
    autodiff: Device,
    patches: Patches,
    val: Vec<Case>,
    weights: (f64, f64),
    model: UNet,
    optim: ModuleOptimizer,
    learning_rate: ModuleLrScheduler,
    average: Option<WeightAverage>,
    state: State,
    rng: TrainRng,
    log: File,
    bar: ProgressBar,
    /// Training seconds of earlier calls (a resumed run's), and when this one began.
    seconds_before: f64,
    start: Instant,
    last_checkpoint: Instant,
    window: Window,
}

/// A bar for a run of `steps` steps, `done` of them done.
fn progress_bar(steps: usize, done: usize) -> Result<ProgressBar> {
    let style = ProgressStyle::with_template(
        "{msg} [{bar:30}] {pos}/{len} steps, {elapsed} elapsed, eta {eta}",
    )?
    .progress_chars("=> ");
    let bar = ProgressBar::new(steps as u64).with_style(style);
    bar.set_position(done as u64);
    Ok(bar)
}

/// Reads a checkpoint file, naming it in any error.
fn read(path: &Path) -> Result<Bytes> {
    std::fs::read(path)
        .map(Bytes::from_bytes_vec)
        .with_context(|| format!("{}: cannot read the checkpoint", path.display()))
}

impl Trainer {
    /// Loads the cases and starts the run in `out`, or resumes it from its checkpoint
    /// when `resume` is set and one exists. `device` is a plain device (autodiff is
    /// added). A resume loads the optimizer state on burn's `Device::default()` first
    /// (burn-optim 0.22), so a caller without a GPU must make that the CPU, as `wmh` does.
    pub fn open(
        config: TrainConfig,
        data_dir: &Path,
        out: &Path,
        device: &Device,
        resume: bool,
    ) -> Result<Self> {
        let checkpoint = out.join("checkpoint");
        std::fs::create_dir_all(&checkpoint)
            .with_context(|| format!("{}: cannot create the run folder", checkpoint.display()))?;
        files::write_all_atomic(&[(out.join("config.json"), serde_json::to_vec_pretty(&config)?)])?;
        let patches = Patches::new(&config, load_cases(&config, data_dir, &config.train_cases)?);
        let val = load_cases(&config, data_dir, &config.val_cases)?;

        device.seed(config.seed);
        let autodiff = device.clone().autodiff();
        let fresh = Progress {
            model: config.unet().init(&autodiff),
            optim: AdamConfig::new().init(),
            state: State {
                step: 0,
                best_dice: -1.0,
                seconds: 0.0,
                averaged: 0,
                draws: None,
            },
            average: None,
        };
        let resumed = resume && checkpoint.join("state.json").exists();
        let Progress {
            model,
            optim,
            state,
            average,
        } = if resumed {
            let progress = fresh.restore(&checkpoint, &config, device)?;
            eprintln!("resuming at step {}", progress.state.step);
            progress
        } else {
            fresh
        };
        let learning_rate = config
            .lr_schedule
            .scheduler(config.lr, config.steps, state.step)?;
        let log = Self::open_log(&out.join("log.csv"), resumed.then_some(state.step))?;
        let (beta, wp, wn) = patches.class_weights(config.balance, config.seed);
        eprintln!(
            "{} training cases, {} validation cases; positive fraction beta = {beta:.5} ({:?}), weights {wp:.2}/{wn:.4}",
            patches.cases.len(),
            val.len(),
            config.balance,
        );
        let bar = progress_bar(config.steps, state.step)?;
        Ok(Self {
            rng: draws(config.seed, &state),
            seconds_before: state.seconds,
            config,
            out: out.to_path_buf(),
            device: device.clone(),
            autodiff,
            patches,
            val,
            weights: (wp, wn),
            model,
            optim,
            learning_rate,
            average,
            state,
            log,
            bar,
            start: Instant::now(),
            last_checkpoint: Instant::now(),
            window: Window::new(),
        })
    }

    /// `log.csv` ready for appending: a fresh start replaces an earlier run's log; a
    /// resume at step `resumed_at` keeps the rows up to it, since steps logged after the
    /// checkpoint are trained (and logged) again.
    fn open_log(path: &Path, resumed_at: Option<usize>) -> Result<File> {
        let kept = match (std::fs::read_to_string(path), resumed_at) {
            (Ok(text), Some(step)) => log_up_to(&text, step),
            _ => String::new(),
        };
        files::write_all_atomic(&[(path, format!("{LOG_HEADER}\n{kept}").into_bytes())])?;
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("{}: cannot append to the log", path.display()))
    }

    /// Optimiser steps done.
    pub fn steps_done(&self) -> usize {
        self.state.step
    }

    /// One optimiser step on a fresh batch of patches (and the weight average, when due).
    pub fn step(&mut self) {
        let c = &self.config;
        let [x, y, v] = self.patches.batch(c.batch, &mut self.rng, &self.autodiff);
        let logits = self.model.forward(x);
        let mut loss = balanced_bce(logits.clone(), y.clone(), v.clone(), self.weights);
        if c.dice_weight > 0.0 {
            loss = loss + soft_dice(logits, y, v).mul_scalar(c.dice_weight);
        }
        let loss_value = (loss.clone().into_data().try_to_vec::<f32>()).map_or(f32::NAN, |l| l[0]);
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self
            .optim
            .step(self.learning_rate.step(), self.model.clone(), grads);
        self.state.step += 1;
        let step = self.state.step;
        if c.average_from
            .is_some_and(|from| step >= from && (step - from).is_multiple_of(c.average_every))
        {
            match self.average.as_mut() {
                Some(a) => a.add(&self.model),
                None => self.average = Some(WeightAverage::new(&self.model)),
            }
            self.state.averaged = self.average.as_ref().map_or(0, WeightAverage::count);
        }
        self.window.steps += 1;
        self.window.loss_sum += f64::from(loss_value);
        self.bar.set_position(step as u64);
        self.bar
            .set_message(format!("loss {:.4}", self.window.loss()));
    }

    /// Whether this step is one to validate at.
    pub fn validation_due(&self) -> bool {
        self.state.step.is_multiple_of(self.config.val_every)
            || self.state.step == self.config.steps
    }

    fn seconds(&self) -> f64 {
        self.seconds_before + self.start.elapsed().as_secs_f64()
    }

    /// Scores the network on the validation cases, appends a row to `log.csv`, redraws
    /// the curves and exports `best/` when the Dice is the best so far.
    pub fn validate_and_log(&mut self) -> Result<()> {
        let rate = (self.window.steps * self.config.batch) as f64
            / self.window.since.elapsed().as_secs_f64();
        let scores = validate(
            &self.model.valid(),
            self.config.context,
            &self.val,
            &self.device,
        );
        self.state.seconds = self.seconds();
        let loss = self.window.loss();
        writeln!(
            self.log,
            "{},{:.1},{loss:.5},{:.4},{:.4},{rate:.2}",
            self.state.step, self.state.seconds, scores.dice, scores.f1
        )
        .and_then(|()| self.log.flush())
        .with_context(|| {
            format!(
                "{}: cannot write the log",
                self.out.join("log.csv").display()
            )
        })?;
        // A picture is a convenience: failing to draw it must not stop training.
        if let Err(e) = super::curves::plot_run(&self.out) {
            self.bar
                .suspend(|| eprintln!("warning: curves.png not drawn: {e:#}"));
        }
        self.bar.suspend(|| {
            eprintln!(
                "step {}: loss {loss:.4}, validation Dice {:.4}, lesion F1 {:.4}, {rate:.1} slices/s",
                self.state.step, scores.dice, scores.f1
            )
        });
        if scores.dice > self.state.best_dice {
            self.state.best_dice = scores.dice;
            export(&self.model.valid(), &self.config, &self.out.join("best"))?;
        }
        self.window = Window::new();
        Ok(())
    }

    /// Whether a checkpoint is due by the clock.
    pub fn checkpoint_due(&self) -> bool {
        self.last_checkpoint.elapsed().as_secs() >= self.config.checkpoint_secs
    }

    /// Saves model, optimizer, weight average and progress into `checkpoint/`, each file
    /// staged whole and renamed into place together, the progress last, so that a run
    /// killed at any moment resumes from a complete checkpoint.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.state.seconds = self.seconds();
        self.state.draws = Some(self.rng.get_word_pos());
        let dir = self.out.join("checkpoint");
        let snapshot = |model: &UNet| -> Result<Vec<u8>> {
            let mut store = BurnpackStore::from_bytes(None);
            model
                .save_into(&mut store)
                .map_err(|e| anyhow!("checkpoint model: {e}"))?;
            Ok(store
                .get_bytes()
                .map_err(|e| anyhow!("checkpoint model: {e}"))?
                .to_vec())
        };
        let mut staged = vec![
            (dir.join("model.bpk"), snapshot(&self.model)?),
            (
                dir.join("optim.bin"),
                (self.optim.into_bytes())
                    .map_err(|e| anyhow!("checkpoint optimizer: {e:?}"))?
                    .to_vec(),
            ),
        ];
        if let Some(a) = &self.average {
            staged.push((dir.join("average.bpk"), snapshot(a.mean())?));
        }
        staged.push((dir.join("state.json"), serde_json::to_vec(&self.state)?));
        files::write_all_atomic(&staged)?;
        self.last_checkpoint = Instant::now();
        Ok(())
    }

    /// Exports `last/`, and `average/` (its batch-norm statistics re-measured) when the
    /// weights were averaged.
    pub fn finish(self) -> Result<()> {
        self.bar.finish();
        let c = &self.config;
        export(&self.model.valid(), c, &self.out.join("last"))?;
        let Some(a) = &self.average else {
            return Ok(());
        };
        // Its own generator, so the run's draws do not depend on the recalibration.
        let mut rng = TrainRng::seed_from_u64(c.seed.wrapping_add(0x5ca1_ab1e));
        let batches = (0..average::RECALIBRATION_BATCHES).map(|_| {
            self.patches
                .batch(RECALIBRATION_BATCH, &mut rng, &self.device)[0]
                .clone()
        });
        let mean = average::recalibrate_batch_norm(a.mean(), batches, &self.device);
        let scores = validate(&mean, c.context, &self.val, &self.device);
        eprintln!(
            "average of {} networks from step {}: validation Dice {:.4}, lesion F1 {:.4}",
            a.count(),
            c.average_from.unwrap_or_default(),
            scores.dice,
            scores.f1
        );
        export(&mean, c, &self.out.join("average"))
    }

    /// Says that the time limit ended the run early.
    pub fn report_time_limit(&self) {
        self.bar
            .suspend(|| eprintln!("time limit reached: stopping at step {}", self.state.step));
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
}
