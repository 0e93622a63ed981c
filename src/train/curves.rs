//! Learning curves as PNG, drawn from a run's `log.csv` so a resumed run's picture
//! covers the whole history: training loss on the left, validation Dice and lesion F1
//! on the right.
//!
//! Text needs a font: the first of a few common system fonts is used (no fontconfig
//! dependency); without one the curves are still drawn, unlabelled.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, Result};
use plotters::prelude::*;

/// One validation row of `log.csv`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
pub struct Row {
    /// Training step.
    pub step: f64,
    /// Mean training loss since the previous row.
    pub loss: f64,
    /// Validation Dice.
    pub val_dice: f64,
    /// Validation lesion F1.
    pub val_f1: f64,
}

/// Reads the rows of a run's `log.csv`.
pub fn read_log(path: &Path) -> Result<Vec<Row>> {
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("{}", path.display()))?;
    reader
        .deserialize()
        .map(|r| r.with_context(|| format!("{}", path.display())))
        .collect()
}

const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
];

/// Registers a system font as "sans-serif" once; false when none could be loaded.
fn font() -> bool {
    static LOADED: OnceLock<bool> = OnceLock::new();
    *LOADED.get_or_init(|| {
        FONTS.iter().any(|path| {
            std::fs::read(path).is_ok_and(|bytes| {
                // Leaked once per process: plotters keeps fonts for the program's life.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
            })
        })
    })
}

/// The value range of `values`, padded a little, never empty.
pub fn padded_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    (lo - pad)..(hi + pad)
}

/// One panel: its name, y range, and lines (label, colour, value of a row).
type Panel = (&'static str, std::ops::Range<f64>, Vec<Line>);
/// One line of a panel.
type Line = (&'static str, RGBColor, fn(&Row) -> f64);

/// Draws `rows` into `png` (900 x 380 pixels) titled `title`.
pub fn draw(rows: &[Row], title: &str, png: &Path) -> Result<()> {
    let labelled = font();
    let root = BitMapBackend::new(png, (900, 380)).into_drawing_area();
    root.fill(&WHITE)?;
    let steps = padded_range(rows.iter().map(|r| r.step));
    let steps = steps.start.max(0.0)..steps.end;
    let panels = root.split_evenly((1, 2));
    let series: [Panel; 2] = [
        (
            "training loss",
            padded_range(rows.iter().map(|r| r.loss)),
            vec![("loss", BLUE, |r| r.loss)],
        ),
        (
            "validation",
            0.0..1.0,
            vec![
                ("Dice (p > 0.5)", RED, |r| r.val_dice),
                ("lesion F1", GREEN, |r| r.val_f1),
            ],
        ),
    ];
    for (area, (name, range, lines)) in panels.iter().zip(series) {
        let mut builder = ChartBuilder::on(area);
        builder.margin(12);
        if labelled {
            builder
                .caption(format!("{title}: {name}"), ("sans-serif", 16))
                .x_label_area_size(30)
                .y_label_area_size(45);
        }
        let mut chart = builder.build_cartesian_2d(steps.clone(), range)?;
        let mut mesh = chart.configure_mesh();
        if labelled {
            mesh.x_desc("step")
                .x_label_formatter(&|x| format!("{x:.0}"));
        } else {
            mesh.disable_x_mesh().disable_y_mesh();
        }
        mesh.draw()?;
        for (label, colour, value) in lines {
            let drawn = chart.draw_series(LineSeries::new(
                rows.iter()
                    .map(|r| (r.step, value(r)))
                    .filter(|p| p.1.is_finite()),
                colour.stroke_width(2),
            ))?;
            if labelled {
                drawn
                    .label(label)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
            }
        }
        if labelled {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
    }
    root.present()
        .with_context(|| format!("{}", png.display()))?;
    Ok(())
}

/// Redraws `<run>/curves.png` from `<run>/log.csv`.
pub fn plot_run(run: &Path) -> Result<()> {
    let rows = read_log(&run.join("log.csv"))?;
    let title = run
        .file_name()
        .map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned());
    draw(&rows, &title, &run.join("curves.png"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_pads_and_survives_empty_input() {
        let r = padded_range([1.0, 3.0].into_iter());
        assert!((r.start - 0.9).abs() < 1e-12 && (r.end - 3.1).abs() < 1e-12);
        assert_eq!(padded_range(std::iter::empty()), 0.0..1.0);
        assert_eq!(padded_range([f64::NAN].into_iter()), 0.0..1.0);
    }

    #[test]
    fn reads_a_log_and_draws_a_png() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("log.csv"),
            "step,seconds,loss,val_dice,val_f1,slices_per_s\n250,10.0,0.5,0.2,0.1,20\n500,20.0,0.3,0.4,0.2,21\n",
        )
        .unwrap();
        let rows = read_log(&dir.path().join("log.csv")).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1],
            Row {
                step: 500.0,
                loss: 0.3,
                val_dice: 0.4,
                val_f1: 0.2
            }
        );
        plot_run(dir.path()).unwrap();
        let png = std::fs::read(dir.path().join("curves.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(png.len() > 2000, "a real picture, not an empty file");
    }
}
