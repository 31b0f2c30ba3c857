//! The API over real HTTP on loopback, on SQLite (default) or PostgreSQL (`SMARTID_TEST_DATABASE_URL`):
//! every code of the guide's endpoints reached with the guide's own request bodies, bad HTTP input,
//! replays, policies, channel scoping, authentication, encryption at rest, restarts and rotation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use smartid_core::LivenessMode;
use smartid_core::rasp::Decision;
use smartid_server::channels::{ChannelPolicy, LivenessPolicy, PhotoPolicy};
use smartid_server::photos::{PhotoError, PhotoFuture, ReferencePhotoSource};

/// The guide's enroll body, field for field (seed 000).
fn guide_enroll(user: &str, template: &str, payload: &str, overwrite: &str) -> serde_json::Value {
    json!({ "User": user, "Template": template, "PayLoad": payload, "OverWrite": overwrite })
}

#[test]
fn every_enroll_code_with_the_guides_bodies() {
    let setup = Setup::new(&[policy()]);
    let server = setup.start();
    let c = server.client(0);
    let pk = setup.public();
    let user = "alice";

    // 200
    let first = capture(&pk, &synthetic(1.0));
    let a = c.post(
        "/api/kyc/enroll",
        &guide_enroll(user, &first.template, &first.payload, "false"),
    );
    assert_eq!((a.status, a.code()), (200, 200), "{:?}", a.body);
    assert_eq!(a.body["Replaced"], json!(false));
    assert_eq!(a.body["SessionId"], json!(first.session_id.to_hex()));

    // 408 (HTTP 409): already enrolled, without OverWrite; the capture is not used up by the refusal…
    let second = capture(&pk, &synthetic(1.1));
    let a = c.post(
        "/api/kyc/enroll",
        &json!({"User": user, "Template": second.template, "PayLoad": second.payload}),
    );
    assert_eq!((a.status, a.code()), (409, 408), "{:?}", a.body);
    // …so the guide's advice works: send the same capture again with OverWrite=true → 200, replaced.
    let a = c.post(
        "/api/kyc/enroll",
        &guide_enroll(user, &second.template, &second.payload, "true"),
    );
    assert_eq!(
        (a.code(), a.body["Replaced"].clone()),
        (200, json!(true)),
        "{:?}",
        a.body
    );

    // 403: null, missing, empty, blank user.
    let fresh = capture(&pk, &synthetic(2.0));
    for body in [
        json!({"User": null, "Template": fresh.template, "PayLoad": fresh.payload}),
        json!({"Template": fresh.template, "PayLoad": fresh.payload}),
        guide_enroll("", &fresh.template, &fresh.payload, "true"),
        guide_enroll("   ", &fresh.template, &fresh.payload, "true"),
    ] {
        let a = c.post("/api/kyc/enroll", &body);
        assert_eq!((a.status, a.code()), (400, 403), "{body}");
    }

    // 412: template format invalid (garbage, truncated, missing, a payload where the template goes).
    let mut truncated = fresh.template.clone();
    truncated.truncate(30);
    for (t, p) in [
        ("not a template".to_string(), fresh.payload.clone()),
        (truncated, fresh.payload.clone()),
        (fresh.payload.clone(), fresh.payload.clone()),
        (String::new(), fresh.payload.clone()),
        (fresh.template.clone(), String::new()),
    ] {
        let a = c.post("/api/kyc/enroll", &guide_enroll("u412", &t, &p, "false"));
        assert_eq!((a.status, a.code()), (422, 412), "{:?}", a.body);
    }

    // 407: template validation failed.
    let other = capture(&pk, &synthetic(3.0));
    let a = c.post(
        "/api/kyc/enroll",
        &guide_enroll("u407", &fresh.template, &other.payload, "false"),
    );
    assert_eq!((a.code(), a.reason()), (407, "binding_mismatch"));
    let stranger = smartid_core::seal::KeyPair::generate("test-key-1").unwrap();
    let foreign = capture(&stranger.public(), &synthetic(3.0));
    let a = c.enroll("u407", &foreign, None);
    assert_eq!((a.code(), a.reason()), (407, "decryption_failed"));
    let test_mode = seal(&pk, &synthetic(3.0), |p| {
        p.test_mode = true;
        p.liveness.test_mode = true;
    });
    let a = c.enroll("u407", &test_mode, None);
    assert_eq!((a.code(), a.reason()), (407, "test_mode"));
    let passive_only = seal(&pk, &synthetic(3.0), |p| {
        claim_liveness(p, LivenessMode::Passive)
    });
    let a = c.enroll("u407", &passive_only, None);
    assert_eq!((a.code(), a.reason()), (407, "liveness_below_policy"));
    let blocked = seal(&pk, &synthetic(3.0), |p| {
        p.environment.decision = Decision::Block
    });
    let a = c.enroll("u407", &blocked, None);
    assert_eq!((a.code(), a.reason()), (407, "environment_blocked"));
    // A replay of the enrolled capture, for another user.
    let a = c.enroll("someone-else", &first, None);
    assert_eq!((a.status, a.code(), a.reason()), (422, 407, "replayed"));
    // A template from another model than the server's.
    let alien = smartid_core::seal::Template::new(
        "vendor/other-embedder@1",
        accepted().metric,
        vec![0.1; accepted().dim],
    )
    .unwrap();
    let a = c.enroll("u407", &capture(&pk, &alien), None);
    assert_eq!((a.code(), a.reason()), (407, "model_not_accepted"));

    // 425: issued in the future beyond the skew; inconsistent timestamps.
    let future = seal(&pk, &synthetic(4.0), |p| {
        p.issued_at = common::now() + 3600;
        p.expires_at = p.issued_at + 600;
    });
    let a = c.enroll("u425", &future, None);
    assert_eq!((a.status, a.code()), (422, 425), "{:?}", a.body);
    let backwards = seal(&pk, &synthetic(4.0), |p| p.expires_at = p.issued_at - 1);
    assert_eq!(c.enroll("u425", &backwards, None).code(), 425);

    // 426: expired.
    let expired = seal(&pk, &synthetic(5.0), |p| {
        p.issued_at = common::now() - 7200;
        p.expires_at = common::now() - 3600;
    });
    let a = c.enroll("u426", &expired, None);
    assert_eq!((a.status, a.code()), (422, 426), "{:?}", a.body);

    // None of the refused captures was stored.
    let users = server_users(&setup, &c.channel);
    assert_eq!(users, vec![user.to_string()]);
}

