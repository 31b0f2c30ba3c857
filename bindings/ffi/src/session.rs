//! One capture: frames in, guidance out, and at the end the sealed template and payload.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use smartid_core::liveness::active::ChallengeKind;
use smartid_core::rasp::EnvironmentChecks;
use smartid_core::seal::PublicKey;
use smartid_core::{CaptureResult, Frame, Step};
use zeroize::Zeroize;

use crate::engine::Engine;
use crate::error::SmartIdError;
use crate::guard;
use crate::signals::{ForeignSignals, GuidanceListener, PlatformSignals};
use crate::types::{CameraFrame, CaptureOptions, EvidenceSummary, Guidance};

#[derive(uniffi::Object)]
pub struct CaptureSession {
    inner: Mutex<smartid_core::CaptureSession>,
    listener: Option<Arc<dyn GuidanceListener>>,
    /// Set by `cancel` without the lock (a frame may be in the models, or asking the app's signals):
    /// applied at the next call.
    cancelled: AtomicBool,
    /// For the log: the step of the last frame.
    last_step: Mutex<Option<Step>>,
}

impl CaptureSession {
    /// A session that panicked mid-call (a bug) stays unusable rather than run on a broken state. A
    /// pending cancel is applied first.
    fn lock(&self) -> Result<MutexGuard<'_, smartid_core::CaptureSession>, SmartIdError> {
        let mut s = self.inner.lock().map_err(|_| {
            SmartIdError::internal("capture session (unusable after an earlier internal error)")
        })?;
        if self.cancelled.load(Ordering::SeqCst) {
            s.cancel();
        }
        Ok(s)
    }

    /// The app's listener sees every guidance; its exceptions are ignored (logged without their text,
    /// which is the app's).
    fn notify(&self, g: &Guidance) {
        if let Some(l) = &self.listener
            && l.on_guidance(g.clone()).is_err()
        {
            log::warn!(target: "smartid", "guidance listener threw; ignored");
        }
    }

    /// Logs step changes and the failure code: what an integrator debugging a flow needs, no data.
    /// Formats nothing unless the step changed (this runs on every frame).
    fn log_step(&self, session: smartid_core::SessionId, g: &Guidance) {
        let Ok(mut last) = self.last_step.lock() else {
            return;
        };
        if *last != Some(g.step) {
            match g.error_code {
                Some(code) => {
                    log::info!(target: "smartid", "capture {session} failed: code {code}")
                }
                None => log::debug!(target: "smartid", "capture {session}: step {:?}", g.step),
            }
            *last = Some(g.step);
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
                cancelled: AtomicBool::new(false),
                last_step: Mutex::new(None),
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
    /// the user is in the guidance. The frame's bytes (a picture of a face) are zeroized afterwards.
    pub fn push_frame(&self, mut frame: CameraFrame) -> Result<Guidance, SmartIdError> {
        guard("CaptureSession.push_frame", || {
            let result = frame.layout().and_then(|layout| {
                let mut session = self.lock()?;
                let g: Guidance = session
                    .push_frame(&Frame::new(&frame.data, layout), frame.timestamp_ms)?
                    .into();
                self.log_step(session.session_id(), &g);
                Ok(g)
            });
            frame.data.zeroize();
            let g = result?;
            self.notify(&g);
            Ok(g)
        })
    }

    /// Stops the capture; `finish` then fails with `Cancelled` (5005) unless it had already ended.
    /// Never waits for a frame in progress: safe from the UI thread.
    pub fn cancel(&self) -> Result<(), SmartIdError> {
        guard("CaptureSession.cancel", || {
            self.cancelled.store(true, Ordering::SeqCst);
            // Applied now if no frame holds the session, else at the next call.
            if let Ok(mut s) = self.inner.try_lock() {
                s.cancel();
            }
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
            check_lifetime(lifetime_secs)?;
            let mut result = self.lock()?.finish()?;
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
        session_id: r.session_id().to_hex(),
        liveness: r.evidence().mode,
        test_mode: r.evidence().test_mode,
        challenges_passed: r.evidence().challenges.iter().map(|c| c.kind).collect(),
        frames: r.evidence().frames,
        duration_ms: r.evidence().duration_ms,
        template_model: r.template().model_id().into(),
        environment_findings: r
            .environment()
            .findings
            .len()
            .try_into()
            .unwrap_or(u32::MAX),
        environment_checks: r.environment().runs.len().try_into().unwrap_or(u32::MAX),
    }
}

/// The longest validity an SDK seals for (servers accept at most an hour by default).
const MAX_LIFETIME_SECS: u64 = 24 * 3600;

fn check_lifetime(lifetime_secs: u64) -> Result<(), SmartIdError> {
    if (1..=MAX_LIFETIME_SECS).contains(&lifetime_secs) {
        Ok(())
    } else {
        Err(smartid_core::Error::ConfigInvalid(format!(
            "lifetime must be 1 to {MAX_LIFETIME_SECS} seconds"
        ))
        .into())
    }
}

/// Checks a server public key text (`SIDPK1:<key id>:…`) and returns its key id: apps check their
/// configuration before the user starts a capture rather than after it.
#[uniffi::export]
pub fn check_server_key(text: String) -> Result<String, SmartIdError> {
    guard("check_server_key", || {
        Ok(PublicKey::parse(&text)?.key_id().to_string())
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
