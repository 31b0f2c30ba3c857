//! `smartid capture --timings`: what each `push_frame` cost on the caller's thread, per stage, what the
//! model worker spent, and how long until the first guidance. `scripts/bench/session.py` reads the
//! JSON form and sets it beside the onnxruntime reference pipeline.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use smartid_core::profile::{Stage, StageTimes};

/// Set by a launcher (the bench script) to its wall clock (ns since the epoch) just before it started
/// this process, so "time to first guidance" includes process start-up.
const LAUNCH_ENV: &str = "SMARTID_BENCH_T0_NS";

pub struct CaptureTimings {
    /// When the engine was asked to load.
    load_start: Instant,
    load: Duration,
    /// Process launch (or, without a launcher, the harness's start) to the first guidance.
    launch_to_first_guidance: Option<Duration>,
    load_to_first_guidance: Option<Duration>,
    /// Per frame: wall time of `push_rgb` and its stages on the caller's thread.
    frames: Vec<(Duration, StageTimes)>,
    worker: StageTimes,
    launch_offset: Duration,
    /// Resident memory as the last frame was answered, the engine still loaded (Linux).
    rss_at_end_mib: Option<f64>,
}

impl CaptureTimings {
    /// Starts the clock as the engine is asked to load.
    pub fn start(process_start: Instant) -> Self {
        // Time between the launcher's stamp and this process's first instant.
        let launched_before = std::env::var(LAUNCH_ENV)
            .ok()
            .and_then(|v| v.parse::<u128>().ok())
            .and_then(|t0| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?
                    .as_nanos();
                u64::try_from(now.checked_sub(t0)?).ok()
            })
            .map(Duration::from_nanos)
            .map(|since_launch| since_launch.saturating_sub(process_start.elapsed()))
            .unwrap_or_default();
        Self {
            load_start: Instant::now(),
            load: Duration::ZERO,
            launch_to_first_guidance: None,
            load_to_first_guidance: None,
            frames: Vec::new(),
            worker: StageTimes::default(),
            launch_offset: launched_before + process_start.elapsed(),
            rss_at_end_mib: None,
        }
    }

    pub fn loaded(&mut self) {
        self.load = self.load_start.elapsed();
    }

    pub fn frame(&mut self, push: Duration, stages: StageTimes) {
        if self.load_to_first_guidance.is_none() {
            let since_load = self.load_start.elapsed();
            self.load_to_first_guidance = Some(since_load);
            self.launch_to_first_guidance = Some(self.launch_offset + since_load);
        }
        self.frames.push((push, stages));
    }

    pub fn worker(&mut self, times: StageTimes) {
        self.worker = times;
    }

    /// The last frame is answered: what the process holds now is what a running capture costs
    /// (the peak, which the launcher reads, may come from the model loads).
    pub fn ended(&mut self) {
        self.rss_at_end_mib = resident_mib();
    }

    fn push_ms(&self) -> Vec<f64> {
        self.frames.iter().map(|(d, _)| ms(*d)).collect()
    }

    pub fn to_json(&self) -> Value {
        let push = self.push_ms();
        let stage_json = |pick: &dyn Fn(Stage) -> Duration| -> Value {
            Stage::ALL
                .iter()
                .map(|s| (s.name().to_string(), json!(ms(pick(*s)))))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let caller = |s: Stage| self.frames.iter().map(|(_, t)| t.get(s)).sum();
        json!({
            "frames": self.frames.len(),
            "load_ms": ms(self.load),
            "first_guidance_ms": self.launch_to_first_guidance.map(ms),
            "first_guidance_after_load_ms": self.load_to_first_guidance.map(ms),
            "frame_ms": push,
            "median_ms": percentile(&push, 0.5),
            "p95_ms": percentile(&push, 0.95),
            "max_ms": push.iter().copied().fold(0.0, f64::max),
            "caller_stage_ms": stage_json(&caller),
            "caller_stage_frames": Stage::ALL
                .iter()
                .map(|s| {
                    let ran = self.frames.iter().filter(|(_, t)| !t.get(*s).is_zero());
                    (s.name().to_string(), json!(ran.count()))
                })
                .collect::<serde_json::Map<_, _>>(),
            "worker_stage_ms": stage_json(&|s| self.worker.get(s)),
            "rss_at_end_mib": self.rss_at_end_mib,
        })
    }

    /// Per-frame lines (frames slower than the median by half, or every frame when `all`), then a
    /// summary per stage.
    pub fn print(&self, all: bool) {
        let push = self.push_ms();
        let median = percentile(&push, 0.5);
        let shown: Vec<&str> = Stage::ALL.iter().map(|s| s.name()).collect();
        eprintln!(
            "\nper frame (ms, caller's thread){}:",
            if all {
                ""
            } else {
                ", frames above 1.5x the median"
            }
        );
        eprintln!(
            "{:>5} {:>7}  {}",
            "frame",
            "push",
            shown.iter().map(|s| format!("{s:>9}")).collect::<String>()
        );
        for (i, (d, t)) in self.frames.iter().enumerate() {
            if all || ms(*d) > 1.5 * median {
                let cols: String = Stage::ALL
                    .iter()
                    .map(|s| format!("{:>9.2}", ms(t.get(*s))))
                    .collect();
                eprintln!("{i:>5} {:>7.2}  {cols}", ms(*d));
            }
        }
        eprintln!(
            "\npush_frame over {} frames: median {:.2} ms, p95 {:.2} ms, max {:.2} ms; engine load {:.0} ms; first guidance {:.0} ms after the load started ({:.0} ms after launch)",
            push.len(),
            median,
            percentile(&push, 0.95),
            push.iter().copied().fold(0.0, f64::max),
            ms(self.load),
            self.load_to_first_guidance.map(ms).unwrap_or(f64::NAN),
            self.launch_to_first_guidance.map(ms).unwrap_or(f64::NAN),
        );
        let total: f64 = push.iter().sum();
        eprintln!(
            "{:<10} {:>12} {:>8} {:>8} {:>12}",
            "stage", "caller ms", "share", "frames", "worker ms"
        );
        for s in Stage::ALL {
            let caller: f64 = self.frames.iter().map(|(_, t)| ms(t.get(s))).sum();
            // Frames on which the stage ran at all (e.g. Iris only where the session asks for it).
            let ran = self.frames.iter().filter(|(_, t)| !t.get(s).is_zero());
            eprintln!(
                "{:<10} {:>12.1} {:>7.1}% {:>8} {:>12.1}",
                s.name(),
                caller,
                100.0 * caller / total.max(1e-9),
                ran.count(),
                ms(self.worker.get(s))
            );
        }
        let staged: f64 = self.frames.iter().map(|(_, t)| ms(t.total())).sum();
        eprintln!(
            "{:<10} {:>12.1} {:>7.1}%   (tracking geometry, quality, liveness rules, guidance)",
            "other",
            total - staged,
            100.0 * (total - staged) / total.max(1e-9)
        );
        if let Some(rss) = self.rss_at_end_mib {
            eprintln!("resident memory at the last frame: {rss:.1} MiB");
        }
    }
}

/// `VmRSS` from `/proc/self/status`, in MiB; `None` where there is no such file.
fn resident_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile.
fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 10.0);
        assert_eq!(percentile(&v, 0.95), 19.0);
        assert_eq!(percentile(&v, 1.0), 20.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