#[test]
fn every_unenroll_code_and_channel_scoping() {
    let setup = Setup::new(&[policy(), policy()]);
    let server = setup.start();
    let (a, b) = (server.client(0), server.client(1));
    let pk = setup.public();

    // 410: the caller's channel has never enrolled anyone.
    let r = a.post("/api/kyc/unenroll", &json!({ "User": "alice" }));
    assert_eq!((r.status, r.code()), (404, 410), "{:?}", r.body);
    assert_eq!(
        a.enroll("alice", &capture(&pk, &synthetic(1.0)), None)
            .code(),
        200
    );
    // 406: the channel exists, the user does not.
    let r = a.unenroll("nobody");
    assert_eq!((r.status, r.code()), (404, 406));
    // 403
    for body in [json!({}), json!({"User": null}), json!({"User": ""})] {
        assert_eq!(a.post("/api/kyc/unenroll", &body).code(), 403, "{body}");
    }
    // Users are scoped to their channel: channel b neither sees nor removes a's user…
    assert_eq!(b.unenroll("alice").code(), 410);
    // …and enrolls its own user of the same name independently.
    assert_eq!(
        b.enroll("alice", &capture(&pk, &synthetic(2.0)), None)
            .code(),
        200
    );
    // 200, then the user is gone (406) and can enroll again from scratch.
    let r = a.post("/api/kyc/unenroll", &json!({ "User": "alice" }));
    assert_eq!((r.status, r.code()), (200, 200));
    assert_eq!(a.unenroll("alice").code(), 406);
    assert_eq!(
        a.enroll("alice", &capture(&pk, &synthetic(1.0)), None)
            .code(),
        200
    );
    assert_eq!(server_users(&setup, &b.channel), vec!["alice".to_string()]);
}

