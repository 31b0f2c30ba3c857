//! What the server verifies itself, through the HTTP API: capture tokens it issued, evidence frames
//! re-checked with its models, attestation by policy. Each attack is a capture a script can seal with
//! nothing but the public key (or a genuine capture it tampered with), and each is counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;
use smartid_core::liveness::active::ChallengeKind;
use smartid_core::seal::{
    CaptureNonce, CaptureToken, FrameRole, Payload, PublicKey, SealedCapture, seal_capture,
};
use smartid_core::{CaptureConfig, CaptureSession, RgbImage, Step};
use smartid_server::channels::{AttestationPolicy, ChannelPolicy, EvidencePolicy, TokenPolicy};

/// Asks the server for a capture token for `user`.
fn token(c: &Client, user: &str) -> CaptureToken {
    let a = c.post("/api/kyc/session", &json!({ "User": user }));
    assert_eq!(a.code(), 200, "{:?}", a.body);
    CaptureToken::parse(a.body["CaptureToken"].as_str().unwrap()).unwrap()
}

/// A synthetic capture (any template, any claims) sealed by a script with the token's nonce.
fn forged_with(pk: &PublicKey, seed: f32, t: &CaptureToken) -> SealedCapture {
    seal(pk, &synthetic(seed), |p| {
        p.capture_token = Some(CaptureNonce::from_bytes(t.nonce))
    })
}

fn carphone(i: usize) -> RgbImage {
    let path = repo().join(format!("fixtures/faces/carphone/frame_{i:03}.png"));
    let img = image::open(path).unwrap().to_rgb8();
    let (w, h) = img.dimensions();
    RgbImage::from_raw(w, h, img.into_raw()).unwrap()
}

/// A real capture of the bundled recording (it blinks; the SDK draws from a pool of one), with a token
/// if given, and the payload it sealed (for the tampering tests).
fn genuine(pk: &PublicKey, token: Option<&CaptureToken>) -> (SealedCapture, Payload) {
    let cfg = CaptureConfig {
        challenge_pool: vec![ChallengeKind::Blink],
        challenge_count: 1,
        capture_token: token.map(|t| t.to_text().unwrap()),
        ..CaptureConfig::default()
    };
    let checks = std::sync::Arc::new(smartid_core::EnvironmentChecks::new(
        std::sync::Arc::new(smartid_core::rasp::DesktopSignals),
        smartid_core::rasp::RaspPolicy::desktop(),
        smartid_core::rasp::RaspConfig::default(),
    ));
    let mut s = CaptureSession::new(engine(), cfg, checks).unwrap();
    for i in 0..120 {
        let g = s.push_rgb(&carphone(i), (i as u64) * 1000 / 30).unwrap();
        if matches!(g.step, Step::Done | Step::Failed) {
            break;
        }
    }
    let mut r = s.finish().unwrap();
    let issued = now() - 5;
    let sealed = r.seal(pk, issued, 600).unwrap();
    (sealed, r.payload(issued, 600))
}

fn strict() -> ChannelPolicy {
    ChannelPolicy {
        capture_token: TokenPolicy::Require,
        token_challenges: 0,
        evidence: EvidencePolicy::Off,
        attestation: AttestationPolicy::Ignore,
        ..ChannelPolicy::default()
    }
}

