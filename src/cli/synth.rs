//! `wmh synth`: the FLAIR-like training image that `wmh train` simulates from a T1 and
//! its WMH labels (a `wmh2017/<case>` training case), written on the T1's grid so it
//! can be looked at, checked or used elsewhere; with `--into-flair`, the real FLAIR
//! with those labels transplanted into it (a `wmh2017/<case>@<flair case>` training
//! case), with its new lesion labels.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::Serialize;

use crate::files;
use crate::train::data::wmh_class;
use crate::train::{synth, transplant};
use crate::volume::{OutputData, Volume};

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
    /// A real FLAIR to transplant the lesions into instead (its white matter, found on
    /// `--into-t1`); the output is then on this FLAIR's grid.
    #[arg(long, requires_all = ["into_t1", "labels_output"], conflicts_with = "variation")]
    into_flair: Option<PathBuf>,
    /// The T1 of `--into-flair`'s subject (resampled onto the FLAIR's grid).
    #[arg(long, requires = "into_flair")]
    into_t1: Option<PathBuf>,
    /// `--into-flair`'s own WMH labels, kept in the labels written.
    #[arg(long, requires = "into_flair")]
    into_wmh: Option<PathBuf>,
    /// Where to write the transplant's WMH labels (uint8: 1 lesion, 2 other pathology):
    /// `--into-wmh`'s with the transplanted lesions added.
    #[arg(long, requires = "into_flair")]
    labels_output: Option<PathBuf>,
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

/// Simulates the FLAIR (or makes the transplant) and writes it.
pub fn run(args: Args) -> Result<()> {
    let t1 = files::read_volume(&args.t1)?;
    let labels = files::read_on_grid(&args.wmh, &t1, "WMH label")?;
    let lesion: Vec<bool> = (labels.data.iter())
        .map(|&v| wmh_class(v) == Some(true))
        .collect();
    let lesion_voxels = lesion.iter().filter(|&&l| l).count();
    if lesion_voxels == 0 {
        bail!("{}: no voxel is labelled 1 (WMH)", args.wmh.display());
    }
    if let Some(flair) = &args.into_flair {
        return transplant_into(&args, flair, &t1, &lesion);
    }
    files::check_outputs(&[&args.output], &[&args.t1, &args.wmh])?;
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

/// `--into-flair`: the donor's lesions transplanted into the FLAIR, written with the
/// labels.
fn transplant_into(
    args: &Args,
    flair_path: &Path,
    donor_t1: &Volume,
    donor: &[bool],
) -> Result<()> {
    let (Some(t1_path), Some(labels_path)) = (&args.into_t1, &args.labels_output) else {
        bail!("--into-flair needs --into-t1 and --labels-output");
    };
    let mut inputs = vec![args.t1.as_path(), args.wmh.as_path(), flair_path, t1_path];
    inputs.extend(args.into_wmh.as_deref());
    files::check_outputs(&[&args.output, labels_path], &inputs)?;
    let flair = files::read_volume(flair_path)?;
    let t1 = files::read_volume(t1_path)?;
    let mut labels: Vec<u8> = match &args.into_wmh {
        Some(p) => (files::read_on_grid(p, &flair, "WMH label")?.data.iter())
            .map(|&v| match wmh_class(v) {
                Some(true) => 1,
                None => 2,
                Some(false) => 0,
            })
            .collect(),
        None => vec![0; flair.len()],
    };
    let own: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
    let t = transplant::transplant(&flair, &t1, &own, donor_t1, donor, args.seed)?;
    let added = t.lesion.iter().filter(|&&a| a).count();
    labels.iter_mut().zip(&t.lesion).for_each(|(l, &a)| {
        if a {
            *l = 1;
        }
    });
    let image = flair.encode_like(OutputData::F32(&t.flair), files::wants_gzip(&args.output)?);
    let mask = flair.encode_like(OutputData::U8(&labels), files::wants_gzip(labels_path)?);
    files::write_all_atomic(&[(&args.output, image), (labels_path, mask)])?;
    let summary = TransplantSummary {
        donor_lesion_voxels: donor.iter().filter(|&&l| l).count(),
        transplanted_voxels: added,
        level: t.level,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "transplanted {added} of the donor's {} lesion voxels into white matter, at {:.2} x white matter",
            summary.donor_lesion_voxels, t.level
        );
    }
    Ok(())
}

/// What `--json` prints for a transplant.
#[derive(Debug, Serialize)]
struct TransplantSummary {
    /// Lesion voxels of the donor (on its own grid).
    donor_lesion_voxels: usize,
    /// Voxels that became lesion in the FLAIR (on its grid).
    transplanted_voxels: usize,
    /// Typical lesion brightness drawn, x white matter.
    level: f32,
}
