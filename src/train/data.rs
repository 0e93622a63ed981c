//! Training data: real cases from `../shared/data`, normalised exactly as at
//! inference, and random augmented patches drawn from them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use rand::RngExt;

use super::augment::{self, Intensity, Warp};
use super::lesions::Lesions;
use super::{head, synth, transplant};
use crate::pipeline::{Normalisation, SliceStack, Task};
use crate::volume::{Reorientation, Volume, foreground_mask};
use crate::{case, files};

/// One subject: the normalised image in canonical order and its labels.
#[derive(Debug)]
pub struct Case {
    /// Folder name, e.g. `simvent-104252` or `tissue/mass-03`.
    pub name: String,
    /// Normalised image slices (the same preprocessing as inference).
    pub stack: SliceStack,
    /// 1 for the positive class, per canonical voxel.
    pub label: Vec<f32>,
    /// 0 where the label says "ignore" (WMH label 2), else 1.
    pub valid: Vec<f32>,
    /// Canonical in-plane spacing (mm).
    pub spacing: (f64, f64),
    /// Positive voxels as (z, x, y), for lesion-centred sampling.
    pub positives: Vec<(usize, usize, usize)>,
    /// The positives grouped by lesion, labelled on first use ([`Case::lesions`]).
    lesions: OnceLock<Lesions>,
    /// A subsample of foreground voxels as (z, x, y).
    pub foreground: Vec<(usize, usize, usize)>,
    /// A subsample of the voxels [`bright_negatives`] finds, as (z, x, y): the hard
    /// negatives.
    pub bright: Vec<(usize, usize, usize)>,
}

/// Quantile of a case's lesion intensities above which a voxel outside the lesions
/// counts as a hard negative.
const BRIGHT_LESION_QUANTILE: f64 = 10.0;

/// Valid non-lesion voxels of `mask` at least as bright as the dimmest tenth of the
/// lesions: where a network that learned "bright means lesion" goes wrong (cortex,
/// ependyma, brainstem on an unfamiliar scanner). Empty without lesions.
pub fn bright_negatives(data: &[f32], label: &[f32], valid: &[f32], mask: &[bool]) -> Vec<usize> {
    let lesion: Vec<f32> = (data.iter().zip(label))
        .filter(|&(_, &l)| l > 0.5)
        .map(|(&v, _)| v)
        .collect();
    if lesion.is_empty() {
        return Vec::new();
    }
    let cutoff = crate::volume::percentile(&lesion, BRIGHT_LESION_QUANTILE);
    (0..data.len())
        .filter(|&i| mask[i] && label[i] < 0.5 && valid[i] > 0.5 && data[i] >= cutoff)
        .collect()
}

fn read(path: &Path) -> Result<Volume> {
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    Volume::from_nifti_bytes(&bytes).with_context(|| format!("{}", path.display()))
}

/// Where a case's image and label live, and how to turn label values into classes
/// (`Some(true)` positive, `Some(false)` negative, `None` ignored).
struct Source {
    image: std::path::PathBuf,
    label: std::path::PathBuf,
    classify: fn(f32) -> Option<bool>,
    /// For a transplant ([`TRANSPLANT_SEPARATOR`]): the recipient's T1 and the donor's
    /// T1 and WMH labels.
    transplant: Option<[PathBuf; 3]>,
}

/// Suffix of a WM case name that wraps the skull-stripped brain in a synthetic head.
pub const HEAD_SUFFIX: &str = "+head";

/// Prefix of the `wmh2017/` cases (T1 with skull and WMH labels, no FLAIR). For the
/// WMH task their FLAIR is simulated (a `#k` suffix, e.g. `wmh2017/utrecht-0#2`,
/// draws another contrast for the same scan); for the WM task the T1 is
/// skull-stripped as at inference and labelled by the tissue classifier.
pub const SYNTH_PREFIX: &str = "wmh2017/";

/// Separates a `wmh2017/` donor from a real WMH case in a WMH case name
/// (`wmh2017/<donor>@<case>`): the case's FLAIR with the donor's lesions transplanted
/// into its white matter (see [`super::transplant`]).
pub const TRANSPLANT_SEPARATOR: char = '@';

