//! The five metrics of the MICCAI 2017 WMH Segmentation Challenge, as
//! `docs/evaluation.md` defines them (Dice, 95th-percentile Hausdorff distance,
//! absolute volume difference, lesion recall and lesion F1).

pub mod components;

use kiddo::{ImmutableKdTree, SquaredEuclidean};
use serde::Serialize;

use crate::volume::{Affine, affine, index};
pub use components::{Components, label_26};

/// Why two images cannot be scored against each other.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The two images are not on the same voxel grid.
    #[error(
        "the reference is {reference:?} voxels and the prediction {prediction:?}; they must share a grid"
    )]
    GridMismatch {
        /// Reference extents.
        reference: [usize; 3],
        /// Prediction extents.
        prediction: [usize; 3],
    },
}

/// The challenge's five scores for one case. NaN marks an undefined value.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Scores {
    /// Dice similarity coefficient (1 when both masks are empty).
    pub dsc: f64,
    /// 95th-percentile Hausdorff distance in mm (NaN if either mask is empty).
    pub h95: f64,
    /// Absolute volume difference in % of the reference (NaN if the reference is empty).
    pub avd: f64,
    /// Fraction of reference lesions that touch the prediction.
    pub recall: f64,
    /// Lesion-wise F1.
    pub f1: f64,
    /// Reference lesion voxels.
    pub reference_voxels: usize,
    /// Predicted lesion voxels (after removing those on label 2).
    pub prediction_voxels: usize,
}

/// Scores `prediction` against `reference` on a grid with extents `dims` and
/// voxel-to-world transform `affine` (used for H95 in mm).
///
/// Reference voxels are compared as `round(v) == 1` (lesion) and `round(v) == 2`
/// (other pathology, removed from the prediction before scoring); prediction voxels
/// `>= 0.5` count as lesion, which for integer images is `>= 1`.
pub fn score(
    reference: &[f32],
    reference_dims: [usize; 3],
    prediction: &[f32],
    prediction_dims: [usize; 3],
    affine: &Affine,
) -> Result<Scores, MetricsError> {
    if reference_dims != prediction_dims || reference.len() != prediction.len() {
        return Err(MetricsError::GridMismatch {
            reference: reference_dims,
            prediction: prediction_dims,
        });
    }
    let dims = reference_dims;
    let r: Vec<bool> = reference.iter().map(|&v| v.round() == 1.0).collect();
    let p: Vec<bool> = prediction
        .iter()
        .zip(reference)
        .map(|(&v, &g)| v >= 0.5 && g.round() != 2.0)
        .collect();
    let nr = r.iter().filter(|&&x| x).count();
    let np = p.iter().filter(|&&x| x).count();
    let inter = r.iter().zip(&p).filter(|&(&a, &b)| a && b).count();
    let (recall, f1) = lesion_recall_f1(&r, &p, dims);
    Ok(Scores {
        dsc: dice_from_counts(inter, nr, np),
        h95: hausdorff95(&r, &p, dims, affine),
        avd: avd(nr, np),
        recall,
        f1,
        reference_voxels: nr,
        prediction_voxels: np,
    })
}

/// Dice overlap of two boolean masks of one grid; two empty masks agree perfectly.
pub fn dice(a: &[bool], b: &[bool]) -> f64 {
    let (both, na, nb) = crate::volume::overlap_counts(a, b);
    dice_from_counts(both, na, nb)
}

/// Dice from the overlap and the two mask sizes (the one definition [`dice`] and the
/// scores share); two empty masks agree perfectly.
pub fn dice_from_counts(intersection: usize, a: usize, b: usize) -> f64 {
    if a + b == 0 {
        1.0
    } else {
        2.0 * intersection as f64 / (a + b) as f64
    }
}

/// Absolute volume difference in percent of the reference; NaN for an empty reference.
pub fn avd(reference: usize, prediction: usize) -> f64 {
    if reference == 0 {
        f64::NAN
    } else {
        (reference as f64 - prediction as f64).abs() / reference as f64 * 100.0
    }
}