#[test]
fn capture_tokens_are_used_once_by_their_user_before_expiry() {
    let short = ChannelPolicy {
        token_ttl_secs: 1,
        ..strict()
    };
    let drawn = ChannelPolicy {
        token_challenges: 2,
        ..strict()
    };
    let off = ChannelPolicy {
        capture_token: TokenPolicy::Off,
        ..strict()
    };
    let setup = Setup::new(&[strict(), short, drawn, off]);
    let server = setup.start();
    let (a, b, c, d) = (
        server.client(0),
        server.client(1),
        server.client(2),
        server.client(3),
    );
    let pk = setup.public();
    let mut attacks = 0;
    let mut through = 0;
    let mut attack = |ans: &Answer, reason: &str, code: u64| {
        attacks += 1;
        through += (ans.code() == 200) as u32;
        assert_eq!((ans.code(), ans.reason()), (code, reason), "{:?}", ans.body);
    };

    // A forged capture without a token: refused once the channel requires one.
    attack(
        &a.enroll("alice", &capture(&pk, &synthetic(1.0)), None),
        "capture_token_required",
        407,
    );
    // Alice's token used for bob.
    let t = token(&a, "alice");
    attack(
        &a.enroll("bob", &forged_with(&pk, 2.0, &t), None),
        "capture_token_other_user",
        407,
    );
    // A nonce the server never issued, and another channel's token.
    let made_up = CaptureToken {
        nonce: [7; 16],
        ..t.clone()
    };
    attack(
        &a.enroll("alice", &forged_with(&pk, 3.0, &made_up), None),
        "capture_token_unknown",
        407,
    );
    let t_short = token(&b, "alice");
    attack(
        &a.enroll("alice", &forged_with(&pk, 4.0, &t_short), None),
        "capture_token_unknown",
        407,
    );

    // Alice with her token: accepted (evidence is off on this channel), the token used up.
    let ok = a.enroll("alice", &forged_with(&pk, 5.0, &t), None);
    assert_eq!(ok.code(), 200, "{:?}", ok.body);
    assert_eq!(ok.body["Verification"]["CaptureToken"], json!("verified"));
    // The same token with a new capture: used.
    attack(
        &a.enroll("alice", &forged_with(&pk, 6.0, &t), Some("true")),
        "capture_token_used",
        407,
    );
    // A refusal does not use the token: 408 first, then the same capture with OverWrite=true.
    let t2 = token(&a, "alice");
    let again = forged_with(&pk, 7.0, &t2);
    assert_eq!(a.enroll("alice", &again, None).code(), 408);
    assert_eq!(a.enroll("alice", &again, Some("true")).code(), 200);
    // Authentication uses tokens the same way.
    let t3 = token(&a, "alice");
    let auth = a.authenticate("alice", &forged_with(&pk, 7.0, &t3));
    assert_eq!(auth.code(), 200, "{:?}", auth.body);
    attack(
        &a.authenticate("alice", &forged_with(&pk, 7.0, &t3)),
        "capture_token_used",
        407,
    );

    // Asking again retires the earlier token: draws cannot be stockpiled to pick the easiest.
    let older = token(&a, "alice");
    let _newer = token(&a, "alice");
    attack(
        &a.authenticate("alice", &forged_with(&pk, 7.5, &older)),
        "capture_token_used",
        407,
    );

    // Expired (1 s lifetime): 426.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    attack(
        &b.enroll("alice", &forged_with(&pk, 8.0, &t_short), None),
        "capture_token_expired",
        426,
    );

    // The server drew two challenges; a capture that says it asked others is refused.
    let t_drawn = token(&c, "carol");
    assert_eq!(t_drawn.challenges.len(), 2);
    let wrong = seal(&pk, &synthetic(9.0), |p| {
        p.capture_token = Some(CaptureNonce::from_bytes(t_drawn.nonce));
        let other = if t_drawn.challenges[0] == ChallengeKind::Blink {
            ChallengeKind::Smile
        } else {
            ChallengeKind::Blink
        };
        p.liveness.challenges_asked = vec![other];
        p.liveness.challenges[0].kind = other;
    });
    attack(
        &c.enroll("carol", &wrong, None),
        "capture_token_challenges",
        407,
    );

    // A channel without tokens issues none.
    let refused = d.post("/api/kyc/session", &json!({ "User": "dave" }));
    assert_eq!(
        (refused.code(), refused.reason()),
        (400, "capture_tokens_off")
    );
    println!("capture token attacks: {through} of {attacks} accepted");
}

