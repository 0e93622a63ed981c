//! Preparing volumes for the networks and mapping their output back: RAS
//! reorientation, intensity normalisation, in-plane rescaling and padding.
//!
//! Training and inference both go through [`SliceStack`], so the networks always see
//! the same preprocessing.

use crate::model::DEPTH;
use crate::volume::resample::rescale_2d;
use crate::volume::{Reorientation, Volume, foreground_mask, index};

/// Z-score normalisation inside `mask` (the whole volume if the mask is empty).
/// Scanners differ by orders of magnitude; this makes their contrasts comparable.
pub fn zscore(data: &[f32], mask: &[bool]) -> Vec<f32> {
    let (mut n, mut sum, mut sq) = (0usize, 0f64, 0f64);
    let use_all = !mask.iter().any(|&m| m);
    for (&v, &m) in data.iter().zip(mask) {
        if m || use_all {
            n += 1;
            sum += f64::from(v);
            sq += f64::from(v) * f64::from(v);
        }
    }
    let mean = sum / n.max(1) as f64;
    let std = (sq / n.max(1) as f64 - mean * mean)
        .max(0.0)
        .sqrt()
        .max(1e-6);
    data.iter()
        .map(|&v| ((f64::from(v) - mean) / std) as f32)
        .collect()
}

/// Robust z-scores: `(v - median) / (1.4826 * MAD)` with median and median absolute
/// deviation taken inside `mask` (the whole volume if the mask is empty).
pub fn robust_zscore(data: &[f32], mask: &[bool]) -> Vec<f32> {
    let use_all = !mask.iter().any(|&m| m);
    let values: Vec<f32> = data
        .iter()
        .zip(mask)
        .filter(|&(_, &m)| m || use_all)
        .map(|(&v, _)| v)
        .collect();
    let median = crate::volume::percentile(&values, 50.0);
    let deviations: Vec<f32> = values.iter().map(|v| (v - median).abs()).collect();
    let scale = (1.4826 * crate::volume::percentile(&deviations, 50.0)).max(1e-6);
    data.iter().map(|&v| (v - median) / scale).collect()
}

/// How one axial slice maps into the network's input plane: rescaled to the target
/// spacing, then padded (centred) to a multiple of 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plane {
    /// Canonical slice extents (x = columns, y = rows).
    pub nx: usize,
    /// Rows of the canonical slice.
    pub ny: usize,
    /// Columns after rescaling to the target spacing.
    pub rx: usize,
    /// Rows after rescaling.
    pub ry: usize,
    /// Network input width (multiple of 8).
    pub px: usize,
    /// Network input height (multiple of 8).
    pub py: usize,
}

impl Plane {
    /// The plane for a slice of `nx x ny` voxels of `sx x sy` mm at target spacing `target` mm.
    /// Spacings within 10% of the target are left alone, so the common case is exact.
    pub fn new(nx: usize, ny: usize, sx: f64, sy: f64, target: f64) -> Self {
        let scaled = |n: usize, s: f64| {
            if (s / target - 1.0).abs() <= 0.1 {
                n
            } else {
                ((n as f64 * s / target).round() as usize).max(1)
            }
        };
        let (rx, ry) = (scaled(nx, sx), scaled(ny, sy));
        let multiple = 1 << DEPTH;
        let pad = |n: usize| n.div_ceil(multiple) * multiple;
        Self {
            nx,
            ny,
            rx,
            ry,
            px: pad(rx),
            py: pad(ry),
        }
    }

    /// Offsets of the rescaled slice inside the padded plane.
    fn offsets(&self) -> (usize, usize) {
        ((self.px - self.rx) / 2, (self.py - self.ry) / 2)
    }

    /// Canonical slice (`ny` rows of `nx`) to a padded network plane, filling with `fill`.
    pub fn forward(&self, slice: &[f32], fill: f32) -> Vec<f32> {
        let scaled = rescale_2d(slice, self.ny, self.nx, self.ry, self.rx);
        let (ox, oy) = self.offsets();
        let mut out = vec![fill; self.px * self.py];
        for r in 0..self.ry {
            let dst = (r + oy) * self.px + ox;
            out[dst..dst + self.rx].copy_from_slice(&scaled[r * self.rx..(r + 1) * self.rx]);
        }
        out
    }

    /// A padded network plane back to a canonical slice: crop, then rescale.
    pub fn inverse(&self, plane: &[f32]) -> Vec<f32> {
        let (ox, oy) = self.offsets();
        let mut cropped = Vec::with_capacity(self.rx * self.ry);
        for r in 0..self.ry {
            let src = (r + oy) * self.px + ox;
            cropped.extend_from_slice(&plane[src..src + self.rx]);
        }
        rescale_2d(&cropped, self.ry, self.rx, self.ny, self.nx)
    }
}

