//! Offline verification of the device attestation sent with a capture.
//!
//! The device facade sends one text token; its prefix says what it is:
//! - `pi:` a Google Play Integrity *classic* token ([`play_integrity`]),
//! - `aa:` an Apple App Attest attestation object ([`app_attest`]).
//!
//! Both bind the token to one capture through `request_hash`, the SHA-256 the server computes for it:
//! Play carries it as the `nonce`, Apple as the `clientDataHash`. Nothing here touches the network,
//! so a result depends only on the token, the configuration and `now_unix`.
//! Replay protection (accept a given `request_hash` once) is the caller's job.

pub mod app_attest;
mod check;
pub mod play_integrity;

pub use check::{AttestationCheck, check_attestation};

pub use app_attest::{AppAttestConfig, AppAttestVerifier};
pub use play_integrity::{PlayIntegrityConfig, PlayIntegrityVerifier};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Longest token accepted, checked before any decoding (real ones: Play about 1-3 KiB, Apple about 7 KiB).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What a verified attestation says (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attested {
    /// `"play_integrity"` or `"app_attest"`.
    pub kind: &'static str,
    /// Play: the strongest device verdict met (e.g. `"MEETS_DEVICE_INTEGRITY"`);
    /// Apple: `"production"` or `"development"`.
    pub device: String,
    /// Android package name, or Apple app id (`TEAMID.bundle.id`).
    pub app: String,
}

/// Why an attestation was refused. [`reason`](Self::reason) is stable text for logs and API errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// The verifier's configuration is unusable (bad key, empty app id...).
    #[error("attestation verifier misconfigured")]
    Config,
    /// Not decodable: too long, bad base64/JSON/CBOR/DER, wrong field sizes.
    #[error("attestation token malformed")]
    Malformed,
    /// The token is of a kind this verifier does not handle (or none is configured for it).
    #[error("attestation of an unexpected kind")]
    WrongKind,
    /// A JOSE algorithm other than the ones Google uses (A256KW, A256GCM, ES256).
    #[error("unsupported attestation algorithm")]
    UnsupportedAlgorithm,
    /// The token was not encrypted for our key, or was altered.
    #[error("attestation decryption failed")]
    Decryption,
    /// The Play Integrity signature does not verify with our key.
    #[error("attestation signature invalid")]
    Signature,
    /// The certificate chain does not lead to the pinned Apple root.
    #[error("attestation certificate chain invalid")]
    CertificateChain,
    /// A certificate in the chain is expired or not yet valid at `now`.
    #[error("attestation certificate expired or not yet valid")]
    CertificateExpired,
    /// The token was made for another request (nonce / clientDataHash differs).
    #[error("attestation bound to another request")]
    RequestHashMismatch,
    /// The token names another app (package name / app id).
    #[error("attestation for another app")]
    WrongApp,
    /// The token's timestamp is too old or in the future.
    #[error("attestation too old or from the future")]
    Stale,
    /// The device verdict does not meet the required level.
    #[error("device integrity not met")]
    DeviceIntegrity,
    /// The app is not the one we ship (not Play-recognised, or another signing certificate).
    #[error("app integrity not met")]
    AppIntegrity,
    /// App Attest: the attestation's counter is not 0 (a fresh key's is).
    #[error("attestation counter invalid")]
    Counter,
    /// App Attest: the key id does not match the attested key.
    #[error("attestation key id mismatch")]
    KeyId,
    /// App Attest: development-environment key where only production is allowed (or unknown aaguid).
    #[error("attestation environment not allowed")]
    Environment,
}

impl AttestationError {
    /// Stable snake_case reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Malformed => "malformed",
            Self::WrongKind => "wrong_kind",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::Decryption => "decryption",
            Self::Signature => "signature",
            Self::CertificateChain => "certificate_chain",
            Self::CertificateExpired => "certificate_expired",
            Self::RequestHashMismatch => "request_hash_mismatch",
            Self::WrongApp => "wrong_app",
            Self::Stale => "stale",
            Self::DeviceIntegrity => "device_integrity",
            Self::AppIntegrity => "app_integrity",
            Self::Counter => "counter",
            Self::KeyId => "key_id",
            Self::Environment => "environment",
        }
    }
}

/// Verifies one attestation token for one capture.
pub trait AttestationVerifier: Send + Sync {
    /// `token` is what the device sent; `request_hash` is SHA-256(...) the server computed for this capture; `now_unix` seconds.
    fn verify(
        &self,
        token: &str,
        request_hash: &[u8; 32],
        now_unix: u64,
    ) -> Result<Attested, AttestationError>;

