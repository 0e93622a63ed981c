//! The result on the FLAIR's grid: probabilities, the thresholded mask, its lesions
//! and volumes, and how the filter was applied; re-thresholding without the networks.

use serde::Serialize;

use super::DEFAULT_WM_DILATION_MM;
use crate::brain::{Method, PLAUSIBLE_BRAIN_ML};
use crate::burden::{Burden, Zone, Zones, majority};
use crate::metrics::label_26;
use crate::model::Symmetries;
use crate::volume::{self, Volume};

/// Inference and post-processing settings.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Probability at or above which a voxel is lesion.
    pub threshold: f32,
    /// A lesion is kept only if its most probable voxel reaches this (hysteresis: the
    /// threshold draws a lesion's extent, its peak decides whether it is one); at or
    /// below `threshold` every lesion is kept.
    pub lesion_peak: f32,
    /// In-plane dilation of the WM region, mm.
    pub wm_dilation_mm: f64,
    /// Whether to filter: by the WM region when a T1 is given, by the brain found in
    /// the FLAIR without one.
    pub wm_filter: bool,
    /// Lesions smaller than this (mm³) are left out of the mask; 0 keeps every lesion.
    pub min_lesion_mm3: f64,
    /// In-plane symmetries the WMH network's probabilities are averaged over (each one
    /// is a pass of every member; the WM network always runs once).
    pub symmetries: Symmetries,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            lesion_peak: 0.0,
            wm_dilation_mm: DEFAULT_WM_DILATION_MM,
            wm_filter: true,
            min_lesion_mm3: 0.0,
            symmetries: Symmetries::One,
        }
    }
}

/// What removed the WMH found outside a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Filter {
    /// Nothing: every lesion the network found is kept.
    Off,
    /// The white-matter region (the WM network's map on the T1, cut to the brain).
    WhiteMatter,
    /// The brain found in the FLAIR (no T1 was given).
    Brain,
}

/// One connected lesion in the output mask.
#[derive(Debug, Clone, Serialize)]
pub struct Lesion {
    /// Voxels in the lesion.
    pub voxels: usize,
    /// Volume in mL.
    pub volume_ml: f64,
    /// Centroid in voxel coordinates of the stored grid.
    pub centroid: [f64; 3],
    /// Stored slice index (along the axis closest to inferior-superior) of the centroid.
    pub slice: usize,
    /// The zone most of the lesion lies in, when the burden could be split by region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<Zone>,
}

/// Lists the 26-connected lesions of `mask`, largest first, each in the zone most of
/// it lies in when `zones` (per-voxel codes of [`Zones`]) are given.
pub fn lesions(
    mask: &[u8],
    dims: [usize; 3],
    voxel_ml: f64,
    slice_axis: usize,
    zones: Option<&Zones>,
) -> Vec<Lesion> {
    let bin: Vec<bool> = mask.iter().map(|&m| m > 0).collect();
    let comps = label_26(&bin, dims);
    let mut sums = vec![[0.0f64; 3]; comps.count()];
    let mut zone_counts = vec![[0usize; 5]; comps.count()];
    for (v, &l) in comps.labels.iter().enumerate() {
        if l > 0 {
            let s = &mut sums[l as usize - 1];
            s[0] += (v % dims[0]) as f64;
            s[1] += ((v / dims[0]) % dims[1]) as f64;
            s[2] += (v / (dims[0] * dims[1])) as f64;
            if let Some(z) = zones {
                zone_counts[l as usize - 1][usize::from(z.codes[v].min(4))] += 1;
            }
        }
    }
    let mut out: Vec<Lesion> = (comps.sizes.iter().zip(sums).zip(zone_counts))
        .map(|((&n, s), counts)| {
            let centroid = s.map(|c| c / n as f64);
            Lesion {
                voxels: n,
                volume_ml: n as f64 * voxel_ml,
                centroid,
                slice: centroid[slice_axis].round() as usize,
                zone: zones.and_then(|_| majority(&counts)),
            }
        })
        .collect();
    out.sort_by_key(|l| std::cmp::Reverse(l.voxels));
    out
}

