//! Per-frame cost of `push_frame` on the carphone recording, tracking vs re-detecting every frame,
//! measured interleaved in one run (the machine is shared and noisy: compare the ratio).
//! `cargo bench -p smartid-core --bench capture`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use smartid_core::liveness::LivenessMode;
use smartid_core::rasp::{DesktopSignals, EnvironmentChecks, RaspConfig, RaspPolicy};
use smartid_core::{CaptureConfig, CaptureSession, Engine, Frame, PixelFormat, RgbImage};

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let engine = Arc::new(Engine::from_dir(repo.join("models")).unwrap());
    let frames: Vec<RgbImage> = (0..120)
        .map(|i| {
            let img = image::open(repo.join(format!("fixtures/faces/carphone/frame_{i:03}.png")))
                .unwrap()
                .to_rgb8();
            let (w, h) = img.dimensions();
            RgbImage::from_raw(w, h, img.into_raw()).unwrap()
        })
        .collect();
    let env = Arc::new(EnvironmentChecks::new(
        Arc::new(DesktopSignals),
        RaspPolicy::desktop(),
        RaspConfig::default(),
    ));
    // `cargo bench` passes --bench; under `cargo test --all-targets` this is a smoke run of one round
    // on a few frames, so the test command stays fast and the bench still has to work.
    let measuring = std::env::args().any(|a| a == "--bench");
    let rounds = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if measuring { 3 } else { 1 });
    let frames = if measuring {
        frames
    } else {
        frames[..20].to_vec()
    };
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (k, tracking) in [true, false].into_iter().enumerate() {
            // Passive mode with a long capture window keeps every frame in the measured loop.
            let cfg = CaptureConfig {
                liveness: LivenessMode::Passive,
                capture_frames: 10_000,
                tracking,
                ..CaptureConfig::default()
            };
            let mut s = CaptureSession::new(engine.clone(), cfg, env.clone()).unwrap();
            for (i, f) in frames.iter().enumerate() {
                let frame = Frame::packed(f.as_bytes(), f.width(), f.height(), PixelFormat::Rgb8);
                let t = Instant::now();
                s.push_frame(&frame, i as u64 * 33).unwrap();
                times[k].push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    let stat = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[(v.len() as f64 * 0.95) as usize - 1])
    };
    let (tm, tp) = stat(&mut times[0]);
    let (rm, rp) = stat(&mut times[1]);
    println!(
        "push_frame on carphone (176x144), {} frames x {rounds} rounds, interleaved",
        frames.len()
    );
    println!("| mode | median ms | p95 ms |");
    println!("|---|---|---|");
    println!(
        "| tracking (mesh ROI from previous frame; detector every 5th frame) | {tm:.2} | {tp:.2} |"
    );
    println!("| re-detect every frame | {rm:.2} | {rp:.2} |");
    println!(
        "ratio re-detect / tracking: median {:.2}x, p95 {:.2}x",
        rm / tm,
        rp / tp
    );
}
