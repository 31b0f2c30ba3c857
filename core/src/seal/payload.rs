//! The metadata payload: typed JSON describing how, when and on what the template was captured.
//!
//! Every field is a claim of the device (docs/payload-format.md says which ones a server can verify).
//! Typed on both sides: a payload whose `liveness`, `quality` or `environment` does not have the
//! documented shape does not open (`OpenError::PayloadFormat`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::evidence::{EvidenceFrame, MAX_EVIDENCE_FRAMES};
use crate::liveness::LivenessEvidence;
use crate::rasp::EnvironmentReport;
use crate::vision::Quality;

/// Payload schema version; `open_capture` rejects any other. Version 3: the capture token's nonce and
/// the evidence frames; the attestation is bound to the capture (docs/payload-format.md).
pub const PAYLOAD_VERSION: u32 = 3;

/// A 16-byte random identifier written as 32 lowercase hex digits in JSON (one capture, one spelling:
/// the sealed headers carry the bytes).
macro_rules! hex16_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 16]);

        impl $name {
            /// A fresh id from a cryptographic RNG.
            pub fn random(rng: &mut impl rand::CryptoRng) -> Self {
                let mut id = [0u8; 16];
                rng.fill_bytes(&mut id);
                Self(id)
            }

            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }

            /// Parses 32 hex digits (either case).
            pub fn parse_hex(text: &str) -> Option<Self> {
                let bytes = hex::decode(text).ok()?;
                Some(Self(bytes.try_into().ok()?))
            }

            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                if text.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(serde::de::Error::custom("id must be lowercase hex"));
                }
                Self::parse_hex(&text)
                    .ok_or_else(|| serde::de::Error::custom("id must be 32 hex digits"))
            }
        }
    };
}

hex16_id!(
    /// A capture's identity: 16 random bytes from the device's CSPRNG.
    SessionId
);

hex16_id!(
    /// The nonce of the server-issued capture token a capture was made with
    /// ([`crate::seal::token::CaptureToken`]).
    CaptureNonce
);

/// Identifies a model that took part, so a server can refuse templates from models it does not accept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRef {
    pub role: String,
    pub id: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    /// Schema version ([`PAYLOAD_VERSION`]).
    pub v: u32,
    pub sdk_version: String,
    /// `android`, `ios`, `linux`, `macos`, … (from the build target).
    pub platform: String,
    /// Equals the session id in both sealed headers.
    pub session_id: SessionId,
    /// Unix seconds.
    pub issued_at: u64,
    pub expires_at: u64,
    /// Model id of the embedding inside the template.
    pub template_model: String,
    pub models: Vec<ModelRef>,
    /// Liveness evidence (mode, challenges, scores).
    pub liveness: LivenessEvidence,
    /// Quality of the frame the template came from.
    pub quality: Quality,
    /// RASP environment report, with every run of the checks during the capture.
    pub environment: EnvironmentReport,
    /// True when the capture was replayed with fixed challenges (desktop harness): servers should refuse
    /// it in production.
    pub test_mode: bool,
    /// The nonce of the server-issued capture token, when the capture was made with one; equals the
    /// nonce in both sealed headers.
    pub capture_token: Option<CaptureNonce>,
    /// Frames the server can re-check (the template frame, and neutral / action / return frames of each
    /// challenge), JPEG; empty when the app turned them off.
    pub evidence: Vec<EvidenceFrame>,
}

#[cfg(feature = "test-support")]
impl Payload {
    /// A payload shaped like a real capture with the default (clean) model set: one blink, no
    /// anti-spoof model, a clean environment. Tests, test vectors and fuzzing only (feature
    /// `test-support`).
    pub fn example(session_id: SessionId, issued_at: u64, template_model: &str) -> Self {
        use crate::liveness::active::{ChallengeEvidence, ChallengeKind};
        use crate::liveness::{IdentityEvidence, LivenessMode, PassiveOutcome};
        use crate::matching::Metric;
        use crate::rasp::{CheckPhase, CheckRun, Decision, Platform};
        use crate::vision::HeadPose;
        Payload {
            v: PAYLOAD_VERSION,
            sdk_version: "0.1.0".into(),
            platform: "linux".into(),
            session_id,
            issued_at,
            expires_at: issued_at + 600,
            template_model: template_model.into(),
            models: vec![ModelRef {
                role: "embedder".into(),
                id: template_model.into(),
                sha256: "aeae14b9111f7ccfb687b28821cd3d64d8bdd7e9a36599588a48d7d79755301b".into(),
            }],
            liveness: LivenessEvidence {
                mode: LivenessMode::Active,
                test_mode: false,
                challenges_asked: vec![ChallengeKind::Blink],
                challenges: vec![ChallengeEvidence {
                    kind: ChallengeKind::Blink,
                    started_ms: 100,
                    action_frame: 42,
                    passed_frame: 43,
                    passed_ms: 1434,
                    peak: 33.0,
                }],
                passive: PassiveOutcome::NoModel,
                identity: IdentityEvidence {
                    metric: Metric::Euclidean,
                    threshold: 0.6,
                    worst: Some(0.31),
                    checks: 4,
                },
                frames: 60,
                detector_runs: 12,
                duration_ms: 2000,
            },
            quality: Quality {
                face_size: 0.4,
                centre_offset: 0.05,
                brightness: 120.0,
                sharpness: 120.0,
                pose: HeadPose::default(),
                eyes_open: true,
            },
            environment: EnvironmentReport {
                platform: Platform::Linux,
                decision: Decision::Allow,
                blocking: vec![],
                findings: vec![],
                skipped: vec![],
                attestation: None,
                runs: vec![CheckRun {
                    phase: CheckPhase::Start,
                    at_ms: 0,
                    decision: Decision::Allow,
                    findings: 0,
                }],
                policy: Some(crate::rasp::RaspPolicy::mobile()),
            },
            test_mode: false,
            capture_token: None,
            evidence: vec![],
        }
    }
}

