//! `wmh segment`: one FLAIR (and optional T1) in, mask (and optional maps) out.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::pipeline::{self, Inputs, Lesion, Options, Stage};
use crate::volume::OutputData;

use super::{Backend, files};

/// Arguments of `wmh segment`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// FLAIR image (.nii or .nii.gz).
    #[arg(long)]
    flair: PathBuf,
    /// T1 image registered to the FLAIR (any grid); enables the white-matter filter.
    #[arg(long)]
    t1: Option<PathBuf>,
    /// Output mask (uint8 0/1 on the FLAIR grid), .nii or .nii.gz.
    #[arg(long, short)]
    output: PathBuf,
    /// Also write the WMH probability map (float32).
    #[arg(long)]
    probability: Option<PathBuf>,
    /// Also write the white-matter region used as filter (needs --t1).
    #[arg(long)]
    wm_mask: Option<PathBuf>,
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    device: Backend,
    /// Folder with wmh.json/.safetensors and wm.json/.safetensors.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Probability threshold for the mask (default: the one stored with the weights).
    #[arg(long)]
    threshold: Option<f32>,
    /// Keep WMH outside the white-matter region (skip the filter even with a T1).
    #[arg(long)]
    no_wm_filter: bool,
    /// Slices per network batch (1 is fastest on the CPU: the activations stay in cache).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

/// What `segment` reports.
#[derive(Debug, Serialize)]
struct Summary {
    flair: PathBuf,
    t1: Option<PathBuf>,
    output: PathBuf,
    lesion_count: usize,
    total_ml: f64,
    wm_filter: bool,
    /// Slices where the brain mask stood in for the WM region.
    brain_fallback_slices: usize,
    /// Volume of the brain found in the T1 (mL), when the filter ran.
    brain_ml: Option<f64>,
    head_overlap_dice: Option<f64>,
    device: String,
    seconds: f64,
    lesions: Vec<Lesion>,
}

pub fn run(args: Args) -> Result<()> {
    if args
        .threshold
        .is_some_and(|t| !(0.0..=1.0).contains(&t) || t.is_nan())
    {
        anyhow::bail!("--threshold must be between 0 and 1");
    }
    if args.wm_mask.is_some() && args.t1.is_none() {
        anyhow::bail!("--wm-mask needs --t1: without a T1 there is no white-matter region");
    }
    let mut outputs = vec![args.output.as_path()];
    outputs.extend(args.probability.as_deref());
    outputs.extend(args.wm_mask.as_deref());
    let mut inputs = vec![args.flair.as_path()];
    inputs.extend(args.t1.as_deref());
    files::check_outputs(&outputs, &inputs)?;

    let start = Instant::now();
    let flair = files::read_volume(&args.flair)?;
    let t1 = args.t1.as_deref().map(files::read_volume).transpose()?;
    let device = args.device.device()?;
    let weights = args
        .weights
        .clone()
        .unwrap_or_else(super::default_weights_dir);
    let use_wm = t1.is_some() && !args.no_wm_filter;
    let networks = super::load_networks(&weights, use_wm, &device)?;
    let spacing = (
        networks.wmh.spec.spacing_mm,
        networks.wm.as_ref().map_or(1.0, |n| n.spec.spacing_mm),
    );
    if t1.is_none() && !args.json {
        eprintln!("wmh: no T1 given: FLAIR-only mode, the white-matter filter is off");
    }
    let inputs = Inputs::prepare(flair, t1.as_ref(), spacing)
        .with_context(|| format!("{}", args.t1.as_ref().unwrap_or(&args.flair).display()))?;
    let options = Options {
        threshold: args.threshold.unwrap_or(networks.wmh.spec.threshold),
        wm_filter: use_wm,
        ..networks.options()
    };
    let total = inputs.flair.slices() * if use_wm { 2 } else { 1 };
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} slices, eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let n = inputs.flair.slices();
    let seg = pipeline::run(
        &inputs,
        &networks,
        &device,
        &options,
        args.batch,
        &mut |stage| match stage {
            Stage::Wmh(done, _) => {
                bar.set_message("WMH network");
                bar.set_position(done as u64);
            }
            Stage::Wm(done, _) => {
                bar.set_message("WM network");
                bar.set_position((n + done) as u64);
            }
        },
    );
    bar.finish_and_clear();

    let reference = &inputs.reference;
    let mut writes = vec![(
        args.output.as_path(),
        reference.encode_like(OutputData::U8(&seg.mask), files::wants_gzip(&args.output)?),
    )];
    if let Some(p) = &args.probability {
        writes.push((
            p.as_path(),
            reference.encode_like(OutputData::F32(&seg.probability), files::wants_gzip(p)?),
        ));
    }
    if let (Some(p), Some(region)) = (&args.wm_mask, &seg.wm_region) {
        writes.push((
            p.as_path(),
            reference.encode_like(OutputData::U8(region), files::wants_gzip(p)?),
        ));
    }
    files::write_all_atomic(&writes)?;

    let seg_filter = seg.filter_description();
    let summary = Summary {
        flair: args.flair,
        t1: args.t1,
        output: args.output,
        lesion_count: seg.lesions.len(),
        total_ml: seg.total_ml,
        wm_filter: seg.wm_filtered,
        brain_fallback_slices: seg.brain_fallback_slices,
        brain_ml: seg.brain_ml,
        head_overlap_dice: inputs.head_overlap,
        device: format!("{:?}", args.device).to_lowercase(),
        seconds: start.elapsed().as_secs_f64(),
        lesions: seg.lesions,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{} lesions, {:.2} mL total WMH ({}), written to {} in {:.1} s",
            summary.lesion_count,
            summary.total_ml,
            seg_filter,
            summary.output.display(),
            summary.seconds
        );
    }
    Ok(())
}
