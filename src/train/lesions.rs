//! Lesion-balanced sampling: a case's lesion voxels grouped by lesion, so that a patch
//! can be centred on a lesion drawn uniformly whatever its size. Drawn by voxel, a
//! confluent periventricular band that holds half a scan's lesion volume takes half the
//! lesion-centred patches, and the many 1-10 voxel deep lesions that decide lesion
//! recall are seldom seen.

use rand::RngExt;

use crate::metrics::components::label_26;

/// A case's positive voxels grouped by lesion (26-connected component of the label).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lesions {
    /// Indices into the case's positives, lesion after lesion.
    members: Vec<u32>,
    /// Where each lesion's members start in `members`, then the end.
    starts: Vec<u32>,
}

impl Lesions {
    /// Groups `positives` (the positive voxels of a `dims` grid as (z, x, y), as a
    /// training case lists them) by the 26-connected lesion that holds them.
    pub fn group(dims: [usize; 3], positives: &[(usize, usize, usize)]) -> Self {
        let index: Vec<usize> = (positives.iter())
            .map(|&(z, x, y)| crate::volume::index(dims, x, y, z))
            .collect();
        let mut mask = vec![false; dims.iter().product()];
        for &v in &index {
            mask[v] = true;
        }
        let components = label_26(&mask, dims);
        // A counting sort by lesion: each lesion's slots follow the previous lesion's.
        let mut starts = Vec::with_capacity(components.count() + 1);
        let mut end = 0u32;
        starts.push(0);
        for &size in &components.sizes {
            end += size as u32;
            starts.push(end);
        }
        let mut next: Vec<u32> = starts[..components.count()].to_vec();
        let mut members = vec![0u32; end as usize];
        for (i, &v) in index.iter().enumerate() {
            let lesion = components.labels[v] as usize - 1;
            members[next[lesion] as usize] = i as u32;
            next[lesion] += 1;
        }
        Self { members, starts }
    }

    /// Number of lesions.
    pub fn count(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// The index into the positives of a voxel drawn uniformly from a lesion drawn
    /// uniformly; `None` without lesions.
    pub fn draw<R: rand::Rng>(&self, rng: &mut R) -> Option<usize> {
        if self.count() == 0 {
            return None;
        }
        let lesion = rng.random_range(0..self.count());
        let (a, b) = (self.starts[lesion], self.starts[lesion + 1]);
        Some(self.members[rng.random_range(a..b) as usize] as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A 6 x 6 x 2 grid's positives: a 10-voxel lesion and two 1-voxel lesions.
    fn grid() -> ([usize; 3], Vec<(usize, usize, usize)>) {
        // (z, x, y): rows 0 and 1, x 0-4, one lesion; (0, 5, 5) and (1, 3, 5) alone.
        let band = (0..2).flat_map(|y| (0..5).map(move |x| (0, x, y)));
        ([6, 6, 2], band.chain([(0, 5, 5), (1, 3, 5)]).collect())
    }

    #[test]
    fn every_positive_belongs_to_exactly_one_lesion() {
        let (dims, positives) = grid();
        let lesions = Lesions::group(dims, &positives);
        assert_eq!(lesions.count(), 3);
        let mut seen = lesions.members.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..positives.len() as u32).collect::<Vec<_>>());
        let sizes: Vec<u32> = lesions.starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(sizes, [10, 1, 1]);
    }

    #[test]
    fn a_lesion_is_drawn_as_often_as_any_other_whatever_its_size() {
        let (dims, positives) = grid();
        let lesions = Lesions::group(dims, &positives);
        let mut rng = crate::train::TrainRng::seed_from_u64(3);
        let n = 30_000;
        let mut alone = 0;
        for _ in 0..n {
            let v = positives[lesions.draw(&mut rng).unwrap()];
            if v == (0, 5, 5) || v == (1, 3, 5) {
                alone += 1;
            }
        }
        // Two of three lesions are single voxels: 2/3 of the draws, not 2/12.
        let share = alone as f64 / n as f64;
        assert!((share - 2.0 / 3.0).abs() < 0.02, "{share}");
    }

    #[test]
    fn no_lesions_draw_nothing() {
        let lesions = Lesions::group([2, 2, 2], &[]);
        assert_eq!(lesions.count(), 0);
        let mut rng = crate::train::TrainRng::seed_from_u64(1);
        assert_eq!(lesions.draw(&mut rng), None);
    }
}
