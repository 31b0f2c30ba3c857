//! Errors: rich internally, one stable numeric code outward.
//!
//! Messages never carry biometric or personal data (no pixel values, scores of a specific person, keys or
//! plaintext); they say what was wrong with the input or the configuration, so an app can log them.

use std::fmt;

/// Defines [`ErrorCode`] and its list [`ErrorCode::ALL`] from one table, so a code can't exist without
/// being listed (a test checks the list against docs/error-codes.md).
macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident = $num:literal,)*) => {
        /// Stable numeric codes. They are part of the public API (Kotlin/Swift `errorCode`,
        /// docs/error-codes.md): never renumber, only add.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[repr(u16)]
        pub enum ErrorCode {
            $($(#[$doc])* $name = $num,)*
        }

        impl ErrorCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The code's name as written in docs/error-codes.md.
            pub fn name(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => stringify!($name),)*
                }
            }
        }
    };
}

error_codes! {
    /// Frame dimensions are zero, odd where the pixel format needs even, or too large.
    FrameSize = 1001,
    /// The buffer is shorter than the strides and height require, or a stride is too small.
    FrameBuffer = 1002,
    /// The pixel format or rotation is not one we know.
    FrameFormat = 1003,
    /// An image file could not be decoded (harness and tests).
    ImageDecode = 1004,
    /// The model manifest is malformed or inconsistent.
    ManifestInvalid = 2001,
    /// A model file is missing.
    ModelMissing = 2002,
    /// A model file's sha256 differs from the manifest.
    ModelChecksum = 2003,
    /// A model file could not be parsed or optimised (truncated, corrupt, wrong shape, an ONNX
    /// operator the SDK does not parse).
    ModelLoad = 2004,
    /// Running a model failed.
    Inference = 2005,
    /// No face in the frame.
    NoFace = 3001,
    /// More than one face in the frame.
    MultipleFaces = 3002,
    /// The face is cut by the frame edge.
    PartialFace = 3003,
    /// The configuration given to the SDK is invalid.
    ConfigInvalid = 4001,
    /// The capture did not complete in time (no face, or never well positioned).
    CaptureTimeout = 5001,
    /// A liveness challenge was not performed in time.
    ChallengeFailed = 5002,
    /// Passive liveness judged the face not live (print, screen, mask).
    SpoofSuspected = 5003,
    /// A different person appeared during the capture.
    FaceChanged = 5004,
    /// The app cancelled the capture.
    Cancelled = 5005,
    /// `finish` was called before the capture completed.
    CaptureIncomplete = 5006,
    /// The capture was already finished (its result taken) or sealed.
    CaptureConsumed = 5007,
    /// The frames do not behave like a live camera: stamped ahead of the SDK's clock, frozen, or a
    /// face that jumps between frames (the message names which, never data).
    InjectionSuspected = 5010,
    /// A RASP check found a threat the policy blocks: before, during or at the end of the capture.
    EnvironmentBlocked = 6001,
    /// The server public key text or bytes are invalid.
    InvalidPublicKey = 7001,
    /// The server private key text or bytes are invalid.
    InvalidPrivateKey = 7002,
    /// A key id is empty, too long or has characters outside `[A-Za-z0-9._-]`.
    InvalidKeyId = 7003,
    /// The payload could not be encoded.
    PayloadEncoding = 7004,
    /// The template is invalid (model id, dimension, non-finite values).
    TemplateInvalid = 7005,
    /// HPKE encryption failed.
    EncryptionFailed = 7006,
    /// A bug: an internal invariant broke or a panic was caught at the FFI boundary.
    Internal = 9001,
}

impl ErrorCode {
    pub fn as_u16(self) -> u16 {
        self as u16
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.as_u16(), self.name())
    }
}

/// Which edges of the frame cut a face.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Edges {
    pub left: bool,
    pub top: bool,
    pub right: bool,
    pub bottom: bool,
}

