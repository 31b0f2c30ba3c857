//! Liveness: active (random challenges answered by real movement) and passive (anti-spoof model).

pub mod active;
pub mod passive;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LivenessMode {
    /// Random challenges only.
    Active,
    /// Anti-spoof model only.
    Passive,
    /// Both must pass (default: a bank wants both).
    #[default]
    Both,
}

impl LivenessMode {
    pub fn active(self) -> bool {
        matches!(self, Self::Active | Self::Both)
    }
    pub fn passive(self) -> bool {
        matches!(self, Self::Passive | Self::Both)
    }
}

/// How a capture proved liveness; goes sealed into the payload, so its shape is part of the payload
/// format (docs/payload-format.md). Every field is the device's claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LivenessEvidence {
    pub mode: LivenessMode,
    /// True when the challenges were fixed for a replay (desktop harness): not a live capture.
    pub test_mode: bool,
    pub challenges_asked: Vec<active::ChallengeKind>,
    pub challenges: Vec<active::ChallengeEvidence>,
    pub passive: Option<passive::PassiveEvidence>,
    /// Lowest similarity between the positioning face and any later check.
    pub identity_min_similarity: f32,
    pub identity_checks: u32,
    pub frames: u64,
    pub detector_runs: u64,
    pub duration_ms: u64,
}
