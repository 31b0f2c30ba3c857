//! One capture: frames in, guidance out, and at the end the sealed template and payload.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use smartid_core::liveness::active::ChallengeKind;
use smartid_core::rasp::EnvironmentChecks;
use smartid_core::seal::PublicKey;
use smartid_core::{CaptureResult, Frame};

use crate::engine::Engine;
use crate::error::SmartIdError;
use crate::guard;
use crate::signals::{ForeignSignals, GuidanceListener, PlatformSignals};
use crate::types::{CameraFrame, CaptureOptions, EvidenceSummary, Guidance};

#[derive(uniffi::Object)]
pub struct CaptureSession {
    inner: Mutex<smartid_core::CaptureSession>,
    listener: Option<Arc<dyn GuidanceListener>>,
}

impl CaptureSession {
    /// A session that panicked mid-call (a bug) stays unusable rather than run on a broken state.
    fn lock(&self) -> Result<MutexGuard<'_, smartid_core::CaptureSession>, SmartIdError> {
        self.inner.lock().map_err(|_| {
            SmartIdError::internal("capture session (unusable after an earlier internal error)")
        })
    }

    /// The app's listener sees every guidance; its exceptions are logged and ignored.
    fn notify(&self, g: &Guidance) {
        if let Some(l) = &self.listener
            && let Err(e) = l.on_guidance(g.clone())
        {
            log::warn!(target: "smartid", "guidance listener failed: {e}");
        }
    }
}

#[uniffi::export]
impl CaptureSession {
    /// Starts a capture; runs the RASP checks at once (`Environment` 6001 when blocked).
    #[uniffi::constructor]
    pub fn new(
        engine: Arc<Engine>,
        options: CaptureOptions,
        signals: Arc<dyn PlatformSignals>,
        listener: Option<Arc<dyn GuidanceListener>>,
    ) -> Result<Arc<Self>, SmartIdError> {
        guard("CaptureSession.new", || {
            let (policy, rasp) = options.rasp();
            let checks = EnvironmentChecks::new(Arc::new(ForeignSignals(signals)), policy, rasp);
            let inner = smartid_core::CaptureSession::new(
                engine.0.clone(),
                options.capture_config(),
                Arc::new(checks),
            )?;
            log::info!(target: "smartid", "capture {} started", inner.session_id());
            Ok(Arc::new(Self {
                inner: Mutex::new(inner),
                listener,
            }))
        })
    }

    /// The challenges this capture will ask, in order.
    pub fn challenges(&self) -> Result<Vec<ChallengeKind>, SmartIdError> {
        guard("CaptureSession.challenges", || {
            Ok(self.lock()?.challenges().to_vec())
        })
    }

    pub fn session_id(&self) -> Result<String, SmartIdError> {
        guard("CaptureSession.session_id", || {
            Ok(self.lock()?.session_id().to_hex())
        })
    }

    /// Feeds one frame. A malformed frame is an error (1xxx) for that frame only; everything about
    /// the user is in the guidance.
    pub fn push_frame(&self, frame: CameraFrame) -> Result<Guidance, SmartIdError> {
        guard("CaptureSession.push_frame", || {
            let layout = frame.layout()?;
            let g: Guidance = self
                .lock()?
                .push_frame(&Frame::new(&frame.data, layout), frame.timestamp_ms)?
                .into();
            self.notify(&g);
            Ok(g)
        })
    }

    /// Stops the capture; `finish` then fails with `Cancelled` (5005).
    pub fn cancel(&self) -> Result<(), SmartIdError> {
        guard("CaptureSession.cancel", || {
            self.lock()?.cancel();
            Ok(())
        })
    }

    /// Once the guidance says `Done`: re-checks the environment and seals template and payload to
    /// the server's public key (`SIDPK1:…`), valid for `lifetime_secs`. Otherwise the failure.
    pub fn finish(
        &self,
        server_public_key: String,
        lifetime_secs: u64,
    ) -> Result<Arc<SealedResult>, SmartIdError> {
        guard("CaptureSession.finish", || {
            let key = PublicKey::parse(&server_public_key)?;
            let result = self.lock()?.finish()?;
            let sealed = result.seal(&key, unix_now(), lifetime_secs)?;
            log::info!(target: "smartid", "capture {} sealed for key {}", sealed.session_id, key.key_id());
            Ok(Arc::new(SealedResult {
                template: sealed.template,
                payload: sealed.payload,
                summary: summary(&result),
            }))
        })
    }
}

/// What the app forwards to its backend: the sealed template and payload (`Template`, `PayLoad`).
#[derive(uniffi::Object)]
pub struct SealedResult {
    template: String,
    payload: String,
    summary: EvidenceSummary,
}

#[uniffi::export]
impl SealedResult {
    pub fn template(&self) -> Result<String, SmartIdError> {
        guard("SealedResult.template", || Ok(self.template.clone()))
    }

    pub fn payload(&self) -> Result<String, SmartIdError> {
        guard("SealedResult.payload", || Ok(self.payload.clone()))
    }

    pub fn summary(&self) -> Result<EvidenceSummary, SmartIdError> {
        guard("SealedResult.summary", || Ok(self.summary.clone()))
    }
}

fn summary(r: &CaptureResult) -> EvidenceSummary {
    EvidenceSummary {
        session_id: r.session_id.to_hex(),
        liveness: r.evidence.mode,
        test_mode: r.evidence.test_mode,
        challenges_passed: r.evidence.challenges.iter().map(|c| c.kind).collect(),
        frames: r.evidence.frames,
        duration_ms: r.evidence.duration_ms,
        template_model: r.template.model_id().into(),
        environment_findings: r.environment.findings.len().try_into().unwrap_or(u32::MAX),
        environment_checks: r.environment.runs.len().try_into().unwrap_or(u32::MAX),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
