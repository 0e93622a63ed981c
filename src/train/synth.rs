//! FLAIR-like images simulated from T1 scans with real WMH labels, for the WMH network.
//!
//! `wmh2017/` holds 30 real T1s (thick slices, skull and neck, three scanners) with
//! manual WMH maps, but not their FLAIRs. Only 8 real FLAIRs exist here, so these scans
//! are the largest source of real lesion shapes and sites. A FLAIR's contrast is not a
//! monotone function of T1 (CSF dark in both, grey matter brighter than white matter on
//! FLAIR but darker on T1, lesions bright on FLAIR but dark on T1), so each case gets a
//! random piecewise-linear intensity map with FLAIR's ordering of tissues, in the spirit
//! of SynthSeg's randomised contrasts, and its labelled lesions are painted bright with
//! soft edges. Scanner effects (bias, noise, contrast) come from the usual augmentation.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::volume::affine::slice_axis;
use crate::volume::{Volume, foreground_mask, index, percentile};

/// Fewest voxels around lesions for their median to stand for white matter.
const MIN_RING: usize = 200;

/// A random FLAIR-like contrast: piecewise-linear in T1 intensity relative to white
/// matter, with the output relative to white matter too.
#[derive(Debug, Clone, PartialEq)]
pub struct Contrast {
    /// (T1 / WM, FLAIR / WM) knots, increasing in the first coordinate.
    pub knots: Vec<(f32, f32)>,
    /// Lesion intensity relative to white matter.
    pub lesion: f32,
    /// Gaussian width (voxels, in-plane) of the lesions' soft edge.
    pub edge: f32,
}

impl Contrast {
    /// Draws a contrast: CSF dark, grey matter brighter than white matter, fat and
    /// lesions bright, each within ranges seen on clinical FLAIR.
    pub fn random(rng: &mut StdRng) -> Self {
        let mut r = |lo: f32, hi: f32| rng.random_range(lo..hi);
        let knots = vec![
            (0.0, 0.0),
            (r(0.25, 0.4), r(0.1, 0.4)),
            (r(0.6, 0.75), r(1.05, 1.35)),
            (1.0, 1.0),
            (r(1.25, 1.5), r(0.8, 1.6)),
            (3.0, r(0.8, 1.8)),
        ];
        Self {
            knots,
            lesion: r(1.35, 2.0),
            edge: r(0.4, 0.9),
        }
    }

    /// The map at `u` (T1 / WM), flat beyond the last knot.
    pub fn map(&self, u: f32) -> f32 {
        let k = &self.knots;
        if u <= k[0].0 {
            return k[0].1;
        }
        for w in k.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            if u <= x1 {
                return y0 + (y1 - y0) * (u - x0) / (x1 - x0);
            }
        }
        k[k.len() - 1].1
    }
}

/// The white-matter intensity of a T1: the median of the voxels within two in-plane
/// voxels of a lesion (WMH sit in white matter), or, with too few lesions, the 75th
/// percentile of the head, where white matter falls on T1 with skull.
pub fn white_matter_level(t1: &[f32], lesion: &[bool], dims: [usize; 3], axis: usize) -> f32 {
    let ring = dilate_in_plane(lesion, dims, axis, 2);
    let values: Vec<f32> = (0..t1.len())
        .filter(|&i| ring[i] && !lesion[i])
        .map(|i| t1[i])
        .collect();
    if values.len() >= MIN_RING {
        return percentile(&values, 50.0);
    }
    let fg = foreground_mask(t1, dims, axis);
    let head: Vec<f32> = (0..t1.len()).filter(|&i| fg[i]).map(|i| t1[i]).collect();
    percentile(&head, 75.0)
}

/// `mask` grown by `r` voxels (square neighbourhood) within each slice across `axis`.
fn dilate_in_plane(mask: &[bool], dims: [usize; 3], axis: usize, r: usize) -> Vec<bool> {
    let (a, b) = match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let mut out = mask.to_vec();
    for z in 0..dims[axis] {
        for j in 0..dims[b] {
            for i in 0..dims[a] {
                let at = |i: usize, j: usize| {
                    let mut v = [0; 3];
                    v[axis] = z;
                    v[a] = i;
                    v[b] = j;
                    index(dims, v[0], v[1], v[2])
                };
                if !mask[at(i, j)] {
                    continue;
                }
                for jj in j.saturating_sub(r)..=(j + r).min(dims[b] - 1) {
                    for ii in i.saturating_sub(r)..=(i + r).min(dims[a] - 1) {
                        out[at(ii, jj)] = true;
                    }
                }
            }
        }
    }
    out
}

