//! The vision stages, one module per model, and the `Engine` that holds them.
//!
//! `Engine` loads every model once (checksums verified against the manifest) and is shared by many
//! sessions (`Arc<Engine>`, Send + Sync). Its methods are the per-frame building blocks; the order in
//! which a capture uses them is `session`'s business.

// Data types the payload carries (usable without the models, e.g. on a server that only opens).
pub mod geometry;
pub mod pose;
pub mod quality;

pub use geometry::{BoxF, Point};
pub use pose::HeadPose;
pub use quality::{Quality, QualityIssue, QualityThresholds};

#[cfg(feature = "capture")]
mod antispoof;
#[cfg(feature = "capture")]
mod detector;
#[cfg(feature = "capture")]
mod embedder;
#[cfg(feature = "capture")]
mod engine;
#[cfg(feature = "capture")]
mod eyes;
#[cfg(feature = "capture")]
mod fp16_kernels;
#[cfg(feature = "capture")]
mod frontend;
#[cfg(feature = "capture")]
mod mesh;
#[cfg(feature = "capture")]
mod model;
#[cfg(all(test, feature = "capture"))]
mod onnx_graphs;
#[cfg(feature = "capture")]
mod operators;
#[cfg(feature = "capture")]
mod pool;
#[cfg(feature = "capture")]
mod prelu;
#[cfg(feature = "capture")]
pub(crate) mod warp;
#[cfg(feature = "capture")]
mod weights;

#[cfg(feature = "capture")]
pub use detector::Detection;
#[cfg(feature = "capture")]
pub use embedder::Embedding;
#[cfg(feature = "capture")]
pub use engine::{Engine, FaceAnalysis};
#[cfg(feature = "capture")]
pub use eyes::{EyeRead, EyeState, lid_ratio};
/// For the benchmarks: tract's ONNX front-end as the SDK configures it (PRelu and 2×2 max pools run
/// by the SDK), and tract's optimiser as the SDK runs it (without `ChangeAxes`).
#[cfg(all(feature = "capture", feature = "test-support"))]
pub use frontend::{declutter as sdk_declutter, onnx as sdk_onnx, optimize as sdk_optimize};
#[cfg(feature = "capture")]
pub use mesh::{MeshResult, Roi};
/// For the load benchmarks (`benches/model_load.rs` measures the unfold against tract's own folding;
/// `benches/load_memory.rs` measures each load phase's memory).
#[cfg(all(feature = "capture", feature = "test-support"))]
pub use {
    fp16_kernels::{bind_fp16_kernels, hold_conv_kernels_in_fp16},
    weights::unfold_int8_weights,
};
