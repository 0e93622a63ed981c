//! Where the WMH lie: the burden split into periventricular, deep, juxtacortical and
//! infratentorial white matter, the way a radiologist reads a FLAIR (Fazekas' split of
//! periventricular against deep WMH; for MS, the McDonald locations).
//!
//! The regions come from what the pipeline already has when a T1 is given: the brain
//! found in the T1 and the WM network's white matter, on the canonical (RAS) grid. No
//! atlas or registration is involved, so the split runs the same in the browser.
//!
//! - **Ventricles**: brain that is CSF-dark on both the T1 and the FLAIR, deeper than
//!   [`SURFACE_MM`] under the brain's surface and in its central box (the middle half
//!   of its width, 70 % of its length, less [`MIDLINE_MM`] either side of the midline,
//!   where the fissure between the hemispheres runs), in pieces of at least
//!   [`MIN_VENTRICLE_ML`] (and a tenth of the largest piece).
//! - **Periventricular**: within [`PERIVENTRICULAR_MM`] of the ventricles (the "10 mm
//!   rule" of DeCarli et al. 2005 and Griffanti et al. 2018).
//! - **Juxtacortical**: within [`JUXTACORTICAL_MM`] of the white matter's outer surface
//!   (its border with the cortex), or outside the white matter altogether.
//! - **Infratentorial**: below the tentorium (cerebellum and brainstem), placed in a
//!   frame scaled from the brain's extents onto the MNI-152 brain's (see [`Frame`]).
//! - **Deep**: every other brain voxel.
//!
//! A voxel takes the first of infratentorial, periventricular, juxtacortical that
//! applies, else deep, so the four volumes add up to the total.

use serde::Serialize;

use crate::metrics::label_26;
use crate::tissue::kmeans_1d;
use crate::volume::distance::within_mm;
use crate::volume::{fill_holes_per_slice, percentile};

/// Distance (mm) from the ventricles within which white matter is periventricular.
pub const PERIVENTRICULAR_MM: f64 = 10.0;
/// Distance (mm) from the white matter's outer surface within which it is juxtacortical.
pub const JUXTACORTICAL_MM: f64 = 3.0;
/// Depth (mm) under the brain's outer surface that CSF must lie below to be taken for
/// a ventricle: most of the sulci and cisterns are shallower, the lateral ventricles
/// lie 20 mm and more deep.
pub const SURFACE_MM: f64 = 8.0;
/// Share of the brain's left-right extent, about its middle, that the lateral
/// ventricles lie in (their outer walls are about 25 mm either side of the midline,
/// the brain about 140 mm wide).
pub const CENTRAL_WIDTH: f64 = 0.5;
/// Half-width (mm) of the midline band left out of the ventricles: the fissure
/// between the hemispheres is CSF-dark and deep, the septum between the ventricles thin.
pub const MIDLINE_MM: f64 = 4.0;
/// Share of the brain's front-back extent, about its middle, that the lateral
/// ventricles (frontal horns to the atria) lie in.
pub const CENTRAL_LENGTH: f64 = 0.7;
/// Smallest piece of deep, central CSF (mL) taken for a ventricle; smaller dark pockets
/// are perivascular spaces, T1-dark lesions or noise.
pub const MIN_VENTRICLE_ML: f64 = 0.5;

/// A region of the white matter that WMH are reported by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Zone {
    /// Within [`PERIVENTRICULAR_MM`] of the lateral ventricles.
    Periventricular = 1,
    /// Supratentorial white matter away from the ventricles and the cortex.
    Deep = 2,
    /// Next to the cortex.
    Juxtacortical = 3,
    /// Cerebellum and brainstem.
    Infratentorial = 4,
}

impl Zone {
    /// Every zone, in the order reports list them.
    pub const ALL: [Zone; 4] = [
        Zone::Periventricular,
        Zone::Deep,
        Zone::Juxtacortical,
        Zone::Infratentorial,
    ];

    /// The zone a code of [`Zones::codes`] stands for (0 and unknown codes: none).
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|z| *z as u8 == code)
    }

    /// The zone's name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Zone::Periventricular => "periventricular",
            Zone::Deep => "deep",
            Zone::Juxtacortical => "juxtacortical",
            Zone::Infratentorial => "infratentorial",
        }
    }
}

