//! Payload parsing, validation and the clock checks behind real decryption: the fuzzer chooses the
//! payload plaintext (and the opening time), which is sealed with the test key as anyone holding the
//! public key could. Whatever opens must survive a serialise/parse round trip unchanged.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use smartid_core::matching::Metric;
use smartid_core::seal::{
    KeyPair, OpenPolicy, Payload, ServerKeyring, SessionId, Template, open_capture,
    seal_plaintexts_for_tests,
};

const MODEL: &str = "dlib/dlib_face_recognition_resnet_model_v1@int8";

fn key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| {
        KeyPair::derive("test-vector-key", b"smartid test vector ikm 0001").expect("valid key id")
    })
}

fn ring() -> &'static ServerKeyring {
    static RING: OnceLock<ServerKeyring> = OnceLock::new();
    RING.get_or_init(|| ServerKeyring::new().with(KeyPair::parse(&key().private_text()).expect("key text")))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    // First byte: with or without a token nonce; next 8: the opening time; the rest: the payload.
    let nonce = (data[0] & 1 == 1).then_some([0x5a; 16]);
    let mut now = [0u8; 8];
    now.copy_from_slice(&data[1..9]);
    let now = u64::from_le_bytes(now);
    let plaintext = &data[9..];
    let template = Template::new(MODEL, Metric::Euclidean, vec![0.1; 128]).expect("template");
    // The session id the payload must name: 32 hex digits of 0x11.
    let sid = SessionId::from_bytes([0x11; 16]);
    let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(1);
    let Ok(c) = seal_plaintexts_for_tests(
        &key().public(),
        &template.to_bytes(),
        plaintext,
        sid,
        nonce,
        &mut rng,
    ) else {
        return;
    };
    if let Ok(o) = open_capture(ring(), &c.template, &c.payload, now, &OpenPolicy::default()) {
        assert!(o.payload.validate().is_ok(), "an opened payload is valid");
        let again: Payload =
            serde_json::from_slice(&serde_json::to_vec(&o.payload).expect("serialises"))
                .expect("re-parses");
        assert_eq!(again, o.payload, "round trip");
        assert_eq!(o.payload.session_id, sid);
    }
});
