//! `smartid attacks`: the attack corpus of issue 12, built from the bundled fixtures and run through
//! capture sessions as frames injected through a virtual camera would arrive. Every change to liveness
//! is measured against it: `harness/tests/attacks.rs` runs it on each model set and requires that no
//! attack passes and that the genuine recordings do; docs/attacks.md holds the figures.

mod forge;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use smartid_core::liveness::LivenessMode;
use smartid_core::liveness::active::ChallengeKind;
use smartid_core::rasp::{DesktopSignals, EnvironmentChecks, FsRoot, Platform, RaspPolicy};
use smartid_core::{CaptureConfig, CaptureSession, Engine, Prompt, RgbImage, Step};

use crate::AnyResult;
use crate::frames::load_image;
use forge::{FaceGeometry, Img};

/// Frames as the virtual camera plays them.
struct Clip {
    frames: Vec<RgbImage>,
    /// The rate the frames are stamped at.
    fps: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Expect {
    /// An attack: must never pass.
    Refused,
    /// A genuine recording: must pass every run.
    Passes,
    /// Measured and reported, not a pass/fail criterion (an adaptive attack beyond the issue's).
    Measured,
}

struct Scenario {
    attack: &'static str,
    variant: String,
    clip: Arc<Clip>,
    cfg: CaptureConfig,
    expect: Expect,
    /// Frames arrive this many times faster than their stamps say (1 = real time).
    delivery: f64,
}

#[derive(Serialize)]
pub struct Outcome {
    pub attack: &'static str,
    pub variant: String,
    pub expect: &'static str,
    pub runs: u32,
    pub passed: u32,
    /// Error code → runs that ended with it.
    pub refused: BTreeMap<u16, u32>,
    /// Frames whose guidance said "no face", and frames that named an image problem instead.
    pub no_face_frames: u32,
    pub image_issue_frames: u32,
    pub frames: u32,
    /// With `--seed`: the replay seeds of the runs that passed (replay one with `smartid capture --seed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub passed_seeds: Vec<u64>,
    /// With `--every-draw`: the challenge sequences that passed, e.g. "turn-right,look-up".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub passed_draws: Vec<String>,
}

impl Outcome {
    /// A row with no runs yet.
    fn empty(s: &Scenario) -> Self {
        Self {
            attack: s.attack,
            variant: s.variant.clone(),
            expect: expect_name(s.expect),
            runs: 0,
            passed: 0,
            refused: BTreeMap::new(),
            no_face_frames: 0,
            image_issue_frames: 0,
            frames: 0,
            passed_seeds: Vec::new(),
            passed_draws: Vec::new(),
        }
    }

    /// Adds another run's counts of the same row.
    fn absorb(&mut self, other: Outcome) {
        self.runs += other.runs;
        self.passed += other.passed;
        for (code, n) in other.refused {
            *self.refused.entry(code).or_default() += n;
        }
        self.no_face_frames += other.no_face_frames;
        self.image_issue_frames += other.image_issue_frames;
        self.frames += other.frames;
        self.passed_seeds.extend(other.passed_seeds);
        self.passed_draws.extend(other.passed_draws);
    }

    /// Whether this row meets its expectation.
    pub fn ok(&self) -> bool {
        match self.expect {
            "refused" => self.passed == 0,
            "passes" => self.passed == self.runs,
            _ => true,
        }
    }
}

fn expect_name(e: Expect) -> &'static str {
    match e {
        Expect::Refused => "refused",
        Expect::Passes => "passes",
        Expect::Measured => "measured",
    }
}

/// Default configuration: random challenges, as an app ships it.
fn default_cfg() -> CaptureConfig {
    CaptureConfig::default()
}

/// The challenges a clip was made for, fixed: measures one defence alone (marked test mode).
fn targeted(kinds: &[ChallengeKind]) -> CaptureConfig {
    CaptureConfig {
        fixed_challenges: Some(kinds.to_vec()),
        ..CaptureConfig::default()
    }
}

struct Fixtures {
    engine: Arc<Engine>,
    carphone: Vec<RgbImage>,
    low_bitrate: Vec<RgbImage>,
    obama: RgbImage,
    astronaut: RgbImage,
}

