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
