//! `wmh bids`: the tool as a BIDS App (Gorgolewski et al., PLoS Comput Biol 2017).
//!
//! `participant` segments each subject's (and session's) FLAIR, with its T1w when there
//! is one, into BIDS-Derivatives: per scan a mask (and optionally the probability map)
//! with a JSON sidecar. A scan already done is skipped, so the level can be re-run after
//! an interruption or fanned out per subject by a workflow engine; a failed scan leaves
//! an error record in `logs/` and the others go on. `group` gathers every scan's
//! sidecar and error record into one TSV. The outputs of one scan are its sidecar's
//! companions: the sidecar is written last, so a scan without one is redone.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::cohort::{cell, isolated};
use super::segment::{self, Job, Outcome, Settings};
use burn::prelude::Device;

use crate::files;
use crate::pipeline::{Filter, Networks};

/// Arguments of `wmh bids`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The BIDS dataset (with dataset_description.json).
    bids_dir: PathBuf,
    /// Where the derivatives go (created if missing).
    output_dir: PathBuf,
    /// `participant`: segment each scan; `group`: one TSV over all scans done.
    #[arg(value_enum)]
    level: Level,
    /// Subjects to segment, with or without `sub-` (default: all).
    #[arg(long, num_args = 1..)]
    participant_label: Vec<String>,
    /// Sessions to segment, with or without `ses-` (default: all).
    #[arg(long, num_args = 1..)]
    session_label: Vec<String>,
    /// Also write each scan's WMH probability map (`_label-WMH_probseg`).
    #[arg(long)]
    probability: bool,
    #[command(flatten)]
    settings: Settings,
}

/// The analysis level, as BIDS Apps name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Level {
    Participant,
    Group,
}

/// Which scan: a subject, and its session where the dataset has sessions.
#[derive(Debug, Clone)]
struct Visit {
    subject: String,
    session: Option<String>,
}

impl Visit {
    /// `sub-X[_ses-Y]`, the start of every file name of the scan.
    fn prefix(&self) -> String {
        match &self.session {
            Some(s) => format!("sub-{}_ses-{s}", self.subject),
            None => format!("sub-{}", self.subject),
        }
    }

    /// `sub-X[/ses-Y]/anat`, relative to a dataset's root.
    fn anat(&self) -> PathBuf {
        let mut p = PathBuf::from(format!("sub-{}", self.subject));
        if let Some(s) = &self.session {
            p.push(format!("ses-{s}"));
        }
        p.join("anat")
    }

    /// A derivative of this scan, e.g. `space-FLAIR_desc-wmh_mask.nii.gz`.
    fn output(&self, root: &Path, what: &str) -> PathBuf {
        root.join(self.anat())
            .join(format!("{}_{what}", self.prefix()))
    }

    fn error_log(&self, root: &Path) -> PathBuf {
        root.join("logs")
            .join(format!("{}_desc-wmh_error.json", self.prefix()))
    }
}

/// A visit's FLAIR and optional T1w, and why they were chosen.
#[derive(Debug)]
struct Scan {
    visit: Visit,
    flair: PathBuf,
    t1: Option<PathBuf>,
    notes: Vec<String>,
}

const MASK: &str = "space-FLAIR_desc-wmh_mask.nii.gz";
const SIDECAR: &str = "space-FLAIR_desc-wmh_mask.json";
const PROBSEG: &str = "space-FLAIR_label-WMH_probseg.nii.gz";
const PROBSEG_SIDECAR: &str = "space-FLAIR_label-WMH_probseg.json";

/// `label` without its entity prefix (`sub-01` and `01` are the same subject).
fn bare<'a>(label: &'a str, entity: &str) -> &'a str {
    label.strip_prefix(&format!("{entity}-")).unwrap_or(label)
}

/// The folders of `dir` named `<entity>-<label>`, as (label, path), sorted.
fn entities(dir: &Path, entity: &str) -> Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))? {
        let path = e?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some(label) = name
            .as_deref()
            .and_then(|n| n.strip_prefix(&format!("{entity}-")))
            && path.is_dir()
        {
            found.push((label.to_string(), path));
        }
    }
    found.sort();
    Ok(found)
}

