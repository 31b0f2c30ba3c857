//! Are the eyes closed, for *this* user? The eye ratio of a frame is judged against the user's own
//! open-eye baseline (the median of their recent open, frontal frames), with hysteresis: eyes close
//! below `closed_below` × baseline and open again only above `open_above` × baseline. So eyes a little
//! narrower than the prior are not "always closed", a real blink is not missed for want of a universal
//! threshold, and the half-closed frame just after a blink belongs to that blink instead of starting a
//! second one.
//!
//! The baseline never goes below `BASELINE_MIN` × the manifest's prior: a closed-eye photo shown from
//! the start (or held until the baseline is re-learnt) must stay closed. Fully closed eyes measure
//! 0.11–0.16 (carphone 42, 92) and the floor is 0.21 (0.7 × 0.30), so they read at most 0.76 of it:
//! closed. Not covered: the partly closed frames 112–113 (0.22) would pass as narrow open eyes if shown
//! from the start. The price of the floor: a user whose open eyes measure below 0.164 (0.78 × the floor,
//! about half a typical eye) is asked to open them.

use std::collections::VecDeque;

use crate::manifest::EyesSpec;

/// Bounds on the learnt baseline, as multiples of the manifest's prior.
const BASELINE_MIN: f32 = 0.7;
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
    /// Consecutive closed frames on which the baseline could have learnt (frontal pose).
    closed_run: usize,
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
            closed_run: 0,
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

    /// Judges one frame (both eyes' mean ratio); true while the eyes are closed. `frontal`: the head
    /// faces the camera, so the frame may teach the baseline (a turned head changes the ratio).
    pub fn observe(&mut self, ratio: f32, frontal: bool) -> bool {
        if !ratio.is_finite() {
            return self.closed;
        }
        let relative = self.relative(ratio);
        self.closed = if self.closed {
            relative < self.open_above
        } else {
            relative < self.closed_below
        };
        if !frontal {
            return self.closed;
        }
        // Eyes "closed" for longer than the baseline window are a changed baseline (the user squints or
        // looks down at the screen), not a blink: learn it again, within the floor.
        self.closed_run = if self.closed { self.closed_run + 1 } else { 0 };
        if self.closed_run > self.frames {
            self.recent.clear();
            self.closed_run = 0;
        }
        // Until the baseline exists every frontal frame feeds it (else eyes narrower than the prior
        // would never teach it); then only open ones do, so blinks do not drag it down.
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

/// When the Iris model must read the eyes, judged on the mesh's lid ratio ([`crate::vision::lid_ratio`],
/// free on every frame): below `LID_GATE` × the user's own open-lid baseline the lids may be closing,
/// and Iris looks. The baseline is the median lid ratio of recent frontal frames not read as closed;
/// until `min_frames` of them exist there is none, and Iris reads every frame.
///
/// Measured on carphone (open lids ≈ 0.30): the frames where a blink starts (42, 92, 112) read at most
/// 0.86 of the learnt baseline (`vision_real`), open frontal frames mostly 0.9–1.1, a head pitched
/// 15–20° 0.55–0.85 (Iris then looks and reads open). Once the eyes read closed the session reads Iris
/// until they reopen, so the gate only has to catch a blink's first frame. It only ever adds Iris
/// runs: the session also reads Iris wherever a blink is judged, on template candidates, and on drawn
/// frames.
#[derive(Debug, Clone)]
pub struct LidGate {
    frames: usize,
    min_frames: usize,
    recent: VecDeque<f32>,
}

/// Lids below this fraction of their baseline may be closing.
pub const LID_GATE: f32 = 0.9;

impl LidGate {
    pub fn new(spec: &EyesSpec) -> Self {
        Self {
            frames: spec.baseline_frames.max(1) as usize,
            min_frames: spec.baseline_min_frames.max(1) as usize,
            recent: VecDeque::new(),
        }
    }

    /// The user's open-lid ratio, once enough frontal open frames were seen.
    pub fn baseline(&self) -> Option<f32> {
        if self.recent.len() < self.min_frames {
            return None;
        }
        let mut sorted: Vec<f32> = self.recent.iter().copied().collect();
        sorted.sort_by(f32::total_cmp);
        Some(sorted[sorted.len() / 2])
    }

    /// The lid ratio below which Iris must read the eyes; `None`: on every frame (no baseline yet).
    pub fn iris_below(&self) -> Option<f32> {
        self.baseline().map(|b| b * LID_GATE)
    }

    /// The lid ratio relative to the baseline (1 = as open as usual; 1 before there is one).
    pub fn relative(&self, lid_ratio: f32) -> f32 {
        self.baseline()
            .filter(|b| *b > 0.0)
            .map_or(1.0, |b| lid_ratio / b)
    }

    /// Learns from one frame: `closed` as the session judged it. Turned or pitched heads narrow the
    /// lids and closed eyes are no baseline: neither teaches it.
    pub fn observe(&mut self, lid_ratio: f32, frontal: bool, closed: bool) {
        if !frontal || closed || !lid_ratio.is_finite() {
            return;
        }
        self.recent.push_back(lid_ratio);
        if self.recent.len() > self.frames {
            self.recent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tracker() -> EyeTracker {
        EyeTracker::with(0.30, (30, 5), (0.78, 0.84)) // the shipped manifests' values
    }

    #[test]
    fn a_blink_with_a_half_closed_frame_after_it_is_one_blink() {
        let mut t = tracker();
        let seq = [0.30, 0.31, 0.29, 0.30, 0.30, 0.30, 0.14, 0.21, 0.30, 0.30];
        let closed: Vec<bool> = seq.iter().map(|r| t.observe(*r, true)).collect();
        let starts = closed.windows(2).filter(|w| !w[0] && w[1]).count();
        assert_eq!(starts, 1, "{closed:?}");
        assert!(closed[6] && closed[7] && !closed[8]);
    }

    #[test]
    fn narrower_eyes_learn_their_own_baseline_and_still_blink() {
        // A user whose open eyes measure 0.22: closed against the prior at first, open once learnt.
        let mut t = tracker();
        for _ in 0..8 {
            t.observe(0.22, true);
        }
        assert!(!t.is_closed(), "baseline {}", t.baseline());
        assert!((t.baseline() - 0.22).abs() < 1e-6);
        assert!(t.observe(0.13, true), "a blink of narrow eyes is seen");
        assert!(!t.observe(0.22, true));
    }

    #[test]
    fn a_closed_eye_photo_stays_closed_from_the_start_or_held_for_long() {
        // Closed eyes measure 0.11-0.16 (carphone blinks): held from the first frame, or long enough
        // for the baseline to be learnt again, they never read open.
        for closed_ratio in [0.11, 0.14, 0.16] {
            let mut t = tracker();
            for i in 0..200 {
                assert!(
                    t.observe(closed_ratio, true),
                    "{closed_ratio} open at frame {i}"
                );
            }
            assert!(t.baseline() >= 0.30 * BASELINE_MIN - 1e-6);
        }
        let mut t = tracker();
        assert!(t.observe(0.05, true));
        assert!(
            t.observe(f32::NAN, true),
            "a non-finite ratio changes nothing"
        );
    }

    #[test]
    fn a_lasting_change_is_learnt_again_but_turned_frames_teach_nothing() {
        // Open at 0.30, then the user looks down at the screen: 0.22 for good. Closed at first (0.73 of
        // the baseline), open again once the window has passed.
        let mut t = tracker();
        for _ in 0..30 {
            t.observe(0.30, true);
        }
        assert!(t.observe(0.22, true));
        let reopened = (0..100).position(|_| !t.observe(0.22, true)).unwrap();
        assert!(reopened <= 40, "{reopened}");
        // A turned head reads wide eyes; those frames must not raise the baseline.
        let before = t.baseline();
        for _ in 0..100 {
            t.observe(0.45, false);
        }
        assert_eq!(t.baseline(), before);
    }

    fn gate() -> LidGate {
        // The shipped manifests' window: 30 frames, at least 5.
        LidGate {
            frames: 30,
            min_frames: 5,
            recent: VecDeque::new(),
        }
    }

    #[test]
    fn the_lid_gate_opens_for_closing_lids_only_once_it_knows_the_user() {
        let mut g = gate();
        assert_eq!(g.iris_below(), None, "no baseline: Iris reads every frame");
        for r in [0.30, 0.31, 0.29, 0.30, 0.30] {
            g.observe(r, true, false);
        }
        let below = g.iris_below().unwrap();
        assert!((below - 0.27).abs() < 1e-6, "{below}");
        // The carphone blink frames' lids (0.209, 0.223, 0.254, 0.244) are below it, open ones not.
        for r in [0.209, 0.223, 0.254, 0.244] {
            assert!(r < below, "{r}");
        }
        assert!(0.288 >= below);
        assert!((g.relative(0.15) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn turned_and_closed_frames_do_not_teach_the_lid_baseline() {
        let mut g = gate();
        for _ in 0..5 {
            g.observe(0.30, true, false);
        }
        // A long head pitch (lids at 0.19) and a long closed stretch leave the baseline where it was.
        for _ in 0..40 {
            g.observe(0.19, false, false);
            g.observe(0.12, true, true);
            g.observe(f32::NAN, true, false);
        }
        assert_eq!(g.baseline(), Some(0.30));
        // Open frontal frames replace it over the window.
        for _ in 0..30 {
            g.observe(0.26, true, false);
        }
        assert_eq!(g.baseline(), Some(0.26));
    }
}
