//! `smartid demo`: the whole flow on built-in defaults. RASP on this machine; the reference server
//! (started here on a temporary SQLite file) issues a capture token per capture; two captures from the
//! bundled recording, each with its token, sealed to a throwaway server key with their evidence frames;
//! over HTTP: enroll (token and frames verified by the server), a template swapped by a script refused,
//! authenticate, a replay refused, a tampered payload refused, un-enroll. Ends with a report of each
//! request and its code; fails if any code differs from the one the guide gives for that case.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use smartid_core::liveness::active::ChallengeKind;
use smartid_core::seal::{KeyPair, SealedCapture, ServerKeyring, Template, seal_capture};
use smartid_core::{CaptureConfig, Engine};
use smartid_server::at_rest::DataKeyring;
use smartid_server::channels::{ChannelPolicy, Channels};
use smartid_server::{RunningServer, ServerConfig};

use crate::AnyResult;
use crate::capture_cmds::{print_evidence, replay_frames, run_env, session_checks};
use crate::frames::load_frames;
use crate::keys::now_unix;

/// A folder removed at the end of the demo.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Step {
    what: &'static str,
    request: &'static str,
    expected: u64,
    status: u16,
    code: u64,
    detail: String,
}

pub fn demo(models: &Path) -> AnyResult {
    let fixtures = crate::default_fixtures_dir();
    println!(
        "SmartId capture core {} - demo\n",
        smartid_core::SDK_VERSION
    );

    println!("1. server key pair (throwaway, in memory)");
    let server_key = KeyPair::generate("demo-key-1")?;
    let public = server_key.public();
    println!("   app config gets: {}", public.to_text());

    println!("2. environment checks (RASP)");
    let (env, took) = run_env(None, None);
    println!(
        "   {:?}, decision {:?}, {} finding(s), {:.2} ms",
        env.platform,
        env.decision,
        env.findings.len(),
        took.as_secs_f64() * 1e3
    );
    for f in &env.findings {
        println!("   - {:?}: {}", f.threat, f.evidence);
    }

    println!("3. models");
    let engine = Arc::new(Engine::from_path(models)?);
    println!("   model set '{}'", engine.manifest().name);
    for (role, spec) in engine.manifest().models() {
        println!("   {role:<10} {} (sha256 verified)", spec.id);
    }

    println!("4. reference server (smartid-server) on a temporary SQLite file");
    let scratch =
        Scratch(std::env::temp_dir().join(format!("smartid-demo-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0)?;
    let mut channels = Channels::default();
    let api_key = channels.add_api_key("demo-bank")?;
    // The recording cannot answer random challenges, so the demo fixes one and the SDK marks the
    // capture test_mode: this demo channel accepts that; a production channel refuses it (407). For the
    // same reason its tokens carry no server-drawn challenges. Tokens are required and evidence frames
    // re-verified (the default).
    let mut demo_channel = channels.get("demo-bank").cloned().ok_or("demo channel")?;
    demo_channel.policy = ChannelPolicy {
        allow_test_mode: true,
        capture_token: smartid_server::channels::TokenPolicy::Require,
        token_challenges: 0,
        ..ChannelPolicy::default()
    };
    let channels = Channels::new(vec![demo_channel])?;
    let database = scratch.0.join("smartid.db");
    let mut config = ServerConfig::new(
        &database.to_string_lossy(),
        ServerKeyring::new().with(KeyPair::parse(&server_key.private_text())?),
        DataKeyring::parse(&DataKeyring::generate_line("demo-data-key")?)?,
        channels,
        models,
    );
    config.listen = "127.0.0.1:0".parse()?;
    let server = RunningServer::start(config)?;
    println!(
        "   listening on {}; channel 'demo-bank' (test-mode captures allowed for this demo only)",
        server.url()
    );

    let http = Http {
        base: server.url(),
        key: api_key.clone(),
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into(),
    };
    let user = "customer-0001";
    let mut steps = Vec::new();

    let recording = fixtures.join("carphone");
    let frames = load_frames(&recording)?;
    // The second capture starts half a second later in the recording: another session, another best
    // frame, the same person.
    // Each capture right after its token: issuing a token retires the user's earlier unused one.
    let capture = |step_no: u32,
                   n: u32,
                   skip: usize,
                   steps: &mut Vec<Step>|
     -> AnyResult<(SealedCapture, smartid_core::seal::Payload)> {
        println!(
            "{step_no}. the bank's backend asks for a capture token; capture {n} from the bundled recording ({}, from frame {skip}), challenge fixed to 'blink' for replay",
            recording.display()
        );
        let (status, body) = http.post("/api/kyc/session", &json!({ "User": user }))?;
        steps.push(step("capture token", "session", 200, status, &body));
        let cfg = CaptureConfig {
            fixed_challenges: Some(vec![ChallengeKind::Blink]),
            capture_token: body["CaptureToken"].as_str().map(str::to_string),
            ..CaptureConfig::default()
        };
        let frames = frames.get(skip..).ok_or("recording too short")?;
        let frames = frames.iter().map(|(n, f)| Ok((n.clone(), f.clone())));
        let mut result = replay_frames(engine.clone(), cfg, session_checks(), frames, 29.97, true)?
            .map_err(|e| format!("capture failed ({}): {e}", e.code().as_u16()))?;
        print_evidence(result.evidence(), "   ");
        let issued = now_unix();
        let sealed = result.seal(&public, issued, 600)?;
        let jpeg: usize = result.evidence_frames().iter().map(|f| f.jpeg.len()).sum();
        println!(
            "   sealed (HPKE X25519 / HKDF-SHA256 / AES-256-GCM): template {} chars, payload {} chars ({} evidence frames, {} JPEG bytes)",
            sealed.template.len(),
            sealed.payload.len(),
            result.evidence_frames().len(),
            jpeg
        );
        Ok((sealed, result.payload(issued, 600)))
    };
    let (first, _) = capture(5, 1, 0, &mut steps)?;
    println!(
        "6. the bank's backend enrolls it (X-Api-Key: {}…)",
        &api_key[..9]
    );
    let enroll_body = |c: &SealedCapture, overwrite: &str| json!({"User": user, "Template": c.template, "PayLoad": c.payload, "OverWrite": overwrite});

    let (status, body) = http.post("/api/kyc/enroll", &enroll_body(&first, "false"))?;
    let mut s = step("enroll capture 1", "enroll", 200, status, &body);
    let v = &body["Verification"];
    s.detail = format!(
        "enrolled; token {}, evidence passed {} ({} frames, anti-spoof {})",
        v["CaptureToken"].as_str().unwrap_or("?"),
        v["Evidence"]["Passed"],
        v["Evidence"]["Frames"],
        v["Evidence"]["AntiSpoof"].as_str().unwrap_or("?")
    );
    steps.push(s);

    let (second, second_payload) = capture(7, 2, 15, &mut steps)?;
    println!("8. the bank's backend: a forgery, authentication, a replay, tampering, un-enroll");

    // What a script holding the public key can do: seal capture 2's genuine frames with someone
    // else's template. The server re-embeds the template frame and refuses it.
    let impostor = still_template(&engine, &fixtures.join("stills/obama.jpg"))?;
    let swapped = seal_capture(&public, &impostor, &second_payload)?;
    let (status, body) = http.post("/api/kyc/enroll", &enroll_body(&swapped, "true"))?;
    let mut s = step(
        "capture 2's frames, another face's template",
        "enroll",
        407,
        status,
        &body,
    );
    s.detail = format!(
        "{} {}",
        s.detail, body["Verification"]["Evidence"]["Reasons"]
    );
    steps.push(s);

    let (status, body) = http.post(
        "/api/kyc/authenticate",
        &json!({"User": user, "Template": second.template, "PayLoad": second.payload}),
    )?;
    let mut s = step(
        "authenticate with capture 2",
        "authenticate",
        200,
        status,
        &body,
    );
    s.detail = format!(
        "authenticated {}, {} {:.3} (threshold {:.2})",
        body["Authenticated"],
        body["Metric"].as_str().unwrap_or("?"),
        body["Score"].as_f64().unwrap_or(f64::NAN),
        body["Threshold"].as_f64().unwrap_or(f64::NAN)
    );
    steps.push(s);

    let (status, body) = http.post("/api/kyc/enroll", &enroll_body(&first, "true"))?;
    steps.push(step(
        "replay capture 1 (OverWrite=true)",
        "enroll",
        407,
        status,
        &body,
    ));

    let mut tampered = second.payload.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = SealedCapture {
        payload: String::from_utf8_lossy(&tampered).into_owned(),
        ..second.clone()
    };
    let (status, body) = http.post("/api/kyc/enroll", &enroll_body(&tampered, "true"))?;
    steps.push(step(
        "capture 2 with one payload character changed",
        "enroll",
        407,
        status,
        &body,
    ));

    let (status, body) = http.post("/api/kyc/unenroll", &json!({ "User": user }))?;
    steps.push(step("un-enroll", "unenroll", 200, status, &body));
    let (status, body) = http.post("/api/kyc/unenroll", &json!({ "User": user }))?;
    steps.push(step("un-enroll again", "unenroll", 406, status, &body));

    server.stop()?;
    println!(
        "\n   {:<46} {:<14} {:>4} {:>5}  meaning",
        "step", "endpoint", "HTTP", "Code"
    );
    let mut all_as_expected = true;
    for s in &steps {
        let ok = s.code == s.expected;
        all_as_expected &= ok;
        println!(
            "   {:<46} {:<14} {:>4} {:>5}  {}{}",
            s.what,
            s.request,
            s.status,
            s.code,
            s.detail,
            if ok { "" } else { "   <-- unexpected" }
        );
    }
    println!(
        "\n   codes travel in the JSON body (\"Code\"); the HTTP status is a standard one no client retries \
         on its own (docs/decisions/0004-server-response-codes.md)"
    );
    if !all_as_expected {
        return Err("a request did not get the code the guide gives for it".into());
    }
    println!("\ndemo complete");
    Ok(())
}

/// The template of the one face in a still (what a script could compute from a photo of anyone).
fn still_template(engine: &Engine, path: &Path) -> AnyResult<Template> {
    let img = image::open(path)?.to_rgb8();
    let (w, h) = img.dimensions();
    let rgb = smartid_core::RgbImage::from_raw(w, h, img.into_raw())?;
    let emb = engine.embed(&engine.analyze(&rgb, false)?)?;
    Ok(Template::new(
        &engine.manifest().embedder.model.id,
        emb.metric(),
        emb.values().to_vec(),
    )?)
}

fn step(
    what: &'static str,
    request: &'static str,
    expected: u64,
    status: u16,
    body: &Value,
) -> Step {
    let code = body["Code"].as_u64().unwrap_or(0);
    let mut detail = body["Message"].as_str().unwrap_or("").to_string();
    if let Some(r) = body["Reason"].as_str() {
        detail.push_str(&format!(" ({r})"));
    }
    Step {
        what,
        request,
        expected,
        status,
        code,
        detail,
    }
}

struct Http {
    base: String,
    key: String,
    agent: ureq::Agent,
}

impl Http {
    fn post(&self, path: &str, body: &Value) -> AnyResult<(u16, Value)> {
        let resp = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("X-Api-Key", &self.key)
            .send_json(body)?;
        let status = resp.status().as_u16();
        let body: Value = resp.into_body().read_json()?;
        Ok((status, body))
    }
}
