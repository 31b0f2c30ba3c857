//! Shared helpers: a real server on loopback over a real database (a fresh SQLite file, or the
//! PostgreSQL named by `SMARTID_TEST_DATABASE_URL`), captures sealed with the SDK's own code, an HTTP
//! client. Each test uses channels with a random suffix, so tests sharing one PostgreSQL database never
//! see each other's rows.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rand::RngExt as _;
use serde_json::{Value, json};
use smartid_core::matching::Metric;
use smartid_core::seal::{
    KeyPair, Payload, PublicKey, SealedCapture, ServerKeyring, SessionId, Template, seal_capture,
};
use smartid_core::{Engine, RgbImage};
use smartid_server::api::AcceptedModel;
use smartid_server::at_rest::DataKeyring;
use smartid_server::channels::{ChannelPolicy, Channels};
use smartid_server::photos::ReferencePhotoSource;
use smartid_server::{RunningServer, ServerConfig, now_unix};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The model set under test (`SMARTID_MODELS`, as in core's tests), else models/.
pub fn models() -> PathBuf {
    match std::env::var_os("SMARTID_MODELS") {
        Some(p) if !p.is_empty() => repo().join(p),
        _ => repo().join("models"),
    }
}

pub fn accepted() -> AcceptedModel {
    smartid_server::accepted_model(&models()).unwrap()
}

/// A folder removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let n: u64 = rand::rng().random();
        let p = std::env::temp_dir().join(format!("smartid-{tag}-{}-{n:x}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// PostgreSQL when the test command provides one, else `None` (SQLite file).
pub fn postgres_url() -> Option<String> {
    std::env::var("SMARTID_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// A new, empty database in the test cluster: each test's server owns its database, as a deployed
/// server does (it loads every stored template at start-up).
pub fn fresh_postgres_database(url: &str) -> String {
    use sqlx::Connection as _;
    let name = unique("smartid_t").replace('-', "_");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
        });
    let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
    format!("{base}/{name}")
}

pub fn unique(tag: &str) -> String {
    let n: u32 = rand::rng().random();
    format!("{tag}-{n:08x}")
}

/// One channel of a test server.
#[derive(Clone)]
pub struct Client {
    pub url: String,
    pub api_key: String,
    pub channel: String,
}

pub struct Setup {
    pub dir: TempDir,
    pub database: String,
    pub server_key: Arc<KeyPair>,
    pub data_keys_text: String,
    pub channels: Channels,
    pub api_keys: Vec<(String, String)>,
    pub models: PathBuf,
    pub photos: Option<Arc<dyn ReferencePhotoSource>>,
    pub skew: u64,
    pub attestation: Option<Arc<dyn smartid_server::attestation::AttestationVerifier>>,
}

/// A channel policy for synthetic captures (templates made up by the test, sealed by a script): they
/// carry no evidence frames and no attestation, so those checks are off; everything else is the
/// default. Tests of re-verification, tokens and attestation set their own.
pub fn policy() -> ChannelPolicy {
    ChannelPolicy {
        evidence: smartid_server::channels::EvidencePolicy::Off,
        attestation: smartid_server::channels::AttestationPolicy::Ignore,
        ..ChannelPolicy::default()
    }
}

impl Setup {
    /// Channels `a` and `b` (random suffixes) with the given policies.
    pub fn new(policies: &[ChannelPolicy]) -> Self {
        let dir = TempDir::new("server-test");
        let database = match postgres_url() {
            Some(url) => fresh_postgres_database(&url),
            None => dir.0.join("smartid.db").to_string_lossy().into_owned(),
        };
        let mut channels = Channels::default();
        let mut api_keys = Vec::new();
        let mut list = Vec::new();
        for (i, p) in policies.iter().enumerate() {
            let id = unique(&format!("ch{i}"));
            let key = channels.add_api_key(&id).unwrap();
            let mut c = channels.get(&id).unwrap().clone();
            c.policy = p.clone();
            list.push(c);
            api_keys.push((id, key));
        }
        let channels = Channels::new(list).unwrap();
        Self {
            dir,
            database,
            server_key: Arc::new(KeyPair::generate("test-key-1").unwrap()),
            data_keys_text: DataKeyring::generate_line("dk1").unwrap().to_string(),
            channels,
            api_keys,
            models: models(),
            photos: None,
            skew: 300,
            attestation: None,
        }
    }

    pub fn public(&self) -> PublicKey {
        self.server_key.public()
    }

    pub fn start(&self) -> TestServer {
        let server = RunningServer::start(self.config()).expect("server starts");
        self.serve(server)
    }

    /// The server's configuration as `start` uses it.
    pub fn config(&self) -> ServerConfig {
        let ring =
            ServerKeyring::new().with(KeyPair::parse(&self.server_key.private_text()).unwrap());
        let mut config = ServerConfig::new(
            &self.database,
            ring,
            DataKeyring::parse(&self.data_keys_text).unwrap(),
            self.channels.clone(),
            &self.models,
        );
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.photos = self.photos.clone();
        config.open_policy.skew_secs = self.skew;
        config.max_db_connections = 4;
        if let Some(a) = &self.attestation {
            config.attestation = a.clone();
        }
        config
    }

    fn serve(&self, server: RunningServer) -> TestServer {
        let url = server.url();
        TestServer {
            clients: self
                .api_keys
                .iter()
                .map(|(channel, key)| Client {
                    url: url.clone(),
                    api_key: key.clone(),
                    channel: channel.clone(),
                })
                .collect(),
            server: Some(server),
        }
    }
}

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub clients: Vec<Client>,
}

impl TestServer {
    pub fn client(&self, i: usize) -> Client {
        self.clients[i].clone()
    }

    pub fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().unwrap();
        }
    }
}