/// Prefix of the WMH cases with vascular WMH (FLAIR, T1 and labels under
/// `vascular/`): held out of every network scored on them, trained on only by the
/// shipped networks.
pub const VASCULAR_PREFIX: &str = "vascular/";

/// The same seed for the same name on every run and platform.
fn name_seed(name: &str) -> u64 {
    name.bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b.into()))
}

/// A case folder's image (see [`crate::case`]); where it is missing, the name an error
/// will give.
fn in_case(folder: &Path, stem: &str) -> PathBuf {
    case::find(folder, stem).unwrap_or_else(|| folder.join(case::file_name(stem)))
}

/// The folder of a real WMH case: `vascular/<case>` from the data root, the rest
/// under `flair/`.
fn wmh_folder(data: &Path, name: &str) -> PathBuf {
    if name.starts_with(VASCULAR_PREFIX) {
        data.join(name)
    } else {
        data.join("flair").join(name)
    }
}

fn source(data: &Path, task: Task, name: &str) -> Source {
    let name = name.strip_suffix(HEAD_SUFFIX).unwrap_or(name);
    match (task, name) {
        (Task::Wmh, transplant)
            if transplant.starts_with(SYNTH_PREFIX)
                && transplant.contains(TRANSPLANT_SEPARATOR) =>
        {
            let (donor, recipient) = transplant
                .split_once(TRANSPLANT_SEPARATOR)
                .unwrap_or((transplant, ""));
            let (donor, folder) = (data.join(donor), wmh_folder(data, recipient));
            Source {
                image: in_case(&folder, case::FLAIR),
                label: in_case(&folder, case::WMH),
                classify: wmh_class,
                transplant: Some([
                    in_case(&folder, case::T1),
                    in_case(&donor, case::T1),
                    in_case(&donor, case::WMH),
                ]),
            }
        }
        (_, wmh2017) if wmh2017.starts_with(SYNTH_PREFIX) => {
            let folder = data.join(wmh2017.split('#').next().unwrap_or(wmh2017));
            Source {
                image: in_case(&folder, case::T1),
                label: in_case(&folder, case::WMH),
                classify: wmh_class,
                transplant: None,
            }
        }
        (Task::Wmh, _) => {
            let folder = wmh_folder(data, name);
            Source {
                image: in_case(&folder, case::FLAIR),
                label: in_case(&folder, case::WMH),
                classify: wmh_class,
                transplant: None,
            }
        }
        (Task::Wm, "mni152") => Source {
            image: data.join("templates/mni152/t1.nii.gz"),
            label: data.join("templates/mni152/wm_prob.nii.gz"),
            classify: |v| Some(v >= 127.5),
            transplant: None,
        },
        (Task::Wm, _) => Source {
            image: data.join(name).join("t1.nii.gz"),
            label: data.join(name).join("tissue.nii.gz"),
            classify: |v| Some(v.round() as i64 == 3),
            transplant: None,
        },
    }
}

/// Share of the labelled WMH voxels that the extracted brain must hold for a
/// `wmh2017/` T1 to serve the WM task.
const MIN_LESIONS_IN_BRAIN: f64 = 0.95;

