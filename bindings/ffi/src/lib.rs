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
pub use session::{CaptureSession, SealedResult, check_server_key};
pub use signals::{BuildProperty, CallbackError, GuidanceListener, Location, PlatformSignals};
pub use types::{
    CameraFrame, CaptureOptions, EvidenceSummary, FaceBox, Guidance, RaspOverride, RaspPolicyChoice,
};

uniffi::setup_scaffolding!("smartid");

/// The models' large load-time blocks leave the process once freed on glibc (smartid-core's
/// `allocator`; elsewhere the system allocator as is). It serves this library's allocations only,
/// not the app's.
#[global_allocator]
static ALLOCATOR: smartid_core::allocator::ModelLoadAllocator =
    smartid_core::allocator::ModelLoadAllocator;

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use std::sync::Arc;

    use smartid_core::rasp::{self, Action, PlatformSignals as _, Threat};

    use super::*;
    use crate::signals::ForeignSignals;

    #[test]
    fn a_panic_becomes_an_internal_error_without_its_text() {
        let e = guard("test_call", || -> Result<(), SmartIdError> {
            panic!("secret detail")
        })
        .unwrap_err();
        assert_eq!(e.code(), 9001);
        assert!(matches!(e, SmartIdError::Internal { .. }));
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(e.to_string().contains("test_call"));
    }

    #[test]
    fn core_errors_keep_their_code_and_get_a_category() {
        use smartid_core::Error as E;
        type IsCategory = fn(&SmartIdError) -> bool;
        let cases: [(E, u32, IsCategory); 6] = [
            (E::FrameBuffer("x".into()), 1002, |e| {
                matches!(e, SmartIdError::Frame { .. })
            }),
            (
                E::ModelChecksum {
                    role: "mesh".into(),
                },
                2003,
                |e| matches!(e, SmartIdError::Model { .. }),
            ),
            (
                E::ChallengeFailed {
                    challenge: "blink".into(),
                },
                5002,
                |e| matches!(e, SmartIdError::Capture { .. }),
            ),
            (
                E::EnvironmentBlocked {
                    threats: "hooking".into(),
                },
                6001,
                |e| matches!(e, SmartIdError::Environment { .. }),
            ),
            (
                E::Seal(smartid_core::seal::SealError::InvalidPublicKey),
                7001,
                |e| matches!(e, SmartIdError::Config { .. }),
            ),
            (
                E::Seal(smartid_core::seal::SealError::EncryptionFailed),
                7006,
                |e| matches!(e, SmartIdError::Seal { .. }),
            ),
        ];
        for (core, code, category) in cases {
            let message = core.to_string();
            let e = SmartIdError::from(core);
            assert_eq!(e.code(), code);
            assert!(category(&e), "{e:?}");
            assert_eq!(e.to_string(), message, "the core's message, unchanged");
        }
    }

    #[test]
    fn options_map_to_the_core_config_and_policy() {
        let o = CaptureOptions {
            liveness: smartid_core::LivenessMode::Passive,
            challenge_count: 3,
            challenge_timeout_ms: 5_000,
            overall_timeout_ms: 30_000,
            fixed_challenges: None,
            rasp_policy: RaspPolicyChoice::ReportOnly,
            rasp_overrides: vec![RaspOverride {
                threat: Threat::Hooking,
                action: Action::Block,
            }],
            expected_signatures: vec!["ab".into()],
            capture_token: Some("SIDCT1:x".into()),
            evidence_frames: false,
            live_camera: true,
        };
        let c = o.capture_config();
        assert!(c.frame_clock_check, "a live camera's stamps are checked");
        assert_eq!(
            (
                c.challenge_count,
                c.challenge_timeout_ms,
                c.overall_timeout_ms
            ),
            (3, 5_000, 30_000)
        );
        assert_eq!(c.capture_token.as_deref(), Some("SIDCT1:x"));
        assert!(!c.evidence.enabled);
        let (policy, config) = o.rasp();
        assert_eq!(policy.action(Threat::Hooking), Action::Block);
        assert_eq!(
            policy.action(Threat::Debugger),
            Action::Report,
            "the rest is report-only"
        );
        assert_eq!(config.expected_signatures, vec!["ab".to_string()]);
    }

    /// An app whose every signal throws.
    struct Throwing;
    impl PlatformSignals for Throwing {
        fn build_properties(&self) -> Result<Vec<BuildProperty>, CallbackError> {
            Err(CallbackError::Failed {
                reason: "app bug".into(),
            })
        }
        fn instrumentation(&self) -> Result<Vec<String>, CallbackError> {
            Err(uniffi::UnexpectedUniFFICallbackError::new("RuntimeException").into())
        }
        fn location(&self) -> Result<Option<Location>, CallbackError> {
            Err(CallbackError::Failed {
                reason: "app bug".into(),
            })
        }
        fn vpn_active(&self) -> Result<Option<bool>, CallbackError> {
            Err(CallbackError::Failed {
                reason: "app bug".into(),
            })
        }
        fn proxy(&self) -> Result<Option<String>, CallbackError> {
            Err(CallbackError::Failed {
                reason: "app bug".into(),
            })
        }
        fn app_signature(&self) -> Result<Option<String>, CallbackError> {
            Err(CallbackError::Failed {
                reason: "app bug".into(),
            })
        }
        fn attestation_token(&self, _hash: Vec<u8>) -> Result<Option<String>, CallbackError> {
            Err(CallbackError::Failed {
                reason: "app bug".into(),
            })
        }
    }

    #[test]
    fn failing_app_signals_read_as_dont_know() {
        let s = ForeignSignals(Arc::new(Throwing));
        assert!(s.build_properties().is_empty() && s.instrumentation().is_empty());
        assert_eq!(
            (s.location(), s.vpn_active(), s.proxy()),
            (None, None, None)
        );
        assert_eq!(
            (s.app_signature(), s.attestation_token(&[0; 32])),
            (None, None)
        );
        // And the checks still run with them: a signature the app cannot give is a finding, not a crash.
        let config = rasp::RaspConfig {
            expected_signatures: vec!["ab".repeat(32)],
            ..Default::default()
        };
        let checks = rasp::EnvironmentChecks::new(Arc::new(s), rasp::RaspPolicy::mobile(), config);
        let report = checks.run();
        assert!(report.blocking.contains(&Threat::AppTampered), "{report:?}");
        assert_eq!(report.decision, rasp::Decision::Block);
    }
}
