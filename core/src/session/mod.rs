//! `CaptureSession`: frames in, guidance out, and at the end a template with its liveness evidence.
//! This is the only module that knows the order of the stages (see ARCHITECTURE.md).
//!
//! Per frame: convert once to RGB; re-run the RASP checks when their (random) moment has come; follow
//! the face ([`tracking`]); check it is still the person seen at positioning ([`identity`]); then advance
//! the step machine ([`steps`]) and describe the state for the UI ([`guidance`]).

mod environment;
mod evidence;
mod guidance;
mod identity;
mod result;
mod steps;
mod tracking;

use std::sync::Arc;

use crate::config::CaptureConfig;
use crate::error::{Error, Result};
use crate::frame::{Frame, RgbImage};
use crate::liveness::active::{Challenge, ChallengeEvidence, ChallengeKind, draw_challenges};
use crate::liveness::eyes::EyeTracker;
use crate::liveness::passive::PassiveLiveness;
use crate::liveness::{LivenessEvidence, LivenessMode, PassiveOutcome};
use crate::rasp::EnvironmentChecks;
use crate::seal::{CaptureNonce, CaptureToken, ModelRef, SessionId, Template};
use crate::vision::{BoxF, Engine, FaceAnalysis, QualityIssue};

use environment::EnvironmentWatch;
use evidence::EvidenceRecorder;
pub use guidance::{Guidance, Prompt, Step};
use identity::Identity;
pub use result::CaptureResult;
use steps::{Candidate, State, signals};
use tracking::{Observation, Tracker};

pub struct CaptureSession {
    engine: Arc<Engine>,
    cfg: CaptureConfig,
    challenges: Vec<ChallengeKind>,
    test_mode: bool,
    session_id: SessionId,
    state: State,
    frame_index: u64,
    start_ms: Option<u64>,
    last_ms: u64,
    tracker: Tracker,
    identity: Identity,
    eyes: EyeTracker,
    /// The liveness mode asked for (`cfg.liveness` holds the one that runs with this model set).
    requested_liveness: LivenessMode,
    passive: PassiveLiveness,
    evidence: Vec<ChallengeEvidence>,
    best: Option<Candidate>,
    environment: EnvironmentWatch,
    recorder: EvidenceRecorder,
    capture_token: Option<CaptureNonce>,
}

impl std::fmt::Debug for CaptureSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureSession")
            .field("frames", &self.frame_index)
            .finish_non_exhaustive()
    }
}

impl CaptureSession {
    /// Starts a capture. The session runs the RASP `checks` itself, now and again during the capture;
    /// a blocking environment fails here with `EnvironmentBlocked` (6001), before any camera work.
    pub fn new(
        engine: Arc<Engine>,
        mut cfg: CaptureConfig,
        checks: Arc<EnvironmentChecks>,
    ) -> Result<Self> {
        cfg.validate()?;
        let requested_liveness = cfg.liveness;
        if !engine.has_antispoof() {
            cfg.liveness = match cfg.liveness {
                LivenessMode::Passive => {
                    return Err(Error::ConfigInvalid(
                        "passive liveness needs an anti-spoof model; this model set has none"
                            .into(),
                    ));
                }
                // Challenges only; the payload says the passive part had no model.
                LivenessMode::Both | LivenessMode::Active => LivenessMode::Active,
            };
        }
        if engine.metric() == crate::matching::Metric::Cosine
            && cfg.same_person_threshold.is_some_and(|t| t > 1.0)
        {
            return Err(Error::ConfigInvalid(
                "same_person_threshold is a cosine similarity here: at most 1".into(),
            ));
        }
        let token = match &cfg.capture_token {
            Some(text) => {
                Some(CaptureToken::parse(text).map_err(|e| Error::ConfigInvalid(e.to_string()))?)
            }
            None => None,
        };
        let token_challenges = token
            .as_ref()
            .map(|t| t.challenges.clone())
            .filter(|c| !c.is_empty());
        if token_challenges.is_some() && cfg.fixed_challenges.is_some() {
            return Err(Error::ConfigInvalid(
                "a capture token's challenges and fixed_challenges exclude each other".into(),
            ));
        }
        let environment = EnvironmentWatch::start(checks, cfg.environment_recheck_ms)?;
        let mut rng = rand::rng();
        let (challenges, test_mode) = if !cfg.liveness.active() {
            (vec![], false)
        } else if let Some(fixed) = &cfg.fixed_challenges {
            (fixed.clone(), true)
        } else if let Some(server_drawn) = token_challenges {
            (server_drawn, false)
        } else {
            (
                draw_challenges(&cfg.challenge_pool, cfg.challenge_count as usize, &mut rng),
                false,
            )
        };
        let same_person = cfg
            .same_person_threshold
            .unwrap_or_else(|| engine.match_threshold());
        let cfg_evidence = cfg.evidence.clone();
        Ok(Self {
            identity: Identity::new(engine.metric(), same_person),
            eyes: EyeTracker::new(&engine.manifest().eyes),
            engine,
            cfg,
            challenges,
            test_mode,
            session_id: SessionId::random(&mut rng),
            state: State::Positioning { good: 0 },
            frame_index: 0,
            start_ms: None,
            last_ms: 0,
            tracker: Tracker::default(),
            requested_liveness,
            passive: PassiveLiveness::default(),
            evidence: Vec::new(),
            best: None,
            environment,
            recorder: EvidenceRecorder::new(cfg_evidence),
            capture_token: token.map(|t| CaptureNonce::from_bytes(t.nonce)),
        })
    }

