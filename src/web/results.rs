//! The results panel: the summary line, the threshold and minimum-size controls
//! (which re-draw the mask from the kept probabilities), timings, downloads, the viewer
//! and the lesion table.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use web_sys::{HtmlInputElement, Url};

use super::engine::Timings;
use super::viewer::Viewer;
use crate::burden::{Burden, Zone};
use crate::model::Symmetries;
use crate::pipeline::{Inputs, Lesion, Segmentation};
use crate::render::Scene;
use crate::report::{self, Details};
use crate::volume::OutputData;

/// One segmentation run: the prepared inputs and the networks' result, kept so the
/// threshold can move afterwards without running the networks again.
pub struct Run {
    pub(super) inputs: Inputs,
    /// The result at the current threshold (the probabilities never change).
    pub(super) seg: RefCell<Segmentation>,
    /// The networks' own threshold, which the reset button restores.
    pub(super) default_threshold: f32,
    /// The in-plane symmetries the WMH probabilities were averaged over.
    pub(super) symmetries: Symmetries,
    /// The filter, in words (`None` without a T1).
    pub(super) filter: Option<String>,
    pub(super) timings: Timings,
    /// The FLAIR's file name without its extension, for download names.
    pub(super) base: String,
    pub(super) probability_url: String,
    /// The scans' names as the user gave them, for the report.
    pub(super) names: (String, Option<String>),
}

/// What the results panel and the viewer show at one threshold.
#[derive(Clone)]
struct Shown {
    scene: Rc<Scene>,
    lesions: Vec<(Lesion, [usize; 3])>,
    total_ml: f64,
    threshold: f32,
    lesion_peak: f32,
    min_lesion_mm3: f64,
    mask_url: String,
    mask_name: String,
    burden: Option<Burden>,
    burden_notes: Vec<String>,
}

impl Run {
    /// The scene, lesion list and mask download for the current threshold; `image`
    /// reuses the canonical image of an earlier scene of this run.
    fn shown(&self, image: Option<&Scene>) -> Shown {
        let seg = self.seg.borrow();
        let r = &self.inputs.reorient;
        // A new threshold changes the mask alone: the image and region are kept.
        let scene = match image {
            None => report::scene(&self.inputs, &seg),
            Some(old) => Scene {
                mask: r.forward(&seg.mask),
                ..old.clone()
            },
        };
        let lesions = seg
            .lesions
            .iter()
            .map(|l| {
                let c = l.centroid.map(|v| v.round() as usize);
                (l.clone(), r.canonical_voxel(c))
            })
            .collect();
        let mask_bytes = self
            .inputs
            .reference
            .encode_like(OutputData::U8(&seg.mask), true);
        // A mask averaged over symmetries, at another threshold than the networks', or
        // without its smallest lesions, says so in its name.
        let mut suffix = String::new();
        if self.symmetries != Symmetries::One {
            suffix += &format!("_sym{}", self.symmetries);
        }
        if seg.threshold != self.default_threshold {
            suffix += &format!("_t{:.3}", seg.threshold);
        }
        if seg.min_lesion_mm3 > 0.0 {
            suffix += &format!("_min{}mm3", seg.min_lesion_mm3);
        }
        Shown {
            scene: Rc::new(scene),
            lesions,
            total_ml: seg.total_ml,
            threshold: seg.threshold,
            lesion_peak: seg.lesion_peak,
            min_lesion_mm3: seg.min_lesion_mm3,
            mask_url: blob_url(&mask_bytes, "application/gzip"),
            mask_name: format!("{}_wmh_mask{suffix}.nii.gz", self.base),
            burden: seg.burden.clone(),
            burden_notes: seg.burden_notes(),
        }
    }
}

/// An object URL for downloadable bytes of a MIME `kind` (revoked when replaced).
pub(super) fn blob_url(bytes: &[u8], kind: &str) -> String {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(kind);
    web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .ok()
        .and_then(|b| Url::create_object_url_with_blob(&b).ok())
        .unwrap_or_default()
}

/// Re-draws the result at another threshold or minimum lesion size from the kept
/// probabilities (the networks do not run again).
fn apply(
    run: &Run,
    shown: RwSignal<Shown, LocalStorage>,
    dragged: RwSignal<f32>,
    threshold: f32,
    min_lesion_mm3: f64,
) {
    let old = shown.get_untracked();
    if threshold == old.threshold && min_lesion_mm3 == old.min_lesion_mm3 {
        return;
    }
    // The lesion peak is the networks' own: the threshold moves beneath it.
    let mut seg = run.seg.borrow_mut();
    let peak = seg.lesion_peak;
    seg.rethreshold(&run.inputs.reference, threshold, peak, min_lesion_mm3);
    drop(seg);
    let _ = Url::revoke_object_url(&old.mask_url);
    shown.set(run.shown(Some(&old.scene)));
    dragged.set(threshold);
}

