//! Active liveness challenges as small state machines over per-frame face signals.
//!
//! A challenge passes only on a real movement: first a neutral pose held for a few frames, then the
//! action reached through plausible intermediate motion, then back to neutral. A static picture never
//! leaves neutral; a swapped picture jumps faster than a head can move; a half-hearted turn never reaches
//! the action threshold.

use serde::{Deserialize, Serialize};

/// What the user is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChallengeKind {
    Blink,
    /// Turn the head to the subject's own left (the face moves toward the image's right in an unmirrored
    /// frame).
    TurnLeft,
    TurnRight,
    LookUp,
    Smile,
}

impl ChallengeKind {
    pub const ALL: [ChallengeKind; 5] = [
        Self::Blink,
        Self::TurnLeft,
        Self::TurnRight,
        Self::LookUp,
        Self::Smile,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "blink" => Some(Self::Blink),
            "turn-left" | "left" => Some(Self::TurnLeft),
            "turn-right" | "right" => Some(Self::TurnRight),
            "look-up" | "up" => Some(Self::LookUp),
            "smile" => Some(Self::Smile),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Blink => "blink",
            Self::TurnLeft => "turn-left",
            Self::TurnRight => "turn-right",
            Self::LookUp => "look-up",
            Self::Smile => "smile",
        }
    }
}

/// What a challenge sees of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceSignals {
    pub frame: u64,
    pub t_ms: u64,
    /// Degrees, [`crate::vision::HeadPose`] conventions.
    pub yaw: f32,
    pub pitch: f32,
    pub eyes_closed: bool,
    /// Mouth width over the distance between the eye centres.
    pub mouth_ratio: f32,
}

/// Thresholds for the challenges; defaults suit a phone held at arm's length.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChallengeThresholds {
    /// |yaw| and |pitch| at most this (degrees) count as neutral.
    pub neutral_angle: f32,
    /// Frames of neutral pose needed before the action counts.
    pub neutral_frames: u32,
    /// Yaw (degrees) a turn must reach.
    pub turn_angle: f32,
    /// Pitch (degrees) a look-up must reach.
    pub look_up_angle: f32,
    /// Fastest plausible head rotation, degrees per second; faster is a swapped picture.
    pub max_angular_speed: f32,
    /// Longest blink (eyes closed), ms; longer is a held-shut eye or a paused video.
    pub max_blink_ms: u64,
    /// Mouth ratio increase over the neutral baseline that counts as a smile.
    pub smile_gain: f32,
}

impl Default for ChallengeThresholds {
    fn default() -> Self {
        Self {
            neutral_angle: 15.0,
            neutral_frames: 3,
            turn_angle: 25.0,
            look_up_angle: 18.0,
            max_angular_speed: 500.0,
            max_blink_ms: 800,
            smile_gain: 0.12,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for a neutral pose.
    Neutral,
    /// Neutral held; waiting for the action.
    Ready,
    /// Action reached; waiting for the return to neutral.
    Acting,
    Passed,
}

/// Why a challenge was reset or refused (kept for the evidence and for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// Motion between two frames faster than a head moves.
    TooFast,
    /// Eyes closed for longer than a blink.
    BlinkTooLong,
}

/// Evidence of a passed challenge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChallengeEvidence {
    pub kind: ChallengeKind,
    pub started_ms: u64,
    /// Frame where the action was first seen.
    pub action_frame: u64,
    /// Frame where the return to neutral completed the challenge.
    pub passed_frame: u64,
    pub passed_ms: u64,
    /// Peak of the measured signal (degrees for turns, mouth-ratio gain for smile, ms closed for blink).
    pub peak: f32,
}

#[derive(Debug, Clone)]
pub struct Challenge {
    kind: ChallengeKind,
    th: ChallengeThresholds,
    phase: Phase,
    neutral_count: u32,
    started_ms: u64,
    baseline_mouth: Option<f32>,
    mouth_samples: Vec<f32>,
    action_frame: u64,
    action_ms: u64,
    peak: f32,
    prev: Option<FaceSignals>,
    rejections: Vec<Rejection>,
}

