//! The report a user keeps: one self-contained HTML file (styles inline, snapshots
//! embedded as PNG data) that opens in any browser without a network, with the scans'
//! names, the settings, the totals, the burden by region, the lesion table and axial
//! snapshots with the WMH overlay. Built in the core, so the page and the CLI write the
//! same report.

use base64::Engine as _;

use crate::burden::Zone;
use crate::pipeline::{Inputs, Segmentation};
use crate::render::{Display, Scene, View};

/// Snapshots in a report: the axial slices with the most WMH.
pub const SNAPSHOTS: usize = 6;

/// What the report says besides the segmentation itself.
#[derive(Debug, Clone)]
pub struct Details<'a> {
    /// The FLAIR's file name.
    pub flair: &'a str,
    /// The T1's file name, if one was given.
    pub t1: Option<&'a str>,
    /// When the report was made, as the caller words it (the core has no clock).
    pub made: &'a str,
    /// The in-plane symmetries averaged over.
    pub symmetries: usize,
    /// The filter in words ([`Segmentation::filter_description`]), or FLAIR-only.
    pub filter: &'a str,
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A PNG of RGBA pixels, as a data URL.
pub fn png_data_url(rgba: &[u8], width: usize, height: usize) -> String {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width as u32, height as u32);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        // Writing into a Vec cannot fail, and the size matches the pixels given.
        if let Ok(mut writer) = encoder.write_header() {
            let _ = writer.write_image_data(rgba);
        }
    }
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// What the viewer and the snapshots show of a segmentation: the FLAIR, the mask and
/// the WM region on the canonical grid.
pub fn scene(inputs: &Inputs, seg: &Segmentation) -> Scene {
    let r = &inputs.reorient;
    Scene {
        dims: inputs.flair.dims,
        spacing: r.canonical_spacing(inputs.reference.geometry.voxel_sizes()),
        image: r.forward(&inputs.reference.data),
        mask: r.forward(&seg.mask),
        region: seg.wm_region.as_ref().map(|w| r.forward(w)),
    }
}

/// The canonical axial slices with the most WMH voxels (at most `n`, inferior first).
pub fn busiest_slices(scene: &Scene, n: usize) -> Vec<usize> {
    let plane = scene.dims[0] * scene.dims[1];
    let mut counts: Vec<(usize, usize)> = (scene.mask.chunks(plane))
        .map(|s| s.iter().filter(|&&m| m > 0).count())
        .enumerate()
        .filter(|&(_, c)| c > 0)
        .collect();
    counts.sort_by_key(|&(z, c)| (std::cmp::Reverse(c), z));
    let mut chosen: Vec<usize> = counts.into_iter().take(n).map(|(z, _)| z).collect();
    chosen.sort_unstable();
    chosen
}

/// One axial snapshot of `scene` at canonical slice `z`, overlay at half opacity,
/// without the crosshair.
fn snapshot(scene: &Scene, z: usize, display: &Display) -> String {
    let centre = [scene.dims[0] / 2, scene.dims[1] / 2, z];
    let mut slice = scene.slice(View::Axial, centre);
    slice.cursor = (usize::MAX, usize::MAX);
    png_data_url(&slice.shade(display), slice.width, slice.height)
}