impl Fixtures {
    fn load(engine: Arc<Engine>, dir: &Path) -> AnyResult<Self> {
        let folder = |name: &str| -> AnyResult<Vec<RgbImage>> {
            (0..120)
                .map(|i| load_image(&dir.join(format!("{name}/frame_{i:03}.png"))))
                .collect()
        };
        Ok(Self {
            carphone: folder("carphone")?,
            low_bitrate: folder("carphone_6kbps")?,
            obama: load_image(&dir.join("stills/obama.jpg"))?,
            astronaut: load_image(&dir.join("stills/astronaut.png"))?,
            engine,
        })
    }

    fn geometry(&self, img: &RgbImage) -> AnyResult<FaceGeometry> {
        let face = self.engine.analyze(img, false)?;
        let lm = &self.engine.manifest().mesh.landmarks;
        Ok(FaceGeometry::of(&face, &lm.right_eye, &lm.left_eye))
    }
}

fn clip(frames: Vec<Img>, fps: f64) -> AnyResult<Arc<Clip>> {
    let frames = frames
        .iter()
        .map(|f| f.to_rgb())
        .collect::<smartid_core::Result<Vec<_>>>()?;
    Ok(Arc::new(Clip { frames, fps }))
}

/// `from` → `to` → `from` in `steps` frames each way, `hold` frames at the peak.
fn ramp(peak: f32, steps: usize, hold: usize) -> Vec<f32> {
    let up = (1..=steps).map(|i| peak * i as f32 / steps as f32);
    let down = (0..steps).rev().map(|i| peak * i as f32 / steps as f32);
    up.clone()
        .chain(std::iter::repeat_n(peak, hold))
        .chain(down)
        .collect()
}

/// One still performing every action in turn: blink (eyes painted shut for two frames), turn left,
/// turn right, look up, smile, with neutral frames between — the clip that answered any random draw.
fn all_actions(still: &Img, g: &FaceGeometry, flat: bool) -> Vec<Img> {
    let turn = |deg: f32, vertical: bool| {
        if flat {
            forge::flat_turn(still, g, deg, vertical)
        } else {
            forge::cylinder_turn(still, g, deg, vertical)
        }
    };
    let neutral = |n: usize| vec![still.clone(); n];
    let mut v = neutral(8);
    v.extend([
        forge::paint_eyes(still, g, 1.0),
        forge::paint_eyes(still, g, 1.0),
    ]);
    v.extend(neutral(8));
    // Warp angles that the mesh reads as clear actions (a 2-D warp reads as about half its angle).
    for (deg, vertical) in [(-55.0, false), (55.0, false), (-60.0, true)] {
        v.extend(ramp(deg, 6, 3).into_iter().map(|d| turn(d, vertical)));
        v.extend(neutral(8));
    }
    v.extend(
        ramp(0.35, 5, 3)
            .into_iter()
            .map(|gain| forge::stretch_mouth(still, g, gain)),
    );
    v.extend(neutral(8));
    v
}

/// Every frame with its own ±2-level noise, as a camera sensor adds (deterministic per frame).
fn noisy_frames(frames: Vec<Img>) -> Vec<Img> {
    frames
        .into_iter()
        .enumerate()
        .map(|(i, mut f)| {
            let mut state =
                0x9E37_79B9_7F4A_7C15u64 ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
            for v in f.px.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *v = (i32::from(*v) + (state % 5) as i32 - 2).clamp(0, 255) as u8;
            }
            f
        })
        .collect()
}

