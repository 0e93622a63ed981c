//! The U-Net: encoder blocks, max-pooling, transposed-conv upsampling, additive
//! shortcuts and a 1x1 output convolution.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// Number of poolings; inputs must be divisible by `2^DEPTH` in-plane.
pub const DEPTH: usize = 3;

/// Settings that rebuild a network exactly; saved next to its weights.
#[derive(Config, Debug, PartialEq)]
pub struct UNetConfig {
    /// Channels at the finest level; the levels have 1x, 2x, 4x and 8x this.
    /// The seed's is 64.
    #[config(default = 32)]
    pub base_width: usize,
    /// Neighbouring slices on each side fed as extra channels (0 = plain 2-D).
    #[config(default = 1)]
    pub context: usize,
}

impl UNetConfig {
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
            decoders.push(ConvBlock::new(widths[l], widths[l], device));
        }
        UNet {
            encoders,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            upsamplers,
            decoders,
            head: Conv2dConfig::new([widths[0], 1], [1, 1]).init(device),
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
}

impl UNet {
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
            x = decoder.forward(up.forward(x) + skip);
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
    fn config_round_trips_through_json() {
        let c = UNetConfig::new().with_base_width(16).with_context(0);
        let json = serde_json::to_string(&c).unwrap();
        let back: UNetConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.in_channels(), 1);
    }
}
