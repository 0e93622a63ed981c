//! `wmh validate`: the five challenge metrics of shipped (or any) weights on labelled
//! cases, with and without the white-matter filter, next to a simple baseline.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::metrics::{self, Scores};
use crate::model::Symmetries;
use crate::pipeline::{self, Coverage, Inputs, Options, Segmentation};

use super::Backend;
use crate::files;

/// Arguments of `wmh validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Case folders, each with flair.nii.gz, t1.nii.gz and wmh.nii.gz.
    #[arg(required = true)]
    cases: Vec<PathBuf>,
    /// Weights folder.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Probability thresholds, comma-separated, each scored from one prediction
    /// (default: the one stored with the weights).
    #[arg(long, value_delimiter = ',')]
    threshold: Vec<f32>,
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
    /// In-plane symmetries the WMH probabilities were averaged over.
    symmetries: usize,
    scores: Scores,
}

const METHODS: [&str; 3] = [
    "networks + WM filter",
    "WMH network only",
    "baseline (z > t in WM)",
];

pub fn run(args: Args) -> Result<()> {
    super::segment::check_min_lesion_mm3(args.min_lesion_mm3)?;
    let device = args.device.device()?;
    let weights = args
        .weights
        .clone()
        .unwrap_or_else(super::default_weights_dir);
    let networks = super::load_networks(&weights, true, &device)?;
    let thresholds = if args.threshold.is_empty() {
        vec![networks.wmh.spec.threshold]
    } else {
        args.threshold.clone()
    };
    let mut rows = Vec::new();
    println!("| case | method | threshold | DSC | H95 mm | AVD % | recall | F1 |");
    println!("|---|---|---|---|---|---|---|---|");
    for case in &args.cases {
        let name = case.file_name().map_or_else(
            || case.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let flair = files::read_volume(&case.join("flair.nii.gz"))?;
        let t1 = files::read_volume(&case.join("t1.nii.gz"))?;
        let truth = files::read_volume(&case.join("wmh.nii.gz"))?;
        let affine = flair.geometry.affine;
        let inputs = Inputs::prepare(flair, Some(&t1), networks.preparation())
            .with_context(|| name.clone())?;
        let first = Options {
            threshold: thresholds[0],
            min_lesion_mm3: args.min_lesion_mm3,
            symmetries: args.symmetries,
            ..networks.options()
        };
        let planes = pipeline::predict_all(
            &inputs,
            &networks,
            &device,
            &first,
            Coverage::Every,
            1,
            &mut |_| {},
        );
        let mut results: Vec<(&'static str, f32, Segmentation)> = vec![(
            METHODS[2],
            thresholds[0],
            inputs.baseline(planes.region.as_ref(), args.baseline_z, &first),
        )];
        for &threshold in &thresholds {
            let on = Options { threshold, ..first };
            let off = Options {
                wm_filter: false,
                ..on
            };
            results.push((
                METHODS[0],
                threshold,
                inputs.finish(&planes.wmh, planes.region.as_ref(), &on),
            ));
            results.push((
                METHODS[1],
                threshold,
                inputs.finish(&planes.wmh, None, &off),
            ));
        }
        for (method, threshold, seg) in results {
            let mask: Vec<f32> = seg.mask.iter().map(|&m| f32::from(m)).collect();
            let s = metrics::score(
                &truth.data,
                truth.dims,
                &mask,
                inputs.reference.dims,
                &affine,
            )?;
            println!(
                "| {name} | {method} | {threshold} | {:.3} | {:.2} | {:.1} | {:.3} | {:.3} |",
                s.dsc, s.h95, s.avd, s.recall, s.f1
            );
            rows.push(Row {
                case: name.clone(),
                method,
                threshold,
                symmetries: args.symmetries.count(),
                scores: s,
            });
        }
    }
    let groups = METHODS.iter().flat_map(|&m| {
        let ts = if m == METHODS[2] {
            &thresholds[..1]
        } else {
            &thresholds[..]
        };
        ts.iter().map(move |&t| (m, t))
    });
    for (method, threshold) in groups {
        let sel: Vec<&Scores> = rows
            .iter()
            .filter(|r| r.method == method && r.threshold == threshold)
            .map(|r| &r.scores)
            .collect();
        let mean = |f: fn(&Scores) -> f64| {
            sel.iter()
                .map(|s| f(s))
                .filter(|v| v.is_finite())
                .sum::<f64>()
                / sel.len().max(1) as f64
        };
        println!(
            "| **mean** | {method} | {threshold} | {:.3} | {:.2} | {:.1} | {:.3} | {:.3} |",
            mean(|s| s.dsc),
            mean(|s| s.h95),
            mean(|s| s.avd),
            mean(|s| s.recall),
            mean(|s| s.f1)
        );
    }
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&rows)?)?;
    }
    Ok(())
}
