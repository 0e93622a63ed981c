//! Vascular lesion shapes from the `wmh2017/` labels, transplanted into the white matter
//! of real FLAIRs.
//!
//! [`super::synth`] puts real vascular lesion shapes on a contrast that only imitates
//! FLAIR. This goes the other way: a `wmh2017/` head's labels are carried onto a real
//! FLAIR, so the network sees periventricular caps, bands and deep spots against real
//! FLAIR grey matter, CSF, vessels and artefacts. The carrying goes through the brain
//! template that [`crate::brain`] places on both T1s (donor to template to recipient,
//! twelve affine parameters each), which puts a cap beside the recipient's ventricle
//! and a deep spot in its centrum semiovale. Only the recipient's white matter (its T1,
//! classified by [`crate::tissue`]) keeps a lesion: caps of an older donor's larger
//! ventricles would otherwise land in CSF. The lesions are painted at 1.3-1.9 x the
//! recipient's white matter on FLAIR (each its own level, as in
//! [`super::synth::Variation::Regional`]), with a soft edge and a few percent texture.

use anyhow::{Context, Result, bail};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};

use super::synth::{lesion_levels, soften};
use crate::volume::affine::{self, Affine};
use crate::volume::resample::{onto_grid, trilinear};
use crate::volume::{Reorientation, Volume, percentile};

/// Axis the canonical grid's axial slices run across.
const AXIAL: usize = 2;

/// Typical lesion brightness of a transplant (x white matter), drawn once per case.
const LEVEL: (f32, f32) = (1.3, 1.9);

/// Range of the standard deviation of each lesion's log brightness around the level.
const SPREAD: (f32, f32) = (0.05, 0.2);

/// Range of the in-plane Gaussian width (voxels) of the lesions' soft edge.
const EDGE: (f32, f32) = (0.4, 0.9);

/// Least share of the FLAIR's grid the recipient's T1 must cover.
const MIN_COVERAGE: f64 = 0.5;

/// Fewest white-matter voxels for their median to stand for the recipient's white matter.
const MIN_WM: usize = 1000;

/// A FLAIR with transplanted lesions, in the recipient's stored voxel order.
#[derive(Debug, Clone)]
pub struct Transplant {
    /// The recipient's FLAIR with the donor's lesions painted in.
    pub flair: Vec<f32>,
    /// The voxels that became lesion (the recipient's own lesions not included).
    pub lesion: Vec<bool>,
    /// The typical lesion brightness drawn, x white matter.
    pub level: f32,
}

/// A scan on its canonical grid, with the template's placement on it.
struct Placed {
    reorient: Reorientation,
    dims: [usize; 3],
    spacing: [f64; 3],
    /// Template mm to this grid's mm (voxel index times spacing).
    placement: Affine,
    /// The brain (canonical order).
    brain: Vec<bool>,
    /// The T1, canonical order.
    t1: Vec<f32>,
}

impl Placed {
    fn of(t1: &Volume, what: &str) -> Result<Self> {
        let reorient = Reorientation::to_ras(&t1.geometry.affine, t1.dims);
        let dims = reorient.canonical_dims();
        let spacing = reorient.canonical_spacing(t1.geometry.voxel_sizes());
        let canonical = reorient.forward(&t1.data);
        let brain = crate::brain::extract(&canonical, dims, spacing);
        let Some(placement) = brain.placement else {
            bail!("{what}: the brain template does not fit its T1, so lesions cannot be carried");
        };
        Ok(Self {
            reorient,
            dims,
            spacing,
            placement: placement.affine,
            brain: brain.mask,
            t1: canonical,
        })
    }

    /// The white matter of the T1 (canonical order), classified within the brain as
    /// `tissue` classifies a skull-stripped T1.
    fn white_matter(&self) -> Result<Vec<bool>> {
        let stripped: Vec<f32> = (self.t1.iter().zip(&self.brain))
            .map(|(&v, &b)| if b { v } else { 0.0 })
            .collect();
        let tissue =
            crate::tissue::classify(&stripped, self.dims, &self.brain, &Default::default())
                .context("recipient's T1: tissue classification")?;
        Ok(tissue
            .labels
            .iter()
            .map(|&t| t == crate::tissue::WM)
            .collect())
    }
}

