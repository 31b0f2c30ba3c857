//! `CaptureSession`: frames in, guidance out, and at the end a template with its liveness evidence.
//! This is the only module that knows the order of the stages (see ARCHITECTURE.md).
//!
//! Per frame: convert once to RGB; follow the face with the mesh (the landmarks of frame n give the
//! ROI of frame n+1) and run the detector only when the track is lost or on sampled frames (a second
//! face, passive liveness); check the person is still the one seen at positioning; then advance
//! positioning → challenges → capturing → done.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::CaptureConfig;
use crate::error::{Error, ErrorCode, Result};
use crate::frame::{Frame, RgbImage};
use crate::liveness::LivenessMode;
use crate::liveness::active::{
    Challenge, ChallengeEvidence, ChallengeKind, FaceSignals, draw_challenges,
};
use crate::liveness::passive::{PassiveEvidence, PassiveLiveness};
use crate::rasp::{Decision, EnvironmentReport};
use crate::seal::payload::{ModelRef, PAYLOAD_VERSION, current_platform};
use crate::seal::{Payload, PublicKey, SealError, SealedCapture, Template};
use crate::vision::{
    BoxF, Detection, Embedding, Engine, FaceAnalysis, MeshResult, Quality, QualityIssue,
};

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
    fn for_challenge(k: ChallengeKind) -> Self {
        match k {
            ChallengeKind::Blink => Self::Blink,
            ChallengeKind::TurnLeft => Self::TurnLeft,
            ChallengeKind::TurnRight => Self::TurnRight,
            ChallengeKind::LookUp => Self::LookUp,
            ChallengeKind::Smile => Self::Smile,
        }
    }

    fn for_issue(i: QualityIssue) -> Self {
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
    pub challenge_index: Option<usize>,
    pub challenge_count: usize,
    /// Set when `step` is `Failed`.
    pub error_code: Option<ErrorCode>,
}

/// How the capture proved liveness; goes sealed into the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LivenessEvidence {
    pub mode: LivenessMode,
    /// True when the challenges were fixed for a replay (desktop harness): not a live capture.
    pub test_mode: bool,
    pub challenges_asked: Vec<ChallengeKind>,
    pub challenges: Vec<ChallengeEvidence>,
    pub passive: Option<PassiveEvidence>,
    /// Lowest similarity between the positioning face and any later check.
    pub identity_min_similarity: f32,
    pub identity_checks: u32,
    pub frames: u64,
    pub detector_runs: u64,
    pub duration_ms: u64,
}

/// A successful capture. The template is plaintext here; seal it before it leaves the SDK.
#[derive(Debug, Clone)]
pub struct CaptureResult {
    pub session_id: [u8; 16],
    pub template: Template,
    pub evidence: LivenessEvidence,
    /// Quality of the frame the template came from.
    pub quality: Quality,
    pub template_frame: u64,
    /// The RASP report the capture started with.
    pub environment: EnvironmentReport,
}

impl CaptureResult {
    /// The metadata payload for this capture, valid from `issued_at` (unix seconds) for
    /// `lifetime_secs`.
    pub fn payload(&self, engine: &Engine, issued_at: u64, lifetime_secs: u64) -> Payload {
        let m = engine.manifest();
        Payload {
            v: PAYLOAD_VERSION,
            sdk_version: crate::SDK_VERSION.into(),
            platform: current_platform().into(),
            session_id: hex::encode(self.session_id),
            issued_at,
            expires_at: issued_at.saturating_add(lifetime_secs),
            template_model: self.template.model_id().into(),
            models: m
                .models()
                .iter()
                .map(|(role, spec)| ModelRef {
                    role: (*role).into(),
                    id: spec.id.clone(),
                    sha256: spec.sha256.clone(),
                })
                .collect(),
            liveness: serde_json::to_value(&self.evidence).unwrap_or_default(),
            quality: serde_json::to_value(self.quality).unwrap_or_default(),
            environment: self.environment.to_json(),
            test_mode: self.evidence.test_mode,
        }
    }

    /// Seals template and payload for the bank's server (see `seal`).
    pub fn seal(
        &self,
        engine: &Engine,
        server_key: &PublicKey,
        issued_at: u64,
        lifetime_secs: u64,
    ) -> std::result::Result<SealedCapture, SealError> {
        crate::seal::seal_capture(
            server_key,
            &self.template,
            &self.payload(engine, issued_at, lifetime_secs),
        )
    }
}

