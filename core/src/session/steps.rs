//! The step machine: positioning → challenges → capturing → done (or failed), one face at a time.

use crate::error::Error;
use crate::liveness::active::{Challenge, FaceSignals};
use crate::vision::{Embedding, FaceAnalysis, Quality};

use super::result::CaptureResult;

pub(super) enum State {
    Positioning {
        good: u32,
    },
    Challenge {
        index: usize,
        current: Challenge,
    },
    Capturing {
        seen: u32,
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
    pub embedding: Embedding,
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

/// What the challenges see of a frame.
pub(super) fn signals(f: &FaceAnalysis, frame: u64, t_ms: u64) -> FaceSignals {
    let p = &f.five_points;
    let eyes = p[0].dist(p[1]).max(1e-3);
    FaceSignals {
        frame,
        t_ms,
        yaw: f.pose.yaw,
        pitch: f.pose.pitch,
        eyes_closed: f.eyes.closed,
        mouth_ratio: p[3].dist(p[4]) / eyes,
    }
}
