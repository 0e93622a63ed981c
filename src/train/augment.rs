//! On-the-fly augmentation of training planes.
//!
//! Geometric (the seed's): every sample is rotated in-plane to one of 8 angles,
//! 0, 45, 90, ..., 315 degrees, and left-right flipped with probability 1/2; the
//! rotation, flip and patch crop are one bilinear warp, so nothing is stored.
//! Intensity (for scarce multi-scanner data): a random gamma curve (it changes how far
//! apart the tissues are, as sequences and scanners do), a random affine intensity
//! change, a smooth multiplicative bias field and Gaussian noise on the normalised image.

use super::TrainRng;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

/// The seed's 8 in-plane rotation angles, in degrees.
pub const ANGLES_DEG: [f64; 8] = [0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0];

/// One geometric draw: output pixel `p` (relative to the patch centre) samples the
/// source at `centre + step * R(angle) * flip(p)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Warp {
    /// Rotation in radians.
    pub angle: f64,
    /// Mirror the patch's x axis (left-right).
    pub flip: bool,
    /// Source position (column, row) of the patch centre.
    pub centre: (f64, f64),
    /// Source pixels per output pixel along columns and rows: the target spacing over
    /// the source spacing, times any random zoom.
    pub step: (f64, f64),
}

impl Warp {
    /// Source (column, row) for output pixel (`c`, `r`) of a `size x size` patch.
    pub fn source(&self, c: usize, r: usize, size: usize) -> (f64, f64) {
        let half = (size as f64 - 1.0) / 2.0;
        let mut dx = c as f64 - half;
        let dy = r as f64 - half;
        if self.flip {
            dx = -dx;
        }
        let (s, co) = self.angle.sin_cos();
        (
            self.centre.0 + self.step.0 * (co * dx - s * dy),
            self.centre.1 + self.step.1 * (s * dx + co * dy),
        )
    }
}

/// Warps a row-major `h x w` image into a `size x size` patch; outside pixels take `fill`.
/// `nearest` selects nearest-neighbour sampling (for labels) instead of bilinear.
pub fn warp(
    img: &[f32],
    h: usize,
    w: usize,
    warp: &Warp,
    size: usize,
    fill: f32,
    nearest: bool,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(size * size);
    for r in 0..size {
        for c in 0..size {
            let (x, y) = warp.source(c, r, size);
            out.push(sample(img, h, w, x, y, fill, nearest));
        }
    }
    out
}

fn sample(img: &[f32], h: usize, w: usize, x: f64, y: f64, fill: f32, nearest: bool) -> f32 {
    if x < -0.5 || y < -0.5 || x > w as f64 - 0.5 || y > h as f64 - 0.5 {
        return fill;
    }
    if nearest {
        let (c, r) = (
            x.round().clamp(0.0, w as f64 - 1.0) as usize,
            y.round().clamp(0.0, h as f64 - 1.0) as usize,
        );
        return img[r * w + c];
    }
    let x = x.clamp(0.0, w as f64 - 1.0);
    let y = y.clamp(0.0, h as f64 - 1.0);
    let (c0, r0) = (x.floor() as usize, y.floor() as usize);
    let (c1, r1) = ((c0 + 1).min(w - 1), (r0 + 1).min(h - 1));
    let (fx, fy) = ((x - c0 as f64) as f32, (y - r0 as f64) as f32);
    let top = img[r0 * w + c0] * (1.0 - fx) + img[r0 * w + c1] * fx;
    let bottom = img[r1 * w + c0] * (1.0 - fx) + img[r1 * w + c1] * fx;
    top * (1.0 - fy) + bottom * fy
}

/// Intensity augmentation settings.
#[derive(Debug, Clone, Copy)]
pub struct Intensity {
    /// Maximum relative contrast change (a in `a * x + b`).
    pub contrast: f32,
    /// Maximum brightness shift in z-score units (b).
    pub shift: f32,
    /// Maximum amplitude of the linear bias field across the patch.
    pub bias: f32,
    /// Maximum standard deviation of Gaussian noise, z-score units.
    pub noise: f32,
    /// Maximum |log gamma| of the gamma curve applied between the patch's extremes
    /// (0: none).
    pub log_gamma: f32,
}

impl Intensity {
    /// No intensity changes.
    pub const NONE: Self = Self {
        contrast: 0.0,
        shift: 0.0,
        bias: 0.0,
        noise: 0.0,
        log_gamma: 0.0,
    };
    /// The defaults used for training.
    pub const DEFAULT: Self = Self {
        contrast: 0.15,
        shift: 0.15,
        bias: 0.2,
        noise: 0.08,
        log_gamma: 0.0,
    };

    /// These ranges with the affine, bias and noise ranges multiplied by `scale` and
    /// the given gamma range.
    pub fn scaled(self, scale: f32, log_gamma: f32) -> Self {
        Self {
            contrast: self.contrast * scale,
            shift: self.shift * scale,
            bias: self.bias * scale,
            noise: self.noise * scale,
            log_gamma,
        }
    }

