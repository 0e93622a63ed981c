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
//! [`Variation::Regional`] also varies brightness within a scan (see there).

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::metrics::components::label_26;
use crate::volume::affine::slice_axis;
use crate::volume::{Volume, foreground_mask, index, percentile};

/// How much brightness varies within one simulated FLAIR.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Variation {
    /// One lesion brightness and one tissue map per scan (the shipped networks' recipe).
    #[default]
    Uniform,
    /// Each lesion its own brightness (1.15-2.2 x white matter, as real lesions range
    /// over 1.2-2.2), and grey matter brighter in a few smooth regions, as the cortex of
    /// 3-D FLAIRs is (insula, temporal lobes): brightness alone no longer tells a lesion
    /// from grey matter.
    Regional,
}

/// Faintest and brightest lesion of a [`Variation::Regional`] scan, x white matter.
const LESION_RANGE: (f32, f32) = (1.15, 2.2);

/// A smooth region where grey matter is brighter: a Gaussian bump in voxel space.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Region {
    /// Centre, in voxels.
    pub centre: [f32; 3],
    /// Width along each voxel axis, in voxels.
    pub sigma: [f32; 3],
    /// Fraction by which grey matter's excess over white matter grows at the centre.
    pub gain: f32,
}

/// Fewest voxels around lesions for their median to stand for white matter.
const MIN_RING: usize = 200;

