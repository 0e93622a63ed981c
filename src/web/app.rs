//! The page: inputs (drop zone, file pickers, example), the run button with per-stage
//! progress, results (counts, volume, lesion table, timings, downloads), errors, and
//! the three-plane viewer.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlInputElement, HtmlSelectElement, Url};

use super::WebError;
use super::engine::{Backend, Engine, Timings, yield_now};
use super::viewer::Viewer;
use crate::model::Symmetries;
use crate::phantom;
use crate::pipeline::{Inputs, Lesion, Segmentation};
use crate::render::Scene;
use crate::volume::{Limits, OutputData, Volume};

/// A file the user gave us, or the built-in example's volume.
#[derive(Clone)]
enum Source {
    File { name: String, bytes: Rc<Vec<u8>> },
    Example(Rc<Volume>),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::File { name, .. } => name.clone(),
            Source::Example(_) => "built-in example".into(),
        }
    }

    fn volume(&self) -> Result<Volume, WebError> {
        match self {
            Source::File { name, bytes } => {
                Volume::from_nifti_bytes_within(bytes, &Limits::BROWSER).map_err(|source| {
                    WebError::Volume {
                        name: name.clone(),
                        source,
                    }
                })
            }
            Source::Example(v) => Ok((**v).clone()),
        }
    }
}

/// One segmentation run: the prepared inputs and the networks' result, kept so the
/// threshold can move afterwards without running the networks again.
pub struct Run {
    inputs: Inputs,
    /// The result at the current threshold (the probabilities never change).
    seg: RefCell<Segmentation>,
    /// The networks' own threshold, which the reset button restores.
    default_threshold: f32,
    /// The in-plane symmetries the WMH probabilities were averaged over.
    symmetries: Symmetries,
    /// The filter, in words (`None` without a T1).
    filter: Option<String>,
    timings: Timings,
    /// The FLAIR's file name without its extension, for download names.
    base: String,
    probability_url: String,
}

/// What the results panel and the viewer show at one threshold.
#[derive(Clone)]
struct Shown {
    scene: Rc<Scene>,
    lesions: Vec<(Lesion, [usize; 3])>,
    total_ml: f64,
    threshold: f32,
    min_lesion_mm3: f64,
    mask_url: String,
    mask_name: String,
}

impl Run {
    /// The scene, lesion list and mask download for the current threshold; `image`
    /// reuses the canonical image of an earlier scene of this run.
    fn shown(&self, image: Option<&Scene>) -> Shown {
        let seg = self.seg.borrow();
        let r = &self.inputs.reorient;
        let scene = Scene {
            dims: self.inputs.flair.dims,
            spacing: r.canonical_spacing(self.inputs.reference.geometry.voxel_sizes()),
            image: image.map_or_else(
                || r.forward(&self.inputs.reference.data),
                |s| s.image.clone(),
            ),
            mask: r.forward(&seg.mask),
            region: seg.wm_region.as_ref().map(|w| r.forward(w)),
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
            min_lesion_mm3: seg.min_lesion_mm3,
            mask_url: blob_url(&mask_bytes),
            mask_name: format!("{}_wmh_mask{suffix}.nii.gz", self.base),
        }
    }
}

/// Reads a browser `File` into bytes, refusing one too large for the tab's memory
/// before a byte of it is copied.
async fn read_file(file: web_sys::File) -> Result<Vec<u8>, WebError> {
    Limits::BROWSER
        .check_file_size(file.size() as u64)
        .map_err(|source| WebError::Volume {
            name: file.name(),
            source,
        })?;
    let buf = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| WebError::Read {
            name: file.name(),
            reason: format!("{e:?}"),
        })?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

/// An object URL for downloadable bytes (revoked when replaced).
fn blob_url(bytes: &[u8]) -> String {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/gzip");
    web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .ok()
        .and_then(|b| Url::create_object_url_with_blob(&b).ok())
        .unwrap_or_default()
}

/// `?backend=webgpu|cpu` forces a compute path (tests use it to cover both).
fn forced_backend() -> Option<Backend> {
    let search = web_sys::window()?.location().search().ok()?;
    if search.contains("backend=webgpu") {
        Some(Backend::WebGpu)
    } else if search.contains("backend=cpu") {
        Some(Backend::Cpu)
    } else {
        None
    }
}

