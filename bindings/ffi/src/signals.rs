//! What the app implements in Kotlin/Swift: the platform facts only the OS knows, and a guidance
//! listener. Every method returns `Result`, so an exception thrown by the app's code arrives here as
//! an `Err` (logged, treated as "don't know" / ignored) instead of a panic inside a capture.

use std::sync::Arc;

use smartid_core::rasp;

use crate::types::Guidance;

/// An error raised by the app's implementation of a callback. The SDK logs it and goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CallbackError {
    #[error("callback failed: {reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { reason: e.reason }
    }
}

/// One Android system property.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BuildProperty {
    pub key: String,
    pub value: String,
}

/// A location fix with the OS's mock flag.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: f64,
    pub mock: bool,
}

/// Platform facts for the RASP checks; the session asks at the start, at random moments during the
/// capture and before sealing. Return `null`/`nil` or an empty list for "don't know".
#[uniffi::export(with_foreign)]
pub trait PlatformSignals: Send + Sync {
    /// Android `ro.*` properties; empty elsewhere.
    fn build_properties(&self) -> Result<Vec<BuildProperty>, CallbackError>;
    /// Instrumentation the platform layer found (Xposed classes, swizzled methods): short names.
    fn instrumentation(&self) -> Result<Vec<String>, CallbackError>;
    fn location(&self) -> Result<Option<Location>, CallbackError>;
    fn vpn_active(&self) -> Result<Option<bool>, CallbackError>;
    /// The system proxy as `host:port`, without credentials.
    fn proxy(&self) -> Result<Option<String>, CallbackError>;
    /// SHA-256 hex of the app's signing certificate (Android) or code signature (iOS).
    fn app_signature(&self) -> Result<Option<String>, CallbackError>;
    /// An attestation bound to this capture: pass `request_hash` (32 bytes) to Play Integrity (classic
    /// request: `nonce` = base64url of it, no padding) or App Attest (`clientDataHash`) and return the
    /// token as `pi:<token>` / `aa:<attestation object b64>:<key id b64>` (docs/payload-format.md).
    /// Called once per capture while sealing; `None` when the app has no attestation.
    fn attestation_token(&self, request_hash: Vec<u8>) -> Result<Option<String>, CallbackError>;
}

/// Receives the guidance of every frame (on the thread that pushed the frame).
#[uniffi::export(with_foreign)]
pub trait GuidanceListener: Send + Sync {
    fn on_guidance(&self, guidance: Guidance) -> Result<(), CallbackError>;
}

/// The app's signals seen as the core's trait. A failing callback is "don't know", logged by name.
pub(crate) struct ForeignSignals(pub(crate) Arc<dyn PlatformSignals>);

/// The app's value, or "don't know" when its code threw. Logged by name only: the exception's text is
/// the app's and may hold anything.
fn known<T: Default>(what: &str, r: Result<T, CallbackError>) -> T {
    r.unwrap_or_else(|_| {
        log::warn!(target: "smartid", "platform signal '{what}' threw; treated as unknown");
        T::default()
    })
}

impl rasp::PlatformSignals for ForeignSignals {
    fn build_properties(&self) -> Vec<rasp::BuildProperty> {
        known("build_properties", self.0.build_properties())
            .into_iter()
            .map(|p| rasp::BuildProperty::new(p.key, p.value))
            .collect()
    }
    fn instrumentation(&self) -> Vec<String> {
        known("instrumentation", self.0.instrumentation())
    }
    fn location(&self) -> Option<rasp::Location> {
        known("location", self.0.location()).map(|l| rasp::Location {
            latitude: l.latitude,
            longitude: l.longitude,
            accuracy_m: l.accuracy_m,
            mock: l.mock,
        })
    }
    fn vpn_active(&self) -> Option<bool> {
        known("vpn_active", self.0.vpn_active())
    }
    fn proxy(&self) -> Option<String> {
        known("proxy", self.0.proxy())
    }
    fn app_signature(&self) -> Option<String> {
        known("app_signature", self.0.app_signature())
    }
    fn attestation_token(&self, request_hash: &[u8; 32]) -> Option<String> {
        known(
            "attestation_token",
            self.0.attestation_token(request_hash.to_vec()),
        )
    }
}
