//! Affine registration by normalised cross-correlation (NCC).
//!
//! Brain extraction places a template brain on a scan: twelve parameters (translation,
//! rotation, scale, shear) found by a pattern search on the NCC of the template's
//! intensities and the scan's at the template's points. The template's points include
//! a dark rim around its brain, so the fit pulls the brain's edge onto the scan's CSF
//! and skull rather than letting it swell into the scalp. Twelve smooth parameters and
//! a cost that takes a millisecond do not need a general optimiser crate: a compass
//! search is deterministic, bounded, and the same on every target.

use super::Affine;
use super::resample::trilinear;

/// A scalar image in a local millimetre frame: voxel `(i, j, k)` sits at
/// `origin + (i·spacing[0], j·spacing[1], k·spacing[2])`.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    /// Voxels, x fastest.
    pub data: &'a [f32],
    /// Extents.
    pub dims: [usize; 3],
    /// Voxel size in mm.
    pub spacing: [f64; 3],
    /// Position of voxel (0, 0, 0) in mm.
    pub origin: [f64; 3],
}

impl<'a> Image<'a> {
    /// An image whose voxel (0, 0, 0) sits at the frame's origin.
    pub fn new(data: &'a [f32], dims: [usize; 3], spacing: [f64; 3]) -> Self {
        Self {
            data,
            dims,
            spacing,
            origin: [0.0; 3],
        }
    }

    /// The value at a point in mm (trilinear; 0 outside the grid, which is background
    /// for the scans registered here).
    pub fn at_mm(&self, p: [f64; 3]) -> f32 {
        let v = [0, 1, 2].map(|a| (p[a] - self.origin[a]) / self.spacing[a]);
        trilinear(self.data, self.dims, v).unwrap_or(0.0)
    }

    /// The position in mm of voxel `(i, j, k)`.
    pub fn mm(&self, i: usize, j: usize, k: usize) -> [f64; 3] {
        let v = [i, j, k];
        [0, 1, 2].map(|a| self.origin[a] + v[a] as f64 * self.spacing[a])
    }

    /// Block means over `factor` voxels per axis (the partial blocks at the far edges
    /// dropped), in the same frame: the coarse image a fit starts on, whose wider basin
    /// forgives a poor first guess.
    pub fn block_mean(&self, factor: [usize; 3]) -> (Vec<f32>, Image<'static>) {
        let dims = [0, 1, 2].map(|a| (self.dims[a] / factor[a]).max(1));
        let factor = [0, 1, 2].map(|a| factor[a].min(self.dims[a]));
        let mut out = vec![0f32; dims.iter().product()];
        let n = (factor[0] * factor[1] * factor[2]) as f32;
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let mut sum = 0f32;
                    for c in 0..factor[2] {
                        for b in 0..factor[1] {
                            let row = super::index(
                                self.dims,
                                i * factor[0],
                                j * factor[1] + b,
                                k * factor[2] + c,
                            );
                            sum += self.data[row..row + factor[0]].iter().sum::<f32>();
                        }
                    }
                    out[super::index(dims, i, j, k)] = sum / n;
                }
            }
        }
        let geometry = Image {
            data: &[],
            dims,
            spacing: [0, 1, 2].map(|a| self.spacing[a] * factor[a] as f64),
            origin: [0, 1, 2]
                .map(|a| self.origin[a] + 0.5 * (factor[a] - 1) as f64 * self.spacing[a]),
        };
        (out, geometry)
    }

    /// This image's frame over other voxels (from [`Image::block_mean`]).
    pub fn with_data<'b>(&self, data: &'b [f32]) -> Image<'b> {
        Image {
            data,
            dims: self.dims,
            spacing: self.spacing,
            origin: self.origin,
        }
    }
}

/// Number of parameters: translation (mm), rotation about x, y, z (rad), log scale
/// per axis, shear (xy, xz, yz).
pub const PARAMS: usize = 12;

