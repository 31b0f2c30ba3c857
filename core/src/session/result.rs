//! A successful capture, and what leaves the SDK: the payload and the sealed pair.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::liveness::LivenessEvidence;
use crate::rasp::{CheckPhase, CheckRun, EnvironmentChecks, EnvironmentReport};
use crate::seal::payload::{PAYLOAD_VERSION, current_platform};
use crate::seal::{
    CaptureNonce, EvidenceFrame, ModelRef, Payload, PublicKey, SealedCapture, SessionId, Template,
};
use crate::vision::Quality;

use super::environment::blocked;

/// A successful capture. The template is plaintext here; seal it before it leaves the SDK. Read-only:
/// what the session measured goes into the payload as it was measured.
#[derive(Debug, Clone)]
pub struct CaptureResult {
    pub(super) session_id: SessionId,
    pub(super) template: Template,
    pub(super) evidence: LivenessEvidence,
    pub(super) quality: Quality,
    pub(super) template_frame: u64,
    pub(super) environment: EnvironmentReport,
    pub(super) models: Vec<ModelRef>,
    /// The session's checks, run once more before sealing.
    pub(super) checks: Arc<EnvironmentChecks>,
    pub(super) capture_token: Option<CaptureNonce>,
    pub(super) evidence_frames: Vec<EvidenceFrame>,
}

impl CaptureResult {
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    pub fn template(&self) -> &Template {
        &self.template
    }

    pub fn evidence(&self) -> &LivenessEvidence {
        &self.evidence
    }

    /// Quality of the frame the template came from.
    pub fn quality(&self) -> &Quality {
        &self.quality
    }

    pub fn template_frame(&self) -> u64 {
        self.template_frame
    }

    /// Every RASP run of the capture, merged (and, once sealed, the pre-seal run).
    pub fn environment(&self) -> &EnvironmentReport {
        &self.environment
    }

    /// The frames sealed for the server to re-check (template frame first).
    pub fn evidence_frames(&self) -> &[EvidenceFrame] {
        &self.evidence_frames
    }

    /// The nonce of the capture token the capture was made with.
    pub fn capture_token(&self) -> Option<CaptureNonce> {
        self.capture_token
    }

    /// The models that took part (role, id, sha256).
    pub fn models(&self) -> &[ModelRef] {
        &self.models
    }

    /// The metadata payload with a given environment report, valid from `issued_at` (unix seconds)
    /// for `lifetime_secs`.
    fn payload_with(
        &self,
        environment: EnvironmentReport,
        issued_at: u64,
        lifetime_secs: u64,
    ) -> Payload {
        Payload {
            v: PAYLOAD_VERSION,
            sdk_version: crate::SDK_VERSION.into(),
            platform: current_platform().into(),
            session_id: self.session_id,
            issued_at,
            expires_at: issued_at.saturating_add(lifetime_secs),
            template_model: self.template.model_id().into(),
            models: self.models.clone(),
            liveness: self.evidence.clone(),
            quality: self.quality,
            environment,
            test_mode: self.evidence.test_mode,
            capture_token: self.capture_token,
            evidence: self.evidence_frames.clone(),
        }
    }

    /// The payload as it would be sealed now, without the pre-seal check (harness, debugging).
    pub fn payload(&self, issued_at: u64, lifetime_secs: u64) -> Payload {
        self.payload_with(self.environment.clone(), issued_at, lifetime_secs)
    }

    /// Runs the RASP checks once more, then seals template and payload for the bank's server (see
    /// `seal`), asking the platform for an attestation bound to this capture between the two. A threat
    /// that appeared since the capture fails with `EnvironmentBlocked` (6001). The result's
    /// `environment` then includes that run.
    pub fn seal(
        &mut self,
        server_key: &PublicKey,
        issued_at: u64,
        lifetime_secs: u64,
    ) -> Result<SealedCapture> {
        let mut environment = self.environment.clone();
        let now = self.checks.run();
        let run = CheckRun {
            phase: CheckPhase::Seal,
            at_ms: self.evidence.duration_ms,
            decision: now.decision,
            findings: now.findings.len().try_into().unwrap_or(u32::MAX),
        };
        environment.merge(now, run);
        self.environment = environment.clone();
        blocked(&environment)?;
        let payload = self.payload_with(environment, issued_at, lifetime_secs);
        let checks = self.checks.clone();
        crate::seal::seal_capture_attested(server_key, &self.template, &payload, &mut |hash| {
            checks.attest(hash)
        })
        .map_err(Error::from)
    }
}