    /// The challenges this session will ask, in order (the UI may show them up front).
    pub fn challenges(&self) -> &[ChallengeKind] {
        &self.challenges
    }

    pub fn session_id(&self) -> SessionId {
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
        if self.is_over() {
            return Ok(self.guidance(None));
        }
        // Camera clocks can jitter backwards: time never decreases inside a session.
        let t_ms = t_ms.max(self.last_ms);
        self.last_ms = t_ms;
        let start = *self.start_ms.get_or_insert(t_ms);
        let elapsed = t_ms.saturating_sub(start);
        let frame_no = self.frame_index;
        self.frame_index += 1;
        if elapsed > self.cfg.overall_timeout_ms {
            return Ok(self.fail(Error::CaptureTimeout, None));
        }
        if let Err(e) = self.environment.tick(elapsed, frame_no, false) {
            return Ok(self.fail(e, None));
        }
        let (obs, reacquired) = self
            .tracker
            .observe(&self.engine, &self.cfg, rgb, frame_no)?;
        let mut face = match obs {
            Observation::Face(f) => f,
            other => return Ok(self.no_usable_face(other, t_ms)),
        };
        // Closed or open for this user: judged against their own open-eye baseline, which only frontal
        // frames teach.
        let frontal = face.pose.yaw.abs() <= self.cfg.challenge.neutral_angle
            && face.pose.pitch.abs() <= self.cfg.challenge.neutral_angle;
        face.eyes.closed = self.eyes.observe(face.eyes.ratio(), frontal);
        face.quality.eyes_open = !face.eyes.closed;
        if let Some(live) = face.live {
            self.passive.add(live);
        }
        let every = self.cfg.identity_every as u64;
        if !self
            .identity
            .scheduled_check(&self.engine, &face, frame_no, every, reacquired)?
        {
            return Ok(self.fail(Error::FaceChanged, Some(face.face_box)));
        }
        let step_before = self.step();
        let guidance = self.advance(face, rgb, frame_no, t_ms)?;
        // Every step change is a moment an attacker would pick: check the environment there too.
        if step_before != self.step()
            && !self.is_over()
            && let Err(e) = self.environment.tick(elapsed, frame_no, true)
        {
            return Ok(self.fail(e, guidance.face_box));
        }
        Ok(guidance)
    }

    /// Stops a capture in progress; `finish` then reports `Cancelled`. A capture already done or
    /// failed keeps its outcome (a cancel must not hide a 6001 or a 5003).
    pub fn cancel(&mut self) {
        if !self.is_over() {
            self.state = State::Failed(Error::Cancelled);
        }
    }

    /// The result once the guidance says `Done`, or the failure. Takes the result out: a second call
    /// reports `CaptureConsumed`.
    pub fn finish(&mut self) -> Result<CaptureResult> {
        match std::mem::replace(&mut self.state, State::Consumed) {
            State::Done(r) => Ok(*r),
            State::Failed(e) => {
                self.state = State::Failed(e.clone());
                Err(e)
            }
            State::Consumed => Err(Error::CaptureConsumed),
            other => {
                self.state = other;
                Err(Error::CaptureIncomplete)
            }
        }
    }

    fn is_over(&self) -> bool {
        matches!(
            self.state,
            State::Done(_) | State::Failed(_) | State::Consumed
        )
    }

