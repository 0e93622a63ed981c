//! `wmh train`: trains the WMH or WM network on the real data.

use std::path::PathBuf;

use anyhow::Result;

use crate::train::{self, TrainConfig};

use super::Backend;

/// Arguments of `wmh train`: where the run reads and writes, and its settings.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data folder (see its README).
    #[arg(long, default_value = "../shared/data")]
    data: PathBuf,
    /// Run folder: config, log, checkpoints and exported weights.
    #[arg(long)]
    out: PathBuf,
    /// The run's settings, saved as `config.json`.
    #[command(flatten)]
    config: TrainConfig,
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

/// Checks the settings, then trains.
pub fn run(args: Args) -> Result<()> {
    let config = args.config.checked()?;
    let device = args.device.device()?;
    let time_limit = args.time_limit.map(std::time::Duration::from_secs);
    train::run(
        config,
        &args.data,
        &args.out,
        &device,
        args.resume,
        time_limit,
    )
}
