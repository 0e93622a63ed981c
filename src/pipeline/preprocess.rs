//! Preparing volumes for the networks and mapping their output back: RAS
//! reorientation, intensity normalisation, the brain's window, in-plane rescaling and padding.
//!
//! Training and inference both go through [`SliceStack`], so the networks always see
//! the same preprocessing.

use serde::{Deserialize, Serialize};

use crate::model::DEPTH;
use crate::volume::resample::rescale_2d;
use crate::volume::{Reorientation, Volume, foreground_mask, index, percentile};

/// How a network's input volume is brought to a common intensity scale; saved with
/// the network, since it must see at inference what it saw in training.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalisation {
    /// Mean and standard deviation of the foreground ([`zscore`]).
    #[default]
    Zscore,
    /// Centre and width of the foreground histogram's bright peak ([`peak_normalise`]).
    Peak,
}

impl Normalisation {
    /// `data` normalised inside `mask`.
    pub fn apply(self, data: &[f32], mask: &[bool]) -> Vec<f32> {
        match self {
            Normalisation::Zscore => zscore(data, mask),
            Normalisation::Peak => peak_normalise(data, mask),
        }
    }
}

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

/// Bins of the histogram [`peak_normalise`] searches.
const PEAK_BINS: usize = 200;

/// Intensities in units of the foreground's dominant bright tissue: `(v - centre) /
/// width`, where `centre` is the highest histogram peak above the foreground median
/// and `width` the standard deviation its left half-width at half maximum implies.
/// On FLAIR that peak is the white matter (with the grey matter on its right flank),
/// with or without skull, so lesions land about 2-3 units above 0 on every scanner we
/// have, where a z-score puts them anywhere from 0.6 to 2.2 (the head's scalp and air
/// weigh in). Falls back to [`zscore`] when the foreground has no spread.
pub fn peak_normalise(data: &[f32], mask: &[bool]) -> Vec<f32> {
    match peak(data, mask) {
        Some((centre, width)) => data.iter().map(|&v| (v - centre) / width).collect(),
        None => zscore(data, mask),
    }
}

/// `(centre, width)` of the bright peak of the values inside `mask` (all without one);
/// none for a foreground without spread.
fn peak(data: &[f32], mask: &[bool]) -> Option<(f32, f32)> {
    let use_all = !mask.iter().any(|&m| m);
    let values: Vec<f32> = (data.iter().zip(mask))
        .filter(|&(_, &m)| m || use_all)
        .map(|(&v, _)| v)
        .collect();
    let (lo, hi) = (percentile(&values, 1.0), percentile(&values, 99.0));
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return None;
    }
    let bin = (hi - lo) / PEAK_BINS as f32;
    let mut counts = vec![0f64; PEAK_BINS];
    for &v in values.iter().filter(|&&v| v >= lo && v < hi) {
        counts[(((v - lo) / bin) as usize).min(PEAK_BINS - 1)] += 1.0;
    }
    // A 7-bin box filter, so noise does not make a spike the peak.
    let smooth: Vec<f64> = (0..PEAK_BINS)
        .map(|i| {
            let (a, b) = (i.saturating_sub(3), (i + 4).min(PEAK_BINS));
            counts[a..b].iter().sum::<f64>() / (b - a) as f64
        })
        .collect();
    // Above the median, so the background, CSF or skull cannot be the peak.
    let start = (((percentile(&values, 50.0) - lo) / bin) as usize).min(PEAK_BINS - 1);
    let top =
        (start..PEAK_BINS).max_by(|&a, &b| smooth[a].total_cmp(&smooth[b]).then(b.cmp(&a)))?;
    let left = (0..top)
        .rev()
        .find(|&i| smooth[i] <= smooth[top] / 2.0)
        .unwrap_or(0);
    // Half width at half maximum of a Gaussian is 1.1774 sigma; at least a bin.
    let width = ((top - left) as f32 * bin / 1.1774).max(bin);
    Some((lo + (top as f32 + 0.5) * bin, width))
}

/// How one axial slice maps into the network's input plane: a window of the slice
/// (the brain's bounding box plus a margin, the head's where no brain is known, so the
/// networks do not spend their time on air, scalp and skull), rescaled to the target
/// spacing, then padded (centred) to a multiple of 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plane {
    /// Canonical slice extents (x = columns, y = rows).
    pub nx: usize,
    /// Rows of the canonical slice.
    pub ny: usize,
    /// First column of the window.
    pub x0: usize,
    /// First row of the window.
    pub y0: usize,
    /// Columns of the window.
    pub cx: usize,
    /// Rows of the window.
    pub cy: usize,
    /// Columns after rescaling to the target spacing.
    pub rx: usize,
    /// Rows after rescaling.
    pub ry: usize,
    /// Network input width (multiple of 8).
    pub px: usize,
    /// Network input height (multiple of 8).
    pub py: usize,
}