/// A subject folder's visits: each `ses-*` with its `anat`, or the subject's own
/// `anat` where there are no sessions.
fn sessions(subject_dir: &Path) -> Result<Vec<(Option<String>, PathBuf)>> {
    let sessions = entities(subject_dir, "ses")?;
    Ok(if sessions.is_empty() {
        vec![(None, subject_dir.join("anat"))]
    } else {
        sessions
            .into_iter()
            .map(|(s, d)| (Some(s), d.join("anat")))
            .collect()
    })
}

/// The image of `anat` with BIDS suffix `suffix` (`FLAIR`, `T1w`). With several (runs,
/// acquisitions), the first by name: BIDS orders entities so that is the lowest `acq`
/// label, then the lowest `run`; the choice is noted for the sidecar.
fn pick(anat: &Path, suffix: &str, notes: &mut Vec<String>) -> Result<Option<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(anat)
        .with_context(|| format!("{}: cannot list", anat.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            [".nii.gz", ".nii"]
                .iter()
                .any(|ext| name.ends_with(&format!("_{suffix}{ext}")))
                && p.is_file()
        })
        .collect();
    found.sort();
    if found.len() > 1 {
        let names: Vec<String> = found
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        notes.push(format!(
            "{} {suffix} images; took the first by name: {}",
            found.len(),
            names.join(", ")
        ));
    }
    Ok(found.into_iter().next())
}

/// Every scan of the dataset that the labels select (all without labels).
fn discover(args: &Args) -> Result<Vec<Scan>> {
    let wanted = |labels: &[String], entity: &str, label: &str| {
        labels.is_empty() || labels.iter().any(|l| bare(l, entity) == label)
    };
    let mut scans = Vec::new();
    for (subject, dir) in entities(&args.bids_dir, "sub")? {
        if !wanted(&args.participant_label, "sub", &subject) {
            continue;
        }
        for (session, anat) in sessions(&dir)? {
            if session
                .as_ref()
                .is_some_and(|s| !wanted(&args.session_label, "ses", s))
            {
                continue;
            }
            if !anat.is_dir() {
                continue;
            }
            let mut notes = Vec::new();
            let Some(flair) = pick(&anat, "FLAIR", &mut notes)? else {
                continue;
            };
            let t1 = pick(&anat, "T1w", &mut notes)?;
            scans.push(Scan {
                visit: Visit {
                    subject: subject.clone(),
                    session,
                },
                flair,
                t1,
                notes,
            });
        }
    }
    for label in &args.participant_label {
        if !scans.iter().any(|s| s.visit.subject == bare(label, "sub")) {
            bail!(
                "--participant-label {label}: no FLAIR of that subject in {}",
                args.bids_dir.display()
            );
        }
    }
    Ok(scans)
}

/// SHA-256 of the weights folder's files, in name order: what `GeneratedBy` records,
/// so derivatives from other weights are never mixed into one folder.
fn weights_digest(dir: &Path) -> Result<String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list the weights", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "json" || x == "safetensors")
        })
        .collect();
    names.sort();
    let mut hash = Sha256::new();
    for p in names {
        hash.update(p.file_name().unwrap_or_default().as_encoded_bytes());
        hash.update(files::read_bytes(&p)?);
    }
    Ok(format!("{:x}", hash.finalize()))
}

