//! Reference photos: "is the selfie the person on the photo we hold?" (Smile ID's Biometric KYC compares
//! with an ID authority's photo; a bank usually has its own from account opening).
//!
//! Where photos come from is a [`ReferencePhotoSource`]: the shipped one reads the bank's own records,
//! imported into the same database (`smartid-server import-photos`) and encrypted like templates; a
//! bank plugs in its registry or an ID authority behind the same trait. The photo is embedded with the
//! same models as the SDK's template ([`PhotoMatcher`]) and scored in the embedder's metric.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use smartid_core::seal::Template;
use smartid_core::{Engine, RgbImage};
use zeroize::Zeroizing;

use crate::at_rest::{DataKeyring, RowBinding};
use crate::db::Store;

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The source could not be reached or failed (701).
    #[error("reference photo source failed: {0}")]
    Source(String),
    /// The photo on file has no usable face, several faces, or does not decode.
    #[error("reference photo unusable: {0}")]
    Unusable(String),
    /// This server's own storage or data key failed (500).
    #[error("reference photo storage: {0}")]
    Internal(String),
    /// The models could not be loaded (500).
    #[error("models: {0}")]
    Models(String),
}

pub type PhotoFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Zeroizing<Vec<u8>>>, PhotoError>> + Send + 'a>>;

/// Where the photo on file for a user comes from. `Ok(None)`: no photo for this user.
pub trait ReferencePhotoSource: Send + Sync {
    /// The encoded image (JPEG or PNG) held for `user` of `channel`.
    fn photo<'a>(&'a self, channel: &'a str, user: &'a str) -> PhotoFuture<'a>;
}

/// The bank's own records, in the server's database, encrypted at rest.
pub struct DbPhotoSource {
    store: Store,
    keys: Arc<DataKeyring>,
}

impl DbPhotoSource {
    pub fn new(store: Store, keys: Arc<DataKeyring>) -> Self {
        Self { store, keys }
    }

    /// Imports (or replaces) one photo: checked to decode, then encrypted and stored.
    pub async fn import(
        &self,
        channel: &str,
        user: &str,
        image: &[u8],
        now: u64,
    ) -> Result<(), PhotoError> {
        decode(image)?;
        let sealed = self
            .keys
            .seal(image, RowBinding::photo(channel, user))
            .map_err(|e| PhotoError::Internal(e.to_string()))?;
        self.store
            .put_photo(channel, user, &sealed.text, &sealed.key_id, now)
            .await
            .map_err(|e| PhotoError::Internal(e.to_string()))
    }
}

impl ReferencePhotoSource for DbPhotoSource {
    fn photo<'a>(&'a self, channel: &'a str, user: &'a str) -> PhotoFuture<'a> {
        Box::pin(async move {
            let Some((key_id, text)) = self
                .store
                .photo(channel, user)
                .await
                .map_err(|e| PhotoError::Internal(e.to_string()))?
            else {
                return Ok(None);
            };
            self.keys
                .open(&key_id, &text, RowBinding::photo(channel, user))
                .map(Some)
                .map_err(|e| PhotoError::Internal(e.to_string()))
        })
    }
}

/// The server's model set, loaded on first use: embeds reference photos and re-verifies evidence
/// frames.
pub struct PhotoMatcher {
    models: PathBuf,
    engine: OnceLock<Result<Arc<Engine>, String>>,
}

impl PhotoMatcher {
    pub fn new(models: &Path) -> Self {
        Self {
            models: models.to_path_buf(),
            engine: OnceLock::new(),
        }
    }

    pub fn engine(&self) -> Result<Arc<Engine>, PhotoError> {
        self.engine
            .get_or_init(|| {
                // Every model ready (and its errors reported) before the first photo.
                Engine::from_path(&self.models)
                    .and_then(|e| e.ready().map(|()| e))
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(PhotoError::Models)
    }

    /// The photo's template (blocking: run it off the async threads).
    pub fn embed(&self, image: &[u8]) -> Result<Template, PhotoError> {
        let engine = self.engine()?;
        let img = decode(image)?;
        let face = engine
            .analyze(&img, false)
            .map_err(|e| PhotoError::Unusable(format!("{} ({})", e, e.code().as_u16())))?;
        let emb = engine
            .embed(&face)
            .map_err(|e| PhotoError::Unusable(e.to_string()))?;
        Template::new(
            &engine.manifest().embedder.model.id,
            emb.metric(),
            emb.values().to_vec(),
        )
        .map_err(|e| PhotoError::Unusable(e.to_string()))
    }
}

fn decode(image: &[u8]) -> Result<RgbImage, PhotoError> {
    let img = image::load_from_memory(image)
        .map_err(|_| PhotoError::Unusable("not a decodable JPEG or PNG image".into()))?
        .to_rgb8();
    let (w, h) = img.dimensions();
    RgbImage::from_raw(w, h, img.into_raw()).map_err(|e| PhotoError::Unusable(e.to_string()))
}
