//! Resampling through world coordinates (one grid onto another) and in-plane
//! rescaling of single slices.

use super::affine::{self, Affine};
use super::{Volume, index};

/// The result of resampling a volume onto another grid.
#[derive(Debug, Clone)]
pub struct Resampled {
    /// Values on the target grid (0 outside the source's field of view).
    pub data: Vec<f32>,
    /// Fraction of target voxels whose centre fell inside the source's field of view.
    pub coverage: f64,
}

/// Trilinear resampling of `source` onto the grid (`dims`, `target_affine`), by mapping
/// every target voxel centre to world mm and then into the source's voxel space.
pub fn onto_grid(source: &Volume, dims: [usize; 3], target_affine: &Affine) -> Resampled {
    let inv = affine::invert(&source.geometry.affine)
        .expect("decoded volumes always have an invertible affine");
    // Compose target voxel -> source voxel once, so the inner loop is a 3x4 product.
    let mut m = [[0.0f64; 4]; 3];
    for r in 0..3 {
        for c in 0..4 {
            let mut v = if c == 3 { inv[r][3] } else { 0.0 };
            for k in 0..3 {
                v += inv[r][k] * target_affine[k][c];
            }
            m[r][c] = v;
        }
    }
    let sd = source.dims;
    let mut data = vec![0.0f32; dims.iter().product()];
    let mut inside = 0usize;
    for k in 0..dims[2] {
        for j in 0..dims[1] {
            for i in 0..dims[0] {
                let p = affine::apply(&m, [i as f64, j as f64, k as f64]);
                if let Some(v) = trilinear(&source.data, sd, p) {
                    data[index(dims, i, j, k)] = v;
                    inside += 1;
                }
            }
        }
    }
    Resampled {
        coverage: inside as f64 / data.len().max(1) as f64,
        data,
    }
}

/// Trilinear interpolation at a continuous voxel position; `None` outside the grid
/// (half a voxel of tolerance at the borders, clamped to the edge voxel).
pub fn trilinear(data: &[f32], dims: [usize; 3], p: [f64; 3]) -> Option<f32> {
    let mut lo = [0usize; 3];
    let mut frac = [0.0f64; 3];
    for a in 0..3 {
        let max = dims[a] as f64 - 1.0;
        if !(p[a] >= -0.5 && p[a] <= max + 0.5) {
            return None;
        }
        let x = p[a].clamp(0.0, max);
        let f = x.floor();
        lo[a] = f as usize;
        frac[a] = x - f;
        if lo[a] + 1 >= dims[a] {
            lo[a] = dims[a] - 1;
            frac[a] = 0.0;
        }
    }
    let mut acc = 0.0f64;
    for corner in 0..8 {
        let mut w = 1.0;
        let mut c = [0usize; 3];
        for a in 0..3 {
            let up = (corner >> a) & 1 == 1;
            w *= if up { frac[a] } else { 1.0 - frac[a] };
            c[a] = lo[a] + usize::from(up);
        }
        if w > 0.0 {
            acc += w * f64::from(data[index(dims, c[0], c[1], c[2])]);
        }
    }
    Some(acc as f32)
}

/// Bilinear rescaling of a row-major `h x w` image to `nh x nw`, aligning the
/// outer edges of the two pixel grids (the pixel-area convention).
pub fn rescale_2d(img: &[f32], h: usize, w: usize, nh: usize, nw: usize) -> Vec<f32> {
    if (h, w) == (nh, nw) {
        return img.to_vec();
    }
    let coord = |o: usize, n: usize, src: usize| -> (usize, usize, f32) {
        let x = ((o as f64 + 0.5) * src as f64 / n as f64 - 0.5).clamp(0.0, src as f64 - 1.0);
        let x0 = x.floor() as usize;
        let x1 = (x0 + 1).min(src - 1);
        (x0, x1, (x - x0 as f64) as f32)
    };
    let cols: Vec<_> = (0..nw).map(|c| coord(c, nw, w)).collect();
    let mut out = Vec::with_capacity(nh * nw);
    for r in 0..nh {
        let (r0, r1, fr) = coord(r, nh, h);
        for &(c0, c1, fc) in &cols {
            let top = img[r0 * w + c0] * (1.0 - fc) + img[r0 * w + c1] * fc;
            let bottom = img[r1 * w + c0] * (1.0 - fc) + img[r1 * w + c1] * fc;
            out.push(top * (1.0 - fr) + bottom * fr);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Geometry;

    fn ramp(dims: [usize; 3], affine: Affine) -> Volume {
        let mut data = vec![0.0; dims.iter().product()];
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let w = affine::apply(&affine, [i as f64, j as f64, k as f64]);
                    data[index(dims, i, j, k)] = (w[0] + 2.0 * w[1] + 3.0 * w[2]) as f32;
                }
            }
        }
        Volume {
            dims,
            data,
            geometry: Geometry::from_affine(affine),
        }
    }

    #[test]
    fn a_linear_field_survives_resampling_onto_a_flipped_grid() {
        // The source is stored flipped along y relative to the target, as the
        // Sim-Vent T1s are; a linear world field must come out unchanged.
        let target: Affine = [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 2.0, 0.0],
        ];
        let source_affine: Affine = [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, -1.0, 0.0, 9.0],
            [0.0, 0.0, 2.0, 0.0],
        ];
        let src = ramp([10, 10, 5], source_affine);
        let expected = ramp([10, 10, 5], target);
        let out = onto_grid(&src, [10, 10, 5], &expected.geometry.affine);
        assert!((out.coverage - 1.0).abs() < 1e-12);
        for (a, b) in out.data.iter().zip(&expected.data) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
    }

    #[test]
    fn disjoint_grids_have_zero_coverage() {
        let a: Affine = [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
        ];
        let far: Affine = [
            [1.0, 0.0, 0.0, 500.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
        ];
        let src = ramp([4, 4, 4], far);
        assert_eq!(onto_grid(&src, [4, 4, 4], &a).coverage, 0.0);
    }

    #[test]
    fn rescale_keeps_constants_and_identity() {
        let img = vec![3.0; 12];
        assert!(
            rescale_2d(&img, 3, 4, 7, 5)
                .iter()
                .all(|&v| (v - 3.0).abs() < 1e-6)
        );
        let ramp: Vec<f32> = (0..12).map(|v| v as f32).collect();
        assert_eq!(rescale_2d(&ramp, 3, 4, 3, 4), ramp);
    }

    #[test]
    fn trilinear_interpolates_between_voxels() {
        let dims = [2, 1, 1];
        assert_eq!(trilinear(&[0.0, 10.0], dims, [0.25, 0.0, 0.0]), Some(2.5));
        assert_eq!(trilinear(&[0.0, 10.0], dims, [2.0, 0.0, 0.0]), None);
    }
}
