//! Active liveness challenges as small state machines over per-frame face signals.
//!
//! A challenge passes only on a real movement: first a neutral pose held for a few live (not frozen)
//! frames, then the action reached through plausible intermediate motion, then back to neutral. A
//! static picture never leaves neutral, and a copied frame is never a neutral one; a swapped picture
//! jumps faster than a head can move (per second and per frame); a half-hearted turn never reaches the
//! action threshold. Challenges are exclusive: while one is pending, a clear action of another kind
//! fails it, so a clip that performs every action in turn cannot answer a random draw. A turn must show
//! parallax (a head is not flat), and a blink must reopen through a half-open frame when the camera is
//! fast enough to see one. Frames whose eye reading cannot be trusted (blur, dim light) neither pass
//! nor fail a blink.

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
    /// The eye ratio over the user's open-eye baseline (1 = as open as usual).
    pub eye_relative: f32,
    /// The eye reading can be trusted (sharp and lit enough); when not, the frame neither passes nor
    /// fails a blink.
    pub eyes_reliable: bool,
    /// Mouth width over the distance between the eye centres.
    pub mouth_ratio: f32,
    /// The frame is a byte copy of the one before: no camera delivers that, a looped still does.
    pub frozen: bool,
    /// Face centre (frame pixels) and height: a face that jumps is a swapped picture.
    pub centre: (f32, f32),
    pub size: f32,
    /// For turns and look-ups: how the landmarks moved since the verified neutral frame.
    pub parallax: Option<super::parallax::Parallax>,
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
    /// Largest change of yaw or pitch between two consecutive frames (degrees): a two-frame jump to a
    /// turned photo is too fast even at 15 fps, where the per-second limit lets it through.
    pub max_angle_per_frame: f32,
    /// Longest gap between two frames of a challenge (ms): below ~4 fps the movement between frames
    /// cannot be followed, so the challenge starts again.
    pub max_frame_interval_ms: u64,
    /// Largest move of the face centre between consecutive frames, in face heights, and largest change
    /// of its size (ratio − 1): beyond them the face teleported.
    pub max_face_jump: f32,
    pub max_size_jump: f32,
    /// A turn or look-up must move the landmarks at least this far from what one homography explains
    /// (RMS, in face heights): ~3× the frame-to-frame jitter of a still face (0.002); a genuine 20° turn
    /// measures 0.02–0.035 (liveness/parallax.rs says what this cue can and cannot tell).
    pub min_parallax: f32,
    /// While one challenge is pending, another kind's action fails it once it reaches this multiple of
    /// that action's own threshold (turns, look-up)…
    pub other_action_factor: f32,
    /// … or, for a smile, this mouth gain: people talk, and talking widens the mouth by ~0.13.
    pub other_smile_gain: f32,
    /// A blink must reopen through a frame between these fractions of the open-eye baseline…
    pub half_open: (f32, f32),
    /// … when frames come at least this often (ms); slower cameras may skip the half-open frame.
    pub half_open_below_ms: u64,
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
            max_angle_per_frame: 15.0,
            max_frame_interval_ms: 250,
            max_face_jump: 0.35,
            max_size_jump: 0.25,
            min_parallax: 0.006,
            other_action_factor: 1.2,
            other_smile_gain: 0.24,
            half_open: (0.62, 0.85),
            half_open_below_ms: 45,
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
    /// A gap between frames too long to follow the movement (frame-rate floor).
    FrameGap,
    /// The face jumped or changed size between two frames.
    Teleport,
    /// The eyes went from shut to open with no half-open frame, on a camera fast enough to see one
    /// (frames painted shut, a blink played backwards or too fast).
    AbruptReopening,
    /// A byte copy of the previous frame while the challenge was under way: a live camera never
    /// repeats a frame (sensor noise), a looped or edited clip holding a pose does.
    FrozenFrame,
}

/// A half-open frame must be at least this much more open than the blink's lowest reading.
const HALF_OPEN_RISE: f32 = 0.18;

