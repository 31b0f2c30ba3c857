//! Is it still the person seen at positioning? An embedding of the positioning face is the reference;
//! later faces are compared with it on re-acquisition, on a schedule, and at the template frame.

use crate::error::Result;
use crate::liveness::IdentityEvidence;
use crate::matching::Metric;
use crate::vision::{Embedding, Engine, FaceAnalysis};

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

    /// Checked on re-acquisition and every `every` frames (true when not checked on this frame).
    pub(super) fn scheduled_check(
        &mut self,
        engine: &Engine,
        face: &FaceAnalysis,
        frame_no: u64,
        every: u64,
        reacquired: bool,
    ) -> Result<bool> {
        if self.reference.is_none() {
            return Ok(true);
        }
        // Offset by half a period so the embedding rarely lands on a detector/anti-spoof frame: that
        // keeps the slowest frames (p95) down.
        if !reacquired && !(frame_no + every / 2).is_multiple_of(every) {
            return Ok(true);
        }
        let emb = engine.embed(face)?;
        Ok(self.compare(&emb))
    }

    /// Compares an embedding with the reference (true when there is none yet).
    pub(super) fn compare(&mut self, emb: &Embedding) -> bool {
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
        self.metric.is_match(score, self.threshold)
    }
}
