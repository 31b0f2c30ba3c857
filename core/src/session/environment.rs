//! The session's own RASP runs: at the start, at unpredictable moments during the capture (a CSPRNG
//! draws each next interval), at every step change; the result re-checks before sealing. The start
//! runs on the caller's thread (a blocked device never opens the camera); the re-checks during the
//! capture are asked for on the camera thread at their moment (the platform layer answers there) and
//! the checks run on the session's worker, their verdict applied a fixed number of frames later like
//! a model result (`worker`).
//!
//! The moments are drawn in capture time and, as a backstop, in frames: frames injected with a frozen
//! or crawling clock still reach a check within a drawn number of frames.

use std::sync::Arc;

use rand::RngExt;

use crate::error::{Error, Result};
use crate::rasp::{CheckPhase, CheckRun, Decision, EnvironmentChecks, EnvironmentReport};

pub(super) struct EnvironmentWatch {
    checks: Arc<EnvironmentChecks>,
    report: EnvironmentReport,
    /// Mean interval between checks during the capture, ms of session time.
    interval_ms: u64,
    next_at_ms: u64,
    next_at_frame: u64,
}

/// Frames per mean interval for the frame-count backstop (a 30 fps camera).
const FRAMES_PER_SECOND: u64 = 30;

impl EnvironmentWatch {
    /// Runs the first check; a blocking environment fails here, before any camera work.
    pub(super) fn start(checks: Arc<EnvironmentChecks>, interval_ms: u64) -> Result<Self> {
        let report = checks.run();
        let mut watch = Self {
            report: EnvironmentReport {
                runs: Vec::new(),
                ..report.clone()
            },
            checks,
            interval_ms,
            next_at_ms: 0,
            next_at_frame: 0,
        };
        watch.record(report, CheckPhase::Start, 0)?;
        watch.schedule(0, 0);
        Ok(watch)
    }

    pub(super) fn checks(&self) -> &Arc<EnvironmentChecks> {
        &self.checks
    }

    pub(super) fn report(&self) -> &EnvironmentReport {
        &self.report
    }

    /// Whether the checks run again now: the drawn moment has come, or at once when `force`d (a step
    /// change). A forced check leaves the random schedule alone: it must not push the next
    /// unpredictable check later.
    pub(super) fn due(&mut self, at_ms: u64, frame: u64, force: bool) -> bool {
        let due = at_ms >= self.next_at_ms || frame >= self.next_at_frame;
        if due {
            self.schedule(at_ms, frame);
        }
        due || force
    }

    /// A re-check's report, in the order they were asked for; `EnvironmentBlocked` when it blocks.
    pub(super) fn recheck(&mut self, report: EnvironmentReport, at_ms: u64) -> Result<()> {
        self.record(report, CheckPhase::Capture, at_ms)
    }

    fn schedule(&mut self, now_ms: u64, frame: u64) {
        // Uniform in [0.5, 1.5] × the interval: an attacker cannot time an injection between checks.
        let (wait_ms, wait_frames) = draw(self.interval_ms, &mut rand::rng());
        self.next_at_ms = now_ms.saturating_add(wait_ms);
        self.next_at_frame = frame.saturating_add(wait_frames);
    }

    fn record(&mut self, report: EnvironmentReport, phase: CheckPhase, at_ms: u64) -> Result<()> {
        let run = CheckRun {
            phase,
            at_ms,
            decision: report.decision,
            findings: report.findings.len().try_into().unwrap_or(u32::MAX),
        };
        let first = self.report.runs.is_empty();
        if first {
            self.report.runs.push(run);
        } else {
            self.report.merge(report, run);
        }
        blocked(&self.report)
    }
}

/// The next wait, in ms and (backstop) in frames at 30 fps, each uniform in [0.5, 1.5] × the interval.
fn draw(interval_ms: u64, rng: &mut impl rand::Rng) -> (u64, u64) {
    let half = (interval_ms / 2).max(1);
    let frames = (interval_ms * FRAMES_PER_SECOND / 1000).max(2);
    (
        half + rng.random_range(0..=2 * half),
        frames / 2 + rng.random_range(0..=frames),
    )
}

/// `EnvironmentBlocked` naming the threats when the report blocks.
pub(super) fn blocked(report: &EnvironmentReport) -> Result<()> {
    if report.decision == Decision::Block {
        return Err(Error::EnvironmentBlocked {
            threats: report.blocking_names(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::draw;

    #[test]
    fn waits_are_drawn_within_half_to_one_and_a_half_intervals() {
        let mut rng = rand::rng();
        let draws: Vec<(u64, u64)> = (0..200).map(|_| draw(1000, &mut rng)).collect();
        assert!(
            draws
                .iter()
                .all(|(ms, f)| (500..=1500).contains(ms) && (15..=45).contains(f))
        );
        // Unpredictable: many different waits, both short and long ones.
        let mut ms: Vec<u64> = draws.iter().map(|d| d.0).collect();
        ms.sort();
        ms.dedup();
        assert!(ms.len() > 100, "{} distinct waits", ms.len());
        assert!(draws.iter().any(|d| d.0 < 700) && draws.iter().any(|d| d.0 > 1300));
    }
}
