//! Volumes: NIfTI-1 I/O, voxel-to-world geometry, orientation and resampling.
//!
//! Voxel data are stored as `f32` in NIfTI order (x fastest): the value at voxel
//! `(i, j, k)` lives at `i + nx * (j + ny * k)`.

pub mod affine;
pub mod bounds;
pub mod crop;
pub mod distance;
pub mod io;
pub mod register;
pub mod reorient;
pub mod resample;

use nifti::NiftiHeader;

pub use affine::{Affine, TransformSource};
pub use io::{Limits, OutputData};
pub use reorient::Reorientation;

/// Why a file could not be used as a volume.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// The bytes are not a NIfTI-1 file at all.
    #[error("not a NIfTI-1 file: {0}")]
    NotNifti(String),
    /// A NIfTI-1 file whose header or data is damaged.
    #[error("corrupt NIfTI-1 file: {0}")]
    Corrupt(String),
    /// The file ends before the voxel data the header announces.
    #[error(
        "truncated: the header announces {expected} bytes of voxel data, the file holds {found}"
    )]
    Truncated {
        /// Bytes the header announces.
        expected: usize,
        /// Bytes actually present.
        found: usize,
    },
    /// A valid file of a kind this tool does not take.
    #[error("unsupported image: {0}")]
    Unsupported(String),
    /// Zero or negative dimensions.
    #[error("unusable dimensions: {0}")]
    BadDimensions(String),
    /// More voxels or bytes than this tool accepts (checked before reading them).
    #[error("too large: {0}")]
    TooLarge(String),
    /// Voxel sizes, field of view or origin outside the accepted ranges.
    #[error("unusable geometry: {0}")]
    BadGeometry(String),
    /// NaN or infinite voxel values.
    #[error("{0} voxels are NaN or infinite")]
    NonFinite(usize),
}

/// The grid an image lives on: its header (kept to write outputs with identical
/// geometry) and the voxel-to-world transform chosen from it.
#[derive(Debug, Clone)]
pub struct Geometry {
    /// The header as read; its dims, pixdim, qform and sform are copied to outputs.
    pub header: NiftiHeader,
    /// Voxel-to-world transform (mm).
    pub affine: Affine,
    /// Which header field the transform came from.
    pub source: TransformSource,
}

impl Geometry {
    /// A geometry for a grid with the given affine, stored as sform and qform-free.
    pub fn from_affine(affine: Affine) -> Self {
        let mut header = NiftiHeader {
            sform_code: 2,
            qform_code: 0,
            xyzt_units: 2, // millimetres
            ..NiftiHeader::default()
        };
        let sizes = affine::voxel_sizes(&affine);
        header.pixdim = [
            1.0,
            sizes[0] as f32,
            sizes[1] as f32,
            sizes[2] as f32,
            1.0,
            1.0,
            1.0,
            1.0,
        ];
        let row = |r: usize| affine[r].map(|v| v as f32);
        header.srow_x = row(0);
        header.srow_y = row(1);
        header.srow_z = row(2);
        // Re-derive through the header so the f32 rounding matches what a reader sees.
        let (affine, source) = affine::header_affine(&header);
        Self {
            header,
            affine,
            source,
        }
    }

    /// Voxel sizes in mm along the three voxel axes.
    pub fn voxel_sizes(&self) -> [f64; 3] {
        affine::voxel_sizes(&self.affine)
    }

    /// Volume of one voxel in mm^3.
    pub fn voxel_volume_mm3(&self) -> f64 {
        affine::determinant(&self.affine).abs()
    }

    /// True when both geometries describe the same grid (dims checked by the caller)
    /// up to `tol_mm` at every corner.
    pub fn same_grid(&self, other: &Geometry, dims: [usize; 3], tol_mm: f64) -> bool {
        corners(dims).iter().all(|&c| {
            let (a, b) = (
                affine::apply(&self.affine, c),
                affine::apply(&other.affine, c),
            );
            (0..3).all(|k| (a[k] - b[k]).abs() <= tol_mm)
        })
    }
}