/// `dataset_description.json` of the derivatives (BIDS-Derivatives), plus a
/// `.bidsignore` for the folders that are not part of the specification.
fn describe(args: &Args) -> Result<()> {
    let weights = args
        .settings
        .weights
        .clone()
        .unwrap_or_else(super::default_weights_dir);
    let digest = weights_digest(&weights)?;
    let description = json!({
        "Name": "WMH masks (wmh)",
        "BIDSVersion": "1.10.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{
            "Name": "wmh",
            "Version": env!("CARGO_PKG_VERSION"),
            "Description": format!("White matter hyperintensity segmentation; weights SHA-256 {digest}"),
        }],
        "SourceDatasets": [{ "URL": format!("file://{}", absolute(&args.bids_dir)?.display()) }],
        "DatasetLinks": { "raw": format!("file://{}", absolute(&args.bids_dir)?.display()) },
    });
    let path = args.output_dir.join("dataset_description.json");
    if let Ok(old) = std::fs::read(&path) {
        let old: Value = serde_json::from_slice(&old).unwrap_or_default();
        if old["GeneratedBy"] != description["GeneratedBy"] {
            bail!(
                "{}: made by another version or other weights ({}); give another output folder",
                path.display(),
                old["GeneratedBy"][0]["Description"]
            );
        }
        return Ok(());
    }
    files::write_all_atomic(&[
        (path, serde_json::to_vec_pretty(&description)?),
        (
            args.output_dir.join(".bidsignore"),
            b"logs\ngroup\n".to_vec(),
        ),
        (args.output_dir.join("README"), README.as_bytes().to_vec()),
    ])
}

/// The derivatives' README: what the files are.
const README: &str = "White matter hyperintensities found by wmh (its README and MODEL_CARD
describe the method, the networks and their measured accuracy).

Per scan, on the FLAIR's own grid (space-FLAIR: the grid of the image each sidecar's
SpatialReference names):
- *_space-FLAIR_desc-wmh_mask.nii.gz: the WMH mask (uint8, 1 = WMH), with a JSON sidecar
  giving the sources, the threshold, the lesion count, the total volume (mL), the brain
  volume found in the T1w (mL) and any warnings;
- *_space-FLAIR_label-WMH_probseg.nii.gz (with --probability): the WMH probability.

logs/ holds an error record per scan that failed; group/wmh.tsv (from the group level)
lists every scan, segmented or failed.
";

fn absolute(p: &Path) -> Result<PathBuf> {
    p.canonicalize()
        .with_context(|| format!("{}: not found", p.display()))
}

/// The scan's path inside the raw dataset, as a BIDS URI.
fn source(scan: &Scan, file: &Path) -> String {
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    format!("bids:raw:{}/{name}", scan.visit.anat().display())
}

/// The sidecar of a segmented scan.
fn sidecar(args: &Args, scan: &Scan, outcome: &Outcome) -> Value {
    let seg = &outcome.seg;
    let mut warnings = scan.notes.clone();
    if scan.t1.is_none() {
        warnings.push("no T1w: FLAIR-only, the white-matter filter is off".into());
    }
    warnings.extend(seg.brain_warning());
    warnings.extend(
        seg.burden_notes()
            .into_iter()
            .filter(|_| seg.burden.is_some()),
    );
    let sources: Vec<String> = std::iter::once(&scan.flair)
        .chain(&scan.t1)
        .map(|f| source(scan, f))
        .collect();
    json!({
        "Description": "White matter hyperintensities (1) on the FLAIR's grid",
        "SpatialReference": source(scan, &scan.flair),
        "Sources": sources,
        "Threshold": seg.threshold,
        "LesionPeak": seg.lesion_peak,
        "MinLesionMm3": seg.min_lesion_mm3,
        "Symmetries": args.settings.symmetries.count(),
        "LesionCount": seg.lesions.len(),
        "TotalVolumeMl": seg.total_ml,
        "WhiteMatterFilter": seg.filter == Filter::WhiteMatter,
        "Filter": seg.filter,
        "BrainVolumeMl": seg.brain_ml,
        "BrainFallbackSlices": seg.brain_fallback_slices,
        "BrainExtraction": seg.brain_method.map(|m| m.name()),
        "FilterRegionMl": seg.region_ml,
        "BurdenMl": seg.burden,
        "Warnings": warnings,
    })
}

