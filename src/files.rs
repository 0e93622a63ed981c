//! File access for the CLI and training: careful reads with clear errors, and atomic
//! writes that never leave partial files and never touch an input.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::volume::{Limits, Volume};

/// Reads a NIfTI file, naming the file in any error.
pub fn read_volume(path: &Path) -> Result<Volume> {
    let bytes = read_bytes(path)?;
    Volume::from_nifti_bytes(&bytes).with_context(|| format!("{}", path.display()))
}

/// A volume that must share `grid`'s extents (`what` names it in the error).
pub fn read_on_grid(path: &Path, grid: &Volume, what: &str) -> Result<Volume> {
    let v = read_volume(path)?;
    if v.dims != grid.dims {
        bail!(
            "{}: {what} grid {:?} differs from the image's {:?}",
            path.display(),
            v.dims,
            grid.dims
        );
    }
    Ok(v)
}

/// Reads a whole regular file of at most [`Limits::NATIVE`]'s size.
///
/// Devices, FIFOs and sockets are refused before they are opened (reading
/// `/dev/zero` never ends, opening a FIFO waits for a writer), and the read itself
/// is bounded, so a file that grows while it is read cannot exhaust memory.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("{}: cannot open", path.display()))?;
    if meta.is_dir() {
        bail!("{}: is a directory, not a NIfTI file", path.display());
    }
    if !meta.is_file() {
        bail!(
            "{}: is not a regular file (a device, pipe or socket)",
            path.display()
        );
    }
    let limit = Limits::NATIVE.max_file_bytes;
    Limits::NATIVE
        .check_file_size(meta.len())
        .with_context(|| format!("{}", path.display()))?;
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Limits::NATIVE
        .check_file_size(bytes.len() as u64)
        .with_context(|| format!("{}: grew while it was read", path.display()))?;
    Ok(bytes)
}

/// Whether an output path asks for gzip, by its extension; other extensions are refused.
pub fn wants_gzip(path: &Path) -> Result<bool> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if name.ends_with(".nii.gz") {
        Ok(true)
    } else if name.ends_with(".nii") {
        Ok(false)
    } else {
        bail!(
            "{}: output names must end in .nii or .nii.gz",
            path.display()
        )
    }
}

/// The absolute form of a path that may not exist yet (its parent must).
fn resolved(path: &Path) -> Result<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Ok(p);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = parent
        .canonicalize()
        .with_context(|| format!("{}: the output folder does not exist", path.display()))?;
    Ok(dir.join(path.file_name().context("output path has no file name")?))
}

/// Checks, before any work, that outputs are NIfTI names distinct from each other and
/// from every input.
pub fn check_outputs(outputs: &[&Path], inputs: &[&Path]) -> Result<()> {
    for out in outputs {
        wants_gzip(out)?;
    }
    check_distinct(outputs, inputs)
}

/// Checks that outputs of any kind are writable names distinct from each other and
/// from every input.
pub fn check_distinct(outputs: &[&Path], inputs: &[&Path]) -> Result<()> {
    let ins: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    let mut seen = Vec::new();
    for out in outputs {
        let r = resolved(out)?;
        if ins.contains(&r) {
            bail!("{}: refusing to overwrite an input file", out.display());
        }
        if r.is_dir() {
            bail!("{}: is a directory", out.display());
        }
        if seen.contains(&r) {
            bail!("{}: named for two different outputs", out.display());
        }
        seen.push(r);
    }
    Ok(())
}

/// The mode a finished output gets: what `File::create` gives (0o666 less the umask),
/// not the owner-only mode of a temporary file, so that colleagues and servers can read
/// a mask as they can read the scan.
#[cfg(unix)]
fn output_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o666))
}

/// Elsewhere the platform's default for new files applies.
#[cfg(not(unix))]
fn output_permissions() -> Option<std::fs::Permissions> {
    None
}

/// Writes every `(path, bytes)` pair atomically: all are staged as temporary files in
/// their target folders first, and renamed into place only once every one is written.
pub fn write_all_atomic<P: AsRef<Path>>(files: &[(P, Vec<u8>)]) -> Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let path = path.as_ref();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".wmh-").suffix(".partial");
        if let Some(mode) = output_permissions() {
            builder.permissions(mode);
        }
        let mut tmp = builder.tempfile_in(dir).with_context(|| {
            format!(
                "{}: cannot create a file in {}",
                path.display(),
                dir.display()
            )
        })?;
        tmp.write_all(bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .with_context(|| format!("{}: write failed", path.display()))?;
        staged.push((tmp, path));
    }
    for (tmp, path) in staged {
        tmp.persist(path).with_context(|| {
            format!(
                "{}: cannot move the finished file into place",
                path.display()
            )
        })?;
    }
    Ok(())
}