/// The WM-region label of a T1 with skull and its WMH labels, in [`wmh_class`]
/// values: the T1 is stripped by [`crate::brain`] exactly as inference strips it (and
/// zeroed outside), classified by [`crate::tissue`], and the region is its white
/// matter plus the WMH (dark on T1, so the classifier calls them grey matter or CSF);
/// other pathology (label 2) is ignored.
fn wm_region_label(t1: &mut Volume, wmh: &[f32]) -> Result<Vec<f32>> {
    let brain = crate::brain::brain_mask_stored(&t1.data, &t1.geometry.affine, t1.dims);
    // Lesions lie in the brain: where the extraction missed them it missed the brain
    // (it fails on some thick-slice scans), and the labels would teach scalp as WM.
    let lesions = wmh.iter().filter(|&&w| wmh_class(w) == Some(true)).count();
    let inside = (wmh.iter().zip(&brain))
        .filter(|&(&w, &b)| b && wmh_class(w) == Some(true))
        .count();
    if (inside as f64) < MIN_LESIONS_IN_BRAIN * lesions as f64 {
        bail!(
            "brain extraction holds only {inside} of the {lesions} labelled WMH voxels; \
             leave this case out"
        );
    }
    for (v, &b) in t1.data.iter_mut().zip(&brain) {
        if !b {
            *v = 0.0;
        }
    }
    let tissue = crate::tissue::classify(&t1.data, t1.dims, &brain, &Default::default())?;
    Ok((wmh.iter().zip(&tissue.labels))
        .map(|(&w, &t)| match wmh_class(w) {
            None => 2.0,
            Some(true) => 1.0,
            Some(false) => f32::from(u8::from(t == crate::tissue::WM)),
        })
        .collect())
}

/// WMH label values: 1 lesion, 2 other pathology (ignored, as the challenge does).
pub fn wmh_class(v: f32) -> Option<bool> {
    match v.round() as i64 {
        1 => Some(true),
        2 => None,
        _ => Some(false),
    }
}

/// Builds what a case name asks for from its files: the brain wrapped in a synthetic
/// head ([`HEAD_SUFFIX`]), WM-region labels of a `wmh2017/` head T1 (WM task), or a
/// FLAIR simulated from it (WMH task; see [`SYNTH_PREFIX`]).
fn derive(
    task: Task,
    name: &str,
    src: &Source,
    image: &mut Volume,
    label: &mut Volume,
    variation: synth::Variation,
) -> Result<()> {
    if task == Task::Wm && name.ends_with(HEAD_SUFFIX) {
        let wm: Vec<f32> = (image.data.iter().zip(&label.data))
            .filter(|&(_, &l)| (src.classify)(l) == Some(true))
            .map(|(&v, _)| v)
            .collect();
        if wm.is_empty() {
            bail!("{name}: no white matter to scale a synthetic head to");
        }
        let level = crate::volume::percentile(&wm, 50.0);
        let spacing = image.geometry.voxel_sizes();
        head::wrap_in_head(&mut image.data, image.dims, spacing, level, name_seed(name));
    }
    if task == Task::Wm && name.starts_with(SYNTH_PREFIX) {
        label.data = wm_region_label(image, &label.data)
            .with_context(|| format!("{name}: tissue classification"))?;
    }
    if task == Task::Wmh && name.starts_with(SYNTH_PREFIX) {
        let lesion: Vec<bool> = (label.data.iter())
            .map(|&l| (src.classify)(l) == Some(true))
            .collect();
        if let Some([t1, donor_t1, donor_label]) = &src.transplant {
            let t1 = files::read_volume(t1)?;
            let donor_t1 = files::read_volume(donor_t1)?;
            let donor_label = files::read_on_grid(donor_label, &donor_t1, "donor WMH label")?;
            let donor_lesion: Vec<bool> = (donor_label.data.iter())
                .map(|&l| wmh_class(l) == Some(true))
                .collect();
            let t = transplant::transplant(
                image,
                &t1,
                &lesion,
                &donor_t1,
                &donor_lesion,
                name_seed(name),
            )
            .with_context(|| format!("{name}: transplant"))?;
            image.data = t.flair;
            for (l, added) in label.data.iter_mut().zip(t.lesion) {
                if added {
                    *l = 1.0;
                }
            }
        } else {
            image.data = synth::simulate(image, &lesion, name_seed(name), variation).0;
        }
    }
    Ok(())
}

