//! The case-folder convention every command shares (`cohort`, `validate`, `train`,
//! `example` and the tests): one folder per scan, named by its id, holding
//! `flair.nii.gz` (or `.nii`), optionally `t1.nii.gz` and, where the truth is known,
//! `wmh.nii.gz`.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// The FLAIR's file stem.
pub const FLAIR: &str = "flair";
/// The T1's file stem.
pub const T1: &str = "t1";
/// The manual WMH (or lesion) mask's file stem.
pub const WMH: &str = "wmh";

/// The name a new image with this stem is written under.
pub fn file_name(stem: &str) -> String {
    format!("{stem}.nii.gz")
}

/// The image with this stem in `dir`: `<stem>.nii.gz`, else `<stem>.nii`, if either is a
/// file.
pub fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    [file_name(stem), format!("{stem}.nii")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// The image with this stem in `dir`, or an error naming what is missing.
pub fn require(dir: &Path, stem: &str) -> Result<PathBuf> {
    match find(dir, stem) {
        Some(path) => Ok(path),
        None => bail!("{}: no {stem}.nii.gz or {stem}.nii", dir.display()),
    }
}

/// One case folder's images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFolder {
    /// The folder's name (after resolving links and `.`).
    pub id: String,
    /// The FLAIR.
    pub flair: PathBuf,
    /// The T1, if there is one.
    pub t1: Option<PathBuf>,
    /// The manual mask, if there is one.
    pub wmh: Option<PathBuf>,
}

impl CaseFolder {
    /// Reads the folder `dir`: it must hold a FLAIR.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!("{}: not a case folder", dir.display());
        }
        let id = (dir.canonicalize().ok())
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        Ok(Self {
            id,
            flair: require(dir, FLAIR)?,
            t1: find(dir, T1),
            wmh: find(dir, WMH),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_gives_its_images_either_compressed_or_not() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("sub-01");
        std::fs::create_dir(&dir).unwrap();
        assert!(
            CaseFolder::open(&dir)
                .unwrap_err()
                .to_string()
                .contains("no flair.nii.gz")
        );
        std::fs::write(dir.join("flair.nii"), b"").unwrap();
        std::fs::write(dir.join("wmh.nii.gz"), b"").unwrap();
        let case = CaseFolder::open(&dir).unwrap();
        assert_eq!(case.id, "sub-01");
        assert_eq!(case.flair, dir.join("flair.nii"));
        assert_eq!((case.t1, case.wmh), (None, Some(dir.join("wmh.nii.gz"))));
        // The compressed file wins where both exist.
        std::fs::write(dir.join("flair.nii.gz"), b"").unwrap();
        assert_eq!(
            CaseFolder::open(&dir).unwrap().flair,
            dir.join("flair.nii.gz")
        );
        assert!(CaseFolder::open(&dir.join("flair.nii")).is_err());
    }
}
