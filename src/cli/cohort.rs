//! `wmh cohort`: many cases with the networks loaded once; a mask per case, and the
//! cohort's lesion counts and volumes as CSV tables.
//!
//! Problems visible before any work (a missing file, a repeated or unsafe case id, an
//! output that would overwrite an input) refuse the whole run and write nothing. A case
//! whose files turn out unreadable or inconsistent, or that meets a bug (a panic), is
//! recorded as failed in the summary and the others go on; the command then exits
//! non-zero. The tables grow a case at a time, so a run killed midway keeps the rows of
//! the cases it finished.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::segment::{self, Job, Outcome, Settings};
use crate::case::CaseFolder;
use crate::files;
use crate::pipeline::Filter;

/// Arguments of `wmh cohort`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Case folders, each with flair.nii.gz (or flair.nii) and optionally t1.nii.gz (or
    /// t1.nii); the folder's name is the case id.
    cases: Vec<PathBuf>,
    /// CSV with the columns id, flair and optionally t1 (paths relative to the CSV's
    /// folder); its cases come after any case folders.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Folder for the masks, summary.csv and lesions.csv (created if missing).
    #[arg(long, short)]
    out_dir: PathBuf,
    /// Also write each case's WMH probability map.
    #[arg(long)]
    probability: bool,
    /// Also write each case's white-matter region (cases with a T1).
    #[arg(long)]
    wm_mask: bool,
    #[command(flatten)]
    settings: Settings,
}

/// One case of the cohort: its id, inputs and outputs.
#[derive(Debug)]
struct Case {
    id: String,
    flair: PathBuf,
    t1: Option<PathBuf>,
    mask: PathBuf,
    probability: Option<PathBuf>,
    wm_mask: Option<PathBuf>,
}

impl Case {
    fn job(&self) -> Job<'_> {
        Job {
            flair: &self.flair,
            t1: self.t1.as_deref(),
            output: &self.mask,
            probability: self.probability.as_deref(),
            wm_mask: self.wm_mask.as_deref(),
            regions: None,
            report: None,
        }
    }
}

/// A manifest line.
#[derive(Debug, Deserialize)]
struct ManifestRow {
    id: String,
    flair: PathBuf,
    #[serde(default)]
    t1: Option<PathBuf>,
}

/// One line of summary.csv.
#[derive(Debug, Serialize)]
struct SummaryRow {
    id: String,
    status: &'static str,
    /// The probability threshold the mask was cut at.
    threshold: Option<f32>,
    /// The probability each kept lesion's most probable voxel reaches.
    lesion_peak: Option<f32>,
    /// The smallest lesion kept.
    min_lesion_mm3: Option<f64>,
    /// In-plane symmetries the WMH probabilities were averaged over.
    symmetries: Option<usize>,
    lesion_count: Option<usize>,
    total_ml: Option<f64>,
    wm_filter: Option<bool>,
    /// `white-matter`, `brain` (found in the FLAIR, without a T1) or `off`.
    filter: Option<Filter>,
    brain_fallback_slices: Option<usize>,
    brain_ml: Option<f64>,
    /// `stripped`, `template` or `morphology` (see `segment --json`).
    brain_method: Option<&'static str>,
    /// Whether the brain's volume lies in 900-1600 mL (or the T1 came stripped).
    brain_plausible: Option<bool>,
    /// The white-matter region the filter kept (mL).
    region_ml: Option<f64>,
    head_overlap_dice: Option<f64>,
    /// The burden by region (empty where it could not be placed).
    periventricular_ml: Option<f64>,
    deep_ml: Option<f64>,
    juxtacortical_ml: Option<f64>,
    infratentorial_ml: Option<f64>,
    ventricles_ml: Option<f64>,
    seconds: Option<f64>,
    mask: Option<String>,
    flair: String,
    t1: Option<String>,
    error: Option<String>,
}

/// One line of lesions.csv: a lesion of a case, largest first.
#[derive(Debug, Serialize)]
struct LesionRow {
    id: String,
    lesion: usize,
    voxels: usize,
    volume_ml: f64,
    centroid_i: f64,
    centroid_j: f64,
    centroid_k: f64,
    slice: usize,
    /// The region most of the lesion lies in (empty without regions).
    zone: Option<&'static str>,
}

