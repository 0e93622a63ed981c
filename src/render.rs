//! Slice rendering for the viewer: cuts axial, coronal and sagittal slices from a
//! canonical (RAS) volume, applies window/level and composites the WMH overlay,
//! the WM-region contour and the crosshair into RGBA pixels.
//!
//! Pure and target-independent, so it is unit-tested natively; the web layer only
//! hands the pixels to a canvas.

use crate::volume::index;

/// The three viewing planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Perpendicular to inferior-superior; anterior up, patient's right on the right.
    Axial,
    /// Perpendicular to anterior-posterior; superior up, patient's right on the right.
    Coronal,
    /// Perpendicular to left-right; superior up, anterior on the left.
    Sagittal,
}

impl View {
    /// The canonical axis this view slices through.
    pub fn axis(self) -> usize {
        match self {
            View::Axial => 2,
            View::Coronal => 1,
            View::Sagittal => 0,
        }
    }

    /// Canonical axes shown along screen columns and rows.
    fn plane_axes(self) -> (usize, usize) {
        match self {
            View::Axial => (0, 1),
            View::Coronal => (0, 2),
            View::Sagittal => (1, 2),
        }
    }

    /// Lower-case name, for labels and test ids.
    pub fn name(self) -> &'static str {
        match self {
            View::Axial => "axial",
            View::Coronal => "coronal",
            View::Sagittal => "sagittal",
        }
    }

    /// Labels for the left and right screen edges.
    pub fn edge_labels(self) -> (&'static str, &'static str) {
        match self {
            View::Axial | View::Coronal => ("L", "R"),
            View::Sagittal => ("A", "P"),
        }
    }
}

/// What is shown: a canonical volume with its segmentation.
#[derive(Debug, Clone)]
pub struct Scene {
    /// Canonical extents.
    pub dims: [usize; 3],
    /// Voxel sizes (mm) along the canonical axes.
    pub spacing: [f64; 3],
    /// Image intensities (canonical order).
    pub image: Vec<f32>,
    /// 0/1 WMH mask (canonical order).
    pub mask: Vec<u8>,
    /// 0/1 WM region (canonical order), if any.
    pub region: Option<Vec<u8>>,
}

/// How it is shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Display {
    /// Window centre (level), image units.
    pub level: f32,
    /// Window width, image units.
    pub width: f32,
    /// WMH overlay opacity (0-1).
    pub opacity: f32,
    /// Whether to draw the WM-region contour.
    pub contour: bool,
    /// Crosshair position (canonical voxel), also selecting each view's slice.
    pub cursor: [usize; 3],
}

/// A rendered slice: RGBA pixels and the physical size of the picture.
#[derive(Debug, Clone)]
pub struct Picture {
    /// Pixels across.
    pub width: usize,
    /// Pixels down.
    pub height: usize,
    /// Row-major RGBA.
    pub rgba: Vec<u8>,
    /// Physical width and height in mm (for the on-screen aspect ratio).
    pub size_mm: (f64, f64),
}

impl Scene {
    /// A default window: the 1st to 99th percentile of non-zero intensities.
    pub fn default_window(&self) -> (f32, f32) {
        let nonzero: Vec<f32> = self.image.iter().copied().filter(|&v| v != 0.0).collect();
        let lo = crate::volume::percentile(&nonzero, 1.0);
        let hi = crate::volume::percentile(&nonzero, 99.0);
        ((lo + hi) / 2.0, (hi - lo).max(1e-3))
    }

    /// Canonical voxel shown at screen pixel (`col`, `row`) of `view` at the cursor.
    pub fn voxel_at(&self, view: View, cursor: [usize; 3], col: usize, row: usize) -> [usize; 3] {
        let (ca, ra) = view.plane_axes();
        let mut v = cursor;
        v[ca] = if view == View::Sagittal {
            self.dims[ca] - 1 - col
        } else {
            col
        };
        v[ra] = self.dims[ra] - 1 - row;
        v
    }