/// A random FLAIR-like contrast: piecewise-linear in T1 intensity relative to white
/// matter, with the output relative to white matter too.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contrast {
    /// (T1 / WM, FLAIR / WM) knots, increasing in the first coordinate.
    pub knots: Vec<(f32, f32)>,
    /// Lesion intensity relative to white matter.
    pub lesion: f32,
    /// Gaussian width (voxels, in-plane) of the lesions' soft edge.
    pub edge: f32,
    /// Standard deviation of each lesion's log brightness around `lesion` (0: all alike).
    pub spread: f32,
    /// Regions of brighter grey matter.
    pub regions: Vec<Region>,
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
            spread: 0.0,
            regions: Vec::new(),
        }
    }

    /// Draws a contrast as [`Contrast::random`] does, then, for
    /// [`Variation::Regional`], per-lesion spread and 2-5 regions of brighter grey matter
    /// 15-35 mm wide in a grid of `dims` voxels of `spacing` mm. The uniform draw is the
    /// same as before regional ones existed, so shipped recipes stay reproducible.
    pub fn draw(
        rng: &mut StdRng,
        variation: Variation,
        dims: [usize; 3],
        spacing: [f64; 3],
    ) -> Self {
        let mut c = Self::random(rng);
        if variation == Variation::Regional {
            // Grey matter a plateau over its T1 range (0.6-0.85 x WM on the `wmh2017/`
            // T1s), not a peak at one T1 value: real FLAIRs' grey matter sits at
            // 1.0-1.2 x WM, with a tenth at 1.2-1.45.
            let gm = rng.random_range(1.05..1.45);
            c.knots.splice(
                2..3,
                [
                    (rng.random_range(0.55..0.65), gm),
                    (
                        rng.random_range(0.78..0.86),
                        // Still brighter than white matter: no dark rim at the border.
                        1.0 + (gm - 1.0) * rng.random_range(0.6..1.0),
                    ),
                ],
            );
            // Lesions at least a tenth brighter than that grey matter, on average (real
            // FLAIRs: 1.2-1.8 x their grey matter).
            c.lesion = rng.random_range(1.25f32..1.9).max(1.1 * gm);
            c.spread = rng.random_range(0.05..0.2);
            let n = rng.random_range(2..=5);
            c.regions = (0..n)
                .map(|_| {
                    let width = rng.random_range(15.0..35.0);
                    Region {
                        centre: std::array::from_fn(|a| {
                            dims[a] as f32 * rng.random_range(0.15..0.85)
                        }),
                        sigma: std::array::from_fn(|a| width / spacing[a].max(1e-3) as f32),
                        gain: rng.random_range(0.3..1.0),
                    }
                })
                .collect();
        }
        c
    }

    /// How much grey matter's excess over white matter grows at voxel `(i, j, k)`:
    /// the regions summed, at most 1.2.
    pub fn gain_at(&self, i: usize, j: usize, k: usize) -> f32 {
        let p = [i as f32, j as f32, k as f32];
        let sum: f32 = (self.regions.iter())
            .map(|r| {
                let d2: f32 = (0..3)
                    .map(|a| ((p[a] - r.centre[a]) / r.sigma[a]).powi(2))
                    .sum();
                r.gain * (-0.5 * d2).exp()
            })
            .sum();
        sum.min(1.2)
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

/// Blurs `field` with a Gaussian of `sigma` voxels within each slice across `axis`.
pub(super) fn soften(field: &[f32], dims: [usize; 3], axis: usize, sigma: f32) -> Vec<f32> {
    let r = (3.0 * sigma).ceil() as i64;
    let kernel: Vec<f32> = (-r..=r)
        .map(|d| (-(d * d) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();
    let mut field = field.to_vec();
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

/// Each lesion voxel's brightness (x white matter; 0 elsewhere): one log-normal draw
/// around `level` with sd `spread` per 26-connected lesion, kept within
/// [`LESION_RANGE`].
pub(super) fn lesion_levels(
    lesion: &[bool],
    dims: [usize; 3],
    level: f32,
    spread: f32,
    rng: &mut StdRng,
) -> Vec<f32> {
    let components = label_26(lesion, dims);
    let log = Normal::new(0.0f32, spread).expect("finite sd");
    let levels: Vec<f32> = (0..components.count())
        .map(|_| (level * log.sample(rng).exp()).clamp(LESION_RANGE.0, LESION_RANGE.1))
        .collect();
    (components.labels.iter())
        .map(|&l| if l > 0 { levels[l as usize - 1] } else { 0.0 })
        .collect()
}

/// A FLAIR-like image simulated from a T1 volume and its lesion mask, with a contrast
/// drawn from `seed`: what training makes of a `wmh2017/` case and `wmh synth` writes.
pub fn simulate(
    t1: &Volume,
    lesion: &[bool],
    seed: u64,
    variation: Variation,
) -> (Vec<f32>, Contrast) {
    let mut rng = StdRng::seed_from_u64(seed);
    let contrast = Contrast::draw(&mut rng, variation, t1.dims, t1.geometry.voxel_sizes());
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
    let mask: Vec<f32> = lesion.iter().map(|&l| f32::from(u8::from(l))).collect();
    let soft = soften(&mask, dims, axis, contrast.edge);
    let mut rng = StdRng::seed_from_u64(seed);
    // Blurred levels over the blurred mask: each lesion's own brightness, out to the
    // soft edge (without spread, `contrast.lesion` everywhere).
    let level = (contrast.spread > 0.0).then(|| {
        let levels = lesion_levels(lesion, dims, contrast.lesion, contrast.spread, &mut rng);
        soften(&levels, dims, axis, contrast.edge)
    });
    // Lesions are not uniform: a few percent of texture inside them.
    let texture = Normal::new(1.0f32, 0.05).expect("finite sd");
    let plane = dims[0] * dims[1];
    (t1.iter().zip(&soft).enumerate())
        .map(|(v, (&t, &s))| {
            let mut base = contrast.map(t / wm);
            if !contrast.regions.is_empty() && base > 1.0 {
                let gain = contrast.gain_at(v % dims[0], (v / dims[0]) % dims[1], v / plane);
                base += gain * (base - 1.0);
            }
            let own = match &level {
                Some(level) if s > 1e-6 => level[v] / s,
                _ => contrast.lesion,
            };
            let bright = own * texture.sample(&mut rng);
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
            spread: 0.0,
            regions: Vec::new(),
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
        let (flair, contrast) = simulate(&p.t1, &lesion, 9, Variation::Uniform);
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
        assert_eq!(simulate(&p.t1, &lesion, 9, Variation::Uniform).0, flair);
        assert_ne!(simulate(&p.t1, &lesion, 10, Variation::Uniform).1, contrast);
    }

    #[test]
    fn soften_keeps_mass_inside_the_plane() {
        let dims = [9, 9, 1];
        let mut m = vec![0.0f32; 81];
        m[index(dims, 4, 4, 0)] = 1.0;
        let s = soften(&m, dims, 2, 0.8);
        let total: f32 = s.iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
        assert!(s[index(dims, 4, 4, 0)] > s[index(dims, 5, 4, 0)]);
    }

    #[test]
    fn uniform_draws_are_the_shipped_recipes() {
        // The shipped networks trained on `Contrast::random`'s images: a uniform draw
        // must stay exactly that, whatever the grid.
        for seed in 0..20 {
            let mut a = StdRng::seed_from_u64(seed);
            let mut b = StdRng::seed_from_u64(seed);
            let drawn = Contrast::draw(&mut a, Variation::Uniform, [64, 64, 20], [1.0, 1.0, 5.0]);
            assert_eq!(drawn, Contrast::random(&mut b));
        }
    }

    #[test]
    fn regional_contrasts_keep_flair_ordering_with_a_grey_matter_plateau() {
        let mut rng = StdRng::seed_from_u64(4);
        for _ in 0..100 {
            let c = Contrast::draw(
                &mut rng,
                Variation::Regional,
                [100, 120, 40],
                [1.0, 1.0, 3.0],
            );
            assert!(c.knots.windows(2).all(|w| w[0].0 < w[1].0), "{c:?}");
            let (csf, gm, gm_end) = (c.knots[1].1, c.knots[2].1, c.knots[3].1);
            assert!(csf < 1.0 && gm > 1.0 && gm_end > 1.0, "{c:?}");
            assert_eq!(c.knots[4], (1.0, 1.0));
            assert!(c.lesion >= 1.1 * gm - 1e-6, "{c:?}");
            assert!(
                c.spread > 0.0 && (2..=5).contains(&c.regions.len()),
                "{c:?}"
            );
            for r in &c.regions {
                // 15-35 mm wide: three times wider in voxels along the 1 mm axes.
                assert!((r.sigma[0] / r.sigma[2] - 3.0).abs() < 1e-4, "{r:?}");
                assert!((15.0..35.0).contains(&r.sigma[0]) && r.gain > 0.0, "{r:?}");
            }
        }
    }

    /// A 40 x 40 x 1 slab of white matter (T1 100) with grey matter (T1 70) on its
    /// left half, and two separate 4 x 4 lesions in the white matter.
    fn slab() -> (Vec<f32>, Vec<bool>, [usize; 3]) {
        let dims = [40, 40, 1];
        let mut t1 = vec![100.0f32; 1600];
        let mut lesion = vec![false; 1600];
        for y in 0..40 {
            for x in 0..20 {
                t1[index(dims, x, y, 0)] = 70.0;
            }
        }
        for (x0, y0) in [(24, 6), (24, 30)] {
            for y in y0..y0 + 4 {
                for x in x0..x0 + 4 {
                    lesion[index(dims, x, y, 0)] = true;
                }
            }
        }
        (t1, lesion, dims)
    }

    #[test]
    fn regional_lesions_each_get_their_own_brightness_within_range() {
        let (t1, lesion, dims) = slab();
        let c = Contrast {
            spread: 0.4,
            ..contrast()
        };
        let mut seen = Vec::new();
        for seed in 0..10 {
            let flair = flair_from_t1(&t1, &lesion, dims, 2, &c, seed);
            let core = |x: usize, y: usize| {
                let v: Vec<f32> = (0..4)
                    .map(|d: usize| flair[index(dims, x + d % 2, y + d / 2, 0)])
                    .collect();
                percentile(&v, 50.0) / 100.0
            };
            let (a, b) = (core(25, 7), core(25, 31));
            for level in [a, b] {
                // Within the range, give or take the texture's few percent.
                assert!(
                    (LESION_RANGE.0 * 0.85..LESION_RANGE.1 * 1.15).contains(&level),
                    "{level}"
                );
            }
            seen.push((a - b).abs());
        }
        // Independent draws: the two lesions differ by more than texture in most scans.
        assert!(seen.iter().filter(|&&d| d > 0.1).count() >= 5, "{seen:?}");
    }

    #[test]
    fn regions_brighten_grey_matter_only() {
        let (t1, lesion, dims) = slab();
        let plain = flair_from_t1(&t1, &lesion, dims, 2, &contrast(), 1);
        let c = Contrast {
            regions: vec![Region {
                centre: [10.0, 20.0, 0.0],
                sigma: [8.0, 8.0, 8.0],
                gain: 1.0,
            }],
            ..contrast()
        };
        let bright = flair_from_t1(&t1, &lesion, dims, 2, &c, 1);
        let at = |f: &[f32], x, y| f[index(dims, x, y, 0)];
        // Grey matter at the region's centre: its excess over white matter (0.2) doubles.
        assert!((at(&plain, 10, 20) - 120.0).abs() < 1e-3);
        assert!(
            (at(&bright, 10, 20) - 140.0).abs() < 1e-2,
            "{}",
            at(&bright, 10, 20)
        );
        // Far from the centre grey matter barely moves; white matter and lesions not at all.
        assert!(at(&bright, 0, 0) - at(&plain, 0, 0) < 1.0);
        for y in 0..40 {
            for x in 20..40 {
                assert_eq!(at(&bright, x, y), at(&plain, x, y), "({x}, {y})");
            }
        }
    }
}