/// How far each parameter may go from the identity: rotations of 35°, scales of
/// 0.6-1.4, shears of 0.25. A fit at a bound has failed.
const BOUNDS: [f64; PARAMS] = [
    f64::INFINITY,
    f64::INFINITY,
    f64::INFINITY,
    0.6,
    0.6,
    0.6,
    0.51,
    0.51,
    0.51,
    0.25,
    0.25,
    0.25,
];

/// A transform from template mm to scan mm: `x' = origin + t + R·S·H·(x − centre)`,
/// rotating and scaling about the template's `centre`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    /// Template point the rotation and scale act about.
    pub centre: [f64; 3],
    /// Where `centre` goes before the translation parameters.
    pub origin: [f64; 3],
    /// The twelve parameters.
    pub params: [f64; PARAMS],
}

impl Transform {
    /// The transform as a 3x4 affine (template mm to scan mm).
    pub fn affine(&self) -> Affine {
        let p = &self.params;
        let (sx, cx) = p[3].sin_cos();
        let (sy, cy) = p[4].sin_cos();
        let (sz, cz) = p[5].sin_cos();
        let rx = [[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]];
        let ry = [[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]];
        let rz = [[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]];
        let s = [
            [p[6].exp(), 0.0, 0.0],
            [0.0, p[7].exp(), 0.0],
            [0.0, 0.0, p[8].exp()],
        ];
        let h = [[1.0, p[9], p[10]], [0.0, 1.0, p[11]], [0.0, 0.0, 1.0]];
        let m = mul(&mul(&mul(&rz, &mul(&ry, &rx)), &s), &h);
        let mut a = [[0.0; 4]; 3];
        for r in 0..3 {
            let mc: f64 = (0..3).map(|c| m[r][c] * self.centre[c]).sum();
            a[r][..3].copy_from_slice(&m[r]);
            a[r][3] = self.origin[r] + p[r] - mc;
        }
        a
    }

    /// Whether every parameter lies inside its bound.
    fn in_bounds(&self) -> bool {
        (self.params.iter().zip(BOUNDS)).all(|(v, b)| v.abs() <= b)
    }
}

fn mul(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut m = [[0.0; 3]; 3];
    for r in 0..3 {
        for c in 0..3 {
            m[r][c] = (0..3).map(|k| a[r][k] * b[k][c]).sum();
        }
    }
    m
}

/// A template point: its position (template mm) and intensity.
pub type Point = ([f64; 3], f32);

/// Pearson correlation of the template's values and the scan's at the mapped points.
pub fn ncc(points: &[Point], scan: &Image, a: &Affine) -> f64 {
    let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(p, t) in points {
        let q = super::affine::apply(a, p);
        let (x, y) = (f64::from(t), f64::from(scan.at_mm(q)));
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
    }
    let n = points.len() as f64;
    let cov = sxy - sx * sy / n;
    let var = (sxx - sx * sx / n) * (syy - sy * sy / n);
    if var > 0.0 { cov / var.sqrt() } else { 0.0 }
}

/// First step of each parameter in a compass search: 6 mm, 4.6°, 6 % scale, 0.04 shear.
pub const STEPS: [f64; PARAMS] = [
    6.0, 6.0, 6.0, 0.08, 0.08, 0.08, 0.06, 0.06, 0.06, 0.04, 0.04, 0.04,
];

