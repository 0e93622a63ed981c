//! The template brain placed on a head: the ICBM 2009a brain at 3 mm
//! (`weights/brain-template.nii.gz`, built by `scripts/brain-template.py`), fitted to the
//! T1 by an affine registration ([`crate::volume::register`]).
//!
//! The placed template is where the brain can be: it tells brain from the temporalis
//! muscle beside it, the scalp over the vertex in thick top slices and the orbits in
//! front, which thresholds and erosion cannot. It ships inside the binary (68 KB) so
//! that the browser runs the same extraction.

use std::sync::OnceLock;

use crate::volume::register::{self, Image, PARAMS, Point, Transform};
use crate::volume::{Affine, affine, distance, index, resample};

/// The template, as `scripts/brain-template.py` writes it: uint8, 0 outside the brain.
static BYTES: &[u8] = include_bytes!("../../weights/brain-template.nii.gz");

/// Width (mm) of the dark rim around the template's brain that the fit also matches:
/// the CSF and skull that the brain's edge must meet.
const RIM_MM: f64 = 6.0;

/// Scalp and skull over the vertex (mm): the brain's top lies about this far below the
/// head's.
const VERTEX_MM: f64 = 10.0;

/// Voxel size (mm) of the coarse scan the search starts on.
const COARSE_MM: f64 = 4.0;

/// Depth (mm) below the head's surface that the brain keeps to: scalp and skull.
const SKULL_MM: f64 = 6.0;

/// Weight of the share of the template's brain placed outside the skull against the
/// correlation: without it, a template swollen to the whole head also correlates, the
/// scalp's fat standing in for white matter and the air around the head for the CSF.
const OUTSIDE_WEIGHT: f64 = 2.0;

/// The first guesses tried: heights (mm) along the head's axis around the one the
/// head's top suggests (scans cut the vertex, or reach far down the neck), shifts (mm)
/// front to back, and sizes relative to the template.
const HEIGHTS_MM: [f64; 11] = [
    -40.0, -32.0, -24.0, -16.0, -8.0, 0.0, 8.0, 16.0, 24.0, 32.0, 40.0,
];
const SHIFTS_MM: [f64; 3] = [-10.0, 0.0, 10.0];
const SCALES: [f64; 3] = [0.85, 0.95, 1.05];

/// How many of the best first guesses the coarse search refines.
const REFINED: usize = 2;

/// The decoded template and what the fit needs of it.
struct Template {
    /// 1 inside the brain, 0 outside (interpolated for the placed mask).
    brain: Vec<f32>,
    /// The intensities (tests build heads from them).
    #[cfg(test)]
    intensity: Vec<f32>,
    dims: [usize; 3],
    spacing: [f64; 3],
    /// One point in four of the brain and its rim (the fine stage).
    fine: Vec<Point>,
    /// One point in eight (the coarse stage).
    coarse: Vec<Point>,
    /// Positions of one brain point in eight, for the inside-the-skull check.
    inside: Vec<[f64; 3]>,
    /// Brain centroid (mm).
    centre: [f64; 3],
    /// Top of the brain (mm).
    top: f64,
}

fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let v = crate::volume::io::decode(BYTES).expect("the shipped template decodes");
        let dims = v.dims;
        let spacing = affine::voxel_sizes(&v.geometry.affine);
        let inside: Vec<bool> = v.data.iter().map(|&x| x > 0.0).collect();
        let near = distance::within_mm(&inside, dims, spacing, RIM_MM);
        let image = Image::new(&v.data, dims, spacing);
        let (mut fine, mut coarse, mut brain_points) = (Vec::new(), Vec::new(), Vec::new());
        let (mut sum, mut n) = ([0.0; 3], 0.0);
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let at = index(dims, i, j, k);
                    let p = (image.mm(i, j, k), v.data[at]);
                    if inside[at] {
                        (0..3).for_each(|a| sum[a] += p.0[a]);
                        n += 1.0;
                    }
                    if near[at] && i % 2 == 0 && j % 2 == 0 {
                        fine.push(p);
                    }
                    if near[at] && i % 2 == 0 && j % 2 == 0 && k % 2 == 0 {
                        coarse.push((p.0, box_mean(&v.data, dims, [i, j, k])));
                        if inside[at] {
                            brain_points.push(p.0);
                        }
                    }
                }
            }
        }
        let shape = Shape::of(&inside, dims, spacing);
        Template {
            brain: inside.iter().map(|&b| f32::from(u8::from(b))).collect(),
            #[cfg(test)]
            intensity: v.data.clone(),
            dims,
            spacing,
            fine,
            coarse,
            inside: brain_points,
            centre: sum.map(|s| s / n),
            top: shape.top,
        }
    })
}