/// What the regions are computed from, all on one canonical grid (axis 2 superior).
#[derive(Debug, Clone, Copy)]
pub struct Anatomy<'a> {
    /// The brain found in the T1.
    pub brain: &'a [bool],
    /// The WM network's white matter (probability at least 0.5).
    pub white_matter: &'a [bool],
    /// The T1 (any monotone normalisation).
    pub t1: &'a [f32],
    /// The FLAIR (any monotone normalisation).
    pub flair: &'a [f32],
    /// Grid extents.
    pub dims: [usize; 3],
    /// Voxel spacing, mm.
    pub spacing: [f64; 3],
}

/// Every voxel's zone code (0 outside the brain, else a [`Zone`]) and which zones could
/// be placed at all.
#[derive(Debug, Clone, PartialEq)]
pub struct Zones {
    /// Per voxel: 0 outside the brain, else `Zone as u8`.
    pub codes: Vec<u8>,
    /// Volume of the ventricles found (mL); 0 when none were, and then no voxel is
    /// periventricular.
    pub ventricles_ml: f64,
    /// Whether the infratentorial frame could be anchored (see [`Frame::of`]); when
    /// not, no voxel is infratentorial.
    pub infratentorial: bool,
}

impl Zones {
    /// Places every brain voxel in its zone.
    pub fn of(a: &Anatomy) -> Self {
        let voxel_ml = a.spacing.iter().product::<f64>() / 1000.0;
        let ventricles = ventricles(a, voxel_ml);
        let ventricles_ml = ventricles.iter().filter(|&&v| v).count() as f64 * voxel_ml;
        let near_ventricles = within_mm(&ventricles, a.dims, a.spacing, PERIVENTRICULAR_MM);
        let enclosed = fill_holes_per_slice(a.white_matter, a.dims, 2);
        let outside: Vec<bool> = enclosed.iter().map(|&e| !e).collect();
        let near_cortex = within_mm(&outside, a.dims, a.spacing, JUXTACORTICAL_MM);
        let frame = Frame::of(a.brain, a.dims, a.spacing);
        let codes = (0..a.brain.len())
            .map(|v| {
                let zone = if !a.brain[v] {
                    return 0;
                } else if frame.is_some_and(|f| f.infratentorial(v, a.dims, a.spacing)) {
                    Zone::Infratentorial
                } else if near_ventricles[v] {
                    Zone::Periventricular
                } else if near_cortex[v] {
                    Zone::Juxtacortical
                } else {
                    Zone::Deep
                };
                zone as u8
            })
            .collect();
        Self {
            codes,
            ventricles_ml,
            infratentorial: frame.is_some(),
        }
    }
}

/// The ventricles: CSF-dark brain (on the T1 and the FLAIR) deeper than [`SURFACE_MM`]
/// under the brain's surface and in the brain's central box (see [`central`]), in pieces
/// large enough to be ventricles. Neither the WM network's map nor an atlas is needed:
/// on thick slices the map may cover the ventricles or fail to enclose them.
fn ventricles(a: &Anatomy, voxel_ml: f64) -> Vec<bool> {
    let brain = &framed_slices(a.brain, a.dims, a.spacing);
    let (t1_csf, flair_csf) = (csf_below(a.t1, brain), csf_below(a.flair, brain));
    let outside: Vec<bool> = brain.iter().map(|&b| !b).collect();
    let shallow = within_mm(&outside, a.dims, a.spacing, SURFACE_MM);
    let central = central(brain, a.dims, a.spacing[0]);
    let candidate: Vec<bool> = (0..brain.len())
        .map(|v| {
            brain[v] && !shallow[v] && central[v] && a.t1[v] < t1_csf && a.flair[v] < flair_csf
        })
        .collect();
    let pieces = label_26(&candidate, a.dims);
    let largest = pieces.sizes.iter().copied().max().unwrap_or(0);
    let kept: Vec<bool> = (pieces.sizes.iter())
        .map(|&n| n as f64 * voxel_ml >= MIN_VENTRICLE_ML && n * 10 >= largest)
        .collect();
    (pieces.labels.iter())
        .map(|&l| l > 0 && kept[l as usize - 1])
        .collect()
}

