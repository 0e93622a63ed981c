//! The seed's fully convolutional network and its class-balanced loss.
//!
//! One module serves both networks (FLAIR to WMH, T1 to white matter). It is a 2-D
//! U-Net over axial slices trimmed to three poolings (four resolutions), with
//! shortcuts merged by addition, as `docs/method.md` reads the seed (concatenation is
//! an option, measured against it). A few
//! neighbouring slices may enter as extra input channels (2.5-D). At inference the
//! probabilities may be averaged over the slice's in-plane symmetries (`Symmetries`).

mod ensemble;
mod loss;
mod symmetry;
mod unet;

pub use ensemble::Ensemble;
pub use loss::{balanced_bce, class_weights, soft_dice};
pub use symmetry::{Symmetries, Transform, averaged};
pub use unet::{ConvBlock, DEPTH, Shortcut, UNet, UNetConfig};
