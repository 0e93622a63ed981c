//! The three-plane viewer: axial, coronal and sagittal views side by side on one
//! canvas, drawn by wgpu with `shaders/viewer.wgsl` (through WebGPU, or WebGL2 where
//! the browser has no WebGPU). A crosshair links the views; sliders, the mouse wheel
//! and arrow keys move through slices; window/level, overlay opacity and the
//! WM-region contour are uniforms, so changing them only redraws.
//!
//! One canvas rather than three: wgpu's WebGL2 path presents to a single canvas per
//! device, and one surface is also the cheaper path on WebGPU.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::html::{Canvas, Div};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::WebError;
use super::controls::{DisplayControls, DisplaySignals, PlaneControls};
use crate::render::gpu::{SliceRenderer, ViewTarget};
use crate::render::{Display, Layout, Scene, VIEWS, View, texel_at, view_centre};

/// Width of the side panel beside the viewer, the gap between them and the page's
/// margins, CSS pixels (`.results` and `body` in `www/style.css`).
const BESIDE_PX: f64 = 360.0 + 24.0 + 48.0;
/// Bounds of a view's longest physical side on screen, CSS pixels.
const VIEW_PX: (f64, f64) = (200.0, 480.0);

/// The longest physical side of a view: the three views fill the page's width (the
/// window's, less a vertical scroll bar) beside the side panel.
fn view_px() -> f64 {
    let width = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .map_or(1400.0, |e| f64::from(e.client_width()));
    ((width - BESIDE_PX - 2.0 * GAP_PX) / 3.0).clamp(VIEW_PX.0, VIEW_PX.1)
}
/// Space between views, CSS pixels (the grid's column gap in `www/style.css`).
const GAP_PX: f64 = 16.0;

/// The viewer's device and surface, with one upload target per view.
struct Gpu {
    surface: wgpu::Surface<'static>,
    device: wgpu::Device,
    queue: wgpu::Queue,
    config: wgpu::SurfaceConfiguration,
    renderer: SliceRenderer,
    targets: Vec<ViewTarget>,
    /// The cursor whose slices the targets hold.
    shown: Cell<Option<[usize; 3]>>,
    /// "WebGPU" or "WebGL2".
    api: &'static str,
}

impl Gpu {
    /// Opens a device on `canvas` (WebGPU when the browser has an adapter, else WebGL2)
    /// with the adapter's own limits, so large slices fit.
    async fn new(canvas: web_sys::HtmlCanvasElement, scene: &Scene) -> Result<Self, WebError> {
        let (width, height) = (canvas.width(), canvas.height());
        let instance = wgpu::util::new_instance_with_webgpu_detection(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::BROWSER_WEBGPU | wgpu::Backends::GL,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        })
        .await;
        let surface = instance
            .create_surface(wgpu::SurfaceTarget::Canvas(canvas))
            .map_err(|e| WebError::Viewer(format!("no drawing surface: {e}")))?;
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                compatible_surface: Some(&surface),
                ..Default::default()
            })
            .await
            .map_err(|e| {
                WebError::Viewer(format!("no graphics adapter (WebGPU or WebGL2): {e}"))
            })?;
        let api = match adapter.get_info().backend {
            wgpu::Backend::BrowserWebGpu => "WebGPU",
            _ => "WebGL2",
        };
        let limits = adapter.limits();
        let largest = VIEWS
            .iter()
            .map(|&v| {
                let (w, h) = scene.view_size(v);
                w.max(h)
            })
            .max()
            .unwrap_or(1);
        if largest > limits.max_texture_dimension_2d as usize {
            return Err(WebError::Viewer(format!(
                "slices of {largest} voxels exceed this {api} adapter's texture limit ({})",
                limits.max_texture_dimension_2d
            )));
        }
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("viewer"),
                required_limits: limits,
                ..Default::default()
            })
            .await
            .map_err(|e| WebError::Viewer(format!("{api} device: {e}")))?;
        let caps = surface.get_capabilities(&adapter);
        let mut config = surface
            .get_default_config(&adapter, width, height)
            .ok_or_else(|| WebError::Viewer(format!("the {api} surface supports no format")))?;
        // A plain format, so the shader's bytes are what the screen shows.
        if let Some(&plain) = caps.formats.iter().find(|f| !f.is_srgb()) {
            config.format = plain;
        }
        surface.configure(&device, &config);
        let renderer = SliceRenderer::new(&device, config.format);
        let targets = VIEWS
            .iter()
            .map(|&v| renderer.view_target(&device, scene.view_size(v)))
            .collect();
        Ok(Self {
            surface,
            device,
            queue,
            config,
            renderer,
            targets,
            shown: Cell::new(None),
            api,
        })
    }

    /// Draws the three views at `cursor` into the canvas.
    fn draw(&self, scene: &Scene, layout: &Layout, dpr: f64, cursor: [usize; 3], d: &Display) {
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f)
            | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
            _ => {
                // Lost or outdated: reconfigure; the next change redraws.
                self.surface.configure(&self.device, &self.config);
                return;
            }
        };
        let view = frame.texture.create_view(&Default::default());
        // Slices are cut and uploaded only when the cursor moved; display changes
        // rewrite the uniforms alone.
        let moved = self.shown.replace(Some(cursor)) != Some(cursor);
        for ((v, _), target) in layout.views.iter().zip(&self.targets) {
            if moved {
                self.renderer
                    .upload(&self.queue, target, &scene.slice(*v, cursor));
            }
            self.renderer.set_display(&self.queue, target, d);
        }
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("viewer"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::WHITE),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            let (fw, fh) = (self.config.width as f32, self.config.height as f32);
            for ((_, [x, y, w, h]), target) in layout.views.iter().zip(&self.targets) {
                let px = |v: f64| (v * dpr).round() as f32;
                let (x, y) = (px(*x).min(fw - 1.0), px(*y).min(fh - 1.0));
                let rect = [x, y, px(*w).min(fw - x), px(*h).min(fh - y)];
                self.renderer.draw(&mut pass, target, rect);
            }
        }
        self.queue.submit([encoder.finish()]);
        self.queue.present(frame);
    }
}