#[test]
fn bad_http_input_gets_a_clear_code_and_stores_nothing() {
    let setup = Setup::new(&[policy()]);
    let server = setup.start();
    let c = server.client(0);
    let pk = setup.public();
    let good = capture(&pk, &synthetic(1.0));
    let body = json!({"User": "u", "Template": good.template, "PayLoad": good.payload}).to_string();

    let cases: Vec<(&str, Option<&str>, &str, Vec<u8>, u16, u64)> = vec![
        ("no key", None, "application/json", body.clone().into_bytes(), 401, 401),
        ("wrong key", Some("sidk_wrong"), "application/json", body.clone().into_bytes(), 401, 401),
        ("malformed json", Some(&c.api_key), "application/json", b"{\"User\": ".to_vec(), 400, 400),
        ("not an object", Some(&c.api_key), "application/json", b"[1,2]".to_vec(), 400, 400),
        ("user wrong type", Some(&c.api_key), "application/json", br#"{"User": 5}"#.to_vec(), 400, 400),
        (
            "template wrong type",
            Some(&c.api_key),
            "application/json",
            br#"{"User": "u", "Template": 5, "PayLoad": "x"}"#.to_vec(),
            400,
            400,
        ),
        (
            "overwrite wrong value",
            Some(&c.api_key),
            "application/json",
            json!({"User": "u", "Template": good.template, "PayLoad": good.payload, "OverWrite": "maybe"})
                .to_string()
                .into_bytes(),
            400,
            400,
        ),
        ("not json", Some(&c.api_key), "text/plain", body.clone().into_bytes(), 415, 415),
        ("binary", Some(&c.api_key), "application/json", vec![0xff, 0xfe, 0x00, 0x01], 400, 400),
    ];
    for (name, key, ct, bytes, status, code) in cases {
        let a = c.post_raw("/api/kyc/enroll", key, ct, bytes);
        assert_eq!((a.status, a.code()), (status, code), "{name}: {:?}", a.body);
        assert!(a.body["Message"].is_string(), "{name}");
    }
    // A huge body is refused from its Content-Length, before the server reads it: the client gets the
    // 413 answer while it is still sending (a client that writes everything before reading sees the
    // connection closed instead).
    for declared in [4usize << 20, 64 << 20] {
        let (status, body) = raw_exchange(&c, "POST", "/api/kyc/enroll", declared, 64 * 1024);
        assert_eq!(
            (status, body["Code"].as_u64()),
            (413, Some(413)),
            "{declared}"
        );
    }
    // Without a Content-Length (chunked), the limit applies to what arrives.
    let (status, body) = raw_chunked(&c, "/api/kyc/enroll", 2 << 20);
    assert_eq!((status, body["Code"].as_u64()), (413, Some(413)));
    let a = c.post("/api/kyc/nope", &json!({}));
    assert_eq!((a.status, a.code()), (404, 404));
    let a = c.get("/api/kyc/enroll");
    assert_eq!((a.status, a.code()), (405, 405));
    let h = c.get("/health");
    assert_eq!((h.status, h.body["Database"].clone()), (200, json!("ok")));
    assert!(server_users(&setup, &c.channel).is_empty());
    // The good capture was not used up by any of that.
    assert_eq!(c.enroll("u", &good, None).code(), 200);
}

#[test]
fn rate_limit_answers_429_with_retry_after_per_key() {
    let strict = ChannelPolicy {
        rate_per_sec: 0.5,
        burst: 3.0,
        ..policy()
    };
    let setup = Setup::new(&[strict, policy()]);
    let server = setup.start();
    let (c, other) = (server.client(0), server.client(1));
    let codes: Vec<u64> = (0..5).map(|_| c.unenroll("nobody").code()).collect();
    assert_eq!(codes, vec![410, 410, 410, 429, 429]);
    let resp = agent()
        .post(format!("{}/api/kyc/unenroll", c.url))
        .header("X-Api-Key", &c.api_key)
        .send_json(json!({"User": "nobody"}))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // Another key is not limited by this one.
    assert_eq!(other.unenroll("nobody").code(), 410);
}

#[test]
fn authenticate_scores_a_new_capture_against_the_enrollment() {
    let setup = Setup::new(&[policy()]);
    let server = setup.start();
    let c = server.client(0);
    let pk = setup.public();

    // Before any enrollment: 410, then 406 once the channel exists.
    assert_eq!(
        c.authenticate("alice", &capture(&pk, &face_template("obama.jpg")))
            .code(),
        410
    );
    assert_eq!(
        c.enroll("alice", &capture(&pk, &face_template("obama.jpg")), None)
            .code(),
        200
    );
    assert_eq!(
        c.authenticate("bob", &capture(&pk, &face_template("obama2.jpg")))
            .code(),
        406
    );

    let same = capture(&pk, &face_template("obama2.jpg"));
    let a = c.authenticate("alice", &same);
    assert_eq!(a.code(), 200, "{:?}", a.body);
    assert_eq!(a.body["Authenticated"], json!(true), "{:?}", a.body);
    assert_eq!(a.body["Metric"], json!(metric_name(accepted().metric)));
    assert_eq!(
        a.body["Threshold"].as_f64().unwrap() as f32,
        accepted().threshold
    );
    // The capture is used up.
    assert_eq!(c.authenticate("alice", &same).reason(), "replayed");

    let a = c.authenticate("alice", &capture(&pk, &face_template("biden.jpg")));
    assert_eq!(
        (a.code(), a.body["Authenticated"].clone()),
        (200, json!(false)),
        "{:?}",
        a.body
    );
    // A rejected face's capture is used up too: no retrying the same capture.
    let impostor = capture(&pk, &face_template("astronaut.png"));
    assert_eq!(
        c.authenticate("alice", &impostor).body["Authenticated"],
        json!(false)
    );
    assert_eq!(c.authenticate("alice", &impostor).reason(), "replayed");
    // Authentication does not enroll.
    assert_eq!(server_users(&setup, &c.channel), vec!["alice".to_string()]);
}

#[test]
fn duplicate_faces_are_reported_or_refused() {
    let report = policy();
    let refuse = ChannelPolicy {
        duplicates: smartid_server::channels::DuplicatesPolicy::Refuse,
        ..policy()
    };
    let setup = Setup::new(&[report, refuse]);
    let server = setup.start();
    let (rep, refu) = (server.client(0), server.client(1));
    let pk = setup.public();

    for c in [&rep, &refu] {
        let a = c.enroll("alice", &capture(&pk, &face_template("obama.jpg")), None);
        assert_eq!(
            a.body["UserIDsOfPreviousRegistrants"],
            json!([]),
            "{:?}",
            a.body
        );
        // A different face: nobody reported.
        let a = c.enroll("carol", &capture(&pk, &face_template("biden.jpg")), None);
        assert_eq!(
            (a.code(), a.body["UserIDsOfPreviousRegistrants"].clone()),
            (200, json!([]))
        );
    }
    // The same face (another photo) under a second user.
    let a = rep.enroll("bob", &capture(&pk, &face_template("obama2.jpg")), None);
    assert_eq!(a.code(), 200);
    assert_eq!(a.body["UserIDsOfPreviousRegistrants"], json!(["alice"]));
    let a = refu.enroll("bob", &capture(&pk, &face_template("obama2.jpg")), None);
    assert_eq!((a.code(), a.reason()), (407, "duplicate_face"));
    assert_eq!(a.body["UserIDsOfPreviousRegistrants"], json!(["alice"]));
    assert_eq!(server_users(&setup, &refu.channel), vec!["alice", "carol"]);
    // Re-enrolling the same user with OverWrite does not report the user against itself.
    let a = rep.enroll(
        "alice",
        &capture(&pk, &face_template("obama3.jpg")),
        Some("true"),
    );
    assert_eq!(a.body["UserIDsOfPreviousRegistrants"], json!(["bob"]));
    // After an unenroll, the face is no longer reported.
    assert_eq!(rep.unenroll("alice").code(), 200);
    assert_eq!(rep.unenroll("bob").code(), 200);
    let a = rep.enroll("dave", &capture(&pk, &face_template("obama.jpg")), None);
    assert_eq!(a.body["UserIDsOfPreviousRegistrants"], json!([]));
    // Another channel's users are never reported.
    let a = refu.enroll("erin", &capture(&pk, &face_template("biden.jpg")), None);
    assert_eq!(a.body["UserIDsOfPreviousRegistrants"], json!(["carol"]));
}

#[test]
fn reference_photo_from_the_banks_records() {
    let require = ChannelPolicy {
        reference_photo: PhotoPolicy::Require,
        ..policy()
    };
    let setup = Setup::new(&[require]);
    let channel = setup.api_keys[0].0.clone();
    // The operator imports the bank's photos with the CLI's code path (encrypted at rest).
    import_photo(&setup, &channel, "alice", "obama.jpg");
    import_photo(&setup, &channel, "bob", "obama.jpg");
    let server = setup.start();
    let c = server.client(0);
    let pk = setup.public();

    let a = c.enroll("alice", &capture(&pk, &face_template("obama2.jpg")), None);
    assert_eq!(a.code(), 200, "{:?}", a.body);
    assert_eq!(a.body["ReferencePhoto"]["Match"], json!(true));
    let a = c.enroll("bob", &capture(&pk, &face_template("biden.jpg")), None);
    assert_eq!((a.code(), a.reason()), (407, "reference_photo_mismatch"));
    assert_eq!(a.body["ReferencePhoto"]["Match"], json!(false));
    let a = c.enroll("carol", &capture(&pk, &face_template("biden.jpg")), None);
    assert_eq!((a.code(), a.reason()), (407, "no_reference_photo"));
    assert_eq!(server_users(&setup, &c.channel), vec!["alice"]);
}

/// A registry that is down: the bank's source behind the trait fails.
struct Unreachable;

impl ReferencePhotoSource for Unreachable {
    fn photo<'a>(&'a self, _channel: &'a str, _user: &'a str) -> PhotoFuture<'a> {
        Box::pin(async { Err(PhotoError::Source("registry unreachable".into())) })
    }
}

