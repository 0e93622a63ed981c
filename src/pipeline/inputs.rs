//! Input preparation: the T1 resampled onto the FLAIR grid and checked for alignment,
//! the skull stripped from it (from the FLAIR when there is no T1), both reoriented,
//! normalised and cut into network planes.

use super::preprocess;
use super::{
    Filter, Normalisation, Options, PipelineError, Region, Segmentation, SliceStack, within_brain,
    wm_region,
};
use crate::brain::{Extraction, Method};
use crate::burden::{Anatomy, Zones};
use crate::metrics::dice_from_counts;
use crate::volume::{self, Reorientation, Volume, foreground_mask, index, resample};

/// How the FLAIR's and the T1's foregrounds (head, or brain where one is skull-stripped)
/// overlap on the FLAIR grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overlap {
    /// Dice of the two foregrounds.
    pub dice: f64,
    /// Fraction of the smaller foreground inside the larger one.
    pub contained: f64,
}

/// Below this Dice of FLAIR and T1 foregrounds, a pair of heads is called misaligned;
/// the real registered pairs we have score 0.87 to 0.99.
pub const MIN_HEAD_OVERLAP: f64 = 0.7;
/// Where one image is skull-stripped (a brain and a head: Dice about 0.5), the pair is
/// aligned when this much of the brain lies inside the other's head: the brain reaches
/// to within a few millimetres of the skull, so a shift of a centimetre or two pushes
/// part of it out.
pub const MIN_CONTAINED: f64 = 0.97;

impl Overlap {
    /// The overlap of two masks of one grid.
    pub fn of(a: &[bool], b: &[bool]) -> Self {
        let (both, na, nb) = volume::overlap_counts(a, b);
        Self {
            dice: dice_from_counts(both, na, nb),
            contained: if na.min(nb) == 0 {
                0.0
            } else {
                both as f64 / na.min(nb) as f64
            },
        }
    }

    /// Two heads that overlap well, or a brain inside a head.
    pub fn aligned(&self) -> bool {
        self.dice >= MIN_HEAD_OVERLAP || self.contained >= MIN_CONTAINED
    }
}

/// What the networks expect of their inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preparation {
    /// In-plane spacing (mm) of the WMH and the WM network.
    pub spacing_mm: (f64, f64),
    /// The FLAIR's normalisation (the T1's is always the z-score).
    pub flair: Normalisation,
}

impl Default for Preparation {
    fn default() -> Self {
        Self {
            spacing_mm: (1.0, 1.0),
            flair: Normalisation::Zscore,
        }
    }
}

/// Inputs resampled, checked and cut into slices, ready for the networks.
#[derive(Debug)]
pub struct Inputs {
    /// The FLAIR's grid and header (the output grid).
    pub reference: Volume,
    /// Stored-to-canonical mapping of the FLAIR grid.
    pub reorient: Reorientation,
    /// FLAIR slices for the WMH network.
    pub flair: SliceStack,
    /// T1 slices (resampled onto the FLAIR grid) for the WM network.
    pub t1: Option<SliceStack>,
    /// Dice of FLAIR and T1 head masks after resampling (alignment check).
    pub head_overlap: Option<f64>,
    /// The brain found in the T1 (canonical grid), outside which the T1 was zeroed; in
    /// the FLAIR when no T1 is given (it is then the filter's region).
    pub brain: Option<Vec<bool>>,
    /// How that brain was found.
    pub brain_method: Option<Method>,
}

/// White matter is about 35-45 % of the brain. In a slice where the WM region covers
/// less than this fraction of the brain, the WM network failed there (an unusual
/// contrast or slice thickness), and the brain filters that slice instead, rather than
/// deleting true lesions with a wrong region.
pub const MIN_WM_FRACTION_OF_BRAIN: f64 = 0.15;

/// The burden is split by region only where the brain stood in for the WM map in at
/// most one in this many of the brain's slices: elsewhere the white matter the
/// regions are drawn from is not known.
pub const MAX_FALLBACK_SHARE_FOR_ZONES: usize = 3;