/// How many voxels a lesion needs to reach `min_mm3` (at least 1).
pub fn min_lesion_voxels(min_mm3: f64, voxel_mm3: f64) -> usize {
    // The tolerance keeps a lesion of exactly the minimum despite rounding of the sizes.
    ((min_mm3 / voxel_mm3) * (1.0 - 1e-9)).ceil().max(1.0) as usize
}

/// Removes from a 0/1 mask the 26-connected lesions of fewer than `min_voxels` voxels
/// and those whose highest `probability` falls below `peak`.
pub fn prune_lesions(
    mask: &mut [u8],
    probability: &[f32],
    dims: [usize; 3],
    min_voxels: usize,
    peak: f32,
) {
    if min_voxels <= 1 && peak <= 0.0 {
        return;
    }
    let bin: Vec<bool> = mask.iter().map(|&m| m > 0).collect();
    let comps = label_26(&bin, dims);
    let mut peaks = vec![f32::NEG_INFINITY; comps.count()];
    for (&l, &p) in comps.labels.iter().zip(probability) {
        if l > 0 {
            let top = &mut peaks[l as usize - 1];
            *top = top.max(p);
        }
    }
    let weak: Vec<bool> = (comps.sizes.iter().zip(&peaks))
        .map(|(&n, &top)| n < min_voxels || top < peak)
        .collect();
    for (m, &l) in mask.iter_mut().zip(&comps.labels) {
        if l > 0 && weak[l as usize - 1] {
            *m = 0;
        }
    }
}

/// The pipeline's result, on the FLAIR's stored grid.
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// WMH probability per voxel (after the WM filter, if applied).
    pub probability: Vec<f32>,
    /// 0/1 WMH mask.
    pub mask: Vec<u8>,
    /// Probability at or above which `mask` is lesion.
    pub threshold: f32,
    /// Probability each lesion's most probable voxel reaches (see [`Options::lesion_peak`]).
    pub lesion_peak: f32,
    /// Smallest lesion (mm³) kept in `mask`; 0 keeps every lesion.
    pub min_lesion_mm3: f64,
    /// 0/1 white-matter region used as filter, when a T1 was given.
    pub wm_region: Option<Vec<u8>>,
    /// Lesions, largest first.
    pub lesions: Vec<Lesion>,
    /// Total lesion volume in mL.
    pub total_ml: f64,
    /// Which filter was applied.
    pub filter: Filter,
    /// Axial slices where the filter used the brain because the WM network found too
    /// little white matter there (see [`MIN_WM_FRACTION_OF_BRAIN`]).
    pub brain_fallback_slices: usize,
    /// Volume (mL) of the brain found in the T1, when the filter ran.
    pub brain_ml: Option<f64>,
    /// How that brain was found, when the filter ran.
    pub brain_method: Option<Method>,
    /// Volume (mL) of the white-matter region the filter kept, when it ran.
    pub region_ml: Option<f64>,
    /// Every voxel's zone (stored grid), when a T1 was given and the filter ran.
    pub zones: Option<Zones>,
    /// The lesion volume by zone, when `zones` are known.
    pub burden: Option<Burden>,
}

impl Segmentation {
    /// Re-draws the mask, lesions and total volume at another threshold, lesion peak
    /// and minimum lesion size from the kept probabilities, so a user can move them
    /// without running the networks again; `reference` is the FLAIR whose grid the
    /// probabilities are on.
    pub fn rethreshold(
        &mut self,
        reference: &Volume,
        threshold: f32,
        lesion_peak: f32,
        min_lesion_mm3: f64,
    ) {
        self.mask = self
            .probability
            .iter()
            .map(|&p| u8::from(p >= threshold))
            .collect();
        self.threshold = threshold;
        self.lesion_peak = lesion_peak;
        self.min_lesion_mm3 = min_lesion_mm3;
        let voxel_mm3 = reference.geometry.voxel_volume_mm3();
        prune_lesions(
            &mut self.mask,
            &self.probability,
            reference.dims,
            min_lesion_voxels(self.min_lesion_mm3, voxel_mm3),
            lesion_peak,
        );
        let voxel_ml = voxel_mm3 / 1000.0;
        let axis = volume::affine::slice_axis(&reference.geometry.affine);
        self.lesions = lesions(
            &self.mask,
            reference.dims,
            voxel_ml,
            axis,
            self.zones.as_ref(),
        );
        self.total_ml = total_ml(&self.lesions);
        self.burden = (self.zones.as_ref()).map(|z| Burden::of(&self.mask, z, voxel_ml));
    }