impl Case {
    /// Loads a case for `task`: WMH cases are `flair/` folder names or
    /// `vascular/<case>` ([`VASCULAR_PREFIX`]); WM cases are
    /// `tissue/<name>` or `mni152`, with [`HEAD_SUFFIX`] for the brain in a synthetic
    /// head; both take `wmh2017/<name>` (see [`SYNTH_PREFIX`]), and WMH takes
    /// `wmh2017/<name>@<case>` (see [`TRANSPLANT_SEPARATOR`]).
    pub fn load(
        data: &Path,
        task: Task,
        name: &str,
        spacing_mm: f64,
        norm: Normalisation,
        variation: synth::Variation,
    ) -> Result<Self> {
        let src = source(data, task, name);
        let mut image = read(&src.image)?;
        let mut label = read(&src.label)?;
        if image.dims != label.dims {
            bail!(
                "{name}: label grid {:?} differs from image grid {:?}",
                label.dims,
                image.dims
            );
        }
        derive(task, name, &src, &mut image, &mut label, variation)?;
        let reorient = Reorientation::to_ras(&image.geometry.affine, image.dims);
        let stack = SliceStack::new(&image.data, &image, &reorient, spacing_mm, norm, None);
        let classes: Vec<Option<bool>> = reorient
            .forward(&label.data)
            .into_iter()
            .map(src.classify)
            .collect();
        let label: Vec<f32> = classes
            .iter()
            .map(|c| f32::from(u8::from(*c == Some(true))))
            .collect();
        let valid: Vec<f32> = classes
            .iter()
            .map(|c| f32::from(u8::from(c.is_some())))
            .collect();
        let sp = reorient.canonical_spacing(image.geometry.voxel_sizes());
        let d = stack.dims;
        let fg = foreground_mask(&reorient.forward(&image.data), d, 2);
        let coords = |v: usize| (v / (d[0] * d[1]), v % d[0], (v / d[0]) % d[1]);
        let positives = (0..label.len())
            .filter(|&v| label[v] > 0.5)
            .map(coords)
            .collect();
        let foreground = (0..fg.len())
            .filter(|&v| fg[v])
            .step_by(11)
            .map(coords)
            .collect();
        let bright = bright_negatives(&stack.data, &label, &valid, &fg)
            .into_iter()
            .step_by(11)
            .map(coords)
            .collect();
        Ok(Self {
            name: name.to_string(),
            stack,
            label,
            valid,
            spacing: (sp[0], sp[1]),
            positives,
            lesions: OnceLock::new(),
            foreground,
            bright,
        })
    }

    /// The positives grouped by lesion, labelled the first time they are asked for.
    pub fn lesions(&self) -> &Lesions {
        (self.lesions).get_or_init(|| Lesions::group(self.stack.dims, &self.positives))
    }

    /// Number of positive voxels and of valid voxels (for the class balance).
    pub fn counts(&self) -> (usize, usize) {
        positive_and_valid(&self.label, &self.valid)
    }
}

/// Voxels that are positive and valid, and voxels that are valid, of 0/1 maps.
fn positive_and_valid(target: &[f32], valid: &[f32]) -> (usize, usize) {
    let pos = (target.iter().zip(valid))
        .filter(|&(&t, &v)| t > 0.5 && v > 0.5)
        .count();
    (pos, valid.iter().filter(|&&v| v > 0.5).count())
}

/// One training sample: input channels, target and validity, each `size x size`.
#[derive(Debug, Clone)]
pub struct Sample {
    /// `channels * size * size` normalised intensities.
    pub input: Vec<f32>,
    /// `size * size` 0/1 targets.
    pub target: Vec<f32>,
    /// `size * size` 1 where the loss counts.
    pub valid: Vec<f32>,
}

impl Sample {
    /// Number of positive voxels and of valid voxels where the loss counts.
    pub fn counts(&self) -> (usize, usize) {
        positive_and_valid(&self.target, &self.valid)
    }
}

/// How samples are drawn.
#[derive(Debug, Clone, Copy)]
pub struct Sampling {
    /// Patch side in pixels (at the target spacing).
    pub size: usize,
    /// Neighbouring slices on each side.
    pub context: usize,
    /// In-plane spacing of the patches (mm).
    pub spacing_mm: f64,
    /// Probability of centring on a positive voxel.
    pub positive_fraction: f64,
    /// Of the patches centred on a positive voxel, the share whose voxel comes from a
    /// lesion drawn uniformly ([`Lesions::draw`]) rather than from all lesion voxels.
    pub lesion_balanced: f64,
    /// Probability of centring on a hard negative ([`Case::bright`]).
    pub hard_fraction: f64,
    /// Random zoom range (+-), for in-plane resolution changes.
    pub zoom: f64,
    /// Intensity augmentation.
    pub intensity: Intensity,
}