fn corners(dims: [usize; 3]) -> Vec<[f64; 3]> {
    let mut out = Vec::with_capacity(8);
    for &i in &[0.0, dims[0] as f64 - 1.0] {
        for &j in &[0.0, dims[1] as f64 - 1.0] {
            for &k in &[0.0, dims[2] as f64 - 1.0] {
                out.push([i, j, k]);
            }
        }
    }
    out
}

/// A 3-D scalar image with its geometry.
#[derive(Debug, Clone)]
pub struct Volume {
    /// Extents along the three voxel axes.
    pub dims: [usize; 3],
    /// Voxel values in NIfTI order (x fastest).
    pub data: Vec<f32>,
    /// Where the voxels are in the world.
    pub geometry: Geometry,
}

impl Volume {
    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True for a volume without voxels (never produced by the decoder).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Decodes a `.nii` or `.nii.gz` file's bytes within the native limits.
    pub fn from_nifti_bytes(bytes: &[u8]) -> Result<Self, VolumeError> {
        io::decode(bytes)
    }

    /// Decodes a `.nii` or `.nii.gz` file's bytes within `limits`.
    pub fn from_nifti_bytes_within(bytes: &[u8], limits: &Limits) -> Result<Self, VolumeError> {
        io::decode_within(bytes, limits)
    }

    /// Encodes values of the same grid as this volume, with its header geometry.
    pub fn encode_like(&self, data: OutputData<'_>, gzip: bool) -> Vec<u8> {
        io::encode(&self.geometry, self.dims, data, gzip)
    }
}

/// Linear index of voxel `(i, j, k)` in a grid of extents `dims`.
#[inline]
pub fn index(dims: [usize; 3], i: usize, j: usize, k: usize) -> usize {
    i + dims[0] * (j + dims[1] * k)
}

/// Magnitudes (powers of two) between which intensities are used as they are.
const TAME_ABOVE: i32 = 32;
const TAME_BELOW: i32 = -16;
/// Where [`tame_range`] puts the largest magnitude: about a 12-bit scanner's range.
const TAME_TO: i32 = 10;

/// Scales intensities whose largest magnitude is above 2^32 or below 2^-16 by a power
/// of two, so that it lands in [2^10, 2^11); returns the exponent applied (0: left
/// alone). Every step downstream is scale-invariant, and a power of two scales
/// exactly, so the result is unchanged while sums, squares and differences of values
/// near f32's limits (3.4e38) stay finite. Typical scans are never touched.
pub fn tame_range(data: &mut [f32]) -> i32 {
    let top = data.iter().fold(0f32, |m, v| m.max(v.abs()));
    if !top.is_finite() || top == 0.0 {
        return 0;
    }
    let exponent = f64::from(top).log2().floor() as i32;
    if (TAME_BELOW..TAME_ABOVE).contains(&exponent) {
        return 0;
    }
    let shift = TAME_TO - exponent;
    // Two steps, since 2^shift itself may not be representable for |shift| > 127.
    let (half, rest) = (shift / 2, shift - shift / 2);
    let (f1, f2) = (2f32.powi(half), 2f32.powi(rest));
    data.iter_mut().for_each(|v| *v = *v * f1 * f2);
    shift
}

/// Value at the given percentile (0-100) of `values`, by nearest rank.
pub fn percentile(values: &[f32], pct: f64) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    let rank = ((pct / 100.0) * (v.len() - 1) as f64).round() as usize;
    let rank = rank.min(v.len() - 1);
    let (_, nth, _) = v.select_nth_unstable_by(rank, f32::total_cmp);
    *nth
}

/// A simple head/brain mask: voxels brighter than a tenth of the robust maximum
/// (99.5th percentile of non-zero voxels), with holes in each axial slice filled.
pub fn foreground_mask(data: &[f32], dims: [usize; 3], slice_axis: usize) -> Vec<bool> {
    let nonzero: Vec<f32> = data.iter().copied().filter(|&v| v > 0.0).collect();
    let top = percentile(&nonzero, 99.5);
    let threshold = 0.1 * top;
    let mask: Vec<bool> = data.iter().map(|&v| v > threshold && top > 0.0).collect();
    fill_holes_per_slice(&mask, dims, slice_axis)
}

