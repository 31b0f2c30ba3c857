//! Per-model latency and the per-frame pipeline (criterion). `cargo bench -p smartid-core --bench models`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use smartid_core::rasp::{
    DesktopSignals, FsRoot, Platform, RaspConfig, RaspPolicy, check_environment,
};
use smartid_core::vision::EyeRead;
use smartid_core::{Engine, RgbImage};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn frame() -> RgbImage {
    let img = image::open(repo().join("fixtures/faces/carphone/frame_000.png"))
        .unwrap()
        .to_rgb8();
    let (w, h) = img.dimensions();
    RgbImage::from_raw(w, h, img.into_raw()).unwrap()
}

/// The shipped model sets, or `SMARTID_BENCH_MANIFESTS=a.toml,b.toml` (paths from the repo root).
fn manifests() -> Vec<PathBuf> {
    match std::env::var("SMARTID_BENCH_MANIFESTS") {
        Ok(list) => list.split(',').map(|p| repo().join(p)).collect(),
        Err(_) => vec![
            repo().join("models/manifest.toml"),
            repo().join("models/manifest-antispoof.toml"),
        ],
    }
}

fn models(c: &mut Criterion) {
    let img = frame();
    for path in manifests() {
        let engine = Engine::from_manifest_file(&path).unwrap();
        let set = engine.manifest().name.clone();
        let id = |role: &str| {
            engine
                .manifest()
                .models()
                .into_iter()
                .find(|(r, _)| *r == role)
                .map(|(_, s)| s.id.clone())
                .unwrap_or_default()
        };
        let det = engine.detect_one(&img).unwrap();
        let roi = engine.roi_for(&det);
        let mesh = engine.mesh_at(&img, &roi).unwrap().unwrap();
        let face = engine
            .analyze_mesh(&img, Some(det.clone()), mesh.clone(), false, EyeRead::Iris)
            .unwrap();

        let mut g = c.benchmark_group(format!("{set}/model"));
        g.sample_size(30).measurement_time(Duration::from_secs(4));
        g.bench_function(format!("detector ({})", id("detector")), |b| {
            b.iter(|| black_box(engine.detect(&img).unwrap()))
        });
        g.bench_function(format!("mesh ({})", id("mesh")), |b| {
            b.iter(|| black_box(engine.mesh_at(&img, &roi).unwrap()))
        });
        g.bench_function(
            format!("eyes x2 + pose + alignment + quality ({})", id("eyes")),
            |b| {
                b.iter(|| {
                    black_box(
                        engine
                            .analyze_mesh(
                                &img,
                                Some(det.clone()),
                                mesh.clone(),
                                false,
                                EyeRead::Iris,
                            )
                            .unwrap(),
                    )
                })
            },
        );
        // A frame whose eyes the session leaves to the mesh's lids (no Iris run).
        g.bench_function("lids + pose + alignment + quality (no Iris)", |b| {
            let lids_only = EyeRead::IrisBelow(0.0);
            b.iter(|| {
                black_box(
                    engine
                        .analyze_mesh(&img, Some(det.clone()), mesh.clone(), false, lids_only)
                        .unwrap(),
                )
            })
        });
        if engine.has_antispoof() {
            g.bench_function(format!("antispoof ({})", id("antispoof")), |b| {
                b.iter(|| black_box(engine.live_probability(&img, &det.bbox).unwrap()))
            });
        }
        g.bench_function(format!("embedder ({})", id("embedder")), |b| {
            b.iter(|| black_box(engine.embed(&face).unwrap()))
        });
        g.finish();

        let mut g = c.benchmark_group(format!("{set}/frame"));
        g.sample_size(20).measurement_time(Duration::from_secs(5));
        g.bench_function("full analysis, detector + all models but embedder", |b| {
            b.iter(|| black_box(engine.analyze(&img, true).unwrap()))
        });
        g.finish();
    }
}

/// The server's re-verification of a genuine capture (template frame + a blink's three frames) next
/// to what the device spends on one frame it embeds: the ratio is the server's cost per capture.
fn verify(c: &mut Criterion) {
    use smartid_core::liveness::active::ChallengeKind;
    use smartid_core::verify::{VerifyConfig, reverify};
    use smartid_core::{CaptureConfig, CaptureSession, Step};
    for path in manifests() {
        let engine = std::sync::Arc::new(Engine::from_manifest_file(&path).unwrap());
        let set = engine.manifest().name.clone();
        let cfg = CaptureConfig {
            fixed_challenges: Some(vec![ChallengeKind::Blink]),
            ..CaptureConfig::default()
        };
        let checks = std::sync::Arc::new(smartid_core::EnvironmentChecks::new(
            std::sync::Arc::new(DesktopSignals),
            RaspPolicy::desktop(),
            RaspConfig::default(),
        ));
        let mut s = CaptureSession::new(engine.clone(), cfg, checks).unwrap();
        for i in 0..120 {
            let f = image::open(repo().join(format!("fixtures/faces/carphone/frame_{i:03}.png")))
                .unwrap()
                .to_rgb8();
            let (w, h) = f.dimensions();
            let g = s
                .push_rgb(&RgbImage::from_raw(w, h, f.into_raw()).unwrap(), i * 33)
                .unwrap();
            if matches!(g.step, Step::Done | Step::Failed) {
                break;
            }
        }
        let r = s.finish().unwrap();
        let payload = r.payload(1_790_000_000, 600);
        let template = r.template().clone();
        let img = frame();
        let mut g = c.benchmark_group(format!("{set}/server"));
        g.sample_size(10).measurement_time(Duration::from_secs(8));
        g.bench_function("one frame: full analysis + embedding (reference)", |b| {
            b.iter(|| black_box(engine.embed(&engine.analyze(&img, true).unwrap()).unwrap()))
        });
        g.bench_function(
            format!(
                "reverify a blink capture ({} frames)",
                payload.evidence.len()
            ),
            |b| {
                b.iter(|| {
                    black_box(
                        reverify(&engine, &template, &payload, &VerifyConfig::default()).unwrap(),
                    )
                })
            },
        );
        g.finish();
    }
}

fn rasp(c: &mut Criterion) {
    let mut g = c.benchmark_group("rasp");
    g.sample_size(50);
    g.bench_function("check_environment (this machine)", |b| {
        b.iter(|| {
            black_box(check_environment(
                &FsRoot::system(),
                Platform::current(),
                &DesktopSignals,
                &RaspPolicy::desktop(),
                &RaspConfig::default(),
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, models, verify, rasp);
criterion_main!(benches);