/// A `w`×`h` frame of `img` with the face in the middle, 45 % of the frame's height.
fn frame_face(img: &Img, g: &FaceGeometry, w: usize, h: usize) -> Img {
    let s = g.height / (0.45 * h as f32);
    let (x0, y0) = (
        g.centre.x - s * w as f32 / 2.0,
        g.centre.y - s * h as f32 / 2.0,
    );
    let mut out = Img {
        w,
        h,
        px: vec![0; w * h * 3],
    };
    for y in 0..h {
        for x in 0..w {
            let v = img.sample(
                x0 + (x as f32 + 0.5) * s - 0.5,
                y0 + (y as f32 + 0.5) * s - 0.5,
            );
            let o = (y * w + x) * 3;
            for (dst, value) in out.px[o..o + 3].iter_mut().zip(v) {
                *dst = value.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

fn scenarios(fx: &Fixtures) -> AnyResult<Vec<Scenario>> {
    let mut out = Vec::new();
    let mut add = |attack, variant: &str, clip: &Arc<Clip>, cfg, expect, delivery| {
        out.push(Scenario {
            attack,
            variant: variant.into(),
            clip: clip.clone(),
            cfg,
            expect,
            delivery,
        })
    };
    let has_antispoof = fx.engine.has_antispoof();
    let carphone: Vec<Img> = fx.carphone.iter().map(Img::from_rgb).collect();
    let c0 = carphone[0].clone();
    let g_c0 = fx.geometry(&fx.carphone[0])?;
    // Framed like a phone's preview frame (320×240, the face in the middle).
    let obama = frame_face(
        &Img::from_rgb(&fx.obama),
        &fx.geometry(&fx.obama)?,
        320,
        240,
    );
    let g_obama = fx.geometry(&obama.to_rgb()?)?;

    // 1. One clip answers any random draw.
    for (name, still, g) in [("carphone", &c0, &g_c0), ("obama", &obama, &g_obama)] {
        let warped = clip(all_actions(still, g, false), 30.0)?;
        add(
            "all-actions-clip",
            &format!("{name}, 2-D turn warp, poses held by copied frames"),
            &warped,
            default_cfg(),
            Expect::Refused,
            1.0,
        );
        // The same clip with sensor-like noise on every frame: no frozen frame gives it away, and it
        // answers the draws whose actions come in its own order (docs/attacks.md).
        let noisy = clip(noisy_frames(all_actions(still, g, false)), 30.0)?;
        add(
            "all-actions-clip",
            &format!("{name}, 2-D turn warp + noise (adaptive)"),
            &noisy,
            default_cfg(),
            Expect::Measured,
            1.0,
        );
        let flat = clip(all_actions(still, g, true), 30.0)?;
        add(
            "all-actions-clip",
            &format!("{name}, photo turned (homography)"),
            &flat,
            default_cfg(),
            Expect::Refused,
            1.0,
        );
    }
    // 2. Crude edits: eyes painted shut on a still; two painted frames spliced into a recording.
    let mut painted = vec![c0.clone(); 20];
    painted.extend([
        forge::paint_eyes(&c0, &g_c0, 1.0),
        forge::paint_eyes(&c0, &g_c0, 1.0),
    ]);
    painted.extend(vec![c0.clone(); 40]);
    let painted = clip(painted, 30.0)?;
    add(
        "painted-still-blink",
        "blink asked",
        &painted,
        targeted(&[ChallengeKind::Blink]),
        Expect::Refused,
        1.0,
    );
    add(
        "painted-still-blink",
        "default",
        &painted,
        default_cfg(),
        Expect::Refused,
        1.0,
    );
    // The recording without its blinks (frames 0-40 and 46-91), two frames painted shut at 25-26.
    let mut spliced: Vec<Img> = carphone[..41]
        .iter()
        .chain(&carphone[46..91])
        .cloned()
        .collect();
    for i in [25, 26] {
        let g = fx.geometry(&spliced[i].to_rgb()?)?;
        spliced[i] = forge::paint_eyes(&spliced[i], &g, 1.0);
    }
    let spliced_half = {
        let mut v = spliced.clone();
        let g = fx.geometry(&v[27].to_rgb()?)?;
        v[27] = forge::paint_eyes(&v[27], &g, 0.55);
        clip(v, 30.0)?
    };
    let spliced = clip(spliced, 30.0)?;
    add(
        "spliced-closed-eyes",
        "blink asked",
        &spliced,
        targeted(&[ChallengeKind::Blink]),
        Expect::Refused,
        1.0,
    );
    add(
        "spliced-closed-eyes",
        "blink asked, + a half-closed frame (adaptive)",
        &spliced_half,
        targeted(&[ChallengeKind::Blink]),
        Expect::Measured,
        1.0,
    );
    // 3. Fixed schedule and a trusted frame clock.
    // A two-frame jump to a warped photo at 15 fps.
    let mut jump = vec![c0.clone(); 10];
    for deg in [20.0, 40.0, 40.0, 40.0, 20.0] {
        jump.push(forge::cylinder_turn(&c0, &g_c0, deg, false));
    }
    jump.extend(vec![c0.clone(); 15]);
    let jump = clip(jump, 15.0)?;
    add(
        "turn-two-frame-jump-15fps",
        "turn-left asked",
        &jump,
        targeted(&[ChallengeKind::TurnLeft]),
        Expect::Refused,
        1.0,
    );
    let reversed = clip(carphone.iter().rev().cloned().collect(), 30.0)?;
    add(
        "recording-reversed",
        "blink asked",
        &reversed,
        targeted(&[ChallengeKind::Blink]),
        Expect::Refused,
        1.0,
    );
    for phase in 0..4 {
        let fast = clip(
            carphone.iter().skip(phase).step_by(4).cloned().collect(),
            30.0,
        )?;
        add(
            "recording-4x-speed",
            &format!("blink asked, frames {phase}+4k"),
            &fast,
            targeted(&[ChallengeKind::Blink]),
            Expect::Refused,
            1.0,
        );
    }
    let genuine = clip(carphone.clone(), 30.0)?;
    let clocked = CaptureConfig {
        frame_clock_check: true,
        ..targeted(&[ChallengeKind::Blink])
    };
    add(
        "replayed-faster-than-stamped",
        "blink asked, delivered 4x faster",
        &genuine,
        clocked.clone(),
        Expect::Refused,
        4.0,
    );
    // A different face in the other person's place, between the identity checks.
    let g_astronaut = fx.geometry(&fx.astronaut)?;
    let swapped = forge::move_face(&Img::from_rgb(&fx.astronaut), &g_astronaut, &g_c0);
    let swapped = Img {
        // Cut to the recording's size.
        w: c0.w,
        h: c0.h,
        px: (0..c0.h)
            .flat_map(|y| swapped.px[y * swapped.w * 3..(y * swapped.w + c0.w) * 3].to_vec())
            .collect(),
    };
    let mut swap = carphone.clone();
    for f in swap.iter_mut().take(27).skip(20) {
        *f = swapped.clone();
    }
    let swap = clip(swap, 30.0)?;
    add(
        "face-swap-between-checks",
        "blink asked, frames 20-26 another face",
        &swap,
        targeted(&[ChallengeKind::Blink]),
        Expect::Refused,
        1.0,
    );
    if has_antispoof {
        // Screen copies everywhere the old schedule (n % 5 == 0) did not look.
        let screened: Vec<Img> = carphone
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if i % 5 == 0 {
                    f.clone()
                } else {
                    forge::screen_bezel(f)
                }
            })
            .collect();
        let screened = clip(screened, 30.0)?;
        add(
            "spoof-between-scheduled-checks",
            "blink asked, screen copy off the old schedule",
            &screened,
            targeted(&[ChallengeKind::Blink]),
            Expect::Refused,
            1.0,
        );
        // 4. Passive-only mode and a still photo.
        let passive = CaptureConfig {
            liveness: LivenessMode::Passive,
            ..CaptureConfig::default()
        };
        let still = clip(vec![c0.clone(); 150], 30.0)?;
        add(
            "passive-only-still",
            "carphone frame 0 held",
            &still,
            passive.clone(),
            Expect::Refused,
            1.0,
        );
        let shaken: Vec<Img> = (0..150)
            .map(|i| {
                let a = i as f32 * 0.7;
                forge::shift(&c0, 0.8 * a.sin(), 0.6 * (1.3 * a).cos())
            })
            .collect();
        let shaken = clip(shaken, 30.0)?;
        add(
            "passive-only-still",
            "photo shaken by hand (adaptive)",
            &shaken,
            passive.clone(),
            Expect::Measured,
            1.0,
        );
        add(
            "genuine",
            "recording, passive only",
            &genuine,
            passive,
            Expect::Passes,
            1.0,
        );
    }
    // Genuine recordings must keep passing: 30 fps, 15 fps (either half of the frames), a real-time clock.
    add(
        "genuine",
        "recording 30 fps, blink asked",
        &genuine,
        targeted(&[ChallengeKind::Blink]),
        Expect::Passes,
        1.0,
    );
    add(
        "genuine",
        "recording 30 fps, clock checked",
        &genuine,
        clocked,
        Expect::Passes,
        1.0,
    );
    for phase in 0..2 {
        let half = clip(
            carphone.iter().skip(phase).step_by(2).cloned().collect(),
            15.0,
        )?;
        add(
            "genuine",
            &format!("recording 15 fps (frames {phase}+2k), blink asked"),
            &half,
            targeted(&[ChallengeKind::Blink]),
            Expect::Passes,
            1.0,
        );
    }
    // Degraded input: guided, never passed on unreliable readings.
    let low = clip(fx.low_bitrate.iter().map(Img::from_rgb).collect(), 30.0)?;
    add(
        "low-bitrate-recording",
        "6 kbit/s copy, blink asked",
        &low,
        targeted(&[ChallengeKind::Blink]),
        Expect::Refused,
        1.0,
    );
    Ok(out)
}

/// RASP on an empty tree with the desktop policy: the corpus measures liveness, the same on every
/// machine (RASP on this machine is core/tests/rasp_real.rs's business).
fn quiet_environment() -> Arc<EnvironmentChecks> {
    let empty = std::env::temp_dir().join("smartid-attacks-empty-root");
    let _ = std::fs::create_dir_all(&empty);
    Arc::new(
        EnvironmentChecks::new(
            Arc::new(DesktopSignals),
            RaspPolicy::desktop(),
            Default::default(),
        )
        .with_root(FsRoot::at(empty), Platform::Linux),
    )
}

/// Plays a clip into a session (looping it, as a virtual camera would, until the session ends or 20 s
/// of frames have passed) and returns how it ended.
fn run_once(
    engine: &Arc<Engine>,
    s: &Scenario,
    seed: Option<u64>,
    draw: Option<&[ChallengeKind]>,
    tally: &mut Outcome,
) -> AnyResult {
    let cfg = CaptureConfig {
        replay_seed: seed,
        fixed_challenges: draw
            .map(<[ChallengeKind]>::to_vec)
            .or(s.cfg.fixed_challenges.clone()),
        ..s.cfg.clone()
    };
    let mut session = CaptureSession::new(engine.clone(), cfg, quiet_environment())?;
    let wall = Arc::new(AtomicU64::new(0));
    let clock = wall.clone();
    session.set_monotonic_clock(Box::new(move || clock.load(Ordering::Relaxed)));
    let limit = (s.clip.fps * 20.0) as usize;
    let frames = s
        .clip
        .frames
        .iter()
        .cycle()
        .take(limit.max(s.clip.frames.len()));
    for (i, frame) in frames.enumerate() {
        let t = (i as f64 * 1000.0 / s.clip.fps) as u64;
        wall.store((t as f64 / s.delivery) as u64, Ordering::Relaxed);
        let g = session.push_rgb(frame, t)?;
        tally.frames += 1;
        match g.prompt {
            Prompt::NoFace => tally.no_face_frames += 1,
            Prompt::Blurry | Prompt::TooDark | Prompt::TooBright | Prompt::PoorImage => {
                tally.image_issue_frames += 1
            }
            _ => {}
        }
        if matches!(g.step, Step::Done | Step::Failed) {
            break;
        }
    }
    match session.finish() {
        Ok(_) => {
            tally.passed += 1;
            tally.passed_seeds.extend(seed);
            if let Some(d) = draw {
                let names: Vec<&str> = d.iter().map(|k| k.name()).collect();
                tally.passed_draws.push(names.join(","));
            }
        }
        Err(e) => *tally.refused.entry(e.code().as_u16()).or_default() += 1,
    }
    tally.runs += 1;
    Ok(())
}

/// Writes a clip as numbered PNG frames (replay them with `smartid capture --frames DIR --fps F`).
fn write_clip(dir: &Path, s: &Scenario) -> AnyResult {
    let slug: String = format!("{}_{}", s.attack, s.variant)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let out = dir.join(slug);
    std::fs::create_dir_all(&out)?;
    for (i, f) in s.clip.frames.iter().enumerate() {
        image::RgbImage::from_raw(f.width(), f.height(), f.as_bytes().to_vec())
            .ok_or("frame size")?
            .save(out.join(format!("frame_{i:03}.png")))?;
    }
    std::fs::write(out.join("fps.txt"), format!("{}\n", s.clip.fps))?;
    Ok(())
}

/// Runs the corpus; `only` (when not empty) keeps the rows whose "attack / variant" contains one of
/// its entries; `write` also saves each clip;
/// `seed` makes the runs reproducible (run r draws its challenges and check frames from seed + r);
/// `every_draw` runs the rows on a random draw once per possible draw (× `runs`).
pub fn run(
    engine: Arc<Engine>,
    fixtures: &Path,
    runs: u32,
    seed: Option<u64>,
    every_draw: bool,
    only: &[String],
    write: Option<&Path>,
) -> AnyResult<Vec<Outcome>> {
    let fx = Fixtures::load(engine.clone(), fixtures)?;
    let chosen: Vec<Scenario> = scenarios(&fx)?
        .into_iter()
        .filter(|s| {
            let name = format!("{} / {}", s.attack, s.variant);
            only.is_empty() || only.iter().any(|part| name.contains(part.as_str()))
        })
        .collect();
    if let Some(dir) = write {
        for s in &chosen {
            write_clip(dir, s)?;
        }
    }
    // Every run of every row is one work item (a row run once per draw would otherwise keep one core
    // busy while the other idles); sessions are independent and each model runs on one thread: one
    // worker per core.
    let mut items: Vec<(usize, Option<Vec<ChallengeKind>>, Option<u64>)> = Vec::new();
    for (i, s) in chosen.iter().enumerate() {
        for draw in draws_for(s, every_draw) {
            for r in 0..runs {
                items.push((
                    i,
                    draw.clone(),
                    seed.map(|base| base.wrapping_add(u64::from(r))),
                ));
            }
        }
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Outcome>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let failure: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some((i, draw, seed)) = items.get(n) else {
                        break;
                    };
                    let s = &chosen[*i];
                    let mut tally = Outcome::empty(s);
                    match run_once(&engine, s, *seed, draw.as_deref(), &mut tally) {
                        Ok(()) => {
                            if let Ok(mut slot) = results[n].lock() {
                                *slot = Some(tally);
                            }
                        }
                        Err(e) => {
                            if let Ok(mut f) = failure.lock() {
                                f.get_or_insert_with(|| e.to_string());
                            }
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e.into());
    }
    // One row per scenario, its runs merged in item order (the listed seeds and draws stay ordered).
    let mut rows: Vec<Outcome> = chosen.iter().map(Outcome::empty).collect();
    for ((i, _, _), slot) in items.iter().zip(results) {
        let part = slot
            .into_inner()
            .ok()
            .flatten()
            .ok_or("an attack run left no result")?;
        rows[*i].absorb(part);
    }
    Ok(rows)
}

/// Every sequence a random draw can produce from the pool: `count` kinds, none twice in a row (as
/// `draw_challenges` draws them).
fn every_draw(pool: &[ChallengeKind], count: usize) -> Vec<Vec<ChallengeKind>> {
    let mut out: Vec<Vec<ChallengeKind>> = vec![vec![]];
    for _ in 0..count {
        let mut longer = Vec::new();
        for seq in &out {
            for &k in pool {
                if pool.len() == 1 || seq.last() != Some(&k) {
                    let mut next = seq.clone();
                    next.push(k);
                    longer.push(next);
                }
            }
        }
        out = longer;
    }
    out
}

/// The challenge sequences a row runs on: its own configuration's (`None`), or, with `every`, each
/// draw a row on random challenges could get (no luck either way).
fn draws_for(s: &Scenario, every: bool) -> Vec<Option<Vec<ChallengeKind>>> {
    if every && s.cfg.fixed_challenges.is_none() && s.cfg.liveness.active() {
        every_draw(&s.cfg.challenge_pool, s.cfg.challenge_count as usize)
            .into_iter()
            .map(Some)
            .collect()
    } else {
        vec![None]
    }
}

/// `smartid attacks`: prints the table (or JSON); fails when an attack passed or a genuine recording
/// did not.
pub fn attacks(
    models: &Path,
    runs: u32,
    seed: Option<u64>,
    every_draw: bool,
    only: &[String],
    write: Option<&Path>,
    json: bool,
) -> AnyResult {
    let engine = Arc::new(Engine::from_path(models)?);
    let set = engine.manifest().name.clone();
    let outcomes = run(
        engine,
        &crate::default_fixtures_dir(),
        runs,
        seed,
        every_draw,
        only,
        write,
    )?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"model_set": set, "outcomes": outcomes})
            )?
        );
    } else {
        println!("model set '{set}', {runs} run(s) per row\n");
        println!(
            "| attack | variant | expected | passed / runs | refused with (code × runs) | no-face frames | image-issue frames |"
        );
        println!("|---|---|---|---|---|---|---|");
        for o in &outcomes {
            let refused: Vec<String> = o.refused.iter().map(|(c, n)| format!("{c}×{n}")).collect();
            println!(
                "| {} | {} | {} | {} / {} | {} | {} / {} | {} / {} |",
                o.attack,
                o.variant,
                o.expect,
                o.passed,
                o.runs,
                refused.join(" "),
                o.no_face_frames,
                o.frames,
                o.image_issue_frames,
                o.frames
            );
        }
    }
    let bad: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.ok())
        .map(|o| format!("{} ({})", o.attack, o.variant))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("not as expected: {}", bad.join("; ")).into())
    }
}
