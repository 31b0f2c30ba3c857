//! What the benches share (`mod common;` in each bench that uses it). Each bench compiles this
//! module on its own and uses only part of it, hence the `dead_code` allowances.

use std::path::PathBuf;
use std::sync::Arc;

use smartid_core::RgbImage;
use smartid_core::rasp::{DesktopSignals, EnvironmentChecks, RaspConfig, RaspPolicy};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The manifests a bench measures: `SMARTID_BENCH_MANIFESTS` (comma-separated, relative to the
/// repository), or `defaults`.
pub fn manifests(defaults: &[&str]) -> Vec<PathBuf> {
    let repo = repo();
    match std::env::var("SMARTID_BENCH_MANIFESTS") {
        Ok(list) => list.split(',').map(|p| repo.join(p)).collect(),
        Err(_) => defaults.iter().map(|p| repo.join(p)).collect(),
    }
}

/// The first `count` frames of the carphone recording (`fixtures/faces/carphone`, 120 frames).
#[allow(dead_code)]
pub fn carphone_frames(count: usize) -> Vec<RgbImage> {
    let dir = repo().join("fixtures/faces/carphone");
    (0..count)
        .map(|i| {
            let img = image::open(dir.join(format!("frame_{i:03}.png")))
                .unwrap()
                .to_rgb8();
            let (w, h) = img.dimensions();
            RgbImage::from_raw(w, h, img.into_raw()).unwrap()
        })
        .collect()
}

/// The RASP checks a desktop session runs, with the desktop policy.
#[allow(dead_code)]
pub fn desktop_checks() -> Arc<EnvironmentChecks> {
    Arc::new(EnvironmentChecks::new(
        Arc::new(DesktopSignals),
        RaspPolicy::desktop(),
        RaspConfig::default(),
    ))
}
