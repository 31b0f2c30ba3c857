//! Are the eyes closed, for *this* user? The eye ratio of a frame is judged against the user's own
//! open-eye baseline (the median of their recent open frames), with hysteresis: eyes close below
//! `closed_below` × baseline and open again only above `open_above` × baseline. So narrow eyes are not
//! "always closed", a real blink is not missed for want of a universal threshold, and the half-closed
//! frame just after a blink belongs to that blink instead of starting a second one.

use std::collections::VecDeque;

use crate::manifest::EyesSpec;

/// Bounds on the learnt baseline, as multiples of the manifest's prior: a baseline learnt from a
/// closed-eye photo or from noise must not redefine "open".
const BASELINE_MIN: f32 = 0.5;
const BASELINE_MAX: f32 = 2.0;

#[derive(Debug, Clone)]
pub struct EyeTracker {
    prior: f32,
    frames: usize,
    min_frames: usize,
    closed_below: f32,
    open_above: f32,
    recent: VecDeque<f32>,
    closed: bool,
}

impl EyeTracker {
    pub fn new(spec: &EyesSpec) -> Self {
        Self::with(
            spec.baseline_prior,
            (spec.baseline_frames, spec.baseline_min_frames),
            (spec.closed_below, spec.open_above),
        )
    }

    fn with(
        prior: f32,
        (frames, min_frames): (u32, u32),
        (closed_below, open_above): (f32, f32),
    ) -> Self {
        Self {
            prior,
            frames: frames.max(1) as usize,
            min_frames: min_frames.max(1) as usize,
            closed_below,
            open_above,
            recent: VecDeque::new(),
            closed: false,
        }
    }

    /// The open-eye ratio this user's frames are judged against.
    pub fn baseline(&self) -> f32 {
        if self.recent.len() < self.min_frames {
            return self.prior;
        }
        let mut sorted: Vec<f32> = self.recent.iter().copied().collect();
        sorted.sort_by(f32::total_cmp);
        let median = sorted[sorted.len() / 2];
        median.clamp(self.prior * BASELINE_MIN, self.prior * BASELINE_MAX)
    }

    /// The frame's ratio relative to the baseline (1 = as open as usual).
    pub fn relative(&self, ratio: f32) -> f32 {
        ratio / self.baseline()
    }

    /// Judges one frame (both eyes' mean ratio); true while the eyes are closed.
    pub fn observe(&mut self, ratio: f32) -> bool {
        if !ratio.is_finite() {
            return self.closed;
        }
        let relative = self.relative(ratio);
        self.closed = if self.closed {
            relative < self.open_above
        } else {
            relative < self.closed_below
        };
        // Until the baseline exists every frame feeds it (else narrow eyes, closed against the prior,
        // would never teach it); then only open frames do.
        if !self.closed || self.recent.len() < self.min_frames {
            self.recent.push_back(ratio);
            if self.recent.len() > self.frames {
                self.recent.pop_front();
            }
        }
        self.closed
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tracker() -> EyeTracker {
        EyeTracker::with(0.30, (30, 5), (0.75, 0.88))
    }

    #[test]
    fn a_blink_with_a_half_closed_frame_after_it_is_one_blink() {
        let mut t = tracker();
        let seq = [0.30, 0.31, 0.29, 0.30, 0.30, 0.30, 0.14, 0.21, 0.30, 0.30];
        let closed: Vec<bool> = seq.iter().map(|r| t.observe(*r)).collect();
        let starts = closed.windows(2).filter(|w| !w[0] && w[1]).count();
        assert_eq!(starts, 1, "{closed:?}");
        assert!(closed[6] && closed[7] && !closed[8]);
    }

    #[test]
    fn narrow_eyes_learn_their_own_baseline_and_still_blink() {
        // A user whose open eyes measure 0.19: closed against the prior at first, open once learnt.
        let mut t = tracker();
        for _ in 0..8 {
            t.observe(0.19);
        }
        assert!(!t.is_closed(), "baseline {}", t.baseline());
        assert!((t.baseline() - 0.19).abs() < 1e-6);
        assert!(t.observe(0.12), "a blink of narrow eyes is seen");
        assert!(!t.observe(0.19));
    }

    #[test]
    fn a_closed_eye_photo_cannot_redefine_open() {
        let mut t = tracker();
        for _ in 0..30 {
            t.observe(0.05);
        }
        assert!(t.baseline() >= 0.30 * BASELINE_MIN - 1e-6);
        assert!(t.is_closed());
        assert!(t.observe(f32::NAN), "a non-finite ratio changes nothing");
    }
}
