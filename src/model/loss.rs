//! Global class-balanced binary cross-entropy, and an optional soft-Dice term.
//!
//! The seed writes `-beta * sum_{Y+} log p - (1 - beta) * sum_{Y-} log(1 - p)` with
//! `beta = mean(|Y+| / |Y|)`. Read literally that gives the rare class the smaller
//! weight; we follow the HED formulation it comes from, where positives are weighted
//! by `1 - beta` and negatives by `beta` (see `docs/method.md`). Both weights are then
//! scaled so that their voxel-weighted mean is one, and the loss is a mean over
//! voxels, so its scale depends neither on image size nor on how rare lesions are.

use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

/// Per-class weights `(w_pos, w_neg)` for a positive-voxel fraction `beta`:
/// proportional to `(1 - beta, beta)`, normalised so `beta * w_pos + (1 - beta) * w_neg = 1`.
pub fn class_weights(beta: f64) -> (f64, f64) {
    let beta = beta.clamp(1e-6, 1.0 - 1e-6);
    (1.0 / (2.0 * beta), 1.0 / (2.0 * (1.0 - beta)))
}

/// `log(1 + exp(x))` without overflow for large `|x|`.
fn softplus(x: Tensor<4>) -> Tensor<4> {
    relu(x.clone()) + x.abs().neg().exp().log1p()
}

/// Class-balanced BCE on logits, averaged over the voxels where `valid` is 1.
///
/// `target` holds 0/1 labels; `valid` is 0 on voxels to ignore (padding, label 2).
pub fn balanced_bce(
    logits: Tensor<4>,
    target: Tensor<4>,
    valid: Tensor<4>,
    weights: (f64, f64),
) -> Tensor<1> {
    let (w_pos, w_neg) = weights;
    // -log(sigmoid(z)) = softplus(-z); -log(1 - sigmoid(z)) = softplus(z).
    let pos = softplus(logits.clone().neg())
        .mul(target.clone())
        .mul_scalar(w_pos);
    let neg = softplus(logits)
        .mul(target.neg().add_scalar(1.0))
        .mul_scalar(w_neg);
    let count = valid.clone().sum().clamp_min(1.0);
    (pos + neg).mul(valid).sum().div(count)
}

/// Soft-Dice loss `1 - (2 sum(p y) + 1) / (sum(p) + sum(y) + 1)` over the whole batch,
/// with `p = sigmoid(logits)` and only the voxels where `valid` is 1.
///
/// Pooled over the batch (not per patch) so that patches without lesions do not each
/// contribute a loss of 1 for any false positive; the +1 keeps an all-empty batch at 0.
pub fn soft_dice(logits: Tensor<4>, target: Tensor<4>, valid: Tensor<4>) -> Tensor<1> {
    let p = sigmoid(logits).mul(valid.clone());
    let y = target.mul(valid);
    let overlap = p
        .clone()
        .mul(y.clone())
        .sum()
        .mul_scalar(2.0)
        .add_scalar(1.0);
    let total = p.sum().add(y.sum()).add_scalar(1.0);
    overlap.div(total).neg().add_scalar(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_favour_the_rare_class_and_average_to_one() {
        let (wp, wn) = class_weights(0.01);
        assert!((wp - 50.0).abs() < 1e-9);
        assert!((wn - 1.0 / 1.98).abs() < 1e-9);
        assert!((0.01 * wp + 0.99 * wn - 1.0).abs() < 1e-9);
        assert_eq!(class_weights(0.5), (1.0, 1.0));
    }

    fn t(v: &[f32], device: &Device) -> Tensor<4> {
        Tensor::from_data(TensorData::new(v.to_vec(), [1, 1, 1, v.len()]), device)
    }

    #[test]
    fn loss_matches_hand_computed_values() {
        let device = Device::flex();
        // Logits 0 and ln 3: sigmoid 0.5 and 0.75.
        let z = t(&[0.0, 3f32.ln()], &device);
        let y = t(&[1.0, 0.0], &device);
        let valid = t(&[1.0, 1.0], &device);
        let loss = balanced_bce(z, y, valid, (2.0, 0.5));
        let got = loss.into_data().as_slice::<f32>().unwrap()[0] as f64;
        // (2 * -ln 0.5 + 0.5 * -ln 0.25) / 2
        let expected = (2.0 * 2f64.ln() + 0.5 * 4f64.ln()) / 2.0;
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    }

    #[test]
    fn ignored_voxels_do_not_count() {
        let device = Device::flex();
        let z = t(&[0.0, -50.0], &device);
        let y = t(&[1.0, 1.0], &device);
        let valid = t(&[1.0, 0.0], &device);
        let got = balanced_bce(z, y, valid, (1.0, 1.0))
            .into_data()
            .as_slice::<f32>()
            .unwrap()[0];
        assert!((f64::from(got) - 2f64.ln()).abs() < 1e-5);
    }

    #[test]
    fn soft_dice_matches_hand_computed_values() {
        let device = Device::flex();
        // Probabilities 0.5, 0.75, 0.5 (the last ignored); targets 1, 0, 1.
        let z = t(&[0.0, 3f32.ln(), 0.0], &device);
        let y = t(&[1.0, 0.0, 1.0], &device);
        let valid = t(&[1.0, 1.0, 0.0], &device);
        let got = soft_dice(z, y, valid)
            .into_data()
            .as_slice::<f32>()
            .unwrap()[0];
        // 1 - (2 * 0.5 + 1) / (1.25 + 1 + 1)
        let expected = 1.0 - 2.0 / 3.25;
        assert!(
            (f64::from(got) - expected).abs() < 1e-5,
            "{got} vs {expected}"
        );
    }

    #[test]
    fn soft_dice_is_near_zero_for_a_confident_match_and_near_one_for_a_miss() {
        let device = Device::flex();
        let y = t(&[1.0; 50], &device);
        let valid = t(&[1.0; 50], &device);
        let hit = soft_dice(t(&[30.0; 50], &device), y.clone(), valid.clone());
        let miss = soft_dice(t(&[-30.0; 50], &device), y, valid);
        assert!(hit.into_data().as_slice::<f32>().unwrap()[0] < 1e-3);
        assert!(miss.into_data().as_slice::<f32>().unwrap()[0] > 0.98);
    }

    #[test]
    fn extreme_logits_stay_finite() {
        let device = Device::flex();
        let z = t(&[200.0, -200.0], &device);
        let y = t(&[0.0, 1.0], &device);
        let valid = t(&[1.0, 1.0], &device);
        let got = balanced_bce(z, y, valid, (1.0, 1.0))
            .into_data()
            .as_slice::<f32>()
            .unwrap()[0];
        assert!((got - 200.0).abs() < 1e-3);
    }
}