/// The canvas, its grid and what draws on it, shared by the effects and handlers.
#[derive(Clone)]
struct Surface {
    canvas: NodeRef<Canvas>,
    grid: NodeRef<Div>,
    layout: Rc<RefCell<Layout>>,
    /// Bumped when the layout changed (the window was resized), to draw again.
    resized: RwSignal<u32>,
    gpu: Rc<RefCell<Option<Gpu>>>,
    /// Whether the device is open.
    ready: RwSignal<bool>,
    /// What draws, or why nothing can.
    api: RwSignal<String>,
    /// Device pixels per CSS pixel.
    dpr: f64,
}

impl Surface {
    fn new(scene: &Scene) -> Self {
        Self {
            canvas: NodeRef::new(),
            grid: NodeRef::new(),
            layout: Rc::new(RefCell::new(Layout::new(scene, view_px(), GAP_PX))),
            resized: RwSignal::new(0),
            gpu: Rc::default(),
            ready: RwSignal::new(false),
            api: RwSignal::new("Starting the viewer…".to_string()),
            dpr: web_sys::window().map_or(1.0, |w| w.device_pixel_ratio().max(1.0)),
        }
    }

    /// Sizes the canvas and the grid (CSSOM: the CSP forbids style attributes), then
    /// opens the device once the canvas is in the page.
    fn mount(&self, scene: Rc<Scene>) {
        let this = self.clone();
        Effect::new(move |done: Option<()>| {
            if done.is_some() {
                return;
            }
            let (Some(c), Some(g)) = (this.canvas.get(), this.grid.get()) else {
                return;
            };
            this.size_canvas(&c, &g);
            let (scene, gpu, api, ready) = (scene.clone(), this.gpu.clone(), this.api, this.ready);
            spawn_local(async move {
                match Gpu::new(c, &scene).await {
                    Ok(g) => {
                        api.set(format!("Drawn with {} (wgpu)", g.api));
                        // Validation or device errors would otherwise leave a blank canvas.
                        g.device.on_uncaptured_error(std::sync::Arc::new(move |e| {
                            api.set(format!("Viewer error: {e}"))
                        }));
                        *gpu.borrow_mut() = Some(g);
                        ready.set(true);
                    }
                    Err(e) => api.set(format!("Viewer unavailable: {e}")),
                }
            });
        });
    }

    /// Sizes the canvas and the grid's columns to the layout (CSSOM: the CSP forbids
    /// style attributes).
    fn size_canvas(&self, c: &web_sys::HtmlCanvasElement, g: &web_sys::HtmlDivElement) {
        let layout = self.layout.borrow();
        let (w, h) = layout.size;
        c.set_width((w * self.dpr).round() as u32);
        c.set_height((h * self.dpr).round() as u32);
        let style = web_sys::HtmlElement::style(c);
        let _ = style.set_property("width", &format!("{w}px"));
        let _ = style.set_property("height", &format!("{h}px"));
        let columns: Vec<String> = (layout.views.iter())
            .map(|(_, r)| format!("{}px", r[2]))
            .collect();
        let _ = web_sys::HtmlElement::style(g)
            .set_property("grid-template-columns", &columns.join(" "));
    }

