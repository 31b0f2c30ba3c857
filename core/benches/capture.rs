//! Per-frame cost of `push_frame` on the carphone recording, for each shipped model set, tracking vs
//! re-detecting every frame, measured interleaved in one run (the machine is shared and noisy: compare
//! the ratios). `cargo bench -p smartid-core --bench capture`; `SMARTID_BENCH_MANIFESTS=a.toml,b.toml`
//! measures other manifests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Instant;

use smartid_core::liveness::active::ChallengeKind;
use smartid_core::{CaptureConfig, CaptureSession, Engine, Frame, PixelFormat};

fn main() {
    let manifests = common::manifests(&["models/manifest.toml", "models/manifest-antispoof.toml"]);
    let engines: Vec<Arc<Engine>> = manifests
        .iter()
        .map(|m| Arc::new(Engine::from_manifest_file(m).unwrap()))
        .collect();
    let frames = common::carphone_frames(120);
    let env = common::desktop_checks();
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
    // One row per (model set, mode); rounds interleave every row so noise hits them alike.
    let modes = [true, false];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); engines.len() * modes.len()];
    for _ in 0..rounds {
        for (e, engine) in engines.iter().enumerate() {
            for (m, tracking) in modes.into_iter().enumerate() {
                // A challenge the recording never performs keeps every frame in the measured loop,
                // with the work a capture does: tracking, eyes, identity, and the anti-spoof model on
                // sampled frames when the set has one ("both" runs as "active" without it).
                let cfg = CaptureConfig {
                    fixed_challenges: Some(vec![ChallengeKind::TurnLeft]),
                    challenge_timeout_ms: u64::MAX / 4,
                    overall_timeout_ms: u64::MAX / 4,
                    tracking,
                    ..CaptureConfig::default()
                };
                let mut s = CaptureSession::new(engine.clone(), cfg, env.clone()).unwrap();
                let row = &mut times[e * modes.len() + m];
                for (i, f) in frames.iter().enumerate() {
                    let frame =
                        Frame::packed(f.as_bytes(), f.width(), f.height(), PixelFormat::Rgb8);
                    let t = Instant::now();
                    s.push_frame(&frame, i as u64 * 33).unwrap();
                    row.push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
        }
    }
    let stat = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let p95 = ((v.len() as f64 * 0.95) as usize).clamp(1, v.len()) - 1;
        (v[v.len() / 2], v[p95])
    };
    println!(
        "push_frame on carphone (176x144), {} frames x {rounds} rounds, interleaved",
        frames.len()
    );
    println!("| model set | mode | median ms | p95 ms | median vs first row |");
    println!("|---|---|---|---|---|");
    let mut first = None;
    for (e, engine) in engines.iter().enumerate() {
        for (m, tracking) in modes.into_iter().enumerate() {
            let (med, p95) = stat(&mut times[e * modes.len() + m]);
            let base = *first.get_or_insert(med);
            println!(
                "| {} | {} | {med:.2} | {p95:.2} | {:.2}x |",
                engine.manifest().name,
                if tracking {
                    "tracking (mesh ROI from the previous frame; detector every 5th)"
                } else {
                    "re-detect every frame"
                },
                med / base
            );
        }
    }
}