    /// Whether any attestation can be verified at all (a server whose channels require attestation
    /// refuses to start without one).
    fn configured(&self) -> bool {
        true
    }
}

/// Routes a token to the verifier for its prefix; a kind without a configured verifier is [`AttestationError::WrongKind`].
#[derive(Default)]
pub struct Verifiers {
    pub play_integrity: Option<PlayIntegrityVerifier>,
    pub app_attest: Option<AppAttestVerifier>,
}

impl AttestationVerifier for Verifiers {
    fn configured(&self) -> bool {
        self.any()
    }

    fn verify(
        &self,
        token: &str,
        request_hash: &[u8; 32],
        now_unix: u64,
    ) -> Result<Attested, AttestationError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AttestationError::Malformed);
        }
        let verifier: Option<&dyn AttestationVerifier> =
            if token.starts_with(play_integrity::PREFIX) {
                self.play_integrity.as_ref().map(|v| v as _)
            } else if token.starts_with(app_attest::PREFIX) {
                self.app_attest.as_ref().map(|v| v as _)
            } else {
                return Err(AttestationError::Malformed);
            };
        verifier
            .ok_or(AttestationError::WrongKind)?
            .verify(token, request_hash, now_unix)
    }
}

/// The size limit, then the kind prefix; returns the rest.
fn strip_kind<'a>(token: &'a str, prefix: &str) -> Result<&'a str, AttestationError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(AttestationError::Malformed);
    }
    if let Some(rest) = token.strip_prefix(prefix) {
        Ok(rest)
    } else if token.starts_with(play_integrity::PREFIX) || token.starts_with(app_attest::PREFIX) {
        Err(AttestationError::WrongKind)
    } else {
        Err(AttestationError::Malformed)
    }
}

/// Padding optional on decode: clients and consoles differ; the data is authenticated anyway.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent);
const B64_URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
const B64_STD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);

/// base64url, padded or not (JOSE parts, Play nonce and certificate digests).
fn b64_url(s: &str) -> Result<Vec<u8>, AttestationError> {
    B64_URL.decode(s).map_err(|_| AttestationError::Malformed)
}

/// Either base64 alphabet, padded or not (iOS code and console keys use standard, URLs use url-safe).
fn b64_any(s: &str) -> Result<Vec<u8>, AttestationError> {
    B64_STD
        .decode(s)
        .or_else(|_| B64_URL.decode(s))
        .map_err(|_| AttestationError::Malformed)
}

/// Constant-time equality: the time taken does not tell where two values first differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn routes_by_prefix() {
        let none = Verifiers::default();
        assert_eq!(
            none.verify("pi:a.b.c.d.e", &[0; 32], 0),
            Err(AttestationError::WrongKind)
        );
        assert_eq!(
            none.verify("aa:AAAA:AAAA", &[0; 32], 0),
            Err(AttestationError::WrongKind)
        );
        assert_eq!(
            none.verify("xx:whatever", &[0; 32], 0),
            Err(AttestationError::Malformed)
        );
        let apple = Verifiers {
            app_attest: Some(
                AppAttestVerifier::new(AppAttestConfig {
                    app_id: "ABCDE12345.com.example.App".into(),
                    allow_development: false,
                })
                .unwrap(),
            ),
            ..Default::default()
        };
        assert_eq!(
            apple.verify("aa:AAAA:AAAA", &[0; 32], 0),
            Err(AttestationError::Malformed)
        );
        assert_eq!(
            apple.verify("pi:a.b.c.d.e", &[0; 32], 0),
            Err(AttestationError::WrongKind)
        );
    }

    #[test]
    fn reasons_are_distinct_snake_case() {
        use AttestationError::*;
        let all = [
            Config,
            Malformed,
            WrongKind,
            UnsupportedAlgorithm,
            Decryption,
            Signature,
            CertificateChain,
            CertificateExpired,
            RequestHashMismatch,
            WrongApp,
            Stale,
            DeviceIntegrity,
            AppIntegrity,
            Counter,
            KeyId,
            Environment,
        ];
        let mut seen = std::collections::HashSet::new();
        for e in all {
            assert!(
                e.reason()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            assert!(seen.insert(e.reason()), "{e:?}");
        }
    }
}
