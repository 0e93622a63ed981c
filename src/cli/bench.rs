//! `wmh bench`: seconds per volume and peak memory of both networks, per base width
//! and backend, on a synthetic volume pushed through the real pipeline.
//!
//! Each configuration runs in a child process so that its peak resident memory
//! (`VmHWM`) is its own.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::files;
use crate::model::{Symmetries, UNetConfig};
use crate::phantom;
use crate::pipeline::{self, Inputs, Network, NetworkSpec, Networks, Options, Task};
use crate::volume::Affine;

use super::Backend;

/// Arguments of `wmh bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base widths to measure.
    #[arg(long, value_delimiter = ',', default_values_t = vec![16, 32, 64])]
    widths: Vec<usize>,
    /// Base width of the WM network (default: the same as the WMH network's); the
    /// shipped pair is `--widths 8 --wm-width 16`.
    #[arg(long)]
    wm_width: Option<usize>,
    /// Networks in the WMH ensemble (their probabilities are averaged); the shipped
    /// ensemble's count is `members` in `weights/wmh.json`.
    #[arg(long, default_value_t = 1)]
    members: usize,
    /// In-plane symmetries the WMH networks are averaged over: 1, 2 or 8 (as `segment`).
    #[arg(long, default_value_t = Symmetries::One)]
    symmetries: Symmetries,
    /// Backends to measure (a GPU backend without an adapter is reported and skipped).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = vec![Backend::Cpu, Backend::Gpu])]
    devices: Vec<Backend>,
    /// Axial slices of the synthetic volume (256 x 256 in-plane).
    #[arg(long, default_value_t = 48)]
    slices: usize,
    /// Slices per network batch (1 is fastest on the CPU: the activations stay in cache).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Timed repetitions after one warm-up run.
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    /// Write the results as JSON to this file as well.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Instead of measuring, write the benchmark's FLAIR and T1 (flair.nii.gz, t1.nii.gz)
    /// into this folder, so that the web app can be timed on the same volume.
    #[arg(long)]
    write_volume: Option<std::path::PathBuf>,
    /// Internal: measure one configuration in this process.
    #[arg(long, hide = true)]
    single: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Measurement {
    backend: String,
    width: usize,
    wm_width: usize,
    members: usize,
    symmetries: usize,
    slices: usize,
    seconds_per_volume: f64,
    peak_rss_mib: f64,
}

pub fn run(args: Args) -> Result<()> {
    if args.members == 0 || args.members > pipeline::MAX_MEMBERS {
        bail!("--members must be 1 to {}", pipeline::MAX_MEMBERS);
    }
    if let Some(dir) = &args.write_volume {
        return super::example::write_case(dir, &volume(args.slices), false);
    }
    if args.single {
        let (&width, &backend) = args
            .widths
            .first()
            .zip(args.devices.first())
            .context("one width and one device")?;
        let wm_width = args.wm_width.unwrap_or(width);
        let m = measure(
            (width, wm_width),
            args.members,
            args.symmetries,
            backend,
            args.slices,
            args.repeats,
            args.batch,
        )?;
        println!("{}", serde_json::to_string(&m)?);
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let mut results = Vec::new();
    println!(
        "both networks (WMH on FLAIR, WM on T1), 256 x 256 x {} volume",
        args.slices
    );
    println!(
        "{:<8} {:>6} {:>8} {:>10} {:>9} {:>14} {:>14}",
        "backend", "width", "members", "symmetries", "WM width", "s / volume", "peak RSS MiB"
    );
    for &backend in &args.devices {
        for &width in &args.widths {
            let out = Command::new(&exe)
                .args(["bench", "--single", "--slices", &args.slices.to_string()])
                .args(["--repeats", &args.repeats.to_string()])
                .args(["--batch", &args.batch.to_string()])
                .args(["--widths", &width.to_string()])
                .args(["--wm-width", &args.wm_width.unwrap_or(width).to_string()])
                .args(["--members", &args.members.to_string()])
                .args(["--symmetries", &args.symmetries.to_string()])
                .args(["--devices", &format!("{backend:?}").to_lowercase()])
                .output()?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                println!(
                    "{:<8} {:>6}   skipped: {}",
                    format!("{backend:?}").to_lowercase(),
                    width,
                    err.trim()
                );
                continue;
            }
            let m: Measurement = serde_json::from_slice(&out.stdout).context("child output")?;
            println!(
                "{:<8} {:>6} {:>8} {:>10} {:>9} {:>14.2} {:>14.0}",
                m.backend,
                m.width,
                m.members,
                m.symmetries,
                m.wm_width,
                m.seconds_per_volume,
                m.peak_rss_mib
            );
            results.push(m);
        }
    }
    if let Some(path) = args.json {
        files::write_all_atomic(&[(&path, serde_json::to_vec_pretty(&results)?)])?;
    }
    if results.is_empty() {
        bail!("no configuration could be measured");
    }
    Ok(())
}

/// Times both networks, of base widths `(wmh, wm)` and `members` WMH networks averaged
/// over `symmetries`, through the whole pipeline.
fn measure(
    (width, wm_width): (usize, usize),
    members: usize,
    symmetries: Symmetries,
    backend: Backend,
    slices: usize,
    repeats: usize,
    batch: usize,
) -> Result<Measurement> {
    let device = backend.device()?;
    let net = |task, width, members| {
        let unet = UNetConfig::new().with_base_width(width).with_context(1);
        let spec = NetworkSpec {
            members,
            // The shipped WMH network's FLAIR preparation (the T1's is fixed).
            normalisation: match task {
                Task::Wmh => crate::pipeline::Normalisation::Peak,
                Task::Wm => crate::pipeline::Normalisation::Zscore,
            },
            ..NetworkSpec::new(task, unet, 1.0)
        };
        Network::init(spec, &device)
    };
    let networks = Networks {
        wmh: net(Task::Wmh, width, members),
        wm: Some(net(Task::Wm, wm_width, 1)),
    };
    let case = volume(slices);
    let options = Options {
        symmetries,
        ..Options::default()
    };
    // Preparation (resampling, brain extraction, normalisation) counts: a user waits for it.
    let once = || -> Result<()> {
        let inputs = Inputs::prepare(case.flair.clone(), Some(&case.t1), networks.preparation())?;
        pipeline::run(&inputs, &networks, &device, &options, batch, &mut |_| {});
        Ok(())
    };
    once()?; // warm-up: kernel compilation and allocator growth
    let start = Instant::now();
    for _ in 0..repeats.max(1) {
        once()?;
    }
    Ok(Measurement {
        backend: format!("{backend:?}").to_lowercase(),
        width,
        wm_width,
        members,
        symmetries: symmetries.count(),
        slices,
        seconds_per_volume: start.elapsed().as_secs_f64() / repeats.max(1) as f64,
        peak_rss_mib: peak_rss_mib(),
    })
}

/// The benchmark's case: 256 x 256 x `slices` voxels of 0.95 x 0.95 x 3 mm, stored
/// LPS-style, like a clinical axial FLAIR with its T1 on the same grid.
fn volume(slices: usize) -> phantom::Phantom {
    let affine: Affine = [
        [-0.95, 0.0, 0.0, 0.95 * 127.5],
        [0.0, 0.95, 0.0, -0.95 * 127.5],
        [0.0, 0.0, 3.0, -3.0 * (slices as f64 - 1.0) / 2.0],
    ];
    phantom::generate([256, 256, slices], affine, 1)
}

/// Peak resident set size of this process (Linux `VmHWM`), 0 where unknown.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