/// Context (mm) kept around the brain's (or head's) bounding box. The networks learned
/// on 96 mm patches cut anywhere in the head, so a border this far outside the brain
/// leaves their output inside it as good as unchanged.
pub const WINDOW_MARGIN_MM: f64 = 16.0;

impl Plane {
    /// The plane for the window `(x0, y0, cx, cy)` of a slice of `nx x ny` voxels of
    /// `sx x sy` mm at target spacing `target` mm. Spacings within 10% of the target are
    /// left alone, so the common case is exact.
    pub fn window(
        nx: usize,
        ny: usize,
        (x0, y0, cx, cy): (usize, usize, usize, usize),
        sx: f64,
        sy: f64,
        target: f64,
    ) -> Self {
        assert!(
            x0 + cx <= nx && y0 + cy <= ny && cx > 0 && cy > 0,
            "window inside the slice"
        );
        let scaled = |n: usize, s: f64| {
            if (s / target - 1.0).abs() <= 0.1 {
                n
            } else {
                ((n as f64 * s / target).round() as usize).max(1)
            }
        };
        let (rx, ry) = (scaled(cx, sx), scaled(cy, sy));
        let multiple = 1 << DEPTH;
        let pad = |n: usize| n.div_ceil(multiple) * multiple;
        Self {
            nx,
            ny,
            x0,
            y0,
            cx,
            cy,
            rx,
            ry,
            px: pad(rx),
            py: pad(ry),
        }
    }

    /// Offsets of the rescaled window inside the padded plane.
    fn offsets(&self) -> (usize, usize) {
        ((self.px - self.rx) / 2, (self.py - self.ry) / 2)
    }

    /// Canonical slice (`ny` rows of `nx`) to a padded network plane, filling with `fill`.
    pub fn forward(&self, slice: &[f32], fill: f32) -> Vec<f32> {
        let mut window = Vec::with_capacity(self.cx * self.cy);
        for r in self.y0..self.y0 + self.cy {
            let src = r * self.nx + self.x0;
            window.extend_from_slice(&slice[src..src + self.cx]);
        }
        let scaled = rescale_2d(&window, self.cy, self.cx, self.ry, self.rx);
        let (ox, oy) = self.offsets();
        let mut out = vec![fill; self.px * self.py];
        for r in 0..self.ry {
            let dst = (r + oy) * self.px + ox;
            out[dst..dst + self.rx].copy_from_slice(&scaled[r * self.rx..(r + 1) * self.rx]);
        }
        out
    }

    /// A padded network plane back to a canonical slice: crop, rescale, and place the
    /// window in a slice that is 0 outside it.
    pub fn inverse(&self, plane: &[f32]) -> Vec<f32> {
        let (ox, oy) = self.offsets();
        let mut cropped = Vec::with_capacity(self.rx * self.ry);
        for r in 0..self.ry {
            let src = (r + oy) * self.px + ox;
            cropped.extend_from_slice(&plane[src..src + self.rx]);
        }
        let window = rescale_2d(&cropped, self.ry, self.rx, self.cy, self.cx);
        let mut out = vec![0.0; self.nx * self.ny];
        for r in 0..self.cy {
            let dst = (r + self.y0) * self.nx + self.x0;
            out[dst..dst + self.cx].copy_from_slice(&window[r * self.cx..(r + 1) * self.cx]);
        }
        out
    }
}

