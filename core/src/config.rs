//! Capture configuration with defaults a bank can ship as is; every field can be overridden.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::liveness::LivenessMode;
use crate::liveness::active::{ChallengeKind, ChallengeThresholds};
use crate::vision::QualityThresholds;

/// At most this many challenges per capture (what a payload or a capture token may carry).
pub const MAX_CHALLENGES: usize = crate::seal::token::MAX_TOKEN_CHALLENGES;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureConfig {
    pub liveness: LivenessMode,
    /// Challenges are drawn from this pool with a cryptographic RNG.
    pub challenge_pool: Vec<ChallengeKind>,
    pub challenge_count: u32,
    /// Replay only: a fixed sequence instead of a random draw. The result is marked `test_mode`, so a
    /// server can refuse it.
    pub fixed_challenges: Option<Vec<ChallengeKind>>,
    pub challenge_timeout_ms: u64,
    pub overall_timeout_ms: u64,
    /// Consecutive well-positioned frames before the challenges start.
    pub positioning_frames: u32,
    /// Anti-spoof decision threshold; `None` takes the manifest's.
    pub passive_threshold: Option<f32>,
    /// Run the detector (and the anti-spoof model) on one frame in N on average even while tracking:
    /// it checks for a second face and samples passive liveness. The frames are drawn with a CSPRNG,
    /// and challenge key frames and template candidates are always checked.
    pub sample_every: u32,
    pub passive_min_samples: u32,
    /// Passive-only captures (the weaker mode, docs/attacks.md): at least this many anti-spoof samples,
    /// over at least this long a capture stretch, whose frames must not be frozen copies.
    pub passive_only_min_samples: u32,
    pub passive_only_min_ms: u64,
    /// Compare the face with the one seen at positioning on one frame in N on average (CSPRNG-drawn),
    /// and whenever the track is re-acquired, the face's proportions jump, or a challenge key frame
    /// passes.
    pub identity_every: u32,
    /// Same-person threshold in the embedder's metric (cosine similarity or Euclidean distance); `None`
    /// takes the manifest's match threshold.
    pub same_person_threshold: Option<f32>,
    /// Frames examined after the challenges to choose the template frame.
    pub capture_frames: u32,
    /// A tracked face moving more than this × its size between frames breaks the track.
    pub max_track_jump: f32,
    /// Follow the face with the mesh between frames (default). Off: detect on every frame, which costs
    /// more (docs/performance.md) and exists to measure that.
    pub tracking: bool,
    pub quality: QualityThresholds,
    pub challenge: ChallengeThresholds,
    /// Mean interval (ms of capture time) between RASP re-checks during the capture; each interval is
    /// drawn at random in [0.5, 1.5] × this, and every step change checks too.
    pub environment_recheck_ms: u64,
    /// The server-issued capture token (`SIDCT1:…`) for this capture, when the bank's backend asked
    /// the server for one. Its nonce is sealed into the capture and its challenges (if any) replace
    /// the random draw.
    pub capture_token: Option<String>,
    /// Evidence frames sealed with the payload for the server to re-check.
    pub evidence: EvidenceConfig,
    /// Check the frame timestamps against the SDK's own monotonic clock: frames stamped as taken
    /// later than they reached the SDK are a recording replayed faster than real time. On for a live
    /// camera (the platform camera screens); off for recorded frames, which a desktop replays at
    /// whatever speed it computes.
    pub frame_clock_check: bool,
    /// Run the heavy models (embeddings, anti-spoof) on the session's worker thread (default), so
    /// `push_frame` carries only tracking and guidance. Off: they run inside `push_frame`. The result
    /// is the same either way: each model result is applied a fixed number of frames after the frame
    /// that asked for it.
    pub background_models: bool,
    /// Replay only: seeds the check schedules and the challenge draw, so a replay of the same frames
    /// checks the same frames and gives the same result. Never set in an app (an attacker who knows
    /// the schedule places fakes between the checks): the result is marked `test_mode`. Not
    /// configurable from a file or the FFI.
    #[serde(skip)]
    pub replay_seed: Option<u64>,
}

/// Which frames go to the server for re-verification, and how small they are.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvidenceConfig {
    /// On by default: without evidence frames a server can only take the device's word.
    pub enabled: bool,
    /// Side of the square crop around the face, as a multiple of the face box's longer side: enough
    /// for the anti-spoof crop (2.7× in the shipped manifest) and for re-detection.
    pub margin: f32,
    /// Longest side (px) of the template frame's crop; the re-embedding must see the face as the
    /// device did.
    pub template_side: u32,
    /// Longest side (px) of each challenge frame's crop.
    pub challenge_side: u32,
    /// JPEG quality, 1–100.
    pub jpeg_quality: u8,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            margin: 2.8,
            template_side: 480,
            challenge_side: 256,
            jpeg_quality: 85,
        }
    }
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self {
            liveness: LivenessMode::Both,
            challenge_pool: ChallengeKind::ALL.to_vec(),
            challenge_count: 2,
            fixed_challenges: None,
            challenge_timeout_ms: 8_000,
            overall_timeout_ms: 60_000,
            positioning_frames: 3,
            passive_threshold: None,
            sample_every: 5,
            passive_min_samples: 3,
            passive_only_min_samples: 8,
            passive_only_min_ms: 1_500,
            identity_every: 15,
            same_person_threshold: None,
            capture_frames: 5,
            max_track_jump: 0.5,
            tracking: true,
            quality: QualityThresholds::default(),
            challenge: ChallengeThresholds::default(),
            environment_recheck_ms: 1_000,
            capture_token: None,
            evidence: EvidenceConfig::default(),
            frame_clock_check: false,
            background_models: true,
            replay_seed: None,
        }
    }
}

impl CaptureConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::ConfigInvalid(m.into()));
        if self.liveness.active() {
            match &self.fixed_challenges {
                Some(f) if f.is_empty() => return bad("fixed_challenges is empty"),
                Some(f) if f.len() > MAX_CHALLENGES => return bad("more than 8 fixed_challenges"),
                None if self.challenge_pool.is_empty() || self.challenge_count == 0 => {
                    return bad("active liveness needs a non-empty challenge pool and count");
                }
                _ => {}
            }
            if self.challenge_count as usize > MAX_CHALLENGES {
                return bad("challenge_count above 8");
            }
        }
        if self.sample_every == 0 || self.identity_every == 0 || self.capture_frames == 0 {
            return bad("sample_every, identity_every and capture_frames must be positive");
        }
        if self.overall_timeout_ms == 0 || self.challenge_timeout_ms == 0 {
            return bad("timeouts must be positive");
        }
        if self.environment_recheck_ms == 0 {
            return bad("environment_recheck_ms must be positive");
        }
        if self
            .passive_threshold
            .is_some_and(|t| !(0.0..=1.0).contains(&t))
        {
            return bad("passive_threshold must be within 0..1");
        }
        // A cosine similarity (0..1) or a Euclidean distance, whichever the embedder uses.
        if self
            .same_person_threshold
            .is_some_and(|t| !(t.is_finite() && t >= 0.0))
        {
            return bad("same_person_threshold must be a finite non-negative number");
        }
        let e = &self.evidence;
        let sides =
            (64..=1024).contains(&e.template_side) && (64..=1024).contains(&e.challenge_side);
        let margin = e.margin.is_finite() && (1.0..=6.0).contains(&e.margin);
        if !(margin && sides && (1..=100).contains(&e.jpeg_quality)) {
            return bad(
                "evidence: margin 1..6, sides 64..1024 px and jpeg_quality 1..100 are allowed",
            );
        }
        Ok(())
    }
}
