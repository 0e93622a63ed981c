//! `wmh curves`: redraws a training run's `curves.png` from its `log.csv`.

use std::path::PathBuf;

use anyhow::Result;

use crate::train::curves;

/// Arguments of `wmh curves`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folders (each with a log.csv), e.g. experiments/wmh-w16.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    for run in &args.runs {
        curves::plot_run(run)?;
        println!("{}", run.join("curves.png").display());
    }
    Ok(())
}
