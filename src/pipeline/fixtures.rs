//! Small untrained networks for the pipeline's unit tests.

use burn::prelude::*;

use super::{Network, NetworkSpec, Networks, Task};
use crate::model::UNetConfig;

/// A fresh WMH network of `width` without context slices.
pub fn tiny(width: usize, device: &Device) -> Network {
    let unet = UNetConfig::new().with_base_width(width).with_context(0);
    Network::init(NetworkSpec::new(Task::Wmh, unet, 1.0), device)
}

/// A fresh WMH network of width 8 and WM network of width 2. Width 8, not 2, for
/// WMH: a fresh width-2 network is constant often enough (about one draw in
/// fifteen, every ReLU before the output dead) to be invariant to symmetries.
pub fn tiny_pair(device: &Device) -> Networks {
    let mut wm = tiny(2, device);
    wm.spec.task = Task::Wm;
    Networks {
        wmh: tiny(8, device),
        wm: Some(wm),
    }
}
