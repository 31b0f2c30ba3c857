//! Liveness: active (random challenges answered by real movement) and passive (anti-spoof model).

pub mod active;
pub mod eyes;
pub mod parallax;
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
    /// What actually ran: `both` asked of a model set without an anti-spoof model runs as `active`
    /// (and `passive` says `no_model`).
    pub mode: LivenessMode,
    /// True when the challenges were fixed for a replay (desktop harness): not a live capture.
    pub test_mode: bool,
    pub challenges_asked: Vec<active::ChallengeKind>,
    pub challenges: Vec<active::ChallengeEvidence>,
    pub passive: PassiveOutcome,
    /// Was it the same person throughout (positioning face against later checks)?
    pub identity: IdentityEvidence,
    pub frames: u64,
    pub detector_runs: u64,
    pub duration_ms: u64,
}

/// Passive liveness, including why there is none: a payload never leaves a server guessing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PassiveOutcome {
    /// The capture was configured for active liveness only.
    NotRequested,
    /// Passive liveness was asked for, but the model set has no anti-spoof model: liveness rests on the
    /// challenges alone.
    NoModel,
    /// The anti-spoof model's scores.
    Measured(passive::PassiveEvidence),
}

impl PassiveOutcome {
    pub fn measured(&self) -> Option<&passive::PassiveEvidence> {
        match self {
            PassiveOutcome::Measured(e) => Some(e),
            _ => None,
        }
    }
}

/// The identity checks of a capture, in the embedder's own metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityEvidence {
    pub metric: crate::matching::Metric,
    pub threshold: f32,
    /// The check furthest from a match (lowest cosine or largest distance); `None` without checks.
    pub worst: Option<f32>,
    pub checks: u32,
}
