//! Server-side re-verification of an opened capture from its evidence frames, with the same models
//! the device used. The payload's liveness section is the device's word; this module checks what the
//! frames show:
//!
//! - every frame holds one whole face, and (in a model set with an anti-spoof model) the frames score
//!   live by the device's own rule;
//! - the template frame, re-embedded here, gives the sealed template (a template swapped for someone
//!   else's fails);
//! - every frame shows the template's person (the action frames of turns and look-ups against a looser
//!   threshold: the embedder is not made for a turned head), and no two frames are the same picture;
//! - each passed challenge has its neutral, action and return frames, in order, at the frames the
//!   payload names, and they show the claimed movement (eyes closed against the open frames, yaw or
//!   pitch reached and left, the mouth widened).
//!
//! What it cannot see: frames injected by a virtual camera that show a live person doing the asked
//! movements (a deepfake puppet). Capture tokens (server-chosen challenges) and device attestation
//! narrow that; docs/payload-format.md says which claims are verified and how.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::liveness::active::{ChallengeKind, ChallengeThresholds};
use crate::liveness::passive::PassiveLiveness;
use crate::seal::{EvidenceFrame, FrameRole, Payload, Template};
use crate::vision::{Engine, FaceAnalysis};

/// Largest evidence image accepted for decoding, per side (the SDK's crops are at most 1024).
const MAX_SIDE: u32 = 1024;
/// Smallest side accepted.
const MIN_SIDE: u32 = 32;

/// How strict the re-verification is. Defaults mirror the device's challenge thresholds, with a
/// tolerance for the JPEG and the smaller crop.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub challenge: ChallengeThresholds,
    /// A measured movement must reach this fraction of the device's threshold (turn angle, smile gain).
    pub movement_tolerance: f32,
    /// Extra degrees a neutral or return frame may be off-centre beyond the device's neutral angle.
    pub neutral_slack: f32,
    /// The template frame's re-embedding must be within this fraction of the match threshold's
    /// distance from the sealed template (Euclidean: distance ≤ fraction × threshold; cosine:
    /// 1 − similarity ≤ fraction × (1 − threshold)).
    pub template_fraction: f32,
    /// The action frames of turns and look-ups must show the template's person within this multiple
    /// of the match threshold's distance (a turned head embeds further from a frontal one).
    pub turned_factor: f32,
    /// Require frames at all (a capture without evidence fails with `no_evidence`).
    pub require_evidence: bool,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        Self {
            challenge: ChallengeThresholds::default(),
            movement_tolerance: 0.8,
            neutral_slack: 5.0,
            template_fraction: 0.5,
            turned_factor: 1.2,
            require_evidence: true,
        }
    }
}

/// Why re-verification failed; stable snake_case names in the API's `Reasons`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyReason {
    /// The payload carries no evidence frames.
    NoEvidence,
    /// A passed challenge, or the template, has no frame (or two).
    MissingFrames,
    /// Frames out of order, or at other frame numbers than the payload's challenges.
    FramesOutOfOrder,
    /// A frame is not a decodable JPEG within the size limits.
    FrameUnreadable,
    /// A frame shows no face, several faces or half a face.
    FaceNotFound,
    /// The anti-spoof model scores the frames as a spoof.
    SpoofSuspected,
    /// The template frame does not give the sealed template.
    TemplateNotFromFrame,
    /// A frame shows someone other than the template's person.
    DifferentPerson,
    /// A challenge's frames do not show its movement.
    MovementNotShown,
    /// Two frames are the same picture (a still sent for several moments).
    RepeatedFrames,
    /// Neither challenges nor an anti-spoof model: nothing in the frames shows a live person.
    LivenessNotVerified,
}

impl VerifyReason {
    pub fn name(self) -> &'static str {
        match self {
            Self::NoEvidence => "no_evidence",
            Self::MissingFrames => "missing_frames",
            Self::FramesOutOfOrder => "frames_out_of_order",
            Self::FrameUnreadable => "frame_unreadable",
            Self::FaceNotFound => "face_not_found",
            Self::SpoofSuspected => "spoof_suspected",
            Self::TemplateNotFromFrame => "template_not_from_frame",
            Self::DifferentPerson => "different_person",
            Self::MovementNotShown => "movement_not_shown",
            Self::RepeatedFrames => "repeated_frames",
            Self::LivenessNotVerified => "liveness_not_verified",
        }
    }
}

/// Whether the anti-spoof model could be run on the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AntiSpoofCheck {
    Measured,
    /// The server's model set has no anti-spoof model: liveness rests on the movement checks.
    NoModel,
}

/// The outcome: passed, or the reasons (sorted, each once). No scores: they are a person's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub passed: bool,
    pub reasons: Vec<VerifyReason>,
    pub frames: u32,
    pub antispoof: AntiSpoofCheck,
}