    /// Lays the views out again for the window's new width: the canvas, the grid and
    /// the drawing surface follow, and the views are drawn again.
    fn relayout(&self, scene: &Scene) {
        let layout = Layout::new(scene, view_px(), GAP_PX);
        if *self.layout.borrow() == layout {
            return;
        }
        *self.layout.borrow_mut() = layout;
        let (Some(c), Some(g)) = (self.canvas.get_untracked(), self.grid.get_untracked()) else {
            return;
        };
        self.size_canvas(&c, &g);
        if let Some(gpu) = self.gpu.borrow_mut().as_mut() {
            gpu.config.width = c.width().max(1);
            gpu.config.height = c.height().max(1);
            gpu.surface.configure(&gpu.device, &gpu.config);
            gpu.shown.set(None);
        }
        self.resized.update(|n| *n += 1);
    }

    /// Draws again whenever the scene (a new mask), the display settings or the cursor
    /// change, once the device is ready.
    fn redraw_on_change(
        &self,
        scene: Signal<Rc<Scene>, LocalStorage>,
        display: Memo<Display>,
        cursor: RwSignal<[usize; 3]>,
    ) {
        let this = self.clone();
        let drawn: RefCell<Option<Rc<Scene>>> = RefCell::default();
        Effect::new(move |_| {
            let (s, d, c) = (scene.get(), display.get(), cursor.get());
            this.resized.track();
            if this.ready.get()
                && let Some(g) = this.gpu.borrow().as_ref()
            {
                // A new mask must be uploaded even where the cursor stayed.
                if !drawn
                    .borrow()
                    .as_ref()
                    .is_some_and(|old| Rc::ptr_eq(old, &s))
                {
                    g.shown.set(None);
                }
                g.draw(&s, &this.layout.borrow(), this.dpr, c, &d);
                *drawn.borrow_mut() = Some(s);
            }
        });
    }

    /// The view and its fractional position under a mouse event, if any.
    fn hit(&self, ev: &web_sys::MouseEvent) -> Option<(View, f64, f64)> {
        let rect = self.canvas.get()?.get_bounding_client_rect();
        let (x, y) = (
            ev.client_x() as f64 - rect.left(),
            ev.client_y() as f64 - rect.top(),
        );
        self.layout.borrow().hit(x, y)
    }
}

/// Moving the cursor and the picture, by the NiiVue conventions: a click sets the
/// crosshair, the wheel and the arrow keys step through the slices of the view last
/// used, Ctrl+wheel zooms, dragging with the right button sets window (across) and
/// level (up and down), dragging with the middle button or Shift pans.
#[derive(Clone)]
struct Navigation {
    scene: Rc<Scene>,
    surface: Surface,
    cursor: RwSignal<[usize; 3]>,
    /// The view the keys move (the last one clicked or scrolled).
    active: RwSignal<View>,
    display: DisplaySignals,
    /// The drag under way: its kind, where it last was (client pixels), and the view.
    drag: RwSignal<Option<(Drag, f64, f64, View)>>,
}

/// What a drag on the canvas does.
#[derive(Clone, Copy, PartialEq)]
enum Drag {
    WindowLevel,
    Pan,
}

impl Navigation {
    fn step(&self, view: View, delta: i64) {
        let (axis, dims) = (view.axis(), self.scene.dims);
        self.cursor.update(|c| {
            c[axis] = (c[axis] as i64 + delta).clamp(0, dims[axis] as i64 - 1) as usize
        });
    }

    fn click(&self, ev: web_sys::MouseEvent) {
        let Some((view, fx, fy)) = self.surface.hit(&ev) else {
            return;
        };
        if ev.shift_key() {
            return;
        }
        let cursor = self.cursor.get_untracked();
        let size = self.scene.view_size(view);
        let centre = view_centre(
            size,
            self.scene.screen_of(view, cursor),
            &self.display.display(),
        );
        let (x, y) = texel_at(size, centre, self.display.zoom.get_untracked(), fx, fy);
        let col = (x.max(0.0) as usize).min(size.0 - 1);
        let row = (y.max(0.0) as usize).min(size.1 - 1);
        self.active.set(view);
        self.cursor.set(self.scene.voxel_at(view, cursor, col, row));
    }

    fn wheel(&self, ev: web_sys::WheelEvent) {
        let Some((view, _, _)) = self.surface.hit(&ev) else {
            return;
        };
        ev.prevent_default();
        if ev.ctrl_key() {
            self.display
                .zoom_by(if ev.delta_y() > 0.0 { 1.0 / 1.25 } else { 1.25 });
            return;
        }
        self.active.set(view);
        self.step(view, if ev.delta_y() > 0.0 { -1 } else { 1 });
    }

    /// Starts a window/level drag (right button) or a pan (middle button, or Shift).
    fn press(&self, ev: web_sys::MouseEvent) {
        let Some((view, _, _)) = self.surface.hit(&ev) else {
            return;
        };
        let kind = match (ev.button(), ev.shift_key()) {
            (2, _) => Drag::WindowLevel,
            (1, _) | (0, true) => Drag::Pan,
            _ => return,
        };
        ev.prevent_default();
        let at = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        self.drag.set(Some((kind, at.0, at.1, view)));
    }