/// The in-plane bounding box `(x0, y0, cx, cy)` of `mask` over all slices of a
/// canonical volume, grown by `margin` voxels in x and y and clipped to the slice;
/// the whole slice when the mask is empty.
pub fn window_around(
    mask: &[bool],
    dims: [usize; 3],
    margin: (usize, usize),
) -> (usize, usize, usize, usize) {
    let (nx, ny) = (dims[0], dims[1]);
    let (mut lo, mut hi) = ([usize::MAX; 2], [0usize; 2]);
    for (v, _) in mask.iter().enumerate().filter(|&(_, &m)| m) {
        let (x, y) = (v % nx, (v / nx) % ny);
        lo = [lo[0].min(x), lo[1].min(y)];
        hi = [hi[0].max(x), hi[1].max(y)];
    }
    if lo[0] == usize::MAX {
        return (0, 0, nx, ny);
    }
    let x0 = lo[0].saturating_sub(margin.0);
    let y0 = lo[1].saturating_sub(margin.1);
    let x1 = (hi[0] + margin.0 + 1).min(nx);
    let y1 = (hi[1] + margin.1 + 1).min(ny);
    (x0, y0, x1 - x0, y1 - y0)
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
    /// foreground with `norm` and sets up the plane for `target_mm` in-plane spacing:
    /// the window around `within` (canonical; the brain, say) where it holds anything,
    /// else around the foreground.
    pub fn new(
        data: &[f32],
        volume: &Volume,
        reorient: &Reorientation,
        target_mm: f64,
        norm: Normalisation,
        within: Option<&[bool]>,
    ) -> Self {
        let dims = reorient.canonical_dims();
        let canonical = reorient.forward(data);
        let mask = foreground_mask(&canonical, dims, 2);
        let data = norm.apply(&canonical, &mask);
        let fill = data.iter().copied().fold(f32::INFINITY, f32::min).min(0.0);
        let spacing = reorient.canonical_spacing(volume.geometry.voxel_sizes());
        let margin = |s: f64| (WINDOW_MARGIN_MM / s.max(1e-3)).ceil() as usize;
        let around = within.filter(|w| w.contains(&true)).unwrap_or(&mask);
        let window = window_around(around, dims, (margin(spacing[0]), margin(spacing[1])));
        let plane = Plane::window(dims[0], dims[1], window, spacing[0], spacing[1], target_mm);
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
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use rand_distr::{Distribution, Normal};

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
    fn peak_normalisation_centres_the_bright_peak_in_units_of_its_width() {
        // 30 % dark background around 0 and 70 % tissue around 100 with SD 5, plus a
        // bright tail.
        let mut rng = StdRng::seed_from_u64(7);
        let mut normal = |n: usize, mean: f32, sd: f32| -> Vec<f32> {
            let dist = Normal::new(mean, sd).expect("finite sd");
            (0..n).map(|_| dist.sample(&mut rng)).collect()
        };
        let mut data = normal(3000, 0.0, 10.0);
        data.extend(normal(7000, 100.0, 5.0));
        data.extend([400.0; 50]);
        let mask = vec![true; data.len()];
        let (centre, width) = peak(&data, &mask).unwrap();
        assert!((centre - 100.0).abs() < 1.0, "centre {centre}");
        assert!((width - 5.0).abs() < 1.0, "width {width}");
        let n = peak_normalise(&data, &mask);
        assert!((n[5000] - (data[5000] - centre) / width).abs() < 1e-6);
        assert_eq!(Normalisation::Peak.apply(&data, &mask), n);
        // No spread: the z-score's answer (all zero), not a division by zero.
        assert!(
            peak_normalise(&[3.0; 10], &[true; 10])
                .iter()
                .all(|&v| v == 0.0)
        );
    }

    #[test]
    fn plane_pads_to_a_multiple_of_eight_and_inverts_exactly() {
        let p = Plane::window(13, 10, (0, 0, 13, 10), 0.95, 1.0, 1.0);
        assert_eq!((p.rx, p.ry, p.px, p.py), (13, 10, 16, 16));
        let slice: Vec<f32> = (0..130).map(|v| v as f32).collect();
        let there = p.forward(&slice, -9.0);
        assert_eq!(there.iter().filter(|&&v| v == -9.0).count(), 256 - 130);
        assert_eq!(p.inverse(&there), slice);
    }

    #[test]
    fn a_window_round_trips_inside_and_is_zero_outside() {
        let p = Plane::window(12, 10, (3, 2, 5, 6), 1.0, 1.0, 1.0);
        assert_eq!((p.rx, p.ry, p.px, p.py), (5, 6, 8, 8));
        let slice: Vec<f32> = (0..120).map(|v| v as f32 + 1.0).collect();
        let back = p.inverse(&p.forward(&slice, -1.0));
        for (v, (&b, &s)) in back.iter().zip(&slice).enumerate() {
            let (x, y) = (v % 12, v / 12);
            let inside = (3..8).contains(&x) && (2..8).contains(&y);
            assert_eq!(b, if inside { s } else { 0.0 }, "voxel {x},{y}");
        }
    }

    #[test]
    fn the_window_is_the_grown_bounding_box_clipped_to_the_slice() {
        let dims = [20, 10, 3];
        let mut mask = vec![false; 600];
        mask[index(dims, 5, 4, 0)] = true;
        mask[index(dims, 9, 6, 2)] = true;
        assert_eq!(window_around(&mask, dims, (2, 3)), (3, 1, 9, 9));
        mask[index(dims, 19, 0, 1)] = true;
        assert_eq!(window_around(&mask, dims, (2, 3)), (3, 0, 17, 10));
        assert_eq!(window_around(&[false; 600], dims, (2, 3)), (0, 0, 20, 10));
    }

    #[test]
    fn coarse_slices_are_rescaled_towards_the_target_spacing() {
        let p = Plane::window(100, 50, (0, 0, 100, 50), 2.0, 1.0, 1.0);
        assert_eq!((p.rx, p.ry, p.px, p.py), (200, 50, 200, 56));
        let slice = vec![0.5; 5000];
        assert!(
            p.inverse(&p.forward(&slice, 0.0))
                .iter()
                .all(|&v| (v - 0.5).abs() < 1e-6)
        );
    }
}
