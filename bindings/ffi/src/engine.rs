//! The models, loaded once per app and shared by every capture.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::SmartIdError;
use crate::guard;

/// The face models (checksums verified against the manifest before anything is parsed).
#[derive(uniffi::Object)]
pub struct Engine(pub(crate) Arc<smartid_core::Engine>);

#[uniffi::export]
impl Engine {
    /// Loads the models from a folder (its `manifest.toml`) or from a manifest file in it, such as
    /// `manifest-antispoof.toml` (desktop, tests, an unpacked bundle).
    #[uniffi::constructor]
    pub fn from_dir(dir: String) -> Result<Arc<Self>, SmartIdError> {
        guard("Engine.from_dir", || {
            Ok(Arc::new(Self(Arc::new(smartid_core::Engine::from_path(
                dir,
            )?))))
        })
    }

    /// Loads from the manifest text and the model files as bytes, keyed by the manifest's `file`
    /// names: what Android assets and iOS bundle resources give.
    #[uniffi::constructor]
    pub fn from_files(
        manifest: String,
        files: HashMap<String, Vec<u8>>,
    ) -> Result<Arc<Self>, SmartIdError> {
        guard("Engine.from_files", || {
            Ok(Arc::new(Self(Arc::new(smartid_core::Engine::load(
                &manifest, &files,
            )?))))
        })
    }

    /// `role=id` of every model, for the app's diagnostics.
    pub fn model_ids(&self) -> Result<Vec<String>, SmartIdError> {
        guard("Engine.model_ids", || {
            Ok(self
                .0
                .manifest()
                .models()
                .iter()
                .map(|(role, spec)| format!("{role}={}", spec.id))
                .collect())
        })
    }
}
