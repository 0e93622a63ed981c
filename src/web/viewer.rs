//! The three-plane viewer: axial, coronal and sagittal canvases linked by a
//! crosshair, with slice sliders, mouse wheel and arrow keys, window/level, overlay
//! opacity and the WM-region contour. Pixels come from `crate::render`; the physical
//! aspect (thick slices included) is kept through each canvas's CSS size.

use std::rc::Rc;

use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlInputElement};

use crate::render::{Display, Scene, View};

/// Longest side of a view on screen, CSS pixels.
const VIEW_PX: f64 = 300.0;

fn draw(canvas: &web_sys::HtmlCanvasElement, scene: &Scene, view: View, display: &Display) {
    let pic = scene.render(view, display);
    canvas.set_width(pic.width as u32);
    canvas.set_height(pic.height as u32);
    // CSSOM, not a style attribute: the Content-Security-Policy forbids inline styles.
    let scale = VIEW_PX / pic.size_mm.0.max(pic.size_mm.1);
    let style = web_sys::HtmlElement::style(canvas);
    let _ = style.set_property("width", &format!("{:.0}px", pic.size_mm.0 * scale));
    let _ = style.set_property("height", &format!("{:.0}px", pic.size_mm.1 * scale));
    let Ok(Some(ctx)) = canvas.get_context("2d") else {
        return;
    };
    let Ok(ctx) = ctx.dyn_into::<CanvasRenderingContext2d>() else {
        return;
    };
    if let Ok(img) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        Clamped(&pic.rgba),
        pic.width as u32,
        pic.height as u32,
    ) {
        let _ = ctx.put_image_data(&img, 0.0, 0.0);
    }
}

/// One plane: canvas, edge labels and slice slider.
#[component]
fn Plane(
    scene: Rc<Scene>,
    view: View,
    cursor: RwSignal<[usize; 3]>,
    display: Memo<Display>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let axis = view.axis();
    let n = scene.dims[axis];
    let s = scene.clone();
    Effect::new(move |_| {
        let d = display.get();
        if let Some(c) = canvas.get() {
            draw(&c, &s, view, &d);
        }
    });
    let step = move |delta: i64| {
        cursor.update(|c| c[axis] = (c[axis] as i64 + delta).clamp(0, n as i64 - 1) as usize);
    };
    let s = scene.clone();
    let click = move |ev: web_sys::MouseEvent| {
        let Some(c) = canvas.get() else { return };
        let rect = c.get_bounding_client_rect();
        let col = ((ev.client_x() as f64 - rect.left()) / rect.width() * c.width() as f64) as usize;
        let row =
            ((ev.client_y() as f64 - rect.top()) / rect.height() * c.height() as f64) as usize;
        let col = col.min(c.width() as usize - 1);
        let row = row.min(c.height() as usize - 1);
        cursor.set(s.voxel_at(view, cursor.get_untracked(), col, row));
    };
    let (left, right) = view.edge_labels();
    let name = view.name();
    view! {
        <figure class="plane" data-testid=format!("view-{name}")>
            <div class="canvas-row">
                <span class="edge">{left}</span>
                <canvas node_ref=canvas tabindex="0"
                    on:click=click
                    on:wheel=move |ev: web_sys::WheelEvent| {
                        ev.prevent_default();
                        step(if ev.delta_y() > 0.0 { -1 } else { 1 });
                    }
                    on:keydown=move |ev: web_sys::KeyboardEvent| match ev.key().as_str() {
                        "ArrowUp" | "ArrowRight" | "PageUp" => { ev.prevent_default(); step(1) }
                        "ArrowDown" | "ArrowLeft" | "PageDown" => { ev.prevent_default(); step(-1) }
                        _ => {}
                    }
                ></canvas>
                <span class="edge">{right}</span>
            </div>
            <input type="range" min="0" max=n - 1 data-testid=format!("slider-{name}")
                prop:value=move || cursor.get()[axis].to_string()
                on:input=move |ev| {
                    let input: HtmlInputElement = event_target(&ev);
                    if let Ok(v) = input.value().parse::<usize>() {
                        cursor.update(|c| c[axis] = v.min(n - 1));
                    }
                } />
            <figcaption>{move || format!("{name} {}/{}", cursor.get()[axis] + 1, n)}</figcaption>
        </figure>
    }
}

/// The viewer with its controls.
#[component]
pub fn Viewer(scene: Rc<Scene>, cursor: RwSignal<[usize; 3]>) -> impl IntoView {
    let (level0, width0) = scene.default_window();
    let level = RwSignal::new(level0);
    let width = RwSignal::new(width0);
    let opacity = RwSignal::new(0.6f32);
    let contour = RwSignal::new(scene.region.is_some());
    let display = Memo::new(move |_| Display {
        level: level.get(),
        width: width.get(),
        opacity: opacity.get(),
        contour: contour.get(),
        cursor: cursor.get(),
    });
    let range = level0 + width0;
    let slider = move |sig: RwSignal<f32>, max: f32, id: &'static str, label: &'static str| {
        view! {
            <label>{label}
                <input type="range" min="0" max=max step=max / 200.0 data-testid=id
                    prop:value=move || sig.get().to_string()
                    on:input=move |ev| {
                        let input: HtmlInputElement = event_target(&ev);
                        if let Ok(v) = input.value().parse::<f32>() { sig.set(v) }
                    } />
            </label>
        }
    };
    view! {
        <div class="viewer" data-testid="viewer">
            <div class="controls">
                {slider(level, range * 1.5, "level", "level ")}
                {slider(width, range * 2.0, "window", "window ")}
                {slider(opacity, 1.0, "opacity", "overlay ")}
                <label>
                    <input type="checkbox" data-testid="contour" prop:checked=move || contour.get()
                        disabled=scene.region.is_none()
                        on:change=move |ev| {
                            let input: HtmlInputElement = event_target(&ev);
                            contour.set(input.checked());
                        } />
                    " white-matter contour"
                </label>
            </div>
            <div class="planes">
                <Plane scene=scene.clone() view=View::Axial cursor=cursor display=display />
                <Plane scene=scene.clone() view=View::Coronal cursor=cursor display=display />
                <Plane scene=scene.clone() view=View::Sagittal cursor=cursor display=display />
            </div>
        </div>
    }
}
