//! Brain extraction from a T1 that still has skull, scalp and neck.
//!
//! The WM network learned white matter on skull-stripped T1s, and the inference
//! normalisation (z-scores over the foreground) shifts when bright scalp fat is in the
//! picture: on head scans the network then marks scalp as white matter, or misses the
//! brain's. Stripping the T1 first shows the network what it was trained on. The
//! method is morphological, with no atlas, so it runs the same in the browser: brain
//! tissue (brighter than CSF and bone) is eroded in-plane until the thin bridges to
//! scalp, eyes and neck break, the brain's 3-D piece is kept, and it is grown back.

use crate::metrics::{Components, label_26};
use crate::tissue::kmeans_1d;
use crate::volume::{Affine, Reorientation};
use crate::volume::{
    dilate_in_plane, erode_in_plane, fill_holes_per_slice, foreground_mask, percentile,
};

/// In-plane erosion (mm) that separates the brain from the scalp: the skull and CSF
/// between them are a few millimetres thick, the bridges through them thinner.
pub const EROSION_MM: f64 = 4.0;

/// Radius (mm) of the closing that takes in the sulci and the cortex's CSF, up to the
/// inner surface of the skull, as brain masks conventionally do.
pub const CLOSING_MM: f64 = 6.0;

/// The brain of a T1 on the canonical grid (axial slices across the last axis), with
/// in-plane `spacing` in mm. Skull-stripped input comes back as (about) its own
/// non-zero region; an empty image gives an empty mask.
pub fn brain_mask(t1: &[f32], dims: [usize; 3], spacing: [f64; 3]) -> Vec<bool> {
    let head = foreground_mask(t1, dims, 2);
    let values: Vec<f32> = (0..t1.len()).filter(|&i| head[i]).map(|i| t1[i]).collect();
    if values.is_empty() {
        return head;
    }
    // Three intensity classes in the head: CSF/bone/air, grey matter/muscle, white
    // matter/fat. Brain tissue is everything above the midpoint of the lower two.
    let p = |q| percentile(&values, q);
    let means = kmeans_1d(&values, [p(10.0), p(50.0), p(90.0)], 20);
    let threshold = 0.5 * (means[0] + means[1]);
    let tissue: Vec<bool> = (0..t1.len())
        .map(|i| head[i] && t1[i] > threshold)
        .collect();
    let core = erode_in_plane(&tissue, dims, spacing, EROSION_MM);
    let components = label_26(&core, dims);
    let Some(keep) = brain_piece(&components, dims) else {
        return vec![false; t1.len()];
    };
    let core: Vec<bool> = components.labels.iter().map(|&l| l == keep).collect();
    // Grow back only into tissue, so the growth cannot jump the skull again.
    let grown = dilate_in_plane(&core, dims, spacing, EROSION_MM + 0.5);
    let brain: Vec<bool> = (0..t1.len()).map(|i| grown[i] && tissue[i]).collect();
    let closed = erode_in_plane(
        &dilate_in_plane(&brain, dims, spacing, CLOSING_MM),
        dims,
        spacing,
        CLOSING_MM,
    );
    let brain = fill_holes_per_slice(&closed, dims, 2);
    let brain: Vec<bool> = (0..t1.len()).map(|i| brain[i] && head[i]).collect();
    // An already stripped T1 (zero outside the brain) keeps its own brain: the
    // morphology would only shave its edges.
    let nonzero = t1.iter().filter(|&&v| v != 0.0).count();
    let kept = (0..t1.len()).filter(|&i| brain[i] && t1[i] != 0.0).count();
    let stripped = (t1.len() - nonzero) * 5 >= t1.len() && kept * 4 >= nonzero * 3;
    if stripped {
        return fill_holes_per_slice(&t1.iter().map(|&v| v != 0.0).collect::<Vec<_>>(), dims, 2);
    }
    brain
}

/// Of the eroded tissue's pieces, the brain's label: the most superior (by centroid) of
/// those at least a third the size of the largest. The largest alone is not enough: on
/// scans that reach far down the neck (3 mm GE 3T scans with 83 slices), face and neck
/// tissue outweighs the brain once the skull base separates them.
pub fn brain_piece(components: &Components, dims: [usize; 3]) -> Option<u32> {
    let largest = components.sizes.iter().copied().max()?;
    let plane = dims[0] * dims[1];
    let mut height = vec![0f64; components.count()];
    for (i, &l) in components.labels.iter().enumerate() {
        if l > 0 {
            height[l as usize - 1] += (i / plane) as f64;
        }
    }
    (0..components.count())
        .filter(|&c| components.sizes[c] * 3 >= largest)
        .max_by(|&a, &b| {
            let centroid = |c: usize| height[c] / components.sizes[c] as f64;
            centroid(a).total_cmp(&centroid(b))
        })
        .map(|c| c as u32 + 1)
}

