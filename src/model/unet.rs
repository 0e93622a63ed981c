//! The U-Net: encoder blocks, max-pooling, transposed-conv upsampling, shortcuts
//! (added, as the seed has it, or concatenated) and a 1x1 output convolution.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

/// Number of poolings; inputs must be divisible by `2^DEPTH` in-plane.
pub const DEPTH: usize = 3;

/// How a decoder level merges the upsampled features with the encoder's shortcut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shortcut {
    /// Element-wise sum, as the seed says ("added"); the decoder keeps the level's width.
    #[default]
    Add,
    /// Channel concatenation, as the original U-Net; the decoder's first convolution
    /// takes twice the level's width.
    Concat,
}

/// Settings that rebuild a network exactly; saved next to its weights.
///
/// Plain serde rather than burn's `Config`, so that a field added later can default
/// when a spec written before it is read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UNetConfig {
    /// Channels at the finest level; the levels have 1x, 2x, 4x and 8x this.
    /// The seed's is 64.
    pub base_width: usize,
    /// Neighbouring slices on each side fed as extra channels (0 = plain 2-D).
    pub context: usize,
    /// How shortcuts are merged; specs written before the option read as `add`.
    #[serde(default)]
    pub shortcut: Shortcut,
}

impl Default for UNetConfig {
    fn default() -> Self {
        Self {
            base_width: 32,
            context: 1,
            shortcut: Shortcut::default(),
        }
    }
}

impl UNetConfig {
    /// The defaults: width 32, context 1, added shortcuts.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same with `base_width` channels at the finest level.
    pub fn with_base_width(self, base_width: usize) -> Self {
        Self { base_width, ..self }
    }

    /// The same with `context` neighbouring slices on each side.
    pub fn with_context(self, context: usize) -> Self {
        Self { context, ..self }
    }

    /// The same with shortcuts merged by `shortcut`.
    pub fn with_shortcut(self, shortcut: Shortcut) -> Self {
        Self { shortcut, ..self }
    }

    /// Input channels: the slice itself and `context` neighbours on each side.
    pub fn in_channels(&self) -> usize {
        2 * self.context + 1
    }

    /// Builds a freshly initialised network on `device`.
    pub fn init(&self, device: &Device) -> UNet {
        let widths: Vec<usize> = (0..=DEPTH).map(|l| self.base_width << l).collect();
        let mut encoders = Vec::with_capacity(DEPTH + 1);
        let mut c_in = self.in_channels();
        for &w in &widths {
            encoders.push(ConvBlock::new(c_in, w, device));
            c_in = w;
        }
        let mut upsamplers = Vec::with_capacity(DEPTH);
        let mut decoders = Vec::with_capacity(DEPTH);
        for l in (0..DEPTH).rev() {
            upsamplers.push(
                ConvTranspose2dConfig::new([widths[l + 1], widths[l]], [2, 2])
                    .with_stride([2, 2])
                    .init(device),
            );
            let c_in = match self.shortcut {
                Shortcut::Add => widths[l],
                Shortcut::Concat => 2 * widths[l],
            };
            decoders.push(ConvBlock::new(c_in, widths[l], device));
        }
        UNet {
            encoders,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            upsamplers,
            decoders,
            head: Conv2dConfig::new([widths[0], 1], [1, 1]).init(device),
            shortcut: self.shortcut,
        }
    }
}

/// Two rounds of 3x3 convolution, batch norm and ReLU.
#[derive(Module, Debug)]
pub struct ConvBlock {
    conv1: Conv2d,
    norm1: BatchNorm,
    conv2: Conv2d,
    norm2: BatchNorm,
}

