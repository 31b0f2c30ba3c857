//! The metadata payload: typed JSON describing how, when and on what the template was captured.
//!
//! Every field is a claim of the device (docs/payload-format.md says which ones a server can verify).
//! Typed on both sides: a payload whose `liveness`, `quality` or `environment` does not have the
//! documented shape does not open (`OpenError::PayloadFormat`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::liveness::LivenessEvidence;
use crate::rasp::EnvironmentReport;
use crate::vision::Quality;

/// Payload schema version; `open_capture` rejects any other. Version 2: `liveness.passive` says why
/// there is no passive score, `liveness.identity` carries the embedder's metric.
pub const PAYLOAD_VERSION: u32 = 2;

/// A capture's identity: 16 random bytes from the device's CSPRNG, lowercase hex in text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId([u8; 16]);

impl SessionId {
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

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.to_hex())
    }
}

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        // Lowercase only: one capture, one spelling (the header carries the bytes).
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(serde::de::Error::custom("session id must be lowercase hex"));
        }
        Self::parse_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("session id must be 32 hex digits"))
    }
}

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
        }
    }
}

/// The platform this build runs on, for [`Payload::platform`].
pub fn current_platform() -> &'static str {
    std::env::consts::OS
}