impl Inputs {
    /// Resamples the T1 onto the FLAIR grid, checks that they line up, and prepares slices.
    pub fn prepare(
        mut flair: Volume,
        t1: Option<&Volume>,
        prep: Preparation,
    ) -> Result<Self, PipelineError> {
        volume::tame_range(&mut flair.data);
        let spacing_mm = prep.spacing_mm;
        let axis = volume::affine::slice_axis(&flair.geometry.affine);
        let head = foreground_mask(&flair.data, flair.dims, axis);
        if !head.iter().any(|&h| h) {
            return Err(PipelineError::EmptyImage);
        }
        let reorient = Reorientation::to_ras(&flair.geometry.affine, flair.dims);
        let (t1_stack, head_overlap, brain) = match t1 {
            // Without a T1 the brain comes from the FLAIR: the template fits it as well
            // (its grey and white matter are close; CSF, skull and scalp order alike).
            None => {
                let canonical = reorient.forward(&flair.data);
                (None, None, Some(brain_in(&canonical, &flair, &reorient)))
            }
            Some(t1) => {
                let mut r = resample::onto_grid(t1, flair.dims, &flair.geometry.affine);
                volume::tame_range(&mut r.data);
                let t1_head = foreground_mask(&r.data, flair.dims, axis);
                let covered = head_coverage(&flair, t1, &head);
                if covered < 0.5 {
                    return Err(PipelineError::NoOverlap(covered * 100.0));
                }
                let overlap = Overlap::of(&head, &t1_head);
                if !overlap.aligned() {
                    return Err(PipelineError::Misaligned(overlap));
                }
                let (stripped, brain) = strip_skull(&r.data, &flair, &reorient);
                (
                    Some(SliceStack::new(
                        &stripped,
                        &flair,
                        &reorient,
                        spacing_mm.1,
                        Normalisation::Zscore,
                        Some(&brain.mask),
                    )),
                    Some(overlap.dice),
                    Some(brain),
                )
            }
        };
        // The networks see the brain's window, not the head's: the scalp and skull
        // around it are a fifth of a head's pixels and can hold no WMH.
        let flair_stack = SliceStack::new(
            &flair.data,
            &flair,
            &reorient,
            spacing_mm.0,
            prep.flair,
            brain.as_ref().map(|b| &b.mask[..]),
        );
        Ok(Self {
            reference: flair,
            reorient,
            flair: flair_stack,
            t1: t1_stack,
            head_overlap,
            brain_method: brain.as_ref().map(|b| b.method),
            brain: brain.map(|b| b.mask),
        })
    }

    /// Turns per-slice probability planes into the final segmentation on the FLAIR grid,
    /// filtered by `region` (from [`Inputs::region`]; none keeps every voxel).
    pub fn finish(
        &self,
        wmh_planes: &[Vec<f32>],
        region: Option<&Region>,
        options: &Options,
    ) -> Segmentation {
        let wmh = preprocess::assemble(wmh_planes, &self.flair.plane, self.flair.dims);
        self.conclude(wmh, region, options)
    }

    /// The comparison baseline: FLAIR voxels more than `z` robust standard deviations
    /// (median and MAD, so a large lesion load does not hide itself) above the median of
    /// the white-matter region (the head, without a region), inside that region.
    pub fn baseline(&self, region: Option<&Region>, z: f32, options: &Options) -> Segmentation {
        let flair = &self.flair.data;
        let inside: Vec<bool> = match region {
            Some(r) => r.voxels.clone(),
            None => flair.iter().map(|&v| v > self.flair.fill + 0.5).collect(),
        };
        let normalised = preprocess::robust_zscore(flair, &inside);
        let prob = normalised
            .iter()
            .zip(&inside)
            .map(|(&v, &i)| f32::from(u8::from(i && v > z)))
            .collect();
        self.conclude(prob, region, options)
    }

