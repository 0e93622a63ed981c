//! A FAST-like three-class tissue classifier for T1 (CSF, grey matter, white matter),
//! the stand-in for FSL FAST that gives the WM network its training labels.
//!
//! As in FAST (Zhang et al., IEEE TMI 2001): a Gaussian intensity model per class on
//! log intensities inside a brain mask, a smooth multiplicative bias field (here a
//! low-order polynomial, fitted to the residual between each voxel and its expected
//! class mean), and a Markov random field prior that favours the classes of the six
//! face neighbours (mean-field updates). Classes are ordered by mean: on T1, CSF is
//! darkest and WM brightest.

mod polynomial;

use thiserror::Error;

pub use polynomial::{fit_polynomial, monomials, solve_spd};

/// Why a T1 could not be classified.
#[derive(Debug, Error, PartialEq)]
pub enum TissueError {
    /// Too few voxels in the mask to fit three classes.
    #[error("only {0} voxels inside the brain mask: too few to fit three tissue classes")]
    TooSmall(usize),
    /// The image and mask sizes disagree (a caller bug).
    #[error("image has {image} voxels but the mask {mask}")]
    Mismatch {
        /// Image voxels.
        image: usize,
        /// Mask voxels.
        mask: usize,
    },
}

/// Settings of the classifier.
#[derive(Debug, Clone, Copy)]
pub struct TissueOptions {
    /// EM iterations.
    pub iterations: usize,
    /// Strength of the neighbourhood prior (0: none).
    pub mrf_beta: f32,
    /// Degree of the polynomial bias field (0: no bias correction).
    pub bias_degree: usize,
}

impl Default for TissueOptions {
    fn default() -> Self {
        Self {
            iterations: 12,
            mrf_beta: 0.3,
            bias_degree: 2,
        }
    }
}

/// Smallest class variance of log intensities (a 1 % spread): without a floor a class
/// can collapse onto a spike of identical values and take over the bias fit.
const MIN_VARIANCE: f64 = 1e-4;

/// Label values in the output (0 outside the mask).
pub const CSF: u8 = 1;
/// Grey matter.
pub const GM: u8 = 2;
/// White matter.
pub const WM: u8 = 3;

/// A classified T1.
#[derive(Debug, Clone)]
pub struct Tissue {
    /// 0 outside the mask, else [`CSF`], [`GM`] or [`WM`], per voxel.
    pub labels: Vec<u8>,
    /// Class means of the bias-corrected intensities (CSF, GM, WM), image units.
    pub means: [f32; 3],
}

/// One-dimensional k-means on `y` from the starting `means` (sorted on return).
pub fn kmeans_1d(y: &[f32], mut means: [f32; 3], iterations: usize) -> [f32; 3] {
    for _ in 0..iterations {
        let mut sum = [0.0f64; 3];
        let mut n = [0usize; 3];
        for &v in y {
            let k = nearest(&means, v);
            sum[k] += v as f64;
            n[k] += 1;
        }
        for k in 0..3 {
            if n[k] > 0 {
                means[k] = (sum[k] / n[k] as f64) as f32;
            }
        }
    }
    means.sort_by(f32::total_cmp);
    means
}

fn nearest(means: &[f32; 3], v: f32) -> usize {
    (0..3)
        .min_by(|&a, &b| (v - means[a]).abs().total_cmp(&(v - means[b]).abs()))
        .unwrap_or(0)
}

/// Classifies the voxels of `image` (dims `dims`) inside `mask` into CSF, GM and WM.
pub fn classify(
    image: &[f32],
    dims: [usize; 3],
    mask: &[bool],
    opts: &TissueOptions,
) -> Result<Tissue, TissueError> {
    if image.len() != mask.len() {
        return Err(TissueError::Mismatch {
            image: image.len(),
            mask: mask.len(),
        });
    }
    let voxels: Vec<usize> = (0..image.len())
        .filter(|&i| mask[i] && image[i] > 0.0 && image[i].is_finite())
        .collect();
    if voxels.len() < 1000 {
        return Err(TissueError::TooSmall(voxels.len()));
    }
    let n = voxels.len();
    let raw: Vec<f32> = voxels.iter().map(|&i| image[i].ln()).collect();
    let data = Robust::of(&raw);
    let grid = Grid::of(&voxels, dims, image.len());
    let mut model = Classes::initial(&data.fit);
    let mut bias = vec![0.0f32; n];
    let mut post = vec![[1.0f32 / 3.0; 3]; n];
    for it in 0..opts.iterations {
        // E-step with the mean-field neighbourhood prior from the previous posteriors.
        let beta = if it == 0 { 0.0 } else { opts.mrf_beta };
        post = model.posteriors(&data.y, &bias, &grid.neighbours, &post, beta);
        model = Classes::fitted(&data.y, &bias, &data.inlier, &post);
        if opts.bias_degree > 0 {
            bias = model.bias_field(&data, &post, &grid, opts.bias_degree);
        }
    }
    let mean = model.mean;
    let mut order = [0usize, 1, 2];
    order.sort_by(|&a, &b| mean[a].total_cmp(&mean[b]));
    let mut labels = vec![0u8; image.len()];
    for (p, &i) in voxels.iter().enumerate() {
        let k = (0..3)
            .max_by(|&a, &b| post[p][a].total_cmp(&post[p][b]))
            .unwrap_or(0);
        labels[i] = [CSF, GM, WM][order.iter().position(|&o| o == k).unwrap_or(0)];
    }
    Ok(Tissue {
        labels,
        means: order.map(|k| mean[k].exp()),
    })
}