/// An HTTP agent that returns 4xx/5xx as responses (the tests read every code).
pub fn agent() -> ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT
        .get_or_init(|| {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into()
        })
        .clone()
}

/// Status and JSON body of a response.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> u64 {
        self.body["Code"].as_u64().unwrap_or(0)
    }

    pub fn reason(&self) -> &str {
        self.body["Reason"].as_str().unwrap_or("")
    }
}

impl Client {
    pub fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_raw(
            path,
            Some(&self.api_key),
            "application/json",
            body.to_string().into_bytes(),
        )
    }

    pub fn post_raw(
        &self,
        path: &str,
        key: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let mut req = agent()
            .post(format!("{}{path}", self.url))
            .header("Content-Type", content_type);
        if let Some(k) = key {
            req = req.header("X-Api-Key", k);
        }
        let resp = req.send(&body[..]).expect("HTTP exchange");
        answer(resp)
    }

    /// A JSON POST that reports a failed exchange (server gone) instead of panicking.
    pub fn try_post(&self, path: &str, body: &Value) -> Result<Answer, String> {
        agent()
            .post(format!("{}{path}", self.url))
            .header("X-Api-Key", &self.api_key)
            .send_json(body)
            .map(answer)
            .map_err(|e| e.to_string())
    }

    pub fn get(&self, path: &str) -> Answer {
        answer(
            agent()
                .get(format!("{}{path}", self.url))
                .call()
                .expect("HTTP exchange"),
        )
    }

    pub fn enroll(&self, user: &str, c: &SealedCapture, overwrite: Option<&str>) -> Answer {
        let mut body = json!({"User": user, "Template": c.template, "PayLoad": c.payload});
        if let Some(o) = overwrite {
            body["OverWrite"] = json!(o);
        }
        self.post("/api/kyc/enroll", &body)
    }

    pub fn unenroll(&self, user: &str) -> Answer {
        self.post("/api/kyc/unenroll", &json!({"User": user}))
    }

    pub fn authenticate(&self, user: &str, c: &SealedCapture) -> Answer {
        self.post(
            "/api/kyc/authenticate",
            &json!({"User": user, "Template": c.template, "PayLoad": c.payload}),
        )
    }
}

fn answer(resp: ureq::http::Response<ureq::Body>) -> Answer {
    let status = resp.status().as_u16();
    let text = resp.into_body().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer { status, body }
}

/// A template in the accepted model from any values (synthetic faces for API tests).
pub fn synthetic(seed: f32) -> Template {
    let a = accepted();
    let v: Vec<f32> = (0..a.dim)
        .map(|i| ((i as f32) * 0.37 + seed).sin() * 0.1)
        .collect();
    Template::new(&a.id, a.metric, v).unwrap()
}

/// Seals a template the way the SDK does, with a payload shaped like a real capture, edited by `edit`.
pub fn seal(pk: &PublicKey, t: &Template, edit: impl FnOnce(&mut Payload)) -> SealedCapture {
    let sid = SessionId::random(&mut rand::rng());
    let mut p = Payload::example(sid, now_unix() - 5, t.model_id());
    p.liveness.identity.metric = t.metric();
    edit(&mut p);
    seal_capture(pk, t, &p).unwrap()
}

/// Makes a payload claim `mode` consistently (what ran, its challenges and its passive outcome), as a
/// script forging claims would: an inconsistent payload does not even open (412).
pub fn claim_liveness(p: &mut Payload, mode: smartid_core::LivenessMode) {
    use smartid_core::liveness::PassiveOutcome;
    use smartid_core::liveness::passive::PassiveEvidence;
    p.liveness.mode = mode;
    if mode.passive() {
        p.liveness.passive = PassiveOutcome::Measured(PassiveEvidence {
            samples: 3,
            mean: 0.95,
            min: 0.9,
            threshold: 0.5,
            live: true,
        });
    }
    if !mode.active() {
        p.liveness.challenges_asked.clear();
        p.liveness.challenges.clear();
    }
}

pub fn capture(pk: &PublicKey, t: &Template) -> SealedCapture {
    seal(pk, t, |_| {})
}

/// The shared engine for tests that embed real faces.
pub fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| Arc::new(Engine::from_path(models()).expect("bundled models load")))
        .clone()
}

pub fn still(name: &str) -> PathBuf {
    repo().join("fixtures/faces/stills").join(name)
}

/// The template of the face in a still, with the server's models.
pub fn face_template(name: &str) -> Template {
    let e = engine();
    let img = image::open(still(name)).unwrap().to_rgb8();
    let (w, h) = img.dimensions();
    let rgb = RgbImage::from_raw(w, h, img.into_raw()).unwrap();
    let face = e.analyze(&rgb, false).unwrap();
    let emb = e.embed(&face).unwrap();
    Template::new(
        &e.manifest().embedder.model.id,
        emb.metric(),
        emb.values().to_vec(),
    )
    .unwrap()
}

pub fn metric_name(m: Metric) -> &'static str {
    m.name()
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

pub fn now() -> u64 {
    now_unix()
}