#[test]
fn service_call_error_701_and_internal_error_500() {
    let report = ChannelPolicy {
        reference_photo: PhotoPolicy::Report,
        ..policy()
    };
    // 701: the reference-photo service fails.
    let mut setup = Setup::new(std::slice::from_ref(&report));
    setup.photos = Some(Arc::new(Unreachable));
    let server = setup.start();
    let pk = setup.public();
    let a = server
        .client(0)
        .enroll("alice", &capture(&pk, &synthetic(1.0)), None);
    assert_eq!((a.status, a.code()), (502, 701), "{:?}", a.body);
    drop(server);

    // 500: a photo is on file but the server's model files are missing (a manifest without models).
    let mut setup = Setup::new(&[report]);
    let channel = setup.api_keys[0].0.clone();
    import_photo(&setup, &channel, "alice", "obama.jpg");
    let models = setup.dir.0.join("models-without-files");
    std::fs::create_dir_all(&models).unwrap();
    let manifest = if setup.models.is_dir() {
        setup.models.join("manifest.toml")
    } else {
        setup.models.clone()
    };
    std::fs::copy(manifest, models.join("manifest.toml")).unwrap();
    setup.models = models;
    let server = setup.start();
    let a = server
        .client(0)
        .enroll("alice", &capture(&pk_of(&setup), &synthetic(1.0)), None);
    assert_eq!((a.status, a.code()), (500, 500), "{:?}", a.body);
    assert!(server_users(&setup, &channel).is_empty());
}

