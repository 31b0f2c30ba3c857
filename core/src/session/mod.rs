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
mod schedule;
mod steps;
mod tracking;
mod worker;

use std::sync::Arc;

use rand::SeedableRng as _;
use rand::rngs::StdRng;

use crate::config::CaptureConfig;
use crate::error::{Error, Result};
use crate::frame::{Frame, RgbImage};
use crate::liveness::active::{
    Challenge, ChallengeEvidence, ChallengeKind, Phase, draw_challenges,
};
use crate::liveness::eyes::{EyeTracker, LidGate};
use crate::liveness::parallax;
use crate::liveness::passive::PassiveLiveness;
use crate::liveness::{LivenessEvidence, LivenessMode, PassiveOutcome};
use crate::profile::{self, StageTimes};
use crate::rasp::EnvironmentChecks;
use crate::seal::{CaptureNonce, CaptureToken, ModelRef, SessionId, Template};
use crate::vision::{BoxF, Engine, EyeRead, FaceAnalysis, Point, QualityIssue};

use environment::EnvironmentWatch;
use evidence::EvidenceRecorder;
pub use guidance::{Guidance, Prompt, Step};
use identity::Identity;
pub use result::CaptureResult;
use schedule::RandomSchedule;
use steps::{Candidate, FrameFacts, State, proportions, signals};
use tracking::{Observation, Tracker};
use worker::{Job, ModelWorker, Output, Purpose};

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
    /// When the Iris model must read the eyes on frames where nothing else asks for it.
    lids: LidGate,
    /// The liveness mode asked for (`cfg.liveness` holds the one that runs with this model set).
    requested_liveness: LivenessMode,
    passive: PassiveLiveness,
    evidence: Vec<ChallengeEvidence>,
    best: Option<Candidate>,
    environment: EnvironmentWatch,
    recorder: EvidenceRecorder,
    capture_token: Option<CaptureNonce>,
    /// CSPRNG-drawn frames for the detector (+ anti-spoof) and for identity.
    detect_schedule: RandomSchedule,
    identity_schedule: RandomSchedule,
    /// CSPRNG-drawn frames on which Iris reads the eyes whatever the lids say.
    iris_schedule: RandomSchedule,
    /// The SDK's own monotonic clock (ms) and its reading at the first frame.
    clock: Box<dyn Fn() -> u64 + Send>,
    wall_start: Option<u64>,
    /// A digest of the last frame: a byte copy of it is a frozen frame.
    last_digest: Option<u64>,
    /// Frames in `Capturing` and how many were frozen (passive-only evidence).
    capture_seen: u32,
    capture_frozen: u32,
    capture_started_ms: Option<u64>,
    /// The current challenge's last neutral frame (landmarks, depth, face height) for parallax.
    neutral_ref: Option<(Vec<Point>, Vec<f32>, f32)>,
    last_proportions: Option<[f32; 4]>,
    /// This frame's face was already compared with the reference.
    identity_checked: bool,
    /// Embeddings and the anti-spoof model, off the camera thread.
    worker: ModelWorker,
    /// The reference embedding was asked for: identity checks from here on.
    reference_asked: bool,
    /// Stage times of the last `push_frame` on the caller's thread.
    frame_times: StageTimes,
}

