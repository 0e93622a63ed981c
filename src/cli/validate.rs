//! `wmh validate`: the five challenge metrics of shipped (or any) weights on labelled
//! cases, with and without the white-matter filter, next to a simple baseline.

use std::path::{Path, PathBuf};

use burn::prelude::Device;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::metrics::{self, Scores};
use crate::model::Symmetries;
use crate::pipeline::{self, Coverage, Inputs, Networks, Options, Segmentation};

use super::Backend;
use crate::case;
use crate::files;

/// Arguments of `wmh validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Case folders, each with flair, t1 and wmh images (`.nii.gz` or `.nii`).
    #[arg(required = true)]
    cases: Vec<PathBuf>,
    /// Weights folder.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Probability thresholds, comma-separated, each scored from one prediction
    /// (default: the one stored with the weights).
    #[arg(long, value_delimiter = ',')]
    threshold: Vec<f32>,
    /// Lesion peaks, comma-separated, each scored at every threshold (default: the one
    /// stored with the weights).
    #[arg(long, value_delimiter = ',')]
    lesion_peak: Vec<f32>,
    /// Leave lesions smaller than this many mm³ out of every method's mask.
    #[arg(long, default_value_t = 0.0)]
    min_lesion_mm3: f64,
    /// In-plane symmetries the WMH networks are averaged over: 1, 2 or 8 (as `segment`).
    #[arg(long, default_value_t = Symmetries::One)]
    symmetries: Symmetries,
    /// Baseline threshold: FLAIR z-score within the white-matter region.
    #[arg(long, default_value_t = 2.5)]
    baseline_z: f32,
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    device: Backend,
    /// Also write all scores as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Row {
    case: String,
    method: &'static str,
    /// The networks' probability threshold (the baseline's rows repeat the first).
    threshold: f32,
    /// The probability each kept lesion's peak reaches (the baseline's rows repeat the
    /// first).
    lesion_peak: f32,
    /// In-plane symmetries the WMH probabilities were averaged over.
    symmetries: usize,
    scores: Scores,
}

const METHODS: [&str; 3] = [
    "networks + WM filter",
    "WMH network only",
    "baseline (z > t in WM)",
];

/// Scores every method on every case, prints the table with a mean per method and
/// threshold, and writes the rows as JSON when asked.
pub fn run(args: Args) -> Result<()> {
    super::segment::check_probability("--threshold", &args.threshold)?;
    super::segment::check_probability("--lesion-peak", &args.lesion_peak)?;
    super::segment::check_min_lesion_mm3(args.min_lesion_mm3)?;
    let device = args.device.device()?;
    let weights = args
        .weights
        .clone()
        .unwrap_or_else(super::default_weights_dir);
    let networks = super::load_networks(&weights, true, &device)?;
    let or_stored = |given: &[f32], stored| {
        if given.is_empty() {
            vec![stored]
        } else {
            given.to_vec()
        }
    };
    let thresholds = or_stored(&args.threshold, networks.wmh.spec.threshold);
    let peaks = or_stored(&args.lesion_peak, networks.wmh.spec.lesion_peak);
    let cuts: Vec<(f32, f32)> = (thresholds.iter())
        .flat_map(|&t| peaks.iter().map(move |&p| (t, p)))
        .collect();
    let mut rows = Vec::new();
    println!("| case | method | threshold | lesion peak | DSC | H95 mm | AVD % | recall | F1 |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for case in &args.cases {
        for row in score_case(case, &args, &networks, &cuts, &device)? {
            let s = &row.scores;
            println!(
                "| {} | {} | {} | {} | {:.3} | {:.2} | {:.1} | {:.3} | {:.3} |",
                row.case,
                row.method,
                row.threshold,
                row.lesion_peak,
                s.dsc,
                s.h95,
                s.avd,
                s.recall,
                s.f1
            );
            rows.push(row);
        }
    }
    print_means(&rows, &cuts);
    if let Some(path) = args.json {
        files::write_all_atomic(&[(path, serde_json::to_vec_pretty(&rows)?)])?;
    }
    Ok(())
}