#[test]
fn a_weaker_capture_than_the_channel_policy_is_refused_and_test_mode_is_opt_in() {
    let both = ChannelPolicy {
        liveness: LivenessPolicy::Both,
        ..policy()
    };
    let lenient = ChannelPolicy {
        liveness: LivenessPolicy::Any,
        allow_test_mode: true,
        ..policy()
    };
    let setup = Setup::new(&[both, lenient]);
    let server = setup.start();
    let pk = setup.public();
    let (strict, open) = (server.client(0), server.client(1));
    let active = capture(&pk, &synthetic(1.0));
    assert_eq!(
        strict.enroll("u", &active, None).reason(),
        "liveness_below_policy"
    );
    let full = seal(&pk, &synthetic(1.0), |p| {
        claim_liveness(p, LivenessMode::Both)
    });
    assert_eq!(strict.enroll("u", &full, None).code(), 200);
    let replayed_harness = seal(&pk, &synthetic(2.0), |p| {
        p.test_mode = true;
        p.liveness.test_mode = true;
    });
    assert_eq!(open.enroll("u", &replayed_harness, None).code(), 200);
}

#[test]
fn fifty_parallel_enrolls_of_one_user_give_one_200_and_49_408() {
    let policy = ChannelPolicy {
        rate_per_sec: 1000.0,
        burst: 1000.0,
        ..policy()
    };
    let setup = Setup::new(&[policy]);
    let server = setup.start();
    let c = server.client(0);
    let pk = setup.public();
    let captures: Vec<_> = (0..50)
        .map(|i| capture(&pk, &synthetic(i as f32)))
        .collect();
    let barrier = Arc::new(std::sync::Barrier::new(50));
    let handles: Vec<_> = captures
        .into_iter()
        .map(|cap| {
            let (c, barrier) = (c.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                c.enroll("alice", &cap, None).code()
            })
        })
        .collect();
    let mut codes: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    codes.sort();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 408).count(), 49, "{codes:?}");
}