/// A normalised volume in canonical (RAS) order, cut into network-ready axial slices.
#[derive(Debug, Clone)]
pub struct SliceStack {
    /// Canonical extents; axis 2 runs inferior to superior.
    pub dims: [usize; 3],
    /// Normalised voxels in canonical order.
    pub data: Vec<f32>,
    /// Value used for padding (the normalised background).
    pub fill: f32,
    /// The in-plane mapping shared by every slice.
    pub plane: Plane,
}

impl SliceStack {
    /// Reorients `data` (on `volume`'s grid) with `reorient`, normalises it inside its
    /// foreground and sets up the plane for `target_mm` in-plane spacing.
    pub fn new(data: &[f32], volume: &Volume, reorient: &Reorientation, target_mm: f64) -> Self {
        let dims = reorient.canonical_dims();
        let canonical = reorient.forward(data);
        let mask = foreground_mask(&canonical, dims, 2);
        let data = zscore(&canonical, &mask);
        let fill = data.iter().copied().fold(f32::INFINITY, f32::min).min(0.0);
        let spacing = reorient.canonical_spacing(volume.geometry.voxel_sizes());
        let plane = Plane::new(dims[0], dims[1], spacing[0], spacing[1], target_mm);
        Self {
            dims,
            data,
            fill,
            plane,
        }
    }

    /// Number of axial slices.
    pub fn slices(&self) -> usize {
        self.dims[2]
    }

    /// One canonical axial slice (`ny` rows of `nx`).
    pub fn slice(&self, z: usize) -> &[f32] {
        let n = self.dims[0] * self.dims[1];
        &self.data[z * n..(z + 1) * n]
    }

    /// Network input for slice `z`: `2 * context + 1` planes, neighbours clamped at the ends.
    pub fn input(&self, z: usize, context: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity((2 * context + 1) * self.plane.px * self.plane.py);
        for d in 0..=2 * context {
            let zz = (z + d).saturating_sub(context).min(self.slices() - 1);
            out.extend(self.plane.forward(self.slice(zz), self.fill));
        }
        out
    }
}

/// Gathers per-slice network outputs (padded planes) into a canonical volume.
pub fn assemble(planes: &[Vec<f32>], plane: &Plane, dims: [usize; 3]) -> Vec<f32> {
    let mut out = vec![0.0; dims.iter().product()];
    for (z, p) in planes.iter().enumerate() {
        let slice = plane.inverse(p);
        let start = index(dims, 0, 0, z);
        out[start..start + slice.len()].copy_from_slice(&slice);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zscore_has_zero_mean_unit_std_inside_the_mask() {
        let data = [1.0, 2.0, 3.0, 100.0];
        let z = zscore(&data, &[true, true, true, false]);
        assert!(z[1].abs() < 1e-6);
        assert!((z[2] - 1.2247449).abs() < 1e-5);
    }

    #[test]
    fn robust_zscore_ignores_outliers() {
        // Median 3, MAD 1: the outlier does not change the scale.
        let data = [1.0, 2.0, 3.0, 4.0, 5.0, 1000.0];
        let z = robust_zscore(&data, &[true, true, true, true, true, false]);
        assert!((z[2]).abs() < 1e-6);
        assert!((z[3] - 1.0 / 1.4826).abs() < 1e-5);
    }

    #[test]
    fn plane_pads_to_a_multiple_of_eight_and_inverts_exactly() {
        let p = Plane::new(13, 10, 0.95, 1.0, 1.0);
        assert_eq!((p.rx, p.ry, p.px, p.py), (13, 10, 16, 16));
        let slice: Vec<f32> = (0..130).map(|v| v as f32).collect();
        let there = p.forward(&slice, -9.0);
        assert_eq!(there.iter().filter(|&&v| v == -9.0).count(), 256 - 130);
        assert_eq!(p.inverse(&there), slice);
    }

    #[test]
    fn coarse_slices_are_rescaled_towards_the_target_spacing() {
        let p = Plane::new(100, 50, 2.0, 1.0, 1.0);
        assert_eq!((p.rx, p.ry, p.px, p.py), (200, 50, 200, 56));
        let slice = vec![0.5; 5000];
        assert!(
            p.inverse(&p.forward(&slice, 0.0))
                .iter()
                .all(|&v| (v - 0.5).abs() < 1e-6)
        );
    }
}