enum State {
    Positioning { good: u32 },
    Challenge { index: usize, current: Challenge },
    Capturing { seen: u32 },
    Done(Box<CaptureResult>),
    Failed(Error),
}

/// The face followed from frame to frame.
struct Track {
    mesh: MeshResult,
    face: BoxF,
}

/// What one frame showed.
enum Observation {
    NoFace,
    SeveralFaces,
    Partial(BoxF),
    Face(Box<FaceAnalysis>),
}

struct Candidate {
    score: f32,
    frame: u64,
    quality: Quality,
    embedding: Embedding,
}

pub struct CaptureSession {
    engine: Arc<Engine>,
    cfg: CaptureConfig,
    challenges: Vec<ChallengeKind>,
    test_mode: bool,
    session_id: [u8; 16],
    state: State,
    frame_index: u64,
    start_ms: Option<u64>,
    last_ms: u64,
    track: Option<Track>,
    reference: Option<Embedding>,
    identity_min: f32,
    identity_checks: u32,
    detector_runs: u64,
    passive: PassiveLiveness,
    evidence: Vec<ChallengeEvidence>,
    best: Option<Candidate>,
    environment: EnvironmentReport,
}

impl std::fmt::Debug for CaptureSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureSession")
            .field("frames", &self.frame_index)
            .finish_non_exhaustive()
    }
}

impl CaptureSession {
    /// Starts a capture in an environment the RASP checks have judged (`rasp::check_environment`). A
    /// blocking report fails here, before any camera work.
    pub fn new(
        engine: Arc<Engine>,
        cfg: CaptureConfig,
        environment: EnvironmentReport,
    ) -> Result<Self> {
        cfg.validate()?;
        if environment.decision == Decision::Block {
            let threats: Vec<String> = environment
                .blocking
                .iter()
                .map(|t| {
                    serde_json::to_value(t)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                })
                .collect();
            return Err(Error::EnvironmentBlocked {
                threats: threats.join(", "),
            });
        }
        let mut rng = rand::rng();
        let (challenges, test_mode) = if !cfg.liveness.active() {
            (vec![], false)
        } else if let Some(fixed) = &cfg.fixed_challenges {
            (fixed.clone(), true)
        } else {
            (
                draw_challenges(&cfg.challenge_pool, cfg.challenge_count, &mut rng),
                false,
            )
        };
        Ok(Self {
            engine,
            cfg,
            challenges,
            test_mode,
            session_id: crate::seal::payload::new_session_id(&mut rng),
            state: State::Positioning { good: 0 },
            frame_index: 0,
            start_ms: None,
            last_ms: 0,
            track: None,
            reference: None,
            identity_min: 1.0,
            identity_checks: 0,
            detector_runs: 0,
            passive: PassiveLiveness::default(),
            evidence: Vec::new(),
            best: None,
            environment,
        })
    }

    /// The challenges this session will ask, in order (the UI may show them up front).
    pub fn challenges(&self) -> &[ChallengeKind] {
        &self.challenges
    }

    pub fn session_id(&self) -> [u8; 16] {
        self.session_id
    }

    /// Feeds one camera frame with its capture time (ms, monotonic). A malformed frame returns an error
    /// and leaves the session as it was; everything else is reported through the guidance.
    pub fn push_frame(&mut self, frame: &Frame, t_ms: u64) -> Result<Guidance> {
        let rgb = frame.to_rgb()?;
        self.push_rgb(&rgb, t_ms)
    }

    /// As [`push_frame`](Self::push_frame) for an image already upright and RGB.
    pub fn push_rgb(&mut self, rgb: &RgbImage, t_ms: u64) -> Result<Guidance> {
        if let State::Done(_) | State::Failed(_) = self.state {
            return Ok(self.guidance(None));
        }
        // Camera clocks can jitter backwards: time never decreases inside a session.
        let t_ms = t_ms.max(self.last_ms);
        self.last_ms = t_ms;
        let start = *self.start_ms.get_or_insert(t_ms);
        let frame_no = self.frame_index;
        self.frame_index += 1;
        if t_ms.saturating_sub(start) > self.cfg.overall_timeout_ms {
            return Ok(self.fail(Error::CaptureTimeout, None));
        }
        let (obs, reacquired) = self.observe(rgb, frame_no)?;
        let face = match obs {
            Observation::Face(f) => f,
            other => return Ok(self.no_usable_face(other, t_ms)),
        };
        if !self.same_person(&face, frame_no, reacquired)? {
            return Ok(self.fail(Error::FaceChanged, Some(face_box(&face))));
        }
        self.advance(face, frame_no, t_ms)
    }

