//! The viewer's controls: the display settings as signals (window, level, overlay,
//! contour, zoom, pan) with their sliders, buttons and colour legend, and each view's
//! slice slider.

use leptos::prelude::*;
use web_sys::HtmlInputElement;

use crate::render::{Display, MAX_ZOOM, View};

/// The display settings a user changes, one signal each.
#[derive(Clone, Copy)]
pub(super) struct DisplaySignals {
    pub(super) level: RwSignal<f32>,
    pub(super) width: RwSignal<f32>,
    pub(super) opacity: RwSignal<f32>,
    pub(super) contour: RwSignal<bool>,
    pub(super) zoom: RwSignal<f32>,
    pub(super) pan: RwSignal<[f32; 2]>,
    /// The scene's default level and window.
    pub(super) default_window: (f32, f32),
}

impl DisplaySignals {
    pub(super) fn display(&self) -> Display {
        Display {
            level: self.level.get(),
            width: self.width.get(),
            opacity: self.opacity.get(),
            contour: self.contour.get(),
            zoom: self.zoom.get(),
            pan: self.pan.get(),
        }
    }

    /// The intensity range the window and level span.
    pub(super) fn range(&self) -> f32 {
        self.default_window.0 + self.default_window.1
    }

    /// Back to the whole slices at the default window and level.
    pub(super) fn reset(&self) {
        self.zoom.set(1.0);
        self.pan.set([0.0; 2]);
        self.level.set(self.default_window.0);
        self.width.set(self.default_window.1);
    }

    /// Multiplies the zoom by `factor` (within 1 and [`MAX_ZOOM`]); back at 1, the pan
    /// is forgotten.
    pub(super) fn zoom_by(&self, factor: f32) {
        let z = (self.zoom.get_untracked() * factor).clamp(1.0, MAX_ZOOM);
        self.zoom.set(z);
        if z == 1.0 {
            self.pan.set([0.0; 2]);
        }
    }
}

/// Slider, labels and caption under one view.
#[component]
pub(super) fn PlaneControls(view: View, n: usize, cursor: RwSignal<[usize; 3]>) -> impl IntoView {
    let axis = view.axis();
    let (left, right) = view.edge_labels();
    let name = view.name();
    view! {
        <figure class="plane" data-testid=format!("view-{name}")>
            <input type="range" min="0" max=n - 1 data-testid=format!("slider-{name}")
                prop:value=move || cursor.get()[axis].to_string()
                on:input=move |ev| {
                    let input: HtmlInputElement = event_target(&ev);
                    if let Ok(v) = input.value().parse::<usize>() {
                        cursor.update(|c| c[axis] = v.min(n - 1));
                    }
                } />
            <figcaption>
                <span class="edge">{left}</span>
                <span>{move || format!("{name} {}/{}", cursor.get()[axis] + 1, n)}</span>
                <span class="edge">{right}</span>
            </figcaption>
        </figure>
    }
}

/// Window and level, overlay opacity, the white-matter contour, zoom, the colour
/// legend, and what draws.
#[component]
pub(super) fn DisplayControls(
    signals: DisplaySignals,
    /// Whether a white-matter region exists to outline.
    has_region: bool,
    api: RwSignal<String>,
) -> impl IntoView {
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
    let DisplaySignals {
        level,
        width,
        opacity,
        contour,
        zoom,
        ..
    } = signals;
    let range = signals.range();
    view! {
    <div class="controls">
        {slider(level, range * 1.5, "level", "level ")}
        {slider(width, range * 2.0, "window", "window ")}
        {slider(opacity, 1.0, "opacity", "overlay ")}
        <label>
            <input type="checkbox" data-testid="contour" prop:checked=move || contour.get()
                disabled=!has_region
                on:change=move |ev| {
                    let input: HtmlInputElement = event_target(&ev);
                    contour.set(input.checked());
                } />
            " white-matter contour"
        </label>
        <span class="zoom">
            <button data-testid="zoom-out" aria-label="zoom out" on:click=move |_| signals.zoom_by(1.0 / 1.5)>"−"</button>
            <span data-testid="zoom">{move || format!("{:.1}×", zoom.get())}</span>
            <button data-testid="zoom-in" aria-label="zoom in" on:click=move |_| signals.zoom_by(1.5)>"+"</button>
            <button data-testid="view-reset" on:click=move |_| signals.reset()>"reset view"</button>
        </span>
        <span class="legend" data-testid="legend">
            <span class="swatch wmh"></span>" WMH "
            <span class="swatch region"></span>" white-matter region outline "
            <span class="swatch cross"></span>" crosshair"
        </span>
        <span class="viewer-api" data-testid="viewer-api">{move || api.get()}</span>
    </div>
    }
}
