//! `wmh segment`: one FLAIR (and optional T1) in, mask (and optional maps) out.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use burn::prelude::Device;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::burden::Burden;
use crate::model::Symmetries;
use crate::pipeline::{self, Filter, Inputs, Lesion, Networks, Options, Segmentation, Stage};
use crate::report;
use crate::volume::OutputData;

use super::Backend;
use crate::files;

/// Arguments of `wmh segment`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// FLAIR image (.nii or .nii.gz).
    #[arg(long)]
    flair: PathBuf,
    /// T1 image registered to the FLAIR (any grid); enables the white-matter filter.
    #[arg(long)]
    t1: Option<PathBuf>,
    /// Output mask (uint8 0/1 on the FLAIR grid), .nii or .nii.gz.
    #[arg(long, short)]
    output: PathBuf,
    /// Also write the WMH probability map (float32).
    #[arg(long)]
    probability: Option<PathBuf>,
    /// Also write the white-matter region used as filter (needs --t1).
    #[arg(long)]
    wm_mask: Option<PathBuf>,
    /// Also write the regions the burden is split by (uint8: 1 periventricular, 2 deep,
    /// 3 juxtacortical, 4 infratentorial, 0 outside the brain; needs --t1).
    #[arg(long)]
    regions: Option<PathBuf>,
    /// Also write a self-contained HTML report: the scans, settings, totals, burden by
    /// region, lesion table and axial snapshots with the overlay.
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

/// How the networks run: shared by `segment` and `cohort`.
#[derive(Debug, clap::Args)]
pub struct Settings {
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub device: Backend,
    /// Folder with wmh.json/.safetensors and wm.json/.safetensors.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Probability threshold for the mask (default: the one stored with the weights).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Keep only lesions whose most probable voxel reaches this probability (default:
    /// the one stored with the weights; 0 keeps every lesion above the threshold).
    #[arg(long)]
    pub lesion_peak: Option<f32>,
    /// Keep WMH outside the white-matter region (with a T1) or outside the brain found
    /// in the FLAIR (without one): skip the filter.
    #[arg(long)]
    pub no_wm_filter: bool,
    /// Leave lesions smaller than this many mm³ out of the mask, count and volume.
    #[arg(long, default_value_t = 0.0)]
    pub min_lesion_mm3: f64,
    /// Average the WMH networks over 1, 2 (and the mirror image) or 8 (all of the
    /// square's) in-plane symmetries of each slice: 8 is steadier, and slower by as many
    /// passes (see weights/MODEL_CARD.md).
    #[arg(long, default_value_t = Symmetries::One)]
    pub symmetries: Symmetries,
    /// Slices per network batch (1 is fastest on the CPU: the activations stay in cache).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
}

impl Settings {
    /// Refuses a threshold or lesion peak outside [0, 1] or a negative minimum lesion
    /// size before any file is read.
    pub fn check(&self) -> Result<()> {
        check_probability("--threshold", self.threshold.iter())?;
        check_probability("--lesion-peak", self.lesion_peak.iter())?;
        check_min_lesion_mm3(self.min_lesion_mm3)
    }

    /// Opens the device and loads the networks once; the WM network only when a case
    /// will use it.
    pub fn load(&self, any_t1: bool) -> Result<(Device, Networks)> {
        let device = self.device.device()?;
        let weights = self
            .weights
            .clone()
            .unwrap_or_else(super::default_weights_dir);
        let networks = super::load_networks(&weights, any_t1 && !self.no_wm_filter, &device)?;
        Ok((device, networks))
    }
}

/// Refuses any of `values` outside [0, 1] (NaN included), naming the option.
pub fn check_probability<'a>(
    option: &str,
    values: impl IntoIterator<Item = &'a f32>,
) -> Result<()> {
    if values.into_iter().any(|p| !(0.0..=1.0).contains(p)) {
        anyhow::bail!("{option} must be between 0 and 1");
    }
    Ok(())
}

/// Refuses a negative or non-finite minimum lesion size.
pub fn check_min_lesion_mm3(v: f64) -> Result<()> {
    if !(v.is_finite() && v >= 0.0) {
        anyhow::bail!("--min-lesion-mm3 must be a size of at least 0");
    }
    Ok(())
}

/// One case's input files and where its outputs go.
#[derive(Debug)]
pub struct Job<'a> {
    /// The FLAIR.
    pub flair: &'a Path,
    /// The T1, if any.
    pub t1: Option<&'a Path>,
    /// The mask.
    pub output: &'a Path,
    /// The probability map, if wanted.
    pub probability: Option<&'a Path>,
    /// The WM region, if wanted.
    pub wm_mask: Option<&'a Path>,
    /// The burden's regions, if wanted.
    pub regions: Option<&'a Path>,
    /// The HTML report, if wanted.
    pub report: Option<&'a Path>,
}

