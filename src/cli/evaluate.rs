//! `wmh evaluate`: the challenge's five metrics for one prediction.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::metrics;

use crate::files;

/// Arguments of `wmh evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Reference mask: 1 = WMH, 2 = other pathology (ignored), 0 = background.
    #[arg(long)]
    reference: PathBuf,
    /// Predicted mask or probability map (>= 0.5 is lesion).
    #[arg(long)]
    prediction: PathBuf,
    /// Print JSON with keys dsc, h95, avd, recall, f1.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let reference = files::read_volume(&args.reference)?;
    let prediction = files::read_volume(&args.prediction)?;
    if reference.dims == prediction.dims
        && !reference
            .geometry
            .same_grid(&prediction.geometry, reference.dims, 1e-2)
    {
        bail!(
            "{}: same dimensions as the reference but a different position in space; resample it onto the reference grid",
            args.prediction.display()
        );
    }
    let s = metrics::score(
        &reference.data,
        reference.dims,
        &prediction.data,
        prediction.dims,
        &reference.geometry.affine,
    )
    .with_context(|| {
        format!(
            "{} vs {}",
            args.reference.display(),
            args.prediction.display()
        )
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!("DSC    {:.4}", s.dsc);
        println!("H95    {:.4} mm", s.h95);
        println!("AVD    {:.4} %", s.avd);
        println!("Recall {:.4}", s.recall);
        println!("F1     {:.4}", s.f1);
    }
    Ok(())
}
