//! The session's own RASP runs: at the start, at unpredictable moments during the capture (a CSPRNG
//! draws each next interval), at every step change; the result re-checks before sealing.

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
}

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
        };
        watch.record(report, CheckPhase::Start, 0)?;
        watch.schedule(0);
        Ok(watch)
    }

    pub(super) fn checks(&self) -> &Arc<EnvironmentChecks> {
        &self.checks
    }

    pub(super) fn report(&self) -> &EnvironmentReport {
        &self.report
    }

    /// Checks again when the drawn moment has come, or at once when `force`d (a step change). A forced
    /// check leaves the random schedule alone: it must not push the next unpredictable check later.
    pub(super) fn tick(&mut self, at_ms: u64, force: bool) -> Result<()> {
        let due = at_ms >= self.next_at_ms;
        if !force && !due {
            return Ok(());
        }
        let report = self.checks.run();
        if due {
            self.schedule(at_ms);
        }
        self.record(report, CheckPhase::Capture, at_ms)
    }

    fn schedule(&mut self, now_ms: u64) {
        // Uniform in [0.5, 1.5] × the interval: an attacker cannot time an injection between checks.
        let half = (self.interval_ms / 2).max(1);
        let wait = half + rand::rng().random_range(0..=2 * half);
        self.next_at_ms = now_ms.saturating_add(wait);
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

/// `EnvironmentBlocked` naming the threats when the report blocks.
pub(super) fn blocked(report: &EnvironmentReport) -> Result<()> {
    if report.decision == Decision::Block {
        return Err(Error::EnvironmentBlocked {
            threats: report.blocking_names(),
        });
    }
    Ok(())
}
