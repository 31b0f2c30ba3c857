//! The metadata payload: JSON describing how, when and on what the template was captured.

use serde::{Deserialize, Serialize};

/// Payload schema version; `open_capture` rejects any other.
pub const PAYLOAD_VERSION: u32 = 1;

/// Identifies a model that took part, so a server can refuse templates from models it does not accept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRef {
    pub role: String,
    pub id: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    /// Schema version ([`PAYLOAD_VERSION`]).
    pub v: u32,
    pub sdk_version: String,
    /// `android`, `ios`, `linux`, `macos`, … (from the build target).
    pub platform: String,
    /// 16 random bytes as lowercase hex; equals the session id in both sealed headers.
    pub session_id: String,
    /// Unix seconds.
    pub issued_at: u64,
    pub expires_at: u64,
    /// Model id of the embedding inside the template.
    pub template_model: String,
    pub models: Vec<ModelRef>,
    /// Liveness evidence (mode, challenges, scores); shape defined by the capture session.
    pub liveness: serde_json::Value,
    /// Quality of the frame the template came from.
    pub quality: serde_json::Value,
    /// RASP environment report.
    pub environment: serde_json::Value,
    /// True when the capture was replayed with fixed challenges (desktop harness): servers should refuse
    /// it in production.
    pub test_mode: bool,
}

/// The platform this build runs on, for [`Payload::platform`].
pub fn current_platform() -> &'static str {
    std::env::consts::OS
}

/// A fresh session id from a cryptographic RNG.
pub fn new_session_id(rng: &mut impl rand::CryptoRng) -> [u8; 16] {
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    id
}
