//! `wmh example`: writes the built-in synthetic case (FLAIR, T1 and lesion truth),
//! so the tool can be tried without any data.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::phantom;
use crate::volume::OutputData;

use super::files;

/// Arguments of `wmh example`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to write flair.nii.gz, t1.nii.gz and truth.nii.gz into (created if missing).
    #[arg(long, default_value = "example")]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let case = phantom::example();
    let flair = args.out.join("flair.nii.gz");
    let t1 = args.out.join("t1.nii.gz");
    let truth = args.out.join("truth.nii.gz");
    files::write_all_atomic(&[
        (
            &flair,
            case.flair
                .encode_like(OutputData::F32(&case.flair.data), true),
        ),
        (
            &t1,
            case.t1.encode_like(OutputData::F32(&case.t1.data), true),
        ),
        (
            &truth,
            case.flair.encode_like(OutputData::U8(&case.lesions), true),
        ),
    ])?;
    println!(
        "wrote {}, {} and {}",
        flair.display(),
        t1.display(),
        truth.display()
    );
    Ok(())
}
