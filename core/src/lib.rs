//! SmartId capture core: on-device face capture for KYC enrollment.
//!
//! Frames go in ([`frame::Frame`]), the [`vision::Engine`] runs the models listed in the model
//! manifest ([`manifest`]), and the sealing side ([`seal`]) turns a template and its metadata into
//! strings only the bank's server can open. See ARCHITECTURE.md for the flow.
//!
//! Feature `capture` (default) brings the models and the session; without it the crate is the
//! sealing/opening side, RASP and frame handling (a server, a fuzzer).

#[cfg(feature = "capture")]
pub mod allocator;
#[cfg(feature = "capture")]
pub mod config;
pub mod error;
pub mod frame;
pub mod liveness;
pub mod manifest;
pub mod matching;
pub mod profile;
pub mod rasp;
pub mod seal;
#[cfg(feature = "capture")]
mod session;
#[cfg(feature = "capture")]
mod threads;
#[cfg(feature = "capture")]
pub mod verify;
pub mod vision;
pub mod y4m;

#[cfg(feature = "capture")]
pub use config::CaptureConfig;
pub use error::{Error, ErrorCode, Result};
pub use frame::{Frame, FrameLayout, PixelFormat, RgbImage, Rotation};
pub use liveness::{LivenessEvidence, LivenessMode};
pub use rasp::{EnvironmentChecks, EnvironmentReport, PlatformSignals};
pub use seal::{PublicKey, SealedCapture, SessionId};
#[cfg(feature = "capture")]
pub use session::{CaptureResult, CaptureSession, Guidance, Prompt, Step};
#[cfg(feature = "capture")]
pub use vision::Engine;

/// Version of this SDK, carried in payloads.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(all(test, feature = "capture"))]
mod tests {
    /// The engine is loaded once and shared by sessions on any thread; sessions move between threads.
    #[test]
    fn engine_is_shareable_and_sessions_are_sendable() {
        fn shared<T: Send + Sync>() {}
        fn sendable<T: Send>() {}
        shared::<crate::Engine>();
        sendable::<crate::CaptureSession>();
        shared::<crate::seal::ServerKeyring>();
    }
}
