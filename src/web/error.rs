//! What can go wrong in the browser, as one type: each variant says where, so the
//! message shown in `[data-testid=error]` names the file, the URL or the device.

use crate::pipeline::PipelineError;
use crate::volume::VolumeError;

/// An error of the web app.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A file the user chose is not a usable NIfTI image (or too large for the tab).
    #[error("{name}: {source}")]
    Volume {
        /// The file's name.
        name: String,
        /// Why it was refused.
        source: VolumeError,
    },
    /// The browser could not read a file the user chose.
    #[error("{name}: cannot read ({reason})")]
    Read {
        /// The file's name.
        name: String,
        /// The browser's words.
        reason: String,
    },
    /// The page's own weights could not be fetched.
    #[error("{url}: {reason}")]
    Fetch {
        /// What was asked for, relative to the page.
        url: String,
        /// The HTTP status or the browser's words.
        reason: String,
    },
    /// The inputs or the weights were refused by the pipeline.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// WebGPU or a network pass failed on the device.
    #[error("{0}")]
    Device(String),
    /// The viewer found no way to draw.
    #[error("{0}")]
    Viewer(String),
}
