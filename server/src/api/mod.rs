//! The HTTP API: routes, admission (API key, rate limit, body), and the JSON reply every request gets.
//!
//! Every answer is `{"Code": <guide code>, "Message": …, "Reason": <stable snake_case detail>, …}` with
//! a standard HTTP status ([`crate::codes`]). Handlers are one module per endpoint.

mod authenticate;
mod enroll;
mod fields;
mod session;
mod unenroll;
mod verify;

pub use fields::MAX_USER_LEN;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use smartid_core::matching::Metric;
use smartid_core::seal::{OpenPolicy, ServerKeyring};

use crate::at_rest::DataKeyring;
use crate::channels::{Channel, Channels};
use crate::codes::ApiCode;
use crate::db::Store;
use crate::duplicates::DuplicateIndex;
use crate::logging;
use crate::photos::{PhotoMatcher, ReferencePhotoSource};
use crate::ratelimit::RateLimiter;

/// The embedder whose templates this server stores and compares (from its model manifest).
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedModel {
    pub id: String,
    pub metric: Metric,
    pub dim: usize,
    pub threshold: f32,
}

/// Everything a request needs, shared by all of them.
pub struct AppState {
    pub store: Store,
    pub channels: Channels,
    pub server_keys: ServerKeyring,
    pub data_keys: Arc<DataKeyring>,
    pub accepted: AcceptedModel,
    pub open_policy: OpenPolicy,
    pub index: DuplicateIndex,
    pub limiter: RateLimiter,
    pub photos: Arc<dyn ReferencePhotoSource>,
    pub matcher: Arc<PhotoMatcher>,
    pub attestation: Arc<dyn crate::attestation::AttestationVerifier>,
    /// Re-verifications running at once (one per core).
    pub reverify_slots: tokio::sync::Semaphore,
    /// Enroll and unenroll of one channel run one at a time: the duplicates search, the commit and
    /// the index update then happen in one order (another channel is not held up).
    channel_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        channels: Channels,
        server_keys: ServerKeyring,
        data_keys: Arc<DataKeyring>,
        accepted: AcceptedModel,
        open_policy: OpenPolicy,
        photos: Arc<dyn ReferencePhotoSource>,
        matcher: Arc<PhotoMatcher>,
        attestation: Arc<dyn crate::attestation::AttestationVerifier>,
    ) -> Self {
        Self {
            store,
            channels,
            server_keys,
            data_keys,
            accepted,
            open_policy,
            index: DuplicateIndex::new(),
            limiter: RateLimiter::new(),
            photos,
            matcher,
            attestation,
            reverify_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            channel_locks: Mutex::new(HashMap::new()),
        }
    }

    fn channel_lock(&self, channel: &str) -> Arc<tokio::sync::Mutex<()>> {
        // The map stays consistent even if a holder panicked: keep using it (never a fresh lock,
        // which would stop serialising the channel).
        let mut map = self
            .channel_locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(channel.to_string()).or_default().clone()
    }
}

/// One reply: a code, an optional stable reason, extra fields.
#[derive(Debug)]
pub struct Reply {
    pub code: ApiCode,
    pub reason: Option<&'static str>,
    pub fields: Map<String, Value>,
    pub retry_after: Option<u64>,
}

impl Reply {
    pub fn new(code: ApiCode) -> Self {
        Self {
            code,
            reason: None,
            fields: Map::new(),
            retry_after: None,
        }
    }

    pub fn because(code: ApiCode, reason: &'static str) -> Self {
        Self {
            reason: Some(reason),
            ..Self::new(code)
        }
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.fields.insert(key.to_string(), value);
        self
    }

