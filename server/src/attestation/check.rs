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

/// The attestation settings file (`smartid-server serve --attestation attestation.toml`):
///
/// ```toml
/// [play_integrity]            # Play Console > App integrity > Response encryption (your own keys)
/// package_name = "com.bank.app"
/// decryption_key_b64 = "…"     # AES-256 key, base64
/// verification_key_b64 = "…"   # P-256 public key (DER SubjectPublicKeyInfo), base64
/// cert_digests = ["AB:CD:…"]   # the app's signing certificate SHA-256 (optional)
///
/// [app_attest]
/// app_id = "TEAMID.com.bank.app"
/// allow_development = false
/// ```
#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AttestationFile {
    play_integrity: Option<super::PlayIntegrityConfig>,
    app_attest: Option<super::AppAttestConfig>,
}

impl super::Verifiers {
    /// Reads the settings file; a key that does not parse is an error here, not at the first capture.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: AttestationFile =
            toml::from_str(text).map_err(|e| format!("attestation settings: {e}"))?;
        let play_integrity = file
            .play_integrity
            .map(super::PlayIntegrityVerifier::new)
            .transpose()
            .map_err(|e| format!("attestation settings [play_integrity]: {e}"))?;
        let app_attest = file
            .app_attest
            .map(super::AppAttestVerifier::new)
            .transpose()
            .map_err(|e| format!("attestation settings [app_attest]: {e}"))?;
        Ok(Self {
            play_integrity,
            app_attest,
        })
    }

    /// True when at least one kind of attestation can be verified.
    pub fn any(&self) -> bool {
        self.play_integrity.is_some() || self.app_attest.is_some()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::super::Verifiers;

    #[test]
    fn settings_file() {
        assert!(!Verifiers::from_toml("").unwrap().any());
        let v =
            Verifiers::from_toml("[app_attest]\napp_id = \"ABCDE12345.com.bank.app\"\n").unwrap();
        assert!(v.any() && v.app_attest.is_some() && v.play_integrity.is_none());
        assert!(
            Verifiers::from_toml("[play_integrity]\npackage_name = \"com.bank.app\"\n").is_err()
        );
        assert!(Verifiers::from_toml("[unknown]\n").is_err());
    }
}
