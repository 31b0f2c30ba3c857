//! The server's offline attestation verifiers (Play Integrity JWE/JWS, App Attest CBOR + X.509) on
//! arbitrary tokens. The module is compiled here from the server's source, without the server's web
//! and database stack. Never panics; nothing made up verifies.
#![no_main]

#[allow(dead_code, unused_imports)]
#[path = "../../server/src/attestation/mod.rs"]
mod attestation;

use std::sync::OnceLock;

use attestation::{
    AppAttestConfig, AppAttestVerifier, AttestationVerifier, PlayIntegrityConfig,
    PlayIntegrityVerifier, Verifiers,
};
use libfuzzer_sys::fuzz_target;

fn verifiers() -> &'static Verifiers {
    static V: OnceLock<Verifiers> = OnceLock::new();
    V.get_or_init(|| Verifiers {
        // Fixed keys: a random 32-byte AES key and a P-256 public key (the verifiers parse them up front).
        play_integrity: PlayIntegrityVerifier::new(PlayIntegrityConfig {
            package_name: "com.bank.app".into(),
            decryption_key_b64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
            verification_key_b64: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEwhdDsT4WhRlQd8trmSA+JzfmimrSYrxrtw7jHnrGhRAhBkE6rOSt/Su8s0S1CjYZRvl05aRqEhS5ak6TKVCt6Q==".into(),
            ..PlayIntegrityConfig::default()
        })
        .ok(),
        app_attest: AppAttestVerifier::new(AppAttestConfig {
            app_id: "0352187391.com.apple.example_app_attest".into(),
            allow_development: true,
        })
        .ok(),
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for prefix in ["", "pi:", "aa:"] {
        let token = format!("{prefix}{text}");
        assert!(verifiers().verify(&token, &[7; 32], 1_717_200_000).is_err());
    }
});