/// `donor` (a mask or any field on the donor's canonical grid, `donor_spacing` mm) carried
/// onto a recipient's canonical grid: each recipient voxel's position goes to template
/// mm by the inverse of `recipient_placement` and on to the donor by `donor_placement`,
/// where the donor is read trilinearly (0 outside its grid).
pub fn carry(
    donor: &[f32],
    donor_dims: [usize; 3],
    donor_spacing: [f64; 3],
    donor_placement: &Affine,
    dims: [usize; 3],
    spacing: [f64; 3],
    recipient_placement: &Affine,
) -> Result<Vec<f32>> {
    let Some(to_template) = affine::invert(recipient_placement) else {
        bail!("the template's placement on the recipient is singular");
    };
    let mut out = vec![0f32; dims.iter().product()];
    for (v, o) in out.iter_mut().enumerate() {
        let (i, j, k) = (
            v % dims[0],
            (v / dims[0]) % dims[1],
            v / (dims[0] * dims[1]),
        );
        let here = [
            i as f64 * spacing[0],
            j as f64 * spacing[1],
            k as f64 * spacing[2],
        ];
        let there = affine::apply(donor_placement, affine::apply(&to_template, here));
        let at = [0, 1, 2].map(|a| there[a] / donor_spacing[a]);
        *o = trilinear(donor, donor_dims, at).unwrap_or(0.0);
    }
    Ok(out)
}

/// `flair` with each voxel moved toward `bright` by its lesion share `soft` (0-1), and
/// never darkened: a lesion over a brighter voxel (an existing lesion, a vessel) leaves
/// it as it was.
pub fn paint(flair: &[f32], soft: &[f32], bright: &[f32]) -> Vec<f32> {
    (flair.iter().zip(soft).zip(bright))
        .map(|((&f, &s), &b)| f + s.clamp(0.0, 1.0) * (b - f).max(0.0))
        .collect()
}

/// The donor's lesions (`donor_lesion` on `donor_t1`'s grid) painted into the
/// recipient's white matter on its FLAIR (`flair`, with its own lesions `lesion` and
/// its T1, resampled onto the FLAIR's grid). `seed` draws the brightness, edge and texture.
pub fn transplant(
    flair: &Volume,
    t1: &Volume,
    lesion: &[bool],
    donor_t1: &Volume,
    donor_lesion: &[bool],
    seed: u64,
) -> Result<Transplant> {
    // On the FLAIR's grid, as inference puts it.
    let resampled = onto_grid(t1, flair.dims, &flair.geometry.affine);
    if resampled.coverage < MIN_COVERAGE {
        bail!(
            "the recipient's T1 covers {:.0} % of its FLAIR's grid",
            resampled.coverage * 100.0
        );
    }
    let t1 = Volume {
        dims: flair.dims,
        data: resampled.data,
        geometry: flair.geometry.clone(),
    };
    let recipient = Placed::of(&t1, "recipient")?;
    let donor = Placed::of(donor_t1, "donor")?;
    let mask: Vec<f32> = (donor.reorient.forward(donor_lesion).iter())
        .map(|&l| f32::from(u8::from(l)))
        .collect();
    let carried = carry(
        &mask,
        donor.dims,
        donor.spacing,
        &donor.placement,
        recipient.dims,
        recipient.spacing,
        &recipient.placement,
    )?;
    let wm = recipient.white_matter()?;
    let added: Vec<bool> = (carried.iter().zip(&wm))
        .map(|(&c, &w)| w && c >= 0.5)
        .collect();

    let image = recipient.reorient.forward(&flair.data);
    let own = recipient.reorient.forward(lesion);
    let background: Vec<f32> = (0..image.len())
        .filter(|&v| wm[v] && !own[v] && !added[v])
        .map(|v| image[v])
        .collect();
    if background.len() < MIN_WM {
        bail!(
            "recipient: {} white-matter voxels, too few to set the lesions' brightness",
            background.len()
        );
    }
    let white = percentile(&background, 50.0);
    let (painted, level) = paint_lesions(&image, &added, recipient.dims, white, seed);
    Ok(Transplant {
        flair: recipient.reorient.inverse(&painted),
        lesion: recipient.reorient.inverse(&added),
        level,
    })
}

