//! The segmentation pipeline: FLAIR (and optionally T1) in, WMH mask on the FLAIR
//! grid out.
//!
//! 1. The T1 is resampled onto the FLAIR grid through both affines and checked for overlap.
//! 2. Both are reoriented to RAS, normalised and cut into axial network planes.
//! 3. The WM network runs on T1, then the WMH network on FLAIR, only in the slices
//!    where the WM filter keeps anything (see [`Coverage`]).
//! 4. The WM region (holes filled, dilated, so dark-on-T1 lesions survive) filters the
//!    WMH probabilities; a threshold gives the mask, mapped back to the stored grid.
//!
//! [`Inputs`] and [`Inputs::finish`] are pure; only [`Network::predict`] touches a
//! device, so the browser can drive the same steps asynchronously.

pub mod preprocess;

use burn::prelude::*;
use burn_store::{HalfPrecisionAdapter, ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};

use crate::metrics::label_26;
use crate::model::{Ensemble, Symmetries, UNetConfig};
use crate::volume::{self, Reorientation, Volume, foreground_mask, index, resample};
pub use preprocess::{Normalisation, Plane, SliceStack};

/// Why a segmentation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The T1's field of view misses the FLAIR's head.
    #[error(
        "the T1 does not overlap the FLAIR in world space ({0:.0}% of the FLAIR head lies inside the T1's field of view)"
    )]
    NoOverlap(f64),
    /// The T1 overlaps but its foreground does not line up with the FLAIR's.
    #[error(
        "the T1 does not line up with the FLAIR (foreground Dice {:.2}, {:.0}% of the smaller foreground inside the other); register them first",
        .0.dice,
        .0.contained * 100.0
    )]
    Misaligned(Overlap),
    /// Weights or their settings could not be used.
    #[error("bad network weights: {0}")]
    Weights(String),
    /// The input volume is too small to segment.
    #[error("the image has no voxels above background")]
    EmptyImage,
}

/// Which network a set of weights belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// FLAIR to white matter hyperintensities.
    Wmh,
    /// T1 to the white-matter region (WMH included).
    Wm,
}

impl Task {
    /// File stem of this task's weights (`wmh` or `wm`).
    pub fn stem(self) -> &'static str {
        match self {
            Task::Wmh => "wmh",
            Task::Wm => "wm",
        }
    }
}

/// Everything besides the weights that inference needs; saved as `<task>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// The network's job.
    pub task: Task,
    /// Architecture settings.
    pub unet: UNetConfig,
    /// In-plane spacing (mm) the network was trained at.
    pub spacing_mm: f64,
    /// Probability at or above which a voxel is positive, chosen on training cases.
    #[serde(default = "default_threshold")]
    pub threshold: f32,
    /// Networks whose probabilities are averaged (an ensemble of seeds); with more than
    /// one, member `k`'s tensors are stored under `members.k.`.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub members: usize,
    /// WM task: in-plane dilation (mm) of the WM region before it filters lesions; a
    /// network whose labels include the WMH needs less than one that misses them.
    #[serde(
        default = "default_dilation",
        skip_serializing_if = "is_default_dilation"
    )]
    pub dilation_mm: f64,
    /// How the network's input is normalised (the z-score before it was configurable).
    #[serde(default, skip_serializing_if = "is_zscore")]
    pub normalisation: Normalisation,
}

/// In-plane spacings (mm) a network may declare: finer would make planes of millions
/// of pixels, coarser would blur away every lesion.
pub const SPACING_RANGE_MM: std::ops::RangeInclusive<f64> = 0.5..=4.0;
/// WM-region dilations (mm) a network may declare.
pub const DILATION_RANGE_MM: std::ops::RangeInclusive<f64> = 0.0..=20.0;

impl NetworkSpec {
    /// Refuses settings no trained network has: each would otherwise fail later, far
    /// from its cause, or silently (a NaN threshold marks nothing).
    pub fn check(&self) -> Result<(), PipelineError> {
        let bad = |what: String| Err(PipelineError::Weights(what));
        if self.unet.base_width == 0 || self.unet.base_width > 512 || self.unet.context > 8 {
            return bad(format!("implausible settings {:?}", self.unet));
        }
        if self.members == 0 || self.members > MAX_MEMBERS {
            return bad(format!(
                "{} ensemble members (1 to {MAX_MEMBERS} allowed)",
                self.members
            ));
        }
        if !SPACING_RANGE_MM.contains(&self.spacing_mm) {
            return bad(format!(
                "spacing_mm {} is outside {:?} mm",
                self.spacing_mm, SPACING_RANGE_MM
            ));
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return bad(format!(
                "threshold {} is not a probability (0 to 1)",
                self.threshold
            ));
        }
        if !DILATION_RANGE_MM.contains(&self.dilation_mm) {
            return bad(format!(
                "dilation_mm {} is outside {:?} mm",
                self.dilation_mm, DILATION_RANGE_MM
            ));
        }
        Ok(())
    }
}

