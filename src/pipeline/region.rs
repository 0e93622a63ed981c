//! The white-matter filter's region: the WM network's map thresholded, hole-filled,
//! dilated, and cut to the brain slice by slice.

use super::MIN_WM_FRACTION_OF_BRAIN;
use crate::burden::Zones;
use crate::volume;

/// The WM region cut to the brain, slice by axial slice (canonical grid); slices where
/// it covers less than [`MIN_WM_FRACTION_OF_BRAIN`] of the brain take the brain
/// instead. Returns the region and the number of such slices.
pub fn within_brain(region: &[bool], brain: &[bool], dims: [usize; 3]) -> (Vec<bool>, usize) {
    let n = dims[0] * dims[1];
    let mut out = Vec::with_capacity(region.len());
    let mut fallback = 0;
    for (r, b) in region.chunks(n).zip(brain.chunks(n)) {
        let in_brain = b.iter().filter(|&&v| v).count();
        let wm = r.iter().zip(b).filter(|&(&r, &b)| r && b).count();
        if in_brain > 0 && (wm as f64) < MIN_WM_FRACTION_OF_BRAIN * in_brain as f64 {
            fallback += 1;
            out.extend_from_slice(b);
        } else {
            out.extend(r.iter().zip(b).map(|(&r, &b)| r && b));
        }
    }
    (out, fallback)
}

/// The WM region from WM probabilities (canonical grid): thresholded, holes filled in
/// each axial slice, then dilated in-plane by `dilation_mm`, so that lesions, which
/// are dark on T1 and may be missing from a plain WM mask, are kept; then what the
/// dilated white matter encloses is filled too, the lateral ventricles above all, so
/// that periventricular caps and rims, which line the ventricles and may reach into
/// them on thick slices, are kept whole.
pub fn wm_region(
    wm_prob: &[f32],
    dims: [usize; 3],
    spacing: [f64; 3],
    dilation_mm: f64,
) -> Vec<bool> {
    let mask: Vec<bool> = wm_prob.iter().map(|&p| p >= 0.5).collect();
    let filled = volume::fill_holes_per_slice(&mask, dims, 2);
    let dilated = volume::dilate_in_plane(&filled, dims, spacing, dilation_mm);
    volume::fill_holes_per_slice(&dilated, dims, 2)
}

/// The white-matter filter's region on the canonical grid: the WM network's map,
/// hole-filled, dilated and cut to the brain (see [`wm_region`], [`within_brain`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// Canonical voxels the filter keeps.
    pub voxels: Vec<bool>,
    /// Axial slices where the brain stood in for a WM map that covered too little of it.
    pub brain_fallback_slices: usize,
    /// Every voxel's zone for the burden by region, when the brain was found.
    pub zones: Option<Zones>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::index;

    /// White matter around a ventricle, open by a 2-voxel gap (deep grey matter, say):
    /// the dilation closes the gap, and the ventricle it then encloses is kept, with a
    /// rim lesion lining it; the far background stays out.
    #[test]
    fn the_region_keeps_what_the_dilated_white_matter_encloses() {
        let dims = [40, 40, 1];
        let mut prob = vec![0f32; 1600];
        for y in 0..40 {
            for x in 0..40 {
                let r = ((x as f64 - 20.0).powi(2) + (y as f64 - 20.0).powi(2)).sqrt();
                if (6.0..12.0).contains(&r) && !((19..=20).contains(&x) && y > 20) {
                    prob[index(dims, x, y, 0)] = 0.9;
                }
            }
        }
        let region = wm_region(&prob, dims, [1.0; 3], 2.0);
        assert!(region[index(dims, 20, 20, 0)], "the ventricle's centre");
        assert!(region[index(dims, 20, 25, 0)], "the rim beside the gap");
        assert!(!region[index(dims, 1, 1, 0)]);
        // Without the second filling, the centre, 6 voxels from the ring, stays out.
        let plain = volume::dilate_in_plane(
            &volume::fill_holes_per_slice(
                &prob.iter().map(|&p| p >= 0.5).collect::<Vec<_>>(),
                dims,
                2,
            ),
            dims,
            [1.0; 3],
            2.0,
        );
        assert!(!plain[index(dims, 20, 20, 0)]);
    }

    #[test]
    fn region_is_cut_to_the_brain_and_falls_back_where_wm_is_missing() {
        let dims = [4, 4, 2];
        // Brain: the left half of both slices (8 voxels each).
        let brain: Vec<bool> = (0..32).map(|i| i % 4 < 2).collect();
        let mut region = vec![false; 32];
        // Slice 0: WM on 3 brain voxels and on 2 voxels outside the brain.
        for i in [0, 1, 4, 2, 3] {
            region[i] = true;
        }
        // Slice 1: a single WM voxel, 1/8 < 15 % of the brain.
        region[16] = true;
        let (out, fallback) = within_brain(&region, &brain, dims);
        assert_eq!(fallback, 1);
        assert_eq!(
            &out[..16],
            (0..16).map(|i| [0, 1, 4].contains(&i)).collect::<Vec<_>>()
        );
        assert_eq!(&out[16..], &brain[16..]);
    }
}
