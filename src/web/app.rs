//! The page: inputs (drop zone, file pickers, example), the run button with per-stage
//! progress and errors; the results panel is `results`.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlInputElement, HtmlSelectElement};

use super::WebError;
use super::engine::{Backend, Engine, yield_now};
use super::results::{Results, Run, blob_url};
use crate::model::Symmetries;
use crate::phantom;
use crate::pipeline::Filter;
use crate::volume::{Limits, OutputData, Volume};

/// A file the user gave us, or the built-in example's volume.
#[derive(Clone)]
enum Source {
    File {
        name: String,
        /// When the file was last changed, as the browser gives it (ms since 1970).
        modified: f64,
        bytes: Rc<Vec<u8>>,
    },
    Example(Rc<Volume>),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::File { name, .. } => name.clone(),
            Source::Example(_) => "built-in example".into(),
        }
    }

    /// The name with the file's date, for the report (NIfTI headers carry no date).
    fn described(&self) -> String {
        match self {
            Source::File { name, modified, .. } => {
                let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(*modified));
                format!("{name} (file dated {})", String::from(date.to_iso_string()))
            }
            Source::Example(_) => self.name(),
        }
    }

    fn volume(&self) -> Result<Volume, WebError> {
        match self {
            Source::File { name, bytes, .. } => {
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

/// The app's state. Signals are `Copy`, so every handler takes the whole of it.
#[derive(Clone, Copy)]
struct AppState {
    engine: RwSignal<Option<Rc<Engine>>, LocalStorage>,
    status: RwSignal<String>,
    error: RwSignal<String>,
    flair: RwSignal<Option<Source>, LocalStorage>,
    t1: RwSignal<Option<Source>, LocalStorage>,
    busy: RwSignal<bool>,
    /// The stage running and its progress (0-1).
    stage: RwSignal<(String, f64)>,
    outcome: RwSignal<Option<Rc<Run>>, LocalStorage>,
    symmetries: RwSignal<Symmetries>,
}

impl AppState {
    fn new() -> Self {
        Self {
            engine: RwSignal::new_local(None),
            status: RwSignal::new(String::from("Loading the networks…")),
            error: RwSignal::new(String::new()),
            flair: RwSignal::new_local(None),
            t1: RwSignal::new_local(None),
            busy: RwSignal::new(false),
            stage: RwSignal::new((String::new(), 0.0)),
            outcome: RwSignal::new_local(None),
            symmetries: RwSignal::new(Symmetries::One),
        }
    }

    /// Loads the networks, then runs the example if the address asks for it.
    fn load_engine(self) {
        spawn_local(async move {
            match Engine::load(forced_backend()).await {
                Ok(e) => {
                    self.status.set(format!("Ready: {}", e.adapter));
                    self.engine.set(Some(Rc::new(e)));
                    if example_requested() {
                        self.load_example();
                        self.run();
                    }
                }
                Err(e) => {
                    self.status.set("The networks could not be loaded.".into());
                    self.error.set(e.to_string());
                }
            }
        });
    }

    /// Puts the built-in example's FLAIR and T1 in the slots.
    fn load_example(self) {
        let case = phantom::example();
        self.flair.set(Some(Source::Example(Rc::new(case.flair))));
        self.t1.set(Some(Source::Example(Rc::new(case.t1))));
    }

    /// Segments the chosen FLAIR (and T1) in the background.
    fn run(self) {
        let Some(eng) = self.engine.get_untracked() else {
            return;
        };
        let Some(f) = self.flair.get_untracked() else {
            self.error.set("Choose a FLAIR image first.".into());
            return;
        };
        let t = self.t1.get_untracked();
        let sym = self.symmetries.get_untracked();
        self.busy.set(true);
        self.error.set(String::new());
        spawn_local(async move {
            yield_now().await;
            match segment(&eng, &f, t.as_ref(), sym, self.stage).await {
                Ok(o) => self.outcome.set(Some(o)),
                Err(e) => self.error.set(e.to_string()),
            }
            self.busy.set(false);
        });
    }

    /// Reads chosen or dropped files into the slots: `slot` names it (true: T1), or
    /// else names mentioning T1, and a second file, go to the T1.
    fn take_files(self, files: web_sys::FileList, slot: Option<bool>) {
        let list: Vec<web_sys::File> = (0..files.length()).filter_map(|i| files.get(i)).collect();
        spawn_local(async move {
            for (k, file) in list.into_iter().enumerate() {
                let (name, modified) = (file.name(), file.last_modified());
                match read_file(file).await {
                    Ok(bytes) => {
                        let src = Source::File {
                            name: name.clone(),
                            modified,
                            bytes: Rc::new(bytes),
                        };
                        let to_t1 = slot.unwrap_or(
                            is_t1_name(&name) || (k > 0 && self.flair.get_untracked().is_some()),
                        );
                        if to_t1 {
                            self.t1.set(Some(src))
                        } else {
                            self.flair.set(Some(src))
                        }
                    }
                    Err(e) => self.error.set(e.to_string()),
                }
            }
        });
    }
}

/// One segmentation of `flair` (and `t1`), reporting progress into `stage`.
async fn segment(
    eng: &Engine,
    flair: &Source,
    t1: Option<&Source>,
    symmetries: Symmetries,
    stage: RwSignal<(String, f64)>,
) -> Result<Rc<Run>, WebError> {
    let fv = flair.volume()?;
    let tv = t1.map(Source::volume).transpose()?;
    let progress = |name: &'static str, p: f64| stage.set((name.to_string(), p));
    let (inputs, seg, timings) = eng.segment(fv, tv, symmetries, &progress).await?;
    let base = flair
        .name()
        .trim_end_matches(".gz")
        .trim_end_matches(".nii")
        .replace(' ', "_");
    let prob_bytes = inputs
        .reference
        .encode_like(OutputData::F32(&seg.probability), true);
    let names = (flair.described(), t1.map(Source::described));
    Ok(Rc::new(Run {
        names,
        default_threshold: seg.threshold,
        symmetries,
        filter: (seg.filter != Filter::Off).then(|| seg.filter_description()),
        inputs,
        seg: RefCell::new(seg),
        timings,
        base,
        probability_url: blob_url(&prob_bytes, "application/gzip"),
    }))
}

/// The application.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::new();
    state.load_engine();
    let outcome = state.outcome;
    view! {
        <header>
            <h1>"WMH finder"</h1>
            <p class="privacy">"Runs entirely in this tab: your scans never leave this computer."</p>
        </header>
        <main>
            <InputPanel state=state />
            <StatusPanel state=state />
            {move || outcome.get().map(|run| view! { <Results run=run /> })}
        </main>
    }
}

/// The inputs: drop zone, file pickers, the slots, symmetries and the run buttons.
#[component]
fn InputPanel(state: AppState) -> impl IntoView {
    let AppState {
        engine,
        flair,
        t1,
        busy,
        symmetries,
        ..
    } = state;
    let take_files = move |files, slot| state.take_files(files, slot);
    let run = move || state.run();
    let example = move |_| {
        state.load_example();
        state.run();
    };
    view! {
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
            <label class="file">"FLAIR: "
                <input type="file" accept=".nii,.gz" data-testid="flair-input" class="hidden-input"
                    on:change=move |ev| {
                        let input: HtmlInputElement = event_target(&ev);
                        if let Some(files) = input.files() { take_files(files, Some(false)); }
                    } />
                <span class="slot" data-testid="flair-name">{move || flair.get().map(|s| s.name()).unwrap_or_else(|| "choose…".into())}</span>
            </label>
            <label class="file">"T1 (optional): "
                <input type="file" accept=".nii,.gz" data-testid="t1-input" class="hidden-input"
                    on:change=move |ev| {
                        let input: HtmlInputElement = event_target(&ev);
                        if let Some(files) = input.files() { take_files(files, Some(true)); }
                    } />
                <span class="slot" data-testid="t1-name">{move || t1.get().map(|s| s.name()).unwrap_or_else(|| "choose…".into())}</span>
            </label>
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
    }
}

/// What the app is doing: its status, the compute path, progress and any error.
#[component]
fn StatusPanel(state: AppState) -> impl IntoView {
    let AppState {
        engine,
        status,
        error,
        busy,
        stage,
        ..
    } = state;
    view! {
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
    }
}
