//! `smartid env`, `smartid capture` and `smartid demo`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use smartid_core::liveness::LivenessMode;
use smartid_core::liveness::PassiveOutcome;
use smartid_core::liveness::active::ChallengeKind;
use smartid_core::rasp::{
    DesktopSignals, EnvironmentChecks, EnvironmentReport, FsRoot, Platform, RaspConfig, RaspPolicy,
    check_environment,
};
use smartid_core::{CaptureConfig, CaptureResult, CaptureSession, Engine, Step};

use std::time::{Duration, Instant};

use crate::AnyResult;
use crate::frames::stream_frames;
use crate::keys::now_unix;
use crate::timings::CaptureTimings;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum PolicyName {
    /// Block what a bank's phone app blocks.
    Mobile,
    /// Report everything, block nothing (the harness default on a desktop).
    Desktop,
}

fn policy_for(policy: Option<PolicyName>) -> RaspPolicy {
    match policy {
        Some(PolicyName::Mobile) => RaspPolicy::mobile(),
        Some(PolicyName::Desktop) => RaspPolicy::desktop(),
        None => RaspPolicy::for_platform(Platform::current()),
    }
}

/// The checks a harness session runs itself: this machine, the desktop signals, the default policy.
pub fn session_checks() -> Arc<EnvironmentChecks> {
    Arc::new(EnvironmentChecks::new(
        Arc::new(DesktopSignals),
        policy_for(None),
        RaspConfig::default(),
    ))
}

pub fn run_env(
    root: Option<&Path>,
    policy: Option<PolicyName>,
) -> (EnvironmentReport, std::time::Duration) {
    let fs = root.map(FsRoot::at).unwrap_or_else(FsRoot::system);
    let platform = Platform::current();
    let policy = policy_for(policy);
    check_environment(
        &fs,
        platform,
        &DesktopSignals,
        &policy,
        &RaspConfig::default(),
    )
}

pub fn env(root: Option<&Path>, policy: Option<PolicyName>, json: bool) -> AnyResult {
    let (report, took) = run_env(root, policy);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "platform: {:?}   decision: {:?}   checks took {:.2} ms",
        report.platform,
        report.decision,
        took.as_secs_f64() * 1e3
    );
    if report.findings.is_empty() {
        println!("no findings");
    }
    for f in &report.findings {
        let blocks = report.blocking.contains(&f.threat);
        println!(
            "  {:<8} {:<16} {:<22} {}{}",
            format!("{:?}", f.severity),
            format!("{:?}", f.threat),
            f.check,
            f.evidence,
            if blocks { "   [blocks]" } else { "" }
        );
    }
    Ok(())
}

/// The liveness evidence of a capture, for people.
pub fn print_evidence(ev: &smartid_core::LivenessEvidence, indent: &str) {
    for c in &ev.challenges {
        println!(
            "{indent}challenge {:<10} action at frame {}, passed at frame {}",
            c.kind.name(),
            c.action_frame,
            c.passed_frame
        );
    }
    match &ev.passive {
        PassiveOutcome::Measured(p) => println!(
            "{indent}passive: {} samples, mean live probability {:.3}, min {:.3} (threshold {}): {}",
            p.samples,
            p.mean,
            p.min,
            p.threshold,
            if p.live { "live" } else { "not live" }
        ),
        PassiveOutcome::NoModel => println!(
            "{indent}passive: not measured, this model set has no anti-spoof model (the payload says so)"
        ),
        PassiveOutcome::NotRequested => println!("{indent}passive: not requested"),
    }
}

#[derive(clap::Args)]
pub struct CaptureArgs {
    /// Folder of PNG/JPEG frames, in name order.
    #[arg(long)]
    pub frames: Option<PathBuf>,
    /// YUV4MPEG2 (4:2:0) video.
    #[arg(long)]
    pub y4m: Option<PathBuf>,
    /// Fixed challenges for replay, e.g. blink,turn-left (marks the result as test mode).
    #[arg(long)]
    pub challenges: Option<String>,
    /// Liveness mode: active, passive or both.
    #[arg(long, default_value = "both", value_parser = parse_mode)]
    pub mode: LivenessMode,
    /// Frame rate of the recording.
    #[arg(long, default_value_t = 29.97)]
    pub fps: f64,
    #[arg(long)]
    pub json: bool,
    /// Seal the result to this server public key (from `smartid keygen`); writes template.txt and
    /// payload.txt in --out.
    #[arg(long)]
    pub seal_to: Option<PathBuf>,
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Print what each frame cost on the caller's thread, per stage, and what the model worker spent
    /// (stderr; in --json output as "timings").
    #[arg(long)]
    pub timings: bool,
    /// With --timings: a line for every frame, not only the slow ones.
    #[arg(long)]
    pub every_frame: bool,
    /// Deliver frames at the recording's rate, as a camera does (the worker runs between frames).
    #[arg(long)]
    pub pace: bool,
    /// Seed the check schedules (and a random challenge draw): the same replay checks the same
    /// frames and gives the same result. Marks the result as test mode.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run the embedder and anti-spoof model inside push_frame instead of on the worker thread.
    #[arg(long)]
    pub inline_models: bool,
}

fn parse_mode(s: &str) -> Result<LivenessMode, String> {
    match s {
        "active" => Ok(LivenessMode::Active),
        "passive" => Ok(LivenessMode::Passive),
        "both" => Ok(LivenessMode::Both),
        _ => Err("expected active, passive or both".into()),
    }
}

fn parse_challenges(s: &str) -> AnyResult<Vec<ChallengeKind>> {
    s.split(',')
        .map(|c| {
            ChallengeKind::parse(c).ok_or_else(|| {
                format!("unknown challenge '{c}' (blink, turn-left, turn-right, look-up, smile)")
                    .into()
            })
        })
        .collect()
}