/// The (z, x, y) voxel a patch of `case` is centred on, before jitter: a lesion voxel,
/// a hard negative or any head voxel, as `s` asks.
fn centre(case: &Case, s: &Sampling, rng: &mut super::TrainRng) -> (usize, usize, usize) {
    let use_positive = !case.positives.is_empty() && rng.random_bool(s.positive_fraction);
    // Drawn only when asked for, so runs without them keep their random stream.
    if use_positive
        && s.lesion_balanced > 0.0
        && rng.random_bool(s.lesion_balanced)
        && let Some(i) = case.lesions().draw(rng)
    {
        return case.positives[i];
    }
    let use_bright = !use_positive
        && s.hard_fraction > 0.0
        && !case.bright.is_empty()
        && rng.random_bool((s.hard_fraction / (1.0 - s.positive_fraction)).min(1.0));
    let pool = if use_bright {
        &case.bright
    } else if use_positive || case.foreground.is_empty() {
        &case.positives
    } else {
        &case.foreground
    };
    if pool.is_empty() {
        let d = case.stack.dims;
        (rng.random_range(0..d[2]), d[0] / 2, d[1] / 2)
    } else {
        pool[rng.random_range(0..pool.len())]
    }
}

/// Draws one augmented patch from `case`.
pub fn draw(case: &Case, s: &Sampling, rng: &mut super::TrainRng) -> Sample {
    let (z, x, y) = centre(case, s, rng);
    // Jitter the centre so positives do not always sit mid-patch.
    let jitter = s.size as f64 / 4.0;
    let zoom = 1.0
        + if s.zoom > 0.0 {
            rng.random_range(-s.zoom..=s.zoom)
        } else {
            0.0
        };
    let warp = Warp {
        angle: augment::ANGLES_DEG[rng.random_range(0..8)].to_radians(),
        flip: rng.random_bool(0.5),
        centre: (
            x as f64 + rng.random_range(-jitter..=jitter) * s.spacing_mm / case.spacing.0,
            y as f64 + rng.random_range(-jitter..=jitter) * s.spacing_mm / case.spacing.1,
        ),
        step: (
            s.spacing_mm * zoom / case.spacing.0,
            s.spacing_mm * zoom / case.spacing.1,
        ),
    };
    let d = case.stack.dims;
    let (w, h) = (d[0], d[1]);
    let mut input = Vec::with_capacity((2 * s.context + 1) * s.size * s.size);
    for k in 0..=2 * s.context {
        let zz = (z + k).saturating_sub(s.context).min(d[2] - 1);
        input.extend(augment::warp(
            case.stack.slice(zz),
            h,
            w,
            &warp,
            s.size,
            case.stack.fill,
            false,
        ));
    }
    s.intensity.apply(&mut input, s.size, rng);
    Sample {
        input,
        target: augment::warp(
            &case.label[z * w * h..(z + 1) * w * h],
            h,
            w,
            &warp,
            s.size,
            0.0,
            true,
        ),
        valid: augment::warp(
            &case.valid[z * w * h..(z + 1) * w * h],
            h,
            w,
            &warp,
            s.size,
            1.0,
            true,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_counts_positives_only_where_the_loss_counts() {
        let s = Sample {
            input: vec![0.0; 4],
            target: vec![1.0, 1.0, 0.0, 0.0],
            valid: vec![1.0, 0.0, 1.0, 1.0],
        };
        assert_eq!(s.counts(), (1, 3));
    }

    #[test]
    fn bright_negatives_are_valid_non_lesions_as_bright_as_the_dimmest_lesions() {
        // Lesions at 2..=11 (the dimmest tenth's cutoff is 3), normal tissue below.
        let mut data: Vec<f32> = (2..=11).map(|v| v as f32).collect();
        let mut label = vec![1.0; 10];
        data.extend([0.0, 2.9, 3.0, 8.0, 8.0, 9.0]);
        label.extend([0.0; 6]);
        let mut valid = vec![1.0; 16];
        valid[14] = 0.0; // ignored by the loss
        let mut mask = vec![true; 16];
        mask[15] = false; // outside the head
        assert_eq!(bright_negatives(&data, &label, &valid, &mask), vec![12, 13]);
        // Without lesions there is nothing to be as bright as.
        assert!(bright_negatives(&data, &[0.0; 16], &valid, &mask).is_empty());
    }

    #[test]
    fn wm_labels_take_in_the_lesions_and_refuse_lesions_outside_the_brain() {
        let p = crate::phantom::example();
        let lesions: Vec<f32> = p.lesions.iter().map(|&l| f32::from(l)).collect();
        let mut t1 = p.t1.clone();
        let label = wm_region_label(&mut t1, &lesions).unwrap();
        assert!(p.lesions.iter().any(|&l| l > 0));
        assert!((p.lesions.iter().zip(&label)).all(|(&l, &y)| l == 0 || y == 1.0));
        assert!(label.contains(&0.0), "everything labelled WM");
        // Stripped as inference strips it: the scalp is gone.
        assert!((t1.data.iter().zip(&p.t1.data)).any(|(&a, &b)| a == 0.0 && b > 0.0));

        // Lesions the extracted brain does not hold mean the extraction failed.
        let brain = crate::brain::brain_mask_stored(&p.t1.data, &p.t1.geometry.affine, p.t1.dims);
        let outside: Vec<f32> = brain.iter().map(|&b| f32::from(u8::from(!b))).collect();
        let err = wm_region_label(&mut p.t1.clone(), &outside).unwrap_err();
        assert!(
            err.to_string().contains("brain extraction holds only"),
            "{err}"
        );
    }

    #[test]
    fn a_transplant_case_is_the_real_flair_with_the_donors_lesions_added() {
        // A data folder of two phantoms: a real case and a `wmh2017/` head.
        let dir = tempfile::tempdir().unwrap();
        let recipient = crate::phantom::example();
        let geometry = recipient.t1.geometry.affine;
        let donor = crate::phantom::generate(recipient.t1.dims, geometry, 11);
        let write = |folder: &str, stem: &str, v: &Volume, data: crate::volume::OutputData| {
            let folder = dir.path().join(folder);
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(
                folder.join(case::file_name(stem)),
                v.encode_like(data, true),
            )
            .unwrap();
        };
        use crate::volume::OutputData::{F32, U8};
        write(
            "flair/ex",
            case::FLAIR,
            &recipient.flair,
            F32(&recipient.flair.data),
        );
        write("flair/ex", case::T1, &recipient.t1, F32(&recipient.t1.data));
        write("flair/ex", case::WMH, &recipient.t1, U8(&recipient.lesions));
        write("wmh2017/d", case::T1, &donor.t1, F32(&donor.t1.data));
        write("wmh2017/d", case::WMH, &donor.t1, U8(&donor.lesions));
        let load = |name: &str| {
            let (norm, variation) = (Normalisation::Peak, synth::Variation::Uniform);
            Case::load(dir.path(), Task::Wmh, name, 1.0, norm, variation).unwrap()
        };
        let (real, transplanted) = (load("ex"), load("wmh2017/d@ex"));
        assert_eq!(transplanted.label.len(), real.label.len());
        // Every real lesion kept, and more added; lesions grouped on the case's own grid.
        assert!((real.label.iter().zip(&transplanted.label)).all(|(&r, &t)| r <= t));
        assert!(transplanted.positives.len() > real.positives.len() + 100);
        let mask: Vec<bool> = real.label.iter().map(|&l| l > 0.5).collect();
        let components = crate::metrics::components::label_26(&mask, real.stack.dims);
        assert_eq!(real.lesions().count(), components.count());
        assert!(
            transplanted.name.starts_with(SYNTH_PREFIX),
            "drawn as simulated"
        );
    }
}