/// A case id must make a plain file name on every system.
fn check_id(id: &str) -> Result<()> {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if id.is_empty() || id.starts_with('.') || !id.chars().all(safe) {
        bail!(
            "case id {id:?}: use letters, digits, '-', '_' and '.' (not first), so that it can name the output files (a manifest can give a folder another id)"
        );
    }
    Ok(())
}

/// Reads one case folder: its id (the folder's name), FLAIR and optional T1.
fn from_folder(dir: &Path) -> Result<(String, PathBuf, Option<PathBuf>)> {
    let case = CaseFolder::open(dir)?;
    Ok((case.id, case.flair, case.t1))
}

/// Reads a manifest's cases, paths made relative to its folder.
fn from_manifest(path: &Path) -> Result<Vec<(String, PathBuf, Option<PathBuf>)>> {
    let bytes = files::read_bytes(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let mut out = Vec::new();
    for (line, row) in reader.deserialize::<ManifestRow>().enumerate() {
        let row = row.with_context(|| {
            format!(
                "{}: line {}: expected the columns id, flair and optionally t1",
                path.display(),
                line + 2
            )
        })?;
        let t1 = row.t1.filter(|p| !p.as_os_str().is_empty());
        out.push((row.id, base.join(row.flair), t1.map(|p| base.join(p))));
    }
    if out.is_empty() {
        bail!("{}: the manifest lists no cases", path.display());
    }
    Ok(out)
}

/// Collects and checks every case before any work.
fn plan(args: &Args) -> Result<Vec<Case>> {
    let mut listed = args
        .cases
        .iter()
        .map(|d| from_folder(d))
        .collect::<Result<Vec<_>>>()?;
    if let Some(m) = &args.manifest {
        listed.extend(from_manifest(m)?);
    }
    if listed.is_empty() {
        bail!("no cases: give case folders or --manifest");
    }
    let mut ids = HashSet::new();
    let mut cases = Vec::with_capacity(listed.len());
    for (id, flair, t1) in listed {
        check_id(&id)?;
        // Compared without case: on macOS and Windows "A" and "a" name one file.
        if !ids.insert(id.to_ascii_lowercase()) {
            bail!("case id {id:?} appears twice: its outputs would overwrite each other");
        }
        for p in std::iter::once(&flair).chain(&t1) {
            if !p.is_file() {
                bail!("{id}: {}: no such file", p.display());
            }
        }
        let out = |suffix: &str| args.out_dir.join(format!("{id}_{suffix}.nii.gz"));
        cases.push(Case {
            mask: out("wmh_mask"),
            probability: args.probability.then(|| out("wmh_probability")),
            wm_mask: (args.wm_mask && t1.is_some()).then(|| out("wm_region")),
            id,
            flair,
            t1,
        });
    }
    Ok(cases)
}

/// Creates the output folder and checks every output name against every input; a
/// folder created here is removed again when the check fails.
fn prepare_out_dir(args: &Args, cases: &[Case], tables: [&Path; 2]) -> Result<()> {
    let created = !args.out_dir.exists();
    std::fs::create_dir_all(&args.out_dir).with_context(|| {
        format!(
            "{}: cannot create the output folder",
            args.out_dir.display()
        )
    })?;
    let jobs: Vec<Job> = cases.iter().map(Case::job).collect();
    let outputs: Vec<&Path> = jobs.iter().flat_map(Job::outputs).chain(tables).collect();
    let inputs: Vec<&Path> = jobs.iter().flat_map(Job::inputs).collect();
    let checked = files::check_distinct(&outputs, &inputs);
    if checked.is_err() && created {
        let _ = std::fs::remove_dir(&args.out_dir);
    }
    checked
}

/// Text cells a spreadsheet would run as a formula (OWASP's CSV injection list) get a
/// leading apostrophe, so a case id, path or error message is shown, never executed.
pub(super) fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// A path as a neutralised text cell.
fn path_cell(path: &Path) -> String {
    cell(&path.display().to_string())
}

/// summary.csv and lesions.csv, written a case at a time (each row flushed to disk as
/// its case ends), so that a run killed midway (out of memory, power) keeps the row of
/// every case it finished.
struct Tables {
    summary: csv::Writer<std::fs::File>,
    lesions: csv::Writer<std::fs::File>,
}

impl Tables {
    fn create(summary: &Path, lesions: &Path) -> Result<Self> {
        let open = |p: &Path| {
            std::fs::File::create(p)
                .map(csv::Writer::from_writer)
                .with_context(|| format!("{}: cannot create", p.display()))
        };
        Ok(Self {
            summary: open(summary)?,
            lesions: open(lesions)?,
        })
    }

    /// Appends one finished case.
    fn add(&mut self, case: &Case, result: &Result<Outcome>, settings: &Settings) -> Result<()> {
        let ok = result.as_ref().ok();
        let burden = ok.and_then(|o| o.seg.burden.as_ref());
        self.summary.serialize(SummaryRow {
            id: cell(&case.id),
            status: if ok.is_some() { "ok" } else { "failed" },
            threshold: ok.map(|o| o.seg.threshold),
            lesion_peak: ok.map(|o| o.seg.lesion_peak),
            min_lesion_mm3: ok.map(|o| o.seg.min_lesion_mm3),
            symmetries: ok.map(|_| settings.symmetries.count()),
            lesion_count: ok.map(|o| o.seg.lesions.len()),
            total_ml: ok.map(|o| o.seg.total_ml),
            wm_filter: ok.map(|o| o.seg.filter == Filter::WhiteMatter),
            filter: ok.map(|o| o.seg.filter),
            brain_fallback_slices: ok.map(|o| o.seg.brain_fallback_slices),
            brain_ml: ok.and_then(|o| o.seg.brain_ml),
            brain_method: ok.and_then(|o| o.seg.brain_method.map(|m| m.name())),
            brain_plausible: ok
                .filter(|o| o.seg.brain_ml.is_some())
                .map(|o| o.seg.brain_warning().is_none()),
            region_ml: ok.and_then(|o| o.seg.region_ml),
            head_overlap_dice: ok.and_then(|o| o.head_overlap),
            periventricular_ml: burden.and_then(|b| b.periventricular_ml),
            deep_ml: burden.map(|b| b.deep_ml),
            juxtacortical_ml: burden.map(|b| b.juxtacortical_ml),
            infratentorial_ml: burden.and_then(|b| b.infratentorial_ml),
            ventricles_ml: burden.map(|b| b.ventricles_ml),
            seconds: ok.map(|o| o.seconds),
            mask: ok.map(|_| path_cell(&case.mask)),
            flair: path_cell(&case.flair),
            t1: case.t1.as_deref().map(path_cell),
            error: result.as_ref().err().map(|e| cell(&format!("{e:#}"))),
        })?;
        if let Ok(Outcome { seg, .. }) = result {
            for (k, l) in seg.lesions.iter().enumerate() {
                self.lesions.serialize(LesionRow {
                    id: cell(&case.id),
                    lesion: k + 1,
                    voxels: l.voxels,
                    volume_ml: l.volume_ml,
                    centroid_i: l.centroid[0],
                    centroid_j: l.centroid[1],
                    centroid_k: l.centroid[2],
                    slice: l.slice,
                    zone: l.zone.map(|z| z.label()),
                })?;
            }
        }
        for w in [&mut self.summary, &mut self.lesions] {
            w.flush()?;
            w.get_ref().sync_data()?;
        }
        Ok(())
    }
}

/// Runs one case's work, turning a panic (a bug) into that case's error, so that the
/// other cases go on and the tables get its row.
pub(super) fn isolated<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        bail!("internal error (a bug in wmh; please report it): {message}")
    })
}

