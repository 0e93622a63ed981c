//! The settings of a training run, declared once: [`TrainConfig`] is both `wmh train`'s
//! options and the `config.json` a run folder keeps, and [`TrainConfig::check`] refuses
//! what no run can use.

use anyhow::{Result, bail, ensure};
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::model::{Shortcut, UNetConfig};
use crate::pipeline::{Normalisation, SPACING_RANGE_MM, Task};
use crate::train::synth::Variation;

/// A value of `T` by its serde name, so the command line and `config.json` spell each
/// choice the same way.
fn by_name<T: DeserializeOwned>(name: String) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::Value::String(name))
}

/// Everything that defines a training run: `wmh train`'s options, saved as
/// `config.json` in the run folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
pub struct TrainConfig {
    /// Which network: `wmh` (FLAIR to WMH, on `flair/`) or `wm` (T1 to white matter, on
    /// `tissue/` and the MNI template).
    #[arg(long, value_parser = PossibleValuesParser::new(["wmh", "wm"]).try_map(by_name::<Task>))]
    pub task: Task,
    /// Base width (the seed's is 64).
    #[arg(long, default_value_t = 16)]
    pub width: usize,
    /// Neighbouring slices on each side as extra channels.
    #[arg(long, default_value_t = 1)]
    pub context: usize,
    /// How the decoder merges the encoder's shortcuts: `add` (element-wise sum, the
    /// seed's) or `concat` (the original U-Net's).
    #[arg(long, default_value = "add",
          value_parser = PossibleValuesParser::new(["add", "concat"]).try_map(by_name::<Shortcut>))]
    pub shortcut: Shortcut,
    /// Training cases (default: the task's standard split). `wmh2017/<case>` is a head
    /// T1 with WMH labels: for `--task wmh` its FLAIR is simulated, for `--task wm` it is
    /// skull-stripped and labelled by the tissue classifier plus its WMH.
    /// `wmh2017/<case>@<flair case>` (`--task wmh`) is that FLAIR case with the head's
    /// lesions transplanted into its white matter. For `--task wm`, a `+head` suffix (e.g. `tissue/mass-01+head`) wraps the skull-stripped brain in a
    /// synthetic head.
    #[arg(long = "train", value_delimiter = ',')]
    pub train_cases: Vec<String>,
    /// Validation cases (default: the task's standard split).
    #[arg(long = "val", value_delimiter = ',')]
    pub val_cases: Vec<String>,
    /// Optimiser steps.
    #[arg(long, default_value_t = 2000)]
    pub steps: usize,
    /// Patches per step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Patch side in pixels at the network's spacing (a multiple of 8, at least 16).
    #[arg(long, default_value_t = 96)]
    pub patch: usize,
    /// Adam learning rate (the peak, with a decaying schedule).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// How the learning rate changes over the run.
    #[arg(long, value_enum, default_value_t = LrSchedule::Constant)]
    pub lr_schedule: LrSchedule,
    /// Validate every this many steps.
    #[arg(long, default_value_t = 100)]
    pub val_every: usize,
    /// Checkpoint at least this often (seconds).
    #[arg(long, default_value_t = 120)]
    pub checkpoint_secs: u64,
    /// Seed for initialisation and sampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// In-plane spacing of the network input (mm).
    #[arg(long = "spacing", default_value_t = 1.0)]
    pub spacing_mm: f64,
    /// Intensity augmentation (contrast, brightness, bias field, noise); the flag
    /// `--no-intensity-aug` turns it off.
    #[arg(long = "no-intensity-aug", action = clap::ArgAction::SetFalse)]
    pub intensity_augmentation: bool,
    /// How the FLAIR is normalised for `--task wmh`: `zscore` (mean and SD of the head)
    /// or `peak` (centre and width of the head histogram's bright, white-matter peak).
    /// The WM network's T1 is always z-scored.
    #[arg(long, default_value = "zscore",
          value_parser = PossibleValuesParser::new(["zscore", "peak"]).try_map(by_name::<Normalisation>))]
    pub normalisation: Normalisation,
    /// Multiply the contrast, brightness, bias-field and noise ranges by this.
    #[arg(long, default_value_t = 1.0)]
    pub intensity_scale: f64,
    /// Random gamma curve with |log gamma| up to this (0: none; 0.4 is gamma 0.67-1.49).
    #[arg(long, default_value_t = 0.0)]
    pub log_gamma: f64,
    /// Probability that a WMH patch is centred on a lesion (the rest anywhere in the head).
    #[arg(long, default_value_t = 0.6)]
    pub positive_fraction: f64,
    /// Of the lesion-centred WMH patches, the share centred on a lesion drawn uniformly
    /// (then a voxel of it), so that small lesions are seen as often as confluent ones;
    /// the rest on a voxel drawn from all lesion voxels.
    #[arg(long, default_value_t = 0.0)]
    #[serde(default)]
    pub lesion_balanced: f64,
    /// Probability that a WMH patch is centred on a bright voxel outside the lesions (at
    /// least as bright as the dimmest tenth of the case's lesions), taken from the
    /// patches centred anywhere.
    #[arg(long, default_value_t = 0.0)]
    pub hard_fraction: f64,
    /// Probability that a patch comes from a simulated FLAIR or a transplant, when the
    /// training cases include `wmh2017/` names (see `train::synth`, `train::transplant`).
    #[arg(long, default_value_t = 0.5)]
    pub synthetic_fraction: f64,
    /// How much brightness varies within a simulated FLAIR: `uniform` (one lesion
    /// brightness per scan) or `regional` (per lesion, and regions of brighter grey
    /// matter; see `train::synth::Variation`).
    #[arg(long, value_enum, default_value_t = Variation::Uniform)]
    #[serde(default)]
    pub synth_variation: Variation,
    /// What the class-balanced loss's positive fraction beta is measured on.
    #[arg(long, value_enum, default_value_t = Balance::Volumes)]
    pub balance: Balance,
    /// Weight of a soft-Dice term (pooled over the batch) added to the class-balanced
    /// BCE; 0 trains on the BCE alone.
    #[arg(long, default_value_t = 0.0)]
    pub dice_weight: f64,
    /// Also average the weights from this step on, every --average-every steps
    /// (stochastic weight averaging), and export the mean as `average/`.
    #[arg(long)]
    pub average_from: Option<usize>,
    /// Steps between the networks added to the average.
    #[arg(long, default_value_t = 50)]
    pub average_every: usize,
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
    pub fn scheduler(self, lr: f64, steps: usize, done: usize) -> Result<ModuleLrScheduler> {
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

impl TrainConfig {
    /// The network's architecture.
    pub fn unet(&self) -> UNetConfig {
        UNetConfig::new()
            .with_base_width(self.width)
            .with_context(self.context)
            .with_shortcut(self.shortcut)
    }

    /// The task's standard cases where none were named, after refusing every setting
    /// outside its range (with the option's name), rather than clamping it silently.
    pub fn checked(mut self) -> Result<Self> {
        let probability = |name: &str, p: f64| {
            ensure!(
                (0.0..=1.0).contains(&p),
                "--{name} {p} is not a probability (0 to 1)"
            );
            Ok(())
        };
        let at_least = |name: &str, v: f64, min: f64| {
            ensure!(v >= min, "--{name} {v} is below {min}");
            Ok(())
        };
        ensure!(
            (1..=512).contains(&self.width),
            "--width {} is outside 1 to 512",
            self.width
        );
        ensure!(self.context <= 8, "--context {} is above 8", self.context);
        ensure!(
            self.patch >= 16 && self.patch.is_multiple_of(8),
            "--patch must be a multiple of 8, at least 16 (got {})",
            self.patch
        );
        ensure!(self.steps >= 1, "--steps must be at least 1");
        ensure!(self.batch >= 1, "--batch must be at least 1");
        ensure!(self.val_every >= 1, "--val-every must be at least 1");
        ensure!(
            self.average_every >= 1,
            "--average-every must be at least 1"
        );
        ensure!(
            self.lr.is_finite() && self.lr > 0.0,
            "--lr {} is not a positive learning rate",
            self.lr
        );
        ensure!(
            SPACING_RANGE_MM.contains(&self.spacing_mm),
            "--spacing {} is outside {:?} mm",
            self.spacing_mm,
            SPACING_RANGE_MM
        );
        at_least("intensity-scale", self.intensity_scale, 0.0)?;
        at_least("log-gamma", self.log_gamma, 0.0)?;
        at_least("dice-weight", self.dice_weight, 0.0)?;
        probability("positive-fraction", self.positive_fraction)?;
        probability("hard-fraction", self.hard_fraction)?;
        probability("lesion-balanced", self.lesion_balanced)?;
        probability("synthetic-fraction", self.synthetic_fraction)?;
        ensure!(
            self.positive_fraction + self.hard_fraction <= 1.0,
            "--positive-fraction plus --hard-fraction is {}, above 1",
            self.positive_fraction + self.hard_fraction
        );
        if self.task == Task::Wm && self.normalisation != Normalisation::Zscore {
            bail!("--normalisation applies to --task wmh; the WM network's T1 is always z-scored");
        }
        let (train, val) = default_split(self.task);
        if self.train_cases.is_empty() {
            self.train_cases = train;
        }
        if self.val_cases.is_empty() {
            self.val_cases = val;
        }
        Ok(self)
    }
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
            // synthetic head) was tried and not adopted; see experiments/README.md.
            let mut train: Vec<String> = (1..=12).map(|i| format!("tissue/mass-{i:02}")).collect();
            train.push("mni152".into());
            (
                train,
                (13..=15).map(|i| format!("tissue/mass-{i:02}")).collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: TrainConfig,
    }

    fn parse(args: &[&str]) -> Result<TrainConfig> {
        let cli = Cli::try_parse_from([&["train"], args].concat())?;
        cli.config.checked()
    }

    #[test]
    fn options_and_config_json_are_one_declaration() {
        let config = parse(&[
            "--task",
            "wmh",
            "--shortcut",
            "concat",
            "--normalisation",
            "peak",
            "--no-intensity-aug",
        ])
        .unwrap();
        assert_eq!(config.task, Task::Wmh);
        assert_eq!(config.shortcut, Shortcut::Concat);
        assert_eq!(config.normalisation, Normalisation::Peak);
        assert!(!config.intensity_augmentation);
        assert_eq!(config.train_cases.len(), 6, "the standard split fills in");
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.contains(r#""shortcut":"concat""#), "{json}");
        assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), config);
        // Run folders saved before `--synth-variation` and `--lesion-balanced` existed
        // resume as they trained.
        let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
        old.as_object_mut().unwrap().remove("synth_variation");
        old.as_object_mut().unwrap().remove("lesion_balanced");
        assert_eq!(serde_json::from_value::<TrainConfig>(old).unwrap(), config);
        assert!(parse(&["--task", "wm"]).unwrap().intensity_augmentation);
    }

    #[test]
    fn settings_out_of_range_are_refused_by_name() {
        for (args, word) in [
            (&["--patch", "20"][..], "--patch"),
            (&["--batch", "0"], "--batch"),
            (&["--val-every", "0"], "--val-every"),
            (&["--positive-fraction", "1.5"], "--positive-fraction"),
            (&["--lesion-balanced", "2"], "--lesion-balanced"),
            (
                &["--positive-fraction", "0.7", "--hard-fraction", "0.5"],
                "--hard-fraction",
            ),
            (&["--log-gamma=-0.2"], "--log-gamma"),
            (&["--dice-weight=-1"], "--dice-weight"),
            (&["--spacing", "0.01"], "--spacing"),
            (&["--lr", "0"], "--lr"),
            (&["--width", "0"], "--width"),
        ] {
            let err = parse(&[&["--task", "wmh"], args].concat())
                .unwrap_err()
                .to_string();
            assert!(err.contains(word), "{args:?}: {err}");
        }
        let err = parse(&["--task", "wm", "--normalisation", "peak"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("always z-scored"), "{err}");
        assert!(parse(&["--task", "flair"]).is_err());
    }
}