    /// Stops the capture; `finish` then reports `Cancelled`.
    pub fn cancel(&mut self) {
        if !matches!(self.state, State::Done(_)) {
            self.state = State::Failed(Error::Cancelled);
        }
    }

    /// The result once the guidance says `Done`, or the failure.
    pub fn finish(self) -> Result<CaptureResult> {
        match self.state {
            State::Done(r) => Ok(*r),
            State::Failed(e) => Err(e),
            _ => Err(Error::CaptureIncomplete),
        }
    }

    /// Runs the detector: the one face, or what to tell the user instead.
    fn detect_single(
        &mut self,
        rgb: &RgbImage,
    ) -> Result<std::result::Result<Detection, Observation>> {
        self.detector_runs += 1;
        let mut faces = self.engine.detect(rgb)?;
        Ok(match (faces.pop(), faces.is_empty()) {
            (None, _) => {
                self.track = None;
                Err(Observation::NoFace)
            }
            (Some(d), true) => Ok(d),
            (Some(_), false) => Err(Observation::SeveralFaces),
        })
    }

    /// Detect or track, then analyse the one face.
    fn observe(&mut self, rgb: &RgbImage, frame_no: u64) -> Result<(Observation, bool)> {
        if !self.cfg.tracking {
            self.track = None;
        }
        let sample = frame_no.is_multiple_of(self.cfg.sample_every as u64);
        let mut detection: Option<Detection> = None;
        if self.track.is_none() || sample {
            match self.detect_single(rgb)? {
                Ok(d) => detection = Some(d),
                Err(obs) => return Ok((obs, false)),
            }
        }
        // Mesh: on the tracked ROI when there is a track, else from the detection.
        let mut reacquired = self.track.is_none();
        let mut mesh = match &self.track {
            Some(t) => self
                .engine
                .mesh_at(rgb, &self.engine.mesh().roi_from_landmarks(&t.mesh))?,
            None => None,
        };
        if mesh.is_none() {
            if detection.is_none() {
                match self.detect_single(rgb)? {
                    Ok(d) => detection = Some(d),
                    Err(obs) => return Ok((obs, false)),
                }
            }
            reacquired = true;
            if let Some(d) = &detection {
                mesh = self.engine.mesh_at(rgb, &self.engine.roi_for(d))?;
            }
        }
        let Some(mesh) = mesh else {
            self.track = None;
            return Ok((Observation::NoFace, false));
        };
        let face = mesh.bounds();
        if let Some(t) = &self.track {
            let jump = t.face.centre().dist(face.centre()) / t.face.height().max(1.0);
            if jump > self.cfg.max_track_jump {
                reacquired = true;
            }
        }
        // Passive samples follow the sampling schedule whether or not the detector also ran for tracking.
        let with_antispoof = sample && detection.is_some() && self.cfg.liveness.passive();
        let analysis = match self
            .engine
            .analyze_mesh(rgb, detection, mesh.clone(), with_antispoof)
        {
            Ok(a) => a,
            Err(Error::PartialFace { .. }) => {
                self.track = None;
                return Ok((Observation::Partial(face), false));
            }
            Err(e) => return Err(e),
        };
        if let Some(live) = analysis.live {
            self.passive.add(live);
        }
        self.track = Some(Track { mesh, face });
        Ok((Observation::Face(Box::new(analysis)), reacquired))
    }

    fn same_person_threshold(&self) -> f32 {
        self.cfg
            .same_person_threshold
            .unwrap_or_else(|| self.engine.match_threshold())
    }

    /// Still the person seen at positioning? Checked on re-acquisition and every `identity_every` frames
    /// (true when not checked on this frame).
    fn same_person(
        &mut self,
        face: &FaceAnalysis,
        frame_no: u64,
        reacquired: bool,
    ) -> Result<bool> {
        let Some(reference) = &self.reference else {
            return Ok(true);
        };
        // Offset by half a period so the embedding rarely lands on a detector/anti-spoof frame: that
        // keeps the slowest frames (p95) down.
        let every = self.cfg.identity_every as u64;
        if !reacquired && !(frame_no + every / 2).is_multiple_of(every) {
            return Ok(true);
        }
        let emb = self.engine.embed(face)?;
        let sim = reference.cosine(&emb);
        self.identity_checks += 1;
        self.identity_min = self.identity_min.min(sim);
        Ok(sim >= self.same_person_threshold())
    }