/// Runs a session over frames, read as they are needed (a recording is never decoded whole).
pub fn replay_frames(
    engine: Arc<Engine>,
    cfg: CaptureConfig,
    checks: Arc<EnvironmentChecks>,
    frames: impl IntoIterator<Item = AnyResult<(String, smartid_core::RgbImage)>>,
    fps: f64,
    quiet: bool,
) -> AnyResult<smartid_core::Result<CaptureResult>> {
    replay_timed(engine, cfg, checks, frames, fps, quiet, false, None)
}

/// As [`replay_frames`], optionally at the recording's pace and timing every `push_rgb`.
#[allow(clippy::too_many_arguments)]
pub fn replay_timed(
    engine: Arc<Engine>,
    cfg: CaptureConfig,
    checks: Arc<EnvironmentChecks>,
    frames: impl IntoIterator<Item = AnyResult<(String, smartid_core::RgbImage)>>,
    fps: f64,
    quiet: bool,
    pace: bool,
    mut timings: Option<&mut CaptureTimings>,
) -> AnyResult<smartid_core::Result<CaptureResult>> {
    let mut session = CaptureSession::new(engine, cfg, checks)?;
    if !quiet {
        let asked: Vec<&str> = session.challenges().iter().map(|c| c.name()).collect();
        println!(
            "challenges: {}",
            if asked.is_empty() {
                "none (passive)".into()
            } else {
                asked.join(", ")
            }
        );
    }
    let mut last = None;
    let started = Instant::now();
    for (i, frame) in frames.into_iter().enumerate() {
        let (name, img) = frame?;
        let t = (i as f64 * 1000.0 / fps) as u64;
        if pace {
            let due = Duration::from_millis(t);
            std::thread::sleep(due.saturating_sub(started.elapsed()));
        }
        let pushed = Instant::now();
        let g = session.push_rgb(&img, t)?;
        if let Some(tm) = timings.as_deref_mut() {
            tm.frame(pushed.elapsed(), session.frame_times());
            tm.worker(session.worker_times());
        }
        let changed = last
            .as_ref()
            .is_none_or(|l: &smartid_core::Guidance| l.step != g.step || l.prompt != g.prompt);
        if !quiet && changed {
            println!(
                "{:>4} {:<16} {:<11} {:<14} {:>4.0}%",
                i,
                name,
                format!("{:?}", g.step),
                format!("{:?}", g.prompt),
                g.progress * 100.0
            );
        }
        let end = matches!(g.step, Step::Done | Step::Failed);
        last = Some(g);
        if end {
            break;
        }
    }
    if let Some(tm) = timings {
        tm.ended();
    }
    Ok(session.finish())
}

pub fn capture(models: &Path, a: CaptureArgs) -> AnyResult {
    let input = match (&a.frames, &a.y4m) {
        (Some(d), None) => d.clone(),
        (None, Some(f)) => f.clone(),
        _ => return Err("give exactly one of --frames DIR or --y4m FILE".into()),
    };
    let mut timings = CaptureTimings::start(crate::process_start());
    let engine = Arc::new(Engine::from_path(models)?);
    timings.loaded();
    let fixed = a.challenges.as_deref().map(parse_challenges).transpose()?;
    if fixed.is_none() && a.mode != LivenessMode::Passive {
        eprintln!(
            "note: without --challenges the session draws random challenges, which a recording cannot answer"
        );
    }
    let cfg = CaptureConfig {
        liveness: a.mode,
        fixed_challenges: fixed,
        replay_seed: a.seed,
        background_models: !a.inline_models,
        ..CaptureConfig::default()
    };
    let outcome = replay_timed(
        engine,
        cfg,
        session_checks(),
        stream_frames(&input)?,
        a.fps,
        a.json,
        a.pace,
        Some(&mut timings),
    )?;
    if a.timings && !a.json {
        timings.print(a.every_frame);
    }
    let timings_json = a.timings.then(|| timings.to_json());
    match outcome {
        Ok(mut r) => {
            if let Some(pk_file) = &a.seal_to {
                let pk = smartid_core::seal::PublicKey::parse(&std::fs::read_to_string(pk_file)?)?;
                let sealed = r.seal(&pk, now_unix(), 600)?;
                std::fs::create_dir_all(&a.out)?;
                std::fs::write(a.out.join("template.txt"), &sealed.template)?;
                std::fs::write(a.out.join("payload.txt"), &sealed.payload)?;
                eprintln!(
                    "sealed to key '{}': {}/template.txt and payload.txt",
                    pk.key_id(),
                    a.out.display()
                );
            }
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "result": "success",
                        "session_id": r.session_id().to_hex(),
                        "template_frame": r.template_frame(),
                        "template_model": r.template().model_id(),
                        "template_dim": r.template().values().len(),
                        "evidence": r.evidence(),
                        "quality": r.quality(),
                        "timings": timings_json,
                    }))?
                );
            } else {
                println!(
                    "\nsuccess: template from frame {} ({} values, model {})",
                    r.template_frame(),
                    r.template().values().len(),
                    r.template().model_id()
                );
                print_evidence(r.evidence(), "  ");
                if r.evidence().test_mode {
                    println!(
                        "  TEST MODE: fixed challenges, a server should refuse this capture in production"
                    );
                }
            }
            Ok(())
        }
        Err(e) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({"result": "failure", "error_code": e.code().as_u16(), "message": e.to_string(), "timings": timings_json})
                );
            } else {
                println!("\nfailure {}: {e}", e.code().as_u16());
            }
            Err(format!("capture failed ({})", e.code().as_u16()).into())
        }
    }
}