/// Segments every case in turn, each isolated from the others' failures, and adds its
/// row to the tables; returns how many failed.
fn segment_all(
    cases: &[Case],
    tables: &mut Tables,
    settings: &Settings,
    run_case: &mut dyn FnMut(&Case) -> Result<Outcome>,
) -> Result<usize> {
    let bar = ProgressBar::new(cases.len() as u64).with_style(
        ProgressStyle::with_template("{msg:>20} [{bar:30}] {pos}/{len} cases, eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut failed = 0;
    for case in cases {
        bar.set_message(case.id.clone());
        let result = isolated(|| run_case(case));
        if let Err(e) = &result {
            failed += 1;
            bar.suspend(|| eprintln!("wmh: {}: {e:#}", case.id));
        }
        tables.add(case, &result, settings)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(failed)
}

pub fn run(args: Args) -> Result<()> {
    args.settings.check()?;
    let cases = plan(&args)?;
    let summary_path = args.out_dir.join("summary.csv");
    let lesions_path = args.out_dir.join("lesions.csv");
    let (device, networks) = args.settings.load(cases.iter().any(|c| c.t1.is_some()))?;
    prepare_out_dir(&args, &cases, [&summary_path, &lesions_path])?;

    let mut tables = Tables::create(&summary_path, &lesions_path)?;
    let failed = segment_all(&cases, &mut tables, &args.settings, &mut |case| {
        segment::segment_case(&case.job(), &networks, &device, &args.settings, &mut |_| {})
    })?;
    println!(
        "{} cases: {} segmented, {failed} failed; tables in {} and {}",
        cases.len(),
        cases.len() - failed,
        summary_path.display(),
        lesions_path.display()
    );
    if failed > 0 {
        bail!(
            "{failed} of {} cases failed (see the error column of {})",
            cases.len(),
            summary_path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_must_name_plain_files() {
        for ok in ["sub-01", "P14_T1", "case.7"] {
            assert!(check_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".hidden", "../x", "a/b", "a b", "é"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn manifest_paths_are_relative_to_its_folder_and_t1_is_optional() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("cases.csv");
        std::fs::write(&m, "id,flair,t1\na, a/f.nii.gz , a/t.nii.gz\nb,b/f.nii,\n").unwrap();
        let cases = from_manifest(&m).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].0, "a");
        assert_eq!(cases[0].1, dir.path().join("a/f.nii.gz"));
        assert_eq!(cases[0].2, Some(dir.path().join("a/t.nii.gz")));
        assert_eq!(cases[1].2, None);

        std::fs::write(&m, "id,flair\nc,c.nii\n").unwrap();
        assert_eq!(from_manifest(&m).unwrap()[0].2, None);
        std::fs::write(&m, "name,image\nc,c.nii\n").unwrap();
        assert!(from_manifest(&m).is_err());
        std::fs::write(&m, "id,flair,t1\n").unwrap();
        assert!(from_manifest(&m).is_err());
    }

    #[test]
    fn text_cells_never_start_a_formula() {
        for (raw, shown) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("sub-01", "sub-01"),
            ("/data/a=b.nii", "/data/a=b.nii"),
        ] {
            assert_eq!(cell(raw), shown);
        }
    }

    #[test]
    fn a_case_that_panics_is_recorded_as_failed_and_the_others_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let case = |id: &str| Case {
            id: id.into(),
            flair: dir.path().join(format!("{id}.nii")),
            t1: None,
            mask: dir.path().join(format!("{id}_mask.nii.gz")),
            probability: None,
            wm_mask: None,
        };
        let cases = [case("a"), case("b"), case("c")];
        let (summary, lesions) = (dir.path().join("s.csv"), dir.path().join("l.csv"));
        let mut tables = Tables::create(&summary, &lesions).unwrap();
        let settings = <Settings as clap::FromArgMatches>::from_arg_matches(
            &<Settings as clap::Args>::augment_args(clap::Command::new("t"))
                .get_matches_from(["t"]),
        )
        .unwrap();
        let mut seen = Vec::new();
        let failed = segment_all(&cases, &mut tables, &settings, &mut |c| {
            seen.push(c.id.clone());
            if c.id == "b" {
                panic!("index out of bounds in case b");
            }
            bail!("{}: unreadable", c.id)
        })
        .unwrap();
        assert_eq!(seen, ["a", "b", "c"]);
        assert_eq!(failed, 3);
        let text = std::fs::read_to_string(&summary).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 3, "{text}");
        assert!(rows[1].starts_with("b,failed,") && rows[1].contains("internal error"));
        assert!(rows[1].contains("index out of bounds in case b"), "{text}");
        assert!(rows[2].starts_with("c,failed,"));
    }
}
