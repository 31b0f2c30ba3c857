//! smartid-ffi: the SmartId capture core for Kotlin and Swift, through uniffi proc-macros.
//!
//! Thin by design: each exported object is a newtype over a core type and each method one delegating
//! call wrapped in [`guard`], which turns a Rust panic into an `Internal` error (9001) instead of
//! letting it cross the FFI (uniffi's Swift aborts the process on a panic from a function that does
//! not return `Result`, so every export returns one). The idiomatic APIs are the facades in
//! `bindings/kotlin` (`SmartId`) and `bindings/swift` (`SID`); apps never see these types directly.

mod engine;
mod error;
mod logging;
mod session;
mod signals;
#[cfg(feature = "testing")]
mod testing;
mod types;

pub use engine::Engine;
pub use error::SmartIdError;
pub use logging::{LogLevel, LogSink, set_log_sink};
pub use session::{CaptureSession, SealedResult};
pub use signals::{BuildProperty, CallbackError, GuidanceListener, Location, PlatformSignals};
pub use types::{
    CameraFrame, CaptureOptions, EvidenceSummary, FaceBox, Guidance, RaspOverride, RaspPolicyChoice,
};

uniffi::setup_scaffolding!("smartid");

/// Runs `f`, turning a panic into `SmartIdError::Internal` so no panic crosses the FFI. `what` names
/// the call for the message (never data).
pub(crate) fn guard<T>(
    what: &'static str,
    f: impl FnOnce() -> Result<T, SmartIdError>,
) -> Result<T, SmartIdError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            log::error!(target: "smartid", "internal error (panic caught) in {what}");
            Err(SmartIdError::internal(what))
        }
    }
}

/// The SDK version (the core's), for apps to log.
#[uniffi::export]
pub fn sdk_version() -> Result<String, SmartIdError> {
    guard("sdk_version", || Ok(smartid_core::SDK_VERSION.to_string()))
}
