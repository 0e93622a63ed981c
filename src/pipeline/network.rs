//! The networks' saved form and loading: settings (`<task>.json`, [`NetworkSpec`]),
//! SafeTensors weights (f32 or f16, one network or an ensemble), and the forward pass
//! over a batch of slices.

use burn::prelude::*;
use burn_store::{HalfPrecisionAdapter, ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};

use super::{Normalisation, Options, PipelineError, Plane, Preparation, SliceStack};
use crate::model::{Ensemble, Symmetries, UNetConfig};

/// Which network a set of weights belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// FLAIR to white matter hyperintensities.
    Wmh,
    /// T1 to the white-matter region (WMH included).
    Wm,
}

impl Task {
    /// File stem of this task's weights (`wmh` or `wm`).
    pub fn stem(self) -> &'static str {
        match self {
            Task::Wmh => "wmh",
            Task::Wm => "wm",
        }
    }
}

/// Everything besides the weights that inference needs; saved as `<task>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// The network's job.
    pub task: Task,
    /// Architecture settings.
    pub unet: UNetConfig,
    /// In-plane spacing (mm) the network was trained at.
    pub spacing_mm: f64,
    /// Probability at or above which a voxel is positive, chosen on training cases.
    #[serde(default = "default_threshold")]
    pub threshold: f32,
    /// WMH task: probability a lesion's most probable voxel must reach for the lesion
    /// to be kept (0, the default, keeps every lesion), chosen with the threshold.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lesion_peak: f32,
    /// Networks whose probabilities are averaged (an ensemble of seeds); with more than
    /// one, member `k`'s tensors are stored under `members.k.`.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub members: usize,
    /// WM task: in-plane dilation (mm) of the WM region before it filters lesions; a
    /// network whose labels include the WMH needs less than one that misses them.
    #[serde(
        default = "default_dilation",
        skip_serializing_if = "is_default_dilation"
    )]
    pub dilation_mm: f64,
    /// How the network's input is normalised (the z-score before it was configurable).
    #[serde(default, skip_serializing_if = "is_zscore")]
    pub normalisation: Normalisation,
}

/// In-plane spacings (mm) a network may declare: finer would make planes of millions
/// of pixels, coarser would blur away every lesion.
pub const SPACING_RANGE_MM: std::ops::RangeInclusive<f64> = 0.5..=4.0;
/// WM-region dilations (mm) a network may declare.
pub const DILATION_RANGE_MM: std::ops::RangeInclusive<f64> = 0.0..=20.0;

impl NetworkSpec {
    /// Settings of a fresh network for `task`: one member, threshold 0.5, the default
    /// WM dilation and z-scored input.
    pub fn new(task: Task, unet: UNetConfig, spacing_mm: f64) -> Self {
        Self {
            task,
            unet,
            spacing_mm,
            threshold: 0.5,
            lesion_peak: 0.0,
            members: 1,
            dilation_mm: DEFAULT_WM_DILATION_MM,
            normalisation: Normalisation::Zscore,
        }
    }

    /// Refuses settings no trained network has: each would otherwise fail later, far
    /// from its cause, or silently (a NaN threshold marks nothing).
    pub fn check(&self) -> Result<(), PipelineError> {
        let bad = |what: String| Err(PipelineError::Weights(what));
        if self.unet.base_width == 0 || self.unet.base_width > 512 || self.unet.context > 8 {
            return bad(format!("implausible settings {:?}", self.unet));
        }
        if self.members == 0 || self.members > MAX_MEMBERS {
            return bad(format!(
                "{} ensemble members (1 to {MAX_MEMBERS} allowed)",
                self.members
            ));
        }
        if !SPACING_RANGE_MM.contains(&self.spacing_mm) {
            return bad(format!(
                "spacing_mm {} is outside {:?} mm",
                self.spacing_mm, SPACING_RANGE_MM
            ));
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return bad(format!(
                "threshold {} is not a probability (0 to 1)",
                self.threshold
            ));
        }
        if !(0.0..=1.0).contains(&self.lesion_peak) {
            return bad(format!(
                "lesion_peak {} is not a probability (0 to 1)",
                self.lesion_peak
            ));
        }
        if !DILATION_RANGE_MM.contains(&self.dilation_mm) {
            return bad(format!(
                "dilation_mm {} is outside {:?} mm",
                self.dilation_mm, DILATION_RANGE_MM
            ));
        }
        Ok(())
    }
}

fn is_zscore(n: &Normalisation) -> bool {
    *n == Normalisation::Zscore
}

/// The WM region's dilation of networks saved without one (trained on WM labels that
/// leave out the lesions, which are dark on T1).
pub const DEFAULT_WM_DILATION_MM: f64 = 4.0;

fn default_dilation() -> f64 {
    DEFAULT_WM_DILATION_MM
}

