//! The patches a run learns from: its cases, which one each patch comes from (real or
//! simulated), batches of them as tensors, and the class balance they imply.

use std::path::Path;

use anyhow::Result;
use burn::prelude::*;
use rand::SeedableRng;

use super::data::{self, Case, Sampling};
use super::{Balance, TrainConfig, TrainRng, augment};
use crate::model::class_weights;
use crate::pipeline::Task;

/// Patches drawn to measure beta with `Balance::Patches`: enough for the fraction to be
/// stable to a few per cent, quick next to a run.
const BALANCE_PATCHES: usize = 4096;

/// The training cases and how patches are drawn from them.
pub(super) struct Patches {
    pub(super) cases: Vec<Case>,
    /// Indices of real and of simulated cases.
    real: Vec<usize>,
    synthetic: Vec<usize>,
    sampling: Sampling,
    synthetic_fraction: f64,
    channels: usize,
}

/// The named cases of a run, prepared as its settings ask.
pub(super) fn load_cases(
    config: &TrainConfig,
    data_dir: &Path,
    names: &[String],
) -> Result<Vec<Case>> {
    (names.iter())
        .map(|n| {
            Case::load(
                data_dir,
                config.task,
                n,
                config.spacing_mm,
                config.normalisation,
                config.synth_variation,
            )
        })
        .collect()
}

impl Patches {
    /// Patches from `cases` drawn as `config` asks.
    pub(super) fn new(config: &TrainConfig, cases: Vec<Case>) -> Self {
        // Only WMH cases from `wmh2017/` are simulated; WM cases there are real T1s.
        let (synthetic, real): (Vec<usize>, Vec<usize>) = (0..cases.len()).partition(|&i| {
            config.task == Task::Wmh && cases[i].name.starts_with(data::SYNTH_PREFIX)
        });
        let wmh = |f: f64| if config.task == Task::Wmh { f } else { 0.0 };
        Self {
            cases,
            real,
            synthetic,
            sampling: Sampling {
                size: config.patch,
                context: config.context,
                spacing_mm: config.spacing_mm,
                positive_fraction: wmh(config.positive_fraction),
                lesion_balanced: wmh(config.lesion_balanced),
                hard_fraction: wmh(config.hard_fraction),
                zoom: 0.1,
                intensity: if config.intensity_augmentation {
                    augment::Intensity::DEFAULT
                        .scaled(config.intensity_scale as f32, config.log_gamma as f32)
                } else {
                    augment::Intensity::NONE
                },
            },
            synthetic_fraction: config.synthetic_fraction,
            channels: config.unet().in_channels(),
        }
    }

    /// A case index, simulated with probability `synthetic_fraction` (when there are
    /// both kinds), uniform within the kind.
    fn pick(&self, rng: &mut TrainRng) -> usize {
        use rand::RngExt;
        let pool = if self.real.is_empty()
            || (!self.synthetic.is_empty() && rng.random_bool(self.synthetic_fraction))
        {
            &self.synthetic
        } else {
            &self.real
        };
        pool[rng.random_range(0..pool.len())]
    }

    fn draw(&self, rng: &mut TrainRng) -> data::Sample {
        let case = self.pick(rng);
        data::draw(&self.cases[case], &self.sampling, rng)
    }

    /// `n` patches as tensors on `device`: inputs `[n, channels, p, p]`, then targets
    /// and validity `[n, 1, p, p]`.
    pub(super) fn batch(&self, n: usize, rng: &mut TrainRng, device: &Device) -> [Tensor<4>; 3] {
        let (c, p) = (self.channels, self.sampling.size);
        let mut x = Vec::with_capacity(n * c * p * p);
        let (mut y, mut v) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let s = self.draw(rng);
            x.extend(s.input);
            y.extend(s.target);
            v.extend(s.valid);
        }
        [
            Tensor::<4>::from_data(TensorData::new(x, [n, c, p, p]), device),
            Tensor::<4>::from_data(TensorData::new(y, [n, 1, p, p]), device),
            Tensor::<4>::from_data(TensorData::new(v, [n, 1, p, p]), device),
        ]
    }

    /// The class weights of the balanced loss, from the positive fraction beta measured
    /// as `balance` asks.
    pub(super) fn class_weights(&self, balance: Balance, seed: u64) -> (f64, f64, f64) {
        let counts: Vec<(usize, usize)> = match balance {
            Balance::Volumes => self.cases.iter().map(Case::counts).collect(),
            Balance::Patches => {
                // Its own generator, so the run's draws do not depend on this measurement.
                let mut rng = TrainRng::seed_from_u64(seed.wrapping_add(0x0ba1_a0ce));
                (0..BALANCE_PATCHES)
                    .map(|_| self.draw(&mut rng).counts())
                    .collect()
            }
        };
        let (pos, valid) = (counts.iter()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let beta = pos as f64 / valid.max(1) as f64;
        let (wp, wn) = class_weights(beta);
        (beta, wp, wn)
    }
}
