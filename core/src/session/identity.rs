//! Is it still the person seen at positioning? An embedding of the positioning face is the reference;
//! later faces are compared with it on re-acquisition, on a schedule, and at the template frame.

use crate::liveness::IdentityEvidence;
use crate::matching::Metric;
use crate::vision::Embedding;

/// The wider tolerance of a turned face, as a multiple of the match threshold's distance.
const TURNED_FACTOR: f32 = 1.2;

pub(super) struct Identity {
    reference: Option<Embedding>,
    metric: Metric,
    threshold: f32,
    worst: Option<f32>,
    checks: u32,
}

impl Identity {
    pub(super) fn new(metric: Metric, threshold: f32) -> Self {
        Self {
            reference: None,
            metric,
            threshold,
            worst: None,
            checks: 0,
        }
    }

    pub(super) fn set_reference(&mut self, reference: Embedding) {
        self.reference = Some(reference);
    }

    pub(super) fn evidence(&self) -> IdentityEvidence {
        IdentityEvidence {
            metric: self.metric,
            threshold: self.threshold,
            worst: self.worst,
            checks: self.checks,
        }
    }

    /// Compares an embedding with the reference (true when there is none yet). A `turned` face is
    /// judged within a wider tolerance (1.2× the threshold's distance), as the server's
    /// re-verification does: a turned head embeds further from a frontal one.
    pub(super) fn compare(&mut self, emb: &Embedding, turned: bool) -> bool {
        self.compare_within(emb, turned)
    }

    fn compare_within(&mut self, emb: &Embedding, turned: bool) -> bool {
        let Some(reference) = &self.reference else {
            return true;
        };
        // Embeddings of one engine always compare; a mismatch would be a bug, and fails closed.
        let Some(score) = reference.score(emb) else {
            return false;
        };
        self.checks += 1;
        self.worst = Some(match self.worst {
            Some(w) => self.metric.worse(w, score),
            None => score,
        });
        let threshold = match (turned, self.metric) {
            (false, _) => self.threshold,
            (true, Metric::Euclidean) => self.threshold * TURNED_FACTOR,
            (true, Metric::Cosine) => 1.0 - (1.0 - self.threshold) * TURNED_FACTOR,
        };
        self.metric.is_match(score, threshold)
    }
}
