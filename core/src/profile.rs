//! Where a frame's time goes: wall time per stage, accumulated per thread at almost no cost (one
//! `Instant` pair per stage), so the session can report what each `push_frame` and each worker job
//! spent without a profiler. `smartid capture --timings` prints it; docs/performance.md holds the
//! figures.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// A stage of the pipeline whose time is measured on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The camera buffer to upright RGB.
    Convert,
    /// Every crop, letterbox and alignment warp (bilinear sampling).
    Crop,
    /// Pixels to the models' normalised float tensors.
    Tensor,
    Detector,
    Mesh,
    Eyes,
    AntiSpoof,
    Embedder,
    /// Evidence frames: crops kept and JPEG-encoded for the server.
    Evidence,
    /// The RASP re-checks during a capture: files, `/proc`, memory (the platform layer's answers are
    /// gathered before, on the caller's thread, and not counted here).
    Rasp,
}

const STAGES: usize = 10;

impl Stage {
    pub const ALL: [Stage; STAGES] = [
        Stage::Convert,
        Stage::Crop,
        Stage::Tensor,
        Stage::Detector,
        Stage::Mesh,
        Stage::Eyes,
        Stage::AntiSpoof,
        Stage::Embedder,
        Stage::Evidence,
        Stage::Rasp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Convert => "convert",
            Stage::Crop => "crop",
            Stage::Tensor => "tensor",
            Stage::Detector => "detector",
            Stage::Mesh => "mesh",
            Stage::Eyes => "eyes",
            Stage::AntiSpoof => "antispoof",
            Stage::Embedder => "embedder",
            Stage::Evidence => "evidence",
            Stage::Rasp => "rasp",
        }
    }

    /// The stage a model role's inference is counted under.
    #[cfg(feature = "capture")]
    pub(crate) fn for_role(role: &str) -> Stage {
        match role {
            "detector" => Stage::Detector,
            "mesh" => Stage::Mesh,
            "eyes" => Stage::Eyes,
            "antispoof" => Stage::AntiSpoof,
            _ => Stage::Embedder,
        }
    }
}

/// Time spent per stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes([Duration; STAGES]);

impl StageTimes {
    pub fn get(&self, stage: Stage) -> Duration {
        self.0[stage as usize]
    }

    pub fn add(&mut self, other: &StageTimes) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// The sum over the stages (the rest of a frame's time is guidance, geometry and bookkeeping).
    pub fn total(&self) -> Duration {
        self.0.iter().sum()
    }
}

thread_local! {
    // Already const: clippy 1.95 misreads the macro's expansion for targets with emulated TLS
    // (aarch64-linux-android) and asks for what is there.
    #[allow(clippy::missing_const_for_thread_local)]
    static ACCUMULATED: Cell<[Duration; STAGES]> = const { Cell::new([Duration::ZERO; STAGES]) };
}

/// Adds the time since `start` to `stage` on this thread.
pub(crate) fn record(stage: Stage, start: Instant) {
    let spent = start.elapsed();
    ACCUMULATED.with(|acc| {
        let mut times = acc.get();
        times[stage as usize] += spent;
        acc.set(times);
    });
}

/// This thread's times since the last call, and a fresh start.
#[cfg(any(test, feature = "capture"))]
pub(crate) fn take() -> StageTimes {
    StageTimes(ACCUMULATED.with(|acc| acc.replace([Duration::ZERO; STAGES])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_accumulate_per_thread_and_reset_on_take() {
        take();
        let start = Instant::now() - Duration::from_millis(3);
        record(Stage::Mesh, start);
        record(Stage::Mesh, start);
        let other = std::thread::spawn(take).join().ok();
        assert_eq!(other.map(|t| t.total()), Some(Duration::ZERO));
        let t = take();
        assert!(t.get(Stage::Mesh) >= Duration::from_millis(6));
        assert_eq!(t.get(Stage::Eyes), Duration::ZERO);
        assert_eq!(take().total(), Duration::ZERO);
    }
}