fn is_zscore(n: &Normalisation) -> bool {
    *n == Normalisation::Zscore
}

/// The WM region's dilation of networks saved without one (trained on WM labels that
/// leave out the lesions, which are dark on T1).
pub const DEFAULT_WM_DILATION_MM: f64 = 4.0;

fn default_dilation() -> f64 {
    DEFAULT_WM_DILATION_MM
}

fn is_default_dilation(mm: &f64) -> bool {
    *mm == DEFAULT_WM_DILATION_MM
}

fn default_threshold() -> f32 {
    0.5
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// Most ensemble members a weights file may declare (each costs a network's time).
pub const MAX_MEMBERS: usize = 16;

/// A loaded network (one or an ensemble) with its settings.
#[derive(Debug)]
pub struct Network {
    /// The model.
    pub model: Ensemble,
    /// Its settings.
    pub spec: NetworkSpec,
}

/// Whether a SafeTensors file stores any f16 tensor (read from its JSON header).
pub fn stores_half(weights: &[u8]) -> bool {
    let Some(len) = weights
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
    else {
        return false;
    };
    usize::try_from(len)
        .ok()
        .and_then(|len| weights.get(8..8usize.checked_add(len)?))
        .is_some_and(|header| String::from_utf8_lossy(header).contains("\"dtype\":\"F16\""))
}

/// Loads SafeTensors `weights` into `module`, requiring every tensor to be present.
fn load_tensors<M: ModuleSnapshot>(module: &mut M, weights: &[u8]) -> Result<(), PipelineError> {
    let mut store = SafetensorsStore::from_bytes(Some(weights.to_vec()));
    if stores_half(weights) {
        // The adapter casts by the stored dtype: F16 comes back as F32.
        store = store.with_from_adapter(HalfPrecisionAdapter::new());
    }
    let result = module
        .load_from(&mut store)
        .map_err(|e| PipelineError::Weights(e.to_string()))?;
    if !result.missing.is_empty() {
        return Err(PipelineError::Weights(format!(
            "{} tensors missing, e.g. {:?}",
            result.missing.len(),
            result.missing.first()
        )));
    }
    Ok(())
}

impl Network {
    /// Loads a network from its settings (JSON) and SafeTensors weights.
    pub fn load(spec_json: &[u8], weights: &[u8], device: &Device) -> Result<Self, PipelineError> {
        let spec: NetworkSpec = serde_json::from_slice(spec_json)
            .map_err(|e| PipelineError::Weights(format!("settings: {e}")))?;
        spec.check()?;
        // A single network keeps the plain layout, so every earlier weights file loads.
        let model = if spec.members == 1 {
            let mut net = spec.unet.init(device);
            load_tensors(&mut net, weights)?;
            Ensemble::new(vec![net])
        } else {
            let members = (0..spec.members).map(|_| spec.unet.init(device)).collect();
            let mut ensemble = Ensemble::new(members);
            load_tensors(&mut ensemble, weights)?;
            ensemble
        };
        Ok(Self { model, spec })
    }

    /// Serialises the weights as SafeTensors bytes; `half` stores convolution weights
    /// as f16 (batch-norm statistics stay f32, where f16 would underflow).
    pub fn weights_bytes(&self, half: bool) -> Result<Vec<u8>, PipelineError> {
        let mut store = SafetensorsStore::from_bytes(None);
        if half {
            store = store.with_to_adapter(HalfPrecisionAdapter::new());
        }
        match self.model.members() {
            [single] => single.save_into(&mut store),
            _ => self.model.save_into(&mut store),
        }
        .map_err(|e| PipelineError::Weights(e.to_string()))?;
        store
            .get_bytes()
            .map_err(|e| PipelineError::Weights(e.to_string()))
    }

    /// Combines networks of one architecture and spacing into an ensemble that averages
    /// their probabilities, with the first one's threshold.
    pub fn ensemble(networks: Vec<Network>) -> Result<Self, PipelineError> {
        let first = networks
            .first()
            .ok_or_else(|| PipelineError::Weights("no networks to combine".into()))?;
        let spec = first.spec.clone();
        let mut members = Vec::new();
        for net in networks {
            let s = &net.spec;
            let input = |s: &NetworkSpec| (s.task, s.unet.clone(), s.spacing_mm, s.normalisation);
            if input(s) != input(&spec) {
                return Err(PipelineError::Weights(format!(
                    "cannot combine {:?} networks of {:?} at {} mm ({:?}) with {:?} networks of {:?} at {} mm ({:?})",
                    s.task,
                    s.unet,
                    s.spacing_mm,
                    s.normalisation,
                    spec.task,
                    spec.unet,
                    spec.spacing_mm,
                    spec.normalisation
                )));
            }
            members.extend(net.model.members().iter().cloned());
        }
        if members.len() > MAX_MEMBERS {
            return Err(PipelineError::Weights(format!(
                "{} members; at most {MAX_MEMBERS}",
                members.len()
            )));
        }
        Ok(Self {
            spec: NetworkSpec {
                members: members.len(),
                ..spec
            },
            model: Ensemble::new(members),
        })
    }

    /// Probabilities for slices `zs` averaged over `symmetries`, one padded plane per
    /// slice (synchronous read-back).
    pub fn predict(
        &self,
        stack: &SliceStack,
        zs: std::ops::Range<usize>,
        symmetries: Symmetries,
        device: &Device,
    ) -> Vec<Vec<f32>> {
        let context = self.spec.unet.context;
        predict(&self.model, context, stack, zs, symmetries, device)
    }
}

/// The network input for slices `zs` of `stack`: `[n, 2 * context + 1, py, px]`.
pub fn input_tensor(
    stack: &SliceStack,
    context: usize,
    zs: std::ops::Range<usize>,
    device: &Device,
) -> Tensor<4> {
    let n = zs.len();
    let mut buf = Vec::with_capacity(n * (2 * context + 1) * stack.plane.px * stack.plane.py);
    for z in zs {
        buf.extend(stack.input(z, context));
    }
    let shape = [n, 2 * context + 1, stack.plane.py, stack.plane.px];
    Tensor::from_data(TensorData::new(buf, shape), device)
}

/// Probabilities of `model` for slices `zs` averaged over `symmetries`, one padded
/// plane per slice.
pub fn predict(
    model: &Ensemble,
    context: usize,
    stack: &SliceStack,
    zs: std::ops::Range<usize>,
    symmetries: Symmetries,
    device: &Device,
) -> Vec<Vec<f32>> {
    let probs = model.probabilities_over(input_tensor(stack, context, zs, device), symmetries);
    split_planes(probs.into_data(), stack.plane)
}

/// Splits a `[n, 1, py, px]` read-back into one `Vec` per slice.
pub fn split_planes(data: TensorData, plane: Plane) -> Vec<Vec<f32>> {
    let values = data.try_into_vec::<f32>().expect("network output is f32");
    values
        .chunks(plane.px * plane.py)
        .map(<[f32]>::to_vec)
        .collect()
}

/// The two networks; the WM one is optional (FLAIR-only mode without it).
#[derive(Debug)]
pub struct Networks {
    /// FLAIR to WMH.
    pub wmh: Network,
    /// T1 to white-matter region.
    pub wm: Option<Network>,
}

impl Networks {
    /// How these networks' inputs are prepared.
    pub fn preparation(&self) -> Preparation {
        Preparation {
            spacing_mm: (
                self.wmh.spec.spacing_mm,
                self.wm.as_ref().map_or(1.0, |n| n.spec.spacing_mm),
            ),
            flair: self.wmh.spec.normalisation,
        }
    }

    /// Default post-processing for these networks (the WMH network's threshold).
    pub fn options(&self) -> Options {
        Options {
            threshold: self.wmh.spec.threshold,
            wm_filter: self.wm.is_some(),
            wm_dilation_mm: (self.wm.as_ref())
                .map_or(DEFAULT_WM_DILATION_MM, |n| n.spec.dilation_mm),
            min_lesion_mm3: 0.0,
            symmetries: Symmetries::One,
        }
    }
}

/// Inference and post-processing settings.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Probability at or above which a voxel is lesion.
    pub threshold: f32,
    /// In-plane dilation of the WM region, mm.
    pub wm_dilation_mm: f64,
    /// Whether to filter with the WM region when a T1 is given.
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
            wm_dilation_mm: DEFAULT_WM_DILATION_MM,
            wm_filter: true,
            min_lesion_mm3: 0.0,
            symmetries: Symmetries::One,
        }
    }
}

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
        let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        Self {
            dice: ratio(2 * both, na + nb),
            contained: ratio(both, na.min(nb)),
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
    /// The brain found in the T1 (canonical grid), outside which the T1 was zeroed.
    pub brain: Option<Vec<bool>>,
}

