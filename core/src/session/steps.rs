//! The step machine: positioning → challenges → capturing → done (or failed), one face at a time.

use crate::error::Error;
use crate::liveness::active::{Challenge, FaceSignals};
use crate::liveness::parallax::Parallax;
use crate::vision::{Embedding, FaceAnalysis, Quality};

use super::result::CaptureResult;

pub(super) enum State {
    Positioning {
        good: u32,
    },
    Challenge {
        index: usize,
        current: Box<Challenge>,
    },
    Capturing {
        seen: u32,
    },
    /// The template frame is chosen; the model results asked for up to here are applied on the frame
    /// `at` (the worker's lag), then the capture completes.
    Finishing {
        at: u64,
    },
    Done(Box<CaptureResult>),
    Failed(Error),
    /// The result was taken by `finish`.
    Consumed,
}

/// The best template frame so far in `Capturing`.
pub(super) struct Candidate {
    pub score: f32,
    pub frame: u64,
    pub quality: Quality,
    /// Arrives from the model worker a few frames later.
    pub embedding: Option<Embedding>,
    /// The frame's face region for the evidence (when evidence frames are on).
    pub crop: Option<super::evidence::Crop>,
}

impl Candidate {
    /// Sharp and frontal is best.
    pub(super) fn score(face: &FaceAnalysis) -> f32 {
        face.quality.sharpness.min(500.0) / 500.0
            - (face.pose.yaw.abs() + face.pose.pitch.abs()) / 90.0
    }
}

/// What the session adds to a frame's own measures for the challenges.
pub(super) struct FrameFacts {
    pub frame: u64,
    pub t_ms: u64,
    /// Closed for this user (the Iris reading against their baseline; open where only the lids were
    /// read, see `CaptureSession::eye_read`).
    pub eyes_closed: bool,
    pub eye_relative: f32,
    pub eyes_reliable: bool,
    pub frozen: bool,
    pub parallax: Option<Parallax>,
}

/// What the challenges see of a frame.
pub(super) fn signals(f: &FaceAnalysis, facts: FrameFacts) -> FaceSignals {
    let p = &f.five_points;
    let eyes = p[0].dist(p[1]).max(1e-3);
    let c = f.face_box.centre();
    FaceSignals {
        frame: facts.frame,
        t_ms: facts.t_ms,
        yaw: f.pose.yaw,
        pitch: f.pose.pitch,
        eyes_closed: facts.eyes_closed,
        eye_relative: facts.eye_relative,
        eyes_reliable: facts.eyes_reliable,
        mouth_ratio: p[3].dist(p[4]) / eyes,
        frozen: facts.frozen,
        centre: (c.x, c.y),
        size: f.face_box.height(),
        parallax: facts.parallax,
    }
}

/// Proportions of the face (eye distance, eyes to nose, eyes to mouth, mouth width, over the face
/// height): another person's face put in the same place changes them at once, a moving head slowly.
pub(super) fn proportions(f: &FaceAnalysis) -> [f32; 4] {
    let p = &f.five_points;
    let h = f.face_box.height().max(1.0);
    let eyes_mid = crate::vision::Point::new((p[0].x + p[1].x) / 2.0, (p[0].y + p[1].y) / 2.0);
    let mouth_mid = crate::vision::Point::new((p[3].x + p[4].x) / 2.0, (p[3].y + p[4].y) / 2.0);
    [
        p[0].dist(p[1]) / h,
        eyes_mid.dist(p[2]) / h,
        eyes_mid.dist(mouth_mid) / h,
        p[3].dist(p[4]) / h,
    ]
}