    /// Follows a drag: a view's width in pixels spans the whole intensity range (window)
    /// or the whole slice (pan).
    fn follow(&self, ev: web_sys::MouseEvent) {
        let Some((kind, x0, y0, view)) = self.drag.get_untracked() else {
            return;
        };
        let (x, y) = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        let rect = (self.surface.layout.borrow().views.iter())
            .find(|(v, _)| *v == view)
            .map_or([0.0, 0.0, 1.0, 1.0], |(_, r)| *r);
        let (dx, dy) = (((x - x0) / rect[2]) as f32, ((y - y0) / rect[3]) as f32);
        let d = &self.display;
        match kind {
            Drag::WindowLevel => {
                let r = d.range();
                d.width
                    .update(|w| *w = (*w + dx * r).clamp(r / 200.0, 2.0 * r));
                d.level.update(|l| *l = (*l - dy * r).clamp(0.0, 1.5 * r));
            }
            Drag::Pan => {
                let z = d.zoom.get_untracked();
                d.pan.update(|p| {
                    p[0] = (p[0] - dx / z).clamp(-1.0, 1.0);
                    p[1] = (p[1] - dy / z).clamp(-1.0, 1.0);
                });
            }
        }
        self.drag.set(Some((kind, x, y, view)));
    }

    fn key(&self, ev: web_sys::KeyboardEvent) {
        let delta = match ev.key().as_str() {
            "ArrowUp" | "ArrowRight" | "PageUp" => 1,
            "ArrowDown" | "ArrowLeft" | "PageDown" => -1,
            _ => return,
        };
        ev.prevent_default();
        self.step(self.active.get_untracked(), delta);
    }
}

/// The viewer with its controls.
#[component]
pub fn Viewer(
    scene: Signal<Rc<Scene>, LocalStorage>,
    cursor: RwSignal<[usize; 3]>,
) -> impl IntoView {
    // Only the mask changes over the viewer's life (the threshold moved): the grid,
    // image and region, and so the layout and the device, stay those of the first scene.
    let (scene_now, scene) = (scene, scene.get_untracked());
    let (level0, width0) = scene.default_window();
    let signals = DisplaySignals {
        level: RwSignal::new(level0),
        width: RwSignal::new(width0),
        opacity: RwSignal::new(0.6f32),
        contour: RwSignal::new(scene.region.is_some()),
        zoom: RwSignal::new(1.0),
        pan: RwSignal::new([0.0; 2]),
        default_window: (level0, width0),
    };
    let display = Memo::new(move |_| signals.display());
    let surface = Surface::new(&scene);
    surface.mount(scene.clone());
    surface.redraw_on_change(scene_now, display, cursor);
    {
        let (surface, scene) = (surface.clone(), scene.clone());
        let resize = window_event_listener(leptos::ev::resize, move |_| surface.relayout(&scene));
        on_cleanup(move || resize.remove());
    }
    let nav = Navigation {
        scene: scene.clone(),
        surface: surface.clone(),
        cursor,
        active: RwSignal::new(View::Axial),
        display: signals,
        drag: RwSignal::new(None),
    };
    let (click, wheel, keys, press, follow) = (
        nav.clone(),
        nav.clone(),
        nav.clone(),
        nav.clone(),
        nav.clone(),
    );
    let drag = nav.drag;
    let controls: Vec<_> = VIEWS
        .iter()
        .map(|&v| view! { <PlaneControls view=v n=scene.dims[v.axis()] cursor=cursor /> })
        .collect();
    view! {
        <div class="viewer" data-testid="viewer">
            <DisplayControls signals=signals has_region=scene.region.is_some() api=surface.api />
            <div class="planes" node_ref=surface.grid>
                <canvas node_ref=surface.canvas tabindex="0" data-testid="viewer-canvas"
                    aria-label="FLAIR with the WMH overlay: axial, coronal and sagittal views. Click to move the crosshair; wheel or arrow keys step through slices; Ctrl+wheel zooms; drag with the right button for window and level, with the middle button or Shift to pan."
                    on:click=move |ev| click.click(ev) on:wheel=move |ev| wheel.wheel(ev)
                    on:keydown=move |ev| keys.key(ev)
                    on:mousedown=move |ev| press.press(ev)
                    on:mousemove=move |ev| follow.follow(ev)
                    on:mouseup=move |_| drag.set(None)
                    on:mouseleave=move |_| drag.set(None)
                    on:contextmenu=move |ev: web_sys::MouseEvent| ev.prevent_default()></canvas>
                {controls}
            </div>
        </div>
    }
}