/// The brain's central box, where the lateral ventricles lie: the middle
/// [`CENTRAL_WIDTH`] of its left-right extent and [`CENTRAL_LENGTH`] of its
/// front-back extent (the insular cisterns and the sulci lie outside it), without the
/// [`MIDLINE_MM`] either side of its middle, where the interhemispheric fissure runs
/// deep between the hemispheres (the septum parts the lateral ventricles there).
fn central(brain: &[bool], dims: [usize; 3], x_mm: f64) -> Vec<bool> {
    let mut lo = [usize::MAX; 2];
    let mut hi = [0usize; 2];
    for v in (0..brain.len()).filter(|&v| brain[v]) {
        let at = [v % dims[0], (v / dims[0]) % dims[1]];
        for a in 0..2 {
            lo[a] = lo[a].min(at[a]);
            hi[a] = hi[a].max(at[a]);
        }
    }
    let inside = |a: usize, at: usize, share: f64| {
        let (l, h) = (lo[a] as f64, hi[a] as f64);
        let half = 0.5 * share * (h - l);
        ((at as f64) - 0.5 * (l + h)).abs() <= half
    };
    (0..brain.len())
        .map(|v| {
            let at = [v % dims[0], (v / dims[0]) % dims[1]];
            let midline = ((at[0] as f64) - 0.5 * (lo[0] + hi[0]) as f64).abs() * x_mm;
            lo[0] != usize::MAX
                && midline >= MIDLINE_MM
                && inside(0, at[0], CENTRAL_WIDTH)
                && inside(1, at[1], CENTRAL_LENGTH)
        })
        .collect()
}

/// Largest axial section (mm²) a brain has: about 150 x 180 mm at its widest, as an
/// ellipse, with room to spare. Larger "brain" slices are background or scalp.
const MAX_BRAIN_SECTION_MM2: f64 = 30_000.0;

/// The brain without the axial slices where the extraction plainly kept background or
/// scalp (the slice touches the grid's border, or is larger than a brain's section),
/// whose darkness would pass for CSF.
fn framed_slices(brain: &[bool], dims: [usize; 3], spacing: [f64; 3]) -> Vec<bool> {
    let (nx, ny) = (dims[0], dims[1]);
    let pixel_mm2 = spacing[0] * spacing[1];
    let mut out = brain.to_vec();
    for slice in out.chunks_mut(nx * ny) {
        let border = (0..nx).any(|i| slice[i] || slice[(ny - 1) * nx + i])
            || (0..ny).any(|j| slice[j * nx] || slice[j * nx + nx - 1]);
        let area = slice.iter().filter(|&&b| b).count() as f64 * pixel_mm2;
        if border || area > MAX_BRAIN_SECTION_MM2 {
            slice.fill(false);
        }
    }
    out
}

/// The intensity below which a brain voxel is CSF: midway between the darkest and the
/// middle of three intensity classes in the brain (CSF, grey and white matter on T1;
/// CSF, tissue and lesion on FLAIR).
fn csf_below(image: &[f32], brain: &[bool]) -> f32 {
    let values: Vec<f32> = (0..image.len())
        .filter(|&v| brain[v])
        .map(|v| image[v])
        .collect();
    if values.is_empty() {
        return f32::NEG_INFINITY;
    }
    let p = |q| percentile(&values, q);
    let means = kmeans_1d(&values, [p(5.0), p(50.0), p(95.0)], 20);
    0.5 * (means[0] + means[1])
}

/// The MNI-152 brain's extents (mm), measured on the ICBM 2009a template's grey plus
/// white matter (probability over 0.3): posterior and anterior ends, and the vertex.
const MNI_POSTERIOR: f64 = -106.0;
const MNI_ANTERIOR: f64 = 74.0;
const MNI_VERTEX: f64 = 82.0;

/// A brain-scaled stand-in for MNI coordinates, anchored at the brain's posterior and
/// anterior ends, its left-right middle and its vertex, so that the tentorium can be
/// placed by its MNI position without registration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Canonical mm of the brain's left-right middle, posterior end and vertex.
    origin: [f64; 3],
    /// MNI mm per canonical mm.
    scale: f64,
}

