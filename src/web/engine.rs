//! The in-browser engine: picks a backend (WebGPU, or burn's flex CPU backend where
//! WebGPU is missing or only a software adapter), fetches the weights from the page's
//! own origin once, warms the networks up, and segments asynchronously, yielding to
//! the browser between batches so the page stays responsive.

use burn::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::WebError;
use crate::model::Symmetries;
use crate::pipeline::{
    self, Coverage, Inputs, Network, Networks, Options, Plan, Segmentation, Stage, Task,
};
use crate::volume::Volume;

/// Which compute path runs the networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// burn's wgpu backend on the browser's WebGPU.
    WebGpu,
    /// burn's flex backend on the CPU (WebAssembly, one thread).
    Cpu,
}

impl Backend {
    /// The label shown in `[data-testid=backend]`.
    pub fn label(self) -> &'static str {
        match self {
            Backend::WebGpu => "WebGPU",
            Backend::Cpu => "CPU (WebAssembly)",
        }
    }
}

/// Loaded networks on a device.
pub struct Engine {
    device: Device,
    /// The path in use.
    pub backend: Backend,
    /// Adapter description, for display.
    pub adapter: String,
    networks: Networks,
}

/// Seconds spent per stage of one segmentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Resampling, normalisation, slicing.
    pub prepare: f64,
    /// WMH network.
    pub wmh: f64,
    /// WM network.
    pub wm: f64,
    /// Filter, threshold, lesions.
    pub finish: f64,
}

/// Milliseconds since page load.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Lets the browser handle events and paint before work continues.
pub async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback(&resolve);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Fetches a file from the page's own origin.
async fn fetch_bytes(url: &str) -> Result<Vec<u8>, WebError> {
    let failed = |reason: String| WebError::Fetch {
        url: url.to_string(),
        reason,
    };
    let window = web_sys::window().ok_or_else(|| failed("no window".into()))?;
    let resp = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| failed(format!("{e:?}")))?;
    let resp: web_sys::Response = resp
        .dyn_into()
        .map_err(|_| failed("not a response".into()))?;
    if !resp.ok() {
        return Err(failed(format!("HTTP {}", resp.status())));
    }
    let buf = JsFuture::from(resp.array_buffer().map_err(|e| failed(format!("{e:?}")))?)
        .await
        .map_err(|e| failed(format!("{e:?}")))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

async fn load_network(task: Task, device: &Device) -> Result<Network, WebError> {
    let stem = task.stem();
    let spec = fetch_bytes(&format!("weights/{stem}.json")).await?;
    let weights = fetch_bytes(&format!("weights/{stem}.safetensors")).await?;
    Ok(Network::load(&spec, &weights, device)?)
}

/// Whether the browser exposes `navigator.gpu` at all.
fn has_webgpu() -> bool {
    web_sys::window()
        .map(|w| js_sys::Reflect::has(&w.navigator(), &"gpu".into()).unwrap_or(false))
        .unwrap_or(false)
}

impl Engine {
    /// Chooses the backend (`forced` overrides the automatic choice), loads the weights
    /// and runs a warm-up pass so the first real slice does not pay for shader compilation.
    pub async fn load(forced: Option<Backend>) -> Result<Self, WebError> {
        let mut backend = forced.unwrap_or(if has_webgpu() {
            Backend::WebGpu
        } else {
            Backend::Cpu
        });
        let mut adapter = "CPU".to_string();
        let mut device = Device::flex();
        if backend == Backend::WebGpu {
            match Device::wgpu_options().init_with_setup_async().await {
                Ok((d, setup)) => {
                    let info = setup.adapter.get_info();
                    // burn asks for the adapter's own limits, not WebGPU's defaults (128 MiB
                    // per storage binding), so large volumes fit; show what was granted.
                    let limits = setup.device.limits();
                    adapter = format!(
                        "{} ({:?}; storage binding up to {} MiB)",
                        info.name,
                        info.device_type,
                        limits.max_storage_buffer_binding_size >> 20
                    );
                    // A software adapter (SwiftShader) is slower than the CPU path.
                    if forced.is_none() && format!("{:?}", info.device_type) == "Cpu" {
                        backend = Backend::Cpu;
                        adapter = format!("CPU (WebGPU adapter {} is software)", info.name);
                    } else {
                        device = d;
                    }
                }
                Err(e) if forced.is_none() => {
                    // The browser has WebGPU but no adapter (blocklisted or disabled GPU).
                    web_sys::console::info_1(&format!("WebGPU unavailable: {e}").into());
                    backend = Backend::Cpu;
                    adapter = "CPU (WebGPU has no adapter here)".to_string();
                }
                Err(e) => return Err(WebError::Device(format!("WebGPU: {e}"))),
            }
        }
        let networks = Networks {
            wmh: load_network(Task::Wmh, &device).await?,
            wm: Some(load_network(Task::Wm, &device).await?),
        };
        let engine = Self {
            device,
            backend,
            adapter,
            networks,
        };
        engine.warm_up().await?;
        Ok(engine)
    }

    async fn warm_up(&self) -> Result<(), WebError> {
        for net in [Some(&self.networks.wmh), self.networks.wm.as_ref()]
            .into_iter()
            .flatten()
        {
            let c = net.spec.unet.in_channels();
            let x = Tensor::<4>::zeros([1, c, 32, 32], &self.device);
            net.model
                .probabilities(x)
                .into_data_async()
                .await
                .map_err(|e| WebError::Device(format!("warm-up: {e:?}")))?;
        }
        Ok(())
    }

    /// Segments a FLAIR (and optional T1) with the WMH networks averaged over
    /// `symmetries`, reporting progress per stage (0-1), on the same [`Plan`] as the
    /// CLI, two slices per batch.
    pub async fn segment(
        &self,
        flair: Volume,
        t1: Option<Volume>,
        symmetries: Symmetries,
        progress: &dyn Fn(&'static str, f64),
    ) -> Result<(Inputs, Segmentation, Timings), WebError> {
        let mut t = Timings::default();
        let start = now_ms();
        progress("Preparing", 0.0);
        yield_now().await;
        let inputs = Inputs::prepare(flair, t1.as_ref(), self.networks.preparation())?;
        t.prepare = (now_ms() - start) / 1000.0;
        let options = Options {
            symmetries,
            ..self.networks.options()
        };
        let mut plan = Plan::new(&inputs, &self.networks, &options, Coverage::Needed, 2);
        while let Some(job) = plan.next_job() {
            let s = now_ms();
            let data = job
                .network
                .probabilities(job.stack, job.slices.clone(), job.symmetries, &self.device)
                .into_data_async()
                .await
                .map_err(|e| WebError::Device(format!("network read-back: {e:?}")))?;
            let stage = plan.deliver(&job, pipeline::split_planes(data, job.stack.plane));
            let seconds = (now_ms() - s) / 1000.0;
            match stage {
                Stage::Wm(..) => t.wm += seconds,
                Stage::Wmh(..) => t.wmh += seconds,
            }
            let (done, todo) = stage.counts();
            progress(stage.label(), done as f64 / todo as f64);
            yield_now().await;
        }
        let planes = plan.finish();
        let s = now_ms();
        progress("Finishing", 1.0);
        yield_now().await;
        let seg = inputs.finish(&planes.wmh, planes.region.as_ref(), &options);
        t.finish = (now_ms() - s) / 1000.0;
        Ok((inputs, seg, t))
    }
}