/// The rows of one labelled case folder: the baseline, then the networks with and
/// without the filter at each (threshold, lesion peak), all from one prediction.
fn score_case(
    case: &Path,
    args: &Args,
    networks: &Networks,
    cuts: &[(f32, f32)],
    device: &Device,
) -> Result<Vec<Row>> {
    let name = case.file_name().map_or_else(
        || case.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let flair = files::read_volume(&case::require(case, case::FLAIR)?)?;
    let t1 = files::read_volume(&case::require(case, case::T1)?)?;
    let truth = files::read_volume(&case::require(case, case::WMH)?)?;
    let affine = flair.geometry.affine;
    let inputs =
        Inputs::prepare(flair, Some(&t1), networks.preparation()).with_context(|| name.clone())?;
    let first = Options {
        threshold: cuts[0].0,
        lesion_peak: cuts[0].1,
        min_lesion_mm3: args.min_lesion_mm3,
        symmetries: args.symmetries,
        ..networks.options()
    };
    let planes = pipeline::predict_all(
        &inputs,
        networks,
        device,
        &first,
        Coverage::Every,
        1,
        &mut |_| {},
    );
    let region = planes.region.as_ref();
    let mut results: Vec<(&'static str, Segmentation)> =
        vec![(METHODS[2], inputs.baseline(region, args.baseline_z, &first))];
    for &(threshold, lesion_peak) in cuts {
        let on = Options {
            threshold,
            lesion_peak,
            ..first
        };
        let off = Options {
            wm_filter: false,
            ..on
        };
        results.push((METHODS[0], inputs.finish(&planes.wmh, region, &on)));
        results.push((METHODS[1], inputs.finish(&planes.wmh, None, &off)));
    }
    results
        .into_iter()
        .map(|(method, seg)| {
            let mask: Vec<f32> = seg.mask.iter().map(|&m| f32::from(m)).collect();
            let scores = metrics::score(
                &truth.data,
                truth.dims,
                &mask,
                inputs.reference.dims,
                &affine,
            )?;
            Ok(Row {
                case: name.clone(),
                method,
                threshold: seg.threshold,
                lesion_peak: seg.lesion_peak,
                symmetries: args.symmetries.count(),
                scores,
            })
        })
        .collect()
}

/// The mean of the finite values: a case whose H95 or AVD is undefined (an empty mask)
/// is left out of that column's mean rather than counted as 0; NaN when none is finite.
fn mean_finite(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .filter(|v| v.is_finite())
        .fold((0.0, 0), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// One mean row per method and (threshold, lesion peak); the baseline's at the first
/// only.
fn print_means(rows: &[Row], cuts: &[(f32, f32)]) {
    let groups = METHODS.iter().flat_map(|&m| {
        let cs = if m == METHODS[2] { &cuts[..1] } else { cuts };
        cs.iter().map(move |&c| (m, c))
    });
    for (method, (threshold, peak)) in groups {
        let sel: Vec<&Scores> = rows
            .iter()
            .filter(|r| r.method == method && (r.threshold, r.lesion_peak) == (threshold, peak))
            .map(|r| &r.scores)
            .collect();
        let mean = |f: fn(&Scores) -> f64| mean_finite(sel.iter().map(|s| f(s)));
        println!(
            "| **mean** | {method} | {threshold} | {peak} | {:.3} | {:.2} | {:.1} | {:.3} | {:.3} |",
            mean(|s| s.dsc),
            mean(|s| s.h95),
            mean(|s| s.avd),
            mean(|s| s.recall),
            mean(|s| s.f1)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_scores_are_left_out_of_the_mean_not_counted_as_zero() {
        assert_eq!(mean_finite([2.0, f64::NAN, 4.0].into_iter()), 3.0);
        assert_eq!(mean_finite([1.0, f64::INFINITY].into_iter()), 1.0);
        assert!(mean_finite([f64::NAN].into_iter()).is_nan());
    }
}