    /// Why the brain found in the T1 (the FLAIR without one) is not to be trusted, when its volume lies
    /// outside [`PLAUSIBLE_BRAIN_ML`]: too small, it misses part of the brain and the
    /// filter may remove true lesions; too large, it keeps scalp or muscle and false
    /// positives there survive. A T1 that came skull-stripped is not warned about for
    /// its size alone (brains normalised to MNI space measure about 1.9 L).
    pub fn brain_warning(&self) -> Option<String> {
        let ml = self.brain_ml?;
        let (low, high) = PLAUSIBLE_BRAIN_ML;
        let stripped = self.brain_method == Some(Method::Stripped);
        let scan = if self.filter == Filter::Brain {
            "FLAIR"
        } else {
            "T1"
        };
        if ml < low {
            Some(format!(
                "the brain found in the {scan} is only {ml:.0} mL (an adult brain is {low:.0}-{high:.0} \
                 mL), so brain extraction missed part of it and the filter may have removed \
                 true lesions: check the white-matter region, or segment without the filter"
            ))
        } else if ml > high && !stripped {
            Some(format!(
                "the brain found in the {scan} is {ml:.0} mL (an adult brain is {low:.0}-{high:.0} \
                 mL), so brain extraction may have kept scalp or muscle, where false positives \
                 then survive the filter: check the white-matter region"
            ))
        } else {
            None
        }
    }

    /// How the filter was applied, in words, for summaries, with the brain's warning
    /// ([`Segmentation::brain_warning`]).
    pub fn filter_description(&self) -> String {
        let mut text = match self.filter {
            Filter::Off => return "white-matter filter off".to_string(),
            Filter::WhiteMatter => "white-matter filter on".to_string(),
            Filter::Brain => "FLAIR only: white-matter filter off, brain filter on".to_string(),
        };
        if let (Filter::Brain, Some(brain)) = (self.filter, self.brain_ml) {
            text += &format!(": brain {brain:.0} mL found in the FLAIR");
        } else if let (Some(brain), Some(region)) = (self.brain_ml, self.region_ml) {
            let how = match self.brain_method {
                Some(Method::Stripped) => ", as the T1 came skull-stripped",
                Some(Method::Template { .. }) => ", bounded by the brain template",
                Some(Method::Morphology) => ", by morphology alone (the template did not fit)",
                None => "",
            };
            text += &format!(": brain {brain:.0} mL{how}; white-matter region {region:.0} mL");
        }
        if self.brain_fallback_slices > 0 {
            let n = self.brain_fallback_slices;
            text += &format!(
                "; the brain mask stood in for it in {n} slice{} where the WM network found too \
                 little white matter",
                if n == 1 { "" } else { "s" }
            );
        }
        if let Some(warning) = self.brain_warning() {
            text += "; warning: ";
            text += &warning;
        }
        text
    }
}

impl Segmentation {
    /// Why the burden, or a zone of it, could not be split by region, in words.
    pub fn burden_notes(&self) -> Vec<String> {
        let Some(burden) = &self.burden else {
            if self.filter == Filter::WhiteMatter {
                return vec![format!(
                    "no burden by region: the WM network found too little white matter in {} \
                     slices, so the regions cannot be drawn",
                    self.brain_fallback_slices
                )];
            }
            return vec![
                "no burden by region: the regions need a T1 (its brain and white matter) and the \
                 white-matter filter"
                    .into(),
            ];
        };
        let mut notes = Vec::new();
        if burden.periventricular_ml.is_none() {
            notes.push(
                "no ventricles found: periventricular WMH count as deep or juxtacortical".into(),
            );
        }
        if burden.infratentorial_ml.is_none() {
            notes.push(
                "the brain reaches the scan's top, front or back edge, so the tentorium cannot \
                 be placed: infratentorial WMH count in the other regions"
                    .into(),
            );
        }
        notes
    }

