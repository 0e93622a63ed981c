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
mod config;
pub mod curves;
pub mod data;
pub mod head;
pub mod lesions;
mod patches;
pub mod synth;
mod trainer;
pub mod transplant;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use burn::prelude::*;

use crate::files;
use crate::metrics::{dice, lesion_recall_f1};
use crate::model::{Ensemble, Symmetries, UNet};
use crate::pipeline::{self, Network, NetworkSpec, preprocess};
pub use config::{Balance, LrSchedule, TrainConfig};
use data::Case;
pub use trainer::{TrainRng, Trainer};

/// Runs (or resumes) training in `out` (see [`Trainer::open`]). With `time_limit`,
/// training ends early once that much time has passed in this call, validating,
/// checkpointing and exporting as at the last step (so a resume continues).
pub fn run(
    config: TrainConfig,
    data_dir: &Path,
    out: &Path,
    device: &Device,
    resume: bool,
    time_limit: Option<Duration>,
) -> Result<()> {
    let began = Instant::now();
    let steps = config.steps;
    let mut trainer = Trainer::open(config, data_dir, out, device, resume)?;
    while trainer.steps_done() < steps {
        trainer.step();
        let out_of_time = time_limit.is_some_and(|t| began.elapsed() >= t);
        let last = trainer.steps_done() == steps || out_of_time;
        if trainer.validation_due() || last {
            trainer.validate_and_log()?;
        }
        if trainer.checkpoint_due() || last {
            trainer.checkpoint()?;
        }
        if last && trainer.steps_done() < steps {
            trainer.report_time_limit();
            break;
        }
    }
    trainer.finish()
}

/// Validation scores of one evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Validation {
    /// Mean Dice over validation cases.
    pub dice: f64,
    /// Mean lesion F1 over validation cases.
    pub f1: f64,
}

/// Writes `<task>.json` and `<task>.safetensors` into `dir`.
pub fn export(model: &UNet, config: &TrainConfig, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let spec = NetworkSpec {
        normalisation: config.normalisation,
        ..NetworkSpec::new(config.task, config.unet(), config.spacing_mm)
    };
    let net = Network {
        model: Ensemble::new(vec![model.clone()]),
        spec: spec.clone(),
    };
    let stem = config.task.stem();
    files::write_all_atomic(&[
        (
            dir.join(format!("{stem}.json")),
            serde_json::to_vec_pretty(&spec)?,
        ),
        (
            dir.join(format!("{stem}.safetensors")),
            net.weights_bytes(false)?,
        ),
    ])
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
        dsum += dice(&truth, &pred);
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

    fn rates(schedule: LrSchedule, steps: usize, done: usize, n: usize) -> Vec<f64> {
        let mut s = schedule.scheduler(1e-3, steps, done).unwrap();
        (0..n).map(|_| s.step().base()).collect()
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
