//! Brain extraction from a T1 that still has skull, scalp and neck.
//!
//! The WM network learned white matter on skull-stripped T1s, and its filter region is
//! cut to the brain, so scalp or muscle left in the brain become false positives that
//! survive the filter. Thresholds and erosion alone (the morphological fallback)
//! cannot tell the temporalis muscle from the temporal lobe beside it, or the scalp
//! over the vertex from the brain in a thick top slice. So the ICBM brain template is
//! placed on the head by an affine fit ([`template`]), and the brain's edge is found
//! by tissue intensity within a few millimetres of the placed template. The template
//! ships inside the binary, so the browser runs the same extraction.

pub mod template;

use crate::metrics::{Components, label_26};
use crate::tissue::kmeans_1d;
use crate::volume::crop::Crop;
use crate::volume::distance::within_mm;
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

/// The range of adult brain volumes (mL) a mask is believed in: extraction that keeps
/// scalp and muscle reaches 1,600-1,800 mL, one that loses a lobe falls below 900.
pub const PLAUSIBLE_BRAIN_ML: (f64, f64) = (900.0, 1600.0);

/// Whether a brain volume lies in [`PLAUSIBLE_BRAIN_ML`].
pub fn plausible_ml(ml: f64) -> bool {
    (PLAUSIBLE_BRAIN_ML.0..=PLAUSIBLE_BRAIN_ML.1).contains(&ml)
}

/// Correlation below which the template's fit is not believed (a scan too unlike a T1
/// head, or a head mostly outside the field of view): the extraction then relies on
/// morphology alone. The real heads here fit at 0.49 to 0.70.
pub const MIN_FIT_NCC: f64 = 0.4;

/// How far (mm) the brain may reach beyond the placed template: the fit's error at the
/// cortex, well short of the scalp (skull and scalp together are about 10 mm thick).
pub const GROWTH_MM: f64 = 2.0;

/// Depth (mm) inside the placed template's edge beyond which every voxel is brain,
/// whatever its intensity (CSF in the ventricles and sulci, dark lesions).
pub const CORE_MM: f64 = 5.0;

/// How the brain was found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// The T1 came skull-stripped: its own non-zero region, within reach of the
    /// template placed on it where it fits.
    Stripped,
    /// The template placed on the head, at this correlation, bounded the brain.
    Template {
        /// The fit's normalised cross-correlation.
        ncc: f64,
    },
    /// The template did not fit (correlation below [`MIN_FIT_NCC`]): morphology alone.
    Morphology,
}

impl Method {
    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            Method::Stripped => "stripped",
            Method::Template { .. } => "template",
            Method::Morphology => "morphology",
        }
    }

    /// The template's fit, when it placed the brain.
    pub fn fit(self) -> Option<f64> {
        match self {
            Method::Template { ncc } => Some(ncc),
            _ => None,
        }
    }
}

/// A brain mask and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    /// Brain voxels (the grid of the T1 given).
    pub mask: Vec<bool>,
    /// How.
    pub method: Method,
    /// The template's fit on the canonical grid, where it was believed (correlation at
    /// least [`MIN_FIT_NCC`]): where each template point lies in this scan.
    pub placement: Option<template::Placement>,
}

/// The brain of a T1 on the canonical grid (axial slices across the last axis, voxel
/// `spacing` in mm): a skull-stripped T1 keeps its own non-zero
/// region; with skull, the template placed on the head bounds the brain and tissue
/// intensity finds its edge; where the template does not fit, morphology alone. An
/// empty image gives an empty mask.
pub fn extract(t1: &[f32], dims: [usize; 3], spacing: [f64; 3]) -> Extraction {
    let Some(tissue) = Tissue::of(t1, dims) else {
        return Extraction {
            mask: vec![false; t1.len()],
            method: Method::Morphology,
            placement: None,
        };
    };
    let morphological = morphological(&tissue, dims, spacing);
    // An already stripped T1 (zero outside the brain) keeps its own brain: the
    // morphology would only shave its edges. "Stripped" T1s may still hold the face,
    // eyes and neck muscles, so the placed template trims what lies beyond its reach.
    let nonzero = t1.iter().filter(|&&v| v != 0.0).count();
    let kept = (0..t1.len())
        .filter(|&i| morphological[i] && t1[i] != 0.0)
        .count();
    let stripped = (t1.len() - nonzero) * 5 >= t1.len() && kept * 4 >= nonzero * 3;
    let placement = template::place(t1, &tissue.head, dims, spacing, !stripped)
        .filter(|p| p.ncc >= MIN_FIT_NCC);
    let placed = placement.map(|p| (p.ncc, template::brain_of(&p, dims, spacing)));
    match (stripped, placed) {
        (true, placed) => {
            let mut own: Vec<bool> = t1.iter().map(|&v| v != 0.0).collect();
            if let Some((_, placed)) = placed {
                let reach = within_mm(&placed, dims, spacing, CORE_MM);
                own.iter_mut().zip(reach).for_each(|(o, r)| *o &= r);
            }
            Extraction {
                mask: fill_holes_per_slice(&own, dims, 2),
                method: Method::Stripped,
                placement,
            }
        }
        (false, Some((ncc, placed))) => Extraction {
            mask: within_template(&tissue, &placed, dims, spacing),
            method: Method::Template { ncc },
            placement,
        },
        (false, None) => Extraction {
            mask: morphological,
            method: Method::Morphology,
            placement: None,
        },
    }
}

/// A T1's head and the tissue in it brighter than CSF and bone.
struct Tissue {
    head: Vec<bool>,
    tissue: Vec<bool>,
}