/// The one-line summary: lesions, volume, how the filter ran, the threshold, peak and
/// size.
fn summary_text(s: &Shown, filter: Option<&str>, symmetries: Symmetries) -> String {
    format!(
        "{} lesions, {:.2} mL total WMH{} at threshold {:.3}{}{}{}",
        s.lesions.len(),
        s.total_ml,
        filter.map_or_else(
            || " (FLAIR only: white-matter filter off)".to_string(),
            |f| format!(" ({f})"),
        ),
        s.threshold,
        if s.lesion_peak > s.threshold {
            format!(", each lesion peaking at {}", s.lesion_peak)
        } else {
            String::new()
        },
        if s.min_lesion_mm3 > 0.0 {
            format!(", lesions from {} mm³", s.min_lesion_mm3)
        } else {
            String::new()
        },
        match symmetries {
            Symmetries::One => String::new(),
            s => format!(", averaged over {s} symmetries"),
        },
    )
}

/// Lesion counts, volume, the threshold, timings, downloads, the lesion table and the
/// viewer.
#[component]
pub(super) fn Results(run: Rc<Run>) -> impl IntoView {
    let shown = RwSignal::new_local(run.shown(None));
    let cursor = RwSignal::new({
        let s = shown.get_untracked();
        let d = s.scene.dims;
        s.lesions
            .first()
            .map_or([d[0] / 2, d[1] / 2, d[2] / 2], |l| l.1)
    });
    // A replaced run's downloads would otherwise hold their blobs until the tab closes.
    {
        let probability_url = run.probability_url.clone();
        on_cleanup(move || {
            let _ = Url::revoke_object_url(&probability_url);
            shown.try_with_untracked(|s| Url::revoke_object_url(&s.mask_url));
        });
    }
    let scene = Signal::derive_local(move || shown.with(|s| s.scene.clone()));
    // The value under the slider while it is dragged; the mask follows on release.
    let dragged = RwSignal::new(shown.with_untracked(|s| s.threshold));
    let t = run.timings;
    let (filter, symmetries) = (run.filter.clone(), run.symmetries);
    view! {
        <section class="results">
            <div class="side">
                <p data-testid="result">
                    {move || shown.with(|s| summary_text(s, filter.as_deref(), symmetries))}
                </p>
                <ThresholdControl run=run.clone() shown=shown dragged=dragged />
                <MinLesionControl run=run.clone() shown=shown dragged=dragged />
                <BurdenTable shown=shown />
                <p class="downloads">
                    <a data-testid="download-mask" href=move || shown.with(|s| s.mask_url.clone()) download=move || shown.with(|s| s.mask_name.clone())>"Mask (.nii.gz)"</a>
                    " · "
                    <a data-testid="download-probability" href=run.probability_url.clone() download="wmh_probability.nii.gz">"Probability map"</a>
                    " · "
                    <ReportButton run=run.clone() shown=shown />
                </p>
                <LesionTable shown=shown cursor=cursor />
                <p class="timings" data-testid="timings">
                    {format!(
                        "prepare {:.2} s · WMH network {:.2} s · WM network {:.2} s · finish {:.2} s",
                        t.prepare, t.wmh, t.wm, t.finish
                    )}
                </p>
            </div>
            <div class="stage">
                <Viewer scene=scene cursor=cursor />
            </div>
        </section>
    }
}

/// The WMH volume by region, or why it could not be split.
#[component]
fn BurdenTable(shown: RwSignal<Shown, LocalStorage>) -> impl IntoView {
    let rows = move || {
        shown.with(|s| {
            s.burden.as_ref().map(|b| {
                Zone::ALL
                    .iter()
                    .map(|&z| {
                        let ml = b.ml(z).map_or("not placed".into(), |ml| format!("{ml:.2}"));
                        view! { <tr data-zone=z.label()><td>{z.label()}</td><td>{ml}</td></tr> }
                    })
                    .collect_view()
            })
        })
    };
    view! {
        <div class="burden" data-testid="burden">
            <table>
                <caption>"WMH by region (mL)"</caption>
                <tbody>{rows}</tbody>
            </table>
            {move || shown.with(|s| s.burden_notes.iter().map(|n| view! { <p class="note">{n.clone()}</p> }).collect_view())}
        </div>
    }
}

/// Saves the report: one HTML file with the settings, totals, regions, lesions and
/// snapshots, made in the page.
#[component]
fn ReportButton(run: Rc<Run>, shown: RwSignal<Shown, LocalStorage>) -> impl IntoView {
    // The last report's URL, revoked when the next is made or the results go: revoking
    // it at once could cancel the download it started.
    let last = StoredValue::new_local(None::<String>);
    on_cleanup(move || {
        last.try_with_value(|u| u.as_deref().map(Url::revoke_object_url));
    });
    let save = move |_| {
        let seg = run.seg.borrow();
        let made = String::from(js_sys::Date::new_0().to_iso_string());
        let filter = seg.filter_description();
        let details = Details {
            flair: &run.names.0,
            t1: run.names.1.as_deref(),
            made: &made,
            symmetries: run.symmetries.count(),
            filter: &filter,
        };
        let html = shown.with_untracked(|s| report::html(&seg, &s.scene, &details));
        let url = blob_url(html.as_bytes(), "text/html");
        let link = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.create_element("a").ok())
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlAnchorElement>(e).ok());
        if let Some(a) = link {
            a.set_href(&url);
            a.set_download(&format!("{}_wmh_report.html", run.base));
            a.click();
        }
        if let Some(old) = last.try_update_value(|u| u.replace(url)).flatten() {
            let _ = Url::revoke_object_url(&old);
        }
    };
    view! {
        <button data-testid="report" on:click=save title="One HTML file with the settings, totals, regions, lesions and snapshots; made here, nothing is uploaded">"Save report"</button>
    }
}

