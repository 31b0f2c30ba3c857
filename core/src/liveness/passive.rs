//! Passive liveness: the anti-spoof model's live probability on sampled frames, aggregated into a
//! decision.

use serde::{Deserialize, Serialize};

/// Aggregate of the sampled anti-spoof scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassiveEvidence {
    pub samples: u32,
    pub mean: f32,
    pub min: f32,
    pub threshold: f32,
    pub live: bool,
}

/// Collects scores; the decision is on the mean, and any single sample far below the threshold (a
/// flash of the screen edge, a print's border) also fails it.
#[derive(Debug, Clone, Default)]
pub struct PassiveLiveness {
    scores: Vec<f32>,
}

impl PassiveLiveness {
    pub fn add(&mut self, live_probability: f32) {
        if live_probability.is_finite() {
            self.scores.push(live_probability.clamp(0.0, 1.0));
        }
    }

    pub fn samples(&self) -> u32 {
        self.scores.len().try_into().unwrap_or(u32::MAX)
    }

    /// `None` until there is at least one sample.
    pub fn evidence(&self, threshold: f32) -> Option<PassiveEvidence> {
        if self.scores.is_empty() {
            return None;
        }
        let mean = self.scores.iter().sum::<f32>() / self.scores.len() as f32;
        let min = self.scores.iter().copied().fold(f32::MAX, f32::min);
        Some(PassiveEvidence {
            samples: self.samples(),
            mean,
            min,
            threshold,
            live: mean >= threshold && min >= threshold / 2.0,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decision_on_mean_and_outliers() {
        let mut p = PassiveLiveness::default();
        assert!(p.evidence(0.5).is_none());
        [0.9, 0.95, 0.99].iter().for_each(|s| p.add(*s));
        assert!(p.evidence(0.5).unwrap().live);
        p.add(0.1);
        let e = p.evidence(0.5).unwrap();
        assert!(
            e.mean > 0.5 && !e.live,
            "one sample far below the threshold fails it"
        );
        let mut spoof = PassiveLiveness::default();
        [0.2, 0.3, 0.4].iter().for_each(|s| spoof.add(*s));
        assert!(!spoof.evidence(0.5).unwrap().live);
        spoof.add(f32::NAN);
        assert_eq!(spoof.samples(), 3);
    }
}
