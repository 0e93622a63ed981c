//! The native command-line tool: `wmh segment`, `cohort`, `bids`, `evaluate`, `validate`,
//! `train`, `synth`, `tissue`, `brain`, `bench`, `convert`, `curves` and `example`.
//!
//! Only this layer touches files, terminals and exit codes; the work itself is in the
//! pure core (`volume`, `pipeline`, `metrics`).

mod bench;
mod bids;
mod brain;
mod cohort;
mod convert;
mod curves;
mod evaluate;
mod example;
mod segment;
mod synth;
mod tissue;
mod train;
mod validate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use burn::prelude::Device;
use clap::{Parser, Subcommand, ValueEnum};

use crate::files;
use crate::pipeline::{Network, Networks, Task};

/// Finds white matter hyperintensities in brain MRI, on this machine.
#[derive(Debug, Parser)]
#[command(name = "wmh", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Segment WMH in a FLAIR (with an optional T1) and write the mask on the FLAIR grid.
    Segment(segment::Args),
    /// Segment many cases (case folders or a CSV manifest) with the networks loaded once: a mask per case, summary.csv and lesions.csv.
    Cohort(cohort::Args),
    /// A BIDS App: `participant` segments each subject's FLAIR (and T1w) into BIDS-Derivatives, `group` tabulates them.
    Bids(bids::Args),
    /// Score a prediction against a reference with the MICCAI WMH challenge metrics.
    Evaluate(evaluate::Args),
    /// Measure seconds per volume and peak memory for both networks.
    Bench(bench::Args),
    /// Train the WMH or the WM network.
    Train(train::Args),
    /// Write the built-in synthetic example case (FLAIR, T1, truth).
    Example(example::Args),
    /// Simulate the FLAIR-like training image `train` makes of a T1 with WMH labels.
    Synth(synth::Args),
    /// Score weights on labelled cases: networks with and without the WM filter, and a baseline.
    Validate(validate::Args),
    /// Find the brain the WM filter is cut to, as `segment` does, optionally scored against a reference mask.
    Brain(brain::Args),
    /// Classify a T1 into CSF, grey and white matter (FAST-like), optionally scored.
    Tissue(tissue::Args),
    /// Redraw training runs' curves.png from their log.csv.
    Curves(curves::Args),
    /// Rewrite a weights folder, e.g. with f16 weights (--half).
    Convert(convert::Args),
}

/// Where the networks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// burn's flex backend on all CPU cores.
    Cpu,
    /// burn's wgpu backend (Vulkan, Metal or DirectX).
    Gpu,
}

impl Backend {
    /// Opens the device, turning a missing GPU into an error rather than a panic.
    pub fn device(self) -> Result<Device> {
        match self {
            Backend::Cpu => Ok(Device::flex()),
            Backend::Gpu => Device::wgpu_options()
                .init()
                .map_err(|e| anyhow::anyhow!("no usable GPU adapter for --device gpu: {e}")),
        }
    }

    /// The name the command line uses for it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
        }
    }
}

/// The default weights folder: `./weights` if present, else the one in the source tree.
pub fn default_weights_dir() -> PathBuf {
    let local = PathBuf::from("weights");
    if local.join("wmh.json").exists() {
        local
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("weights")
    }
}

/// Loads one network (`<stem>.json` + `<stem>.safetensors`) from `dir`.
pub fn load_network(dir: &Path, task: Task, device: &Device) -> Result<Network> {
    let stem = task.stem();
    let spec = files::read_bytes(&dir.join(format!("{stem}.json")))?;
    let weights = files::read_bytes(&dir.join(format!("{stem}.safetensors")))?;
    Network::load(&spec, &weights, device)
        .with_context(|| format!("{}: {stem} network", dir.display()))
}

/// Loads the WMH network and, when `with_wm`, the WM network.
pub fn load_networks(dir: &Path, with_wm: bool, device: &Device) -> Result<Networks> {
    Ok(Networks {
        wmh: load_network(dir, Task::Wmh, device)?,
        wm: if with_wm {
            Some(load_network(dir, Task::Wm, device)?)
        } else {
            None
        },
    })
}

/// Runs the CLI; errors are printed as one line and give exit code 1.
pub fn main() -> ExitCode {
    pin_default_device();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Segment(args) => segment::run(args),
        Command::Cohort(args) => cohort::run(args),
        Command::Bids(args) => bids::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Train(args) => train::run(args),
        Command::Tissue(args) => tissue::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Brain(args) => brain::run(args),
        Command::Curves(args) => curves::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Example(args) => example::run(args),
        Command::Validate(args) => validate::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wmh: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Makes burn's `Device::default()` the CPU unless `BURN_DEVICE` says otherwise.
///
/// Every tensor of ours goes to a device chosen on the command line, but burn itself
/// builds some on `Device::default()`, which prefers wgpu: burn-optim 0.22's
/// `load_record` puts a resumed optimizer's state there (to move it to the parameters'
/// device at the next step), so `wmh train --resume` panicked on a machine without a GPU
/// adapter, even when training on the CPU. Every machine has a CPU.
fn pin_default_device() {
    if std::env::var_os("BURN_DEVICE").is_none() {
        // SAFETY: called first in `main`, before this process starts any other thread,
        // so nothing can read the environment concurrently.
        unsafe { std::env::set_var("BURN_DEVICE", "flex") };
    }
}
