//! Records and enums that cross the FFI. Core enums are exported as they are (`uniffi::remote`); the
//! records are small FFI shapes with conversions, because core structs use types uniffi has no form for.

use smartid_core::liveness::LivenessMode;
use smartid_core::liveness::active::ChallengeKind;
use smartid_core::rasp::{Action, Threat};
use smartid_core::{FrameLayout, PixelFormat, Prompt, Rotation, Step};

use crate::error::SmartIdError;

#[uniffi::remote(Enum)]
pub enum PixelFormat {
    Rgb8,
    Rgba8,
    Bgra8,
    Nv21,
    Nv12,
    I420,
}

#[uniffi::remote(Enum)]
pub enum LivenessMode {
    Active,
    Passive,
    Both,
}

#[uniffi::remote(Enum)]
pub enum ChallengeKind {
    Blink,
    TurnLeft,
    TurnRight,
    LookUp,
    Smile,
}

#[uniffi::remote(Enum)]
pub enum Step {
    Positioning,
    Challenge,
    Capturing,
    Done,
    Failed,
}

#[uniffi::remote(Enum)]
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

/// One camera frame: its layout and its bytes (planes contiguous, see the core's `FrameLayout`).
#[derive(uniffi::Record)]
pub struct CameraFrame {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes per row of the first plane.
    pub row_stride: u32,
    /// Bytes per row of each chroma plane (YUV only; 0 otherwise).
    pub chroma_stride: u32,
    /// Clockwise rotation that makes the buffer upright: 0, 90, 180 or 270.
    pub rotation_degrees: u32,
    /// Capture time, ms on a monotonic clock.
    pub timestamp_ms: u64,
    pub data: Vec<u8>,
}

impl CameraFrame {
    pub(crate) fn layout(&self) -> Result<FrameLayout, SmartIdError> {
        Ok(FrameLayout {
            format: self.format,
            width: self.width,
            height: self.height,
            row_stride: self.row_stride,
            chroma_stride: self.chroma_stride,
            rotation: Rotation::from_degrees(self.rotation_degrees)?,
        })
    }
}

#[uniffi::remote(Enum)]
pub enum Threat {
    Debugger,
    Hooking,
    Root,
    WritableSystem,
    Emulator,
    Vpn,
    Proxy,
    MockLocation,
    LocationPolicy,
    AppTampered,
    DeviceSettings,
}

#[uniffi::remote(Enum)]
pub enum Action {
    Block,
    Report,
    Ignore,
}

/// One threat's action, replacing the policy's (e.g. block VPNs, or only report emulators in QA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct RaspOverride {
    pub threat: Threat,
    pub action: Action,
}

/// Which RASP policy the session applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RaspPolicyChoice {
    /// A bank's phone app: block debugger, hooking, root, emulator, tampering; report network facts.
    Mobile,
    /// Report everything, block nothing: desktop replay and development builds.
    ReportOnly,
}

/// What an app configures per capture. Defaults are the bank defaults of the core's `CaptureConfig`.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CaptureOptions {
    /// `Passive` needs a model set with an anti-spoof model (else 4001 at the start); `Both` without one
    /// runs the challenges alone and says so in the payload.
    pub liveness: LivenessMode,
    /// How many random challenges (active liveness).
    #[uniffi(default = 2)]
    pub challenge_count: u32,
    #[uniffi(default = 8000)]
    pub challenge_timeout_ms: u64,
    #[uniffi(default = 60000)]
    pub overall_timeout_ms: u64,
    /// Replay only: fixed challenges instead of a random draw. Marks the capture `test_mode`.
    #[uniffi(default = None)]
    pub fixed_challenges: Option<Vec<ChallengeKind>>,
    pub rasp_policy: RaspPolicyChoice,
    /// Per-threat actions replacing the policy's.
    #[uniffi(default = [])]
    pub rasp_overrides: Vec<RaspOverride>,
    /// Accepted app signing-certificate SHA-256s (hex); empty = not checked.
    #[uniffi(default = [])]
    pub expected_signatures: Vec<String>,
    /// The server-issued capture token (`SIDCT1:…`) the bank's backend obtained for this capture; its
    /// challenges replace the random draw. A malformed token fails the start with 4001.
    #[uniffi(default = None)]
    pub capture_token: Option<String>,
    /// Seal evidence frames (JPEG face crops) for the server to re-check. On by default; off, a server
    /// that requires them refuses the capture.
    #[uniffi(default = true)]
    pub evidence_frames: bool,
    /// The frames come from a live camera (the SDK's camera screens say so): their timestamps are
    /// then checked against the SDK's own monotonic clock, and frames stamped ahead of it (a
    /// recording replayed faster than real time) fail the capture with 5010. Off for recordings.
    #[uniffi(default = false)]
    pub live_camera: bool,
}

