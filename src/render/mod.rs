//! Slice rendering for the viewer. The pure part cuts axial, coronal and sagittal
//! slices from a canonical (RAS) volume and lays the three views out on one canvas;
//! [`gpu`] draws them with wgpu and `shaders/viewer.wgsl` (window/level, WMH overlay,
//! WM-region contour, crosshair). [`Slice::shade`] is the same compositing on the CPU,
//! the reference the shader is tested against.
//!
//! Target-independent: natively the GPU part runs on Vulkan (lavapipe in CI), in the
//! browser on WebGPU or on wgpu's WebGL2 path.

pub mod gpu;

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

/// How it is shown: the parameters of `shaders/viewer.wgsl`.
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
    /// Magnification: 1 shows whole slices, 2 half their width and height.
    pub zoom: f32,
    /// Shift of the views' centres from the crosshair, in fractions of each slice's
    /// width and height (when zoomed).
    pub pan: [f32; 2],
}

impl Default for Display {
    fn default() -> Self {
        Self {
            level: 0.5,
            width: 1.0,
            opacity: 0.6,
            contour: false,
            zoom: 1.0,
            pan: [0.0; 2],
        }
    }
}

/// Largest magnification the viewer offers.
pub const MAX_ZOOM: f32 = 8.0;

/// Where a view of a slice of `size` texels is centred (texel coordinates): on the
/// crosshair moved by `pan`, kept far enough inside that the view, 1/`zoom` of the
/// slice, never leaves it. At zoom 1 that is the slice's middle.
pub fn view_centre(size: (usize, usize), cursor: (usize, usize), d: &Display) -> [f32; 2] {
    let zoom = d.zoom.clamp(1.0, MAX_ZOOM);
    let axis = |n: usize, c: usize, pan: f32| {
        let n = n as f32;
        let half = 0.5 * n / zoom;
        (c as f32 + 0.5 + pan * n).clamp(half, n - half)
    };
    [
        axis(size.0, cursor.0, d.pan[0]),
        axis(size.1, cursor.1, d.pan[1]),
    ]
}

/// The texel position (fractional) under the point at fractions (`fx`, `fy`) of a view
/// centred at `centre` (see [`view_centre`]): what the shader draws there.
pub fn texel_at(size: (usize, usize), centre: [f32; 2], zoom: f32, fx: f64, fy: f64) -> (f64, f64) {
    let zoom = f64::from(zoom.clamp(1.0, MAX_ZOOM));
    (
        f64::from(centre[0]) + (fx - 0.5) * size.0 as f64 / zoom,
        f64::from(centre[1]) + (fy - 0.5) * size.1 as f64 / zoom,
    )
}

/// Label bit of a WMH voxel in [`Slice::labels`].
pub const LABEL_WMH: u8 = 1;
/// Label bit of a WM-region voxel in [`Slice::labels`].
pub const LABEL_REGION: u8 = 2;

/// One view's slice at the cursor, laid out as it appears on screen (row 0 on top):
/// what the GPU renderer uploads as textures.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// Texels across.
    pub width: usize,
    /// Texels down.
    pub height: usize,
    /// Image intensities, row-major.
    pub image: Vec<f32>,
    /// [`LABEL_WMH`] | [`LABEL_REGION`] bits, row-major.
    pub labels: Vec<u8>,
    /// Column and row of the crosshair.
    pub cursor: (usize, usize),
    /// Whether each row is a thick slice (rows over [`THICK_ROWS`] times as far apart
    /// as columns): the WM contour is then left to the in-plane view, so the slice
    /// steps do not show as blocks.
    pub thick_rows: bool,
}

/// Ratio of row to column spacing above which a view's rows count as thick slices.
pub const THICK_ROWS: f64 = 1.5;

impl Scene {
    /// A default window: the 1st to 99th percentile of non-zero intensities.
    pub fn default_window(&self) -> (f32, f32) {
        let nonzero: Vec<f32> = self.image.iter().copied().filter(|&v| v != 0.0).collect();
        let lo = crate::volume::percentile(&nonzero, 1.0);
        let hi = crate::volume::percentile(&nonzero, 99.0);
        ((lo + hi) / 2.0, (hi - lo).max(1e-3))
    }

    /// Width and height (texels) of `view`'s slices.
    pub fn view_size(&self, view: View) -> (usize, usize) {
        let (ca, ra) = view.plane_axes();
        (self.dims[ca], self.dims[ra])
    }

