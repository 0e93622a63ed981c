//! Exact reorientation to a canonical voxel order by axis permutation and flips.
//!
//! The networks see slices with the same anatomical layout whatever order the scanner
//! stored them in: canonical axis 0 runs towards Right, 1 towards Anterior, 2 towards
//! Superior (RAS), each taken from the stored axis closest to it. No interpolation is
//! involved, so the inverse maps every value back to the voxel it came from.

use super::affine::{self, Affine};
use super::index;

/// A permutation-and-flip mapping between a stored grid and the canonical RAS grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reorientation {
    /// `perm[c]` is the stored axis that becomes canonical axis `c`.
    pub perm: [usize; 3],
    /// Whether canonical axis `c` runs opposite to its stored axis.
    pub flip: [bool; 3],
    /// Extents of the stored grid.
    pub stored_dims: [usize; 3],
}

impl Reorientation {
    /// The reorientation that brings a grid with this affine to RAS order.
    pub fn to_ras(affine: &Affine, stored_dims: [usize; 3]) -> Self {
        let mut perm = [0; 3];
        let mut flip = [false; 3];
        for (v, (w, positive)) in affine::orientation(affine).into_iter().enumerate() {
            perm[w] = v;
            flip[w] = !positive;
        }
        Self {
            perm,
            flip,
            stored_dims,
        }
    }

    /// Extents of the canonical grid.
    pub fn canonical_dims(&self) -> [usize; 3] {
        self.perm.map(|p| self.stored_dims[p])
    }

    /// Voxel sizes along the canonical axes, given those along the stored axes.
    pub fn canonical_spacing(&self, stored: [f64; 3]) -> [f64; 3] {
        self.perm.map(|p| stored[p])
    }

    /// The canonical voxel holding stored voxel `s`.
    pub fn canonical_voxel(&self, s: [usize; 3]) -> [usize; 3] {
        let cd = self.canonical_dims();
        let mut out = [0; 3];
        for c in 0..3 {
            let v = s[self.perm[c]];
            out[c] = if self.flip[c] { cd[c] - 1 - v } else { v };
        }
        out
    }

    /// Stored linear index of each canonical voxel, in canonical order.
    fn stored_indices(&self) -> Vec<usize> {
        let cd = self.canonical_dims();
        let mut out = Vec::with_capacity(cd.iter().product());
        let mut s = [0usize; 3];
        for z in 0..cd[2] {
            for y in 0..cd[1] {
                for x in 0..cd[0] {
                    for (c, &v) in [x, y, z].iter().enumerate() {
                        s[self.perm[c]] = if self.flip[c] { cd[c] - 1 - v } else { v };
                    }
                    out.push(index(self.stored_dims, s[0], s[1], s[2]));
                }
            }
        }
        out
    }

    /// Reorders stored voxels into canonical order.
    pub fn forward<T: Copy>(&self, stored: &[T]) -> Vec<T> {
        self.stored_indices()
            .into_iter()
            .map(|i| stored[i])
            .collect()
    }

    /// Puts canonical voxels back into stored order (exact inverse of `forward`).
    pub fn inverse<T: Copy + Default>(&self, canonical: &[T]) -> Vec<T> {
        let mut out = vec![T::default(); canonical.len()];
        for (c, s) in self.stored_indices().into_iter().enumerate() {
            out[s] = canonical[c];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lps_sagittal_grid_round_trips_and_lands_in_ras() {
        // Stored axis 0 runs towards Inferior, 1 towards Right, 2 towards Posterior.
        let a: Affine = [
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, -2.0, 0.0],
            [-3.0, 0.0, 0.0, 0.0],
        ];
        let dims = [4, 5, 6];
        let r = Reorientation::to_ras(&a, dims);
        assert_eq!(r.perm, [1, 2, 0]);
        assert_eq!(r.flip, [false, true, true]);
        assert_eq!(r.canonical_dims(), [5, 6, 4]);
        assert_eq!(r.canonical_spacing([3.0, 1.0, 2.0]), [1.0, 2.0, 3.0]);
        let data: Vec<u32> = (0..120).collect();
        let canon = r.forward(&data);
        assert_eq!(r.inverse(&canon), data);
        let stored = [1, 3, 5];
        let c = r.canonical_voxel(stored);
        assert_eq!(
            canon[index([5, 6, 4], c[0], c[1], c[2])],
            data[index(dims, 1, 3, 5)]
        );
        // The most superior stored voxel (axis 0 = 0) is the top canonical slice.
        let top = canon[index([5, 6, 4], 0, 0, 3)];
        assert_eq!(top as usize % 4, 0);
    }

    #[test]
    fn ras_grid_is_the_identity() {
        let a: Affine = [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
        ];
        let r = Reorientation::to_ras(&a, [3, 2, 2]);
        let data: Vec<u8> = (0..12).collect();
        assert_eq!(r.forward(&data), data);
    }
}