#[test]
fn templates_are_encrypted_at_rest_and_survive_a_restart_and_a_key_rotation() {
    let mut setup = Setup::new(&[policy()]);
    let pk = setup.public();
    let alice = face_template("obama.jpg");
    {
        let server = setup.start();
        let c = server.client(0);
        assert_eq!(c.enroll("alice", &capture(&pk, &alice), None).code(), 200);
    }
    if postgres_url().is_none() {
        // No plaintext template in the SQLite file or its WAL: not the values, not the encoded form.
        let bytes = alice.to_bytes();
        let b64 = base64_std(&bytes);
        for f in ["smartid.db", "smartid.db-wal"] {
            let raw = read(&setup.dir.0.join(f));
            assert!(!contains(&raw, &bytes[8..72]), "{f} holds template bytes");
            assert!(
                !contains(&raw, &b64.as_bytes()[8..72]),
                "{f} holds the base64 template"
            );
        }
    }
    // Rotate: a new data key first, every row re-encrypted, then the old key dropped entirely.
    let new_line = smartid_server::at_rest::DataKeyring::generate_line("dk2").unwrap();
    let both = smartid_server::at_rest::DataKeyring::parse(&format!(
        "{}\n{}",
        *new_line, setup.data_keys_text
    ))
    .unwrap();
    let (templates, _) = block_on(async {
        let store = smartid_server::db::Store::open(&setup.database, 1)
            .await
            .unwrap();
        let r = smartid_server::reencrypt_all(&store, &both).await.unwrap();
        store.close().await;
        r
    });
    assert!(templates >= 1);
    setup.data_keys_text = new_line.to_string();
    // Restarted with only the new key: the index is rebuilt (the duplicate is found) and the
    // enrollment authenticates.
    let server = setup.start();
    let c = server.client(0);
    let a = c.enroll("bob", &capture(&pk, &face_template("obama2.jpg")), None);
    assert_eq!(
        a.body["UserIDsOfPreviousRegistrants"],
        json!(["alice"]),
        "{:?}",
        a.body
    );
    let a = c.authenticate("alice", &capture(&pk, &face_template("obama3.jpg")));
    assert_eq!(a.body["Authenticated"], json!(true), "{:?}", a.body);
}