impl Challenge {
    pub fn new(kind: ChallengeKind, th: ChallengeThresholds, started_ms: u64) -> Self {
        Self {
            kind,
            th,
            phase: Phase::Neutral,
            neutral_count: 0,
            started_ms,
            baseline_mouth: None,
            mouth_samples: Vec::new(),
            action_frame: 0,
            action_ms: 0,
            peak: 0.0,
            prev: None,
            rejections: Vec::new(),
        }
    }

    pub fn kind(&self) -> ChallengeKind {
        self.kind
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn started_ms(&self) -> u64 {
        self.started_ms
    }

    pub fn rejections(&self) -> &[Rejection] {
        &self.rejections
    }

    /// 0..1 within this challenge, for the progress bar.
    pub fn progress(&self) -> f32 {
        match self.phase {
            Phase::Neutral => 0.0,
            Phase::Ready => 0.3,
            Phase::Acting => 0.7,
            Phase::Passed => 1.0,
        }
    }

    fn is_neutral(&self, s: &FaceSignals) -> bool {
        let pose_ok =
            s.yaw.abs() <= self.th.neutral_angle && s.pitch.abs() <= self.th.neutral_angle;
        let mouth_ok = match (self.kind, self.baseline_mouth) {
            (ChallengeKind::Smile, Some(b)) => s.mouth_ratio < b * (1.0 + self.th.smile_gain / 2.0),
            _ => true,
        };
        pose_ok && !s.eyes_closed && mouth_ok
    }

    fn action_value(&self, s: &FaceSignals) -> f32 {
        match self.kind {
            ChallengeKind::TurnLeft => s.yaw,
            ChallengeKind::TurnRight => -s.yaw,
            ChallengeKind::LookUp => s.pitch,
            ChallengeKind::Smile => match self.baseline_mouth {
                Some(b) if b > 0.0 => s.mouth_ratio / b - 1.0,
                _ => 0.0,
            },
            ChallengeKind::Blink => {
                if s.eyes_closed {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    fn action_reached(&self, s: &FaceSignals) -> bool {
        let v = self.action_value(s);
        match self.kind {
            ChallengeKind::TurnLeft | ChallengeKind::TurnRight => v >= self.th.turn_angle,
            ChallengeKind::LookUp => v >= self.th.look_up_angle,
            ChallengeKind::Smile => v >= self.th.smile_gain,
            ChallengeKind::Blink => s.eyes_closed,
        }
    }

    /// A head does not rotate faster than `max_angular_speed`; a swapped photo does.
    fn too_fast(&self, s: &FaceSignals) -> bool {
        let Some(p) = self.prev else { return false };
        let dt = (s.t_ms.saturating_sub(p.t_ms)).max(1) as f32 / 1000.0;
        let speed = ((s.yaw - p.yaw).powi(2) + (s.pitch - p.pitch).powi(2)).sqrt() / dt;
        speed > self.th.max_angular_speed
    }

    fn reset(&mut self, why: Rejection) {
        self.rejections.push(why);
        self.phase = Phase::Neutral;
        self.neutral_count = 0;
        self.peak = 0.0;
    }

    /// Feeds one frame; returns the evidence when this frame completes the challenge.
    pub fn update(&mut self, s: FaceSignals) -> Option<ChallengeEvidence> {
        if self.phase == Phase::Passed {
            return None;
        }
        if self.too_fast(&s) {
            self.reset(Rejection::TooFast);
            self.prev = Some(s);
            return None;
        }
        self.prev = Some(s);
        match self.phase {
            Phase::Neutral => {
                if self.is_neutral(&s) {
                    self.neutral_count += 1;
                    self.mouth_samples.push(s.mouth_ratio);
                    if self.neutral_count >= self.th.neutral_frames {
                        let n = self.mouth_samples.len().max(1) as f32;
                        self.baseline_mouth = Some(self.mouth_samples.iter().sum::<f32>() / n);
                        self.phase = Phase::Ready;
                    }
                } else {
                    self.neutral_count = 0;
                    self.mouth_samples.clear();
                }
            }
            Phase::Ready => {
                if self.action_reached(&s) {
                    self.phase = Phase::Acting;
                    self.action_frame = s.frame;
                    self.action_ms = s.t_ms;
                    self.peak = self.action_value(&s);
                }
            }
            Phase::Acting => {
                self.peak = self.peak.max(self.action_value(&s));
                if self.kind == ChallengeKind::Blink
                    && s.eyes_closed
                    && s.t_ms.saturating_sub(self.action_ms) > self.th.max_blink_ms
                {
                    self.reset(Rejection::BlinkTooLong);
                } else if self.is_neutral(&s) {
                    self.phase = Phase::Passed;
                    let peak = if self.kind == ChallengeKind::Blink {
                        (s.t_ms.saturating_sub(self.action_ms)) as f32
                    } else {
                        self.peak
                    };
                    return Some(ChallengeEvidence {
                        kind: self.kind,
                        started_ms: self.started_ms,
                        action_frame: self.action_frame,
                        passed_frame: s.frame,
                        passed_ms: s.t_ms,
                        peak,
                    });
                }
            }
            Phase::Passed => {}
        }
        None
    }
}

/// Draws `count` challenges from `pool` with a cryptographic RNG, no kind twice in a row.
pub fn draw_challenges(
    pool: &[ChallengeKind],
    count: usize,
    rng: &mut impl rand::CryptoRng,
) -> Vec<ChallengeKind> {
    let mut out: Vec<ChallengeKind> = Vec::with_capacity(count);
    if pool.is_empty() {
        return out;
    }
    while out.len() < count {
        // Rejection sampling over a u32 keeps the draw unbiased.
        let n = pool.len() as u32;
        let zone = u32::MAX - (u32::MAX % n);
        let r = loop {
            let v = rng.next_u32();
            if v < zone {
                break v % n;
            }
        };
        let k = pool[r as usize];
        if pool.len() > 1 && out.last() == Some(&k) {
            continue;
        }
        out.push(k);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const DT: u64 = 33;

    fn neutral(frame: u64) -> FaceSignals {
        FaceSignals {
            frame,
            t_ms: frame * DT,
            yaw: 0.0,
            pitch: 0.0,
            eyes_closed: false,
            mouth_ratio: 0.9,
        }
    }

    /// Runs a sequence built frame by frame; returns the evidence if it passed.
    fn run(kind: ChallengeKind, seq: &[FaceSignals]) -> (Option<ChallengeEvidence>, Challenge) {
        let mut c = Challenge::new(kind, ChallengeThresholds::default(), 0);
        let mut ev = None;
        for s in seq {
            if let Some(e) = c.update(*s) {
                ev = Some(e);
            }
        }
        (ev, c)
    }

    /// Neutral for 5 frames, then `f` for frames 5.., then neutral again.
    fn seq(len: u64, f: impl Fn(u64, &mut FaceSignals)) -> Vec<FaceSignals> {
        (0..len)
            .map(|i| {
                let mut s = neutral(i);
                f(i, &mut s);
                s
            })
            .collect()
    }

    /// A smooth turn: 0 → peak → 0 over `frames` frames starting at frame 5.
    fn smooth(i: u64, peak: f32, frames: u64) -> f32 {
        if i < 5 || i >= 5 + frames {
            return 0.0;
        }
        let x = (i - 5) as f32 / frames as f32;
        peak * (x * std::f32::consts::PI).sin()
    }

    #[test]
    fn turns_pass_on_smooth_movement_in_the_asked_direction_only() {
        let left = seq(40, |i, s| s.yaw = smooth(i, 35.0, 20));
        let (ev, _) = run(ChallengeKind::TurnLeft, &left);
        let ev = ev.unwrap();
        assert!(ev.action_frame > 5 && ev.passed_frame > ev.action_frame);
        assert!(ev.peak >= 34.0);
        assert!(
            run(ChallengeKind::TurnRight, &left).0.is_none(),
            "wrong direction"
        );
        let right = seq(40, |i, s| s.yaw = -smooth(i, 35.0, 20));
        assert!(run(ChallengeKind::TurnRight, &right).0.is_some());
        let up = seq(40, |i, s| s.pitch = smooth(i, 25.0, 20));
        assert!(run(ChallengeKind::LookUp, &up).0.is_some());
        assert!(run(ChallengeKind::TurnLeft, &up).0.is_none());
    }

    #[test]
    fn partial_movement_does_not_pass() {
        let half = seq(40, |i, s| s.yaw = smooth(i, 18.0, 20));
        assert!(run(ChallengeKind::TurnLeft, &half).0.is_none());
        // Turned but never came back.
        let stuck = seq(40, |i, s| {
            s.yaw = if i >= 5 { (i - 5) as f32 * 3.0 } else { 0.0 }.min(40.0)
        });
        let (ev, c) = run(ChallengeKind::TurnLeft, &stuck);
        assert!(ev.is_none());
        assert_eq!(c.phase(), Phase::Acting);
    }

    #[test]
    fn too_fast_jump_is_rejected() {
        // A photo swapped for a turned photo: 0 → 40 degrees in one frame, held, then back in one frame.
        let jump = seq(40, |i, s| {
            s.yaw = if (10..20).contains(&i) { 40.0 } else { 0.0 }
        });
        let (ev, c) = run(ChallengeKind::TurnLeft, &jump);
        assert!(ev.is_none());
        assert!(c.rejections().contains(&Rejection::TooFast));
    }

    #[test]
    fn no_movement_never_passes() {
        let still = seq(300, |_, _| {});
        for kind in ChallengeKind::ALL {
            let (ev, c) = run(kind, &still);
            assert!(ev.is_none(), "{kind:?}");
            assert_eq!(c.phase(), Phase::Ready);
        }
    }

    #[test]
    fn action_before_neutral_does_not_count() {
        // Starts already turned (no neutral first), then returns: nothing passes until a fresh movement.
        let pre = seq(30, |i, s| s.yaw = if i < 10 { 35.0 } else { 0.0 });
        assert!(run(ChallengeKind::TurnLeft, &pre).0.is_none());
    }

    #[test]
    fn blink_passes_and_long_closure_does_not() {
        let blink = seq(20, |i, s| s.eyes_closed = i == 8 || i == 9);
        let ev = run(ChallengeKind::Blink, &blink).0.unwrap();
        assert_eq!((ev.action_frame, ev.passed_frame), (8, 10));
        let held = seq(60, |i, s| s.eyes_closed = (8..45).contains(&i));
        let (ev, c) = run(ChallengeKind::Blink, &held);
        assert!(ev.is_none());
        assert!(c.rejections().contains(&Rejection::BlinkTooLong));
        // Eyes closed from the start (a photo with closed eyes): never neutral.
        let closed = seq(60, |_, s| s.eyes_closed = true);
        assert!(run(ChallengeKind::Blink, &closed).0.is_none());
    }

    #[test]
    fn timestamps_going_backwards_do_not_panic() {
        let mut seq = seq(20, |i, s| s.eyes_closed = i == 8);
        seq[9].t_ms = 0; // a camera clock that jumped back
        let _ = run(ChallengeKind::Blink, &seq);
    }

    #[test]
    fn smile_needs_a_real_widening_from_baseline() {
        let smile = seq(40, |i, s| s.mouth_ratio = 0.9 * (1.0 + smooth(i, 0.25, 20)));
        assert!(run(ChallengeKind::Smile, &smile).0.is_some());
        let faint = seq(40, |i, s| s.mouth_ratio = 0.9 * (1.0 + smooth(i, 0.06, 20)));
        assert!(run(ChallengeKind::Smile, &faint).0.is_none());
    }

    #[test]
    fn draws_use_the_pool_without_immediate_repeats() {
        let mut rng = rand::rng();
        for _ in 0..50 {
            let d = draw_challenges(&ChallengeKind::ALL, 3, &mut rng);
            assert_eq!(d.len(), 3);
            assert!(d.windows(2).all(|w| w[0] != w[1]));
        }
        let one = draw_challenges(&[ChallengeKind::Blink], 2, &mut rng);
        assert_eq!(one, vec![ChallengeKind::Blink, ChallengeKind::Blink]);
        // Every kind shows up over many draws.
        let many = draw_challenges(&ChallengeKind::ALL, 200, &mut rng);
        for k in ChallengeKind::ALL {
            assert!(many.contains(&k));
        }
    }
}
