//! `wmh brain`: the brain the white-matter filter is cut to (the T1, resampled onto the
//! FLAIR's grid when a FLAIR is given, skull-stripped as `segment` strips it), written
//! as a mask and optionally scored against a reference mask.

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use crate::metrics::dice;
use crate::pipeline::{Inputs, Preparation};
use crate::volume::OutputData;

use crate::files;

/// Arguments of `wmh brain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// T1 image (.nii/.nii.gz), with skull or skull-stripped.
    #[arg(long)]
    t1: PathBuf,
    /// FLAIR the T1 is registered to: the mask is then found and written on its grid,
    /// exactly as `segment` finds it.
    #[arg(long)]
    flair: Option<PathBuf>,
    /// Where to write the mask (uint8 0/1).
    #[arg(long, short)]
    output: PathBuf,
    /// Reference brain mask on the output's grid (non-zero = brain) to score against.
    #[arg(long)]
    reference: Option<PathBuf>,
    /// Print a JSON summary.
    #[arg(long)]
    json: bool,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Summary {
    /// Brain volume in mL.
    brain_ml: f64,
    /// Whether the volume lies outside what an adult brain measures.
    implausible: bool,
    /// How the brain was found: `stripped`, `template` or `morphology`.
    method: &'static str,
    /// The template's fit (normalised cross-correlation), when it was used.
    fit: Option<f64>,
    /// Dice against --reference.
    dice: Option<f64>,
    /// The reference's volume in mL.
    reference_ml: Option<f64>,
}

/// Finds the brain, writes it and prints (or emits as JSON) its volume and score.
pub fn run(args: Args) -> Result<()> {
    let mut inputs = vec![args.t1.as_path()];
    inputs.extend(args.flair.as_deref());
    inputs.extend(args.reference.as_deref());
    files::check_outputs(&[&args.output], &inputs)?;
    let t1 = files::read_volume(&args.t1)?;
    let (grid, mask, method) = match &args.flair {
        Some(path) => {
            let flair = files::read_volume(path)?;
            let prepared = Inputs::prepare(flair, Some(&t1), Preparation::default())
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let brain = prepared.brain.as_ref().expect("a T1 was given");
            let method = prepared.brain_method.expect("a T1 was given");
            (
                prepared.reference.clone(),
                prepared.reorient.inverse(brain),
                method,
            )
        }
        None => {
            let mut t1 = t1;
            crate::volume::tame_range(&mut t1.data);
            let brain = crate::brain::extract_stored(&t1.data, &t1.geometry.affine, t1.dims);
            (t1, brain.mask, brain.method)
        }
    };
    let voxel_ml = grid.geometry.voxel_volume_mm3() / 1000.0;
    let brain_ml = mask.iter().filter(|&&b| b).count() as f64 * voxel_ml;
    let reference = (args.reference.as_deref())
        .map(|path| files::read_on_grid(path, &grid, "reference"))
        .transpose()?
        .map(|r| r.data.iter().map(|&v| v != 0.0).collect::<Vec<bool>>());
    let bytes: Vec<u8> = mask.iter().map(|&b| u8::from(b)).collect();
    let encoded = grid.encode_like(OutputData::U8(&bytes), files::wants_gzip(&args.output)?);
    files::write_all_atomic(&[(&args.output, encoded)])?;
    let summary = Summary {
        brain_ml,
        implausible: !crate::brain::plausible_ml(brain_ml),
        method: method.name(),
        fit: method.fit(),
        dice: reference.as_ref().map(|r| dice(&mask, r)),
        reference_ml: (reference.as_ref())
            .map(|r| r.iter().filter(|&&b| b).count() as f64 * voxel_ml),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("brain {:.0} mL ({})", summary.brain_ml, summary.method);
        if let (Some(d), Some(ml)) = (summary.dice, summary.reference_ml) {
            print!(", Dice {d:.4} against the reference's {ml:.0} mL");
        }
        println!();
    }
    Ok(())
}