/// Blurs a 0/1 mask with a Gaussian of `sigma` voxels within each slice across `axis`.
fn soften(mask: &[bool], dims: [usize; 3], axis: usize, sigma: f32) -> Vec<f32> {
    let r = (3.0 * sigma).ceil() as i64;
    let kernel: Vec<f32> = (-r..=r)
        .map(|d| (-(d * d) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();
    let mut field: Vec<f32> = mask.iter().map(|&m| f32::from(u8::from(m))).collect();
    for dir in (0..3).filter(|&d| d != axis) {
        let stride = match dir {
            0 => 1,
            1 => dims[0],
            _ => dims[0] * dims[1],
        };
        let n = dims[dir] as i64;
        let src = field.clone();
        for (i, out) in field.iter_mut().enumerate() {
            let pos = ((i / stride) % dims[dir]) as i64;
            *out = (-r..=r)
                .zip(&kernel)
                .filter(|(d, _)| (0..n).contains(&(pos + d)))
                .map(|(d, k)| k * src[(i as i64 + d * stride as i64) as usize])
                .sum();
        }
    }
    field
}

/// A FLAIR-like image simulated from a T1 volume and its lesion mask, with a contrast
/// drawn from `seed`: what training makes of a `wmh2017/` case and `wmh synth` writes.
pub fn simulate(t1: &Volume, lesion: &[bool], seed: u64) -> (Vec<f32>, Contrast) {
    let mut rng = StdRng::seed_from_u64(seed);
    let contrast = Contrast::random(&mut rng);
    let axis = slice_axis(&t1.geometry.affine);
    let flair = flair_from_t1(&t1.data, lesion, t1.dims, axis, &contrast, seed);
    (flair, contrast)
}

/// A FLAIR-like image of the same grid as `t1`, lesions (`lesion`) bright. Slices run
/// across `axis`; the result is scaled so that white matter sits at the T1's own level,
/// which keeps it in the range that the inference normalisation expects.
pub fn flair_from_t1(
    t1: &[f32],
    lesion: &[bool],
    dims: [usize; 3],
    axis: usize,
    contrast: &Contrast,
    seed: u64,
) -> Vec<f32> {
    let wm = white_matter_level(t1, lesion, dims, axis).max(f32::EPSILON);
    let soft = soften(lesion, dims, axis, contrast.edge);
    let mut rng = StdRng::seed_from_u64(seed);
    // Lesions are not uniform: a few percent of texture inside them.
    let texture = Normal::new(1.0f32, 0.05).expect("finite sd");
    t1.iter()
        .zip(&soft)
        .map(|(&v, &s)| {
            let base = contrast.map(v / wm);
            let bright = contrast.lesion * texture.sample(&mut rng);
            wm * (base + s * (bright - base).max(0.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contrast() -> Contrast {
        Contrast {
            knots: vec![
                (0.0, 0.0),
                (0.3, 0.2),
                (0.7, 1.2),
                (1.0, 1.0),
                (1.4, 1.4),
                (3.0, 1.4),
            ],
            lesion: 1.8,
            edge: 0.5,
        }
    }

    #[test]
    fn map_interpolates_and_is_flat_outside() {
        let c = contrast();
        assert_eq!(c.map(-1.0), 0.0);
        assert!((c.map(0.15) - 0.1).abs() < 1e-6);
        assert!((c.map(0.85) - 1.1).abs() < 1e-6);
        assert_eq!(c.map(10.0), 1.4);
    }

    #[test]
    fn random_contrasts_keep_flair_ordering() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..100 {
            let c = Contrast::random(&mut rng);
            let at_knot = |i: usize| c.map(c.knots[i].0);
            let (csf, gm, wm) = (at_knot(1), at_knot(2), at_knot(3));
            assert!(csf < wm && wm < gm, "{c:?}");
            assert!(c.lesion > gm, "{c:?}");
            assert!(c.knots.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn white_matter_level_from_lesion_surroundings() {
        // Head at 50, a white-matter block at 100 holding one lesion at 60.
        let dims = [20, 20, 3];
        let mut t1 = vec![0.0f32; 20 * 20 * 3];
        let mut lesion = vec![false; t1.len()];
        for z in 0..3 {
            for y in 2..18 {
                for x in 2..18 {
                    t1[index(dims, x, y, z)] = 50.0;
                }
            }
            for y in 4..16 {
                for x in 4..16 {
                    t1[index(dims, x, y, z)] = 100.0;
                }
            }
            for y in 8..14 {
                for x in 8..14 {
                    t1[index(dims, x, y, z)] = 60.0;
                    lesion[index(dims, x, y, z)] = true;
                }
            }
        }
        assert_eq!(white_matter_level(&t1, &lesion, dims, 2), 100.0);
    }

    #[test]
    fn lesions_become_bright_and_tissue_follows_the_map() {
        let dims = [16, 16, 1];
        let mut t1 = vec![100.0f32; 256];
        let mut lesion = vec![false; 256];
        for y in 0..16 {
            for x in 0..4 {
                t1[index(dims, x, y, 0)] = 30.0; // CSF
            }
        }
        for y in 6..11 {
            for x in 8..13 {
                t1[index(dims, x, y, 0)] = 70.0; // dark on T1, as WMH are
                lesion[index(dims, x, y, 0)] = true;
            }
        }
        let c = contrast();
        let flair = flair_from_t1(&t1, &lesion, dims, 2, &c, 1);
        let at = |x, y| flair[index(dims, x, y, 0)];
        assert!((at(0, 0) - 20.0).abs() < 1e-3, "CSF {}", at(0, 0));
        assert!((at(15, 15) - 100.0).abs() < 1e-3, "WM {}", at(15, 15));
        // The lesion centre is near 1.8 x WM; its edge is softened but still brighter.
        assert!((at(10, 8) - 180.0).abs() < 20.0, "lesion {}", at(10, 8));
        assert!(at(8, 6) > 100.0 && at(8, 6) < at(10, 8));
        // Just outside the lesion the soft edge lifts the white matter a little.
        assert!(at(7, 8) >= 100.0);
    }

    #[test]
    fn simulated_phantom_has_flair_contrast_and_is_reproducible() {
        let p = crate::phantom::example();
        let lesion: Vec<bool> = p.lesions.iter().map(|&l| l > 0).collect();
        let (flair, contrast) = simulate(&p.t1, &lesion, 9);
        assert_eq!(flair.len(), p.t1.data.len());
        assert!(flair.iter().all(|v| v.is_finite() && *v >= 0.0));
        let median = |keep: &dyn Fn(usize) -> bool| {
            let v: Vec<f32> = (0..flair.len())
                .filter(|&i| keep(i))
                .map(|i| flair[i])
                .collect();
            percentile(&v, 50.0)
        };
        let wm = median(&|i| p.white_matter[i] > 0 && !lesion[i]);
        let lesions = median(&|i| lesion[i]);
        // Lesion cores reach the drawn brightness; their soft edges pull the median down.
        assert!(lesions > 1.25 * wm, "lesions {lesions}, WM {wm}");
        assert!(
            lesions < contrast.lesion * wm * 1.1,
            "lesions {lesions}, WM {wm}"
        );
        // The same seed draws the same image, another seed another contrast.
        assert_eq!(simulate(&p.t1, &lesion, 9).0, flair);
        assert_ne!(simulate(&p.t1, &lesion, 10).1, contrast);
    }

    #[test]
    fn soften_keeps_mass_inside_the_plane() {
        let dims = [9, 9, 1];
        let mut m = vec![false; 81];
        m[index(dims, 4, 4, 0)] = true;
        let s = soften(&m, dims, 2, 0.8);
        let total: f32 = s.iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
        assert!(s[index(dims, 4, 4, 0)] > s[index(dims, 5, 4, 0)]);
    }
}
