//! 26-connected component labelling of 3-D binary masks.

use crate::volume::index;

/// Connected components of a mask.
#[derive(Debug, Clone)]
pub struct Components {
    /// Per voxel: 0 for background, else the 1-based component label.
    pub labels: Vec<u32>,
    /// Number of voxels in each component (`sizes[l - 1]` for label `l`).
    pub sizes: Vec<usize>,
}

impl Components {
    /// Number of components.
    pub fn count(&self) -> usize {
        self.sizes.len()
    }
}

/// Labels the 26-connected components of `mask` (voxels touching by a face, an edge
/// or a corner belong together), numbered in scan order.
pub fn label_26(mask: &[bool], dims: [usize; 3]) -> Components {
    let mut labels = vec![0u32; mask.len()];
    let mut sizes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || labels[start] != 0 {
            continue;
        }
        let label = sizes.len() as u32 + 1;
        labels[start] = label;
        stack.push(start);
        let mut size = 0;
        while let Some(v) = stack.pop() {
            size += 1;
            let (i, j, k) = (
                v % dims[0],
                (v / dims[0]) % dims[1],
                v / (dims[0] * dims[1]),
            );
            for dk in -1i64..=1 {
                for dj in -1i64..=1 {
                    for di in -1i64..=1 {
                        let (ni, nj, nk) = (i as i64 + di, j as i64 + dj, k as i64 + dk);
                        if ni < 0
                            || nj < 0
                            || nk < 0
                            || ni >= dims[0] as i64
                            || nj >= dims[1] as i64
                            || nk >= dims[2] as i64
                        {
                            continue;
                        }
                        let n = index(dims, ni as usize, nj as usize, nk as usize);
                        if mask[n] && labels[n] == 0 {
                            labels[n] = label;
                            stack.push(n);
                        }
                    }
                }
            }
        }
        sizes.push(size);
    }
    Components { labels, sizes }
}

/// How many components of `components` contain at least one voxel of `other`.
pub fn count_touching(components: &Components, other: &[bool]) -> usize {
    let mut hit = vec![false; components.count()];
    for (&l, &o) in components.labels.iter().zip(other) {
        if l > 0 && o {
            hit[l as usize - 1] = true;
        }
    }
    hit.iter().filter(|&&h| h).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonal_corner_contact_joins_components() {
        let dims = [4, 4, 4];
        let mut m = vec![false; 64];
        m[index(dims, 0, 0, 0)] = true;
        m[index(dims, 1, 1, 1)] = true; // touches the first only by a corner
        m[index(dims, 3, 3, 3)] = true; // two steps from the nearest: separate
        let c = label_26(&m, dims);
        assert_eq!(c.count(), 2);
        assert_eq!(c.sizes, vec![2, 1]);
    }

    #[test]
    fn touching_counts_components_not_voxels() {
        let dims = [5, 1, 1];
        let m = [true, true, false, true, false];
        let c = label_26(&m, dims);
        assert_eq!(c.count(), 2);
        assert_eq!(count_touching(&c, &[true, true, false, false, false]), 1);
        assert_eq!(count_touching(&c, &[false; 5]), 0);
    }
}