    /// The burden by region in one line, for summaries (`None` without regions).
    pub fn burden_line(&self) -> Option<String> {
        let burden = self.burden.as_ref()?;
        let parts: Vec<String> = (Zone::ALL.iter())
            .map(|&z| match burden.ml(z) {
                Some(ml) => format!("{} {ml:.2} mL", z.label()),
                None => format!("{} not placed", z.label()),
            })
            .collect();
        Some(parts.join(", "))
    }
}

/// The lesions' total volume in mL: 0 without lesions (an empty f64 sum is -0.0, which
/// summaries would print as "-0.00 mL").
fn total_ml(lesions: &[Lesion]) -> f64 {
    lesions.iter().map(|l| l.volume_ml).sum::<f64>() + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Inputs, Preparation};
    use crate::volume::index;

    #[test]
    fn a_brain_of_implausible_size_is_warned_about() {
        let seg = |filtered: bool, brain_fallback_slices, brain_ml, method| Segmentation {
            probability: Vec::new(),
            mask: Vec::new(),
            threshold: 0.5,
            lesion_peak: 0.0,
            min_lesion_mm3: 0.0,
            wm_region: None,
            lesions: Vec::new(),
            total_ml: 0.0,
            filter: if filtered {
                Filter::WhiteMatter
            } else {
                Filter::Off
            },
            brain_fallback_slices,
            brain_ml,
            brain_method: method,
            region_ml: None,
            zones: None,
            burden: None,
        };
        let template = Some(Method::Template { ncc: 0.6 });
        assert_eq!(
            seg(false, 0, None, None).filter_description(),
            "white-matter filter off"
        );
        let mut plain = seg(true, 0, Some(1300.0), template);
        assert_eq!(plain.filter_description(), "white-matter filter on");
        plain.region_ml = Some(612.4);
        assert_eq!(
            plain.filter_description(),
            "white-matter filter on: brain 1300 mL, bounded by the brain template; white-matter \
             region 612 mL"
        );
        assert!(
            seg(true, 2, Some(1300.0), template)
                .filter_description()
                .ends_with("white matter")
        );
        let small = seg(true, 0, Some(476.0), template).filter_description();
        assert!(
            small.contains("only 476 mL (an adult brain is 900-1600 mL)"),
            "{small}"
        );
        let large = seg(true, 0, Some(1775.0), template).filter_description();
        assert!(
            large.contains("1775 mL") && large.contains("scalp or muscle"),
            "{large}"
        );
        // A stripped T1 in MNI space is large by design, not by a failed extraction.
        let mni = seg(true, 0, Some(2030.0), Some(Method::Stripped));
        assert_eq!(mni.brain_warning(), None);
        assert!(
            seg(true, 0, Some(500.0), Some(Method::Stripped))
                .brain_warning()
                .is_some()
        );
    }

    #[test]
    fn no_lesions_total_a_positive_zero() {
        let total = total_ml(&[]);
        assert!(total == 0.0 && total.is_sign_positive(), "{total}");
        assert_eq!(format!("{:.2}", total_ml(&[])), "0.00");
    }

    #[test]
    fn moving_the_threshold_afterwards_equals_segmenting_at_it() {
        let case = crate::phantom::example();
        let inputs = Inputs::prepare(case.flair, Some(&case.t1), Preparation::default()).unwrap();
        let p = inputs.flair.plane;
        // Made-up probabilities that vary across each plane and from slice to slice.
        let planes = |offset: usize| -> Vec<Vec<f32>> {
            (0..inputs.flair.slices())
                .map(|z| {
                    (0..p.px * p.py)
                        .map(|i| ((i * 7 + z * 13 + offset) % 101) as f32 / 100.0)
                        .collect()
                })
                .collect()
        };
        let (wmh, wm) = (planes(0), planes(50));
        let at = |threshold, min_lesion_mm3| {
            let options = Options {
                threshold,
                min_lesion_mm3,
                ..Options::default()
            };
            inputs.finish(&wmh, inputs.region(Some(&wm), &options).as_ref(), &options)
        };
        for min_mm3 in [0.0, 50.0] {
            let mut moved = at(0.5, min_mm3);
            let direct = at(0.9, min_mm3);
            assert!(
                moved.mask.iter().filter(|&&m| m > 0).count()
                    > direct.mask.iter().filter(|&&m| m > 0).count()
            );
            moved.rethreshold(&inputs.reference, 0.9, 0.0, min_mm3);
            assert_eq!(moved.threshold, 0.9);
            assert_eq!(moved.mask, direct.mask);
            assert_eq!(moved.lesions.len(), direct.lesions.len());
            assert_eq!(moved.total_ml, direct.total_ml);
            assert!(direct.total_ml > 0.0);
            assert!(
                direct
                    .lesions
                    .iter()
                    .all(|l| l.volume_ml * 1000.0 >= min_mm3)
            );
        }
        let (all, large) = (at(0.9, 0.0), at(0.9, 50.0));
        assert!(
            large.lesions.len() < all.lesions.len(),
            "the minimum dropped nothing"
        );
    }

    #[test]
    fn lesions_below_the_minimum_size_are_dropped() {
        // 2 mm³ voxels: a 1-voxel speck (2 mm³), a diagonal pair (4 mm³, one lesion
        // under 26-connectivity) and a 3-voxel line (6 mm³).
        let dims = [6, 6, 2];
        let mut m = vec![0u8; 72];
        m[index(dims, 0, 0, 0)] = 1;
        m[index(dims, 3, 0, 0)] = 1;
        m[index(dims, 4, 1, 1)] = 1;
        for i in 0..3 {
            m[index(dims, i, 5, 1)] = 1;
        }
        assert_eq!(min_lesion_voxels(0.0, 2.0), 1);
        assert_eq!(min_lesion_voxels(4.0, 2.0), 2);
        assert_eq!(min_lesion_voxels(4.5, 2.0), 3);
        assert_eq!(
            min_lesion_voxels(0.3 * 10.0, 0.3),
            10,
            "exact multiples are kept"
        );
        let kept = |min_mm3: f64| {
            let mut mask = m.clone();
            let flat = vec![1.0; mask.len()];
            prune_lesions(&mut mask, &flat, dims, min_lesion_voxels(min_mm3, 2.0), 0.0);
            lesions(&mask, dims, 0.002, 2, None)
                .iter()
                .map(|l| l.voxels)
                .collect::<Vec<_>>()
        };
        assert_eq!(kept(0.0), [3, 2, 1]);
        assert_eq!(kept(4.0), [3, 2]);
        assert_eq!(kept(5.0), [3]);
        assert_eq!(kept(7.0), Vec::<usize>::new());
    }

    #[test]
    fn lesions_whose_peak_falls_short_are_dropped_whole() {
        // Two lesions above a 0.5 threshold: one peaks at 0.99 in a single voxel, the
        // other only reaches 0.9. The peak decides which is kept, never which voxels.
        let dims = [8, 3, 1];
        let probability = [
            0.6, 0.7, 0.99, 0.6, 0.0, 0.9, 0.8, 0.0, //
            0.0, 0.55, 0.0, 0.0, 0.0, 0.0, 0.6, 0.0, //
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3,
        ];
        let kept = |peak| {
            let mut mask: Vec<u8> = probability.iter().map(|&p| u8::from(p >= 0.5)).collect();
            prune_lesions(&mut mask, &probability, dims, 1, peak);
            mask
        };
        let all = kept(0.0);
        assert_eq!(lesions(&all, dims, 1.0, 2, None).len(), 2);
        assert_eq!(kept(0.5), all, "a peak at the threshold keeps every lesion");
        assert_eq!(kept(0.9), all, "a peak is reached when equal");
        let marked = |mask: Vec<u8>| (0..mask.len()).filter(|&i| mask[i] > 0).collect::<Vec<_>>();
        assert_eq!(
            marked(kept(0.95)),
            [0, 1, 2, 3, 9],
            "the strong lesion keeps its whole extent, the weak one goes"
        );
        assert!(kept(0.995).iter().all(|&m| m == 0));
    }

    #[test]
    fn lesions_are_sorted_and_measured() {
        let dims = [5, 5, 1];
        let mut m = vec![0u8; 25];
        m[0] = 1;
        m[index(dims, 3, 3, 0)] = 1;
        m[index(dims, 4, 3, 0)] = 1;
        let l = lesions(&m, dims, 0.5, 2, None);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].voxels, 2);
        assert_eq!(l[0].volume_ml, 1.0);
        assert_eq!(l[0].centroid, [3.5, 3.0, 0.0]);
    }
}