impl Frame {
    /// The frame of a brain on the canonical grid; none when the brain reaches the
    /// grid's top slice or its front or back edge (the anchors are then cut off), or
    /// when there is no brain.
    pub fn of(brain: &[bool], dims: [usize; 3], spacing: [f64; 3]) -> Option<Self> {
        let mut lo = [usize::MAX; 3];
        let mut hi = [0usize; 3];
        for (v, _) in brain.iter().enumerate().filter(|(_, b)| **b) {
            let at = [
                v % dims[0],
                (v / dims[0]) % dims[1],
                v / (dims[0] * dims[1]),
            ];
            for a in 0..3 {
                lo[a] = lo[a].min(at[a]);
                hi[a] = hi[a].max(at[a]);
            }
        }
        let cut = lo[0] == usize::MAX || lo[1] == 0 || hi[1] + 1 == dims[1] || hi[2] + 1 == dims[2];
        if cut || hi[1] == lo[1] {
            return None;
        }
        let length = (hi[1] - lo[1]) as f64 * spacing[1];
        Some(Self {
            origin: [
                0.5 * (lo[0] + hi[0]) as f64 * spacing[0],
                lo[1] as f64 * spacing[1],
                hi[2] as f64 * spacing[2],
            ],
            scale: (MNI_ANTERIOR - MNI_POSTERIOR) / length,
        })
    }

    /// Voxel `v`'s position in MNI-like mm.
    pub fn mni(&self, v: usize, dims: [usize; 3], spacing: [f64; 3]) -> [f64; 3] {
        let at = [
            v % dims[0],
            (v / dims[0]) % dims[1],
            v / (dims[0] * dims[1]),
        ];
        let mm = |a: usize| at[a] as f64 * spacing[a] - self.origin[a];
        [
            mm(0) * self.scale,
            MNI_POSTERIOR + mm(1) * self.scale,
            MNI_VERTEX + mm(2) * self.scale,
        ]
    }

    /// Whether voxel `v` lies below the tentorium (measured on the MNI-152 template):
    /// behind y −53 the tent's midline falls from z 5 to the torcular at 0.45 mm per mm,
    /// and it falls 0.6 mm per mm to the sides; in front of it, down to y −40, lies the
    /// cerebellum's top under the tent's apex. The brainstem's column (|x| < 15, y −40
    /// to −10, z < −15) is infratentorial too.
    pub fn infratentorial(&self, v: usize, dims: [usize; 3], spacing: [f64; 3]) -> bool {
        let [x, y, z] = self.mni(v, dims, spacing);
        let tent = (10.0 + 0.45 * (y + 53.0)).min(5.0) - 0.6 * x.abs();
        let cerebellum = y < -40.0 && z < tent;
        let brainstem = (-40.0..-10.0).contains(&y) && x.abs() < 15.0 && z < -15.0;
        cerebellum || brainstem
    }
}

/// WMH volume by zone (mL). A zone that could not be placed is `None`, and its
/// lesions count in the zones that could.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Burden {
    /// Within [`PERIVENTRICULAR_MM`] of the ventricles; none when no ventricles were found.
    pub periventricular_ml: Option<f64>,
    /// Deep white matter.
    pub deep_ml: f64,
    /// Next to the cortex.
    pub juxtacortical_ml: f64,
    /// Cerebellum and brainstem; none when the brain's frame was cut off.
    pub infratentorial_ml: Option<f64>,
    /// Volume of the ventricles found, mL.
    pub ventricles_ml: f64,
}

impl Burden {
    /// The burden of a 0/1 `mask` on the grid of `zones`' codes.
    pub fn of(mask: &[u8], zones: &Zones, voxel_ml: f64) -> Self {
        let mut counts = [0usize; 5];
        for (&m, &c) in mask.iter().zip(&zones.codes) {
            if m > 0 {
                counts[usize::from(c.min(4))] += 1;
            }
        }
        let ml = |z: Zone| counts[z as usize] as f64 * voxel_ml;
        Self {
            periventricular_ml: (zones.ventricles_ml > 0.0).then(|| ml(Zone::Periventricular)),
            // Mask voxels outside the brain (only without the filter) are not white
            // matter near anything: they count as deep, so the zones sum to the total.
            deep_ml: ml(Zone::Deep) + counts[0] as f64 * voxel_ml,
            juxtacortical_ml: ml(Zone::Juxtacortical),
            infratentorial_ml: zones.infratentorial.then(|| ml(Zone::Infratentorial)),
            ventricles_ml: zones.ventricles_ml,
        }
    }

    /// A zone's volume, when it could be placed.
    pub fn ml(&self, zone: Zone) -> Option<f64> {
        match zone {
            Zone::Periventricular => self.periventricular_ml,
            Zone::Deep => Some(self.deep_ml),
            Zone::Juxtacortical => Some(self.juxtacortical_ml),
            Zone::Infratentorial => self.infratentorial_ml,
        }
    }
}