    /// Which canonical slices the WM network must see: those holding brain, since the
    /// filter region is cut to the brain slice by slice (every slice without a brain).
    pub fn wm_slices(&self) -> Vec<bool> {
        match &self.brain {
            Some(brain) => occupied_slices(brain, self.flair.dims),
            None => vec![true; self.flair.slices()],
        }
    }

    /// Which canonical slices the WMH network must see: those where the filter `region`
    /// keeps any voxel (every slice without a filter), since elsewhere the filter zeroes
    /// the network's output anyway.
    pub fn wmh_slices(&self, region: Option<&Region>) -> Vec<bool> {
        match region {
            Some(r) => occupied_slices(&r.voxels, self.flair.dims),
            None => vec![true; self.flair.slices()],
        }
    }

    /// The filter region when the filter is on: the WM region when a T1 was given and
    /// the WM network ran (`wm_planes`); the brain found in the FLAIR without a T1.
    pub fn region(&self, wm_planes: Option<&[Vec<f32>]>, options: &Options) -> Option<Region> {
        match (wm_planes, &self.t1, options.wm_filter) {
            (None, None, true) => {
                (self.brain.as_ref())
                    .filter(|b| b.contains(&true))
                    .map(|brain| Region {
                        voxels: brain.clone(),
                        brain_fallback_slices: 0,
                        zones: None,
                    })
            }
            (Some(planes), Some(t1), true) => {
                let wm = preprocess::assemble(planes, &t1.plane, self.flair.dims);
                let spacing = self
                    .reorient
                    .canonical_spacing(self.reference.geometry.voxel_sizes());
                let region = wm_region(&wm, self.flair.dims, spacing, options.wm_dilation_mm);
                let (voxels, brain_fallback_slices) = match &self.brain {
                    Some(brain) => within_brain(&region, brain, self.flair.dims),
                    None => (region, 0),
                };
                // Where the brain stood in for the WM map in many slices, the white
                // matter the regions are drawn from is not known.
                let trusted = |brain: &&Vec<bool>| {
                    let slices = occupied_slices(brain, self.flair.dims);
                    brain_fallback_slices * MAX_FALLBACK_SHARE_FOR_ZONES
                        <= slices.iter().filter(|&&s| s).count()
                };
                let zones = self.brain.as_ref().filter(trusted).map(|brain| {
                    let white_matter: Vec<bool> = wm.iter().map(|&p| p >= 0.5).collect();
                    Zones::of(&Anatomy {
                        brain,
                        white_matter: &white_matter,
                        t1: &t1.data,
                        flair: &self.flair.data,
                        dims: self.flair.dims,
                        spacing,
                    })
                });
                Some(Region {
                    voxels,
                    brain_fallback_slices,
                    zones,
                })
            }
            _ => None,
        }
    }

    /// Filters canonical probabilities by the region, maps them back to the stored grid,
    /// thresholds and lists lesions.
    fn conclude(&self, wmh: Vec<f32>, region: Option<&Region>, options: &Options) -> Segmentation {
        let brain_fallback_slices = region.map_or(0, |r| r.brain_fallback_slices);
        let filtered: Vec<f32> = match region {
            Some(r) => wmh
                .iter()
                .zip(&r.voxels)
                .map(|(&p, &inside)| if inside { p } else { 0.0 })
                .collect(),
            None => wmh,
        };
        let probability = self.reorient.inverse(&filtered);
        let filter = match (region, &self.t1) {
            (None, _) => Filter::Off,
            (Some(_), Some(_)) => Filter::WhiteMatter,
            (Some(_), None) => Filter::Brain,
        };
        let filtered = filter != Filter::Off;
        let wm_region = region.map(|r| {
            self.reorient
                .inverse(&r.voxels.iter().map(|&b| u8::from(b)).collect::<Vec<_>>())
        });
        let voxel_ml = self.reference.geometry.voxel_volume_mm3() / 1000.0;
        let brain_ml = (self.brain.as_ref())
            .filter(|_| filtered)
            .map(|b| b.iter().filter(|&&v| v).count() as f64 * voxel_ml);
        let region_ml = region.map(|r| r.voxels.iter().filter(|&&v| v).count() as f64 * voxel_ml);
        // Zones on the stored grid, so that re-thresholding can split the burden again.
        let zones = region.and_then(|r| r.zones.as_ref()).map(|z| Zones {
            codes: self.reorient.inverse(&z.codes),
            ventricles_ml: z.ventricles_ml,
            infratentorial: z.infratentorial,
        });
        let mut seg = Segmentation {
            zones,
            burden: None,
            probability,
            mask: Vec::new(),
            threshold: options.threshold,
            lesion_peak: options.lesion_peak,
            min_lesion_mm3: options.min_lesion_mm3,
            wm_region,
            lesions: Vec::new(),
            total_ml: 0.0,
            filter,
            brain_fallback_slices,
            brain_ml,
            brain_method: self.brain_method.filter(|_| filtered),
            region_ml,
        };
        seg.rethreshold(
            &self.reference,
            options.threshold,
            options.lesion_peak,
            options.min_lesion_mm3,
        );
        seg
    }
}