impl Job<'_> {
    /// The job's output paths, in the order they are written.
    pub fn outputs(&self) -> Vec<&Path> {
        let mut v = vec![self.output];
        v.extend(self.probability);
        v.extend(self.wm_mask);
        v.extend(self.regions);
        v.extend(self.report);
        v
    }

    /// Checks the outputs before any work: NIfTI names for the volumes, an HTML name for
    /// the report, every output distinct and none over an input.
    pub fn check(&self) -> Result<()> {
        if let Some(r) = self.report {
            let html = r
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("html"));
            anyhow::ensure!(html, "{}: the report's name must end in .html", r.display());
        }
        for p in self
            .outputs()
            .into_iter()
            .filter(|&p| Some(p) != self.report)
        {
            files::wants_gzip(p)?;
        }
        files::check_distinct(&self.outputs(), &self.inputs())
    }

    /// The job's input paths.
    pub fn inputs(&self) -> Vec<&Path> {
        let mut v = vec![self.flair];
        v.extend(self.t1);
        v
    }
}

/// What segmenting one case gave.
#[derive(Debug)]
pub struct Outcome {
    /// The segmentation on the FLAIR's grid.
    pub seg: Segmentation,
    /// Dice of the FLAIR's and the resampled T1's head masks.
    pub head_overlap: Option<f64>,
    /// Wall time from the first read to the last write.
    pub seconds: f64,
}