impl CaptureOptions {
    pub(crate) fn capture_config(&self) -> smartid_core::CaptureConfig {
        smartid_core::CaptureConfig {
            liveness: self.liveness,
            challenge_count: self.challenge_count,
            challenge_timeout_ms: self.challenge_timeout_ms,
            overall_timeout_ms: self.overall_timeout_ms,
            fixed_challenges: self.fixed_challenges.clone(),
            capture_token: self.capture_token.clone(),
            evidence: smartid_core::config::EvidenceConfig {
                enabled: self.evidence_frames,
                ..Default::default()
            },
            frame_clock_check: self.live_camera,
            ..smartid_core::CaptureConfig::default()
        }
    }

    pub(crate) fn rasp(
        &self,
    ) -> (
        smartid_core::rasp::RaspPolicy,
        smartid_core::rasp::RaspConfig,
    ) {
        let mut policy = match self.rasp_policy {
            RaspPolicyChoice::Mobile => smartid_core::rasp::RaspPolicy::mobile(),
            RaspPolicyChoice::ReportOnly => smartid_core::rasp::RaspPolicy::desktop(),
        };
        for o in &self.rasp_overrides {
            policy.set_action(o.threat, o.action);
        }
        let config = smartid_core::rasp::RaspConfig {
            expected_signatures: self.expected_signatures.clone(),
            ..Default::default()
        };
        (policy, config)
    }
}

/// The face in frame pixels (upright), for drawing an oval.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct FaceBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

/// What the UI should show after a frame.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Guidance {
    pub step: Step,
    pub prompt: Prompt,
    /// 0..1 over the whole capture.
    pub progress: f32,
    pub face_box: Option<FaceBox>,
    pub challenge_index: Option<u32>,
    pub challenge_count: u32,
    /// Set when `step` is `Failed`: the stable code.
    pub error_code: Option<u32>,
}

impl From<smartid_core::Guidance> for Guidance {
    fn from(g: smartid_core::Guidance) -> Self {
        Self {
            step: g.step,
            prompt: g.prompt,
            progress: g.progress,
            face_box: g.face_box.map(|b| FaceBox {
                x1: b.x1,
                y1: b.y1,
                x2: b.x2,
                y2: b.y2,
            }),
            challenge_index: g.challenge_index,
            challenge_count: g.challenge_count,
            error_code: g.error_code.map(|c| c.as_u16().into()),
        }
    }
}

/// What an app may show or log about a finished capture: no template, no scores of the person.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EvidenceSummary {
    pub session_id: String,
    /// The liveness that ran: `Both` asked of a model set without an anti-spoof model runs as `Active`
    /// (the payload says `passive: no_model`).
    pub liveness: LivenessMode,
    /// Fixed challenges (replay): a server should refuse it in production.
    pub test_mode: bool,
    pub challenges_passed: Vec<ChallengeKind>,
    pub frames: u64,
    pub duration_ms: u64,
    pub template_model: String,
    /// RASP findings over the whole capture (reported, not blocking).
    pub environment_findings: u32,
    pub environment_checks: u32,
}