/// The log intensities a classification fits, made robust.
///
/// Real T1s carry outliers that a three-Gaussian fit latches onto: a saturated slice or
/// fat at the type's maximum, stray dark voxels at the mask's edge. The model is fitted
/// on the 0.5-99.5 % range, without the maximum when it is a spike of saturated voxels,
/// and outliers are classified at the range's ends.
struct Robust {
    /// Every voxel's log intensity, clamped to the range.
    y: Vec<f32>,
    /// Which voxels the model is fitted on.
    inlier: Vec<bool>,
    /// The inliers' values.
    fit: Vec<f32>,
}

impl Robust {
    fn of(raw: &[f32]) -> Self {
        let (lo, hi) = (
            crate::volume::percentile(raw, 0.5),
            crate::volume::percentile(raw, 99.5),
        );
        let top = raw.iter().copied().fold(f32::MIN, f32::max);
        let saturated = raw.iter().filter(|&&v| v == top).count() * 200 > raw.len();
        let mut inlier: Vec<bool> = (raw.iter())
            .map(|&v| v >= lo && v <= hi && !(saturated && v == top))
            .collect();
        if inlier.iter().filter(|&&b| b).count() < 1000 {
            inlier.fill(true);
        }
        let y: Vec<f32> = raw.iter().map(|&v| v.clamp(lo, hi)).collect();
        let fit = (y.iter().zip(&inlier))
            .filter(|&(_, &b)| b)
            .map(|(&v, _)| v)
            .collect();
        Self { y, inlier, fit }
    }
}

/// Where the classified voxels lie: their six face neighbours among them (`u32::MAX`
/// where there is none) and their positions scaled to [-1, 1] for the bias field.
struct Grid {
    neighbours: Vec<[u32; 6]>,
    points: Vec<[f32; 3]>,
}

impl Grid {
    fn of(voxels: &[usize], dims: [usize; 3], len: usize) -> Self {
        // Mask position of each voxel, for neighbour lookups.
        let mut at = vec![u32::MAX; len];
        for (p, &i) in voxels.iter().enumerate() {
            at[i] = p as u32;
        }
        let [nx, ny, nz] = dims;
        let coords = |i: usize| (i % nx, (i / nx) % ny, i / (nx * ny));
        let neighbours = voxels
            .iter()
            .map(|&i| {
                let (x, yy, z) = coords(i);
                let get = |ok: bool, j: usize| if ok { at[j] } else { u32::MAX };
                [
                    get(x > 0, i.wrapping_sub(1)),
                    get(x + 1 < nx, i + 1),
                    get(yy > 0, i.wrapping_sub(nx)),
                    get(yy + 1 < ny, i + nx),
                    get(z > 0, i.wrapping_sub(nx * ny)),
                    get(z + 1 < nz, i + nx * ny),
                ]
            })
            .collect();
        let points = voxels
            .iter()
            .map(|&i| {
                let (x, yy, z) = coords(i);
                let s = |v: usize, len: usize| 2.0 * v as f32 / (len.max(2) - 1) as f32 - 1.0;
                [s(x, nx), s(yy, ny), s(z, nz)]
            })
            .collect();
        Self { neighbours, points }
    }
}

/// The three Gaussian classes of bias-corrected log intensity.
struct Classes {
    mean: [f32; 3],
    var: [f32; 3],
}

