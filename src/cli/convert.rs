//! `wmh convert`: rewrites a weights folder, e.g. with f16 convolution weights (half
//! the download for the web app), or with several WMH networks as one ensemble.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::prelude::Device;

use crate::pipeline::{Network, Task};

use super::load_network;
use crate::files;

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
    /// Further folders whose WMH networks join the first one's as ensemble members
    /// (their probabilities are averaged); same architecture, spacing and normalisation required.
    #[arg(long, value_delimiter = ',')]
    add: Vec<PathBuf>,
    /// Set the WMH network's threshold (e.g. the one chosen by cross-validation).
    #[arg(long)]
    threshold: Option<f32>,
    /// Set the probability a WMH lesion's most probable voxel must reach for the lesion
    /// to be kept (chosen with the threshold; 0 keeps every lesion).
    #[arg(long)]
    lesion_peak: Option<f32>,
    /// Set the WM network's region dilation in mm (e.g. the one chosen by
    /// cross-validation); needs wm.json in --weights.
    #[arg(long)]
    wm_dilation: Option<f64>,
}

/// Bytes of `dir`'s weights file for `task`.
fn weights_size(dir: &Path, task: Task) -> Result<u64> {
    let path = dir.join(format!("{}.safetensors", task.stem()));
    Ok(std::fs::metadata(&path)
        .with_context(|| format!("{}", path.display()))?
        .len())
}

pub fn run(args: Args) -> Result<()> {
    if args.out.canonicalize().ok() == args.weights.canonicalize().ok() && args.out.exists() {
        anyhow::bail!(
            "{}: the output folder must differ from --weights",
            args.out.display()
        );
    }
    if args.wm_dilation.is_some() && !args.weights.join("wm.json").exists() {
        anyhow::bail!(
            "--wm-dilation: {} has no WM network (wm.json)",
            args.weights.display()
        );
    }
    let device = Device::flex();
    // Everything is written at the end, all or nothing.
    let mut outputs: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut report = Vec::new();
    for task in [Task::Wmh, Task::Wm] {
        let stem = task.stem();
        if task == Task::Wm && !args.weights.join(format!("{stem}.json")).exists() {
            continue;
        }
        let mut net = load_network(&args.weights, task, &device)?;
        let mut size = weights_size(&args.weights, task)?;
        if task == Task::Wmh {
            if !args.add.is_empty() {
                let mut nets = vec![net];
                for dir in &args.add {
                    nets.push(load_network(dir, task, &device)?);
                    size += weights_size(dir, task)?;
                }
                net = Network::ensemble(nets)?;
            }
            if let Some(t) = args.threshold {
                if !(t > 0.0 && t < 1.0) {
                    anyhow::bail!("--threshold must lie between 0 and 1");
                }
                net.spec.threshold = t;
            }
            if let Some(p) = args.lesion_peak {
                super::segment::check_probability("--lesion-peak", [&p])?;
                net.spec.lesion_peak = p;
            }
        }
        if let (Task::Wm, Some(mm)) = (task, args.wm_dilation) {
            if !(0.0..=20.0).contains(&mm) {
                anyhow::bail!("--wm-dilation must lie between 0 and 20 mm");
            }
            net.spec.dilation_mm = mm;
        }
        let bytes = net.weights_bytes(args.half)?;
        report.push(format!(
            "{}: {} -> {} bytes ({} member{})",
            args.out.join(format!("{stem}.safetensors")).display(),
            size,
            bytes.len(),
            net.spec.members,
            if net.spec.members == 1 { "" } else { "s" }
        ));
        outputs.push((
            args.out.join(format!("{stem}.json")),
            serde_json::to_vec_pretty(&net.spec)?,
        ));
        outputs.push((args.out.join(format!("{stem}.safetensors")), bytes));
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}", args.out.display()))?;
    files::write_all_atomic(&outputs)?;
    for line in report {
        println!("{line}");
    }
    Ok(())
}