    fn no_usable_face(&mut self, obs: Observation, t_ms: u64) -> Guidance {
        let (prompt, bbox) = match obs {
            Observation::NoFace => (Prompt::NoFace, None),
            Observation::SeveralFaces => (Prompt::SeveralFaces, None),
            Observation::Partial(b) => (Prompt::CentreFace, Some(b)),
            Observation::Face(_) => (Prompt::HoldStill, None),
        };
        if let State::Positioning { good } = &mut self.state {
            *good = 0;
        }
        if let Some(e) = self.challenge_timed_out(t_ms) {
            return self.fail(e, bbox);
        }
        self.guidance_with(prompt, bbox)
    }

    fn challenge_timed_out(&self, t_ms: u64) -> Option<Error> {
        match &self.state {
            State::Challenge { current, .. }
                if t_ms.saturating_sub(current.started_ms()) > self.cfg.challenge_timeout_ms =>
            {
                Some(Error::ChallengeFailed {
                    challenge: current.kind().name().into(),
                })
            }
            _ => None,
        }
    }

    fn advance(&mut self, face: Box<FaceAnalysis>, frame_no: u64, t_ms: u64) -> Result<Guidance> {
        let bbox = Some(face_box(&face));
        let issues = self.cfg.quality.issues(&face.quality);
        match &mut self.state {
            State::Positioning { good } => {
                // Eyes and pose are the challenges' business; positioning wants size, light, centre, focus.
                let blocking: Vec<QualityIssue> = issues
                    .iter()
                    .copied()
                    .filter(|i| !matches!(i, QualityIssue::EyesClosed | QualityIssue::NotFrontal))
                    .collect();
                if let Some(first) = blocking.first() {
                    *good = 0;
                    return Ok(self.guidance_with(Prompt::for_issue(*first), bbox));
                }
                *good += 1;
                if *good < self.cfg.positioning_frames {
                    return Ok(self.guidance_with(Prompt::HoldStill, bbox));
                }
                self.reference = Some(self.engine.embed(&face)?);
                self.state = match self.challenges.first() {
                    Some(k) => State::Challenge {
                        index: 0,
                        current: Challenge::new(*k, self.cfg.challenge.clone(), t_ms),
                    },
                    None => State::Capturing { seen: 0 },
                };
                Ok(self.guidance(bbox))
            }
            State::Challenge { index, current } => {
                let signals = signals(&face, frame_no, t_ms);
                if let Some(ev) = current.update(signals) {
                    self.evidence.push(ev);
                    let next = *index + 1;
                    self.state = match self.challenges.get(next) {
                        Some(k) => State::Challenge {
                            index: next,
                            current: Challenge::new(*k, self.cfg.challenge.clone(), t_ms),
                        },
                        None => State::Capturing { seen: 0 },
                    };
                    return Ok(self.guidance(bbox));
                }
                if let Some(e) = self.challenge_timed_out(t_ms) {
                    return Ok(self.fail(e, bbox));
                }
                Ok(self.guidance(bbox))
            }
            State::Capturing { seen } => {
                *seen += 1;
                let seen = *seen;
                if issues.is_empty() {
                    let score = face.quality.sharpness.min(500.0) / 500.0
                        - (face.pose.yaw.abs() + face.pose.pitch.abs()) / 90.0;
                    if self.best.as_ref().is_none_or(|b| score > b.score) {
                        self.best = Some(Candidate {
                            score,
                            frame: frame_no,
                            quality: face.quality,
                            embedding: self.engine.embed(&face)?,
                        });
                    }
                }
                let passive_ready = !self.cfg.liveness.passive()
                    || self.passive.samples() >= self.cfg.passive_min_samples;
                if seen >= self.cfg.capture_frames && self.best.is_some() && passive_ready {
                    return Ok(self.complete(bbox, t_ms));
                }
                let prompt = issues
                    .first()
                    .map(|i| Prompt::for_issue(*i))
                    .unwrap_or(Prompt::HoldStill);
                Ok(self.guidance_with(prompt, bbox))
            }
            State::Done(_) | State::Failed(_) => Ok(self.guidance(bbox)),
        }
    }