/// `?example` runs the built-in example as soon as the networks are ready.
fn example_requested() -> bool {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .is_some_and(|s| s.split(['?', '&']).any(|p| p == "example"))
}

/// Sorts dropped files: names mentioning T1 go to the T1 slot, the rest to FLAIR.
fn is_t1_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("t1") && !n.contains("flair")
}

/// The application.
#[component]
pub fn App() -> impl IntoView {
    let engine: RwSignal<Option<Rc<Engine>>, LocalStorage> = RwSignal::new_local(None);
    let status = RwSignal::new(String::from("Loading the networks…"));
    let error = RwSignal::new(String::new());
    let flair: RwSignal<Option<Source>, LocalStorage> = RwSignal::new_local(None);
    let t1: RwSignal<Option<Source>, LocalStorage> = RwSignal::new_local(None);
    let busy = RwSignal::new(false);
    let stage = RwSignal::new((String::new(), 0.0f64));
    let outcome: RwSignal<Option<Rc<Run>>, LocalStorage> = RwSignal::new_local(None);
    let run_example = RwSignal::new(false);
    let symmetries = RwSignal::new(Symmetries::One);

    let load_example = move || {
        let case = phantom::example();
        flair.set(Some(Source::Example(Rc::new(case.flair))));
        t1.set(Some(Source::Example(Rc::new(case.t1))));
    };
    spawn_local(async move {
        match Engine::load(forced_backend()).await {
            Ok(e) => {
                status.set(format!("Ready: {}", e.adapter));
                engine.set(Some(Rc::new(e)));
                if example_requested() {
                    load_example();
                    run_example.set(true);
                }
            }
            Err(e) => {
                status.set("The networks could not be loaded.".into());
                error.set(e.to_string());
            }
        }
    });

    let run = move || {
        let Some(eng) = engine.get_untracked() else {
            return;
        };
        let Some(f) = flair.get_untracked() else {
            error.set("Choose a FLAIR image first.".into());
            return;
        };
        let t = t1.get_untracked();
        let sym = symmetries.get_untracked();
        busy.set(true);
        error.set(String::new());
        spawn_local(async move {
            yield_now().await;
            let result = async {
                let fv = f.volume()?;
                let tv = t.as_ref().map(Source::volume).transpose()?;
                let progress = |name: &'static str, p: f64| stage.set((name.to_string(), p));
                let (inputs, seg, timings) = eng.segment(fv, tv, sym, &progress).await?;
                let base = f
                    .name()
                    .trim_end_matches(".gz")
                    .trim_end_matches(".nii")
                    .replace(' ', "_");
                let prob_bytes = inputs
                    .reference
                    .encode_like(OutputData::F32(&seg.probability), true);
                Ok::<_, WebError>(Rc::new(Run {
                    default_threshold: seg.threshold,
                    symmetries: sym,
                    filter: seg.wm_filtered.then(|| seg.filter_description()),
                    inputs,
                    seg: RefCell::new(seg),
                    timings,
                    base,
                    probability_url: blob_url(&prob_bytes),
                }))
            }
            .await;
            match result {
                Ok(o) => outcome.set(Some(o)),
                Err(e) => error.set(e.to_string()),
            }
            busy.set(false);
        });
    };

    let take_files = move |files: web_sys::FileList, slot: Option<bool>| {
        let list: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
        spawn_local(async move {
            for (k, file) in list.into_iter().enumerate() {
                let name = file.name();
                match read_file(file).await {
                    Ok(bytes) => {
                        let src = Source::File {
                            name: name.clone(),
                            bytes: Rc::new(bytes),
                        };
                        let to_t1 = slot.unwrap_or(
                            is_t1_name(&name) || (k > 0 && flair.get_untracked().is_some()),
                        );
                        if to_t1 {
                            t1.set(Some(src))
                        } else {
                            flair.set(Some(src))
                        }
                    }
                    Err(e) => error.set(e.to_string()),
                }
            }
        });
    };

    let example = move |_| {
        load_example();
        run();
    };
    // The load task cannot call `run` (defined after it), so it raises this flag.
    Effect::new(move |_| {
        if run_example.get() {
            run_example.set(false);
            run();
        }
    });

    view! {
        <header>
            <h1>"WMH finder"</h1>
            <p class="privacy">"Runs entirely in this tab: your scans never leave this computer."</p>
        </header>
        <main>
            <section class="inputs">
                <div
                    class="dropzone"
                    data-testid="dropzone"
                    on:dragover=move |ev: web_sys::DragEvent| ev.prevent_default()
                    on:drop=move |ev: web_sys::DragEvent| {
                        ev.prevent_default();
                        if let Some(files) = ev.data_transfer().and_then(|d| d.files()) {
                            take_files(files, None);
                        }
                    }
                >
                    "Drop FLAIR and T1 NIfTI files here (.nii, .nii.gz)"
                </div>
                <label>"FLAIR "
                    <input type="file" accept=".nii,.gz" data-testid="flair-input"
                        on:change=move |ev| {
                            let input: HtmlInputElement = event_target(&ev);
                            if let Some(files) = input.files() { take_files(files, Some(false)); }
                        } />
                </label>
                <span class="slot" data-testid="flair-name">{move || flair.get().map(|s| s.name()).unwrap_or_else(|| "none".into())}</span>
                <label>"T1 (optional) "
                    <input type="file" accept=".nii,.gz" data-testid="t1-input"
                        on:change=move |ev| {
                            let input: HtmlInputElement = event_target(&ev);
                            if let Some(files) = input.files() { take_files(files, Some(true)); }
                        } />
                </label>
                <span class="slot" data-testid="t1-name">{move || t1.get().map(|s| s.name()).unwrap_or_else(|| "none".into())}</span>
                <button data-testid="swap" on:click=move |_| {
                    let (f, t) = (flair.get_untracked(), t1.get_untracked());
                    flair.set(t);
                    t1.set(f);
                }>"Swap FLAIR/T1"</button>
                <button data-testid="clear-t1" on:click=move |_| t1.set(None)>"No T1"</button>
                <label title="Average the WMH networks over the slice's in-plane symmetries: each one is another pass of the networks. All 8 gave the best cross-validated Dice (weights/MODEL_CARD.md); the WMH network's stage then takes 8 times as long.">"symmetries "
                    <select data-testid="symmetries"
                        on:change=move |ev| {
                            let select: HtmlSelectElement = event_target(&ev);
                            if let Ok(s) = select.value().parse() { symmetries.set(s) }
                        }>
                        <option value="1" selected>"1: as is (fastest)"</option>
                        <option value="2">"2: and mirrored"</option>
                        <option value="8">"8: all (steadiest, slowest)"</option>
                    </select>
                </label>
                <button data-testid="run" disabled=move || busy.get() || engine.get().is_none()
                    on:click=move |_| run()>"Segment"</button>
                <button data-testid="example" disabled=move || busy.get() || engine.get().is_none()
                    on:click=example>"Try an example"</button>
            </section>
            <section class="status">
                <span data-testid="status">{move || status.get()}</span>
                " · backend: "
                <span data-testid="backend">{move || engine.get().map(|e| e.backend.label()).unwrap_or("loading")}</span>
                <Show when=move || busy.get()>
                    <div class="progress">
                        {move || stage.get().0}
                        <progress max="1" value=move || stage.get().1></progress>
                    </div>
                </Show>
                <Show when=move || !error.get().is_empty()>
                    <p class="error" data-testid="error">{move || error.get()}</p>
                </Show>
            </section>
            {move || outcome.get().map(|run| view! { <Results run=run /> })}
        </main>
    }
}