/// White matter is about 35-45 % of the brain. In a slice where the WM region covers
/// less than this fraction of the brain, the WM network failed there (an unusual
/// contrast or slice thickness), and the brain filters that slice instead, rather than
/// deleting true lesions with a wrong region.
pub const MIN_WM_FRACTION_OF_BRAIN: f64 = 0.15;

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
        let flair_stack = SliceStack::new(&flair.data, &flair, &reorient, spacing_mm.0, prep.flair);
        let (t1_stack, head_overlap, brain) = match t1 {
            None => (None, None, None),
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
                    )),
                    Some(overlap.dice),
                    Some(brain),
                )
            }
        };
        Ok(Self {
            reference: flair,
            reorient,
            flair: flair_stack,
            t1: t1_stack,
            head_overlap,
            brain,
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

    /// The filter region when a T1 was given, the WM network ran (`wm_planes`) and the
    /// filter is on.
    pub fn region(&self, wm_planes: Option<&[Vec<f32>]>, options: &Options) -> Option<Region> {
        match (wm_planes, &self.t1, options.wm_filter) {
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
                Some(Region {
                    voxels,
                    brain_fallback_slices,
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
        let wm_filtered = region.is_some();
        let wm_region = region.map(|r| {
            self.reorient
                .inverse(&r.voxels.iter().map(|&b| u8::from(b)).collect::<Vec<_>>())
        });
        let voxel_ml = self.reference.geometry.voxel_volume_mm3() / 1000.0;
        let brain_ml = (self.brain.as_ref())
            .filter(|_| wm_filtered)
            .map(|b| b.iter().filter(|&&v| v).count() as f64 * voxel_ml);
        let mut seg = Segmentation {
            probability,
            mask: Vec::new(),
            threshold: options.threshold,
            min_lesion_mm3: options.min_lesion_mm3,
            wm_region,
            lesions: Vec::new(),
            total_ml: 0.0,
            wm_filtered,
            brain_fallback_slices,
            brain_ml,
        };
        seg.rethreshold(&self.reference, options.threshold, options.min_lesion_mm3);
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

/// The T1 (stored order, on the FLAIR's grid) with everything outside the brain set
/// to zero, as the WM network learned on skull-stripped T1s (see [`crate::brain`]),
/// and the brain mask (canonical grid).
fn strip_skull(t1: &[f32], flair: &Volume, reorient: &Reorientation) -> (Vec<f32>, Vec<bool>) {
    let canonical = reorient.forward(t1);
    let spacing = reorient.canonical_spacing(flair.geometry.voxel_sizes());
    let brain = crate::brain::brain_mask(&canonical, reorient.canonical_dims(), spacing);
    let stripped: Vec<f32> = canonical
        .iter()
        .zip(&brain)
        .map(|(&v, &b)| if b { v } else { 0.0 })
        .collect();
    (reorient.inverse(&stripped), brain)
}

/// The WM region from WM probabilities (canonical grid): thresholded, holes filled in
/// each axial slice, then dilated in-plane by `dilation_mm`, so that lesions, which
/// are dark on T1 and may be missing from a plain WM mask, are kept.
pub fn wm_region(
    wm_prob: &[f32],
    dims: [usize; 3],
    spacing: [f64; 3],
    dilation_mm: f64,
) -> Vec<bool> {
    let mask: Vec<bool> = wm_prob.iter().map(|&p| p >= 0.5).collect();
    let filled = volume::fill_holes_per_slice(&mask, dims, 2);
    volume::dilate_in_plane(&filled, dims, spacing, dilation_mm)
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
}

/// Lists the 26-connected lesions of `mask`, largest first.
pub fn lesions(mask: &[u8], dims: [usize; 3], voxel_ml: f64, slice_axis: usize) -> Vec<Lesion> {
    let bin: Vec<bool> = mask.iter().map(|&m| m > 0).collect();
    let comps = label_26(&bin, dims);
    let mut sums = vec![[0.0f64; 3]; comps.count()];
    for (v, &l) in comps.labels.iter().enumerate() {
        if l > 0 {
            let s = &mut sums[l as usize - 1];
            s[0] += (v % dims[0]) as f64;
            s[1] += ((v / dims[0]) % dims[1]) as f64;
            s[2] += (v / (dims[0] * dims[1])) as f64;
        }
    }
    let mut out: Vec<Lesion> = comps
        .sizes
        .iter()
        .zip(sums)
        .map(|(&n, s)| {
            let centroid = s.map(|c| c / n as f64);
            Lesion {
                voxels: n,
                volume_ml: n as f64 * voxel_ml,
                centroid,
                slice: centroid[slice_axis].round() as usize,
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

/// Removes the 26-connected lesions of fewer than `min_voxels` voxels from a 0/1 mask.
pub fn drop_small_lesions(mask: &mut [u8], dims: [usize; 3], min_voxels: usize) {
    if min_voxels <= 1 {
        return;
    }
    let bin: Vec<bool> = mask.iter().map(|&m| m > 0).collect();
    let comps = label_26(&bin, dims);
    for (m, &l) in mask.iter_mut().zip(&comps.labels) {
        if l > 0 && comps.sizes[l as usize - 1] < min_voxels {
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
    /// Smallest lesion (mm³) kept in `mask`; 0 keeps every lesion.
    pub min_lesion_mm3: f64,
    /// 0/1 white-matter region used as filter, when a T1 was given.
    pub wm_region: Option<Vec<u8>>,
    /// Lesions, largest first.
    pub lesions: Vec<Lesion>,
    /// Total lesion volume in mL.
    pub total_ml: f64,
    /// Whether the WM filter was applied.
    pub wm_filtered: bool,
    /// Axial slices where the filter used the brain because the WM network found too
    /// little white matter there (see [`MIN_WM_FRACTION_OF_BRAIN`]).
    pub brain_fallback_slices: usize,
    /// Volume (mL) of the brain found in the T1, when the filter ran.
    pub brain_ml: Option<f64>,
}

/// Smallest brain (mL) an adult head has. A smaller brain found in the T1 means the
/// extraction missed part of it (or kept scalp and neck instead), and the filter may
/// have removed true lesions there.
pub const MIN_BRAIN_ML: f64 = 600.0;

impl Segmentation {
    /// Re-draws the mask, lesions and total volume at another threshold and minimum
    /// lesion size from the kept probabilities, so a user can move either without
    /// running the networks again; `reference` is the FLAIR whose grid the
    /// probabilities are on.
    pub fn rethreshold(&mut self, reference: &Volume, threshold: f32, min_lesion_mm3: f64) {
        self.mask = self
            .probability
            .iter()
            .map(|&p| u8::from(p >= threshold))
            .collect();
        self.threshold = threshold;
        self.min_lesion_mm3 = min_lesion_mm3;
        let voxel_mm3 = reference.geometry.voxel_volume_mm3();
        drop_small_lesions(
            &mut self.mask,
            reference.dims,
            min_lesion_voxels(self.min_lesion_mm3, voxel_mm3),
        );
        let voxel_ml = voxel_mm3 / 1000.0;
        let axis = volume::affine::slice_axis(&reference.geometry.affine);
        self.lesions = lesions(&self.mask, reference.dims, voxel_ml, axis);
        self.total_ml = total_ml(&self.lesions);
    }

    /// How the filter was applied, in words, for summaries; it warns when the brain
    /// found in the T1 is too small to be whole.
    pub fn filter_description(&self) -> String {
        let mut text = match (self.wm_filtered, self.brain_fallback_slices) {
            (false, _) => "white-matter filter off".to_string(),
            (true, 0) => "white-matter filter on".to_string(),
            (true, n) => format!(
                "white-matter filter on; the brain mask stood in for it in {n} slice{} where \
                 the WM network found too little white matter",
                if n == 1 { "" } else { "s" }
            ),
        };
        if let Some(ml) = self.brain_ml.filter(|&ml| ml < MIN_BRAIN_ML) {
            text += &format!(
                "; warning: the brain found in the T1 is only {ml:.0} mL (an adult brain is \
                 over {MIN_BRAIN_ML:.0} mL), so brain extraction missed part of it and the \
                 filter may have removed true lesions: check the white-matter region, or \
                 segment without the filter"
            );
        }
        text
    }
}

/// Progress of a segmentation, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// WMH network, slices done of total.
    Wmh(usize, usize),
    /// WM network, slices done of total.
    Wm(usize, usize),
}

/// The white-matter filter's region on the canonical grid: the WM network's map,
/// hole-filled, dilated and cut to the brain (see [`wm_region`], [`within_brain`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// Canonical voxels the filter keeps.
    pub voxels: Vec<bool>,
    /// Axial slices where the brain stood in for a WM map that covered too little of it.
    pub brain_fallback_slices: usize,
}

/// Per-slice network outputs (padded planes) of both networks, and the filter region
/// the WM planes give.
#[derive(Debug, Clone)]
pub struct Planes {
    /// WMH probabilities, one plane per canonical slice (zero where the network did not
    /// run, see [`Coverage`]).
    pub wmh: Vec<Vec<f32>>,
    /// WM probabilities, when a T1 and a WM network were given and the filter is on.
    pub wm: Option<Vec<Vec<f32>>>,
    /// The filter region from `wm` ([`Inputs::region`]).
    pub region: Option<Region>,
}

/// Which slices the networks run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Only where the result can differ from zero: the WM network in slices holding
    /// brain ([`Inputs::wm_slices`]), the WMH network where the WM filter keeps
    /// anything ([`Inputs::wmh_slices`]). The result is the same, and slices above
    /// and below the brain cost nothing.
    Needed,
    /// Every slice, for scoring the WMH network without the filter (and the WM
    /// network's raw output).
    Every,
}

/// The batches (at most `batch` slices, never across a skipped slice) that cover the
/// slices marked in `needed`, in order.
pub fn batches(needed: &[bool], batch: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut z = 0;
    while z < needed.len() {
        if !needed[z] {
            z += 1;
            continue;
        }
        let mut end = z + 1;
        while end < needed.len() && needed[end] && end - z < batch.max(1) {
            end += 1;
        }
        out.push(z..end);
        z = end;
    }
    out
}

/// Runs both networks batch by batch (synchronously), the WM network first so that the
/// WMH network can skip what the filter removes (per `coverage`), reporting progress.
/// Skipped slices get zero planes.
pub fn predict_all(
    inputs: &Inputs,
    networks: &Networks,
    device: &Device,
    options: &Options,
    coverage: Coverage,
    batch: usize,
    progress: &mut dyn FnMut(Stage),
) -> Planes {
    let run_one = |net: &Network,
                   stack: &SliceStack,
                   needed: &[bool],
                   symmetries: Symmetries,
                   stage: fn(usize, usize) -> Stage,
                   progress: &mut dyn FnMut(Stage)| {
        let mut planes = vec![vec![0.0; stack.plane.px * stack.plane.py]; stack.slices()];
        let todo = needed.iter().filter(|&&n| n).count();
        let mut done = 0;
        for zs in batches(needed, batch) {
            done += zs.len();
            let start = zs.start;
            for (k, p) in net
                .predict(stack, zs, symmetries, device)
                .into_iter()
                .enumerate()
            {
                planes[start + k] = p;
            }
            progress(stage(done, todo));
        }
        planes
    };
    let wm = match (&networks.wm, &inputs.t1, options.wm_filter) {
        (Some(net), Some(stack), true) => {
            let needed = match coverage {
                Coverage::Needed => inputs.wm_slices(),
                Coverage::Every => vec![true; stack.slices()],
            };
            Some(run_one(
                net,
                stack,
                &needed,
                Symmetries::One,
                Stage::Wm,
                progress,
            ))
        }
        _ => None,
    };
    let region = inputs.region(wm.as_deref(), options);
    let needed = match coverage {
        Coverage::Needed => inputs.wmh_slices(region.as_ref()),
        Coverage::Every => vec![true; inputs.flair.slices()],
    };
    let wmh = run_one(
        &networks.wmh,
        &inputs.flair,
        &needed,
        options.symmetries,
        Stage::Wmh,
        progress,
    );
    Planes { wmh, wm, region }
}

/// Runs both networks and finishes the segmentation.
pub fn run(
    inputs: &Inputs,
    networks: &Networks,
    device: &Device,
    options: &Options,
    batch: usize,
    progress: &mut dyn FnMut(Stage),
) -> Segmentation {
    let planes = predict_all(
        inputs,
        networks,
        device,
        options,
        Coverage::Needed,
        batch,
        progress,
    );
    inputs.finish(&planes.wmh, planes.region.as_ref(), options)
}

/// The lesions' total volume in mL: 0 without lesions (an empty f64 sum is -0.0, which
/// summaries would print as "-0.00 mL").
fn total_ml(lesions: &[Lesion]) -> f64 {
    lesions.iter().map(|l| l.volume_ml).sum::<f64>() + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(width: usize, device: &Device) -> Network {
        let unet = UNetConfig::new().with_base_width(width).with_context(0);
        Network {
            model: Ensemble::new(vec![unet.init(device)]),
            spec: NetworkSpec {
                task: Task::Wmh,
                unet,
                spacing_mm: 1.0,
                threshold: 0.5,
                members: 1,
                dilation_mm: DEFAULT_WM_DILATION_MM,
                normalisation: Normalisation::Zscore,
            },
        }
    }

    /// A fresh WMH network of width 8 and WM network of width 2. Width 8, not 2, for
    /// WMH: a fresh width-2 network is constant often enough (about one draw in
    /// fifteen, every ReLU before the output dead) to be invariant to symmetries.
    fn tiny_pair(device: &Device) -> Networks {
        let mut wm = tiny(2, device);
        wm.spec.task = Task::Wm;
        Networks {
            wmh: tiny(8, device),
            wm: Some(wm),
        }
    }

    #[test]
    fn a_brain_too_small_to_be_whole_is_warned_about() {
        let seg = |wm_filtered, brain_fallback_slices, brain_ml| Segmentation {
            probability: Vec::new(),
            mask: Vec::new(),
            threshold: 0.5,
            min_lesion_mm3: 0.0,
            wm_region: None,
            lesions: Vec::new(),
            total_ml: 0.0,
            wm_filtered,
            brain_fallback_slices,
            brain_ml,
        };
        assert_eq!(
            seg(false, 0, None).filter_description(),
            "white-matter filter off"
        );
        assert_eq!(
            seg(true, 0, Some(1300.0)).filter_description(),
            "white-matter filter on"
        );
        assert!(
            seg(true, 2, Some(1300.0))
                .filter_description()
                .ends_with("white matter")
        );
        let small = seg(true, 0, Some(476.0)).filter_description();
        assert!(
            small.contains("only 476 mL (an adult brain is over 600 mL)"),
            "{small}"
        );
        assert!(
            !seg(true, 0, Some(2600.0))
                .filter_description()
                .contains("warning")
        );
    }

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

    #[test]
    fn no_lesions_total_a_positive_zero() {
        let total = total_ml(&[]);
        assert!(total == 0.0 && total.is_sign_positive(), "{total}");
        assert_eq!(format!("{:.2}", total_ml(&[])), "0.00");
    }

    #[test]
    fn settings_outside_their_ranges_are_refused_on_load() {
        let device = Device::flex();
        let net = tiny(2, &device);
        let weights = net.weights_bytes(false).unwrap();
        let load = |edit: &dyn Fn(&mut NetworkSpec)| {
            let mut spec = net.spec.clone();
            edit(&mut spec);
            Network::load(&serde_json::to_vec(&spec).unwrap(), &weights, &device)
        };
        assert!(load(&|_| {}).is_ok());
        type Edit = fn(&mut NetworkSpec);
        let refused: [(Edit, &str); 6] = [
            (|s| s.spacing_mm = 0.001, "spacing_mm"),
            (|s| s.spacing_mm = 100.0, "spacing_mm"),
            (|s| s.threshold = 1.5, "threshold"),
            (|s| s.threshold = -0.1, "threshold"),
            (|s| s.dilation_mm = -1.0, "dilation_mm"),
            (|s| s.dilation_mm = 1.0e9, "dilation_mm"),
        ];
        for (edit, word) in refused {
            let err = load(&edit).unwrap_err().to_string();
            assert!(err.contains(word), "{err}");
        }
        // JSON has no NaN; a spec built in code is checked all the same.
        let mut spec = net.spec.clone();
        spec.threshold = f32::NAN;
        assert!(spec.check().is_err());
    }

    #[test]
    fn the_flair_normalisation_is_read_from_the_wmh_networks_settings() {
        let device = Device::flex();
        let old = r#"{"task":"wmh","unet":{"base_width":2,"context":0},"spacing_mm":1.0}"#;
        let spec: NetworkSpec = serde_json::from_str(old).unwrap();
        assert_eq!(spec.normalisation, Normalisation::Zscore);
        assert!(
            !serde_json::to_string(&spec)
                .unwrap()
                .contains("normalisation")
        );
        let mut wmh = tiny(2, &device);
        wmh.spec.normalisation = Normalisation::Peak;
        let json = serde_json::to_string(&wmh.spec).unwrap();
        assert!(json.contains(r#""normalisation":"peak""#));
        assert_eq!(
            serde_json::from_str::<NetworkSpec>(&json).unwrap(),
            wmh.spec
        );
        let networks = Networks { wmh, wm: None };
        assert_eq!(networks.preparation().flair, Normalisation::Peak);
        // The FLAIR is prepared as the network was trained; the T1 keeps its z-score.
        let case = crate::phantom::example();
        let inputs =
            Inputs::prepare(case.flair.clone(), Some(&case.t1), networks.preparation()).unwrap();
        let zscored = Inputs::prepare(case.flair, Some(&case.t1), Preparation::default()).unwrap();
        assert_ne!(inputs.flair.data, zscored.flair.data);
        assert_eq!(inputs.t1.unwrap().data, zscored.t1.unwrap().data);
    }

    #[test]
    fn the_wm_networks_dilation_is_read_from_its_settings() {
        let device = Device::flex();
        let old = r#"{"task":"wm","unet":{"base_width":2,"context":0},"spacing_mm":1.0}"#;
        let spec: NetworkSpec = serde_json::from_str(old).unwrap();
        assert_eq!(spec.dilation_mm, DEFAULT_WM_DILATION_MM);
        assert!(
            !serde_json::to_string(&spec)
                .unwrap()
                .contains("dilation_mm")
        );
        let mut wm = tiny(2, &device);
        wm.spec.task = Task::Wm;
        wm.spec.dilation_mm = 1.5;
        let json = serde_json::to_string(&wm.spec).unwrap();
        assert_eq!(
            serde_json::from_str::<NetworkSpec>(&json)
                .unwrap()
                .dilation_mm,
            1.5
        );
        let with_wm = Networks {
            wmh: tiny(2, &device),
            wm: Some(wm),
        };
        assert_eq!(with_wm.options().wm_dilation_mm, 1.5);
        let without = Networks {
            wmh: tiny(2, &device),
            wm: None,
        };
        assert_eq!(without.options().wm_dilation_mm, DEFAULT_WM_DILATION_MM);
    }

    #[test]
    fn an_ensemble_survives_a_round_trip_and_refuses_other_widths() {
        let device = Device::flex();
        let ens = Network::ensemble(vec![tiny(2, &device), tiny(2, &device)]).unwrap();
        assert_eq!(ens.spec.members, 2);
        let json = serde_json::to_vec(&ens.spec).unwrap();
        let back = Network::load(&json, &ens.weights_bytes(false).unwrap(), &device).unwrap();
        let x = Tensor::<4>::ones([1, 1, 16, 16], &device);
        let a = ens.model.probabilities(x.clone()).into_data();
        let b = back.model.probabilities(x).into_data();
        assert_eq!(a, b);
        // One member's tensors under the ensemble layout are missing half the tensors.
        let two = NetworkSpec {
            members: 2,
            ..tiny(2, &device).spec
        };
        let members2 = serde_json::to_vec(&two).unwrap();
        let single = tiny(2, &device).weights_bytes(false).unwrap();
        assert!(Network::load(&members2, &single, &device).is_err());
        assert!(Network::ensemble(vec![tiny(2, &device), tiny(4, &device)]).is_err());
        // Members must have seen the same input normalisation.
        let mut peak = tiny(2, &device);
        peak.spec.normalisation = Normalisation::Peak;
        assert!(Network::ensemble(vec![tiny(2, &device), peak]).is_err());
        assert!(Network::ensemble(Vec::new()).is_err());
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

    #[test]
    fn symmetries_average_the_wmh_network_only() {
        let device = Device::flex();
        let case = crate::phantom::example();
        let inputs = Inputs::prepare(case.flair, Some(&case.t1), Preparation::default()).unwrap();
        let networks = tiny_pair(&device);
        let planes = |symmetries| {
            let options = Options {
                symmetries,
                ..Options::default()
            };
            predict_all(
                &inputs,
                &networks,
                &device,
                &options,
                Coverage::Every,
                4,
                &mut |_| {},
            )
        };
        let (one, eight) = (planes(Symmetries::One), planes(Symmetries::Eight));
        assert_eq!(one.wm, eight.wm);
        assert_eq!(one.wmh.len(), eight.wmh.len());
        assert_ne!(one.wmh, eight.wmh);
        // The average of probabilities is a probability.
        assert!(eight.wmh.iter().flatten().all(|p| (0.0..=1.0).contains(p)));
    }

    #[test]
    fn batches_cover_the_needed_slices_without_crossing_a_gap() {
        let needed = [
            false, true, true, true, false, true, false, false, true, true,
        ];
        assert_eq!(batches(&needed, 2), vec![1..3, 3..4, 5..6, 8..10]);
        assert_eq!(batches(&needed, 0), batches(&needed, 1));
        assert_eq!(batches(&needed, 9), vec![1..4, 5..6, 8..10]);
        assert!(batches(&[false; 3], 4).is_empty());
    }

    #[test]
    fn skipping_slices_the_filter_empties_changes_no_output() {
        let device = Device::flex();
        // Thin slices over a taller field than the head, so some slices hold no brain.
        let affine = [
            [1.0, 0.0, 0.0, -32.0],
            [0.0, 1.0, 0.0, -32.0],
            [0.0, 0.0, 4.0, -100.0],
        ];
        let case = crate::phantom::generate([64, 64, 50], affine, 3);
        let inputs = Inputs::prepare(case.flair, Some(&case.t1), Preparation::default()).unwrap();
        let networks = tiny_pair(&device);
        let options = Options {
            threshold: 0.3,
            ..Options::default()
        };
        let planes = |coverage| {
            predict_all(
                &inputs,
                &networks,
                &device,
                &options,
                coverage,
                3,
                &mut |_| {},
            )
        };
        let (every, needed) = (planes(Coverage::Every), planes(Coverage::Needed));
        let brain = inputs.wm_slices();
        assert!(brain.contains(&false) && brain.contains(&true), "{brain:?}");
        let (every_wm, needed_wm) = (every.wm.as_ref().unwrap(), needed.wm.as_ref().unwrap());
        for (z, &b) in brain.iter().enumerate() {
            if b {
                assert_eq!(every_wm[z], needed_wm[z], "slice {z}");
            } else {
                assert!(needed_wm[z].iter().all(|&p| p == 0.0), "slice {z}");
            }
        }
        assert_eq!(every.region, needed.region);
        let kept = inputs.wmh_slices(every.region.as_ref());
        assert!((kept.iter().zip(&brain)).all(|(&k, &b)| b || !k));
        for (z, &k) in kept.iter().enumerate() {
            if k {
                assert_eq!(every.wmh[z], needed.wmh[z], "slice {z}");
            } else {
                assert!(needed.wmh[z].iter().all(|&p| p == 0.0), "slice {z}");
                assert!(every.wmh[z].iter().any(|&p| p > 0.0), "slice {z}");
            }
        }
        let a = inputs.finish(&every.wmh, every.region.as_ref(), &options);
        let b = inputs.finish(&needed.wmh, needed.region.as_ref(), &options);
        assert_eq!(a.probability, b.probability);
        assert_eq!(a.mask, b.mask);
        assert_eq!(a.wm_region, b.wm_region);
        // Without the filter every slice is needed.
        let off = Options {
            wm_filter: false,
            ..options
        };
        assert!(inputs.region(every.wm.as_deref(), &off).is_none());
        assert!(inputs.wmh_slices(None).iter().all(|&k| k));
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
            moved.rethreshold(&inputs.reference, 0.9, min_mm3);
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
            drop_small_lesions(&mut mask, dims, min_lesion_voxels(min_mm3, 2.0));
            lesions(&mask, dims, 0.002, 2)
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
    fn lesions_are_sorted_and_measured() {
        let dims = [5, 5, 1];
        let mut m = vec![0u8; 25];
        m[0] = 1;
        m[index(dims, 3, 3, 0)] = 1;
        m[index(dims, 4, 3, 0)] = 1;
        let l = lesions(&m, dims, 0.5, 2);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].voxels, 2);
        assert_eq!(l[0].volume_ml, 1.0);
        assert_eq!(l[0].centroid, [3.5, 3.0, 0.0]);
    }
}