/// How much the face's proportions may change between two frames before identity is checked at once.
const PROPORTION_JUMP: f32 = 0.08;
/// Iris reads the eyes on one drawn frame in this many (on average) where nothing else asks for it.
const IRIS_DRAWN_EVERY: u32 = 4;
/// Frame stamps may run ahead of the SDK's clock by this much (ms) plus 10 % before they are suspect.
const CLOCK_SLACK_MS: u64 = 250;

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
        let mut rng = match cfg.replay_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_rng(&mut rand::rng()),
        };
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
        // A seeded schedule is predictable: such a capture is a replay, marked as test mode.
        let test_mode = test_mode || cfg.replay_seed.is_some();
        let origin = std::time::Instant::now();
        Ok(Self {
            detect_schedule: RandomSchedule::new(cfg.sample_every, &mut rng),
            identity_schedule: RandomSchedule::new(cfg.identity_every, &mut rng),
            iris_schedule: RandomSchedule::new(IRIS_DRAWN_EVERY, &mut rng),
            worker: ModelWorker::new(engine.clone(), cfg.background_models)?,
            reference_asked: false,
            frame_times: StageTimes::default(),
            clock: Box::new(move || origin.elapsed().as_millis().try_into().unwrap_or(u64::MAX)),
            wall_start: None,
            last_digest: None,
            capture_seen: 0,
            capture_frozen: 0,
            capture_started_ms: None,
            neutral_ref: None,
            last_proportions: None,
            identity_checked: false,
            identity: Identity::new(engine.metric(), same_person),
            eyes: EyeTracker::new(&engine.manifest().eyes),
            lids: LidGate::new(&engine.manifest().eyes),
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

    /// Replaces the monotonic clock (ms) that `frame_clock_check` compares the frame stamps with:
    /// for a simulated camera (the harness's attack corpus) or a platform clock of the app's choice.
    pub fn set_monotonic_clock(&mut self, clock: Box<dyn Fn() -> u64 + Send>) {
        self.clock = clock;
    }

    /// Feeds one camera frame with its capture time (ms, monotonic). A malformed frame returns an error
    /// and leaves the session as it was; everything else is reported through the guidance.
    pub fn push_frame(&mut self, frame: &Frame, t_ms: u64) -> Result<Guidance> {
        profile::take();
        let out = frame.to_rgb().and_then(|rgb| self.step_frame(&rgb, t_ms));
        self.frame_times = profile::take();
        out
    }

    /// As [`push_frame`](Self::push_frame) for an image already upright and RGB.
    pub fn push_rgb(&mut self, rgb: &RgbImage, t_ms: u64) -> Result<Guidance> {
        profile::take();
        let out = self.step_frame(rgb, t_ms);
        self.frame_times = profile::take();
        out
    }

    /// Where the last `push_frame` spent its time on the caller's thread, per stage.
    pub fn frame_times(&self) -> StageTimes {
        self.frame_times
    }

    /// Model time spent on the session's worker thread so far (results applied).
    pub fn worker_times(&self) -> StageTimes {
        self.worker.times()
    }

    fn step_frame(&mut self, rgb: &RgbImage, t_ms: u64) -> Result<Guidance> {
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
        self.recheck_environment(elapsed, frame_no, false)?;
        if self.cfg.frame_clock_check {
            let wall = (self.clock)();
            let wall_elapsed = wall.saturating_sub(*self.wall_start.get_or_insert(wall));
            if elapsed > wall_elapsed + CLOCK_SLACK_MS + wall_elapsed / 10 {
                let reason = "frame timestamps run ahead of the SDK's clock";
                return Ok(self.fail(Error::InjectionSuspected { reason }, None));
            }
        }
        if let Some(failed) = self.apply_model_results(frame_no)? {
            return Ok(failed);
        }
        if let State::Finishing { at } = self.state {
            return Ok(if frame_no >= at {
                self.complete(t_ms)
            } else {
                self.guidance(None)
            });
        }
        let frozen = self.frozen(rgb);
        // With passive liveness, template candidates always carry the detector and anti-spoof; other
        // frames when drawn.
        let sample = self.detect_schedule.due(frame_no)
            || (self.cfg.liveness.passive() && matches!(self.state, State::Capturing { .. }));
        let read = self.eye_read(frame_no);
        let (obs, reacquired) = self
            .tracker
            .observe(&self.engine, &self.cfg, rgb, sample, read)?;
        let mut face = match obs {
            Observation::Face(f) => f,
            other => return Ok(self.no_usable_face(other, rgb, t_ms)),
        };
        // Closed or open for this user: judged against their own open-eye baseline, which only frontal
        // frames teach. A frame Iris did not read is open: it is only skipped while the eyes read open
        // and the lids do not move toward closing.
        let frontal = face.pose.yaw.abs() <= self.cfg.challenge.neutral_angle
            && face.pose.pitch.abs() <= self.cfg.challenge.neutral_angle;
        let (eye_relative, eyes_closed) = match face.eyes.as_mut() {
            Some(e) => {
                let relative = self.eyes.relative(e.ratio());
                e.closed = self.eyes.observe(e.ratio(), frontal);
                (relative, e.closed)
            }
            None => (self.lids.relative(face.lid_ratio), self.eyes.is_closed()),
        };
        self.lids.observe(face.lid_ratio, frontal, eyes_closed);
        face.quality.eyes_open = !eyes_closed;
        if sample && let Some(d) = &face.detection {
            let bbox = d.bbox;
            self.ask_passive(rgb, &bbox, frame_no)?;
        }
        // Identity: on re-acquisition, when the face's proportions jump (another face put in the same
        // place), and on CSPRNG-drawn frames.
        let shape = proportions(&face);
        let jumped = self.last_proportions.is_some_and(|p| {
            p.iter()
                .zip(&shape)
                .any(|(a, b)| (a - b).abs() > PROPORTION_JUMP * a.max(1e-3))
        });
        self.last_proportions = Some(shape);
        let drawn = self.identity_schedule.due(frame_no);
        self.identity_checked = reacquired || jumped || drawn;
        if self.identity_checked {
            self.ask_identity(&face, !frontal, frame_no)?;
        }
        let facts = FrameFacts {
            frame: frame_no,
            t_ms,
            eyes_closed,
            eye_relative,
            eyes_reliable: self.image_issue(&face).is_none(),
            frozen,
            parallax: None,
        };
        let step_before = self.step();
        let guidance = self.advance(face, rgb, facts)?;
        // Every step change is a moment an attacker would pick: check the environment there too.
        if step_before != self.step() && !self.is_over() {
            self.recheck_environment(elapsed, frame_no, true)?;
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

    /// Applies the model results due on this frame; `Some` when one of them fails the capture.
    fn apply_model_results(&mut self, frame_no: u64) -> Result<Option<Guidance>> {
        for ready in self.worker.due(frame_no)? {
            let output = match ready.output {
                Ok(o) => o,
                Err(e) => return Ok(Some(self.fail(e, None))),
            };
            match (ready.purpose, output) {
                (Purpose::Reference, Output::Embedding(e)) => self.identity.set_reference(e),
                (Purpose::Identity { turned }, Output::Embedding(e)) => {
                    if !self.identity.compare(&e, turned) {
                        return Ok(Some(self.fail(Error::FaceChanged, None)));
                    }
                }
                (Purpose::Candidate { frame }, Output::Embedding(e)) => {
                    // A later, better candidate may have replaced this one.
                    if let Some(best) = self.best.as_mut().filter(|b| b.frame == frame) {
                        best.embedding = Some(e);
                    }
                }
                (Purpose::Passive, Output::Live(p)) => {
                    if let Some(p) = p {
                        self.passive.add(p);
                    }
                }
                (Purpose::Environment { at_ms }, Output::Environment(report)) => {
                    if let Err(e) = self.environment.recheck(*report, at_ms) {
                        return Ok(Some(self.fail(e, None)));
                    }
                }
                _ => return Err(Error::Internal("model result of the wrong kind".into())),
            }
        }
        Ok(None)
    }

    /// Asks for the RASP checks again when their drawn moment has come, or at once when `force`d (a
    /// step change). The checks run on the worker (a read of `/proc` cost a frame 5–15 ms); the
    /// verdict is applied in order with the model results, and every one before the capture completes.
    fn recheck_environment(&mut self, at_ms: u64, frame_no: u64, force: bool) -> Result<()> {
        if !self.environment.due(at_ms, frame_no, force) {
            return Ok(());
        }
        // The platform layer is asked here, on the caller's thread; the checks run on the worker.
        let job = Job::Environment(self.environment.checks().prepare());
        self.worker
            .submit(frame_no, Purpose::Environment { at_ms }, job)
    }

    /// Waits for every result still on its way: what they say about a capture that is failing. A
    /// blocking RASP re-check comes first (whatever the face did, the device is not trusted), then a
    /// failed identity check.
    fn verdict_on_the_way(&mut self) -> Option<Error> {
        let Ok(ready) = self.worker.drain() else {
            return None;
        };
        let (mut changed, mut blocked) = (false, None);
        for r in ready {
            match (r.purpose, r.output) {
                (Purpose::Reference, Ok(Output::Embedding(e))) => self.identity.set_reference(e),
                (Purpose::Identity { turned }, Ok(Output::Embedding(e))) => {
                    changed |= !self.identity.compare(&e, turned);
                }
                (Purpose::Environment { at_ms }, Ok(Output::Environment(report))) => {
                    if let Err(e) = self.environment.recheck(*report, at_ms) {
                        blocked.get_or_insert(e);
                    }
                }
                _ => {}
            }
        }
        blocked.or(changed.then_some(Error::FaceChanged))
    }

    /// Identity for this frame's face, once the reference was asked for (its result comes first).
    fn ask_identity(&mut self, face: &FaceAnalysis, turned: bool, frame_no: u64) -> Result<()> {
        if !self.reference_asked {
            return Ok(());
        }
        let job = Job::Embed(face.aligned.clone());
        self.worker
            .submit(frame_no, Purpose::Identity { turned }, job)
    }

    /// A passive-liveness sample on the detector's box (when passive liveness runs).
    fn ask_passive(&mut self, rgb: &RgbImage, bbox: &BoxF, frame_no: u64) -> Result<()> {
        if !self.cfg.liveness.passive() {
            return Ok(());
        }
        match self.engine.antispoof_crop(rgb, bbox) {
            Some(crop) => self
                .worker
                .submit(frame_no, Purpose::Passive, Job::Live(crop)),
            None => Ok(()),
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
            State::Capturing { .. } | State::Finishing { .. } => Step::Capturing,
            State::Done(_) | State::Consumed => Step::Done,
            State::Failed(_) => Step::Failed,
        }
    }

    fn no_usable_face(&mut self, obs: Observation, rgb: &RgbImage, t_ms: u64) -> Guidance {
        let (prompt, bbox) = match obs {
            Observation::NoFace => (Prompt::NoFace, None),
            Observation::SeveralFaces => (Prompt::SeveralFaces, None),
            Observation::Partial(b) => (Prompt::CentreFace, Some(b)),
            Observation::PoorImage(b) => {
                let light = rgb.mean_luma(b.x1, b.y1, b.x2, b.y2);
                let q = &self.cfg.quality;
                let prompt = if light < q.min_brightness {
                    Prompt::TooDark
                } else if light > q.max_brightness {
                    Prompt::TooBright
                } else {
                    Prompt::PoorImage
                };
                (prompt, Some(b))
            }
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
                current: Box::new(Challenge::new(*k, self.cfg.challenge.clone(), t_ms)),
            },
            None => State::Capturing { seen: 0 },
        }
    }

    /// Whether Iris reads this frame's eyes. Always where they are judged: from the moment a blink
    /// challenge sees the eyes close until it passes (its half-open frames), on template candidates
    /// (the template must have open eyes), while they read closed (until they reopen), before the lid
    /// baseline exists, and on CSPRNG-drawn frames (they keep the open-eye baseline fresh, and eyes
    /// the lids misread are caught on a frame no one can predict). Elsewhere only when the mesh's
    /// lids say the eyes may be closing: that is what starts a blink. Iris is the largest share of a
    /// tracked frame's time (docs/performance.md).
    fn eye_read(&mut self, frame_no: u64) -> EyeRead {
        let drawn = self.iris_schedule.due(frame_no);
        let judged = match &self.state {
            State::Challenge { current, .. } => {
                current.kind() == ChallengeKind::Blink && current.phase() == Phase::Acting
            }
            State::Capturing { .. } | State::Finishing { .. } => true,
            _ => false,
        };
        match self.lids.iris_below() {
            Some(below) if !(drawn || judged || self.eyes.is_closed()) => EyeRead::IrisBelow(below),
            _ => EyeRead::Iris,
        }
    }

    /// A byte copy of the previous frame: no camera delivers one (sensor noise changes nearly every
    /// pixel), a looped still does. Compared on 8 bytes of every 48 (tens of microseconds at 720p).
    fn frozen(&mut self, rgb: &RgbImage) -> bool {
        let mut digest = (u64::from(rgb.width()) << 32) | u64::from(rgb.height());
        for chunk in rgb.as_bytes().chunks(48) {
            let mut word = [0u8; 8];
            let n = chunk.len().min(8);
            word[..n].copy_from_slice(&chunk[..n]);
            digest = (digest ^ u64::from_le_bytes(word)).wrapping_mul(0x0100_0000_01b3);
        }
        self.last_digest.replace(digest) == Some(digest)
    }

    /// What makes this frame's eye and fine readings untrustworthy, if anything: dim, glaring or
    /// blurry (heavy compression reads as blur). Such frames neither pass nor fail a blink.
    fn image_issue(&self, face: &FaceAnalysis) -> Option<Prompt> {
        let q = &self.cfg.quality;
        let m = &face.quality;
        if m.brightness < q.min_brightness {
            Some(Prompt::TooDark)
        } else if m.brightness > q.max_brightness {
            Some(Prompt::TooBright)
        } else if m.sharpness < q.min_sharpness {
            Some(Prompt::Blurry)
        } else {
            None
        }
    }

    /// The checks every challenge key frame carries, whatever the schedule drew: the frames where the
    /// neutral is verified, the action is reached and the face returns. Identity (a turned face within
    /// its wider tolerance) and, when passive liveness runs, the anti-spoof model on the detector's
    /// own box around the tracked face.
    fn verify_key_frame(
        &mut self,
        rgb: &RgbImage,
        face: &FaceAnalysis,
        turned: bool,
        frame_no: u64,
    ) -> Result<()> {
        // Identity once per frame: a key frame the schedule already checked is not embedded again.
        if !self.identity_checked {
            self.identity_checked = true;
            self.ask_identity(face, turned, frame_no)?;
        }
        if self.cfg.liveness.passive() {
            let bbox = match &face.detection {
                Some(d) => Some(d.bbox),
                None => self
                    .tracker
                    .detect_around(&self.engine, rgb, &face.face_box)?,
            };
            if let Some(b) = bbox {
                self.ask_passive(rgb, &b, frame_no)?;
            }
        }
        Ok(())
    }

    fn advance(
        &mut self,
        face: Box<FaceAnalysis>,
        rgb: &RgbImage,
        facts: FrameFacts,
    ) -> Result<Guidance> {
        let bbox = Some(face.face_box);
        let (frame_no, t_ms) = (facts.frame, facts.t_ms);
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
                let job = Job::Embed(face.aligned.clone());
                self.worker.submit(frame_no, Purpose::Reference, job)?;
                self.reference_asked = true;
                self.state = self.next_challenge(0, t_ms);
                Ok(self.guidance(bbox))
            }
            State::Challenge { .. } => self.advance_challenge(face, rgb, facts),
            State::Capturing { seen } => {
                *seen += 1;
                let seen = *seen;
                let started = *self.capture_started_ms.get_or_insert(t_ms);
                self.capture_seen += 1;
                self.capture_frozen += u32::from(facts.frozen);
                // The template frame is the best of the first `capture_frames` frames (or the first
                // usable one after them).
                let open = seen <= self.cfg.capture_frames || self.best.is_none();
                if issues.is_empty() && open {
                    let score = Candidate::score(&face);
                    if self.best.as_ref().is_none_or(|b| score > b.score) {
                        let job = Job::Embed(face.aligned.clone());
                        self.worker.submit(
                            frame_no,
                            Purpose::Candidate { frame: frame_no },
                            job,
                        )?;
                        self.best = Some(Candidate {
                            score,
                            frame: frame_no,
                            quality: face.quality,
                            embedding: None,
                            crop: self
                                .recorder
                                .template_crop(rgb, &face.face_box, frame_no, t_ms),
                        });
                    }
                }
                // Samples asked for count: all of them are applied before the capture completes.
                let samples = self.passive.samples() + self.worker.pending_passive();
                let passive_ready = if self.cfg.liveness == LivenessMode::Passive {
                    // Passive alone is the weaker mode: more samples, over a longer stretch.
                    let min = self
                        .cfg
                        .passive_min_samples
                        .max(self.cfg.passive_only_min_samples);
                    samples >= min && t_ms.saturating_sub(started) >= self.cfg.passive_only_min_ms
                } else {
                    !self.cfg.liveness.passive() || samples >= self.cfg.passive_min_samples
                };
                if seen >= self.cfg.capture_frames && self.best.is_some() && passive_ready {
                    // Everything asked for up to this frame is applied by `at`; then the capture
                    // completes, whatever the threads' timing.
                    self.state = State::Finishing {
                        at: self.worker.settled_at(frame_no),
                    };
                    return Ok(self.guidance(bbox));
                }
                let prompt = issues
                    .first()
                    .map(|i| Prompt::for_issue(*i))
                    .unwrap_or(Prompt::HoldStill);
                Ok(self.guidance_with(prompt, bbox))
            }
            State::Finishing { .. } | State::Done(_) | State::Failed(_) | State::Consumed => {
                Ok(self.guidance(bbox))
            }
        }
    }

    /// One frame of the current challenge: parallax against its neutral frame, the state machine,
    /// the key-frame checks, and the next challenge once it passes.
    fn advance_challenge(
        &mut self,
        face: Box<FaceAnalysis>,
        rgb: &RgbImage,
        mut facts: FrameFacts,
    ) -> Result<Guidance> {
        let bbox = Some(face.face_box);
        let (frame_no, t_ms) = (facts.frame, facts.t_ms);
        let State::Challenge { current, .. } = &self.state else {
            return Ok(self.guidance(bbox));
        };
        let (kind, before) = (current.kind(), current.phase());
        let turn = matches!(
            kind,
            ChallengeKind::TurnLeft | ChallengeKind::TurnRight | ChallengeKind::LookUp
        );
        let neutral_angle = self.cfg.challenge.neutral_angle;
        let neutral_pose =
            face.pose.yaw.abs() <= neutral_angle && face.pose.pitch.abs() <= neutral_angle;
        if turn {
            if neutral_pose && matches!(before, Phase::Neutral | Phase::Ready) {
                self.neutral_ref = Some((
                    face.mesh.points.clone(),
                    face.mesh.depth.clone(),
                    face.face_box.height(),
                ));
            } else if let Some((points, depth, height)) = &self.neutral_ref {
                facts.parallax = parallax::measure(points, depth, &face.mesh.points, *height);
            }
        }
        let eyes_reliable = facts.eyes_reliable;
        let State::Challenge { index, current } = &mut self.state else {
            return Ok(self.guidance(bbox));
        };
        let passed = current.update(signals(&face, facts));
        let (after, refusal, index) = (current.phase(), current.refusal(), *index);
        let done = passed.as_ref().map(|_| index as u32);
        self.recorder.challenge_frame(
            rgb,
            &face.face_box,
            frame_no,
            t_ms,
            (before, after),
            done,
        )?;
        if refusal.is_some() {
            let challenge = kind.name().into();
            return Ok(self.fail(Error::ChallengeFailed { challenge }, bbox));
        }
        if before != after || passed.is_some() {
            let turned = turn && after == Phase::Acting;
            self.verify_key_frame(rgb, &face, turned, frame_no)?;
        }
        if let Some(ev) = passed {
            self.evidence.push(ev);
            self.neutral_ref = None;
            self.state = self.next_challenge(index + 1, t_ms);
            return Ok(self.guidance(bbox));
        }
        if let Some(e) = self.challenge_timed_out(t_ms) {
            return Ok(self.fail(e, bbox));
        }
        // A blink cannot be read on this image: say what is wrong with it.
        if kind == ChallengeKind::Blink
            && !eyes_reliable
            && let Some(p) = self.image_issue(&face)
        {
            return Ok(self.guidance_with(p, bbox));
        }
        Ok(self.guidance(bbox))
    }

    /// Passive decision, final identity check, template: every model result asked for is applied.
    fn complete(&mut self, t_ms: u64) -> Guidance {
        let bbox = None;
        // Re-checks asked for on the finishing frames are still on their way: wait for them.
        match self.apply_model_results(u64::MAX) {
            Ok(None) => {}
            Ok(Some(failed)) => return failed,
            Err(e) => return self.fail(e, bbox),
        }
        // Passive alone has no challenge to show motion: a held still (frozen frames) is not a face.
        if self.cfg.liveness == LivenessMode::Passive && self.capture_frozen * 2 > self.capture_seen
        {
            let reason = "frozen frames";
            return self.fail(Error::InjectionSuspected { reason }, bbox);
        }
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
        let Some((mut best, embedding)) = self
            .best
            .take()
            .and_then(|mut b| b.embedding.take().map(|e| (b, e)))
        else {
            return self.fail(Error::CaptureIncomplete, bbox);
        };
        if !self.identity.compare(&embedding, false) {
            return self.fail(Error::FaceChanged, bbox);
        }
        let evidence_frames = match self.recorder.finish(best.crop.take()) {
            Ok(frames) => frames,
            Err(e) => return self.fail(e, bbox),
        };
        let manifest = self.engine.manifest();
        let template = match Template::new(
            &manifest.embedder.model.id,
            embedding.metric(),
            embedding.values().to_vec(),
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
        // A face swapped into place also breaks the challenge it was asked, and a re-check on its
        // way may have found the hook behind a failure: the results on their way say what really
        // happened, so they are waited for.
        let about_the_face = matches!(
            e,
            Error::ChallengeFailed { .. }
                | Error::InjectionSuspected { .. }
                | Error::SpoofSuspected
        );
        let e = if about_the_face {
            self.verdict_on_the_way().unwrap_or(e)
        } else {
            e
        };
        self.state = State::Failed(e);
        self.guidance(bbox)
    }

    fn guidance(&self, bbox: Option<BoxF>) -> Guidance {
        let prompt = match &self.state {
            State::Positioning { .. } | State::Capturing { .. } | State::Finishing { .. } => {
                Prompt::HoldStill
            }
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
                0.8 + 0.19 * (*seen as f32 / self.cfg.capture_frames as f32).min(1.0),
                None,
                None,
            ),
            State::Finishing { .. } => (0.99, None, None),
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
