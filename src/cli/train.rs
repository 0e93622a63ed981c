//! `wmh train`: trains the WMH or WM network on the real data.

use std::path::PathBuf;

use anyhow::Result;

use crate::model::{Shortcut, UNetConfig};
use crate::pipeline::Task;
use crate::pipeline::preprocess::Normalisation;
use crate::train::{self, Balance, LrSchedule, TrainConfig};

use super::Backend;

/// Which network to train.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TaskArg {
    /// FLAIR to WMH, on `flair/`.
    Wmh,
    /// T1 to white matter, on `tissue/` and the MNI template.
    Wm,
}

/// How the U-Net's decoder merges its shortcuts.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ShortcutArg {
    /// Element-wise sum, the seed's ("added").
    Add,
    /// Channel concatenation, the original U-Net's.
    Concat,
}

impl From<ShortcutArg> for Shortcut {
    fn from(arg: ShortcutArg) -> Self {
        match arg {
            ShortcutArg::Add => Shortcut::Add,
            ShortcutArg::Concat => Shortcut::Concat,
        }
    }
}

/// How the WMH network's FLAIR is normalised (the T1 always by its z-score).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum NormalisationArg {
    /// Mean and SD of the head.
    Zscore,
    /// Centre and width of the head histogram's bright (white-matter) peak.
    Peak,
}

impl From<NormalisationArg> for Normalisation {
    fn from(arg: NormalisationArg) -> Self {
        match arg {
            NormalisationArg::Zscore => Normalisation::Zscore,
            NormalisationArg::Peak => Normalisation::Peak,
        }
    }
}

/// Arguments of `wmh train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which network.
    #[arg(long, value_enum)]
    task: TaskArg,
    /// The data folder (see its README).
    #[arg(long, default_value = "../shared/data")]
    data: PathBuf,
    /// Run folder: config, log, checkpoints and exported weights.
    #[arg(long)]
    out: PathBuf,
    /// Base width (the seed's is 64).
    #[arg(long, default_value_t = 16)]
    width: usize,
    /// Neighbouring slices on each side as extra channels.
    #[arg(long, default_value_t = 1)]
    context: usize,
    /// How the decoder merges the encoder's shortcuts.
    #[arg(long, value_enum, default_value_t = ShortcutArg::Add)]
    shortcut: ShortcutArg,
    /// Optimiser steps.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Patches per step.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Patch side (pixels at --spacing mm).
    #[arg(long, default_value_t = 96)]
    patch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// How the learning rate changes over the run.
    #[arg(long, value_enum, default_value_t = LrSchedule::Constant)]
    lr_schedule: LrSchedule,
    /// Validate every N steps.
    #[arg(long, default_value_t = 100)]
    val_every: usize,
    /// Checkpoint at least every this many seconds.
    #[arg(long, default_value_t = 120)]
    checkpoint_secs: u64,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// In-plane spacing of the network input (mm).
    #[arg(long, default_value_t = 1.0)]
    spacing: f64,
    /// Training cases (default: the task's standard split). `wmh2017/<case>` is a head
    /// T1 with WMH labels: for `--task wmh` its FLAIR is simulated, for `--task wm` it is
    /// skull-stripped and labelled by the tissue classifier plus its WMH. For `--task wm`,
    /// a `+head` suffix (e.g. `tissue/mass-01+head`) wraps the skull-stripped brain in a
    /// synthetic head.
    #[arg(long, value_delimiter = ',')]
    train: Option<Vec<String>>,
    /// Validation cases (default: the task's standard split).
    #[arg(long, value_delimiter = ',')]
    val: Option<Vec<String>>,
    /// Turn off intensity augmentation (contrast, brightness, bias field, noise).
    #[arg(long)]
    no_intensity_aug: bool,
    /// How the FLAIR is normalised (`--task wmh`; the WM network's T1 always by z-score).
    #[arg(long, value_enum, default_value_t = NormalisationArg::Zscore)]
    normalisation: NormalisationArg,
    /// Multiply the contrast, brightness, bias-field and noise ranges by this.
    #[arg(long, default_value_t = 1.0)]
    intensity_scale: f64,
    /// Random gamma curve with |log gamma| up to this (0: none; 0.4 is gamma 0.67-1.49).
    #[arg(long, default_value_t = 0.0)]
    log_gamma: f64,
    /// Probability that a WMH patch is centred on a lesion (the rest anywhere in the head).
    #[arg(long, default_value_t = 0.6)]
    positive_fraction: f64,
    /// Probability that a WMH patch is centred on a bright voxel outside the lesions (at
    /// least as bright as the dimmest tenth of the case's lesions), taken from the
    /// patches centred anywhere.
    #[arg(long, default_value_t = 0.0)]
    hard_fraction: f64,
    /// Probability that a patch comes from a simulated FLAIR, when the training cases
    /// include `wmh2017/<case>` T1s (their FLAIR is simulated; see `train::synth`).
    #[arg(long, default_value_t = 0.5)]
    synthetic_fraction: f64,
    /// What the class-balanced loss's positive fraction beta is measured on.
    #[arg(long, value_enum, default_value_t = Balance::Volumes)]
    balance: Balance,
    /// Weight of a soft-Dice term (pooled over the batch) added to the class-balanced
    /// BCE; 0 trains on the BCE alone.
    #[arg(long, default_value_t = 0.0)]
    dice_weight: f64,
    /// Also average the weights from this step on, every --average-every steps
    /// (stochastic weight averaging), and export the mean as `average/`.
    #[arg(long)]
    average_from: Option<usize>,
    /// Steps between the networks added to the average.
    #[arg(long, default_value_t = 50)]
    average_every: usize,
    /// Continue from the run folder's last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Stop after this many seconds (loading included), exporting the weights reached so
    /// far; `--resume` continues the run later.
    #[arg(long)]
    time_limit: Option<u64>,
    /// Where training runs.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    device: Backend,
}