/// Platforms a payload may name.
const PLATFORMS: [&str; 5] = ["android", "ios", "linux", "macos", "windows"];
/// Model roles a payload may name (the manifest's roles).
const MODEL_ROLES: [&str; 5] = ["detector", "mesh", "eyes", "antispoof", "embedder"];
/// Bound on an attestation token's text (Play Integrity tokens are ~1–2 KB, App Attest objects ~6 KB
/// as base64).
pub const MAX_ATTESTATION_TEXT: usize = 16 * 1024;

fn short_text(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.chars().all(|c| !c.is_control())
}

fn unit(x: f32) -> bool {
    (0.0..=1.0).contains(&x)
}

impl Payload {
    /// Checks what serde's types cannot: known platform and model roles, bounded texts and lists,
    /// finite values in their ranges, and a liveness record consistent with itself (what ran, what
    /// was asked, what passed, in order, on the session's clock). `open_capture` refuses a payload
    /// that fails (`PayloadFormat`, 412); the reason is for logs and tests.
    pub fn validate(&self) -> Result<(), &'static str> {
        if !short_text(&self.sdk_version, 32) {
            return Err("sdk_version");
        }
        if !PLATFORMS.contains(&self.platform.as_str()) {
            return Err("platform");
        }
        if !short_text(&self.template_model, 255) {
            return Err("template_model");
        }
        if self.models.is_empty() || self.models.len() > MODEL_ROLES.len() {
            return Err("models");
        }
        for (i, m) in self.models.iter().enumerate() {
            let sha_ok = m.sha256.len() == 64
                && m.sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !MODEL_ROLES.contains(&m.role.as_str())
                || !short_text(&m.id, 255)
                || !sha_ok
                || self.models[..i].iter().any(|o| o.role == m.role)
            {
                return Err("models");
            }
        }
        if !self
            .models
            .iter()
            .any(|m| m.role == "embedder" && m.id == self.template_model)
        {
            return Err("models");
        }
        self.validate_liveness()?;
        let q = &self.quality;
        let pose = [q.pose.yaw, q.pose.pitch, q.pose.roll];
        let quality_ok = (0.0..=4.0).contains(&q.face_size)
            && (0.0..=4.0).contains(&q.centre_offset)
            && (0.0..=255.0).contains(&q.brightness)
            && q.sharpness >= 0.0
            && q.sharpness.is_finite()
            && pose.iter().all(|a| (-180.0..=180.0).contains(a));
        if !quality_ok {
            return Err("quality");
        }
        let env = &self.environment;
        if env
            .attestation
            .as_ref()
            .is_some_and(|a| a.len() > MAX_ATTESTATION_TEXT)
            || env.findings.len() > 256
            || env.runs.len() > 4096
            || env
                .findings
                .iter()
                .any(|f| f.check.len() > 256 || f.evidence.len() > 1024)
            || env.skipped.len() > crate::rasp::MAX_SKIPPED
            || env
                .skipped
                .iter()
                .any(|s| s.check.len() > 256 || s.reason.len() > 256)
        {
            return Err("environment");
        }
        if self.evidence.len() > MAX_EVIDENCE_FRAMES {
            return Err("evidence");
        }
        let passed = self.liveness.challenges.len();
        for f in &self.evidence {
            f.check(passed)?;
        }
        Ok(())
    }

    fn validate_liveness(&self) -> Result<(), &'static str> {
        use crate::liveness::PassiveOutcome;
        let l = &self.liveness;
        if l.test_mode != self.test_mode {
            return Err("liveness.test_mode");
        }
        if l.challenges_asked.len() > super::token::MAX_TOKEN_CHALLENGES
            || l.challenges.len() != l.challenges_asked.len()
            || l.mode.active() == l.challenges_asked.is_empty()
        {
            return Err("liveness.challenges");
        }
        // Times are on the camera's clock (any origin): only their order is checked.
        let (mut last_frame, mut last_ms) = (0, 0);
        for (c, asked) in l.challenges.iter().zip(&l.challenges_asked) {
            if c.kind != *asked
                || c.action_frame > c.passed_frame
                || c.passed_frame >= l.frames
                || c.action_frame < last_frame
                || c.started_ms > c.passed_ms
                || c.started_ms < last_ms
                || !c.peak.is_finite()
            {
                return Err("liveness.challenges");
            }
            (last_frame, last_ms) = (c.passed_frame, c.passed_ms);
        }
        let passive_ok = match (&l.passive, l.mode.passive()) {
            (PassiveOutcome::Measured(p), true) => {
                p.samples > 0 && unit(p.mean) && unit(p.min) && unit(p.threshold) && p.min <= p.mean
            }
            (PassiveOutcome::Measured(_), false) | (_, true) => false,
            _ => true,
        };
        if !passive_ok {
            return Err("liveness.passive");
        }
        let id = &l.identity;
        if !(id.threshold.is_finite() && id.threshold >= 0.0)
            || id.worst.is_some_and(|w| !w.is_finite())
            || (id.worst.is_some() != (id.checks > 0))
        {
            return Err("liveness.identity");
        }
        if l.detector_runs > l.frames {
            return Err("liveness.frames");
        }
        Ok(())
    }
}

/// The platform this build runs on, for [`Payload::platform`].
pub fn current_platform() -> &'static str {
    std::env::consts::OS
}