/// Segments one scan into the derivatives: the mask, the probability map when asked,
/// and their sidecars, the mask's last (a scan is done once it is in place).
fn segment_scan(args: &Args, scan: &Scan, networks: &Networks, device: &Device) -> Result<()> {
    let (out, visit) = (&args.output_dir, &scan.visit);
    let (mask, probseg) = (visit.output(out, MASK), visit.output(out, PROBSEG));
    let job = Job {
        flair: &scan.flair,
        t1: scan.t1.as_deref(),
        output: &mask,
        probability: args.probability.then_some(probseg.as_path()),
        wm_mask: None,
        regions: None,
        report: None,
    };
    let folder = mask.parent().expect("in a folder");
    std::fs::create_dir_all(folder)
        .with_context(|| format!("{}: cannot create", folder.display()))?;
    let outcome = segment::segment_case(&job, networks, device, &args.settings, &mut |_| {})?;
    let mut writes = Vec::new();
    if args.probability {
        let about = json!({
            "Description": "Probability of white matter hyperintensity, after the white-matter filter",
            "SpatialReference": source(scan, &scan.flair),
            "Sources": [source(scan, &scan.flair)],
        });
        writes.push((
            visit.output(out, PROBSEG_SIDECAR),
            serde_json::to_vec_pretty(&about)?,
        ));
    }
    let json = serde_json::to_vec_pretty(&sidecar(args, scan, &outcome))?;
    writes.push((visit.output(out, SIDECAR), json));
    files::write_all_atomic(&writes)
}

/// The participant level: each selected scan not yet done.
fn participant(args: &Args) -> Result<()> {
    let scans = discover(args)?;
    if scans.is_empty() {
        bail!(
            "{}: no sub-*/[ses-*/]anat/*_FLAIR.nii[.gz]",
            args.bids_dir.display()
        );
    }
    std::fs::create_dir_all(&args.output_dir)
        .with_context(|| format!("{}: cannot create", args.output_dir.display()))?;
    if absolute(&args.output_dir)? == absolute(&args.bids_dir)? {
        bail!("the output folder is the BIDS dataset itself; give a derivatives folder");
    }
    describe(args)?;
    let out = &args.output_dir;
    let todo: Vec<&Scan> = scans
        .iter()
        .filter(|s| !s.visit.output(out, SIDECAR).exists())
        .collect();
    eprintln!(
        "wmh: {} scans selected, {} already done",
        scans.len(),
        scans.len() - todo.len()
    );
    if todo.is_empty() {
        return Ok(());
    }
    let (device, networks) = args.settings.load(todo.iter().any(|s| s.t1.is_some()))?;
    let mut failed = 0;
    for scan in todo {
        for note in &scan.notes {
            eprintln!("wmh: {}: {note}", scan.visit.prefix());
        }
        let result = isolated(|| segment_scan(args, scan, &networks, &device));
        let log = scan.visit.error_log(out);
        match result {
            Ok(()) => {
                let _ = std::fs::remove_file(log);
            }
            Err(e) => {
                failed += 1;
                eprintln!("wmh: {}: {e:#}", scan.visit.prefix());
                let record = json!({
                    "Sources": [source(scan, &scan.flair)],
                    "Error": format!("{e:#}"),
                });
                let logs = log.parent().expect("in logs/");
                std::fs::create_dir_all(logs)
                    .with_context(|| format!("{}: cannot create", logs.display()))?;
                files::write_all_atomic(&[(log, serde_json::to_vec_pretty(&record)?)])?;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} scans failed (see {})", out.join("logs").display());
    }
    Ok(())
}

/// A row of the group table.
#[derive(Debug, Serialize)]
struct Row {
    participant_id: String,
    session_id: String,
    status: &'static str,
    lesion_count: Option<u64>,
    total_volume_ml: Option<f64>,
    brain_volume_ml: Option<f64>,
    white_matter_filter: Option<bool>,
    threshold: Option<f64>,
    mask: String,
    error: String,
}

/// A JSON file of the derivatives.
fn read_json(p: &Path) -> Result<Value> {
    serde_json::from_slice(&files::read_bytes(p)?).with_context(|| format!("{}", p.display()))
}

/// A row per scan whose mask sidecar is in `out`.
fn segmented_rows(out: &Path) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (subject, dir) in entities(out, "sub")? {
        for (session, _) in sessions(&dir)? {
            let visit = Visit {
                subject: subject.clone(),
                session,
            };
            let path = visit.output(out, SIDECAR);
            if !path.is_file() {
                continue;
            }
            let v = read_json(&path)?;
            rows.push(Row {
                participant_id: format!("sub-{}", visit.subject),
                session_id: (visit.session.as_ref())
                    .map(|s| format!("ses-{s}"))
                    .unwrap_or_default(),
                status: "ok",
                lesion_count: v["LesionCount"].as_u64(),
                total_volume_ml: v["TotalVolumeMl"].as_f64(),
                brain_volume_ml: v["BrainVolumeMl"].as_f64(),
                white_matter_filter: v["WhiteMatterFilter"].as_bool(),
                threshold: v["Threshold"].as_f64(),
                mask: (visit.anat().join(format!("{}_{MASK}", visit.prefix())))
                    .display()
                    .to_string(),
                error: String::new(),
            });
        }
    }
    Ok(rows)
}