/// Decodes an evidence JPEG into an upright RGB image, refusing oversized images before allocating.
pub fn decode_frame(jpeg: &[u8]) -> Result<RgbImage> {
    let bad = || Error::FrameBuffer("evidence frame is not a readable JPEG".into());
    let mut reader =
        image::ImageReader::with_format(std::io::Cursor::new(jpeg), image::ImageFormat::Jpeg);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(64 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|_| bad())?.into_rgb8();
    let (w, h) = img.dimensions();
    // The SDK's crops are at least 64 px a side; a sliver is no face.
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(bad());
    }
    RgbImage::from_raw(w, h, img.into_raw()).map_err(|_| bad())
}

/// One frame, analysed.
struct Seen<'a> {
    frame: &'a EvidenceFrame,
    face: Box<FaceAnalysis>,
}

/// Re-verifies an opened capture (see the module doc). `Err` only for the server's own failures
/// (a model that does not run); everything about the capture is in the verdict.
pub fn reverify(
    engine: &Engine,
    template: &Template,
    payload: &Payload,
    cfg: &VerifyConfig,
) -> Result<Verdict> {
    let mut reasons = Vec::new();
    let antispoof = if engine.has_antispoof() {
        AntiSpoofCheck::Measured
    } else {
        AntiSpoofCheck::NoModel
    };
    let frames = &payload.evidence;
    if frames.is_empty() {
        if cfg.require_evidence {
            reasons.push(VerifyReason::NoEvidence);
        }
        return Ok(verdict(reasons, 0, antispoof));
    }
    check_structure(payload, &mut reasons);
    for (i, f) in frames.iter().enumerate() {
        if frames[..i].iter().any(|g| g.jpeg == f.jpeg) {
            reasons.push(VerifyReason::RepeatedFrames);
            break;
        }
    }
    if payload.liveness.challenges.is_empty() && !engine.has_antispoof() {
        reasons.push(VerifyReason::LivenessNotVerified);
    }
    // A capture whose frames do not even fit together costs no model time.
    if !reasons.is_empty() {
        return Ok(verdict(reasons, frames.len(), antispoof));
    }

    let mut seen = Vec::with_capacity(frames.len());
    for f in frames {
        let Ok(img) = decode_frame(&f.jpeg) else {
            reasons.push(VerifyReason::FrameUnreadable);
            continue;
        };
        match engine.analyze(&img, engine.has_antispoof()) {
            Ok(face) => seen.push(Seen {
                frame: f,
                face: Box::new(face),
            }),
            // The models failing is the server's problem (500); anything else is the frame's.
            Err(e @ Error::Inference { .. }) => return Err(e),
            Err(_) => reasons.push(VerifyReason::FaceNotFound),
        }
    }

    if let Some(threshold) = engine.live_threshold() {
        let mut passive = PassiveLiveness::default();
        seen.iter()
            .filter_map(|s| s.face.live)
            .for_each(|l| passive.add(l));
        if !passive.evidence(threshold).is_some_and(|e| e.live) {
            reasons.push(VerifyReason::SpoofSuspected);
        }
    }

    check_identity(engine, payload, template, &seen, cfg, &mut reasons)?;
    check_movements(engine, payload, &seen, cfg, &mut reasons);
    Ok(verdict(reasons, frames.len(), antispoof))
}

fn verdict(mut reasons: Vec<VerifyReason>, frames: usize, antispoof: AntiSpoofCheck) -> Verdict {
    reasons.sort();
    reasons.dedup();
    Verdict {
        passed: reasons.is_empty(),
        reasons,
        frames: frames.try_into().unwrap_or(u32::MAX),
        antispoof,
    }
}

/// One template frame; neutral, action and return once per passed challenge, at the payload's frame
/// numbers, in order; the template frame after the last challenge.
fn check_structure(payload: &Payload, reasons: &mut Vec<VerifyReason>) {
    let frames = &payload.evidence;
    let one = |role: FrameRole, ch: Option<u32>| {
        let mut it = frames
            .iter()
            .filter(|f| f.role == role && f.challenge == ch);
        match (it.next(), it.next()) {
            (Some(f), None) => Some(f),
            _ => None,
        }
    };
    let Some(template) = one(FrameRole::Template, None) else {
        reasons.push(VerifyReason::MissingFrames);
        return;
    };
    let mut last = (0u64, 0u64);
    for (i, c) in payload.liveness.challenges.iter().enumerate() {
        let i = Some(i as u32);
        let (Some(n), Some(a), Some(r)) = (
            one(FrameRole::Neutral, i),
            one(FrameRole::Action, i),
            one(FrameRole::Return, i),
        ) else {
            reasons.push(VerifyReason::MissingFrames);
            return;
        };
        let ordered = n.frame >= last.0
            && n.frame < a.frame
            && a.frame <= r.frame
            && n.t_ms >= last.1
            && n.t_ms <= a.t_ms
            && a.t_ms <= r.t_ms
            && a.frame == c.action_frame
            && r.frame == c.passed_frame;
        if !ordered {
            reasons.push(VerifyReason::FramesOutOfOrder);
        }
        last = (r.frame, r.t_ms);
    }
    if template.frame < last.0 || template.t_ms < last.1 {
        reasons.push(VerifyReason::FramesOutOfOrder);
    }
}