/// Reads one case, runs the networks and writes its outputs atomically (all or none).
pub fn segment_case(
    job: &Job,
    networks: &Networks,
    device: &Device,
    settings: &Settings,
    progress: &mut dyn FnMut(Stage),
) -> Result<Outcome> {
    let start = Instant::now();
    let flair = files::read_volume(job.flair)?;
    let t1 = job.t1.map(files::read_volume).transpose()?;
    let inputs = Inputs::prepare(flair, t1.as_ref(), networks.preparation())
        .with_context(|| format!("{}", job.t1.unwrap_or(job.flair).display()))?;
    let options = Options {
        threshold: settings.threshold.unwrap_or(networks.wmh.spec.threshold),
        lesion_peak: (settings.lesion_peak).unwrap_or(networks.wmh.spec.lesion_peak),
        wm_filter: !settings.no_wm_filter,
        min_lesion_mm3: settings.min_lesion_mm3,
        symmetries: settings.symmetries,
        ..networks.options()
    };
    let seg = pipeline::run(
        &inputs,
        networks,
        device,
        &options,
        settings.batch,
        progress,
    );

    let reference = &inputs.reference;
    let mut writes = vec![(
        job.output,
        reference.encode_like(OutputData::U8(&seg.mask), files::wants_gzip(job.output)?),
    )];
    if let Some(p) = job.probability {
        writes.push((
            p,
            reference.encode_like(OutputData::F32(&seg.probability), files::wants_gzip(p)?),
        ));
    }
    if let (Some(p), Some(region)) = (job.wm_mask, &seg.wm_region) {
        writes.push((
            p,
            reference.encode_like(OutputData::U8(region), files::wants_gzip(p)?),
        ));
    }
    if let (Some(p), Some(zones)) = (job.regions, &seg.zones) {
        writes.push((
            p,
            reference.encode_like(OutputData::U8(&zones.codes), files::wants_gzip(p)?),
        ));
    }
    if let Some(p) = job.report {
        writes.push((p, report_html(job, &inputs, &seg, settings).into_bytes()));
    }
    files::write_all_atomic(&writes)?;
    Ok(Outcome {
        seg,
        head_overlap: inputs.head_overlap,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The case's report (see [`crate::report`]), with the scans' file names and dates.
fn report_html(job: &Job, inputs: &Inputs, seg: &Segmentation, settings: &Settings) -> String {
    let described = |p: &Path| {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        match std::fs::metadata(p).and_then(|m| m.modified()) {
            Ok(t) => format!(
                "{name} (file dated {})",
                chrono::DateTime::<chrono::Utc>::from(t).format("%Y-%m-%dT%H:%M:%SZ")
            ),
            Err(_) => name.into_owned(),
        }
    };
    let (flair, t1) = (described(job.flair), job.t1.map(described));
    let made = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let filter = seg.filter_description();
    let details = report::Details {
        flair: &flair,
        t1: t1.as_deref(),
        made: &made,
        symmetries: settings.symmetries.count(),
        filter: &filter,
    };
    report::html(seg, &report::scene(inputs, seg), &details)
}

/// What `segment` reports.
#[derive(Debug, Serialize)]
struct Summary {
    flair: PathBuf,
    t1: Option<PathBuf>,
    output: PathBuf,
    threshold: f32,
    /// Probability each kept lesion's most probable voxel reaches.
    lesion_peak: f32,
    min_lesion_mm3: f64,
    /// In-plane symmetries the WMH probabilities were averaged over.
    symmetries: usize,
    lesion_count: usize,
    total_ml: f64,
    wm_filter: bool,
    /// Which filter ran: `white-matter`, `brain` (found in the FLAIR, without a T1) or
    /// `off`.
    filter: Filter,
    /// Slices where the brain mask stood in for the WM region.
    brain_fallback_slices: usize,
    /// Volume of the brain found in the T1 (mL), when the filter ran.
    brain_ml: Option<f64>,
    /// How that brain was found: `stripped` (the T1 came so), `template` (the brain
    /// template placed on the head) or `morphology` (the template did not fit).
    brain_method: Option<&'static str>,
    /// The template's fit (normalised cross-correlation), when it placed the brain.
    brain_fit: Option<f64>,
    /// Why the brain's volume is not to be trusted, when it lies outside 900-1600 mL.
    brain_warning: Option<String>,
    /// Volume of the white-matter region the filter kept (mL), when it ran.
    region_ml: Option<f64>,
    head_overlap_dice: Option<f64>,
    /// The lesion volume by region (mL), when a T1 was given and the filter ran.
    burden: Option<Burden>,
    /// What the burden by region could not place, and why.
    burden_notes: Vec<String>,
    device: &'static str,
    seconds: f64,
    lesions: Vec<Lesion>,
}

pub fn run(args: Args) -> Result<()> {
    args.settings.check()?;
    if args.wm_mask.is_some() && args.t1.is_none() {
        anyhow::bail!("--wm-mask needs --t1: without a T1 there is no white-matter region");
    }
    if args.regions.is_some() && (args.t1.is_none() || args.settings.no_wm_filter) {
        anyhow::bail!(
            "--regions needs --t1 and the white-matter filter: the regions come from the T1's brain and white matter"
        );
    }
    let job = Job {
        flair: &args.flair,
        t1: args.t1.as_deref(),
        output: &args.output,
        probability: args.probability.as_deref(),
        wm_mask: args.wm_mask.as_deref(),
        regions: args.regions.as_deref(),
        report: args.report.as_deref(),
    };
    job.check()?;

    let (device, networks) = args.settings.load(args.t1.is_some())?;
    let bar = ProgressBar::no_length().with_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} slices, eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    // One fill per network: the WMH network sees fewer slices than the WM one (only
    // those the filter keeps), so a shared length would mislead.
    let outcome = segment_case(&job, &networks, &device, &args.settings, &mut |stage| {
        let (name, (done, n)) = (stage.label(), stage.counts());
        if bar.message() != name {
            bar.reset();
            bar.set_message(name);
        }
        bar.set_length(n as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    let Outcome {
        seg,
        head_overlap,
        seconds,
    } = outcome?;
    let filter = seg.filter_description();
    let seg_burden = seg.burden_line();
    let summary = Summary {
        flair: args.flair,
        t1: args.t1,
        output: args.output,
        threshold: seg.threshold,
        lesion_peak: seg.lesion_peak,
        min_lesion_mm3: seg.min_lesion_mm3,
        symmetries: args.settings.symmetries.count(),
        lesion_count: seg.lesions.len(),
        total_ml: seg.total_ml,
        wm_filter: seg.filter == Filter::WhiteMatter,
        filter: seg.filter,
        brain_fallback_slices: seg.brain_fallback_slices,
        brain_ml: seg.brain_ml,
        brain_method: seg.brain_method.map(|m| m.name()),
        brain_fit: seg.brain_method.and_then(|m| m.fit()),
        brain_warning: seg.brain_warning(),
        region_ml: seg.region_ml,
        head_overlap_dice: head_overlap,
        burden: seg.burden.clone(),
        burden_notes: seg.burden_notes(),
        device: args.settings.device.name(),
        seconds,
        lesions: seg.lesions,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_text(&summary, &filter, seg_burden.as_deref());
    }
    Ok(())
}

/// The summary in words: one line, the burden by region, and what it could not place;
/// FLAIR-only runs say so first.
fn print_text(summary: &Summary, filter: &str, burden: Option<&str>) {
    if summary.t1.is_none() {
        eprintln!(
            "wmh: no T1 given: FLAIR-only mode, no white-matter filter{}",
            if summary.filter == Filter::Brain {
                "; WMH outside the brain found in the FLAIR are removed"
            } else {
                ""
            }
        );
    }
    let averaged = match summary.symmetries {
        1 => String::new(),
        n => format!(", averaged over {n} symmetries"),
    };
    println!(
        "{} lesions, {:.2} mL total WMH ({filter}{averaged}), written to {} in {:.1} s",
        summary.lesion_count,
        summary.total_ml,
        summary.output.display(),
        summary.seconds
    );
    if let Some(line) = burden {
        println!("by region: {line}");
    }
    for note in &summary.burden_notes {
        eprintln!("wmh: {note}");
    }
}
