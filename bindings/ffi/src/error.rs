//! The one public error: a category (for Kotlin `when` / Swift `switch`), the stable numeric code
//! (docs/error-codes.md) and a message an app may show or log. Messages never carry biometric or
//! personal data; crypto failures say only that they failed.

use smartid_core::{Error, ErrorCode};

/// Every failure the SDK reports. `code` is the stable number; `detail` the message.
/// (Not `message`: that field name clashes with Kotlin's `Throwable.message`.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum SmartIdError {
    /// 1xxx: a camera frame is malformed.
    #[error("{detail}")]
    Frame { code: u32, detail: String },
    /// 2xxx: models missing, corrupt or failing.
    #[error("{detail}")]
    Model { code: u32, detail: String },
    /// 4xxx: the configuration or server key given to the SDK is invalid.
    #[error("{detail}")]
    Config { code: u32, detail: String },
    /// 3xxx, 5xxx: the capture itself failed (timeout, challenge, spoof, face changed, cancelled).
    #[error("{detail}")]
    Capture { code: u32, detail: String },
    /// 6xxx: the device environment is not trusted.
    #[error("{detail}")]
    Environment { code: u32, detail: String },
    /// 7xxx: sealing failed.
    #[error("{detail}")]
    Seal { code: u32, detail: String },
    /// 9xxx: a bug; the SDK stays usable.
    #[error("{detail}")]
    Internal { code: u32, detail: String },
}

impl SmartIdError {
    pub fn code(&self) -> u32 {
        match self {
            Self::Frame { code, .. }
            | Self::Model { code, .. }
            | Self::Config { code, .. }
            | Self::Capture { code, .. }
            | Self::Environment { code, .. }
            | Self::Seal { code, .. }
            | Self::Internal { code, .. } => *code,
        }
    }

    pub(crate) fn internal(what: &str) -> Self {
        Self::Internal {
            code: ErrorCode::Internal.as_u16().into(),
            detail: format!("internal error in {what}"),
        }
    }
}

impl From<Error> for SmartIdError {
    fn from(e: Error) -> Self {
        let code = e.code().as_u16();
        let (code, detail) = (u32::from(code), e.to_string());
        match code {
            1000..=1999 => Self::Frame { code, detail },
            2000..=2999 => Self::Model { code, detail },
            4000..=4999 => Self::Config { code, detail },
            6000..=6999 => Self::Environment { code, detail },
            7000..=7999 if code == u32::from(ErrorCode::InvalidPublicKey.as_u16()) => {
                Self::Config { code, detail }
            }
            7000..=7999 => Self::Seal { code, detail },
            9000..=9999 => Self::Internal { code, detail },
            _ => Self::Capture { code, detail },
        }
    }
}

impl From<smartid_core::seal::SealError> for SmartIdError {
    fn from(e: smartid_core::seal::SealError) -> Self {
        Error::from(e).into()
    }
}
