//! `wmh convert`: rewrites a weights folder, e.g. with f16 convolution weights (half
//! the download for the web app).

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::prelude::Device;

use crate::pipeline::{Network, Task};

use super::files;

/// Arguments of `wmh convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder with wmh.json/.safetensors (and wm.json/.safetensors).
    #[arg(long)]
    weights: PathBuf,
    /// Output folder (created); must differ from --weights.
    #[arg(long)]
    out: PathBuf,
    /// Store convolution weights as f16 (batch-norm statistics stay f32).
    #[arg(long)]
    half: bool,
}

pub fn run(args: Args) -> Result<()> {
    if args.out.canonicalize().ok() == args.weights.canonicalize().ok() && args.out.exists() {
        anyhow::bail!(
            "{}: the output folder must differ from --weights",
            args.out.display()
        );
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}", args.out.display()))?;
    let device = Device::flex();
    for task in [Task::Wmh, Task::Wm] {
        let stem = task.stem();
        let spec_path = args.weights.join(format!("{stem}.json"));
        if task == Task::Wm && !spec_path.exists() {
            continue;
        }
        let spec = files::read_bytes(&spec_path)?;
        let weights_path = args.weights.join(format!("{stem}.safetensors"));
        let net = Network::load(&spec, &files::read_bytes(&weights_path)?, &device)
            .with_context(|| format!("{}", weights_path.display()))?;
        let bytes = net.weights_bytes(args.half)?;
        let out = args.out.join(format!("{stem}.safetensors"));
        files::write_all_atomic(&[
            (&args.out.join(format!("{stem}.json")), spec),
            (&out, bytes),
        ])?;
        println!(
            "{}: {} -> {} bytes",
            out.display(),
            std::fs::metadata(&weights_path)?.len(),
            std::fs::metadata(&out)?.len()
        );
    }
    Ok(())
}