/// Whether each axial slice of a canonical mask holds any voxel.
fn occupied_slices(mask: &[bool], dims: [usize; 3]) -> Vec<bool> {
    (mask.chunks(dims[0] * dims[1]))
        .map(|slice| slice.contains(&true))
        .collect()
}

/// Fraction of the FLAIR head voxels whose centres fall inside the T1's field of view.
fn head_coverage(flair: &Volume, t1: &Volume, head: &[bool]) -> f64 {
    let inv = volume::affine::invert(&t1.geometry.affine).expect("decoded volumes are invertible");
    let d = flair.dims;
    let (mut inside, mut total) = (0usize, 0usize);
    for k in 0..d[2] {
        for j in 0..d[1] {
            for i in 0..d[0] {
                if !head[index(d, i, j, k)] {
                    continue;
                }
                total += 1;
                let w =
                    volume::affine::apply(&flair.geometry.affine, [i as f64, j as f64, k as f64]);
                let v = volume::affine::apply(&inv, w);
                if (0..3).all(|a| v[a] >= -0.5 && v[a] <= t1.dims[a] as f64 - 0.5) {
                    inside += 1;
                }
            }
        }
    }
    inside as f64 / total.max(1) as f64
}

/// The brain in a scan on the FLAIR's grid, given in canonical order (the T1 resampled
/// there, or the FLAIR itself when there is no T1).
fn brain_in(canonical: &[f32], flair: &Volume, reorient: &Reorientation) -> Extraction {
    let spacing = reorient.canonical_spacing(flair.geometry.voxel_sizes());
    crate::brain::extract(canonical, reorient.canonical_dims(), spacing)
}