    /// Applies one random draw to a `channels x size x size` patch (same draw for all
    /// channels, as neighbouring slices share a scanner).
    pub fn apply(&self, patch: &mut [f32], size: usize, rng: &mut TrainRng) {
        let sym = |rng: &mut TrainRng, m: f32| {
            if m > 0.0 {
                rng.random_range(-m..=m)
            } else {
                0.0
            }
        };
        let gamma = sym(rng, self.log_gamma).exp();
        if gamma != 1.0 {
            gamma_curve(patch, gamma);
        }
        let a = 1.0 + sym(rng, self.contrast);
        let b = sym(rng, self.shift);
        let (gx, gy) = (sym(rng, self.bias), sym(rng, self.bias));
        let sigma = if self.noise > 0.0 {
            rng.random_range(0.0..=self.noise)
        } else {
            0.0
        };
        let plane = size * size;
        for (i, v) in patch.iter_mut().enumerate() {
            let p = i % plane;
            let (x, y) = (
                (p % size) as f32 / size as f32 - 0.5,
                (p / size) as f32 / size as f32 - 0.5,
            );
            let field = 1.0 + gx * x + gy * y;
            let n: f32 = if sigma > 0.0 {
                StandardNormal.sample(rng)
            } else {
                0.0
            };
            *v = (a * *v + b) * field + sigma * n;
        }
    }
}

/// Maps `v` to `lo + (hi - lo) * ((v - lo) / (hi - lo))^gamma` with `lo`, `hi` the
/// extremes of `values`, so the extremes (and the fill outside the head) stay put while
/// the tissues in between move apart or together.
pub fn gamma_curve(values: &mut [f32], gamma: f32) {
    let (lo, hi) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let range = hi - lo;
    if !range.is_finite() || range <= 0.0 {
        return;
    }
    for v in values {
        *v = lo + range * ((*v - lo) / range).powf(gamma);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn identity_warp_copies_the_centre_patch() {
        let img: Vec<f32> = (0..36).map(|v| v as f32).collect();
        let w = Warp {
            angle: 0.0,
            flip: false,
            centre: (2.5, 2.5),
            step: (1.0, 1.0),
        };
        assert_eq!(warp(&img, 6, 6, &w, 6, -1.0, false), img);
    }

    #[test]
    fn quarter_turn_and_flip_move_pixels_where_expected() {
        // 3x3 image, centre (1, 1): a 90 degree turn maps output (2, 1) to source (1, 2).
        let img: Vec<f32> = (0..9).map(|v| v as f32).collect();
        let turn = Warp {
            angle: std::f64::consts::FRAC_PI_2,
            flip: false,
            centre: (1.0, 1.0),
            step: (1.0, 1.0),
        };
        let out = warp(&img, 3, 3, &turn, 3, -1.0, true);
        assert_eq!(out[5], img[7]);
        let flip = Warp {
            angle: 0.0,
            flip: true,
            centre: (1.0, 1.0),
            step: (1.0, 1.0),
        };
        let out = warp(&img, 3, 3, &flip, 3, -1.0, true);
        assert_eq!(out, vec![2.0, 1.0, 0.0, 5.0, 4.0, 3.0, 8.0, 7.0, 6.0]);
    }

    #[test]
    fn step_samples_coarser_sources_at_finer_output_spacing() {
        // Output at half the source spacing: neighbouring output pixels are half a source pixel apart.
        let w = Warp {
            angle: 0.0,
            flip: false,
            centre: (1.0, 1.0),
            step: (0.5, 1.0),
        };
        let img = [0.0, 10.0, 20.0].repeat(3);
        let out = warp(&img, 3, 3, &w, 3, -1.0, false);
        assert_eq!(out[3], 5.0);
        assert_eq!(out[5], 15.0);
    }

    #[test]
    fn outside_pixels_take_the_fill_value() {
        let w = Warp {
            angle: 0.0,
            flip: false,
            centre: (0.0, 0.0),
            step: (1.0, 1.0),
        };
        let out = warp(&[1.0; 4], 2, 2, &w, 4, -7.0, false);
        assert_eq!(out[0], -7.0);
        assert_eq!(out[3 * 4 + 3], 1.0);
    }

    #[test]
    fn gamma_curve_keeps_the_extremes_and_order_and_bends_the_middle() {
        let mut v = vec![-2.0, 0.0, 1.0, 2.0];
        gamma_curve(&mut v, 2.0);
        // (0 - -2) / 4 = 0.5 -> 0.25 -> -2 + 4 * 0.25 = -1.
        assert_eq!(v, vec![-2.0, -1.0, -2.0 + 4.0 * 0.5625, 2.0]);
        let mut flat = vec![3.0; 4];
        gamma_curve(&mut flat, 0.5);
        assert_eq!(flat, vec![3.0; 4]);
    }

    #[test]
    fn scaled_ranges_multiply_all_but_gamma() {
        let s = Intensity::DEFAULT.scaled(2.0, 0.4);
        assert_eq!(s.contrast, 0.3);
        assert_eq!(s.noise, 0.16);
        assert_eq!(s.log_gamma, 0.4);
        let mut rng = TrainRng::seed_from_u64(3);
        let mut p: Vec<f32> = (0..64).map(|i| (i as f32 / 8.0).sin()).collect();
        s.apply(&mut p, 8, &mut rng);
        assert!(p.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn no_intensity_augmentation_is_the_identity() {
        let mut rng = TrainRng::seed_from_u64(1);
        let mut p = vec![0.5, -1.0, 2.0, 3.0];
        Intensity::NONE.apply(&mut p, 2, &mut rng);
        assert_eq!(p, vec![0.5, -1.0, 2.0, 3.0]);
    }
}