impl Tissue {
    /// `None` for an image with no foreground.
    fn of(t1: &[f32], dims: [usize; 3]) -> Option<Self> {
        let head = foreground_mask(t1, dims, 2);
        let values: Vec<f32> = (0..t1.len()).filter(|&i| head[i]).map(|i| t1[i]).collect();
        if values.is_empty() {
            return None;
        }
        // Three intensity classes in the head: CSF/bone/air, grey matter/muscle, white
        // matter/fat. Brain tissue is everything above the midpoint of the lower two.
        let p = |q| percentile(&values, q);
        let means = kmeans_1d(&values, [p(10.0), p(50.0), p(90.0)], 20);
        let threshold = 0.5 * (means[0] + means[1]);
        let tissue = (0..t1.len())
            .map(|i| head[i] && t1[i] > threshold)
            .collect();
        Some(Self { head, tissue })
    }
}

/// The brain as morphology alone finds it: tissue eroded in-plane until the bridges to
/// scalp, eyes and neck break, the brain's piece kept and grown back into tissue,
/// closed and hole-filled.
fn morphological(t: &Tissue, dims: [usize; 3], spacing: [f64; 3]) -> Vec<bool> {
    let core = erode_in_plane(&t.tissue, dims, spacing, EROSION_MM);
    let components = label_26(&core, dims);
    let Some(keep) = brain_piece(&components, dims) else {
        return vec![false; t.head.len()];
    };
    let core: Vec<bool> = components.labels.iter().map(|&l| l == keep).collect();
    // Grow back only into tissue, so the growth cannot jump the skull again.
    let grown = dilate_in_plane(&core, dims, spacing, EROSION_MM + 0.5);
    let brain: Vec<bool> = (0..core.len()).map(|i| grown[i] && t.tissue[i]).collect();
    close_and_fill(&brain, &t.head, dims, spacing)
}

/// The brain inside the placed template: the template's core ([`CORE_MM`] inside its
/// edge) as given, and the tissue up to [`GROWTH_MM`] beyond its edge that connects to
/// that core, closed and hole-filled so that sulci and ventricles belong to it. The
/// work is done in a box around the placed template, wide enough that the closing
/// never meets its edge.
fn within_template(t: &Tissue, placed: &[bool], dims: [usize; 3], spacing: [f64; 3]) -> Vec<bool> {
    let reach = GROWTH_MM + CLOSING_MM + 2.0;
    let margin = spacing.map(|s| (reach / s).ceil() as usize);
    let Some(crop) = Crop::around(placed, dims, margin) else {
        return vec![false; placed.len()];
    };
    let (placed, tissue, head) = (crop.cut(placed), crop.cut(&t.tissue), crop.cut(&t.head));
    let dims = crop.dims;
    let outer = within_mm(&placed, dims, spacing, GROWTH_MM);
    let outside: Vec<bool> = placed.iter().map(|&b| !b).collect();
    let inner: Vec<bool> = (within_mm(&outside, dims, spacing, CORE_MM).into_iter())
        .map(|near_outside| !near_outside)
        .collect();
    let candidate: Vec<bool> = (0..placed.len()).map(|i| tissue[i] && outer[i]).collect();
    let components = label_26(&candidate, dims);
    let mut touches = vec![false; components.count() + 1];
    for (i, &l) in components.labels.iter().enumerate() {
        if inner[i] {
            touches[l as usize] = true;
        }
    }
    touches[0] = false;
    let brain: Vec<bool> = (0..placed.len())
        .map(|i| (inner[i] && head[i]) || touches[components.labels[i] as usize])
        .collect();
    let closed = close_and_fill(&brain, &head, dims, spacing);
    let kept: Vec<bool> = (0..placed.len()).map(|i| closed[i] && outer[i]).collect();
    crop.paste(&kept, false)
}

/// Closing by [`CLOSING_MM`] in-plane, holes filled per slice, cut to the head.
fn close_and_fill(brain: &[bool], head: &[bool], dims: [usize; 3], spacing: [f64; 3]) -> Vec<bool> {
    let closed = erode_in_plane(
        &dilate_in_plane(brain, dims, spacing, CLOSING_MM),
        dims,
        spacing,
        CLOSING_MM,
    );
    let filled = fill_holes_per_slice(&closed, dims, 2);
    (0..brain.len()).map(|i| filled[i] && head[i]).collect()
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

/// The brain ([`extract`]) of an image in stored voxel order on the grid `affine` /
/// `dims`, returned in the same order.
pub fn brain_mask_stored(data: &[f32], affine: &Affine, dims: [usize; 3]) -> Vec<bool> {
    extract_stored(data, affine, dims).mask
}

/// [`extract`] on an image in stored voxel order on the grid `affine` / `dims`, the
/// mask returned in the same order.
pub fn extract_stored(data: &[f32], affine: &Affine, dims: [usize; 3]) -> Extraction {
    let reorient = Reorientation::to_ras(affine, dims);
    let spacing = reorient.canonical_spacing(crate::volume::affine::voxel_sizes(affine));
    let brain = extract(&reorient.forward(data), reorient.canonical_dims(), spacing);
    Extraction {
        mask: reorient.inverse(&brain.mask),
        ..brain
    }
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
        let got = extract(&t1, dims, [1.0, 1.0, 3.0]).mask;
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
        let got = extract(&t1, dims, [1.0, 1.0, 3.0]).mask;
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
        let got = extract(&t1, dims, [1.0, 1.0, 3.0]).mask;
        let d = dice(&got, &truth);
        assert!(d > 0.93, "brain Dice {d}");
    }

    #[test]
    fn empty_image_gives_empty_mask() {
        let dims = [8, 8, 4];
        assert!(
            extract(&vec![0.0; 256], dims, [1.0; 3])
                .mask
                .iter()
                .all(|&b| !b)
        );
    }
}