/// The mean of the 3x3x3 voxels around `v` (fewer at the edges): the coarse points'
/// values, as blurred as the coarse scan they are compared with.
fn box_mean(data: &[f32], dims: [usize; 3], v: [usize; 3]) -> f32 {
    let (mut sum, mut n) = (0f32, 0f32);
    for k in v[2].saturating_sub(1)..(v[2] + 2).min(dims[2]) {
        for j in v[1].saturating_sub(1)..(v[1] + 2).min(dims[1]) {
            for i in v[0].saturating_sub(1)..(v[0] + 2).min(dims[0]) {
                sum += data[index(dims, i, j, k)];
                n += 1.0;
            }
        }
    }
    sum / n
}

/// A mask's top, per-slice areas and centroids: what a first guess is made of.
struct Shape {
    /// Top of the highest slice with at least a tenth of the largest section (mm).
    top: f64,
    /// Per axial slice: area (mm²) and centroid (x, y in mm).
    sections: Vec<(f64, [f64; 2])>,
    slice_mm: f64,
}

impl Shape {
    fn of(mask: &[bool], dims: [usize; 3], spacing: [f64; 3]) -> Self {
        let plane = dims[0] * dims[1];
        let pixel = spacing[0] * spacing[1];
        let sections: Vec<(f64, [f64; 2])> = (mask.chunks(plane))
            .map(|s| {
                let (mut n, mut x, mut y) = (0usize, 0.0, 0.0);
                for (at, _) in s.iter().enumerate().filter(|&(_, &m)| m) {
                    n += 1;
                    x += (at % dims[0]) as f64 * spacing[0];
                    y += (at / dims[0]) as f64 * spacing[1];
                }
                let c = if n > 0 {
                    [x / n as f64, y / n as f64]
                } else {
                    [0.0; 2]
                };
                (n as f64 * pixel, c)
            })
            .collect();
        let largest = sections.iter().map(|s| s.0).fold(0.0, f64::max);
        let k = (sections.iter())
            .rposition(|s| s.0 >= 0.1 * largest)
            .unwrap_or(0);
        Self {
            top: (k as f64 + 0.5) * spacing[2],
            sections,
            slice_mm: spacing[2],
        }
    }

    /// The slice whose centre lies `depth` mm below the top.
    fn slice_below(&self, depth: f64) -> usize {
        let z = self.top - depth;
        ((z / self.slice_mm).floor().max(0.0) as usize).min(self.sections.len() - 1)
    }
}

/// The template brain placed on a scan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Template mm to scan mm (the scan's local frame: voxel index times spacing).
    pub affine: Affine,
    /// Correlation of the template's intensities and the scan's at the fit.
    pub ncc: f64,
    /// Share of the template's brain placed outside the skull (see [`SKULL_MM`]).
    pub escaped: f64,
}