fn is_default_dilation(mm: &f64) -> bool {
    *mm == DEFAULT_WM_DILATION_MM
}

fn is_zero(p: &f32) -> bool {
    *p == 0.0
}

fn default_threshold() -> f32 {
    0.5
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// Most ensemble members a weights file may declare (each costs a network's time).
pub const MAX_MEMBERS: usize = 16;

/// A loaded network (one or an ensemble) with its settings.
#[derive(Debug)]
pub struct Network {
    /// The model.
    pub model: Ensemble,
    /// Its settings.
    pub spec: NetworkSpec,
}

/// Whether a SafeTensors file stores any f16 tensor (read from its JSON header).
pub fn stores_half(weights: &[u8]) -> bool {
    let Some(len) = weights
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
    else {
        return false;
    };
    usize::try_from(len)
        .ok()
        .and_then(|len| weights.get(8..8usize.checked_add(len)?))
        .is_some_and(|header| String::from_utf8_lossy(header).contains("\"dtype\":\"F16\""))
}

/// Loads SafeTensors `weights` into `module`, requiring every tensor to be present.
fn load_tensors<M: ModuleSnapshot>(module: &mut M, weights: &[u8]) -> Result<(), PipelineError> {
    let mut store = SafetensorsStore::from_bytes(Some(weights.to_vec()));
    if stores_half(weights) {
        // The adapter casts by the stored dtype: F16 comes back as F32.
        store = store.with_from_adapter(HalfPrecisionAdapter::new());
    }
    let result = module
        .load_from(&mut store)
        .map_err(|e| PipelineError::Weights(e.to_string()))?;
    if !result.missing.is_empty() {
        return Err(PipelineError::Weights(format!(
            "{} tensors missing, e.g. {:?}",
            result.missing.len(),
            result.missing.first()
        )));
    }
    Ok(())
}

impl Network {
    /// Freshly initialised weights (`spec.members` networks averaged) with `spec`.
    pub fn init(spec: NetworkSpec, device: &Device) -> Self {
        let members = (0..spec.members).map(|_| spec.unet.init(device)).collect();
        Self {
            model: Ensemble::new(members),
            spec,
        }
    }

    /// Loads a network from its settings (JSON) and SafeTensors weights.
    pub fn load(spec_json: &[u8], weights: &[u8], device: &Device) -> Result<Self, PipelineError> {
        let spec: NetworkSpec = serde_json::from_slice(spec_json)
            .map_err(|e| PipelineError::Weights(format!("settings: {e}")))?;
        spec.check()?;
        // A single network keeps the plain layout, so every earlier weights file loads.
        let model = if spec.members == 1 {
            let mut net = spec.unet.init(device);
            load_tensors(&mut net, weights)?;
            Ensemble::new(vec![net])
        } else {
            let members = (0..spec.members).map(|_| spec.unet.init(device)).collect();
            let mut ensemble = Ensemble::new(members);
            load_tensors(&mut ensemble, weights)?;
            ensemble
        };
        Ok(Self { model, spec })
    }

    /// Serialises the weights as SafeTensors bytes; `half` stores convolution weights
    /// as f16 (batch-norm statistics stay f32, where f16 would underflow).
    pub fn weights_bytes(&self, half: bool) -> Result<Vec<u8>, PipelineError> {
        let mut store = SafetensorsStore::from_bytes(None);
        if half {
            store = store.with_to_adapter(HalfPrecisionAdapter::new());
        }
        match self.model.members() {
            [single] => single.save_into(&mut store),
            _ => self.model.save_into(&mut store),
        }
        .map_err(|e| PipelineError::Weights(e.to_string()))?;
        store
            .get_bytes()
            .map_err(|e| PipelineError::Weights(e.to_string()))
    }

    /// Combines networks of one architecture and spacing into an ensemble that averages
    /// their probabilities, with the first one's threshold.
    pub fn ensemble(networks: Vec<Network>) -> Result<Self, PipelineError> {
        let first = networks
            .first()
            .ok_or_else(|| PipelineError::Weights("no networks to combine".into()))?;
        let spec = first.spec.clone();
        let mut members = Vec::new();
        for net in networks {
            let s = &net.spec;
            let input = |s: &NetworkSpec| (s.task, s.unet.clone(), s.spacing_mm, s.normalisation);
            if input(s) != input(&spec) {
                return Err(PipelineError::Weights(format!(
                    "cannot combine {:?} networks of {:?} at {} mm ({:?}) with {:?} networks of {:?} at {} mm ({:?})",
                    s.task,
                    s.unet,
                    s.spacing_mm,
                    s.normalisation,
                    spec.task,
                    spec.unet,
                    spec.spacing_mm,
                    spec.normalisation
                )));
            }
            members.extend(net.model.members().iter().cloned());
        }
        if members.len() > MAX_MEMBERS {
            return Err(PipelineError::Weights(format!(
                "{} members; at most {MAX_MEMBERS}",
                members.len()
            )));
        }
        Ok(Self {
            spec: NetworkSpec {
                members: members.len(),
                ..spec
            },
            model: Ensemble::new(members),
        })
    }

    /// Probabilities for slices `zs` averaged over `symmetries`, one padded plane per
    /// slice (synchronous read-back).
    pub fn predict(
        &self,
        stack: &SliceStack,
        zs: std::ops::Range<usize>,
        symmetries: Symmetries,
        device: &Device,
    ) -> Vec<Vec<f32>> {
        let context = self.spec.unet.context;
        predict(&self.model, context, stack, zs, symmetries, device)
    }

    /// Probabilities for slices `zs` averaged over `symmetries`, `[n, 1, py, px]` on
    /// the device (for drivers that read them back asynchronously).
    pub fn probabilities(
        &self,
        stack: &SliceStack,
        zs: std::ops::Range<usize>,
        symmetries: Symmetries,
        device: &Device,
    ) -> Tensor<4> {
        let x = input_tensor(stack, self.spec.unet.context, zs, device);
        self.model.probabilities_over(x, symmetries)
    }
}

/// The network input for slices `zs` of `stack`: `[n, 2 * context + 1, py, px]`.
pub fn input_tensor(
    stack: &SliceStack,
    context: usize,
    zs: std::ops::Range<usize>,
    device: &Device,
) -> Tensor<4> {
    let n = zs.len();
    let mut buf = Vec::with_capacity(n * (2 * context + 1) * stack.plane.px * stack.plane.py);
    for z in zs {
        buf.extend(stack.input(z, context));
    }
    let shape = [n, 2 * context + 1, stack.plane.py, stack.plane.px];
    Tensor::from_data(TensorData::new(buf, shape), device)
}

/// Probabilities of `model` for slices `zs` averaged over `symmetries`, one padded
/// plane per slice.
pub fn predict(
    model: &Ensemble,
    context: usize,
    stack: &SliceStack,
    zs: std::ops::Range<usize>,
    symmetries: Symmetries,
    device: &Device,
) -> Vec<Vec<f32>> {
    let probs = model.probabilities_over(input_tensor(stack, context, zs, device), symmetries);
    split_planes(probs.into_data(), stack.plane)
}

/// Splits a `[n, 1, py, px]` read-back into one `Vec` per slice.
pub fn split_planes(data: TensorData, plane: Plane) -> Vec<Vec<f32>> {
    let values = data.try_into_vec::<f32>().expect("network output is f32");
    values
        .chunks(plane.px * plane.py)
        .map(<[f32]>::to_vec)
        .collect()
}

/// The two networks; the WM one is optional (FLAIR-only mode without it).
#[derive(Debug)]
pub struct Networks {
    /// FLAIR to WMH.
    pub wmh: Network,
    /// T1 to white-matter region.
    pub wm: Option<Network>,
}

impl Networks {
    /// How these networks' inputs are prepared.
    pub fn preparation(&self) -> Preparation {
        Preparation {
            spacing_mm: (
                self.wmh.spec.spacing_mm,
                self.wm.as_ref().map_or(1.0, |n| n.spec.spacing_mm),
            ),
            flair: self.wmh.spec.normalisation,
        }
    }

    /// Default post-processing for these networks (the WMH network's threshold and
    /// lesion peak).
    pub fn options(&self) -> Options {
        Options {
            threshold: self.wmh.spec.threshold,
            lesion_peak: self.wmh.spec.lesion_peak,
            wm_filter: self.wm.is_some(),
            wm_dilation_mm: (self.wm.as_ref())
                .map_or(DEFAULT_WM_DILATION_MM, |n| n.spec.dilation_mm),
            min_lesion_mm3: 0.0,
            symmetries: Symmetries::One,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Inputs;
    use crate::pipeline::fixtures::tiny;

    #[test]
    fn settings_outside_their_ranges_are_refused_on_load() {
        let device = Device::flex();
        let net = tiny(2, &device);
        let weights = net.weights_bytes(false).unwrap();
        let load = |edit: &dyn Fn(&mut NetworkSpec)| {
            let mut spec = net.spec.clone();
            edit(&mut spec);
            Network::load(&serde_json::to_vec(&spec).unwrap(), &weights, &device)
        };
        assert!(load(&|_| {}).is_ok());
        type Edit = fn(&mut NetworkSpec);
        let refused: [(Edit, &str); 7] = [
            (|s| s.spacing_mm = 0.001, "spacing_mm"),
            (|s| s.spacing_mm = 100.0, "spacing_mm"),
            (|s| s.threshold = 1.5, "threshold"),
            (|s| s.threshold = -0.1, "threshold"),
            (|s| s.lesion_peak = 1.01, "lesion_peak"),
            (|s| s.dilation_mm = -1.0, "dilation_mm"),
            (|s| s.dilation_mm = 1.0e9, "dilation_mm"),
        ];
        for (edit, word) in refused {
            let err = load(&edit).unwrap_err().to_string();
            assert!(err.contains(word), "{err}");
        }
        // JSON has no NaN; a spec built in code is checked all the same.
        let mut spec = net.spec.clone();
        spec.threshold = f32::NAN;
        assert!(spec.check().is_err());
    }

    #[test]
    fn the_flair_normalisation_is_read_from_the_wmh_networks_settings() {
        let device = Device::flex();
        let old = r#"{"task":"wmh","unet":{"base_width":2,"context":0},"spacing_mm":1.0}"#;
        let spec: NetworkSpec = serde_json::from_str(old).unwrap();
        assert_eq!(spec.normalisation, Normalisation::Zscore);
        assert!(
            !serde_json::to_string(&spec)
                .unwrap()
                .contains("normalisation")
        );
        let mut wmh = tiny(2, &device);
        wmh.spec.normalisation = Normalisation::Peak;
        let json = serde_json::to_string(&wmh.spec).unwrap();
        assert!(json.contains(r#""normalisation":"peak""#));
        assert_eq!(
            serde_json::from_str::<NetworkSpec>(&json).unwrap(),
            wmh.spec
        );
        let networks = Networks { wmh, wm: None };
        assert_eq!(networks.preparation().flair, Normalisation::Peak);
        // The FLAIR is prepared as the network was trained; the T1 keeps its z-score.
        let case = crate::phantom::example();
        let inputs =
            Inputs::prepare(case.flair.clone(), Some(&case.t1), networks.preparation()).unwrap();
        let zscored = Inputs::prepare(case.flair, Some(&case.t1), Preparation::default()).unwrap();
        assert_ne!(inputs.flair.data, zscored.flair.data);
        assert_eq!(inputs.t1.unwrap().data, zscored.t1.unwrap().data);
    }

    #[test]
    fn the_wm_networks_dilation_is_read_from_its_settings() {
        let device = Device::flex();
        let old = r#"{"task":"wm","unet":{"base_width":2,"context":0},"spacing_mm":1.0}"#;
        let spec: NetworkSpec = serde_json::from_str(old).unwrap();
        assert_eq!(spec.dilation_mm, DEFAULT_WM_DILATION_MM);
        assert!(
            !serde_json::to_string(&spec)
                .unwrap()
                .contains("dilation_mm")
        );
        let mut wm = tiny(2, &device);
        wm.spec.task = Task::Wm;
        wm.spec.dilation_mm = 1.5;
        let json = serde_json::to_string(&wm.spec).unwrap();
        assert_eq!(
            serde_json::from_str::<NetworkSpec>(&json)
                .unwrap()
                .dilation_mm,
            1.5
        );
        let with_wm = Networks {
            wmh: tiny(2, &device),
            wm: Some(wm),
        };
        assert_eq!(with_wm.options().wm_dilation_mm, 1.5);
        let without = Networks {
            wmh: tiny(2, &device),
            wm: None,
        };
        assert_eq!(without.options().wm_dilation_mm, DEFAULT_WM_DILATION_MM);
    }

    #[test]
    fn an_ensemble_survives_a_round_trip_and_refuses_other_widths() {
        let device = Device::flex();
        let ens = Network::ensemble(vec![tiny(2, &device), tiny(2, &device)]).unwrap();
        assert_eq!(ens.spec.members, 2);
        let json = serde_json::to_vec(&ens.spec).unwrap();
        let back = Network::load(&json, &ens.weights_bytes(false).unwrap(), &device).unwrap();
        let x = Tensor::<4>::ones([1, 1, 16, 16], &device);
        let a = ens.model.probabilities(x.clone()).into_data();
        let b = back.model.probabilities(x).into_data();
        assert_eq!(a, b);
        // One member's tensors under the ensemble layout are missing half the tensors.
        let two = NetworkSpec {
            members: 2,
            ..tiny(2, &device).spec
        };
        let members2 = serde_json::to_vec(&two).unwrap();
        let single = tiny(2, &device).weights_bytes(false).unwrap();
        assert!(Network::load(&members2, &single, &device).is_err());
        assert!(Network::ensemble(vec![tiny(2, &device), tiny(4, &device)]).is_err());
        // Members must have seen the same input normalisation.
        let mut peak = tiny(2, &device);
        peak.spec.normalisation = Normalisation::Peak;
        assert!(Network::ensemble(vec![tiny(2, &device), peak]).is_err());
        assert!(Network::ensemble(Vec::new()).is_err());
    }
}
