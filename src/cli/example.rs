//! `wmh example`: writes the built-in synthetic case (FLAIR, T1 and lesion truth),
//! so the tool can be tried without any data.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::phantom::{self, Phantom};
use crate::volume::OutputData;

use crate::case;
use crate::files;

/// Arguments of `wmh example`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Case folder to write flair.nii.gz, t1.nii.gz and the lesions' truth, wmh.nii.gz,
    /// into (created if missing).
    #[arg(long, default_value = "example")]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    write_case(&args.out, &phantom::example(), true)
}

/// Writes `case`'s FLAIR and T1 (and its lesions as the WMH truth with `truth`) into
/// the case folder `dir` (see [`crate::case`]), all or none, and says which files it
/// wrote.
pub fn write_case(dir: &Path, case: &Phantom, truth: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let [flair, t1, labels] =
        [case::FLAIR, case::T1, case::WMH].map(|s| dir.join(case::file_name(s)));
    let mut outputs: Vec<(&Path, Vec<u8>)> = vec![
        (
            &flair,
            case.flair
                .encode_like(OutputData::F32(&case.flair.data), true),
        ),
        (
            &t1,
            case.t1.encode_like(OutputData::F32(&case.t1.data), true),
        ),
    ];
    if truth {
        outputs.push((
            &labels,
            case.flair.encode_like(OutputData::U8(&case.lesions), true),
        ));
    }
    files::write_all_atomic(&outputs)?;
    let names: Vec<String> = outputs
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    println!("wrote {}", names.join(", "));
    Ok(())
}