    /// Renders one view.
    pub fn render(&self, view: View, d: &Display) -> Picture {
        let (ca, ra) = view.plane_axes();
        let (w, h) = (self.dims[ca], self.dims[ra]);
        let mut rgba = vec![0u8; w * h * 4];
        let lo = d.level - d.width / 2.0;
        let at = |v: [usize; 3]| index(self.dims, v[0], v[1], v[2]);
        let region_at = |v: [usize; 3]| self.region.as_ref().is_some_and(|r| r[at(v)] > 0);
        for row in 0..h {
            for col in 0..w {
                let v = self.voxel_at(view, d.cursor, col, row);
                let g = ((self.image[at(v)] - lo) / d.width).clamp(0.0, 1.0) * 255.0;
                let mut px = [g, g, g];
                if self.mask[at(v)] > 0 {
                    let red = [255.0, 40.0, 40.0];
                    for k in 0..3 {
                        px[k] = px[k] * (1.0 - d.opacity) + red[k] * d.opacity;
                    }
                }
                if d.contour && region_at(v) {
                    // A region voxel with an in-plane neighbour outside it is on the contour.
                    let edge = [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)]
                        .iter()
                        .any(|&(dc, dr)| {
                            let (c2, r2) = (col as i64 + dc, row as i64 + dr);
                            c2 < 0
                                || r2 < 0
                                || c2 >= w as i64
                                || r2 >= h as i64
                                || !region_at(self.voxel_at(
                                    view,
                                    d.cursor,
                                    c2 as usize,
                                    r2 as usize,
                                ))
                        });
                    if edge {
                        px = [255.0, 210.0, 0.0];
                    }
                }
                let on_cross = v[ca] == d.cursor[ca] || v[ra] == d.cursor[ra];
                if on_cross {
                    px = [px[0] * 0.5, px[1] * 0.5 + 127.0, px[2] * 0.5 + 127.0];
                }
                let o = (row * w + col) * 4;
                rgba[o..o + 3].copy_from_slice(&px.map(|c| c as u8));
                rgba[o + 3] = 255;
            }
        }
        Picture {
            width: w,
            height: h,
            rgba,
            size_mm: (w as f64 * self.spacing[ca], h as f64 * self.spacing[ra]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene() -> Scene {
        let dims = [4, 3, 2];
        let n = 24;
        let mut mask = vec![0; n];
        mask[index(dims, 3, 2, 1)] = 1; // right, anterior, superior corner
        Scene {
            dims,
            spacing: [1.0, 2.0, 5.0],
            image: (0..n).map(|v| v as f32).collect(),
            mask,
            region: None,
        }
    }

    fn display(cursor: [usize; 3]) -> Display {
        Display {
            level: 11.5,
            width: 23.0,
            opacity: 1.0,
            contour: false,
            cursor,
        }
    }

    #[test]
    fn axial_puts_anterior_up_and_right_on_the_right() {
        let s = scene();
        // Cursor off the lesion's row/column so the crosshair does not tint it.
        let p = s.render(View::Axial, &display([0, 0, 1]));
        assert_eq!((p.width, p.height), (4, 3));
        assert_eq!(p.size_mm, (4.0, 6.0));
        // Top-right pixel is x = 3 (right), y = 2 (anterior): the lesion, drawn red.
        let o = 3 * 4; // row 0, column 3
        assert_eq!(&p.rgba[o..o + 3], &[255, 40, 40]);
    }

    #[test]
    fn sagittal_has_anterior_on_the_left_and_superior_up() {
        let s = scene();
        let p = s.render(View::Sagittal, &display([3, 0, 0]));
        assert_eq!((p.width, p.height), (3, 2));
        assert_eq!(p.size_mm, (6.0, 10.0));
        assert_eq!(s.voxel_at(View::Sagittal, [3, 0, 0], 0, 0), [3, 2, 1]);
    }

    #[test]
    fn window_maps_level_to_mid_grey_and_clamps() {
        let mut s = scene();
        s.mask = vec![0; 24];
        let d = Display {
            level: 10.0,
            width: 4.0,
            opacity: 0.5,
            contour: false,
            cursor: [0, 0, 0],
        };
        let p = s.render(View::Axial, &d);
        // Voxel (2, 1, 0) = 6 is below the window: black. (3, 1, 0) = 7 too.
        let o = (4 + 2) * 4; // row 1 (y = 1), column 2
        assert_eq!(p.rgba[o], 0);
    }

    #[test]
    fn contour_marks_region_edges_only() {
        let dims = [5, 5, 1];
        let mut region = vec![0u8; 25];
        for y in 1..4 {
            for x in 1..4 {
                region[index(dims, x, y, 0)] = 1;
            }
        }
        let s = Scene {
            dims,
            spacing: [1.0; 3],
            image: vec![0.0; 25],
            mask: vec![0; 25],
            region: Some(region),
        };
        let d = Display {
            level: 0.0,
            width: 1.0,
            opacity: 0.0,
            contour: true,
            cursor: [0, 0, 0],
        };
        let p = s.render(View::Axial, &d);
        let px = |x: usize, y: usize| {
            let row = 4 - y;
            p.rgba[(row * 5 + x) * 4 + 1]
        };
        assert_eq!(px(1, 1), 210); // corner of the region: contour
        assert_ne!(px(2, 2), 210); // centre: not contour
    }
}