/// The T1 (stored order, on the FLAIR's grid) with everything outside the brain set
/// to zero, as the WM network learned on skull-stripped T1s (see [`crate::brain`]),
/// and the brain (canonical grid).
fn strip_skull(t1: &[f32], flair: &Volume, reorient: &Reorientation) -> (Vec<f32>, Extraction) {
    let canonical = reorient.forward(t1);
    let brain = brain_in(&canonical, flair, reorient);
    let stripped: Vec<f32> = canonical
        .iter()
        .zip(&brain.mask)
        .map(|(&v, &b)| if b { v } else { 0.0 })
        .collect();
    (reorient.inverse(&stripped), brain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intensities_near_the_limits_of_f32_prepare_as_ordinary_ones() {
        // Centred on zero, so the range spans about -1.7e38 to 1.7e38 once scaled: the
        // peak's width (hi - lo) overflowed f32 and every voxel normalised to 0.
        let case = crate::phantom::example();
        let centre = volume::percentile(&case.flair.data, 50.0);
        let mut plain = case.flair.clone();
        plain.data.iter_mut().for_each(|v| *v -= centre);
        let mut extreme = plain.clone();
        let top = extreme.data.iter().fold(0f32, |m, v| m.max(v.abs()));
        let shift = 127 - f64::from(top).log2().ceil() as i32;
        extreme.data.iter_mut().for_each(|v| *v *= 2f32.powi(shift));
        assert!(extreme.data.iter().any(|v| v.abs() > 1.0e38));
        let mut t1_extreme = case.t1.clone();
        t1_extreme
            .data
            .iter_mut()
            .for_each(|v| *v *= 2f32.powi(100));
        for norm in [Normalisation::Zscore, Normalisation::Peak] {
            let prep = Preparation {
                flair: norm,
                ..Preparation::default()
            };
            let a = Inputs::prepare(plain.clone(), Some(&case.t1), prep).unwrap();
            let b = Inputs::prepare(extreme.clone(), Some(&t1_extreme), prep).unwrap();
            assert!(a.flair.data.iter().all(|v| v.is_finite()));
            assert_eq!(a.flair.data, b.flair.data, "{norm:?}");
            assert_eq!(a.t1.unwrap().data, b.t1.unwrap().data);
            assert_eq!(a.brain, b.brain);
        }
    }

    /// Without a T1 the brain found in the FLAIR is the filter: a network that marks
    /// every voxel keeps exactly the brain, and with the filter off, the head beyond it.
    #[test]
    fn a_flair_alone_is_filtered_by_the_brain_found_in_it() {
        let case = crate::phantom::example();
        let inputs = Inputs::prepare(case.flair, None, Preparation::default()).unwrap();
        let brain = inputs
            .brain
            .clone()
            .expect("a brain in the example's FLAIR");
        let p = inputs.flair.plane;
        let everywhere = vec![vec![1.0f32; p.px * p.py]; inputs.flair.slices()];
        let on = Options::default();
        let region = inputs.region(None, &on).expect("the brain filters");
        assert_eq!(region.voxels, brain);
        let seg = inputs.finish(&everywhere, Some(&region), &on);
        assert_eq!(seg.filter, Filter::Brain);
        let marked = seg.mask.iter().filter(|&&m| m > 0).count();
        assert_eq!(marked, brain.iter().filter(|&&b| b).count());
        let ml = seg.brain_ml.unwrap();
        assert!((900.0..1600.0).contains(&ml), "{ml} mL");
        assert!(seg.filter_description().contains("brain filter on"));

        let off = Options {
            wm_filter: false,
            ..on
        };
        assert!(inputs.region(None, &off).is_none());
        let seg = inputs.finish(&everywhere, None, &off);
        assert_eq!(seg.filter, Filter::Off);
        assert!(seg.mask.iter().filter(|&&m| m > 0).count() > marked * 5 / 4);
    }

    /// Both networks see the brain's window (its bounding box grown by the margin),
    /// which leaves out most of the scalp the head's window holds.
    #[test]
    fn the_networks_see_the_brains_window() {
        let case = crate::phantom::example();
        let head = {
            let reorient = Reorientation::to_ras(&case.flair.geometry.affine, case.flair.dims);
            let n = Normalisation::Peak;
            SliceStack::new(&case.flair.data, &case.flair, &reorient, 1.0, n, None).plane
        };
        let prep = Preparation {
            flair: Normalisation::Peak,
            ..Preparation::default()
        };
        for t1 in [Some(&case.t1), None] {
            let inputs = Inputs::prepare(case.flair.clone(), t1, prep).unwrap();
            let brain = inputs.brain.as_ref().expect("a brain in the example");
            let spacing = inputs
                .reorient
                .canonical_spacing(inputs.reference.geometry.voxel_sizes());
            let margin = |s: f64| (preprocess::WINDOW_MARGIN_MM / s).ceil() as usize;
            let want = preprocess::window_around(
                brain,
                inputs.flair.dims,
                (margin(spacing[0]), margin(spacing[1])),
            );
            let p = inputs.flair.plane;
            assert_eq!((p.x0, p.y0, p.cx, p.cy), want);
            assert!(p.cx * p.cy < head.cx * head.cy * 9 / 10, "{p:?} {head:?}");
            if let Some(t1) = &inputs.t1 {
                assert_eq!(t1.plane, p);
            }
        }
    }
}