    /// 500 for a storage failure (logged without its query values), 503 when the database is away.
    pub fn storage(e: &crate::db::StoreError) -> Self {
        logging::event(
            log::Level::Error,
            "storage_error",
            obj(json!({ "error": e.to_string() })),
        );
        match e {
            crate::db::StoreError::Unavailable(_) => {
                Self::because(ApiCode::Unavailable, "database")
            }
            _ => Self::because(ApiCode::Internal, "database"),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("Code".into(), json!(self.code.number()));
        body.insert("Message".into(), json!(self.code.message()));
        if let Some(r) = self.reason {
            body.insert("Reason".into(), json!(r));
        }
        body.extend(self.fields);
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, axum::Json(Value::Object(body))).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

pub(crate) fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The caller, once its API key is known.
#[derive(Debug, Clone)]
pub struct Caller {
    pub channel: Channel,
}

/// A request refused at admission: the caller's channel when the key was known, and the reply.
type Refused = (Option<String>, Reply);

/// API key → channel, rate limit, body → JSON object.
fn admit(
    s: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Caller, Map<String, Value>), Refused> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    let Some((channel, key_hash)) = s.channels.by_api_key(key) else {
        let reason = if key.is_empty() {
            "missing_api_key"
        } else {
            "unknown_api_key"
        };
        return Err((None, Reply::because(ApiCode::Unauthorized, reason)));
    };
    let channel = channel.clone();
    let id = Some(channel.id.clone());
    if let Err(secs) = s
        .limiter
        .check(key_hash, channel.policy.rate_per_sec, channel.policy.burst)
    {
        let mut r = Reply::new(ApiCode::RateLimited);
        r.retry_after = Some(secs);
        return Err((id, r));
    }
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let json = ct
            .to_str()
            .map(|t| {
                let t = t.trim().to_ascii_lowercase();
                t == "application/json" || t.starts_with("application/json;")
            })
            .unwrap_or(false);
        if !json {
            return Err((id, Reply::new(ApiCode::UnsupportedMediaType)));
        }
    }
    let bytes = match body {
        Ok(b) => b,
        Err(rejection) => {
            let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiCode::BodyTooLarge
            } else {
                ApiCode::BadRequest
            };
            return Err((id, Reply::new(code)));
        }
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok((Caller { channel }, map)),
        Ok(_) => Err((id, Reply::because(ApiCode::BadRequest, "not_a_json_object"))),
        Err(_) => Err((id, Reply::because(ApiCode::BadRequest, "invalid_json"))),
    }
}

/// Logs the request (no personal data) and turns the reply into a response.
fn finish(route: &str, channel: Option<&str>, reply: Reply, started: Instant) -> Response {
    let mut fields = obj(json!({
        "route": route,
        "code": reply.code.number(),
        "status": reply.code.http_status(),
        "ms": (started.elapsed().as_secs_f64() * 1e3 * 10.0).round() / 10.0,
    }));
    if let Some(c) = channel {
        fields.insert("channel".into(), json!(c));
    }
    if let Some(r) = reply.reason {
        fields.insert("reason".into(), json!(r));
    }
    let level = if reply.code.http_status() >= 500 {
        log::Level::Error
    } else {
        log::Level::Info
    };
    logging::event(level, "request", fields);
    reply.into_response()
}

macro_rules! endpoint {
    ($name:ident, $route:literal, $run:path) => {
        async fn $name(
            State(s): State<Arc<AppState>>,
            headers: HeaderMap,
            body: Result<Bytes, BytesRejection>,
        ) -> Response {
            let started = Instant::now();
            match admit(&s, &headers, body) {
                Ok((caller, req)) => {
                    let channel = caller.channel.id.clone();
                    // Spawned, so a client that disconnects cannot cancel the request between the
                    // database commit and the duplicates index update: the work always finishes.
                    let work = tokio::spawn(async move { $run(&s, &caller, &req).await });
                    let reply = work
                        .await
                        .unwrap_or_else(|_| Reply::because(ApiCode::Internal, "handler"));
                    finish($route, Some(&channel), reply, started)
                }
                Err((channel, reply)) => finish($route, channel.as_deref(), reply, started),
            }
        }
    };
}

endpoint!(enroll_endpoint, "enroll", enroll::run);
endpoint!(unenroll_endpoint, "unenroll", unenroll::run);
endpoint!(authenticate_endpoint, "authenticate", authenticate::run);
endpoint!(session_endpoint, "session", session::run);

async fn health(State(s): State<Arc<AppState>>) -> Response {
    match s.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(json!({ "Code": 200, "Status": "ok", "Database": "ok" })),
        )
            .into_response(),
        Err(e) => Reply::storage(&e).into_response(),
    }
}

async fn no_route() -> Response {
    finish("none", None, Reply::new(ApiCode::NoRoute), Instant::now())
}

async fn method_not_allowed() -> Response {
    finish(
        "none",
        None,
        Reply::new(ApiCode::MethodNotAllowed),
        Instant::now(),
    )
}

/// Refuses a body whose declared length is over the limit before reading any of it (the extractor's
/// limit still applies to chunked bodies as they arrive).
async fn refuse_declared_oversize(
    State(limit): State<usize>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return finish(
            "none",
            None,
            Reply::new(ApiCode::BodyTooLarge),
            Instant::now(),
        );
    }
    next.run(req).await
}

/// The API's routes over shared state.
pub fn router(state: Arc<AppState>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/api/kyc/enroll", post(enroll_endpoint))
        .route("/api/kyc/unenroll", post(unenroll_endpoint))
        .route("/api/kyc/authenticate", post(authenticate_endpoint))
        .route("/api/kyc/session", post(session_endpoint))
        .route("/health", get(health))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            max_body_bytes,
            refuse_declared_oversize,
        ))
        .with_state(state)
}