/// Fits the template to a T1 on the canonical grid (`head` its foreground; `skull`
/// whether the T1 still has one around the brain, else it came stripped): first
/// guesses around the head's top and centre scored on a coarse copy of the scan, the
/// best few refined there with nine parameters (no shear), and the best of those with
/// all twelve on the scan itself. `None` when the head is empty.
pub fn place(
    t1: &[f32],
    head: &[bool],
    dims: [usize; 3],
    spacing: [f64; 3],
    skull: bool,
) -> Option<Placement> {
    let tpl = template();
    let (skull_mm, vertex_mm) = if skull {
        (SKULL_MM, VERTEX_MM)
    } else {
        (0.0, 0.0)
    };
    let shape = Shape::of(head, dims, spacing);
    if shape.sections.iter().all(|s| s.0 == 0.0) {
        return None;
    }
    // The head's centre in x and y over its upper part, where the face and neck are not.
    let upper = shape.slice_below(vertex_mm + 80.0)..=shape.slice_below(vertex_mm);
    let (mut cx, mut cy, mut w) = (0.0, 0.0, 0.0);
    for s in &shape.sections[upper] {
        cx += s.1[0] * s.0;
        cy += s.1[1] * s.0;
        w += s.0;
    }
    let (cx, cy) = if w > 0.0 {
        (cx / w, cy / w)
    } else {
        (tpl.centre[0], tpl.centre[1])
    };
    let scan = Image::new(t1, dims, spacing);
    let factor = spacing.map(|s| ((COARSE_MM / s).round() as usize).max(1));
    let (blurred, frame) = scan.block_mean(factor);
    let coarse = frame.with_data(&blurred);
    // Where the brain may lie: deeper than the scalp and skull, on the coarse grid
    // (the fit only asks which side of that depth a point is).
    let head_f32: Vec<f32> = head.iter().map(|&h| f32::from(u8::from(h))).collect();
    let (head_coarse, _) = Image::new(&head_f32, dims, spacing).block_mean(factor);
    let outside: Vec<bool> = head_coarse.iter().map(|&h| h < 0.5).collect();
    let within_skull: Vec<f32> = distance::distance_sq_mm(&outside, frame.dims, frame.spacing)
        .iter()
        .map(|&d| f32::from(u8::from(d > skull_mm * skull_mm)))
        .collect();
    let within_skull = frame.with_data(&within_skull);
    // The share of the template's brain placed in the scalp or outside the head.
    let escaped = |a: &Affine| {
        let out = (tpl.inside.iter())
            .filter(|&&p| within_skull.at_mm(affine::apply(a, p)) < 0.5)
            .count();
        out as f64 / tpl.inside.len() as f64
    };
    let mut guesses: Vec<(Transform, f64)> = Vec::new();
    for scale in SCALES {
        for dy in SHIFTS_MM {
            for dz in HEIGHTS_MM {
                let mut params = [0.0; PARAMS];
                (6..9).for_each(|p| params[p] = f64::ln(scale));
                let z = shape.top - vertex_mm - scale * (tpl.top - tpl.centre[2]) + dz;
                let t = Transform {
                    centre: tpl.centre,
                    origin: [cx, cy + dy, z],
                    params,
                };
                let a = t.affine();
                guesses.push((
                    t,
                    register::ncc(&tpl.coarse, &coarse, &a) - OUTSIDE_WEIGHT * escaped(&a),
                ));
            }
        }
    }
    guesses.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (start, _) = (guesses.iter().take(REFINED))
        .map(|&(t, _)| {
            let score =
                |a: &Affine| register::ncc(&tpl.coarse, &coarse, a) - OUTSIDE_WEIGHT * escaped(a);
            register::fit(score, t, 9, 3)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let score = |a: &Affine| register::ncc(&tpl.fine, &scan, a) - OUTSIDE_WEIGHT * escaped(a);
    let (fit, _) = register::fit(score, start, 12, 3);
    let affine = fit.affine();
    Some(Placement {
        affine,
        ncc: register::ncc(&tpl.fine, &scan, &affine),
        escaped: escaped(&affine),
    })
}

/// The placed template's brain on the scan's grid (canonical): voxels whose
/// interpolated template brain is at least one half.
pub fn brain_of(placement: &Placement, dims: [usize; 3], spacing: [f64; 3]) -> Vec<bool> {
    let tpl = template();
    let inverse = affine::invert(&placement.affine).expect("a fitted affine is invertible");
    let mut out = vec![false; dims.iter().product()];
    for k in 0..dims[2] {
        for j in 0..dims[1] {
            for i in 0..dims[0] {
                let p = [
                    i as f64 * spacing[0],
                    j as f64 * spacing[1],
                    k as f64 * spacing[2],
                ];
                let q = affine::apply(&inverse, p);
                let v = [0, 1, 2].map(|a| q[a] / tpl.spacing[a]);
                out[index(dims, i, j, k)] =
                    resample::trilinear(&tpl.brain, tpl.dims, v).is_some_and(|b| b >= 0.5);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic head's T1, its brain and its scalp's fat, on its grid.
    pub(crate) struct Head {
        pub t1: Vec<f32>,
        pub brain: Vec<bool>,
        pub scalp: Vec<bool>,
        pub dims: [usize; 3],
        pub spacing: [f64; 3],
    }

    /// The template's brain volume (mm³) in its own space.
    fn template_brain_mm3() -> f64 {
        let tpl = template();
        tpl.brain.iter().filter(|&&b| b > 0.0).count() as f64 * tpl.spacing.iter().product::<f64>()
    }

    /// A synthetic head: the template's brain under a known affine (smaller, shifted,
    /// turned), on a 1.5 x 1.5 x 3 mm grid, in a dark skull and a bright scalp.
    pub(crate) fn head() -> Head {
        let tpl = template();
        let (dims, spacing) = ([130, 150, 56], [1.5, 1.5, 3.0]);
        let truth_affine = Transform {
            centre: tpl.centre,
            origin: [100.0, 115.0, 80.0],
            params: [
                0.0, 0.0, 0.0, 0.1, 0.0, -0.08, -0.12, -0.1, -0.15, 0.0, 0.0, 0.0,
            ],
        }
        .affine();
        // The brain is the template's, placed by the known affine; its voxels take the
        // template's intensities.
        let truth = Placement {
            affine: truth_affine,
            ncc: 1.0,
            escaped: 0.0,
        };
        let brain = brain_of(&truth, dims, spacing);
        let inverse = affine::invert(&truth_affine).unwrap();
        let template_image = Image::new(&tpl.intensity, tpl.dims, tpl.spacing);
        let mut t1 = vec![0f32; dims.iter().product()];
        for (at, _) in brain.iter().enumerate().filter(|&(_, &b)| b) {
            let v = [
                at % dims[0],
                (at / dims[0]) % dims[1],
                at / (dims[0] * dims[1]),
            ];
            let p = [0, 1, 2].map(|a| v[a] as f64 * spacing[a]);
            t1[at] = template_image.at_mm(affine::apply(&inverse, p)).max(5.0);
        }
        let d = distance::distance_sq_mm(&brain, dims, spacing);
        let scalp = d.iter().map(|&d| d > 64.0 && d <= 225.0).collect();
        for (v, d) in t1.iter_mut().zip(d) {
            let d = d.sqrt();
            if d > 0.0 {
                *v = match d {
                    d if d <= 2.0 => 30.0,   // CSF
                    d if d <= 8.0 => 12.0,   // bone
                    d if d <= 13.0 => 230.0, // fat
                    d if d <= 15.0 => 120.0, // skin
                    _ => 0.0,
                };
            }
        }
        Head {
            t1,
            brain,
            scalp,
            dims,
            spacing,
        }
    }

    #[test]
    fn the_template_is_the_icbm_brain() {
        let ml = template_brain_mm3() / 1000.0;
        assert!((1800.0..2000.0).contains(&ml), "{ml} mL");
        assert!(!template().fine.is_empty() && template().coarse.len() < template().fine.len());
    }

    #[test]
    fn a_head_built_from_the_template_gets_its_brain_back() {
        let Head {
            t1,
            brain: truth,
            scalp,
            dims,
            spacing,
        } = head();
        let head: Vec<bool> = t1.iter().map(|&v| v > 0.0).collect();
        let placement = place(&t1, &head, dims, spacing, true).unwrap();
        assert!(placement.ncc > 0.8, "{placement:?}");
        assert!(placement.escaped < 0.01, "{placement:?}");
        let placed = brain_of(&placement, dims, spacing);
        let d = crate::metrics::dice(&placed, &truth);
        assert!(d > 0.95, "Dice of the placed template {d}");
        // The whole extraction: the brain, and none of the scalp's fat.
        let got = crate::brain::extract(&t1, dims, spacing);
        assert!(matches!(got.method, crate::brain::Method::Template { .. }));
        let d = crate::metrics::dice(&got.mask, &truth);
        assert!(d > 0.95, "Dice of the extraction {d}");
        assert!(
            !(0..t1.len()).any(|i| got.mask[i] && scalp[i]),
            "scalp kept"
        );
    }
}