/// `image` (canonical grid `dims`) with the `added` lesions painted at a level drawn
/// from `seed` times the white matter's intensity `white`, each lesion its own level,
/// with a soft in-plane edge and texture; and the level drawn.
fn paint_lesions(
    image: &[f32],
    added: &[bool],
    dims: [usize; 3],
    white: f32,
    seed: u64,
) -> (Vec<f32>, f32) {
    let mut rng = StdRng::seed_from_u64(seed);
    let level = rng.random_range(LEVEL.0..LEVEL.1);
    let spread = rng.random_range(SPREAD.0..SPREAD.1);
    let edge = rng.random_range(EDGE.0..EDGE.1);
    // The labelled voxels' edge, not the carried field's: a faint partial-volume rim
    // painted without a label would teach the network to miss faint lesions.
    let mask: Vec<f32> = added.iter().map(|&a| f32::from(u8::from(a))).collect();
    let soft = soften(&mask, dims, AXIAL, edge);
    // Blurred levels over the blurred mask: each lesion's own brightness out to its edge.
    let levels = soften(
        &lesion_levels(added, dims, level, spread, &mut rng),
        dims,
        AXIAL,
        edge,
    );
    let texture = Normal::new(1.0f32, 0.05).expect("finite sd");
    let bright: Vec<f32> = (levels.iter().zip(&soft))
        .map(|(&l, &s)| {
            let own = if s > 1e-6 { l / s } else { level };
            white * own * texture.sample(&mut rng)
        })
        .collect();
    (paint(image, &soft, &bright), level)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A translation by `t` mm as an affine.
    fn shift(t: [f64; 3]) -> Affine {
        [
            [1.0, 0.0, 0.0, t[0]],
            [0.0, 1.0, 0.0, t[1]],
            [0.0, 0.0, 1.0, t[2]],
        ]
    }

    fn cube(dims: [usize; 3], lo: [usize; 3], hi: [usize; 3]) -> Vec<f32> {
        let mut v = vec![0f32; dims.iter().product()];
        for k in lo[2]..hi[2] {
            for j in lo[1]..hi[1] {
                for i in lo[0]..hi[0] {
                    v[crate::volume::index(dims, i, j, k)] = 1.0;
                }
            }
        }
        v
    }

    #[test]
    fn carrying_between_equal_placements_is_the_identity() {
        let dims = [12, 10, 8];
        let mask = cube(dims, [3, 2, 2], [7, 5, 4]);
        let place = shift([5.0, -3.0, 2.0]);
        let out = carry(
            &mask,
            dims,
            [1.0, 1.0, 3.0],
            &place,
            dims,
            [1.0, 1.0, 3.0],
            &place,
        )
        .unwrap();
        assert_eq!(out, mask);
    }

    #[test]
    fn carrying_follows_both_placements_and_spacings() {
        // The template point at mm p lies at p + 4 mm (x) in the donor and at p in the
        // recipient; the donor has 2 mm voxels along x, the recipient 1 mm. So recipient
        // voxel x (x mm) reads donor mm x + 4, donor voxel (x + 4) / 2.
        let (dd, rd) = ([10, 6, 6], [16, 6, 6]);
        let mask = cube(dd, [4, 2, 2], [6, 4, 4]); // donor x 8-10 mm
        let out = carry(
            &mask,
            dd,
            [2.0, 1.0, 1.0],
            &shift([4.0, 0.0, 0.0]),
            rd,
            [1.0, 1.0, 1.0],
            &shift([0.0, 0.0, 0.0]),
        )
        .unwrap();
        let at = |i| out[crate::volume::index(rd, i, 3, 3)];
        // Donor mm 8 and 10 (voxels 4, 5) are inside: recipient x 4..=6 fully.
        for i in 4..=6 {
            assert_eq!(at(i), 1.0, "x {i}");
        }
        // Half a donor voxel out, trilinear gives partial volume; further, nothing.
        assert!((at(3) - 0.5).abs() < 1e-6, "{}", at(3));
        assert!((at(7) - 0.5).abs() < 1e-6, "{}", at(7));
        assert_eq!(at(1), 0.0);
        assert_eq!(at(9), 0.0);
        // Off the lesion's rows, nothing.
        assert_eq!(out[crate::volume::index(rd, 5, 0, 3)], 0.0);
    }

    #[test]
    fn painting_brightens_toward_the_level_and_never_darkens() {
        let flair = [1.0, 1.0, 3.0, 1.0];
        let soft = [0.0, 0.5, 1.0, 1.0];
        let bright = [2.0, 2.0, 2.0, 2.0];
        assert_eq!(paint(&flair, &soft, &bright), vec![1.0, 1.5, 3.0, 2.0]);
    }

    #[test]
    fn a_transplant_paints_the_donors_lesions_into_white_matter_only() {
        // Two phantoms of one anatomy with different lesions: the template lands alike
        // on both, so the donor's lesions should come back where they were.
        let recipient = crate::phantom::example();
        let geometry = &recipient.t1.geometry;
        let donor = crate::phantom::generate(recipient.t1.dims, geometry.affine, 11);
        let own: Vec<bool> = recipient.lesions.iter().map(|&l| l > 0).collect();
        let given: Vec<bool> = donor.lesions.iter().map(|&l| l > 0).collect();
        let t = transplant(&recipient.flair, &recipient.t1, &own, &donor.t1, &given, 3).unwrap();
        let count = |m: &[bool]| m.iter().filter(|&&l| l).count();
        let added = count(&t.lesion);
        let both = (t.lesion.iter().zip(&given))
            .filter(|&(&a, &b)| a && b)
            .count();
        assert!(
            added * 2 > count(&given),
            "{added} of {} carried",
            count(&given)
        );
        assert!(
            both * 5 >= added * 4,
            "{both} of {added} where the donor had them"
        );
        let outside_wm =
            (t.lesion.iter().zip(&recipient.white_matter)).filter(|&(&a, &w)| a && w == 0);
        assert_eq!(outside_wm.count(), 0);
        assert!((LEVEL.0..LEVEL.1).contains(&t.level));
        // Brighter where painted, never darker, and untouched beyond the soft edge.
        let before = &recipient.flair.data;
        let near = crate::volume::dilate_in_plane(
            &t.lesion,
            recipient.t1.dims,
            geometry.voxel_sizes(),
            4.0, // the soft edge reaches 3 voxels along each in-plane axis
        );
        for (v, (&a, &b)) in t.flair.iter().zip(before).enumerate() {
            assert!(a >= b, "voxel {v} darkened");
            assert!(a == b || near[v], "voxel {v} changed away from the lesions");
        }
        let mean = |img: &[f32]| {
            (0..img.len())
                .filter(|&v| t.lesion[v])
                .map(|v| f64::from(img[v]))
                .sum::<f64>()
                / added as f64
        };
        assert!(
            mean(&t.flair) > 1.1 * mean(before),
            "{} vs {}",
            mean(&t.flair),
            mean(before)
        );
    }

    #[test]
    fn a_recipient_t1_away_from_its_flair_is_refused() {
        let recipient = crate::phantom::example();
        let mut elsewhere = recipient.t1.clone();
        elsewhere.geometry.affine[0][3] += 500.0;
        let own: Vec<bool> = recipient.lesions.iter().map(|&l| l > 0).collect();
        let err =
            transplant(&recipient.flair, &elsewhere, &own, &recipient.t1, &own, 3).unwrap_err();
        assert!(err.to_string().contains("covers 0 %"), "{err}");
    }
}
