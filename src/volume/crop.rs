//! A box of a grid, cut out and pasted back: work that only concerns a mask's
//! neighbourhood (the brain's, inside a field of view three times its size) is done
//! on the box alone.

/// A box of a grid: where it starts and its extents, and the grid's extents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crop {
    /// The box's first voxel.
    pub start: [usize; 3],
    /// The box's extents.
    pub dims: [usize; 3],
    /// The whole grid's extents.
    pub grid: [usize; 3],
}

impl Crop {
    /// The bounding box of `mask`'s voxels widened by `margin` voxels per axis (cut at
    /// the grid's edges); `None` for an empty mask.
    pub fn around(mask: &[bool], grid: [usize; 3], margin: [usize; 3]) -> Option<Self> {
        let (mut lo, mut hi) = ([usize::MAX; 3], [0usize; 3]);
        for (i, _) in mask.iter().enumerate().filter(|&(_, &m)| m) {
            let v = [
                i % grid[0],
                (i / grid[0]) % grid[1],
                i / (grid[0] * grid[1]),
            ];
            for a in 0..3 {
                lo[a] = lo[a].min(v[a]);
                hi[a] = hi[a].max(v[a]);
            }
        }
        if lo[0] == usize::MAX {
            return None;
        }
        let start = [0, 1, 2].map(|a| lo[a].saturating_sub(margin[a]));
        let end = [0, 1, 2].map(|a| (hi[a] + margin[a] + 1).min(grid[a]));
        Some(Self {
            start,
            dims: [0, 1, 2].map(|a| end[a] - start[a]),
            grid,
        })
    }

    /// The box's voxels of a grid-sized volume.
    pub fn cut<T: Copy>(&self, data: &[T]) -> Vec<T> {
        let mut out = Vec::with_capacity(self.dims.iter().product());
        for k in 0..self.dims[2] {
            for j in 0..self.dims[1] {
                let row = super::index(
                    self.grid,
                    self.start[0],
                    self.start[1] + j,
                    self.start[2] + k,
                );
                out.extend_from_slice(&data[row..row + self.dims[0]]);
            }
        }
        out
    }

    /// A grid-sized volume holding `part` in the box and `fill` elsewhere.
    pub fn paste<T: Copy>(&self, part: &[T], fill: T) -> Vec<T> {
        let mut out = vec![fill; self.grid.iter().product()];
        for k in 0..self.dims[2] {
            for j in 0..self.dims[1] {
                let row = super::index(
                    self.grid,
                    self.start[0],
                    self.start[1] + j,
                    self.start[2] + k,
                );
                let from = super::index(self.dims, 0, j, k);
                out[row..row + self.dims[0]].copy_from_slice(&part[from..from + self.dims[0]]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::index;

    #[test]
    fn the_box_holds_the_mask_and_its_margin_and_pastes_back() {
        let grid = [10, 8, 6];
        let mut mask = vec![false; 480];
        mask[index(grid, 3, 2, 1)] = true;
        mask[index(grid, 5, 4, 2)] = true;
        let crop = Crop::around(&mask, grid, [1, 1, 5]).unwrap();
        assert_eq!(crop.start, [2, 1, 0]);
        assert_eq!(crop.dims, [5, 5, 6]);
        let values: Vec<u32> = (0..480).collect();
        let part = crop.cut(&values);
        assert_eq!(part[index(crop.dims, 1, 1, 1)], index(grid, 3, 2, 1) as u32);
        let back = crop.paste(&part, u32::MAX);
        for (i, (&b, &v)) in back.iter().zip(&values).enumerate() {
            let inside = crop
                .cut(&(0..480).map(|x| x == i).collect::<Vec<_>>())
                .contains(&true);
            assert_eq!(b, if inside { v } else { u32::MAX });
        }
        assert_eq!(Crop::around(&[false; 480], grid, [1; 3]), None);
    }
}