impl fmt::Display for Edges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.left, "left"),
            (self.top, "top"),
            (self.right, "right"),
            (self.bottom, "bottom"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
        write!(f, "{}", names.join(", "))
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("invalid frame size: {0}")]
    FrameSize(String),
    #[error("invalid frame buffer: {0}")]
    FrameBuffer(String),
    #[error("invalid frame format: {0}")]
    FrameFormat(String),
    #[error("image could not be decoded: {0}")]
    ImageDecode(String),
    #[error("model manifest invalid: {0}")]
    ManifestInvalid(String),
    #[error("model file for role '{role}' is missing: {file}")]
    ModelMissing { role: String, file: String },
    #[error("model file for role '{role}' does not match the manifest checksum")]
    ModelChecksum { role: String },
    #[error("model for role '{role}' could not be loaded: {detail}")]
    ModelLoad { role: String, detail: String },
    #[error("model for role '{role}' failed to run: {detail}")]
    Inference { role: String, detail: String },
    #[error("no face found")]
    NoFace,
    #[error("{count} faces found; exactly one is needed")]
    MultipleFaces { count: u32 },
    #[error("face is cut by the frame edge ({edges})")]
    PartialFace { edges: Edges },
    #[error("invalid configuration: {0}")]
    ConfigInvalid(String),
    #[error("capture timed out")]
    CaptureTimeout,
    #[error("liveness challenge '{challenge}' was not completed")]
    ChallengeFailed { challenge: String },
    #[error("passive liveness check failed")]
    SpoofSuspected,
    #[error("a different face appeared during the capture")]
    FaceChanged,
    #[error("capture cancelled")]
    Cancelled,
    #[error("capture has not completed")]
    CaptureIncomplete,
    #[error("the capture result was already taken or sealed")]
    CaptureConsumed,
    #[error("the frames do not look like a live camera ({reason})")]
    InjectionSuspected { reason: &'static str },
    #[error("the device environment is not trusted ({threats})")]
    EnvironmentBlocked { threats: String },
    #[error(transparent)]
    Seal(#[from] crate::seal::SealError),
    /// A bug, never the user's or the integrator's fault; `detail` names the place, not data.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::FrameSize(_) => ErrorCode::FrameSize,
            Error::FrameBuffer(_) => ErrorCode::FrameBuffer,
            Error::FrameFormat(_) => ErrorCode::FrameFormat,
            Error::ImageDecode(_) => ErrorCode::ImageDecode,
            Error::ManifestInvalid(_) => ErrorCode::ManifestInvalid,
            Error::ModelMissing { .. } => ErrorCode::ModelMissing,
            Error::ModelChecksum { .. } => ErrorCode::ModelChecksum,
            Error::ModelLoad { .. } => ErrorCode::ModelLoad,
            Error::Inference { .. } => ErrorCode::Inference,
            Error::NoFace => ErrorCode::NoFace,
            Error::MultipleFaces { .. } => ErrorCode::MultipleFaces,
            Error::PartialFace { .. } => ErrorCode::PartialFace,
            Error::ConfigInvalid(_) => ErrorCode::ConfigInvalid,
            Error::CaptureTimeout => ErrorCode::CaptureTimeout,
            Error::ChallengeFailed { .. } => ErrorCode::ChallengeFailed,
            Error::SpoofSuspected => ErrorCode::SpoofSuspected,
            Error::FaceChanged => ErrorCode::FaceChanged,
            Error::Cancelled => ErrorCode::Cancelled,
            Error::CaptureIncomplete => ErrorCode::CaptureIncomplete,
            Error::CaptureConsumed => ErrorCode::CaptureConsumed,
            Error::InjectionSuspected { .. } => ErrorCode::InjectionSuspected,
            Error::EnvironmentBlocked { .. } => ErrorCode::EnvironmentBlocked,
            Error::Seal(e) => e.code(),
            Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// docs/error-codes.md is the public contract: every code is documented with its number and name,
    /// and the docs list no code that does not exist. Renumbering or renaming fails here.
    #[test]
    fn every_code_is_documented_with_its_number_and_name() {
        let docs = include_str!("../../docs/error-codes.md");
        let mut documented = std::collections::BTreeMap::new();
        for line in docs.lines() {
            let cols: Vec<&str> = line.split('|').map(str::trim).collect();
            if cols.len() > 3
                && let Ok(n) = cols[1].parse::<u16>()
                && (1000..10000).contains(&n)
            {
                documented.insert(n, cols[2].to_string());
            }
        }
        for code in ErrorCode::ALL {
            assert_eq!(
                documented.remove(&code.as_u16()).as_deref(),
                Some(code.name()),
                "{code} must be in docs/error-codes.md with this number and name"
            );
        }
        assert!(
            documented.is_empty(),
            "documented but not in ErrorCode: {documented:?}"
        );
        let mut sorted = ErrorCode::ALL.to_vec();
        sorted.sort_by_key(|c| c.as_u16());
        sorted.dedup();
        assert_eq!(sorted.len(), ErrorCode::ALL.len(), "codes are unique");
    }
}