impl ConvBlock {
    /// A block from `c_in` to `c_out` channels that keeps the spatial size.
    pub fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        let conv = |a: usize, b: usize| {
            Conv2dConfig::new([a, b], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        Self {
            conv1: conv(c_in, c_out),
            norm1: BatchNormConfig::new(c_out).init(device),
            conv2: conv(c_out, c_out),
            norm2: BatchNormConfig::new(c_out).init(device),
        }
    }

    /// Sets how far one training-mode batch moves the batch-norm running statistics.
    fn set_batch_norm_momentum(&mut self, momentum: f64) {
        self.norm1.momentum = momentum;
        self.norm2.momentum = momentum;
    }

    /// `[n, c_in, h, w]` to `[n, c_out, h, w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = relu(self.norm1.forward(self.conv1.forward(x)));
        relu(self.norm2.forward(self.conv2.forward(x)))
    }
}

/// The segmentation network; outputs one logit per pixel.
#[derive(Module, Debug)]
pub struct UNet {
    encoders: Vec<ConvBlock>,
    pool: MaxPool2d,
    upsamplers: Vec<ConvTranspose2d>,
    decoders: Vec<ConvBlock>,
    head: Conv2d,
    #[module(skip)]
    shortcut: Shortcut,
}

impl UNet {
    /// The same network with every batch norm's momentum set to `momentum`: the
    /// weight the next training-mode batch's statistics get in the running ones
    /// (burn's default is 0.1). Clones share the running statistics themselves.
    pub fn with_batch_norm_momentum(mut self, momentum: f64) -> Self {
        for block in self.encoders.iter_mut().chain(&mut self.decoders) {
            block.set_batch_norm_momentum(momentum);
        }
        self
    }

    /// `[n, in_channels, h, w]` (h and w divisible by 8) to logits `[n, 1, h, w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut skips = Vec::with_capacity(DEPTH);
        let mut x = x;
        for (level, encoder) in self.encoders.iter().enumerate() {
            x = encoder.forward(x);
            if level < DEPTH {
                skips.push(x.clone());
                x = self.pool.forward(x);
            }
        }
        for (up, decoder) in self.upsamplers.iter().zip(&self.decoders) {
            let skip = skips.pop().expect("one shortcut per level");
            let x_up = up.forward(x);
            let merged = match self.shortcut {
                Shortcut::Add => x_up + skip,
                Shortcut::Concat => Tensor::cat(vec![x_up, skip], 1),
            };
            x = decoder.forward(merged);
        }
        self.head.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_has_the_input_size_and_one_channel() {
        let device = Device::flex();
        let net = UNetConfig::new()
            .with_base_width(4)
            .with_context(1)
            .init(&device);
        let x = Tensor::<4>::zeros([2, 3, 16, 24], &device);
        assert_eq!(net.forward(x).dims(), [2, 1, 16, 24]);
    }

    #[test]
    fn concatenated_shortcuts_widen_the_decoders_and_keep_the_output_shape() {
        let device = Device::flex();
        let config = UNetConfig::new().with_base_width(4).with_context(0);
        let add = config.init(&device);
        let concat = config.with_shortcut(Shortcut::Concat).init(&device);
        let x = Tensor::<4>::ones([1, 1, 16, 16], &device);
        assert_eq!(concat.forward(x).dims(), [1, 1, 16, 16]);
        // Each decoder's first 3x3 convolution takes the level's width w a second time
        // as input: 9 * w * w more weights at each of the widths 4, 8 and 16.
        let extra = 9 * (4 * 4 + 8 * 8 + 16 * 16);
        assert_eq!(concat.num_params(), add.num_params() + extra);
    }

    #[test]
    fn specs_without_a_shortcut_read_as_added() {
        let old: UNetConfig = serde_json::from_str(r#"{"base_width":8,"context":1}"#).unwrap();
        assert_eq!(old.shortcut, Shortcut::Add);
        let json = serde_json::to_string(&old.with_shortcut(Shortcut::Concat)).unwrap();
        assert!(json.contains(r#""shortcut":"concat""#), "{json}");
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = UNetConfig::new().with_base_width(16).with_context(0);
        let json = serde_json::to_string(&c).unwrap();
        let back: UNetConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.in_channels(), 1);
    }
}