/// Lesion counts, volume, the threshold, timings, downloads, the lesion table and the
/// viewer.
#[component]
fn Results(run: Rc<Run>) -> impl IntoView {
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
    let apply = {
        let run = run.clone();
        move |threshold: f32, min_lesion_mm3: f64| {
            let old = shown.get_untracked();
            if threshold == old.threshold && min_lesion_mm3 == old.min_lesion_mm3 {
                return;
            }
            run.seg
                .borrow_mut()
                .rethreshold(&run.inputs.reference, threshold, min_lesion_mm3);
            let _ = Url::revoke_object_url(&old.mask_url);
            shown.set(run.shown(Some(&old.scene)));
            dragged.set(threshold);
        }
    };
    let reset = {
        let (apply, t0) = (apply.clone(), run.default_threshold);
        move |_| apply(t0, shown.with_untracked(|s| s.min_lesion_mm3))
    };
    let set_min = {
        let apply = apply.clone();
        move |ev| {
            let input: HtmlInputElement = event_target(&ev);
            match input.value().trim().parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => {
                    apply(shown.with_untracked(|s| s.threshold), v)
                }
                // Anything else shows the size in use again.
                _ => input.set_value(&shown.with_untracked(|s| s.min_lesion_mm3).to_string()),
            }
        }
    };
    let t = run.timings;
    let filter = run.filter.clone();
    let symmetries_note = match run.symmetries {
        Symmetries::One => String::new(),
        s => format!(", averaged over {s} symmetries"),
    };
    let rows = move || {
        shown
            .get()
            .lesions
            .into_iter()
            .enumerate()
            .map(|(i, (l, c))| {
                view! {
                    <tr class="lesion" on:click=move |_| cursor.set(c)>
                        <td>{i + 1}</td>
                        <td>{format!("{:.3}", l.volume_ml)}</td>
                        <td>{l.slice + 1}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <section class="results">
            <p data-testid="result">
                {move || shown.with(|s| {
                    format!(
                        "{} lesions, {:.2} mL total WMH{} at threshold {:.3}{}{}",
                        s.lesions.len(),
                        s.total_ml,
                        filter.as_ref().map_or_else(
                            || " (FLAIR only: white-matter filter off)".to_string(),
                            |f| format!(" ({f})"),
                        ),
                        s.threshold,
                        if s.min_lesion_mm3 > 0.0 {
                            format!(", lesions from {} mm³", s.min_lesion_mm3)
                        } else {
                            String::new()
                        },
                        symmetries_note,
                    )
                })}
            </p>
            <p class="threshold">
                <label title="Probability at or above which a voxel counts as WMH. The networks' own value was chosen by cross-validation; the best value differs between scanners (weights/MODEL_CARD.md), so it can be moved here without running the networks again.">"lesion threshold "
                    <input type="range" min="0.05" max="0.995" step="0.005" data-testid="threshold"
                        prop:value=move || dragged.get().to_string()
                        on:input=move |ev| {
                            let input: HtmlInputElement = event_target(&ev);
                            if let Ok(v) = input.value().parse::<f32>() { dragged.set(v) }
                        }
                        on:change=move |ev| {
                            let input: HtmlInputElement = event_target(&ev);
                            if let Ok(v) = input.value().parse::<f32>() {
                                apply(v, shown.with_untracked(|s| s.min_lesion_mm3))
                            }
                        } />
                </label>
                " "
                <span data-testid="threshold-value">{move || format!("{:.3}", dragged.get())}</span>
                " "
                <button data-testid="threshold-reset" on:click=reset>
                    {format!("Reset to the networks' {:.3}", run.default_threshold)}
                </button>
            </p>
            <p class="min-lesion">
                <label title="Lesions smaller than this are left out of the count, the volume, the table and the mask; 0 keeps every lesion. Dropping specks raises lesion precision and lowers lesion recall (weights/MODEL_CARD.md).">"smallest lesion (mm³) "
                    <input type="number" min="0" step="1" value="0" data-testid="min-lesion" on:change=set_min />
                </label>
            </p>
            <p class="timings" data-testid="timings">
                {format!(
                    "prepare {:.2} s · WMH network {:.2} s · WM network {:.2} s · finish {:.2} s",
                    t.prepare, t.wmh, t.wm, t.finish
                )}
            </p>
            <p>
                <a data-testid="download-mask" href=move || shown.with(|s| s.mask_url.clone()) download=move || shown.with(|s| s.mask_name.clone())>"Download mask (.nii.gz)"</a>
                " · "
                <a data-testid="download-probability" href=run.probability_url.clone() download="wmh_probability.nii.gz">"Download probability map"</a>
            </p>
            <Viewer scene=scene cursor=cursor />
            <table class="lesions" data-testid="lesion-table">
                <thead><tr><th>"#"</th><th>"volume (mL)"</th><th>"slice"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