/// [`brain_mask`] of an image in stored voxel order on the grid `affine` / `dims`,
/// returned in the same order.
pub fn brain_mask_stored(data: &[f32], affine: &Affine, dims: [usize; 3]) -> Vec<bool> {
    let reorient = Reorientation::to_ras(affine, dims);
    let spacing = reorient.canonical_spacing(crate::volume::affine::voxel_sizes(affine));
    let brain = brain_mask(&reorient.forward(data), reorient.canonical_dims(), spacing);
    reorient.inverse(&brain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::dice;
    use crate::volume::index;

    /// A head phantom: a brain ellipsoid (WM core, GM rim, ventricle), a dark skull
    /// shell and a bright scalp shell, on 1 x 1 x 3 mm voxels.
    fn head() -> (Vec<f32>, Vec<bool>, [usize; 3]) {
        let dims = [80, 80, 20];
        let mut t1 = vec![0.0f32; 80 * 80 * 20];
        let mut brain = vec![false; t1.len()];
        for z in 0..20 {
            for y in 0..80 {
                for x in 0..80 {
                    let (dx, dy, dz) = (x as f64 - 40.0, y as f64 - 40.0, (z as f64 - 10.0) * 3.0);
                    let r = (dx * dx + dy * dy + dz * dz * 0.8).sqrt();
                    let i = index(dims, x, y, z);
                    t1[i] = if r < 6.0 {
                        20.0 // ventricle
                    } else if r < 22.0 {
                        100.0 // WM
                    } else if r < 27.0 {
                        65.0 // GM
                    } else if r < 28.0 {
                        25.0 // CSF
                    } else if r < 33.0 {
                        10.0 // skull
                    } else if r < 37.0 {
                        110.0 // scalp fat
                    } else {
                        0.0
                    };
                    brain[i] = r < 28.0;
                }
            }
        }
        (t1, brain, dims)
    }

    #[test]
    fn strips_skull_and_scalp_from_a_head_phantom() {
        let (t1, truth, dims) = head();
        let got = brain_mask(&t1, dims, [1.0, 1.0, 3.0]);
        let d = dice(&got, &truth);
        // The ellipsoid's smallest end slices (a few mm across) erode away.
        assert!(d > 0.93, "brain Dice {d}");
        // No scalp: the fat shell is outside.
        assert!(!got[index(dims, 40 + 35, 40, 10)]);
        // The ventricle is inside.
        assert!(got[index(dims, 40, 40, 10)]);
    }

    /// The head phantom above a neck: a solid block of bright tissue below the skull
    /// base, larger than the brain, as on scans that reach far down the neck.
    #[test]
    fn keeps_the_brain_above_a_larger_neck() {
        let (small, truth_small, d) = head();
        let dims = [d[0], d[1], d[2] + 12];
        let plane = d[0] * d[1];
        let mut t1 = vec![0.0f32; plane * dims[2]];
        let mut truth = vec![false; t1.len()];
        // The head's slices sit above 12 new ones: 10 of neck, then 2 of dark skull base.
        t1[12 * plane..].copy_from_slice(&small);
        truth[12 * plane..].copy_from_slice(&truth_small);
        for z in 0..10 {
            for y in 0..d[1] {
                for x in 0..d[0] {
                    let (dx, dy) = (x as f64 - 40.0, y as f64 - 40.0);
                    if (dx * dx + dy * dy).sqrt() < 36.0 {
                        t1[index(dims, x, y, z)] = 100.0;
                    }
                }
            }
        }
        let brain_voxels = truth.iter().filter(|&&b| b).count();
        let neck_voxels = t1[..10 * plane].iter().filter(|&&v| v > 0.0).count();
        assert!(
            neck_voxels > brain_voxels,
            "the neck must outweigh the brain"
        );
        let got = brain_mask(&t1, dims, [1.0, 1.0, 3.0]);
        let d = dice(&got, &truth);
        assert!(d > 0.9, "brain Dice {d}");
        assert!(got[..10 * plane].iter().all(|&b| !b), "neck kept");
    }

    #[test]
    fn keeps_a_stripped_brain_whole() {
        let (mut t1, truth, dims) = head();
        for (v, &b) in t1.iter_mut().zip(&truth) {
            if !b {
                *v = 0.0;
            }
        }
        let got = brain_mask(&t1, dims, [1.0, 1.0, 3.0]);
        let d = dice(&got, &truth);
        assert!(d > 0.93, "brain Dice {d}");
    }

    #[test]
    fn empty_image_gives_empty_mask() {
        let dims = [8, 8, 4];
        assert!(
            brain_mask(&vec![0.0; 256], dims, [1.0; 3])
                .iter()
                .all(|&b| !b)
        );
    }
}
