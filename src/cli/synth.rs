//! `wmh synth`: the FLAIR-like training image that `wmh train` simulates from a T1 and
//! its WMH labels (a `wmh2017/<case>` training case), written on the T1's grid so it
//! can be looked at, checked or used elsewhere.

use std::path::PathBuf;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::files;
use crate::train::data::wmh_class;
use crate::train::synth;
use crate::volume::OutputData;

/// Arguments of `wmh synth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// T1 image (.nii/.nii.gz), with skull or without.
    #[arg(long)]
    t1: PathBuf,
    /// WMH labels on the T1's grid (1 = WMH, 2 = other pathology, as in the MICCAI 2017
    /// challenge); the lesions are painted bright.
    #[arg(long)]
    wmh: PathBuf,
    /// Where to write the simulated FLAIR (float32, on the T1's grid).
    #[arg(long, short)]
    output: PathBuf,
    /// Seed of the random contrast and lesion texture (training uses one per case name).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How much brightness varies within the image (as `wmh train --synth-variation`).
    #[arg(long, value_enum, default_value_t = synth::Variation::Uniform)]
    variation: synth::Variation,
    /// Print the contrast drawn as JSON.
    #[arg(long)]
    json: bool,
}

/// What `--json` prints: the contrast drawn and how many voxels it painted.
#[derive(Debug, Serialize)]
struct Summary {
    /// The random contrast (knots, lesion level, edge, spread, regions).
    #[serde(flatten)]
    contrast: synth::Contrast,
    /// Labelled WMH voxels painted.
    lesion_voxels: usize,
}

/// Simulates the FLAIR and writes it.
pub fn run(args: Args) -> Result<()> {
    files::check_outputs(&[&args.output], &[&args.t1, &args.wmh])?;
    let t1 = files::read_volume(&args.t1)?;
    let labels = files::read_on_grid(&args.wmh, &t1, "WMH label")?;
    let lesion: Vec<bool> = (labels.data.iter())
        .map(|&v| wmh_class(v) == Some(true))
        .collect();
    let lesion_voxels = lesion.iter().filter(|&&l| l).count();
    if lesion_voxels == 0 {
        bail!("{}: no voxel is labelled 1 (WMH)", args.wmh.display());
    }
    let (flair, contrast) = synth::simulate(&t1, &lesion, args.seed, args.variation);
    let encoded = t1.encode_like(OutputData::F32(&flair), files::wants_gzip(&args.output)?);
    files::write_all_atomic(&[(&args.output, encoded)])?;
    let summary = Summary {
        contrast,
        lesion_voxels,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "simulated FLAIR: {lesion_voxels} lesion voxels at {:.2} x white matter \
             (per-lesion spread {:.2}), {} regions of brighter grey matter",
            summary.contrast.lesion,
            summary.contrast.spread,
            summary.contrast.regions.len()
        );
    }
    Ok(())
}