/// The threshold slider (the mask follows on release) and its reset.
#[component]
fn ThresholdControl(
    run: Rc<Run>,
    shown: RwSignal<Shown, LocalStorage>,
    dragged: RwSignal<f32>,
) -> impl IntoView {
    let default = run.default_threshold;
    let apply = {
        let run = run.clone();
        move |threshold| {
            apply(
                &run,
                shown,
                dragged,
                threshold,
                shown.with_untracked(|s| s.min_lesion_mm3),
            )
        }
    };
    let reset = {
        let apply = apply.clone();
        move |_| apply(default)
    };
    view! {
        <p class="threshold">
            <label title="Probability at or above which a voxel counts as WMH. The networks' own value was chosen by cross-validation; the best value differs between scanners (weights/MODEL_CARD.md), so it can be moved here without running the networks again.">"lesion threshold "
                <input type="range" min="0.05" max="0.999" step="0.001" data-testid="threshold"
                    prop:value=move || dragged.get().to_string()
                    on:input=move |ev| {
                        let input: HtmlInputElement = event_target(&ev);
                        if let Ok(v) = input.value().parse::<f32>() { dragged.set(v) }
                    }
                    on:change=move |ev| {
                        let input: HtmlInputElement = event_target(&ev);
                        if let Ok(v) = input.value().parse::<f32>() { apply(v) }
                    } />
            </label>
            " "
            <span data-testid="threshold-value">{move || format!("{:.3}", dragged.get())}</span>
            " "
            <button data-testid="threshold-reset" on:click=reset>
                {format!("Reset to the networks' {default:.3}")}
            </button>
        </p>
    }
}

/// The smallest lesion kept, in mm³ (0 keeps every lesion).
#[component]
fn MinLesionControl(
    run: Rc<Run>,
    shown: RwSignal<Shown, LocalStorage>,
    dragged: RwSignal<f32>,
) -> impl IntoView {
    let set_min = move |ev| {
        let input: HtmlInputElement = event_target(&ev);
        match input.value().trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => apply(
                &run,
                shown,
                dragged,
                shown.with_untracked(|s| s.threshold),
                v,
            ),
            // Anything else shows the size in use again.
            _ => input.set_value(&shown.with_untracked(|s| s.min_lesion_mm3).to_string()),
        }
    };
    view! {
        <p class="min-lesion">
            <label title="Lesions smaller than this are left out of the count, the volume, the table and the mask; 0 keeps every lesion. Dropping specks raises lesion precision and lowers lesion recall (weights/MODEL_CARD.md).">"smallest lesion (mm³) "
                <input type="number" min="0" step="1" value="0" data-testid="min-lesion" on:change=set_min />
            </label>
        </p>
    }
}

/// The lesions, sortable by volume or slice, in a panel that scrolls; clicking one
/// centres the viewer on it.
#[component]
fn LesionTable(
    shown: RwSignal<Shown, LocalStorage>,
    cursor: RwSignal<[usize; 3]>,
) -> impl IntoView {
    // Sorted by slice (inferior first) instead of by volume (largest first).
    let by_slice = RwSignal::new(false);
    let rows = move || {
        let mut lesions: Vec<(usize, (Lesion, [usize; 3]))> =
            shown.get().lesions.into_iter().enumerate().collect();
        if by_slice.get() {
            lesions.sort_by_key(|(i, (l, _))| (l.slice, *i));
        }
        lesions
            .into_iter()
            .map(|(i, (l, c))| {
                view! {
                    <tr class="lesion" tabindex="0" on:click=move |_| cursor.set(c)
                        on:keydown=move |ev: web_sys::KeyboardEvent| if ev.key() == "Enter" { cursor.set(c) }>
                        <td>{i + 1}</td>
                        <td>{format!("{:.3}", l.volume_ml)}</td>
                        <td>{l.slice + 1}</td>
                        <td>{l.zone.map_or("", |z| z.label())}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    let sort_label = |active: bool| if active { "sorted" } else { "sort" };
    view! {
        <div class="lesion-scroll" data-testid="lesion-scroll">
            <table class="lesions" data-testid="lesion-table">
                <thead><tr>
                    <th>"#"</th>
                    <th><button data-testid="sort-volume" aria-pressed=move || (!by_slice.get()).to_string()
                        title=move || sort_label(!by_slice.get()) on:click=move |_| by_slice.set(false)>"volume (mL)"</button></th>
                    <th><button data-testid="sort-slice" aria-pressed=move || by_slice.get().to_string()
                        title=move || sort_label(by_slice.get()) on:click=move |_| by_slice.set(true)>"slice"</button></th>
                    <th>"region"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
