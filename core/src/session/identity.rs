//! Is it still the person seen at positioning? An embedding of the positioning face is the reference;
//! later faces are compared with it on re-acquisition, on a schedule, and at the template frame.

use crate::error::Result;
use crate::vision::{Embedding, Engine, FaceAnalysis};

pub(super) struct Identity {
    reference: Option<Embedding>,
    threshold: f32,
    min_similarity: f32,
    checks: u32,
}

impl Identity {
    pub(super) fn new(threshold: f32) -> Self {
        Self {
            reference: None,
            threshold,
            min_similarity: 1.0,
            checks: 0,
        }
    }

    pub(super) fn set_reference(&mut self, reference: Embedding) {
        self.reference = Some(reference);
    }

    pub(super) fn min_similarity(&self) -> f32 {
        self.min_similarity
    }

    pub(super) fn checks(&self) -> u32 {
        self.checks
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
        let sim = reference.cosine(emb);
        self.checks += 1;
        self.min_similarity = self.min_similarity.min(sim);
        sim >= self.threshold
    }
}
