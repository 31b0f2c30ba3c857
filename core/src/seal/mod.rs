//! What leaves the phone: the face template and the metadata payload, sealed with HPKE (RFC 9180:
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode) to the bank server's public key, and
//! bound to each other. The format is specified in docs/payload-format.md; this module is both sides:
//! [`seal_capture`] on the device and [`open_capture`] on the server (and the harness).

pub mod envelope;
pub mod evidence;
pub mod keys;
pub mod payload;
pub mod template;
pub mod token;

pub use envelope::{
    CaptureOpened, OpenPolicy, SealedCapture, attestation_request_hash, open_capture, seal_capture,
    seal_capture_attested,
};
#[cfg(feature = "test-support")]
pub use envelope::{seal_capture_with_rng, seal_plaintexts_for_tests};
pub use evidence::{EvidenceFrame, FrameRole};
pub use keys::{KeyPair, PublicKey, ServerKeyring};
pub use payload::{CaptureNonce, ModelRef, Payload, SessionId};
pub use template::{MAX_DIM as MAX_TEMPLATE_DIM, Template};
pub use token::{CaptureToken, TokenError};

/// Why a sealed capture was refused. Each maps to one of the enrollment API's response codes
/// ([`OpenError::http_code`]); messages never include plaintext, keys or biometric values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("not valid base64url text")]
    Encoding,
    #[error("sealed data is truncated or malformed")]
    Malformed,
    #[error("not a SmartId sealed {0}")]
    WrongKind(&'static str),
    #[error("unsupported format version {0}")]
    UnknownVersion(u8),
    #[error("unknown key id")]
    UnknownKeyId,
    #[error("template and payload do not belong to the same capture")]
    BindingMismatch,
    #[error("decryption failed")]
    DecryptionFailed,
    #[error("template content is malformed")]
    TemplateFormat,
    #[error("payload content is malformed")]
    PayloadFormat,
    #[error("payload does not match its sealed header")]
    PayloadMismatch,
    #[error("issued-at is in the future")]
    IssuedInFuture,
    #[error("timestamps are inconsistent")]
    TimestampInvalid,
    #[error("capture has expired")]
    Expired,
}

impl OpenError {
    /// The enrollment API code (seed 000): 412 format, 407 validation, 425 timestamp, 426 expired.
    pub fn http_code(&self) -> u16 {
        match self {
            OpenError::Encoding
            | OpenError::Malformed
            | OpenError::WrongKind(_)
            | OpenError::UnknownVersion(_)
            | OpenError::TemplateFormat
            | OpenError::PayloadFormat => 412,
            OpenError::UnknownKeyId
            | OpenError::BindingMismatch
            | OpenError::DecryptionFailed
            | OpenError::PayloadMismatch => 407,
            OpenError::IssuedInFuture | OpenError::TimestampInvalid => 425,
            OpenError::Expired => 426,
        }
    }
}

/// Errors on the sealing side (device).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("server public key is invalid")]
    InvalidPublicKey,
    #[error("server private key is invalid")]
    InvalidPrivateKey,
    #[error("key id must be 1 to 64 printable ASCII characters")]
    InvalidKeyId,
    #[error("payload could not be encoded")]
    PayloadEncoding,
    #[error("template is invalid: {0}")]
    Template(&'static str),
    #[error("encryption failed")]
    EncryptionFailed,
}

impl SealError {
    /// The stable SDK code (7xxx, docs/error-codes.md).
    pub fn code(&self) -> crate::ErrorCode {
        use crate::ErrorCode as C;
        match self {
            SealError::InvalidPublicKey => C::InvalidPublicKey,
            SealError::InvalidPrivateKey => C::InvalidPrivateKey,
            SealError::InvalidKeyId => C::InvalidKeyId,
            SealError::PayloadEncoding => C::PayloadEncoding,
            SealError::Template(_) => C::TemplateInvalid,
            SealError::EncryptionFailed => C::EncryptionFailed,
        }
    }
}
