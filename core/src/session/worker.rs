//! The heavy work off the camera thread. Embeddings (the identity reference, identity checks,
//! template candidates), the anti-spoof model and the RASP re-checks during a capture run on a worker
//! thread at a lower priority; the session applies each result a fixed number of frames
//! ([`LAG_FRAMES`]) after the frame that asked for it, and waits for it then if it is late. So no
//! single `push_frame` carries a 10–40 ms model or a 5–15 ms read of `/proc`, and a replay of the same
//! frames gives the same result whatever the threads' timing: results land on the same frames as when
//! the work runs inline (`CaptureConfig::background_models = false`).

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::profile::{self, Stage, StageTimes};
use crate::rasp::{EnvironmentReport, PreparedRun};
use crate::vision::{Embedding, Engine};

/// Frames between asking for a model result and applying it: 100 ms at 30 fps, several times the
/// slowest model's run on a phone's little core, so the camera thread rarely waits.
pub(super) const LAG_FRAMES: u64 = 3;

/// The reference embedding's lag: 400 ms at 30 fps. It is the embedder's first run, so it waits for
/// the embedder's parse, which the engine starts in the background once the first frame's models are
/// ready (`Engine::load`). When frames come right after the load, 100 ms was not enough for that
/// parse on one core: the camera thread waited for it on the reference's frame (docs/performance.md).
/// Results asked for after the reference wait behind it (they are applied in order).
pub(super) const REFERENCE_LAG_FRAMES: u64 = 12;

/// A run the session asks for, with its input already cut on the camera thread.
pub(super) enum Job {
    /// A face aligned for the embedder.
    Embed(RgbImage),
    /// The anti-spoof model's crop.
    Live(RgbImage),
    /// The RASP checks, run again on the platform layer's answers gathered on the camera thread.
    Environment(PreparedRun),
}

pub(super) enum Output {
    Embedding(Embedding),
    Live(Option<f32>),
    Environment(Box<EnvironmentReport>),
}

/// What a result is for; the session decides what it means when it applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// The positioning face every later face is compared with.
    Reference,
    /// An identity check; a `turned` face within the wider tolerance.
    Identity { turned: bool },
    /// The embedding of a template candidate (frame number).
    Candidate { frame: u64 },
    /// A passive-liveness sample.
    Passive,
    /// A RASP re-check asked for at this moment of the capture (ms since its first frame).
    Environment { at_ms: u64 },
}

/// One result due now.
pub(super) struct Ready {
    pub purpose: Purpose,
    pub output: Result<Output>,
}

type Done = (Result<Output>, StageTimes);

enum Runner {
    /// Run at submission on the caller's thread; results wait in order.
    Inline {
        engine: Arc<Engine>,
        done: VecDeque<Done>,
    },
    Thread {
        jobs: Sender<Job>,
        results: Receiver<Done>,
    },
}

pub(super) struct ModelWorker {
    runner: Runner,
    /// Due frame and purpose of every job asked for and not yet applied, in the order asked (the
    /// worker answers in that order).
    pending: VecDeque<(u64, Purpose)>,
    /// Worker time of the results applied so far.
    times: StageTimes,
}

impl ModelWorker {
    /// `background`: a worker thread (it ends when the session is dropped); else inline.
    pub(super) fn new(engine: Arc<Engine>, background: bool) -> Result<Self> {
        let runner = if background {
            let (jobs, job_rx) = channel::<Job>();
            let (done_tx, results) = channel::<Done>();
            std::thread::Builder::new()
                .name("smartid-models".into())
                .spawn(move || serve(&engine, &job_rx, &done_tx))
                .map_err(|_| Error::Internal("could not start the model worker".into()))?;
            Runner::Thread { jobs, results }
        } else {
            Runner::Inline {
                engine,
                done: VecDeque::new(),
            }
        };
        Ok(Self {
            runner,
            pending: VecDeque::new(),
            times: StageTimes::default(),
        })
    }

    /// Asks for a run on behalf of `frame`; its result is applied at `frame + LAG_FRAMES` (the
    /// reference's at `frame + REFERENCE_LAG_FRAMES`), and never before the results asked for earlier.
    pub(super) fn submit(&mut self, frame: u64, purpose: Purpose, job: Job) -> Result<()> {
        match &mut self.runner {
            Runner::Inline { engine, done } => {
                done.push_back((execute(engine, job), StageTimes::default()))
            }
            Runner::Thread { jobs, .. } => jobs.send(job).map_err(|_| worker_stopped())?,
        }
        let lag = match purpose {
            Purpose::Reference => REFERENCE_LAG_FRAMES,
            _ => LAG_FRAMES,
        };
        let after = self.pending.back().map_or(0, |(due, _)| *due);
        self.pending.push_back(((frame + lag).max(after), purpose));
        Ok(())
    }

    /// The results due at `frame`, in the order they were asked for (waiting for late ones).
    pub(super) fn due(&mut self, frame: u64) -> Result<Vec<Ready>> {
        let mut ready = Vec::new();
        while self.pending.front().is_some_and(|(due, _)| *due <= frame) {
            let Some((_, purpose)) = self.pending.pop_front() else {
                break;
            };
            let (output, times) = match &mut self.runner {
                Runner::Inline { done, .. } => done.pop_front().ok_or_else(worker_stopped)?,
                Runner::Thread { results, .. } => results.recv().map_err(|_| worker_stopped())?,
            };
            self.times.add(&times);
            ready.push(Ready { purpose, output });
        }
        Ok(ready)
    }

    /// The frame by which every result asked for up to `frame` is applied.
    pub(super) fn settled_at(&self, frame: u64) -> u64 {
        let last = self.pending.back().map_or(0, |(due, _)| *due);
        (frame + LAG_FRAMES).max(last)
    }

    /// Every result asked for, waiting for each.
    pub(super) fn drain(&mut self) -> Result<Vec<Ready>> {
        self.due(u64::MAX)
    }

    /// Passive samples asked for and not applied yet.
    pub(super) fn pending_passive(&self) -> u32 {
        let n = self
            .pending
            .iter()
            .filter(|(_, p)| *p == Purpose::Passive)
            .count();
        n.try_into().unwrap_or(u32::MAX)
    }

    /// Model time spent on the worker for the results applied so far.
    pub(super) fn times(&self) -> StageTimes {
        self.times
    }
}

fn worker_stopped() -> Error {
    Error::Internal("the model worker stopped".into())
}

/// The worker thread: one job at a time until the session drops its end of the channel. A panic in a
/// model becomes an error for that job, never an abort.
fn serve(engine: &Engine, jobs: &Receiver<Job>, results: &Sender<Done>) {
    crate::threads::lower_priority();
    while let Ok(job) = jobs.recv() {
        profile::take();
        let output = std::panic::catch_unwind(AssertUnwindSafe(|| execute(engine, job)))
            .unwrap_or_else(|_| Err(Error::Internal("a model panicked on the worker".into())));
        if results.send((output, profile::take())).is_err() {
            break;
        }
    }
}

fn execute(engine: &Engine, job: Job) -> Result<Output> {
    match job {
        Job::Embed(aligned) => engine.embed_aligned(&aligned).map(Output::Embedding),
        Job::Live(crop) => engine.live_probability_of_crop(&crop).map(Output::Live),
        Job::Environment(prepared) => {
            let start = std::time::Instant::now();
            let report = prepared.run();
            profile::record(Stage::Rasp, start);
            Ok(Output::Environment(Box::new(report)))
        }
    }
}