/// Fills, in every slice perpendicular to `axis`, the background regions that do not
/// touch the slice border (4-connected flood fill from the border).
pub fn fill_holes_per_slice(mask: &[bool], dims: [usize; 3], axis: usize) -> Vec<bool> {
    let (a, b) = match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let mut out = mask.to_vec();
    let (na, nb) = (dims[a], dims[b]);
    let mut outside = vec![false; na * nb];
    let mut stack = Vec::new();
    for s in 0..dims[axis] {
        let at = |u: usize, v: usize| {
            let mut c = [0; 3];
            c[axis] = s;
            c[a] = u;
            c[b] = v;
            index(dims, c[0], c[1], c[2])
        };
        outside.iter_mut().for_each(|o| *o = false);
        for u in 0..na {
            for v in 0..nb {
                let border = u == 0 || v == 0 || u == na - 1 || v == nb - 1;
                if border && !mask[at(u, v)] && !outside[u * nb + v] {
                    outside[u * nb + v] = true;
                    stack.push((u, v));
                }
            }
        }
        while let Some((u, v)) = stack.pop() {
            let mut visit = |u2: usize, v2: usize| {
                if !outside[u2 * nb + v2] && !mask[at(u2, v2)] {
                    outside[u2 * nb + v2] = true;
                    stack.push((u2, v2));
                }
            };
            if u > 0 {
                visit(u - 1, v);
            }
            if u + 1 < na {
                visit(u + 1, v);
            }
            if v > 0 {
                visit(u, v - 1);
            }
            if v + 1 < nb {
                visit(u, v + 1);
            }
        }
        for u in 0..na {
            for v in 0..nb {
                if !outside[u * nb + v] {
                    out[at(u, v)] = true;
                }
            }
        }
    }
    out
}

/// Offsets of the digital ellipse of radius `mm` in a plane with pixel sizes `spacing`.
fn disc(spacing: [f64; 3], mm: f64) -> Vec<(i64, i64)> {
    let rx = (mm / spacing[0]).floor() as i64;
    let ry = (mm / spacing[1]).floor() as i64;
    (-ry..=ry)
        .flat_map(|dy| (-rx..=rx).map(move |dx| (dx, dy)))
        .filter(|&(dx, dy)| {
            let (fx, fy) = (dx as f64 * spacing[0], dy as f64 * spacing[1]);
            fx * fx + fy * fy <= mm * mm + 1e-9
        })
        .collect()
}

/// In-plane erosion (axial slices, canonical grid) by an ellipse of radius `mm`:
/// a voxel stays only if the whole disc around it is inside `mask` (and the image).
pub fn erode_in_plane(mask: &[bool], dims: [usize; 3], spacing: [f64; 3], mm: f64) -> Vec<bool> {
    let offsets = disc(spacing, mm);
    let mut out = vec![false; mask.len()];
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                let i = index(dims, x, y, z);
                out[i] = mask[i]
                    && offsets.iter().all(|&(dx, dy)| {
                        let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                        nx >= 0
                            && ny >= 0
                            && nx < dims[0] as i64
                            && ny < dims[1] as i64
                            && mask[index(dims, nx as usize, ny as usize, z)]
                    });
            }
        }
    }
    out
}

/// In-plane dilation (axial slices, canonical grid) by an ellipse of radius `mm`.
pub fn dilate_in_plane(mask: &[bool], dims: [usize; 3], spacing: [f64; 3], mm: f64) -> Vec<bool> {
    let offsets = disc(spacing, mm);
    let mut out = mask.to_vec();
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                if !mask[index(dims, x, y, z)] {
                    continue;
                }
                for &(dx, dy) in &offsets {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx >= 0 && ny >= 0 && nx < dims[0] as i64 && ny < dims[1] as i64 {
                        out[index(dims, nx as usize, ny as usize, z)] = true;
                    }
                }
            }
        }
    }
    out
}