    /// Physical width and height (mm) of `view`'s slices.
    pub fn view_size_mm(&self, view: View) -> (f64, f64) {
        let (ca, ra) = view.plane_axes();
        (
            self.dims[ca] as f64 * self.spacing[ca],
            self.dims[ra] as f64 * self.spacing[ra],
        )
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

    /// Screen column and row of canonical voxel `v` in `view`: the inverse of [`Self::voxel_at`].
    pub fn screen_of(&self, view: View, v: [usize; 3]) -> (usize, usize) {
        let (ca, ra) = view.plane_axes();
        let col = if view == View::Sagittal {
            self.dims[ca] - 1 - v[ca]
        } else {
            v[ca]
        };
        (col, self.dims[ra] - 1 - v[ra])
    }

    /// Cuts `view`'s slice through `cursor`.
    pub fn slice(&self, view: View, cursor: [usize; 3]) -> Slice {
        let (w, h) = self.view_size(view);
        let mut image = Vec::with_capacity(w * h);
        let mut labels = Vec::with_capacity(w * h);
        for row in 0..h {
            for col in 0..w {
                let v = self.voxel_at(view, cursor, col, row);
                let i = index(self.dims, v[0], v[1], v[2]);
                image.push(self.image[i]);
                let region = self.region.as_ref().is_some_and(|r| r[i] > 0);
                labels.push(
                    if self.mask[i] > 0 { LABEL_WMH } else { 0 }
                        | if region { LABEL_REGION } else { 0 },
                );
            }
        }
        let (ca, ra) = view.plane_axes();
        Slice {
            width: w,
            height: h,
            image,
            labels,
            cursor: self.screen_of(view, cursor),
            thick_rows: self.spacing[ra] > THICK_ROWS * self.spacing[ca],
        }
    }
}

/// The WMH overlay colour.
pub const WMH_RGB: [f32; 3] = [1.0, 40.0 / 255.0, 40.0 / 255.0];
/// The WM-contour colour.
pub const CONTOUR_RGB: [f32; 3] = [1.0, 210.0 / 255.0, 0.0];

/// Grey level (0-1) of intensity `v` under window `level`/`width`.
pub fn window(v: f32, level: f32, width: f32) -> f32 {
    ((v - (level - width / 2.0)) / width).clamp(0.0, 1.0)
}

/// The crosshair tint: half the colour plus half cyan.
pub fn crosshair(px: [f32; 3]) -> [f32; 3] {
    [px[0] * 0.5, px[1] * 0.5 + 0.5, px[2] * 0.5 + 0.5]
}

impl Slice {
    /// Whether texel (`col`, `row`) is a WM-region texel with a neighbour outside the
    /// region (the slice border counts as outside). With thick rows there is none: the
    /// region is outlined in-plane, in the view across the slices, since along them
    /// its edges are slice-high steps and per-slice ticks that hide the image.
    pub fn on_contour(&self, col: usize, row: usize) -> bool {
        let region = |c: usize, r: usize| self.labels[r * self.width + c] & LABEL_REGION != 0;
        !self.thick_rows
            && region(col, row)
            && (col == 0
                || row == 0
                || col + 1 == self.width
                || row + 1 == self.height
                || !region(col - 1, row)
                || !region(col + 1, row)
                || !region(col, row - 1)
                || !region(col, row + 1))
    }

    /// RGBA pixels, one per texel: the CPU reference of `shaders/viewer.wgsl` at one
    /// screen pixel per texel and zoom 1, which `tests/render_gpu.rs` holds the shader to.
    pub fn shade(&self, d: &Display) -> Vec<u8> {
        let mut rgba = Vec::with_capacity(self.width * self.height * 4);
        for row in 0..self.height {
            for col in 0..self.width {
                let i = row * self.width + col;
                let g = window(self.image[i], d.level, d.width);
                let mut px = [g; 3];
                if self.labels[i] & LABEL_WMH != 0 {
                    for (c, red) in px.iter_mut().zip(WMH_RGB) {
                        *c = *c * (1.0 - d.opacity) + red * d.opacity;
                    }
                }
                if d.contour && self.on_contour(col, row) {
                    px = CONTOUR_RGB;
                }
                if col == self.cursor.0 || row == self.cursor.1 {
                    px = crosshair(px);
                }
                rgba.extend(px.map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8));
                rgba.push(255);
            }
        }
        rgba
    }
}

/// Where each view sits in the viewer's one canvas, in CSS pixels: side by side, at
/// one common scale (mm to pixels), so the thick slices keep their physical aspect.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Canvas width and height.
    pub size: (f64, f64),
    /// The views in order, each with its rectangle (x, y, width, height).
    pub views: Vec<(View, [f64; 4])>,
}