/// Lesion-wise recall and F1 with 26-connected lesions.
pub fn lesion_recall_f1(reference: &[bool], prediction: &[bool], dims: [usize; 3]) -> (f64, f64) {
    let rc = label_26(reference, dims);
    let pc = label_26(prediction, dims);
    let ratio = |hit: usize, total: usize| {
        if total == 0 {
            1.0
        } else {
            hit as f64 / total as f64
        }
    };
    let recall = ratio(components::count_touching(&rc, prediction), rc.count());
    let precision = ratio(components::count_touching(&pc, reference), pc.count());
    let f1 = if recall + precision == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    (recall, f1)
}

/// Boundary voxels: the mask minus its in-plane (axes 0 and 1) 3x3 erosion, with
/// voxels outside the image counted as foreground.
pub fn boundary(mask: &[bool], dims: [usize; 3]) -> Vec<[usize; 3]> {
    let mut out = Vec::new();
    for k in 0..dims[2] {
        for j in 0..dims[1] {
            for i in 0..dims[0] {
                if !mask[index(dims, i, j, k)] {
                    continue;
                }
                let eroded_away = (-1i64..=1).any(|dj| {
                    (-1i64..=1).any(|di| {
                        let (ni, nj) = (i as i64 + di, j as i64 + dj);
                        let outside =
                            ni < 0 || nj < 0 || ni >= dims[0] as i64 || nj >= dims[1] as i64;
                        !outside && !mask[index(dims, ni as usize, nj as usize, k)]
                    })
                });
                if eroded_away {
                    out.push([i, j, k]);
                }
            }
        }
    }
    out
}

/// The 95th-percentile Hausdorff distance in mm between the boundaries of two masks:
/// the larger of the two directed 95th percentiles. NaN if either boundary is empty.
pub fn hausdorff95(reference: &[bool], prediction: &[bool], dims: [usize; 3], a: &Affine) -> f64 {
    let to_mm = |pts: Vec<[usize; 3]>| -> Vec<[f64; 3]> {
        pts.into_iter()
            .map(|[i, j, k]| affine::apply(a, [i as f64, j as f64, k as f64]))
            .collect()
    };
    let rb = to_mm(boundary(reference, dims));
    let pb = to_mm(boundary(prediction, dims));
    if rb.is_empty() || pb.is_empty() {
        return f64::NAN;
    }
    let directed = |from: &[[f64; 3]], to: &[[f64; 3]]| -> f64 {
        let tree: ImmutableKdTree<f64, 3> = ImmutableKdTree::new_from_slice(to);
        let mut d: Vec<f64> = from
            .iter()
            .map(|q| tree.nearest_one::<SquaredEuclidean>(q).distance.sqrt())
            .collect();
        percentile_linear(&mut d, 95.0)
    };
    directed(&rb, &pb).max(directed(&pb, &rb))
}

