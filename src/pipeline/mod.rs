//! The segmentation pipeline: FLAIR (and optionally T1) in, WMH mask on the FLAIR
//! grid out.
//!
//! 1. The T1 is resampled onto the FLAIR grid through both affines and checked for overlap.
//! 2. Both are reoriented to RAS, normalised and cut into axial network planes.
//! 3. The WM network runs on T1, then the WMH network on FLAIR, only in the slices
//!    where the WM filter keeps anything (see [`Coverage`]).
//! 4. The WM region (holes filled, dilated, so dark-on-T1 lesions survive) filters the
//!    WMH probabilities; a threshold gives the mask, mapped back to the stored grid.
//!
//! [`Inputs`] and [`Inputs::finish`] are pure; only the networks touch a device, and
//! [`Plan`] says which runs where, so the browser drives the same steps asynchronously.
//!
//! | module | concern |
//! |---|---|
//! | `network` | weights format and loading, the forward pass |
//! | `inputs` | resampling, alignment checks, skull stripping, slicing |
//! | `region` | the white-matter filter's region |
//! | `schedule` | which network runs on which slices ([`Plan`]) |
//! | `segmentation` | the mask, lesions, volumes, re-thresholding |

#[cfg(test)]
mod fixtures;
mod inputs;
mod network;
pub mod preprocess;
mod region;
mod schedule;
mod segmentation;

pub use inputs::{
    Inputs, MIN_CONTAINED, MIN_HEAD_OVERLAP, MIN_WM_FRACTION_OF_BRAIN, Overlap, Preparation,
};
pub use network::{
    DEFAULT_WM_DILATION_MM, DILATION_RANGE_MM, MAX_MEMBERS, Network, NetworkSpec, Networks,
    SPACING_RANGE_MM, Task, input_tensor, predict, split_planes, stores_half,
};
pub use preprocess::{Normalisation, Plane, SliceStack};
pub use region::{Region, within_brain, wm_region};
pub use schedule::{Coverage, Job, Plan, Planes, Stage, batches, predict_all, run};
pub use segmentation::{
    Filter, Lesion, Options, Segmentation, lesions, min_lesion_voxels, prune_lesions,
};

/// Why a segmentation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The T1's field of view misses the FLAIR's head.
    #[error(
        "the T1 does not overlap the FLAIR in world space ({0:.0}% of the FLAIR head lies inside the T1's field of view)"
    )]
    NoOverlap(f64),
    /// The T1 overlaps but its foreground does not line up with the FLAIR's.
    #[error(
        "the T1 does not line up with the FLAIR (foreground Dice {:.2}, {:.0}% of the smaller foreground inside the other); register them first",
        .0.dice,
        .0.contained * 100.0
    )]
    Misaligned(Overlap),
    /// Weights or their settings could not be used.
    #[error("bad network weights: {0}")]
    Weights(String),
    /// The input volume is too small to segment.
    #[error("the image has no voxels above background")]
    EmptyImage,
}