/// Maximises `score` (of the transform's affine) over the first `free` parameters by
/// compass search: each parameter tried a step either way, steps halved when none
/// improves, until they are `1/2^halvings` of [`STEPS`]. Transforms outside the
/// parameters' bounds are never taken. Returns the transform and its score.
pub fn fit(
    score: impl Fn(&Affine) -> f64,
    start: Transform,
    free: usize,
    halvings: u32,
) -> (Transform, f64) {
    let score = |t: &Transform| {
        if t.in_bounds() {
            score(&t.affine())
        } else {
            f64::NEG_INFINITY
        }
    };
    let mut best = start;
    let mut best_score = score(&best);
    let mut scale = 1.0;
    for _ in 0..=halvings {
        loop {
            let mut improved = false;
            for (p, step) in STEPS.iter().enumerate().take(free) {
                for sign in [1.0, -1.0] {
                    let mut t = best;
                    t.params[p] += sign * step * scale;
                    let s = score(&t);
                    if s > best_score {
                        (best, best_score, improved) = (t, s, true);
                        break;
                    }
                }
            }
            if !improved {
                break;
            }
        }
        scale *= 0.5;
    }
    (best, best_score)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::index;

    /// A bright ellipsoid with a darker core, on a 2 mm grid.
    fn blob(dims: [usize; 3], centre: [f64; 3], radii: [f64; 3]) -> Vec<f32> {
        let mut v = vec![0.0f32; dims.iter().product()];
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let p = [i as f64 * 2.0, j as f64 * 2.0, k as f64 * 2.0];
                    let r: f64 = (0..3)
                        .map(|a| ((p[a] - centre[a]) / radii[a]).powi(2))
                        .sum::<f64>()
                        .sqrt();
                    v[index(dims, i, j, k)] = if r < 0.4 {
                        40.0
                    } else if r < 1.0 {
                        100.0
                    } else {
                        0.0
                    };
                }
            }
        }
        v
    }

    #[test]
    fn recovers_a_shift_and_a_scale() {
        let dims = [40, 40, 40];
        let template = blob(dims, [40.0, 40.0, 40.0], [20.0, 25.0, 15.0]);
        // The scan: the same shape 10 % larger, moved by (6, -4, 8) mm.
        let scan = blob(dims, [46.0, 36.0, 48.0], [22.0, 27.5, 16.5]);
        let t = Image::new(&template, dims, [2.0; 3]);
        let s = Image::new(&scan, dims, [2.0; 3]);
        let points: Vec<Point> = (0..dims[2])
            .flat_map(|k| (0..dims[1]).flat_map(move |j| (0..dims[0]).map(move |i| (i, j, k))))
            .map(|(i, j, k)| (t.mm(i, j, k), template[index(dims, i, j, k)]))
            .collect();
        let start = Transform {
            centre: [40.0; 3],
            origin: [40.0; 3],
            params: [0.0; PARAMS],
        };
        let (fit, score) = fit(|a| ncc(&points, &s, a), start, 9, 6);
        assert!(score > 0.95, "NCC {score}");
        let a = fit.affine();
        // The template's centre lands on the scan's, and its +x pole on the scan's.
        let c = crate::volume::affine::apply(&a, [40.0, 40.0, 40.0]);
        let pole = crate::volume::affine::apply(&a, [60.0, 40.0, 40.0]);
        for (got, want) in c.iter().zip([46.0, 36.0, 48.0]) {
            assert!((got - want).abs() < 1.0, "centre {c:?}");
        }
        assert!((pole[0] - 68.0).abs() < 1.5, "pole {pole:?}");
        assert!(ncc(&points, &s, &start.affine()) < score);
    }

    #[test]
    fn the_affine_rotates_about_the_centre() {
        let t = Transform {
            centre: [10.0, 0.0, 0.0],
            origin: [10.0, 0.0, 0.0],
            params: [
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                std::f64::consts::FRAC_PI_2,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        };
        let a = t.affine();
        let q = crate::volume::affine::apply(&a, [11.0, 0.0, 0.0]);
        assert!(
            (q[0] - 10.0).abs() < 1e-9 && (q[1] - 1.0).abs() < 1e-9,
            "{q:?}"
        );
        assert_eq!(
            crate::volume::affine::apply(&a, [10.0, 0.0, 0.0]),
            [10.0, 0.0, 0.0]
        );
    }
}