/// The viewer's views, left to right.
pub const VIEWS: [View; 3] = [View::Axial, View::Coronal, View::Sagittal];

impl Layout {
    /// Lays out the three views so the largest physical side spans `side` pixels, with
    /// `gap` pixels between views.
    pub fn new(scene: &Scene, side: f64, gap: f64) -> Self {
        let longest = VIEWS
            .iter()
            .map(|&v| {
                let (w, h) = scene.view_size_mm(v);
                w.max(h)
            })
            .fold(f64::MIN_POSITIVE, f64::max);
        let scale = side / longest;
        let mut x = 0.0;
        let mut height: f64 = 0.0;
        let mut views = Vec::with_capacity(3);
        for (k, &v) in VIEWS.iter().enumerate() {
            if k > 0 {
                x += gap;
            }
            let (w, h) = scene.view_size_mm(v);
            let (w, h) = ((w * scale).round().max(1.0), (h * scale).round().max(1.0));
            views.push((v, [x, 0.0, w, h]));
            x += w;
            height = height.max(h);
        }
        Layout {
            size: (x, height),
            views,
        }
    }

    /// The view under canvas point (`x`, `y`) and the point's position in it as
    /// fractions (0-1) of its width and height.
    pub fn hit(&self, x: f64, y: f64) -> Option<(View, f64, f64)> {
        self.views.iter().find_map(|&(v, [vx, vy, w, h])| {
            let (fx, fy) = ((x - vx) / w, (y - vy) / h);
            ((0.0..1.0).contains(&fx) && (0.0..1.0).contains(&fy)).then_some((v, fx, fy))
        })
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

    fn display() -> Display {
        Display {
            level: 11.5,
            width: 23.0,
            opacity: 1.0,
            ..Display::default()
        }
    }

    #[test]
    fn axial_puts_anterior_up_and_right_on_the_right() {
        let s = scene();
        // Cursor off the lesion's row/column so the crosshair does not tint it.
        let slice = s.slice(View::Axial, [0, 0, 1]);
        assert_eq!((slice.width, slice.height), (4, 3));
        assert_eq!(s.view_size_mm(View::Axial), (4.0, 6.0));
        assert_eq!(slice.cursor, (0, 2));
        // Top-right texel is x = 3 (right), y = 2 (anterior): the lesion, drawn red.
        assert_eq!(slice.labels[3], LABEL_WMH);
        let rgba = slice.shade(&display());
        let o = 3 * 4; // row 0, column 3
        assert_eq!(&rgba[o..o + 3], &[255, 40, 40]);
    }

    #[test]
    fn sagittal_has_anterior_on_the_left_and_superior_up() {
        let s = scene();
        let slice = s.slice(View::Sagittal, [3, 0, 0]);
        assert_eq!((slice.width, slice.height), (3, 2));
        assert_eq!(s.view_size_mm(View::Sagittal), (6.0, 10.0));
        assert_eq!(s.voxel_at(View::Sagittal, [3, 0, 0], 0, 0), [3, 2, 1]);
        // Texel (0, 0) is anterior-superior at x = 3: the lesion.
        assert_eq!(slice.labels[0], LABEL_WMH);
    }

    #[test]
    fn screen_of_inverts_voxel_at() {
        let s = scene();
        for view in VIEWS {
            let (w, h) = s.view_size(view);
            for row in 0..h {
                for col in 0..w {
                    let v = s.voxel_at(view, [1, 1, 1], col, row);
                    assert_eq!(s.screen_of(view, v), (col, row), "{view:?}");
                }
            }
        }
    }

    #[test]
    fn window_maps_level_to_mid_grey_and_clamps() {
        assert_eq!(window(10.0, 10.0, 4.0), 0.5);
        assert_eq!(window(7.0, 10.0, 4.0), 0.0);
        assert_eq!(window(13.0, 10.0, 4.0), 1.0);
    }

    #[test]
    fn crosshair_tints_its_row_and_column_only() {
        let s = scene();
        let slice = s.slice(View::Axial, [1, 1, 0]);
        let rgba = slice.shade(&Display {
            opacity: 0.0,
            ..display()
        });
        let px = |col: usize, row: usize| rgba[(row * 4 + col) * 4];
        // Column 1 and row 1 (y = 1) carry the tint, which halves red.
        let g = |col: usize, row: usize| window(slice.image[row * 4 + col], 11.5, 23.0);
        assert_eq!(px(1, 0), (g(1, 0) * 0.5 * 255.0).round() as u8);
        assert_eq!(px(3, 1), (g(3, 1) * 0.5 * 255.0).round() as u8);
        assert_eq!(px(0, 0), (g(0, 0) * 255.0).round() as u8);
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
        let slice = s.slice(View::Axial, [0, 0, 0]);
        assert!(slice.on_contour(1, 1)); // corner of the region
        assert!(slice.on_contour(2, 1)); // its top edge
        assert!(!slice.on_contour(2, 2)); // centre
        assert!(!slice.on_contour(0, 0)); // outside
        let rgba = slice.shade(&Display {
            level: 0.0,
            width: 1.0,
            opacity: 0.0,
            contour: true,
            ..Display::default()
        });
        assert_eq!(rgba[(5 + 2) * 4 + 1], 210); // top row of the region, off the crosshair
    }

    #[test]
    fn thick_slices_are_outlined_in_plane_not_as_blocks() {
        // Voxels of 1 x 1 x 4 mm: coronal rows are 4 mm slices, axial ones are not.
        let dims = [5, 5, 5];
        let region: Vec<u8> = (0..125)
            .map(|v| {
                let (x, y, z) = (v % 5, (v / 5) % 5, v / 25);
                u8::from((1..4).contains(&x) && (1..4).contains(&y) && (1..4).contains(&z))
            })
            .collect();
        let s = Scene {
            dims,
            spacing: [1.0, 1.0, 4.0],
            image: vec![0.0; 125],
            mask: vec![0; 125],
            region: Some(region),
        };
        let coronal = s.slice(View::Coronal, [0, 2, 2]);
        let axial = s.slice(View::Axial, [0, 0, 2]);
        assert!(coronal.thick_rows && !axial.thick_rows);
        assert!((0..5).all(|c| (0..5).all(|r| !coronal.on_contour(c, r))));
        assert!(axial.on_contour(1, 1) && !axial.on_contour(2, 2));
    }

    #[test]
    fn zoom_centres_views_on_the_crosshair_inside_the_slice() {
        let d = |zoom, pan| Display {
            zoom,
            pan,
            ..Display::default()
        };
        // Zoom 1: the slice's middle, wherever the crosshair is.
        assert_eq!(
            view_centre((100, 50), (3, 40), &d(1.0, [0.0; 2])),
            [50.0, 25.0]
        );
        // Zoom 2: on the crosshair, but no nearer the edge than a quarter of the slice.
        assert_eq!(
            view_centre((100, 50), (60, 20), &d(2.0, [0.0; 2])),
            [60.5, 20.5]
        );
        assert_eq!(
            view_centre((100, 50), (3, 49), &d(2.0, [0.0; 2])),
            [25.0, 37.5]
        );
        // Pan moves the centre by fractions of the slice.
        assert_eq!(
            view_centre((100, 50), (60, 20), &d(2.0, [0.1, 0.0])),
            [70.5, 20.5]
        );
        // The view's middle is its centre; its corners are 1/zoom of the slice apart.
        let c = [60.5, 20.5];
        assert_eq!(texel_at((100, 50), c, 2.0, 0.5, 0.5), (60.5, 20.5));
        assert_eq!(texel_at((100, 50), c, 2.0, 0.0, 1.0), (35.5, 33.0));
        assert_eq!(
            texel_at((100, 50), [50.0, 25.0], 1.0, 0.25, 0.0),
            (25.0, 0.0)
        );
    }

    #[test]
    fn layout_keeps_physical_aspect_and_hits_the_right_view() {
        let s = scene(); // 4 x 6 mm axial, 4 x 10 coronal, 6 x 10 sagittal
        let l = Layout::new(&s, 100.0, 10.0);
        assert_eq!(l.views[0], (View::Axial, [0.0, 0.0, 40.0, 60.0]));
        assert_eq!(l.views[1], (View::Coronal, [50.0, 0.0, 40.0, 100.0]));
        assert_eq!(l.views[2], (View::Sagittal, [100.0, 0.0, 60.0, 100.0]));
        assert_eq!(l.size, (160.0, 100.0));
        assert_eq!(l.hit(10.0, 30.0), Some((View::Axial, 0.25, 0.5)));
        assert_eq!(l.hit(45.0, 30.0), None); // the gap
        assert_eq!(l.hit(10.0, 80.0), None); // below the axial view
        assert_eq!(l.hit(130.0, 50.0), Some((View::Sagittal, 0.5, 0.5)));
    }
}
