//! Every bound a NIfTI file must meet before anything it announces is allocated:
//! sizes per target ([`Limits`]), voxel size, field of view and origin.

use nifti::NiftiHeader;

use super::VolumeError;
use super::affine::{self, Affine, TransformSource};

/// Smallest accepted voxel edge (mm), from the chosen voxel-to-world transform: finer
/// than any in-vivo MRI, and it keeps the morphology's millimetre-sized structuring
/// elements to a few thousand voxels.
pub const MIN_VOXEL_MM: f64 = 0.1;
/// Largest accepted voxel edge (mm): coarser than any usable brain MRI slice.
pub const MAX_VOXEL_MM: f64 = 20.0;
/// Largest accepted extent of the grid along one voxel axis (mm): a head with neck and
/// shoulders fits; a whole body does not. It bounds every resampled plane's size.
pub const MAX_FIELD_OF_VIEW_MM: f64 = 600.0;
/// Largest accepted distance (mm) of the grid's origin from the scanner's centre.
pub const MAX_ORIGIN_MM: f64 = 1.0e5;
/// The sizes a decoder accepts, checked from the header before allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest extent along one axis.
    pub max_dim: usize,
    /// Largest number of voxels.
    pub max_voxels: u64,
    /// Largest file, compressed or not.
    pub max_file_bytes: u64,
}

impl Limits {
    /// The command-line tool: up to a 512^3 volume (0.5 GiB as f32), files up to 2 GiB.
    pub const NATIVE: Limits = Limits {
        max_dim: 2048,
        max_voxels: 512 * 512 * 512,
        max_file_bytes: 2 << 30,
    };
    /// The browser: a wasm32 instance has at most 4 GiB for everything, and a
    /// segmentation holds about 46 bytes per voxel at its peak (measured natively:
    /// 187 MB for 256x256x48, 617 MB for 256x256x192), so 32 Mi voxels (e.g.
    /// 512x512x128 or 320x320x320: about 1.5 GiB) and files up to 512 MiB.
    pub const BROWSER: Limits = Limits {
        max_dim: 2048,
        max_voxels: 1 << 25,
        max_file_bytes: 512 << 20,
    };

    /// Refuses a file of `len` bytes before it is read.
    pub fn check_file_size(&self, len: u64) -> Result<(), VolumeError> {
        if len > self.max_file_bytes {
            return Err(VolumeError::TooLarge(format!(
                "the file has {} MiB; at most {} MiB are accepted here",
                len >> 20,
                self.max_file_bytes >> 20
            )));
        }
        Ok(())
    }
}

/// Validates `dim` against `limits` and returns the three spatial extents.
pub(super) fn checked_dims(h: &NiftiHeader, limits: &Limits) -> Result<[usize; 3], VolumeError> {
    let ndim = h.dim[0];
    if !(1..=7).contains(&ndim) {
        return Err(VolumeError::Corrupt(format!(
            "dim[0] = {ndim}; it must be between 1 and 7"
        )));
    }
    let ndim = ndim as usize;
    let extent = |i: usize| {
        if i <= ndim {
            i64::from(h.dim[i] as i16)
        } else {
            1
        }
    };
    let dims = [extent(1), extent(2), extent(3)];
    if dims.iter().any(|&d| d <= 0) {
        return Err(VolumeError::BadDimensions(format!(
            "{} x {} x {} has an empty axis",
            dims[0], dims[1], dims[2]
        )));
    }
    let extra = (4..=ndim)
        .map(extent)
        .try_fold(1i64, |n, d| n.checked_mul(d));
    if extra != Some(1) {
        let count = extra.map_or_else(|| "countless".to_string(), |n| n.to_string());
        return Err(VolumeError::Unsupported(format!(
            "a {ndim}-D image with {count} volumes; give a single 3-D volume"
        )));
    }
    // In u64: on wasm32 a usize product of three 2048s wraps to 0.
    let voxels: u64 = dims.iter().map(|&d| d as u64).product();
    if dims.iter().any(|&d| d as u64 > limits.max_dim as u64) || voxels > limits.max_voxels {
        return Err(VolumeError::TooLarge(format!(
            "{} x {} x {} voxels; at most {} per axis and {} Mi voxels are accepted here",
            dims[0],
            dims[1],
            dims[2],
            limits.max_dim,
            limits.max_voxels >> 20
        )));
    }
    Ok(dims.map(|d| d as usize))
}

/// Checks the voxel-to-world transform: invertible, finite, with voxel sizes, field of
/// view and origin inside the accepted bounds.
pub(super) fn check_geometry(
    a: &Affine,
    source: TransformSource,
    dims: [usize; 3],
) -> Result<(), VolumeError> {
    let name = source_name(source);
    let singular = || {
        VolumeError::Corrupt(format!(
            "the {name} voxel-to-world transform is singular or not finite"
        ))
    };
    if a.iter().flatten().any(|v| !v.is_finite()) {
        return Err(singular());
    }
    let sizes = affine::voxel_sizes(a);
    for (axis, (&mm, &n)) in sizes.iter().zip(&dims).enumerate() {
        if !(MIN_VOXEL_MM..=MAX_VOXEL_MM).contains(&mm) {
            return Err(VolumeError::BadGeometry(format!(
                "the {name} gives voxel axis {} a size of {} mm; {MIN_VOXEL_MM} to {MAX_VOXEL_MM} mm are accepted",
                axis + 1,
                readable(mm)
            )));
        }
        if mm * n as f64 > MAX_FIELD_OF_VIEW_MM {
            return Err(VolumeError::BadGeometry(format!(
                "voxel axis {} spans {:.0} mm ({n} voxels of {mm:.2} mm); at most {MAX_FIELD_OF_VIEW_MM} mm (a head) are accepted",
                axis + 1,
                mm * n as f64
            )));
        }
    }
    if affine::invert(a).is_none() {
        return Err(singular());
    }
    if a.iter().any(|row| row[3].abs() > MAX_ORIGIN_MM) {
        return Err(VolumeError::BadGeometry(format!(
            "the {name} puts the grid's origin more than {} km from the scanner's centre",
            MAX_ORIGIN_MM / 1.0e6
        )));
    }
    Ok(())
}

/// A length for a message: plain decimals where they are readable, else scientific.
fn readable(mm: f64) -> String {
    if mm == 0.0 || (1.0e-3..1.0e5).contains(&mm) {
        format!("{mm:.3}")
    } else {
        format!("{mm:.1e}")
    }
}

pub(super) fn source_name(s: TransformSource) -> &'static str {
    match s {
        TransformSource::Sform => "sform",
        TransformSource::Qform => "qform",
        TransformSource::Pixdim => "pixdim",
    }
}