impl Classes {
    /// k-means centres started at the 5th, 40th and 80th percentiles, with the spread of
    /// the values nearest each.
    fn initial(fit: &[f32]) -> Self {
        let pct = |q: f64| crate::volume::percentile(fit, q);
        let mean = kmeans_1d(fit, [pct(5.0), pct(40.0), pct(80.0)], 15);
        let mut s = [0.0f64; 3];
        let mut c = [0usize; 3];
        for &v in fit {
            let k = nearest(&mean, v);
            s[k] += ((v - mean[k]) as f64).powi(2);
            c[k] += 1;
        }
        let var = std::array::from_fn(|k| (s[k] / c[k].max(1) as f64).max(MIN_VARIANCE) as f32);
        Self { mean, var }
    }

    /// Each voxel's class posteriors, with a mean-field prior of strength `beta` from
    /// the neighbours' `previous` posteriors.
    fn posteriors(
        &self,
        y: &[f32],
        bias: &[f32],
        neighbours: &[[u32; 6]],
        previous: &[[f32; 3]],
        beta: f32,
    ) -> Vec<[f32; 3]> {
        (0..y.len())
            .map(|p| {
                let r = y[p] - bias[p];
                let mut prior = [0.0f32; 3];
                for &q in &neighbours[p] {
                    if q != u32::MAX {
                        for k in 0..3 {
                            prior[k] += previous[q as usize][k];
                        }
                    }
                }
                let mut w = [0.0f32; 3];
                for k in 0..3 {
                    let d = r - self.mean[k];
                    w[k] = (beta * prior[k] - d * d / (2.0 * self.var[k]) - 0.5 * self.var[k].ln())
                        .min(80.0);
                }
                let top = w.iter().copied().fold(f32::MIN, f32::max);
                let e = w.map(|v| (v - top).exp());
                let sum: f32 = e.iter().sum();
                e.map(|v| v / sum)
            })
            .collect()
    }

    /// M-step: class means and variances of the inliers' bias-corrected log
    /// intensities, weighted by the posteriors.
    fn fitted(y: &[f32], bias: &[f32], inlier: &[bool], post: &[[f32; 3]]) -> Self {
        let n = y.len();
        let mut s0 = [0.0f64; 3];
        let mut s1 = [0.0f64; 3];
        for p in (0..n).filter(|&p| inlier[p]) {
            let r = (y[p] - bias[p]) as f64;
            for k in 0..3 {
                s0[k] += post[p][k] as f64;
                s1[k] += post[p][k] as f64 * r;
            }
        }
        let mean: [f32; 3] = std::array::from_fn(|k| (s1[k] / s0[k].max(1e-9)) as f32);
        let mut s2 = [0.0f64; 3];
        for p in (0..n).filter(|&p| inlier[p]) {
            let r = y[p] - bias[p];
            for k in 0..3 {
                s2[k] += post[p][k] as f64 * ((r - mean[k]) as f64).powi(2);
            }
        }
        let var = std::array::from_fn(|k| (s2[k] / s0[k].max(1e-9)).max(MIN_VARIANCE) as f32);
        Self { mean, var }
    }

    /// The bias: a smooth field (centred on 0) through what the class model leaves
    /// unexplained, weighted by how sure the model is (sum of posterior / variance).
    fn bias_field(&self, data: &Robust, post: &[[f32; 3]], grid: &Grid, degree: usize) -> Vec<f32> {
        let (y, inlier) = (&data.y, &data.inlier);
        let n = y.len();
        let mut residual = Vec::with_capacity(n);
        let mut weight = Vec::with_capacity(n);
        for p in 0..n {
            let expected: f32 = (0..3).map(|k| post[p][k] * self.mean[k]).sum();
            residual.push(y[p] - expected);
            let w = (0..3).map(|k| post[p][k] / self.var[k]).sum::<f32>();
            weight.push(if inlier[p] { w } else { 0.0 });
        }
        let mut bias = fit_polynomial(&grid.points, &residual, &weight, degree);
        let centre = bias.iter().map(|&b| b as f64).sum::<f64>() / n as f64;
        for b in &mut bias {
            *b -= centre as f32;
        }
        bias
    }
}

