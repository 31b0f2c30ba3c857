//! SmartId reference enrollment server: the backend half of the enrollment guide (seed 000).
//!
//! `POST /api/kyc/enroll`, `/api/kyc/unenroll` and `/api/kyc/authenticate` receive the sealed template
//! and payload the SDK produced, open them with the server's private keys ([`smartid_core::seal`]),
//! hold them to the caller's channel policy, refuse replays, search duplicate faces, compare with a
//! reference photo, and store templates encrypted at rest in SQLite or PostgreSQL. docs/server.md is
//! the operator's guide; docs/openapi.yaml the API.

pub mod api;
pub mod at_rest;
pub mod attestation;
pub mod channels;
pub mod codes;
pub mod db;
pub mod duplicates;
pub mod logging;
pub mod photos;
pub mod ratelimit;
pub mod smile_id;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use smartid_core::manifest::Manifest;
use smartid_core::seal::{OpenPolicy, ServerKeyring, Template};

use crate::api::{AcceptedModel, AppState};
use crate::at_rest::{DataKeyring, RowBinding};
use crate::channels::Channels;
use crate::db::Store;
use crate::photos::{DbPhotoSource, PhotoMatcher, ReferencePhotoSource};

/// Default request body limit: two sealed strings at their format maximum, plus JSON.
pub const DEFAULT_MAX_BODY: usize = smartid_core::seal::envelope::MAX_SEALED_TEXT + 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] db::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("stored data: {0}")]
    Stored(String),
    #[error("server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// Everything the server needs, already loaded (the CLI reads it from files and the environment).
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// A file path (SQLite), `sqlite://…` or `postgres://…`.
    pub database: String,
    pub server_keys: ServerKeyring,
    pub data_keys: DataKeyring,
    pub channels: Channels,
    /// Model folder or manifest file: the accepted embedder, and the models for reference photos.
    pub models: PathBuf,
    pub open_policy: OpenPolicy,
    pub max_body_bytes: usize,
    pub max_db_connections: u32,
    /// Where reference photos come from; `None`: the bank's records in the server's database.
    pub photos: Option<Arc<dyn ReferencePhotoSource>>,
    /// Verifies device attestations (Play Integrity, App Attest); none configured by default.
    pub attestation: Arc<dyn attestation::AttestationVerifier>,
}

impl ServerConfig {
    /// Defaults for everything but the keys and channels.
    pub fn new(
        database: &str,
        server_keys: ServerKeyring,
        data_keys: DataKeyring,
        channels: Channels,
        models: &Path,
    ) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: database.to_string(),
            server_keys,
            data_keys,
            channels,
            models: models.to_path_buf(),
            open_policy: OpenPolicy::default(),
            max_body_bytes: DEFAULT_MAX_BODY,
            max_db_connections: 8,
            photos: None,
            attestation: Arc::new(attestation::Verifiers::default()),
        }
    }
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The embedder a model folder or manifest file declares (the models themselves are not loaded).
pub fn accepted_model(models: &Path) -> Result<AcceptedModel, ServerError> {
    let manifest_path = if models.is_dir() {
        models.join("manifest.toml")
    } else {
        models.to_path_buf()
    };
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        ServerError::Config(format!(
            "cannot read model manifest {}: {}",
            manifest_path.display(),
            e.kind()
        ))
    })?;
    let m = Manifest::parse(&text).map_err(|e| ServerError::Config(e.to_string()))?;
    Ok(AcceptedModel {
        id: m.embedder.model.id.clone(),
        metric: m.embedder.metric,
        dim: m.embedder.dim,
        threshold: m.embedder.match_threshold,
    })
}

/// Decrypts every enrolled template into the duplicates index. A template under a data key that is
/// no longer in the key file stops the start (the operator removed a key before re-encrypting).
async fn load_index(state: &AppState) -> Result<(), ServerError> {
    let rows = state.store.all_enrollments().await?;
    let mut other_model = 0usize;
    for r in &rows {
        if r.model_id != state.accepted.id {
            other_model += 1;
            continue;
        }
        let row = RowBinding::template(&r.channel, &r.user);
        let plain = state
            .data_keys
            .open(&r.data_key_id, &r.ciphertext, row)
            .map_err(|e| ServerError::Stored(e.to_string()))?;
        let t = Template::from_bytes(&plain)
            .map_err(|_| ServerError::Stored("a stored template is malformed".into()))?;
        state.index.upsert(&r.channel, &r.user, t.values());
    }
    logging::event(
        log::Level::Info,
        "index_loaded",
        api::obj(json!({ "templates": state.index.len(), "other_model": other_model })),
    );
    Ok(())
}

