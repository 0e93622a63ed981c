//! Several networks of one architecture whose probabilities are averaged.
//!
//! Networks trained from different seeds on the same few scans disagree most where
//! they are unsure, and which seed generalises to a new scanner is luck; the mean of
//! their probabilities is steadier than any one of them (see `weights/MODEL_CARD.md`).

use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use super::{Symmetries, UNet, averaged};

/// Members whose sigmoid probabilities are averaged; one member is a plain network.
#[derive(Module, Debug)]
pub struct Ensemble {
    members: Vec<UNet>,
}

impl Ensemble {
    /// An ensemble of `members` (at least one).
    pub fn new(members: Vec<UNet>) -> Self {
        assert!(!members.is_empty(), "an ensemble needs a member");
        Self { members }
    }

    /// The members, in order.
    pub fn members(&self) -> &[UNet] {
        &self.members
    }

    /// `[n, c, h, w]` to the mean of the members' probabilities, `[n, 1, h, w]`.
    pub fn probabilities(&self, x: Tensor<4>) -> Tensor<4> {
        let probs = |m: &UNet| sigmoid(m.forward(x.clone()));
        let (first, rest) = self
            .members
            .split_first()
            .expect("an ensemble has a member");
        let sum = rest.iter().fold(probs(first), |s, m| s + probs(m));
        // Dividing by 1 is exact, so a single network's output is unchanged.
        sum.div_scalar(self.members.len() as f64)
    }

    /// The mean probabilities over the slices' `symmetries` (see `Symmetries`);
    /// [`Symmetries::One`] is [`Ensemble::probabilities`] exactly.
    pub fn probabilities_over(&self, x: Tensor<4>, symmetries: Symmetries) -> Tensor<4> {
        averaged(x, symmetries, |x| self.probabilities(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UNetConfig;

    #[test]
    fn probabilities_are_the_mean_of_the_members() {
        let device = Device::flex();
        let config = UNetConfig::new().with_base_width(2).with_context(0);
        let (a, b) = (config.init(&device), config.init(&device));
        let x = Tensor::<4>::random([1, 1, 16, 16], burn::tensor::Distribution::Default, &device);
        let pa = sigmoid(a.forward(x.clone()));
        let pb = sigmoid(b.forward(x.clone()));
        let mean = Ensemble::new(vec![a, b]).probabilities(x);
        let want = (pa + pb)
            .div_scalar(2.0)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let got = mean.into_data().try_to_vec::<f32>().unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }
}