/// Why a challenge failed outright (no restart: a restart would let a clip try again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// A clear action of another kind while this one was pending.
    WrongAction(ChallengeKind),
    /// A turn or look-up without parallax: a flat picture turned in front of the camera.
    Flat,
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
    refusal: Option<Refusal>,
    /// Blink: the lowest eye reading while closed, and whether a half-open frame followed it.
    closed_min: f32,
    half_open_seen: bool,
    /// Turns: the largest flat residual seen while acting, and the rigid one on that frame.
    parallax_peak: Option<super::parallax::Parallax>,
    /// Recent frame intervals (ms): how fast the camera is.
    intervals: std::collections::VecDeque<u64>,
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
            refusal: None,
            closed_min: f32::MAX,
            half_open_seen: false,
            parallax_peak: None,
            intervals: std::collections::VecDeque::new(),
        }
    }

    /// The median interval between recent frames (ms), once there are a few.
    fn frame_interval(&self) -> Option<u64> {
        if self.intervals.len() < 3 {
            return None;
        }
        let mut v: Vec<u64> = self.intervals.iter().copied().collect();
        v.sort_unstable();
        Some(v[v.len() / 2])
    }

    /// Set when the challenge failed outright; the session then fails the capture.
    pub fn refusal(&self) -> Option<Refusal> {
        self.refusal
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
        // Unreliable eyes are not read as closed here; for a blink such a frame is skipped earlier.
        pose_ok && !(s.eyes_closed && s.eyes_reliable) && mouth_ok
    }

    /// Another challenge's action, performed clearly (as far as that challenge would count it), while
    /// this one is pending. Blinks are exempt: people blink on their own.
    fn other_action(&self, s: &FaceSignals) -> Option<ChallengeKind> {
        let th = &self.th;
        let (turn, up) = (
            th.turn_angle * th.other_action_factor,
            th.look_up_angle * th.other_action_factor,
        );
        let candidates = [
            (ChallengeKind::TurnLeft, s.yaw >= turn),
            (ChallengeKind::TurnRight, -s.yaw >= turn),
            (ChallengeKind::LookUp, s.pitch >= up),
            (
                ChallengeKind::Smile,
                self.baseline_mouth
                    .is_some_and(|b| b > 0.0 && s.mouth_ratio / b - 1.0 >= th.other_smile_gain),
            ),
        ];
        candidates
            .into_iter()
            .find(|(k, hit)| *hit && *k != self.kind)
            .map(|(k, _)| k)
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

    /// A head does not rotate faster than `max_angular_speed`, nor by more than `max_angle_per_frame`
    /// between two frames; a swapped photo does. A face does not jump across the frame either.
    fn implausible(&self, s: &FaceSignals) -> Option<Rejection> {
        let p = self.prev?;
        let gap = s.t_ms.saturating_sub(p.t_ms);
        if gap > self.th.max_frame_interval_ms {
            return Some(Rejection::FrameGap);
        }
        let dt = gap.max(1) as f32 / 1000.0;
        let (dyaw, dpitch) = ((s.yaw - p.yaw).abs(), (s.pitch - p.pitch).abs());
        let speed = (dyaw.powi(2) + dpitch.powi(2)).sqrt() / dt;
        if speed > self.th.max_angular_speed || dyaw.max(dpitch) > self.th.max_angle_per_frame {
            return Some(Rejection::TooFast);
        }
        let size = p.size.max(1.0);
        let moved = ((s.centre.0 - p.centre.0).powi(2) + (s.centre.1 - p.centre.1).powi(2)).sqrt();
        if moved / size > self.th.max_face_jump
            || (s.size / size - 1.0).abs() > self.th.max_size_jump
        {
            return Some(Rejection::Teleport);
        }
        None
    }

    fn reset(&mut self, why: Rejection) {
        self.rejections.push(why);
        self.phase = Phase::Neutral;
        self.neutral_count = 0;
        self.mouth_samples.clear();
        self.peak = 0.0;
        self.closed_min = f32::MAX;
        self.half_open_seen = false;
        self.parallax_peak = None;
    }

    fn refuse(&mut self, why: Refusal) {
        self.refusal = Some(why);
    }

    /// A turn's landmarks moved, since the neutral frame, in a way one homography does not explain.
    fn shows_depth(&self) -> bool {
        match self.kind {
            ChallengeKind::TurnLeft | ChallengeKind::TurnRight | ChallengeKind::LookUp => self
                .parallax_peak
                .is_some_and(|p| p.flat >= self.th.min_parallax),
            _ => true,
        }
    }

    /// Feeds one frame; returns the evidence when this frame completes the challenge. After a
    /// [`refusal`](Self::refusal) it returns nothing more.
    pub fn update(&mut self, s: FaceSignals) -> Option<ChallengeEvidence> {
        if self.phase == Phase::Passed || self.refusal.is_some() {
            return None;
        }
        // A blink judged on eyes that cannot be read is no blink, and no failed one either.
        if self.kind == ChallengeKind::Blink && !s.eyes_reliable {
            return None;
        }
        if let Some(p) = self.prev {
            self.intervals.push_back(s.t_ms.saturating_sub(p.t_ms));
            if self.intervals.len() > 16 {
                self.intervals.pop_front();
            }
        }
        if let Some(why) = self.implausible(&s) {
            self.reset(why);
            self.prev = Some(s);
            return None;
        }
        // A copied frame proves nothing and breaks the chain of live frames the challenge needs, from
        // the neutral hold to the return: it starts over (a clip that holds its neutral or its peak
        // with copies never completes one).
        if s.frozen {
            if self.phase != Phase::Neutral || self.neutral_count > 0 {
                self.reset(Rejection::FrozenFrame);
            }
            self.prev = Some(s);
            return None;
        }
        self.prev = Some(s);
        if matches!(self.phase, Phase::Ready | Phase::Acting)
            && let Some(other) = self.other_action(&s)
        {
            self.refuse(Refusal::WrongAction(other));
            return None;
        }
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
                    self.closed_min = s.eye_relative;
                    self.half_open_seen = false;
                    self.parallax_peak = s.parallax;
                }
            }
            Phase::Acting => {
                self.peak = self.peak.max(self.action_value(&s));
                if let Some(p) = s.parallax
                    && self.parallax_peak.is_none_or(|q| p.flat > q.flat)
                {
                    self.parallax_peak = Some(p);
                }
                if self.kind == ChallengeKind::Blink {
                    let (lo, hi) = self.th.half_open;
                    if s.eye_relative < self.closed_min {
                        self.closed_min = s.eye_relative;
                        self.half_open_seen = false;
                    } else if (lo..hi).contains(&s.eye_relative)
                        && s.eye_relative >= self.closed_min + HALF_OPEN_RISE
                    {
                        self.half_open_seen = true;
                    }
                }
                if self.kind == ChallengeKind::Blink
                    && s.eyes_closed
                    && s.t_ms.saturating_sub(self.action_ms) > self.th.max_blink_ms
                {
                    self.reset(Rejection::BlinkTooLong);
                } else if self.is_neutral(&s) {
                    return self.complete(&s);
                }
            }
            Phase::Passed => {}
        }
        None
    }

    /// Back at neutral after the action: the last plausibility checks, then the evidence.
    fn complete(&mut self, s: &FaceSignals) -> Option<ChallengeEvidence> {
        if self.kind == ChallengeKind::Blink {
            let fast_camera = self
                .frame_interval()
                .is_some_and(|ms| ms <= self.th.half_open_below_ms);
            if fast_camera && !self.half_open_seen {
                self.reset(Rejection::AbruptReopening);
                return None;
            }
        }
        if !self.shows_depth() {
            self.refuse(Refusal::Flat);
            return None;
        }
        self.phase = Phase::Passed;
        let peak = if self.kind == ChallengeKind::Blink {
            (s.t_ms.saturating_sub(self.action_ms)) as f32
        } else {
            self.peak
        };
        Some(ChallengeEvidence {
            kind: self.kind,
            started_ms: self.started_ms,
            action_frame: self.action_frame,
            passed_frame: s.frame,
            passed_ms: s.t_ms,
            peak,
        })
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
    use super::super::parallax::Parallax;
    use super::*;

    const DT: u64 = 33;

    fn neutral(frame: u64) -> FaceSignals {
        FaceSignals {
            frame,
            t_ms: frame * DT,
            yaw: 0.0,
            pitch: 0.0,
            eyes_closed: false,
            eye_relative: 1.0,
            eyes_reliable: true,
            mouth_ratio: 0.9,
            frozen: false,
            centre: (100.0, 100.0),
            size: 100.0,
            parallax: Some(Parallax {
                flat: 0.02,
                rigid: 0.005,
            }),
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

    /// A blink as the recording shows one: shut at frame 8, half open at 9, open at 10.
    fn blink_at(i: u64, s: &mut FaceSignals) {
        (s.eyes_closed, s.eye_relative) = match i {
            8 => (true, 0.35),
            9 => (true, 0.75),
            _ => (false, 1.0),
        };
    }

    #[test]
    fn blink_passes_and_long_closure_does_not() {
        let blink = seq(20, blink_at);
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
    fn a_blink_that_reopens_abruptly_is_refused_on_a_fast_camera_only() {
        // Painted shut for two frames, then open at once: no half-open frame.
        let painted = |i: u64, s: &mut FaceSignals| {
            (s.eyes_closed, s.eye_relative) = if i == 8 || i == 9 {
                (true, 0.4)
            } else {
                (false, 1.0)
            };
        };
        let (ev, c) = run(ChallengeKind::Blink, &seq(20, painted));
        assert!(ev.is_none());
        assert!(c.rejections().contains(&Rejection::AbruptReopening));
        // At 15 fps a real blink may show no half-open frame: the same frames pass.
        let slow: Vec<FaceSignals> = seq(20, painted)
            .into_iter()
            .map(|mut s| {
                s.t_ms *= 2;
                s
            })
            .collect();
        assert!(run(ChallengeKind::Blink, &slow).0.is_some());
    }

    #[test]
    fn unreliable_eye_readings_neither_pass_nor_fail_a_blink() {
        let blurred = seq(40, |i, s| {
            blink_at(i, s);
            s.eyes_reliable = false;
        });
        let (ev, c) = run(ChallengeKind::Blink, &blurred);
        assert!(ev.is_none() && c.rejections().is_empty() && c.refusal().is_none());
        assert_eq!(c.phase(), Phase::Neutral, "not even a verified neutral");
    }

    #[test]
    fn another_clear_action_while_pending_fails_the_challenge() {
        // Asked to blink; the clip turns its head first.
        let turned_first = seq(40, |i, s| s.yaw = smooth(i, 35.0, 20));
        let (ev, c) = run(ChallengeKind::Blink, &turned_first);
        assert!(ev.is_none());
        assert_eq!(
            c.refusal(),
            Some(Refusal::WrongAction(ChallengeKind::TurnLeft))
        );
        // Asked to turn left; the clip smiles broadly.
        let smiled = seq(40, |i, s| s.mouth_ratio = 0.9 * (1.0 + smooth(i, 0.35, 20)));
        let (_, c) = run(ChallengeKind::TurnLeft, &smiled);
        assert_eq!(
            c.refusal(),
            Some(Refusal::WrongAction(ChallengeKind::Smile))
        );
        // Talking widens the mouth a little, a natural blink closes the eyes: neither is an action.
        let talking = seq(60, |i, s| {
            s.mouth_ratio = 0.9 * (1.0 + smooth(i, 0.15, 20));
            s.yaw = if i >= 30 {
                smooth(i - 25, 35.0, 20)
            } else {
                0.0
            };
            blink_at(i, s);
        });
        let (ev, c) = run(ChallengeKind::TurnLeft, &talking);
        assert!(c.refusal().is_none() && ev.is_some());
    }

    #[test]
    fn frozen_frames_never_make_a_neutral_hold() {
        let still = seq(100, |i, s| {
            s.frozen = i > 0;
            s.yaw = smooth(i, 35.0, 20);
        });
        let (ev, c) = run(ChallengeKind::TurnLeft, &still);
        assert!(ev.is_none());
        assert_eq!(c.phase(), Phase::Neutral);
    }

    #[test]
    fn a_copied_frame_during_the_challenge_starts_it_over() {
        // The all-actions clip's shape: live ramp frames, but the peak held by copies of one frame.
        let held_peak = |i: u64, s: &mut FaceSignals| {
            s.yaw = smooth(i, 35.0, 20);
            s.frozen = (14..=16).contains(&i);
        };
        let (ev, c) = run(ChallengeKind::TurnLeft, &seq(40, held_peak));
        assert!(ev.is_none(), "a held peak never completes the turn");
        assert!(c.rejections().contains(&Rejection::FrozenFrame));
        // A copied frame inside the neutral hold breaks it too (3 live frames, a copy, 2 live, turn).
        let broken_hold = seq(40, |i, s| {
            s.frozen = i == 3;
            s.yaw = if i >= 6 { smooth(i - 1, 35.0, 20) } else { 0.0 };
        });
        let (_, c) = run(ChallengeKind::TurnLeft, &broken_hold);
        assert!(c.rejections().contains(&Rejection::FrozenFrame));
        // The same movement with every frame live passes: the rule costs a live face nothing.
        let (ev, c) = run(
            ChallengeKind::TurnLeft,
            &seq(40, |i, s| s.yaw = smooth(i, 35.0, 20)),
        );
        assert!(ev.is_some() && c.rejections().is_empty());
    }

    #[test]
    fn per_frame_limits_catch_what_the_per_second_limit_lets_through() {
        // 15 fps: 0 → 20 → 40 degrees is 300 degrees/s, under 500, but 20 degrees a frame.
        let jump: Vec<FaceSignals> = seq(20, |i, s| {
            s.yaw = match i {
                6 | 9 => 20.0,
                7 | 8 => 40.0,
                _ => 0.0,
            };
        })
        .into_iter()
        .map(|mut s| {
            s.t_ms *= 2;
            s
        })
        .collect();
        let (ev, c) = run(ChallengeKind::TurnLeft, &jump);
        assert!(ev.is_none());
        assert!(c.rejections().contains(&Rejection::TooFast));
        // A face that teleports across the frame, or a gap of a third of a second.
        let teleport = seq(20, |i, s| s.centre.0 = if i >= 10 { 160.0 } else { 100.0 });
        let (_, c) = run(ChallengeKind::Blink, &teleport);
        assert!(c.rejections().contains(&Rejection::Teleport));
        let gap: Vec<FaceSignals> = seq(20, |_, _| {})
            .into_iter()
            .map(|mut s| {
                if s.frame >= 10 {
                    s.t_ms += 300;
                }
                s
            })
            .collect();
        let (_, c) = run(ChallengeKind::Blink, &gap);
        assert!(c.rejections().contains(&Rejection::FrameGap));
    }

    #[test]
    fn a_turn_without_parallax_is_refused() {
        let flat = seq(40, |i, s| {
            s.yaw = smooth(i, 35.0, 20);
            s.parallax = Some(Parallax {
                flat: 0.002,
                rigid: 0.002,
            });
        });
        let (ev, c) = run(ChallengeKind::TurnLeft, &flat);
        assert!(ev.is_none());
        assert_eq!(c.refusal(), Some(Refusal::Flat));
        // No parallax measured at all (no neutral frame to compare with): refused too.
        let unmeasured = seq(40, |i, s| {
            s.yaw = smooth(i, 35.0, 20);
            s.parallax = None;
        });
        assert_eq!(
            run(ChallengeKind::TurnLeft, &unmeasured).1.refusal(),
            Some(Refusal::Flat)
        );
        // A genuine turn's residual (the recording's 20° yaw changes: 0.027-0.035) passes.
        let genuine = seq(40, |i, s| {
            s.yaw = smooth(i, 35.0, 20);
            s.parallax = Some(Parallax {
                flat: 0.027,
                rigid: 0.011,
            });
        });
        assert!(run(ChallengeKind::TurnLeft, &genuine).0.is_some());
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