#[test]
fn a_server_without_the_data_key_of_stored_rows_refuses_to_start() {
    let mut setup = Setup::new(&[policy()]);
    let pk = setup.public();
    {
        let server = setup.start();
        assert_eq!(
            server
                .client(0)
                .enroll("alice", &capture(&pk, &synthetic(1.0)), None)
                .code(),
            200
        );
    }
    setup.data_keys_text = smartid_server::at_rest::DataKeyring::generate_line("other")
        .unwrap()
        .to_string();
    let ring = smartid_core::seal::ServerKeyring::new();
    let mut config = smartid_server::ServerConfig::new(
        &setup.database,
        ring,
        smartid_server::at_rest::DataKeyring::parse(&setup.data_keys_text).unwrap(),
        setup.channels.clone(),
        &setup.models,
    );
    config.listen = "127.0.0.1:0".parse().unwrap();
    let err = smartid_server::RunningServer::start(config)
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("not in the data key file"),
        "{err}"
    );
}

// --- helpers -------------------------------------------------------------------------------------

/// A raw HTTP/1.1 request that declares `declared` body bytes, sends only `sent` of them, then reads
/// the answer (status, JSON body).
fn raw_exchange(
    c: &Client,
    method: &str,
    path: &str,
    declared: usize,
    sent: usize,
) -> (u16, serde_json::Value) {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nX-Api-Key: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {declared}\r\nConnection: close\r\n\r\n",
        c.api_key
    );
    raw(c, head.as_bytes(), &vec![b' '; sent])
}

fn raw_chunked(c: &Client, path: &str, total: usize) -> (u16, serde_json::Value) {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nX-Api-Key: {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        c.api_key
    );
    let mut body = Vec::new();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..total / chunk.len() {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    raw(c, head.as_bytes(), &body)
}

fn raw(c: &Client, head: &[u8], body: &[u8]) -> (u16, serde_json::Value) {
    use std::io::{Read as _, Write as _};
    let addr = c.url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    s.write_all(head).unwrap();
    // The server may answer and close before all of it is written.
    let _ = s.write_all(body);
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let json = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| b.find('{').map(|i| b[i..].to_string()))
        .and_then(|b| serde_json::from_str(b.trim_end_matches(|ch: char| ch != '}')).ok())
        .unwrap_or(serde_json::Value::Null);
    (status, json)
}

fn pk_of(setup: &Setup) -> smartid_core::seal::PublicKey {
    setup.public()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Users of a channel, read from the database directly.
fn server_users(setup: &Setup, channel: &str) -> Vec<String> {
    block_on(async {
        let store = smartid_server::db::Store::open(&setup.database, 1)
            .await
            .unwrap();
        let users = store.enrolled_users(channel).await.unwrap();
        store.close().await;
        users
    })
}

fn import_photo(setup: &Setup, channel: &str, user: &str, still_name: &str) {
    let keys =
        Arc::new(smartid_server::at_rest::DataKeyring::parse(&setup.data_keys_text).unwrap());
    let bytes = std::fs::read(still(still_name)).unwrap();
    block_on(async {
        let store = smartid_server::db::Store::open(&setup.database, 1)
            .await
            .unwrap();
        smartid_server::photos::DbPhotoSource::new(store.clone(), keys)
            .import(channel, user, &bytes, common::now())
            .await
            .unwrap();
        store.close().await;
    });
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn base64_std(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
