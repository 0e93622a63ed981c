//! Training gives the same answer on both native backends: two Adam steps from the
//! same weights on the same batch, on flex (CPU) and on wgpu (lavapipe without a GPU),
//! end at the same network. Ignored by default (it needs a wgpu adapter); `check.sh`
//! runs it.

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn_store::{ModuleSnapshot, SafetensorsStore};
use wmh::model::{UNet, UNetConfig, balanced_bce, class_weights};

fn config() -> UNetConfig {
    UNetConfig::new().with_base_width(4).with_context(0)
}

fn batch(device: &Device) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
    let n = 2 * 16 * 16;
    let x: Vec<f32> = (0..n)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    let y: Vec<f32> = (0..n)
        .map(|i| f32::from(u8::from(i % 16 > 10 && (i / 16) % 16 > 9)))
        .collect();
    let t = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, [2, 1, 16, 16]), device);
    (t(x), t(y), t(vec![1.0; n]))
}

/// Two Adam steps from `weights`; returns the trained network's output on the batch.
fn train_two_steps(device: &Device, weights: &[u8]) -> Vec<f32> {
    let ad = device.clone().autodiff();
    let mut model: UNet = config().init(&ad);
    model
        .load_from(&mut SafetensorsStore::from_bytes(Some(weights.to_vec())))
        .expect("weights load");
    let mut optim = AdamConfig::new().init();
    for _ in 0..2 {
        let (x, y, v) = batch(&ad);
        let loss = balanced_bce(model.forward(x), y, v, class_weights(0.1));
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
    }
    let (x, _, _) = batch(device);
    model
        .valid()
        .forward(x)
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 output")
}

#[test]
#[ignore = "needs a GPU adapter (a Vulkan driver such as lavapipe)"]
fn two_training_steps_agree_on_flex_and_wgpu() {
    let gpu = Device::wgpu_options()
        .init()
        .unwrap_or_else(|e| panic!("no wgpu adapter here ({e})"));
    let flex = Device::flex();
    let mut store = SafetensorsStore::from_bytes(None);
    config().init(&flex).save_into(&mut store).unwrap();
    let weights = store.get_bytes().unwrap();
    let a = train_two_steps(&flex, &weights);
    let b = train_two_steps(&gpu, &weights);
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    let scale = a.iter().map(|x| x.abs()).fold(0.0, f32::max).max(1.0);
    eprintln!(
        "flex vs wgpu after two Adam steps: max |difference| {worst:.2e} (output scale {scale:.2})"
    );
    assert!(
        worst / scale < 1e-3,
        "flex and wgpu differ by {worst} (scale {scale}) after two steps"
    );
}