/// The report as one HTML document.
pub fn html(seg: &Segmentation, scene: &Scene, details: &Details) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
        <title>WMH report</title><style>\
        body{font-family:system-ui,sans-serif;max-width:960px;margin:1rem auto;color:#1b1b1b}\
        table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .6rem;text-align:right}\
        th:first-child,td:first-child{text-align:left}figure{display:inline-block;margin:.3rem}\
        figure img{width:300px;image-rendering:pixelated}.note{color:#555}table.settings td{text-align:left}\
        </style></head><body>\n<h1>White matter hyperintensities</h1>\n";
    out += &format!(
        "<table class=\"settings\"><tr><th>FLAIR</th><td>{}</td></tr><tr><th>T1</th><td>{}</td></tr>\
         <tr><th>made</th><td>{}</td></tr><tr><th>threshold</th><td>{:.3}</td></tr>\
         <tr><th>lesion peak</th><td>{}</td></tr><tr><th>smallest lesion</th><td>{} mm³</td></tr><tr><th>symmetries</th><td>{}</td></tr>\
         <tr><th>filter</th><td>{}</td></tr></table>\n",
        escape(details.flair),
        escape(details.t1.unwrap_or("none")),
        escape(details.made),
        seg.threshold,
        seg.lesion_peak,
        seg.min_lesion_mm3,
        details.symmetries,
        escape(details.filter),
    );
    out += &format!(
        "<h2>Total</h2><p data-total>{} lesions, {:.2} mL</p>\n",
        seg.lesions.len(),
        seg.total_ml
    );
    out += "<h2>Burden by region</h2>\n";
    if let Some(b) = &seg.burden {
        out += "<table><tr><th>region</th><th>mL</th></tr>";
        for zone in Zone::ALL {
            let ml = b
                .ml(zone)
                .map_or("not placed".into(), |ml| format!("{ml:.2}"));
            out += &format!("<tr><td>{}</td><td>{ml}</td></tr>", zone.label());
        }
        out += &format!(
            "</table><p class=\"note\">ventricles found: {:.1} mL</p>\n",
            b.ventricles_ml
        );
    }
    for note in seg.burden_notes() {
        out += &format!("<p class=\"note\">{}</p>\n", escape(&note));
    }
    let display = {
        let (level, width) = scene.default_window();
        Display {
            level,
            width,
            opacity: 0.5,
            ..Display::default()
        }
    };
    out += "<h2>Snapshots</h2>\n";
    for z in busiest_slices(scene, SNAPSHOTS) {
        out += &format!(
            "<figure><img alt=\"axial slice {}\" src=\"{}\"><figcaption>axial {}/{}, counted inferior to superior</figcaption></figure>\n",
            z + 1,
            snapshot(scene, z, &display),
            z + 1,
            scene.dims[2]
        );
    }
    out += "<h2>Lesions</h2>\n<table><tr><th>#</th><th>volume (mL)</th><th>slice (as stored)</th><th>region</th></tr>";
    for (k, l) in seg.lesions.iter().enumerate() {
        out += &format!(
            "<tr><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
            k + 1,
            l.volume_ml,
            l.slice + 1,
            l.zone.map_or("", |z| z.label())
        );
    }
    out += "</table>\n<p class=\"note\">Made by the WMH finder on this computer; nothing was uploaded. \
            Not a diagnosis: check every finding against the images.</p>\n</body></html>\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::burden::{Burden, Zones};
    use crate::pipeline::Lesion;

    #[test]
    fn the_report_holds_the_totals_the_regions_and_one_snapshot_per_busy_slice() {
        let dims = [8, 8, 10];
        let n = 8 * 8 * 10;
        let mut mask = vec![0u8; n];
        // WMH in slices 2 (3 voxels), 5 (1) and 7 (2).
        for v in [
            2 * 64 + 9,
            2 * 64 + 10,
            2 * 64 + 11,
            5 * 64 + 20,
            7 * 64 + 30,
            7 * 64 + 31,
        ] {
            mask[v] = 1;
        }
        let scene = Scene {
            dims,
            spacing: [1.0; 3],
            image: (0..n).map(|v| (v % 7) as f32).collect(),
            mask: mask.clone(),
            region: None,
        };
        assert_eq!(busiest_slices(&scene, 2), vec![2, 7]);
        let zones = Zones {
            codes: vec![2; n],
            ventricles_ml: 12.5,
            infratentorial: false,
        };
        let seg = Segmentation {
            probability: vec![0.0; n],
            mask: mask.clone(),
            threshold: 0.5,
            lesion_peak: 0.0,
            min_lesion_mm3: 0.0,
            wm_region: None,
            lesions: vec![Lesion {
                voxels: 6,
                volume_ml: 0.006,
                centroid: [1.0, 1.0, 4.0],
                slice: 4,
                zone: Some(Zone::Deep),
            }],
            total_ml: 0.006,
            filter: crate::pipeline::Filter::WhiteMatter,
            brain_fallback_slices: 0,
            brain_ml: Some(1200.0),
            brain_method: Some(crate::brain::Method::Template { ncc: 0.6 }),
            region_ml: Some(600.0),
            burden: Some(Burden::of(&mask, &zones, 0.001)),
            zones: Some(zones),
        };
        let details = Details {
            flair: "sub<1>_FLAIR.nii.gz",
            t1: None,
            made: "today",
            symmetries: 1,
            filter: "white-matter filter on",
        };
        let html = html(&seg, &scene, &details);
        assert!(html.contains("<p data-total>1 lesions, 0.01 mL</p>"));
        assert!(html.contains("<tr><td>deep</td><td>0.01</td></tr>"));
        assert!(html.contains("<tr><td>infratentorial</td><td>not placed</td></tr>"));
        assert!(
            html.contains("sub&lt;1&gt;_FLAIR.nii.gz"),
            "names are escaped"
        );
        assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 3);
        // Self-contained: nothing to fetch.
        assert!(!html.contains("http") && !html.contains("src=\"/"));
    }

    #[test]
    fn snapshots_are_png_files() {
        let url = png_data_url(&[255; 2 * 3 * 4], 2, 3);
        let data = url.strip_prefix("data:image/png;base64,").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    }
}