/// Percentile with linear interpolation between closest ranks (numpy's default).
pub fn percentile_linear(values: &mut [f64], pct: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let pos = pct / 100.0 * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EYE: Affine = [
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
    ];

    fn grid(dims: [usize; 3], on: &[[usize; 3]], value: f32) -> Vec<f32> {
        let mut v = vec![0.0; dims.iter().product()];
        for &[i, j, k] in on {
            v[index(dims, i, j, k)] = value;
        }
        v
    }

    #[test]
    fn dice_of_masks_and_of_counts_agree() {
        assert_eq!(dice(&[true, true, false], &[true, false, false]), 2.0 / 3.0);
        assert_eq!(dice_from_counts(1, 2, 1), 2.0 / 3.0);
        assert_eq!(dice(&[false], &[false]), 1.0);
        assert_eq!(dice(&[true], &[false]), 0.0);
    }

    #[test]
    fn perfect_prediction_scores_perfectly() {
        let dims = [6, 6, 3];
        let r = grid(dims, &[[1, 1, 1], [2, 1, 1], [4, 4, 0]], 1.0);
        let s = score(&r, dims, &r, dims, &EYE).unwrap();
        assert_eq!(
            (s.dsc, s.h95, s.avd, s.recall, s.f1),
            (1.0, 0.0, 0.0, 1.0, 1.0)
        );
    }

    #[test]
    fn empty_reference_gives_nan_avd_and_h95_without_panicking() {
        let dims = [4, 4, 2];
        let r = vec![0.0; 32];
        let p = grid(dims, &[[1, 1, 1]], 1.0);
        let s = score(&r, dims, &p, dims, &EYE).unwrap();
        assert!(s.avd.is_nan() && s.h95.is_nan());
        assert_eq!(s.dsc, 0.0);
        assert_eq!(s.recall, 1.0); // no reference lesions to miss
        // precision 0 (the one predicted lesion touches nothing), recall 1.
        assert_eq!(s.f1, 0.0);
    }

    #[test]
    fn empty_prediction_gives_nan_h95_and_zero_recall() {
        let dims = [4, 4, 2];
        let r = grid(dims, &[[1, 1, 1]], 1.0);
        let s = score(&r, dims, &[0.0; 32], dims, &EYE).unwrap();
        assert!(s.h95.is_nan());
        assert_eq!((s.dsc, s.avd, s.recall), (0.0, 100.0, 0.0));
        // precision is 1 by convention (no predicted lesions), recall 0 -> F1 0.
        assert_eq!(s.f1, 0.0);
    }

    #[test]
    fn label_two_removes_predicted_voxels_before_scoring() {
        let dims = [4, 4, 1];
        let mut r = grid(dims, &[[0, 0, 0]], 1.0);
        r[index(dims, 3, 3, 0)] = 2.0;
        let p = grid(dims, &[[0, 0, 0], [3, 3, 0]], 1.0);
        let s = score(&r, dims, &p, dims, &EYE).unwrap();
        assert_eq!(s.prediction_voxels, 1);
        assert_eq!((s.dsc, s.f1), (1.0, 1.0));
    }

    #[test]
    fn label_values_are_rounded_not_truncated() {
        let dims = [2, 1, 1];
        // 0.9999 is lesion, 1.98 is "other pathology".
        let s = score(&[0.9999, 1.98], dims, &[1.0, 1.0], dims, &EYE).unwrap();
        assert_eq!((s.reference_voxels, s.prediction_voxels), (1, 1));
    }

    #[test]
    fn diagonal_only_contact_is_one_lesion() {
        let dims = [4, 4, 4];
        let r = grid(dims, &[[0, 0, 0], [1, 1, 1], [2, 2, 2]], 1.0);
        let p = grid(dims, &[[2, 2, 2]], 1.0);
        let s = score(&r, dims, &p, dims, &EYE).unwrap();
        assert_eq!(s.recall, 1.0); // the chain is one lesion and it is touched
        assert_eq!(s.f1, 1.0);
    }

    #[test]
    fn h95_is_the_distance_between_shifted_boundaries_in_mm() {
        // Two single voxels 3 voxels apart along x with 2 mm voxels: 6 mm.
        let dims = [8, 3, 1];
        let a: Affine = [
            [2.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
        ];
        let r = grid(dims, &[[1, 1, 0]], 1.0);
        let p = grid(dims, &[[4, 1, 0]], 1.0);
        let s = score(&r, dims, &p, dims, &a).unwrap();
        assert!((s.h95 - 6.0).abs() < 1e-12);
    }

    #[test]
    fn erosion_is_in_plane_and_treats_the_outside_as_foreground() {
        // A full 3x3 slice erodes to nothing inside the image: no boundary at all.
        let dims = [3, 3, 2];
        let m: Vec<bool> = (0..18).map(|v| v < 9).collect();
        assert!(boundary(&m, dims).is_empty());
        // A 3x3 block inside a 5x5 slice keeps only its ring of 8.
        let dims = [5, 5, 1];
        let m: Vec<bool> = (0..25)
            .map(|v| (1..4).contains(&(v % 5)) && (1..4).contains(&(v / 5)))
            .collect();
        assert_eq!(boundary(&m, dims).len(), 8);
    }

    #[test]
    fn mismatched_grids_are_refused() {
        let e = score(&[0.0; 8], [2, 2, 2], &[0.0; 8], [4, 2, 1], &EYE);
        assert!(matches!(e, Err(MetricsError::GridMismatch { .. })));
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        let mut v = vec![1.0, 2.0, 3.0, 4.0];
        assert!((percentile_linear(&mut v, 95.0) - 3.85).abs() < 1e-12);
    }
}
