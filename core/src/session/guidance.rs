//! What the UI shows: the step, the prompt, progress and the face box. Built from the step machine's
//! state; nothing here decides anything.

use serde::Serialize;

use crate::error::ErrorCode;
use crate::liveness::active::ChallengeKind;
use crate::vision::{BoxF, QualityIssue};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Positioning,
    Challenge,
    Capturing,
    Done,
    Failed,
}

/// What the UI should tell the user now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    NoFace,
    SeveralFaces,
    MoveCloser,
    MoveBack,
    CentreFace,
    LookStraight,
    OpenEyes,
    TooDark,
    TooBright,
    Blurry,
    /// A face is there but the image is too poor to read it (heavy compression, noise, dim light):
    /// move closer to the light and hold the phone still.
    PoorImage,
    HoldStill,
    Blink,
    TurnLeft,
    TurnRight,
    LookUp,
    Smile,
    Done,
    Failed,
}

impl Prompt {
    pub(super) fn for_challenge(k: ChallengeKind) -> Self {
        match k {
            ChallengeKind::Blink => Self::Blink,
            ChallengeKind::TurnLeft => Self::TurnLeft,
            ChallengeKind::TurnRight => Self::TurnRight,
            ChallengeKind::LookUp => Self::LookUp,
            ChallengeKind::Smile => Self::Smile,
        }
    }

    pub(super) fn for_issue(i: QualityIssue) -> Self {
        match i {
            QualityIssue::TooDark => Self::TooDark,
            QualityIssue::TooBright => Self::TooBright,
            QualityIssue::TooFar => Self::MoveCloser,
            QualityIssue::TooClose => Self::MoveBack,
            QualityIssue::OffCentre => Self::CentreFace,
            QualityIssue::NotFrontal => Self::LookStraight,
            QualityIssue::EyesClosed => Self::OpenEyes,
            QualityIssue::Blurry => Self::Blurry,
        }
    }

    /// Prompts that say the face itself is missing or unusable, or the image too poor to read it;
    /// they win over a challenge's prompt.
    pub(super) fn is_about_presence(self) -> bool {
        matches!(
            self,
            Self::NoFace
                | Self::SeveralFaces
                | Self::CentreFace
                | Self::PoorImage
                | Self::TooDark
                | Self::TooBright
                | Self::Blurry
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guidance {
    pub step: Step,
    pub prompt: Prompt,
    /// 0..1 over the whole capture.
    pub progress: f32,
    /// The face in frame pixels (upright), for drawing an oval or a box.
    pub face_box: Option<BoxF>,
    /// Index of the current challenge (0-based) while in `Challenge`.
    pub challenge_index: Option<u32>,
    pub challenge_count: u32,
    /// Set when `step` is `Failed`.
    pub error_code: Option<ErrorCode>,
}
