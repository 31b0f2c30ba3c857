//! Exports for the Kotlin/Swift test suites only (feature `testing`, never in a shipped library):
//! the server's opening side, so a test can check that what the facade delivered really opens, and a
//! forced panic, to prove one arrives as an error and the process lives on.

use smartid_core::seal::{KeyPair, OpenPolicy, ServerKeyring, open_capture};

use crate::error::SmartIdError;
use crate::guard;

/// A throwaway server key pair as texts.
#[derive(uniffi::Record)]
pub struct TestServerKey {
    pub public_text: String,
    pub private_text: String,
}

/// What the server saw in an opened capture.
#[derive(uniffi::Record)]
pub struct TestOpened {
    pub session_id: String,
    pub template_model: String,
    pub template_dim: u32,
    pub test_mode: bool,
    /// The payload as the server sees it (JSON).
    pub payload_json: String,
    /// The capture token's nonce (hex), when the capture was made with one.
    pub token_nonce: Option<String>,
    /// What an attestation of this capture must be bound to (hex).
    pub attestation_request_hash: String,
    pub evidence_frames: u32,
}

#[uniffi::export]
pub fn testing_server_key(key_id: String) -> Result<TestServerKey, SmartIdError> {
    guard("testing_server_key", || {
        let k = KeyPair::generate(&key_id)?;
        Ok(TestServerKey {
            public_text: k.public().to_text(),
            private_text: k.private_text().to_string(),
        })
    })
}

/// Opens a sealed capture as the bank's server does, at the current time; the error text carries the
/// API code (412/407/425/426).
#[uniffi::export]
pub fn testing_open_capture(
    private_text: String,
    template: String,
    payload: String,
) -> Result<TestOpened, SmartIdError> {
    guard("testing_open_capture", || {
        let ring = ServerKeyring::new().with(KeyPair::parse(&private_text)?);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let o =
            open_capture(&ring, &template, &payload, now, &OpenPolicy::default()).map_err(|e| {
                SmartIdError::Seal {
                    code: e.http_code().into(),
                    detail: format!("refused ({}): {e}", e.http_code()),
                }
            })?;
        Ok(TestOpened {
            session_id: o.session_id.to_hex(),
            template_model: o.template.model_id().into(),
            template_dim: o.template.values().len().try_into().unwrap_or(u32::MAX),
            test_mode: o.payload.test_mode,
            payload_json: serde_json::to_string(&o.payload)
                .map_err(|_| SmartIdError::internal("testing_open_capture"))?,
            token_nonce: o
                .token_nonce
                .map(|n| smartid_core::seal::CaptureNonce::from_bytes(n).to_hex()),
            attestation_request_hash: o
                .attestation_request_hash
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            evidence_frames: o.payload.evidence.len().try_into().unwrap_or(u32::MAX),
        })
    })
}

/// An upright RGB image.
#[derive(uniffi::Record)]
pub struct TestRgbImage {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

/// The core's own conversion of a camera frame (format, strides, rotation) to upright RGB: what every
/// model sees. The facades' frame converters (Android's YUV_420_888) are checked against it.
#[uniffi::export]
pub fn testing_frame_rgb(frame: crate::CameraFrame) -> Result<TestRgbImage, SmartIdError> {
    guard("testing_frame_rgb", || {
        let layout = frame.layout()?;
        let rgb = smartid_core::Frame::new(&frame.data, layout).to_rgb()?;
        Ok(TestRgbImage {
            width: rgb.width(),
            height: rgb.height(),
            rgb: rgb.as_bytes().to_vec(),
        })
    })
}

/// Panics inside an export, as a bug would.
#[uniffi::export]
pub fn testing_panic() -> Result<(), SmartIdError> {
    guard("testing_panic", || {
        #[allow(clippy::panic)]
        {
            panic!("forced panic for the FFI panic test")
        }
    })
}
