//! `wmh tissue`: the FAST-like CSF/GM/WM classifier on a T1 (labels 1/2/3 on the T1's
//! grid), optionally scored against a reference tissue map.

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use crate::tissue::{self, CSF, GM, TissueOptions, WM};
use crate::volume::OutputData;

use crate::files;

/// Arguments of `wmh tissue`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// T1 image (.nii/.nii.gz), skull-stripped (zero background) or with skull; then
    /// the brain is found by morphology (`brain`), unless --mask gives it.
    #[arg(long)]
    t1: PathBuf,
    /// Where to write the labels (uint8: 0 outside, 1 CSF, 2 GM, 3 WM).
    #[arg(long)]
    output: PathBuf,
    /// Brain mask on the T1's grid (non-zero = brain), for T1s with skull.
    #[arg(long)]
    mask: Option<PathBuf>,
    /// Reference tissue map (1 CSF, 2 GM, 3 WM) to score the result against.
    #[arg(long)]
    reference: Option<PathBuf>,
    /// EM iterations.
    #[arg(long, default_value_t = TissueOptions::default().iterations)]
    iterations: usize,
    /// Neighbourhood (MRF) prior strength; 0 turns it off.
    #[arg(long, default_value_t = TissueOptions::default().mrf_beta)]
    beta: f32,
    /// Degree of the polynomial bias field; 0 turns bias correction off.
    #[arg(long, default_value_t = TissueOptions::default().bias_degree)]
    bias_degree: usize,
    /// Print a JSON summary.
    #[arg(long)]
    json: bool,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Summary {
    /// Voxels per class (CSF, GM, WM).
    voxels: [usize; 3],
    /// Bias-corrected class means (CSF, GM, WM).
    means: [f32; 3],
    /// Dice per class against --reference (CSF, GM, WM).
    dice: Option<[f64; 3]>,
}

/// Classifies the T1, writes the labels and prints (or emits as JSON) the summary.
pub fn run(args: Args) -> Result<()> {
    let mut inputs = vec![args.t1.as_path()];
    inputs.extend(args.mask.as_deref());
    inputs.extend(args.reference.as_deref());
    files::check_outputs(&[&args.output], &inputs)?;
    let mut t1 = files::read_volume(&args.t1)?;
    crate::volume::tame_range(&mut t1.data);
    let mask = match &args.mask {
        Some(path) => (files::read_on_grid(path, &t1, "mask")?.data.iter())
            .map(|&v| v != 0.0)
            .collect(),
        // A zero background alone does not mean skull-stripped (many head scans have
        // one); brain extraction keeps a stripped brain whole and strips a head.
        None => crate::brain::brain_mask_stored(&t1.data, &t1.geometry.affine, t1.dims),
    };
    let reference = (args.reference.as_deref())
        .map(|path| files::read_on_grid(path, &t1, "reference"))
        .transpose()?;
    let opts = TissueOptions {
        iterations: args.iterations,
        mrf_beta: args.beta,
        bias_degree: args.bias_degree,
    };
    let result = tissue::classify(&t1.data, t1.dims, &mask, &opts)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.t1.display()))?;
    let count = |c: u8| result.labels.iter().filter(|&&l| l == c).count();
    let dice = reference.map(|r| {
        let truth: Vec<u8> = r
            .data
            .iter()
            .map(|&v| v.round().clamp(0.0, 255.0) as u8)
            .collect();
        [CSF, GM, WM].map(|c| tissue::class_dice(&result.labels, &truth, c))
    });
    let bytes = t1.encode_like(
        OutputData::U8(&result.labels),
        files::wants_gzip(&args.output)?,
    );
    files::write_all_atomic(&[(&args.output, bytes)])?;
    let summary = Summary {
        voxels: [count(CSF), count(GM), count(WM)],
        means: result.means,
        dice,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        summary.print();
    }
    Ok(())
}

impl Summary {
    /// The summary as two lines of text.
    fn print(&self) {
        let summary = self;
        println!(
            "CSF {} / GM {} / WM {} voxels (means {:.1} / {:.1} / {:.1})",
            summary.voxels[0],
            summary.voxels[1],
            summary.voxels[2],
            summary.means[0],
            summary.means[1],
            summary.means[2]
        );
        if let Some(d) = summary.dice {
            println!(
                "Dice vs reference: CSF {:.3}, GM {:.3}, WM {:.3}",
                d[0], d[1], d[2]
            );
        }
    }
}