/// The standard split: validation holds out one case per source that has several.
fn default_split(task: Task) -> (Vec<String>, Vec<String>) {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
    match task {
        Task::Wmh => (
            s(&[
                "mslesseg-P14-T1",
                "mslesseg-P14-T2",
                "mslesseg-P14-T3",
                "openms-patient07",
                "simvent-104252",
                "simvent-105074",
            ]),
            s(&["openms-patient19", "simvent-105465"]),
        ),
        Task::Wm => {
            // Skull-stripped brains only. Adding each as `<name>+head` (wrapped in a
            // synthetic head) was tried and not adopted; see weights/MODEL_CARD.md.
            let mut train: Vec<String> = (1..=12).map(|i| format!("tissue/mass-{i:02}")).collect();
            train.push("mni152".into());
            (
                train,
                (13..=15).map(|i| format!("tissue/mass-{i:02}")).collect(),
            )
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let task = match args.task {
        TaskArg::Wmh => Task::Wmh,
        TaskArg::Wm => Task::Wm,
    };
    if !args.patch.is_multiple_of(8) || args.patch < 16 {
        anyhow::bail!("--patch must be a multiple of 8, at least 16");
    }
    let (train_default, val_default) = default_split(task);
    let config = TrainConfig {
        task,
        unet: UNetConfig::new()
            .with_base_width(args.width)
            .with_context(args.context)
            .with_shortcut(args.shortcut.into()),
        train_cases: args.train.unwrap_or(train_default),
        val_cases: args.val.unwrap_or(val_default),
        steps: args.steps,
        batch: args.batch.max(1),
        patch: args.patch,
        lr: args.lr,
        lr_schedule: args.lr_schedule,
        val_every: args.val_every.max(1),
        checkpoint_secs: args.checkpoint_secs,
        seed: args.seed,
        spacing_mm: args.spacing,
        intensity_augmentation: !args.no_intensity_aug,
        normalisation: match task {
            Task::Wmh => args.normalisation.into(),
            Task::Wm => Normalisation::Zscore,
        },
        intensity_scale: args.intensity_scale.max(0.0),
        log_gamma: args.log_gamma.abs(),
        positive_fraction: args.positive_fraction.clamp(0.0, 1.0),
        hard_fraction: args
            .hard_fraction
            .clamp(0.0, 1.0 - args.positive_fraction.clamp(0.0, 1.0)),
        synthetic_fraction: args.synthetic_fraction.clamp(0.0, 1.0),
        balance: args.balance,
        dice_weight: args.dice_weight.max(0.0),
        average_from: args.average_from,
        average_every: args.average_every.max(1),
    };
    let device = args.device.device()?;
    let time_limit = args.time_limit.map(std::time::Duration::from_secs);
    train::run(
        &config,
        &args.data,
        &args.out,
        &device,
        args.resume,
        time_limit,
    )
}