/// The zone most of a lesion's voxels lie in, from its voxel counts per zone code
/// (ties: the earlier in [`Zone::ALL`]); none when no voxel lies in the brain.
pub fn majority(counts: &[usize; 5]) -> Option<Zone> {
    Zone::ALL
        .into_iter()
        .filter(|z| counts[*z as usize] > 0)
        .max_by_key(|z| (counts[*z as usize], std::cmp::Reverse(*z as u8)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::index;

    const DIMS: [usize; 3] = [60, 72, 60];
    const SPACING: [f64; 3] = [2.5; 3];

    /// A head with known anatomy: an ellipsoid brain (semi-axes 65, 85, 68 mm) in the
    /// middle of the grid, white matter in its inner three quarters, two ventricles
    /// (8 x 40 x 20 mm each, 4 mm either side of the midline) as holes in it, CSF in the
    /// outer 3 mm of the brain, and a lesion in the deep white matter as dark on T1 as
    /// CSF but bright on FLAIR.
    struct Head {
        brain: Vec<bool>,
        white_matter: Vec<bool>,
        t1: Vec<f32>,
        flair: Vec<f32>,
    }

    /// Millimetres of voxel `v` from the grid's centre.
    fn mm(v: usize) -> [f64; 3] {
        let at = [
            v % DIMS[0],
            (v / DIMS[0]) % DIMS[1],
            v / (DIMS[0] * DIMS[1]),
        ];
        [0, 1, 2].map(|a| (at[a] as f64 - (DIMS[a] - 1) as f64 / 2.0) * SPACING[a])
    }

    fn at_mm(p: [f64; 3]) -> usize {
        let [i, j, k] =
            [0, 1, 2].map(|a| (p[a] / SPACING[a] + (DIMS[a] - 1) as f64 / 2.0).round() as usize);
        index(DIMS, i, j, k)
    }

    fn ventricle(p: [f64; 3]) -> bool {
        (4.0..12.0).contains(&p[0].abs()) && p[1].abs() < 20.0 && (5.0..25.0).contains(&p[2])
    }

    fn lesion(p: [f64; 3]) -> bool {
        (p[0] - 28.0).abs() < 6.0 && (p[1] - 25.0).abs() < 6.0 && (p[2] + 10.0).abs() < 6.0
    }

    fn head() -> Head {
        let n = DIMS.iter().product();
        let inside = |p: [f64; 3], s: f64| {
            (p[0] / (65.0 * s)).powi(2) + (p[1] / (85.0 * s)).powi(2) + (p[2] / (68.0 * s)).powi(2)
                < 1.0
        };
        let mut h = Head {
            brain: vec![false; n],
            white_matter: vec![false; n],
            t1: vec![0.0; n],
            flair: vec![0.0; n],
        };
        for v in 0..n {
            let p = mm(v);
            if !inside(p, 1.0) {
                continue;
            }
            h.brain[v] = true;
            let (t1, flair) = if ventricle(p) || !inside(p, 0.955) {
                (10.0, 5.0)
            } else if lesion(p) {
                (25.0, 120.0)
            } else if inside(p, 0.75) {
                h.white_matter[v] = true;
                (100.0, 50.0)
            } else {
                (60.0, 60.0)
            };
            (h.t1[v], h.flair[v]) = (t1, flair);
        }
        h
    }

    fn zones(h: &Head) -> Zones {
        Zones::of(&Anatomy {
            brain: &h.brain,
            white_matter: &h.white_matter,
            t1: &h.t1,
            flair: &h.flair,
            dims: DIMS,
            spacing: SPACING,
        })
    }

    /// The brain voxel whose MNI-like position is nearest `target`.
    fn at_mni(h: &Head, target: [f64; 3]) -> usize {
        let frame = Frame::of(&h.brain, DIMS, SPACING).expect("the brain is whole");
        (0..h.brain.len())
            .filter(|&v| h.brain[v])
            .min_by(|&a, &b| {
                let d = |v| {
                    let p = frame.mni(v, DIMS, SPACING);
                    (0..3).map(|i| (p[i] - target[i]).powi(2)).sum::<f64>()
                };
                d(a).total_cmp(&d(b))
            })
            .unwrap()
    }

    #[test]
    fn lesions_are_placed_by_the_ventricles_the_cortex_and_the_tentorium() {
        let h = head();
        let z = zones(&h);
        let zone = |v: usize| Zone::from_code(z.codes[v]);
        // The ventricles, and only they: not the CSF outside, nor the T1-dark lesion.
        let voxel_ml = 2.5f64.powi(3) / 1000.0;
        let truth = (0..h.brain.len())
            .filter(|&v| h.brain[v] && ventricle(mm(v)))
            .count();
        assert!((z.ventricles_ml - truth as f64 * voxel_ml).abs() < 1e-9);
        assert!(z.ventricles_ml > 10.0, "{}", z.ventricles_ml);
        assert!(z.infratentorial);
        // Beside a ventricle, and 7.5 mm above one: periventricular.
        assert_eq!(zone(at_mm([16.0, 0.0, 15.0])), Some(Zone::Periventricular));
        assert_eq!(zone(at_mm([8.0, 0.0, 32.5])), Some(Zone::Periventricular));
        // Deep white matter, 20 mm from the ventricles and the cortex; the lesion next to
        // it is dark on T1 but bright on FLAIR, so it is not taken for a ventricle.
        assert_eq!(zone(at_mm([30.0, 20.0, 10.0])), Some(Zone::Deep));
        assert_eq!(zone(at_mm([28.0, 25.0, -10.0])), Some(Zone::Deep));
        // Just inside the white matter's outer surface, and in the cortex itself.
        assert_eq!(zone(at_mm([47.5, 0.0, 0.0])), Some(Zone::Juxtacortical));
        assert_eq!(zone(at_mm([60.0, 0.0, 0.0])), Some(Zone::Juxtacortical));
        // The cerebellum and the brainstem, by their MNI positions.
        assert_eq!(
            zone(at_mni(&h, [25.0, -70.0, -35.0])),
            Some(Zone::Infratentorial)
        );
        assert_eq!(
            zone(at_mni(&h, [0.0, -28.0, -35.0])),
            Some(Zone::Infratentorial)
        );
        // Above the tentorium, the occipital lobe is not.
        assert_ne!(
            zone(at_mni(&h, [20.0, -85.0, 15.0])),
            Some(Zone::Infratentorial)
        );
        assert_eq!(z.codes[0], 0, "outside the brain");
    }

    #[test]
    fn the_burden_adds_up_to_the_mask_and_says_what_it_could_not_place() {
        let h = head();
        let mut z = zones(&h);
        let mut mask = vec![0u8; h.brain.len()];
        for p in [
            [16.0, 0.0, 15.0],
            [30.0, 20.0, 10.0],
            [47.5, 0.0, 0.0],
            [0.0, 0.0, 72.5],
        ] {
            mask[at_mm(p)] = 1;
        }
        let b = Burden::of(&mask, &z, 0.5);
        assert_eq!(b.periventricular_ml, Some(0.5));
        // The voxel outside the brain counts as deep, so the zones sum to the total.
        assert_eq!(b.deep_ml, 1.0);
        assert_eq!(b.juxtacortical_ml, 0.5);
        assert_eq!(b.infratentorial_ml, Some(0.0));
        z.ventricles_ml = 0.0;
        z.infratentorial = false;
        let b = Burden::of(&mask, &z, 0.5);
        assert_eq!((b.periventricular_ml, b.infratentorial_ml), (None, None));
        assert_eq!(b.ml(Zone::Deep), Some(1.0));
    }

    #[test]
    fn a_brain_cut_off_at_the_top_or_the_back_has_no_frame() {
        let h = head();
        let mut cut = h.brain.clone();
        let top = (DIMS[2] - 1) * DIMS[0] * DIMS[1];
        cut[top + DIMS[0] * DIMS[1] / 2] = true;
        assert!(Frame::of(&cut, DIMS, SPACING).is_none());
        let mut cut = h.brain.clone();
        cut[index(DIMS, 30, 0, 30)] = true;
        assert!(Frame::of(&cut, DIMS, SPACING).is_none());
        assert!(Frame::of(&vec![false; h.brain.len()], DIMS, SPACING).is_none());
    }

    #[test]
    fn a_lesion_takes_the_zone_most_of_it_lies_in() {
        assert_eq!(majority(&[1, 1, 2, 0, 0]), Some(Zone::Deep));
        assert_eq!(majority(&[0, 1, 0, 1, 0]), Some(Zone::Periventricular));
        assert_eq!(majority(&[2, 0, 0, 0, 0]), None);
    }
}