fn is_turn_action(payload: &Payload, f: &EvidenceFrame) -> bool {
    f.role == FrameRole::Action
        && f.challenge
            .and_then(|i| payload_kind(payload, i))
            .is_some_and(|k| {
                matches!(
                    k,
                    ChallengeKind::TurnLeft | ChallengeKind::TurnRight | ChallengeKind::LookUp
                )
            })
}

fn payload_kind(payload: &Payload, index: u32) -> Option<ChallengeKind> {
    payload
        .liveness
        .challenges
        .get(index as usize)
        .map(|c| c.kind)
}

/// The template from the template frame; the template's person in every (frontal) frame.
fn check_identity(
    engine: &Engine,
    payload: &Payload,
    template: &Template,
    seen: &[Seen<'_>],
    cfg: &VerifyConfig,
    reasons: &mut Vec<VerifyReason>,
) -> Result<()> {
    let metric = template.metric();
    let threshold = engine.match_threshold();
    // The template frame's own tolerance: a fraction of the match threshold's distance.
    let strict = match metric {
        crate::matching::Metric::Euclidean => threshold * cfg.template_fraction,
        crate::matching::Metric::Cosine => 1.0 - (1.0 - threshold) * cfg.template_fraction,
    };
    // A turned head's own tolerance: a multiple of the match threshold's distance.
    let turned = match metric {
        crate::matching::Metric::Euclidean => threshold * cfg.turned_factor,
        crate::matching::Metric::Cosine => 1.0 - (1.0 - threshold) * cfg.turned_factor,
    };
    for s in seen {
        let emb = engine.embed(&s.face)?;
        let score = metric.score(emb.values(), template.values());
        let limit = if is_turn_action(payload, s.frame) {
            turned
        } else {
            threshold
        };
        if s.frame.role == FrameRole::Template {
            if !metric.is_match(score, strict) {
                reasons.push(VerifyReason::TemplateNotFromFrame);
            }
        } else if !metric.is_match(score, limit) {
            reasons.push(VerifyReason::DifferentPerson);
        }
    }
    Ok(())
}

/// What the device measured, measured again on the evidence frames.
fn check_movements(
    engine: &Engine,
    payload: &Payload,
    seen: &[Seen<'_>],
    cfg: &VerifyConfig,
    reasons: &mut Vec<VerifyReason>,
) {
    let th = &cfg.challenge;
    let tol = cfg.movement_tolerance;
    let neutral_max = th.neutral_angle + cfg.neutral_slack;
    let closed_below = engine.manifest().eyes.closed_below;
    for (i, c) in payload.liveness.challenges.iter().enumerate() {
        let get = |role| {
            seen.iter()
                .find(|s| s.frame.role == role && s.frame.challenge == Some(i as u32))
                .map(|s| &*s.face)
        };
        let (Some(n), Some(a), Some(r)) = (
            get(FrameRole::Neutral),
            get(FrameRole::Action),
            get(FrameRole::Return),
        ) else {
            // Missing or unreadable frames are already a reason.
            continue;
        };
        let neutral =
            |f: &FaceAnalysis| f.pose.yaw.abs() <= neutral_max && f.pose.pitch.abs() <= neutral_max;
        let shown = neutral(n)
            && neutral(r)
            && match c.kind {
                // `analyze` reads every still's eyes with Iris: `None` does not happen.
                ChallengeKind::Blink => match (n.eyes, a.eyes, r.eyes) {
                    (Some(n), Some(a), Some(r)) => {
                        a.ratio() < closed_below * n.ratio().max(r.ratio())
                    }
                    _ => false,
                },
                ChallengeKind::TurnLeft => a.pose.yaw >= th.turn_angle * tol,
                ChallengeKind::TurnRight => -a.pose.yaw >= th.turn_angle * tol,
                ChallengeKind::LookUp => a.pose.pitch >= th.look_up_angle * tol,
                ChallengeKind::Smile => {
                    let (mn, ma) = (mouth_ratio(n), mouth_ratio(a));
                    mn > 0.0 && ma / mn - 1.0 >= th.smile_gain * tol
                }
            };
        if !shown {
            reasons.push(VerifyReason::MovementNotShown);
        }
    }
}

/// Mouth width over the distance between the eye centres (the challenges' own measure).
fn mouth_ratio(f: &FaceAnalysis) -> f32 {
    let p = &f.five_points;
    p[3].dist(p[4]) / p[0].dist(p[1]).max(1e-3)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn decode_refuses_non_jpeg_and_huge_images() {
        assert!(decode_frame(b"not a jpeg").is_err());
        assert!(decode_frame(&[0xFF, 0xD8, 0xFF]).is_err());
        // A valid JPEG header announcing 65000 × 65000 pixels: refused before allocating.
        let encode = |side: u32| {
            let mut img = image::RgbImage::new(side, side);
            img.put_pixel(0, 0, image::Rgb([1, 2, 3]));
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
                .encode_image(&img)
                .unwrap();
            jpeg
        };
        // 8 × 8 is below the smallest side a frame may have; 64 × 64 decodes.
        assert!(decode_frame(&encode(8)).is_err());
        let mut jpeg = encode(64);
        assert_eq!(decode_frame(&jpeg).unwrap().width(), 64);
        let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
        assert!(decode_frame(&jpeg).is_err());
    }
}