    /// Passive decision, final identity check, template.
    fn complete(&mut self, bbox: Option<BoxF>, t_ms: u64) -> Guidance {
        let threshold = self
            .cfg
            .passive_threshold
            .unwrap_or_else(|| self.engine.live_threshold());
        let passive = self.passive.evidence(threshold);
        if self.cfg.liveness.passive() && !passive.as_ref().is_some_and(|p| p.live) {
            return self.fail(Error::SpoofSuspected, bbox);
        }
        let Some(best) = self.best.take() else {
            return self.fail(Error::CaptureIncomplete, bbox);
        };
        if let Some(reference) = &self.reference {
            let sim = reference.cosine(&best.embedding);
            self.identity_checks += 1;
            self.identity_min = self.identity_min.min(sim);
            if sim < self.same_person_threshold() {
                return self.fail(Error::FaceChanged, bbox);
            }
        }
        let model_id = self.engine.manifest().embedder.model.id.clone();
        let template = match Template::new(&model_id, best.embedding.values().to_vec()) {
            Ok(t) => t,
            Err(_) => return self.fail(Error::CaptureIncomplete, bbox),
        };
        let evidence = LivenessEvidence {
            mode: self.cfg.liveness,
            test_mode: self.test_mode,
            challenges_asked: self.challenges.clone(),
            challenges: self.evidence.clone(),
            passive,
            identity_min_similarity: self.identity_min,
            identity_checks: self.identity_checks,
            frames: self.frame_index,
            detector_runs: self.detector_runs,
            duration_ms: t_ms.saturating_sub(self.start_ms.unwrap_or(t_ms)),
        };
        self.state = State::Done(Box::new(CaptureResult {
            session_id: self.session_id,
            template,
            evidence,
            quality: best.quality,
            template_frame: best.frame,
            environment: self.environment.clone(),
        }));
        self.guidance(bbox)
    }

    fn fail(&mut self, e: Error, bbox: Option<BoxF>) -> Guidance {
        self.state = State::Failed(e);
        self.guidance(bbox)
    }

    fn guidance(&self, bbox: Option<BoxF>) -> Guidance {
        let prompt = match &self.state {
            State::Positioning { .. } | State::Capturing { .. } => Prompt::HoldStill,
            State::Challenge { current, .. } => Prompt::for_challenge(current.kind()),
            State::Done(_) => Prompt::Done,
            State::Failed(_) => Prompt::Failed,
        };
        self.guidance_with(prompt, bbox)
    }

    fn guidance_with(&self, prompt: Prompt, bbox: Option<BoxF>) -> Guidance {
        let n = self.challenges.len();
        let (step, progress, challenge_index, error_code) = match &self.state {
            State::Positioning { good } => (
                Step::Positioning,
                0.2 * (*good as f32 / self.cfg.positioning_frames as f32).min(1.0),
                None,
                None,
            ),
            State::Challenge { index, current } => (
                Step::Challenge,
                0.2 + 0.6 * (*index as f32 + current.progress()) / n.max(1) as f32,
                Some(*index),
                None,
            ),
            State::Capturing { seen } => (
                Step::Capturing,
                0.8 + 0.2 * (*seen as f32 / self.cfg.capture_frames as f32).min(1.0),
                None,
                None,
            ),
            State::Done(_) => (Step::Done, 1.0, None, None),
            State::Failed(e) => (Step::Failed, 0.0, None, Some(e.code())),
        };
        // In a challenge, the challenge prompt wins over positioning hints unless there is no face.
        let prompt = match (&self.state, prompt) {
            (State::Challenge { current, .. }, p)
                if !matches!(
                    p,
                    Prompt::NoFace | Prompt::SeveralFaces | Prompt::CentreFace
                ) =>
            {
                Prompt::for_challenge(current.kind())
            }
            (State::Failed(_), _) => Prompt::Failed,
            (State::Done(_), _) => Prompt::Done,
            (_, p) => p,
        };
        Guidance {
            step,
            prompt,
            progress,
            face_box: bbox,
            challenge_index,
            challenge_count: n,
            error_code,
        }
    }
}

fn face_box(f: &FaceAnalysis) -> BoxF {
    f.face_box
}

/// What the challenges see of a frame.
fn signals(f: &FaceAnalysis, frame: u64, t_ms: u64) -> FaceSignals {
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