/// Runs the server until `shutdown` completes, then drains in-flight requests and closes the
/// database. `ready` gets the bound address (port 0 picks a free one).
pub async fn serve(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    let accepted = accepted_model(&config.models)?;
    if !config.attestation.configured()
        && let Some(c) = config
            .channels
            .all()
            .iter()
            .find(|c| c.policy.attestation == channels::AttestationPolicy::Require)
    {
        return Err(ServerError::Config(format!(
            "channel '{}' requires attestation, but no verifier is configured (--attestation)",
            c.id
        )));
    }
    let store = Store::open(&config.database, config.max_db_connections).await?;
    let data_keys = Arc::new(config.data_keys);
    let photos = config
        .photos
        .unwrap_or_else(|| Arc::new(DbPhotoSource::new(store.clone(), data_keys.clone())));
    let state = Arc::new(AppState::new(
        store.clone(),
        config.channels,
        config.server_keys,
        data_keys,
        accepted,
        config.open_policy,
        photos,
        Arc::new(PhotoMatcher::new(&config.models)),
        config.attestation,
    ));
    load_index(&state).await?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    logging::event(
        log::Level::Info,
        "listening",
        api::obj(json!({ "addr": addr.to_string(), "database": format!("{:?}", store.backend()) })),
    );
    let purge = tokio::spawn(purge_expired_rows(
        store.clone(),
        config.open_policy.skew_secs,
    ));
    ready(addr);
    let app = api::router(state, config.max_body_bytes);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    purge.abort();
    store.close().await;
    logging::event(log::Level::Info, "stopped", serde_json::Map::new());
    served.map_err(ServerError::Io)
}

/// Used captures and capture tokens are kept until they expire; after that the clock checks refuse
/// them anyway. The
/// margin (clock skew plus a minute) covers a request that read the clock just before expiry.
async fn purge_expired_rows(store: Store, skew_secs: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let before = now_unix().saturating_sub(skew_secs + 60);
        if let Err(e) = store.purge_expired(before).await {
            logging::event(
                log::Level::Warn,
                "purge_failed",
                api::obj(json!({ "error": e.to_string() })),
            );
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM (graceful shutdown).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// A server running on its own thread and runtime (tests, the demo, embedding in a sync program).
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServerError>>>,
}

impl RunningServer {
    /// Starts and returns once the server listens (or failed to start).
    pub fn start(config: ServerConfig) -> Result<Self, ServerError> {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<SocketAddr>();
        let thread = std::thread::Builder::new()
            .name("smartid-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?;
                rt.block_on(serve(
                    config,
                    async {
                        let _ = stop_rx.await;
                    },
                    move |addr| {
                        let _ = ready_tx.send(addr);
                    },
                ))
            })?;
        match ready_rx.recv() {
            Ok(addr) => Ok(Self {
                addr,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            // The thread ended before listening: its result says why.
            Err(_) => match thread.join() {
                Ok(Err(e)) => Err(e),
                _ => Err(ServerError::Config("server thread ended".into())),
            },
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful stop: in-flight requests finish, the database is closed.
    pub fn stop(mut self) -> Result<(), ServerError> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(ServerError::Config("server thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

/// Re-encrypts every stored template and photo under the data keyring's first key (rotation). Rows
/// changed concurrently keep their new value. Returns (templates, photos) re-encrypted.
pub async fn reencrypt_all(
    store: &Store,
    keys: &DataKeyring,
) -> Result<(usize, usize), ServerError> {
    let primary = keys.primary_id().to_string();
    let mut templates = 0;
    for r in store.all_enrollments().await? {
        if r.data_key_id == primary {
            continue;
        }
        let row = RowBinding::template(&r.channel, &r.user);
        let plain = keys
            .open(&r.data_key_id, &r.ciphertext, row)
            .map_err(|e| ServerError::Stored(e.to_string()))?;
        let sealed = keys
            .seal(&plain, row)
            .map_err(|e| ServerError::Stored(e.to_string()))?;
        if store
            .replace_template_ciphertext(&r, &sealed.text, &sealed.key_id)
            .await?
        {
            templates += 1;
        }
    }
    let mut photos = 0;
    for (channel, user, key_id, text) in store.all_photos().await? {
        if key_id == primary {
            continue;
        }
        let row = RowBinding::photo(&channel, &user);
        let plain = keys
            .open(&key_id, &text, row)
            .map_err(|e| ServerError::Stored(e.to_string()))?;
        let sealed = keys
            .seal(&plain, row)
            .map_err(|e| ServerError::Stored(e.to_string()))?;
        if store
            .replace_photo_ciphertext(&channel, &user, &text, &sealed.text, &sealed.key_id)
            .await?
        {
            photos += 1;
        }
    }
    Ok((templates, photos))
}