/// Dice overlap of label `class` between two label volumes.
pub fn class_dice(a: &[u8], b: &[u8], class: u8) -> f64 {
    let is = |v: &[u8]| v.iter().map(|&x| x == class).collect::<Vec<_>>();
    crate::metrics::dice(&is(a), &is(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::index;

    /// A synthetic brain for tests: nested ellipsoids of CSF (outer shell and a central
    /// ventricle), GM and WM, under a smooth bias field with noise.
    fn synthetic_brain(dims: [usize; 3], bias: f32, noise: f32, seed: u64) -> (Vec<f32>, Vec<u8>) {
        let mut image = vec![0.0f32; dims.iter().product()];
        let mut truth = vec![0u8; image.len()];
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut uniform = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32) / (1u64 << 31) as f32
        };
        let c = dims.map(|d| d as f32 / 2.0);
        for z in 0..dims[2] {
            for y in 0..dims[1] {
                for x in 0..dims[0] {
                    let r = |s: f32| {
                        (((x as f32 - c[0]) / (c[0] * s)).powi(2)
                            + ((y as f32 - c[1]) / (c[1] * s)).powi(2)
                            + ((z as f32 - c[2]) / (c[2] * s)).powi(2))
                        .sqrt()
                    };
                    let class = if r(0.9) >= 1.0 {
                        0
                    } else if r(0.9) > 0.9 || r(0.15) < 1.0 {
                        CSF
                    } else if r(0.9) > 0.7 {
                        GM
                    } else {
                        WM
                    };
                    let i = index(dims, x, y, z);
                    truth[i] = class;
                    if class > 0 {
                        let level = [0.0, 30.0, 70.0, 110.0][class as usize];
                        let field = 1.0 + bias * (x as f32 / dims[0] as f32 - 0.5);
                        // Sum of uniforms: roughly Gaussian noise.
                        let g = (0..4).map(|_| uniform()).sum::<f32>() - 2.0;
                        image[i] = (level * field + noise * g).max(1.0);
                    }
                }
            }
        }
        (image, truth)
    }

    #[test]
    fn kmeans_finds_three_clusters() {
        let y: Vec<f32> = (0..300)
            .map(|i| [1.0, 5.0, 9.0][i % 3] + (i % 7) as f32 * 0.01)
            .collect();
        let m = kmeans_1d(&y, [0.0, 4.0, 6.0], 20);
        assert!(
            (m[0] - 1.03).abs() < 0.05 && (m[1] - 5.03).abs() < 0.05 && (m[2] - 9.03).abs() < 0.05
        );
    }

    /// A T1 whose top slice is saturated at the type's maximum (as one real registered
    /// head T1 here is) and with a few bright fat voxels: the fit must not spend a class
    /// on them.
    #[test]
    fn saturated_voxels_do_not_take_a_class() {
        let dims = [48, 56, 40];
        let (mut image, truth) = synthetic_brain(dims, 0.2, 4.0, 5);
        let plane = dims[0] * dims[1];
        for k in [18, 19, 20, 21] {
            for v in &mut image[k * plane..(k + 1) * plane] {
                if *v > 0.0 {
                    *v = 65535.0;
                }
            }
        }
        for v in image.iter_mut().step_by(997).filter(|v| **v > 0.0) {
            *v = 400.0;
        }
        let mask: Vec<bool> = truth.iter().map(|&t| t > 0).collect();
        let t = classify(&image, dims, &mask, &TissueOptions::default()).unwrap();
        let clean = |l: &[u8]| -> Vec<u8> {
            (l.iter().enumerate())
                .map(|(i, &c)| {
                    if (18..22).contains(&(i / plane)) {
                        0
                    } else {
                        c
                    }
                })
                .collect()
        };
        let (got, want) = (clean(&t.labels), clean(&truth));
        let wm = class_dice(&got, &want, WM);
        let gm = class_dice(&got, &want, GM);
        assert!(wm > 0.9 && gm > 0.85, "WM Dice {wm:.3}, GM Dice {gm:.3}");
        assert!(t.means[2] < 200.0, "WM mean {}", t.means[2]);
    }

    #[test]
    fn classifies_a_biased_noisy_phantom() {
        let dims = [48, 56, 40];
        let (image, truth) = synthetic_brain(dims, 0.4, 6.0, 3);
        let mask: Vec<bool> = truth.iter().map(|&t| t > 0).collect();
        let t = classify(&image, dims, &mask, &TissueOptions::default()).unwrap();
        let wm = class_dice(&t.labels, &truth, WM);
        let gm = class_dice(&t.labels, &truth, GM);
        assert!(wm > 0.95 && gm > 0.9, "WM Dice {wm:.3}, GM Dice {gm:.3}");
        // Without bias correction the 40 % field across x costs accuracy.
        let flat = TissueOptions {
            bias_degree: 0,
            ..TissueOptions::default()
        };
        let t0 = classify(&image, dims, &mask, &flat).unwrap();
        assert!(class_dice(&t0.labels, &truth, WM) < wm);
    }

    #[test]
    fn refuses_an_empty_mask() {
        let image = vec![1.0f32; 1000];
        let mask = vec![false; 1000];
        assert_eq!(
            classify(&image, [10, 10, 10], &mask, &TissueOptions::default()).unwrap_err(),
            TissueError::TooSmall(0)
        );
    }
}
