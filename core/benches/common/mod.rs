//! What the benches share (`mod common;` in each bench that uses it).

use std::path::PathBuf;

/// The manifests a bench measures: `SMARTID_BENCH_MANIFESTS` (comma-separated, relative to the
/// repository), or `defaults`.
pub fn manifests(defaults: &[&str]) -> Vec<PathBuf> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    match std::env::var("SMARTID_BENCH_MANIFESTS") {
        Ok(list) => list.split(',').map(|p| repo.join(p)).collect(),
        Err(_) => defaults.iter().map(|p| repo.join(p)).collect(),
    }
}