    fn step(&self) -> Step {
        match &self.state {
            State::Positioning { .. } => Step::Positioning,
            State::Challenge { .. } => Step::Challenge,
            State::Capturing { .. } => Step::Capturing,
            State::Done(_) | State::Consumed => Step::Done,
            State::Failed(_) => Step::Failed,
        }
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

    fn next_challenge(&self, index: usize, t_ms: u64) -> State {
        match self.challenges.get(index) {
            Some(k) => State::Challenge {
                index,
                current: Challenge::new(*k, self.cfg.challenge.clone(), t_ms),
            },
            None => State::Capturing { seen: 0 },
        }
    }

    fn advance(
        &mut self,
        face: Box<FaceAnalysis>,
        rgb: &RgbImage,
        frame_no: u64,
        t_ms: u64,
    ) -> Result<Guidance> {
        let bbox = Some(face.face_box);
        let issues = self.cfg.quality.issues(&face.quality);
        match &mut self.state {
            State::Positioning { good } => {
                // Eyes and pose are the challenges' business; positioning wants size, light, centre, focus.
                let blocking = issues
                    .iter()
                    .find(|i| !matches!(i, QualityIssue::EyesClosed | QualityIssue::NotFrontal));
                if let Some(first) = blocking {
                    *good = 0;
                    return Ok(self.guidance_with(Prompt::for_issue(*first), bbox));
                }
                *good += 1;
                if *good < self.cfg.positioning_frames {
                    return Ok(self.guidance_with(Prompt::HoldStill, bbox));
                }
                self.identity.set_reference(self.engine.embed(&face)?);
                self.state = self.next_challenge(0, t_ms);
                Ok(self.guidance(bbox))
            }
            State::Challenge { index, current } => {
                let before = current.phase();
                let passed = current.update(signals(&face, frame_no, t_ms));
                let phases = (before, current.phase());
                let done = passed.as_ref().map(|_| *index as u32);
                self.recorder
                    .challenge_frame(rgb, &face.face_box, frame_no, t_ms, phases, done)?;
                if let Some(ev) = passed {
                    self.evidence.push(ev);
                    let next = *index + 1;
                    self.state = self.next_challenge(next, t_ms);
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
                    let score = Candidate::score(&face);
                    if self.best.as_ref().is_none_or(|b| score > b.score) {
                        self.best = Some(Candidate {
                            score,
                            frame: frame_no,
                            quality: face.quality,
                            embedding: self.engine.embed(&face)?,
                            crop: self
                                .recorder
                                .template_crop(rgb, &face.face_box, frame_no, t_ms),
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
            State::Done(_) | State::Failed(_) | State::Consumed => Ok(self.guidance(bbox)),
        }
    }

    /// Passive decision, final identity check, template.
    fn complete(&mut self, bbox: Option<BoxF>, t_ms: u64) -> Guidance {
        let passive = if self.cfg.liveness.passive() {
            let threshold = self.cfg.passive_threshold.or(self.engine.live_threshold());
            match threshold.and_then(|t| self.passive.evidence(t)) {
                Some(p) if p.live => PassiveOutcome::Measured(p),
                _ => return self.fail(Error::SpoofSuspected, bbox),
            }
        } else if self.requested_liveness.passive() {
            PassiveOutcome::NoModel
        } else {
            PassiveOutcome::NotRequested
        };
        let Some(mut best) = self.best.take() else {
            return self.fail(Error::CaptureIncomplete, bbox);
        };
        if !self.identity.compare(&best.embedding) {
            return self.fail(Error::FaceChanged, bbox);
        }
        let evidence_frames = match self.recorder.finish(best.crop.take()) {
            Ok(frames) => frames,
            Err(e) => return self.fail(e, bbox),
        };
        let manifest = self.engine.manifest();
        let template = match Template::new(
            &manifest.embedder.model.id,
            best.embedding.metric(),
            best.embedding.values().to_vec(),
        ) {
            Ok(t) => t,
            Err(e) => return self.fail(Error::Seal(e), bbox),
        };
        let models = manifest
            .models()
            .iter()
            .map(|(role, spec)| ModelRef {
                role: (*role).into(),
                id: spec.id.clone(),
                sha256: spec.sha256.clone(),
            })
            .collect();
        let evidence = LivenessEvidence {
            mode: self.cfg.liveness,
            test_mode: self.test_mode,
            challenges_asked: self.challenges.clone(),
            challenges: self.evidence.clone(),
            passive,
            identity: self.identity.evidence(),
            frames: self.frame_index,
            detector_runs: self.tracker.detector_runs(),
            duration_ms: t_ms.saturating_sub(self.start_ms.unwrap_or(t_ms)),
        };
        self.state = State::Done(Box::new(CaptureResult {
            session_id: self.session_id,
            template,
            evidence,
            quality: best.quality,
            template_frame: best.frame,
            environment: self.environment.report().clone(),
            models,
            checks: self.environment.checks().clone(),
            capture_token: self.capture_token,
            evidence_frames,
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
            State::Done(_) | State::Consumed => Prompt::Done,
            State::Failed(_) => Prompt::Failed,
        };
        self.guidance_with(prompt, bbox)
    }

    fn guidance_with(&self, prompt: Prompt, bbox: Option<BoxF>) -> Guidance {
        let n = self.challenges.len();
        let (progress, challenge_index, error_code) = match &self.state {
            State::Positioning { good } => (
                0.2 * (*good as f32 / self.cfg.positioning_frames as f32).min(1.0),
                None,
                None,
            ),
            State::Challenge { index, current } => (
                0.2 + 0.6 * (*index as f32 + current.progress()) / n.max(1) as f32,
                Some(*index as u32),
                None,
            ),
            State::Capturing { seen } => (
                0.8 + 0.2 * (*seen as f32 / self.cfg.capture_frames as f32).min(1.0),
                None,
                None,
            ),
            State::Done(_) | State::Consumed => (1.0, None, None),
            State::Failed(e) => (0.0, None, Some(e.code())),
        };
        // In a challenge, the challenge prompt wins over positioning hints unless there is no face.
        let prompt = match &self.state {
            State::Challenge { current, .. } if !prompt.is_about_presence() => {
                Prompt::for_challenge(current.kind())
            }
            State::Failed(_) => Prompt::Failed,
            State::Done(_) | State::Consumed => Prompt::Done,
            _ => prompt,
        };
        Guidance {
            step: self.step(),
            prompt,
            progress,
            face_box: bbox,
            challenge_index,
            challenge_count: n as u32,
            error_code,
        }
    }
}