/// A row per scan with an error record in `out/logs`.
fn failed_rows(out: &Path) -> Result<Vec<Row>> {
    let Ok(logs) = std::fs::read_dir(out.join("logs")) else {
        return Ok(Vec::new());
    };
    let mut logs: Vec<PathBuf> = logs.filter_map(|e| e.ok().map(|e| e.path())).collect();
    logs.sort();
    let mut rows = Vec::new();
    for p in logs {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        let Some(prefix) = name.strip_suffix("_desc-wmh_error.json") else {
            continue;
        };
        let (subject, session) = prefix.split_once('_').unwrap_or((prefix, ""));
        rows.push(Row {
            participant_id: subject.to_string(),
            session_id: session.to_string(),
            status: "failed",
            lesion_count: None,
            total_volume_ml: None,
            brain_volume_ml: None,
            white_matter_filter: None,
            threshold: None,
            mask: String::new(),
            error: cell(read_json(&p)?["Error"].as_str().unwrap_or_default()),
        });
    }
    Ok(rows)
}

/// The group level: one row per scan segmented or failed, in `group/wmh.tsv`.
fn group(args: &Args) -> Result<()> {
    let out = &args.output_dir;
    if !out.join("dataset_description.json").is_file() {
        bail!("{}: no participant level has run here", out.display());
    }
    let mut rows = segmented_rows(out)?;
    rows.extend(failed_rows(out)?);
    rows.sort_by(|a, b| {
        (&a.participant_id, &a.session_id).cmp(&(&b.participant_id, &b.session_id))
    });
    let mut w = csv::WriterBuilder::new()
        .delimiter(b'\t')
        .from_writer(Vec::new());
    for r in &rows {
        w.serialize(r)?;
    }
    let dictionary = json!({
        "status": { "Description": "ok: segmented; failed: see error and logs/" },
        "lesion_count": { "Description": "26-connected lesions in the mask" },
        "total_volume_ml": { "Description": "WMH volume", "Units": "mL" },
        "brain_volume_ml": { "Description": "Brain found in the T1w (empty without one)", "Units": "mL" },
        "white_matter_filter": { "Description": "Whether the white-matter region filtered the WMH" },
        "threshold": { "Description": "Probability the mask was cut at" },
        "mask": { "Description": "The mask, relative to this dataset's root" },
    });
    let table = out.join("group").join("wmh.tsv");
    std::fs::create_dir_all(out.join("group"))
        .with_context(|| format!("{}: cannot create", out.join("group").display()))?;
    files::write_all_atomic(&[
        (table.clone(), w.into_inner()?),
        (
            out.join("group").join("wmh.json"),
            serde_json::to_vec_pretty(&dictionary)?,
        ),
    ])?;
    let failed = rows.iter().filter(|r| r.status == "failed").count();
    println!(
        "{} scans ({} segmented, {failed} failed) in {}",
        rows.len(),
        rows.len() - failed,
        table.display()
    );
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    args.settings.check()?;
    if !args.bids_dir.join("dataset_description.json").is_file() {
        bail!(
            "{}: not a BIDS dataset (no dataset_description.json)",
            args.bids_dir.display()
        );
    }
    match args.level {
        Level::Participant => participant(&args),
        Level::Group => group(&args),
    }
}