#[test]
fn evidence_frames_are_reverified_with_the_servers_models() {
    let require = ChannelPolicy {
        evidence: EvidencePolicy::Require,
        capture_token: TokenPolicy::Require,
        token_challenges: 0,
        attestation: AttestationPolicy::Report,
        ..ChannelPolicy::default()
    };
    let report = ChannelPolicy {
        evidence: EvidencePolicy::Report,
        ..require.clone()
    };
    let setup = Setup::new(&[require, report]);
    let server = setup.start();
    let (c, r) = (server.client(0), server.client(1));
    let pk = setup.public();
    let mut attacks = 0;
    let mut through = 0;
    let mut attack = |ans: &Answer, expected: &[&str]| {
        attacks += 1;
        through += (ans.code() == 200) as u32;
        assert_eq!(
            (ans.code(), ans.reason()),
            (407, "reverification_failed"),
            "{:?}",
            ans.body
        );
        let reasons = &ans.body["Verification"]["Evidence"]["Reasons"];
        for e in expected {
            assert!(reasons.as_array().unwrap().contains(&json!(e)), "{reasons}");
        }
    };

    let t = token(&c, "alice");
    let (sealed, payload) = genuine(&pk, Some(&t));

    // A forged capture with a valid token: any template, claims of liveness, no frames.
    attack(
        &c.enroll("alice", &forged_with(&pk, 1.0, &t), None),
        &["no_evidence"],
    );
    // Someone else's template with the genuine frames (sealed again by a script).
    let swapped = seal_capture(&pk, &face_template("obama.jpg"), &payload).unwrap();
    attack(
        &c.enroll("alice", &swapped, None),
        &["template_not_from_frame", "different_person"],
    );
    // The genuine template with its template frame repeated as every frame: a photo, no blink.
    let mut still = payload.clone();
    let first = still.evidence[0].jpeg.clone();
    for f in &mut still.evidence {
        f.jpeg = first.clone();
    }
    let photo = seal_capture(&pk, &open_template(&setup, &sealed), &still).unwrap();
    attack(&c.enroll("alice", &photo, None), &["repeated_frames"]);

    // The genuine capture: accepted, with what the server verified.
    let ok = c.enroll("alice", &sealed, None);
    assert_eq!(ok.code(), 200, "{:?}", ok.body);
    let v = &ok.body["Verification"];
    assert_eq!(v["CaptureToken"], json!("verified"));
    assert_eq!(v["Evidence"]["Passed"], json!(true), "{v}");
    assert_eq!(v["Evidence"]["Frames"], json!(4));
    assert_eq!(v["Attestation"]["Status"], json!("missing"));
    assert_eq!(
        payload.evidence.iter().map(|f| f.role).collect::<Vec<_>>(),
        [
            FrameRole::Template,
            FrameRole::Neutral,
            FrameRole::Action,
            FrameRole::Return
        ]
    );

    // A channel that only reports: the forged capture is accepted, and the reply says why it would not be.
    let t = token(&r, "bob");
    let a = r.enroll("bob", &forged_with(&pk, 2.0, &t), None);
    assert_eq!(a.code(), 200, "{:?}", a.body);
    assert_eq!(a.body["Verification"]["Evidence"]["Passed"], json!(false));
    println!("evidence attacks: {through} of {attacks} accepted");
}

#[test]
fn attestation_by_policy() {
    let require = ChannelPolicy {
        attestation: AttestationPolicy::Require,
        ..policy()
    };
    let report = ChannelPolicy {
        attestation: AttestationPolicy::Report,
        ..policy()
    };
    let mut setup = Setup::new(&[require, report]);
    // A channel that requires attestation on a server that can verify none: refused at start.
    let refused = smartid_server::RunningServer::start(setup.config());
    assert!(
        refused
            .as_ref()
            .err()
            .is_some_and(|e| e.to_string().contains("requires attestation")),
        "{:?}",
        refused.err()
    );
    // With App Attest configured (and no Play Integrity verifier).
    setup.attestation = Some(std::sync::Arc::new(
        smartid_server::attestation::Verifiers::from_toml(
            "[app_attest]\napp_id = \"ABCDE12345.com.bank.app\"\n",
        )
        .unwrap(),
    ));
    let server = setup.start();
    let (c, r) = (server.client(0), server.client(1));
    let pk = setup.public();
    // No attestation at all, and one this server cannot verify (no verifier for Play configured).
    let none = c.enroll("alice", &capture(&pk, &synthetic(1.0)), None);
    assert_eq!((none.code(), none.reason()), (407, "attestation_required"));
    let claimed = seal(&pk, &synthetic(2.0), |p| {
        p.environment.attestation = Some("pi:eyJhbGciOiJBMjU2S1cifQ.x.y.z.w".into())
    });
    let refused = c.enroll("alice", &claimed, None);
    assert_eq!(
        (refused.code(), refused.reason()),
        (407, "attestation_failed"),
        "{:?}",
        refused.body
    );
    assert_eq!(
        refused.body["Verification"]["Attestation"]["Status"],
        json!("refused")
    );
    // Report: accepted, and the reply says what the attestation was worth.
    let a = r.enroll("alice", &claimed, None);
    assert_eq!(a.code(), 200, "{:?}", a.body);
    assert_eq!(
        a.body["Verification"]["Attestation"],
        json!({ "Status": "refused", "Reason": "wrong_kind" })
    );
}

/// The template inside a capture, opened with the test server's key (what a script holding a
/// victim's template would have).
fn open_template(setup: &Setup, c: &SealedCapture) -> smartid_core::seal::Template {
    let key = smartid_core::seal::KeyPair::parse(&setup.server_key.private_text()).unwrap();
    let ring = smartid_core::seal::ServerKeyring::new().with(key);
    smartid_core::seal::open_capture(&ring, &c.template, &c.payload, now(), &Default::default())
        .unwrap()
        .template
}
