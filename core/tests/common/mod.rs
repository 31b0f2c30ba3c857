//! Shared test helpers: the bundled models and fixtures, loaded once.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use smartid_core::{Engine, RgbImage};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn models_dir() -> PathBuf {
    repo().join("models")
}

/// The model set under test: `SMARTID_MODELS` (a folder with `manifest.toml` or a manifest file,
/// relative to the repo or absolute; the harness reads the same variable), else `models/manifest.toml`.
/// The test command runs the suite once per shipped manifest.
pub fn manifest_path() -> PathBuf {
    let path = match std::env::var_os("SMARTID_MODELS") {
        Some(p) if !p.is_empty() => repo().join(p),
        _ => models_dir(),
    };
    if path.is_dir() {
        path.join("manifest.toml")
    } else {
        path
    }
}

/// The manifest text under test (for tests that edit it).
pub fn manifest_text() -> String {
    std::fs::read_to_string(manifest_path()).expect("manifest under test")
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("fixtures/faces").join(rel)
}

pub fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let engine = Engine::from_manifest_file(manifest_path()).expect("bundled models load");
            println!(
                "model set '{}' ({})",
                engine.manifest().name,
                manifest_path().display()
            );
            Arc::new(engine)
        })
        .clone()
}

pub fn load_rgb(path: &std::path::Path) -> RgbImage {
    let img = image::open(path).expect("fixture decodes").to_rgb8();
    let (w, h) = img.dimensions();
    RgbImage::from_raw(w, h, img.into_raw()).unwrap()
}

pub fn still(name: &str) -> RgbImage {
    let file = if name == "astronaut" {
        "astronaut.png".to_string()
    } else {
        format!("{name}.jpg")
    };
    load_rgb(&fixture(&format!("stills/{file}")))
}

pub fn carphone(i: usize) -> RgbImage {
    load_rgb(&fixture(&format!("carphone/frame_{i:03}.png")))
}

pub fn reference() -> &'static serde_json::Value {
    static REF: OnceLock<serde_json::Value> = OnceLock::new();
    REF.get_or_init(|| {
        let text = std::fs::read_to_string(fixture("reference_outputs.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

pub const STILLS: [&str; 5] = ["obama", "obama2", "obama3", "biden", "astronaut"];
pub const BLINKS: [usize; 4] = [42, 92, 112, 113];
/// Half-closed frames next to a blink (shared/models/SOURCES.md: visually transitional).
pub const TRANSITIONAL: [usize; 4] = [41, 43, 91, 93];

/// Pearson correlation.
pub fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len() as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
    let cov: f32 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f32 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f32 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va.sqrt() * vb.sqrt())
}

/// The real RASP checks on this machine with the desktop policy (reports, never blocks).
pub fn desktop_checks() -> Arc<smartid_core::EnvironmentChecks> {
    use smartid_core::rasp::*;
    Arc::new(EnvironmentChecks::new(
        Arc::new(DesktopSignals),
        RaspPolicy::desktop(),
        RaspConfig::default(),
    ))
}
