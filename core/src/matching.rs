//! How two face embeddings are compared. Each embedder has its own metric and threshold (the manifest
//! says which); a score only means something for two vectors of the same model, so comparing across
//! models is an error, never a number.

use serde::{Deserialize, Serialize};

/// The comparison an embedder was trained for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Cosine similarity of L2-normalised vectors; higher is more alike, a match is `score ≥ threshold`.
    Cosine,
    /// Euclidean distance of the raw vectors (dlib); lower is more alike, a match is `score ≤ threshold`.
    Euclidean,
}

impl Metric {
    /// The score of two vectors of equal length (the callers check model and length).
    pub fn score(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::Cosine => {
                let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
                let nb = b.iter().map(|y| y * y).sum::<f32>().sqrt();
                if na > 0.0 && nb > 0.0 {
                    dot / (na * nb)
                } else {
                    0.0
                }
            }
            Metric::Euclidean => a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f32>()
                .sqrt(),
        }
    }

    /// Same person at this threshold?
    pub fn is_match(self, score: f32, threshold: f32) -> bool {
        match self {
            Metric::Cosine => score >= threshold,
            Metric::Euclidean => score <= threshold,
        }
    }

    /// The worse of two scores (the one further from a match): a session keeps the worst identity check.
    pub fn worse(self, a: f32, b: f32) -> f32 {
        match self {
            Metric::Cosine => a.min(b),
            Metric::Euclidean => a.max(b),
        }
    }

    /// Whether vectors are L2-normalised before they are stored and compared.
    pub fn normalises(self) -> bool {
        self == Metric::Cosine
    }

    /// The byte stored in a template (format v2).
    pub fn code(self) -> u8 {
        match self {
            Metric::Cosine => 1,
            Metric::Euclidean => 2,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Metric::Cosine),
            2 => Some(Metric::Euclidean),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::Euclidean => "euclidean",
        }
    }
}

/// The outcome of one comparison, with what it was measured against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub metric: Metric,
    pub score: f32,
    pub threshold: f32,
    pub same_person: bool,
}

impl Comparison {
    pub fn new(metric: Metric, score: f32, threshold: f32) -> Self {
        Self {
            metric,
            score,
            threshold,
            same_person: metric.is_match(score, threshold),
        }
    }

    /// How far the score is on the right side of the threshold (negative: the wrong side).
    pub fn margin(&self) -> f32 {
        match self.metric {
            Metric::Cosine => self.score - self.threshold,
            Metric::Euclidean => self.threshold - self.score,
        }
    }
}

/// Two templates that cannot be compared: a score between them would mean nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    #[error("templates come from different models")]
    DifferentModels,
    #[error("templates have different dimensions")]
    DifferentDimensions,
    #[error("templates use different metrics")]
    DifferentMetrics,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_metric_orders_scores_its_own_way() {
        let a = [1.0, 0.0];
        let b = [0.8, 0.6];
        let c = [-1.0, 0.0];
        assert!((Metric::Cosine.score(&a, &b) - 0.8).abs() < 1e-6);
        assert!(Metric::Cosine.score(&a, &b) > Metric::Cosine.score(&a, &c));
        assert!(Metric::Euclidean.score(&a, &b) < Metric::Euclidean.score(&a, &c));
        assert!(Metric::Cosine.is_match(0.5, 0.4) && !Metric::Cosine.is_match(0.3, 0.4));
        assert!(Metric::Euclidean.is_match(0.5, 0.6) && !Metric::Euclidean.is_match(0.7, 0.6));
        assert_eq!(Metric::Cosine.worse(0.5, 0.7), 0.5);
        assert_eq!(Metric::Euclidean.worse(0.5, 0.7), 0.7);
        assert!(Comparison::new(Metric::Euclidean, 0.7, 0.6).margin() < 0.0);
        for m in [Metric::Cosine, Metric::Euclidean] {
            assert_eq!(Metric::from_code(m.code()), Some(m));
        }
        assert_eq!(Metric::from_code(0), None);
    }
}