/// Voxels in both masks, in `a` and in `b`.
pub fn overlap_counts(a: &[bool], b: &[bool]) -> (usize, usize, usize) {
    let (mut both, mut na, mut nb) = (0usize, 0usize, 0usize);
    for (&x, &y) in a.iter().zip(b) {
        both += usize::from(x && y);
        na += usize::from(x);
        nb += usize::from(y);
    }
    (both, na, nb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dilation_grows_a_point_into_a_disc_in_plane_only() {
        let dims = [9, 9, 3];
        let mut m = vec![false; 243];
        m[index(dims, 4, 4, 1)] = true;
        let d = dilate_in_plane(&m, dims, [1.0, 1.0, 5.0], 2.0);
        assert_eq!(d.iter().filter(|&&b| b).count(), 13); // radius-2 digital disc
        assert!(!d[index(dims, 4, 4, 0)] && !d[index(dims, 4, 4, 2)]);
    }

    #[test]
    fn erosion_undoes_dilation_of_a_disc_away_from_the_border() {
        let dims = [15, 15, 1];
        let mut m = vec![false; 225];
        m[index(dims, 7, 7, 0)] = true;
        let d = dilate_in_plane(&m, dims, [1.0, 1.0, 1.0], 3.0);
        assert_eq!(erode_in_plane(&d, dims, [1.0, 1.0, 1.0], 3.0), m);
        // A mask touching the image edge erodes from the edge too.
        let full = vec![true; 225];
        let e = erode_in_plane(&full, dims, [1.0, 1.0, 1.0], 1.0);
        assert!(!e[index(dims, 0, 7, 0)] && e[index(dims, 1, 7, 0)]);
    }

    #[test]
    fn percentile_by_nearest_rank() {
        let v: Vec<f32> = (0..=100).map(|x| x as f32).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn holes_inside_a_ring_are_filled_but_open_bays_are_not() {
        let dims = [7, 7, 1];
        let mut m = vec![false; 49];
        for i in 1..6 {
            for j in 1..6 {
                m[index(dims, i, j, 0)] = i == 1 || i == 5 || j == 1 || j == 5;
            }
        }
        m[index(dims, 3, 5, 0)] = true;
        let filled = fill_holes_per_slice(&m, dims, 2);
        assert!(filled[index(dims, 3, 3, 0)]);
        assert!(!filled[index(dims, 0, 0, 0)]);
        // Open the ring: the inside now touches the border and stays background.
        m[index(dims, 1, 3, 0)] = false;
        m[index(dims, 0, 3, 0)] = false;
        let open = fill_holes_per_slice(&m, dims, 2);
        assert!(!open[index(dims, 3, 3, 0)]);
    }

    #[test]
    fn extreme_intensities_are_scaled_by_a_power_of_two_and_typical_ones_left_alone() {
        let mut typical = vec![0.0, 12.5, 4095.0, -3.0];
        assert_eq!(tame_range(&mut typical), 0);
        assert_eq!(typical, [0.0, 12.5, 4095.0, -3.0]);
        let original = [0.0f32, 1.5, 3.0, -0.75];
        for scale in [2f32.powi(126), 2f32.powi(-140), 2f32.powi(40)] {
            let mut v: Vec<f32> = original.iter().map(|x| x * scale).collect();
            let shift = tame_range(&mut v);
            assert_ne!(shift, 0);
            // Exactly the original values times one power of two, inside [2^10, 2^11).
            let k = v[2] / original[2];
            assert_eq!(k, 2f32.powi(k.log2() as i32));
            for (a, b) in v.iter().zip(original) {
                assert_eq!(*a, b * k);
            }
            assert!((1024.0..2048.0).contains(&v[2]), "{v:?}");
        }
        let mut zeros = vec![0.0; 3];
        assert_eq!(tame_range(&mut zeros), 0);
    }

    #[test]
    fn dice_of_known_masks() {}

    #[test]
    fn geometry_from_affine_reports_voxel_volume() {
        let g = Geometry::from_affine([
            [-0.9, 0.0, 0.0, 10.0],
            [0.0, 0.9, 0.0, 0.0],
            [0.0, 0.0, 6.5, 0.0],
        ]);
        assert!((g.voxel_volume_mm3() - 0.9 * 0.9 * 6.5).abs() < 1e-4);
    }
}
