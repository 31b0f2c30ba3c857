//! Shared by the harness's test binaries.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The manifest of the model set under test (`SMARTID_MODELS`, which the binary reads too).
pub fn manifest() -> smartid_core::manifest::Manifest {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut path = repo.join(std::env::var_os("SMARTID_MODELS").unwrap_or_else(|| "models".into()));
    if path.is_dir() {
        path = path.join("manifest.toml");
    }
    smartid_core::manifest::Manifest::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}
