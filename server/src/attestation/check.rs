//! The attestation of one capture, checked by the channel's policy (`api/verify.rs`).

use serde_json::{Value, json};

use super::{AttestationError, AttestationVerifier, Attested};

/// What became of a capture's attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttestationCheck {
    /// The device sent none (no attestation configured in the app, or a script).
    Missing,
    Verified(Attested),
    Refused(AttestationError),
}

impl AttestationCheck {
    /// The `Attestation` part of the reply's `Verification`.
    pub fn report(&self) -> Value {
        match self {
            Self::Missing => json!({ "Status": "missing" }),
            Self::Verified(a) => json!({
                "Status": "verified", "Kind": a.kind, "Device": a.device, "App": a.app,
            }),
            Self::Refused(e) => json!({ "Status": "refused", "Reason": e.reason() }),
        }
    }
}

/// Verifies the token the payload carries against the request hash the server computed for this
/// capture (`CaptureOpened::attestation_request_hash`).
pub fn check_attestation(
    verifier: &dyn AttestationVerifier,
    token: Option<&str>,
    request_hash: &[u8; 32],
    now_unix: u64,
) -> AttestationCheck {
    match token {
        None => AttestationCheck::Missing,
        Some(t) => match verifier.verify(t, request_hash, now_unix) {
            Ok(a) => AttestationCheck::Verified(a),
            Err(e) => AttestationCheck::Refused(e),
        },
    }
}
