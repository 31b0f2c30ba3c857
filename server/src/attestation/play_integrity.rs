//! Google Play Integrity, *classic* request, decrypted and verified locally.
//!
//! Token text: `pi:` + the compact JWE the app got from `IntegrityManager.requestIntegrityToken`
//! called with `nonce = base64url_nopad(request_hash)` (43 chars). Only classic tokens can be
//! decrypted locally (standard-request tokens must be sent to Google), hence the nonce carries the hash.
//!
//! Format: JWE `{"alg":"A256KW","enc":"A256GCM"}` under the Play Console *decryption key*, whose
//! plaintext is a JWS `{"alg":"ES256"}` (raw r‖s signature) by the Play Console *verification key*;
//! the JWS payload is the verdict JSON (`requestDetails`, `appIntegrity`, `deviceIntegrity`, ...).

use super::{AttestationError, AttestationVerifier, Attested, b64_any, b64_url, ct_eq};
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_kw::KwAes256;
use base64::Engine as _;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey as _;
use serde::Deserialize;

/// Token prefix.
pub const PREFIX: &str = "pi:";
/// Tokens may come from a device clock up to this far ahead of ours.
const MAX_FUTURE_MS: u64 = 60_000;
/// Device verdicts from strongest to weakest, to report the best one met.
const DEVICE_VERDICTS: [&str; 3] = [
    "MEETS_STRONG_INTEGRITY",
    "MEETS_DEVICE_INTEGRITY",
    "MEETS_BASIC_INTEGRITY",
];

/// Settings from the Play Console ("App integrity" > "Response encryption": manage the keys yourself).
#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct PlayIntegrityConfig {
    /// Android application id, e.g. `com.example.app`.
    pub package_name: String,
    /// Standard base64 of the raw 32-byte AES key (as the console shows it).
    pub decryption_key_b64: String,
    /// Standard base64 of the DER SubjectPublicKeyInfo of the P-256 key (as the console shows it).
    pub verification_key_b64: String,
    /// SHA-256 of the app signing certificate(s), hex (colons allowed) or base64url; empty = not checked.
    pub cert_digests: Vec<String>,
    /// Accepted `appRecognitionVerdict` values (default: `PLAY_RECOGNIZED` only).
    pub allowed_app_verdicts: Vec<String>,
    /// Must appear in `deviceRecognitionVerdict` (default `MEETS_DEVICE_INTEGRITY`).
    pub required_device_verdict: String,
    /// Oldest token accepted, by its `timestampMillis` (default 300 s).
    pub max_age_secs: u64,
}

impl Default for PlayIntegrityConfig {
    fn default() -> Self {
        Self {
            package_name: String::new(),
            decryption_key_b64: String::new(),
            verification_key_b64: String::new(),
            cert_digests: Vec::new(),
            allowed_app_verdicts: vec!["PLAY_RECOGNIZED".into()],
            required_device_verdict: "MEETS_DEVICE_INTEGRITY".into(),
            max_age_secs: 300,
        }
    }
}

/// Keys stay out of logs.
impl std::fmt::Debug for PlayIntegrityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlayIntegrityConfig")
            .field("package_name", &self.package_name)
            .field("decryption_key_b64", &"<redacted>")
            .field("verification_key_b64", &self.verification_key_b64)
            .field("cert_digests", &self.cert_digests)
            .field("allowed_app_verdicts", &self.allowed_app_verdicts)
            .field("required_device_verdict", &self.required_device_verdict)
            .field("max_age_secs", &self.max_age_secs)
            .finish()
    }
}

/// Verifies `pi:` tokens; keys are parsed once, in [`new`](Self::new).
pub struct PlayIntegrityVerifier {
    package_name: String,
    kek: KwAes256,
    verifying_key: VerifyingKey,
    cert_digests: Vec<[u8; 32]>,
    allowed_app_verdicts: Vec<String>,
    required_device_verdict: String,
    max_age_ms: u64,
}

impl PlayIntegrityVerifier {
    /// Fails with [`AttestationError::Config`] on a bad key or digest, or an empty package name / device verdict.
    pub fn new(config: PlayIntegrityConfig) -> Result<Self, AttestationError> {
        if config.package_name.is_empty() || config.required_device_verdict.is_empty() {
            return Err(AttestationError::Config);
        }
        let kek: [u8; 32] = b64_any(config.decryption_key_b64.trim())
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or(AttestationError::Config)?;
        let spki =
            b64_any(config.verification_key_b64.trim()).map_err(|_| AttestationError::Config)?;
        let verifying_key =
            VerifyingKey::from_public_key_der(&spki).map_err(|_| AttestationError::Config)?;
        let cert_digests = config
            .cert_digests
            .iter()
            .map(|d| parse_digest(d).ok_or(AttestationError::Config))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            package_name: config.package_name,
            kek: KwAes256::new(&kek.into()),
            verifying_key,
            cert_digests,
            allowed_app_verdicts: config.allowed_app_verdicts,
            required_device_verdict: config.required_device_verdict,
            max_age_ms: config.max_age_secs.saturating_mul(1000),
        })
    }

    /// JWE compact → the JWS text (RFC 7516; AAD = the protected header exactly as received).
    fn decrypt(&self, jwe: &str) -> Result<Vec<u8>, AttestationError> {
        let mut parts = jwe.split('.');
        let (Some(header), Some(wrapped), Some(iv), Some(ciphertext), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(AttestationError::Malformed);
        };
        let h: JoseHeader =
            serde_json::from_slice(&b64_url(header)?).map_err(|_| AttestationError::Malformed)?;
        if h.alg != "A256KW"
            || h.enc.as_deref() != Some("A256GCM")
            || h.zip.is_some()
            || h.crit.is_some()
        {
            return Err(AttestationError::UnsupportedAlgorithm);
        }
        let wrapped = b64_url(wrapped)?;
        let iv: [u8; 12] = b64_url(iv)?
            .try_into()
            .map_err(|_| AttestationError::Malformed)?;
        let tag = b64_url(tag)?;
        if wrapped.len() != 40 || tag.len() != 16 {
            return Err(AttestationError::Malformed);
        }
        let mut cek = [0u8; 32];
        self.kek
            .unwrap_key(&wrapped, &mut cek)
            .map_err(|_| AttestationError::Decryption)?;
        let cipher = Aes256Gcm::new(&cek.into());
        cek.fill(0);
        let mut msg = b64_url(ciphertext)?;
        msg.extend_from_slice(&tag);
        cipher
            .decrypt(
                &iv.into(),
                Payload {
                    msg: &msg,
                    aad: header.as_bytes(),
                },
            )
            .map_err(|_| AttestationError::Decryption)
    }

    /// JWS compact → the verified payload bytes.
    fn open_jws(&self, jws: &[u8]) -> Result<Vec<u8>, AttestationError> {
        let jws = std::str::from_utf8(jws).map_err(|_| AttestationError::Malformed)?;
        let (signed, signature) = jws.rsplit_once('.').ok_or(AttestationError::Malformed)?;
        let (header, payload) = signed.split_once('.').ok_or(AttestationError::Malformed)?;
        if payload.contains('.') {
            return Err(AttestationError::Malformed);
        }
        let h: JoseHeader =
            serde_json::from_slice(&b64_url(header)?).map_err(|_| AttestationError::Malformed)?;
        if h.alg != "ES256" || h.crit.is_some() {
            return Err(AttestationError::UnsupportedAlgorithm);
        }
        // ES256 in JOSE is raw r‖s (64 bytes), not DER (RFC 7518 §3.4).
        let signature =
            Signature::from_slice(&b64_url(signature)?).map_err(|_| AttestationError::Signature)?;
        self.verifying_key
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| AttestationError::Signature)?;
        b64_url(payload)
    }

    /// The policy on a verified payload.
    fn check(
        &self,
        p: &Verdict,
        request_hash: &[u8; 32],
        now_unix: u64,
    ) -> Result<Attested, AttestationError> {
        let rd = &p.request_details;
        let app_package = p
            .app_integrity
            .package_name
            .as_deref()
            .unwrap_or(&self.package_name);
        if rd.request_package_name != self.package_name || app_package != self.package_name {
            return Err(AttestationError::WrongApp);
        }
        let expected_nonce = super::B64_URL.encode(request_hash);
        if !ct_eq(
            rd.nonce.trim_end_matches('=').as_bytes(),
            expected_nonce.as_bytes(),
        ) {
            return Err(AttestationError::RequestHashMismatch);
        }
        let ts = rd
            .timestamp_millis
            .as_ref()
            .and_then(Millis::get)
            .ok_or(AttestationError::Malformed)?;
        let now_ms = now_unix.saturating_mul(1000);
        if ts > now_ms.saturating_add(MAX_FUTURE_MS) || now_ms.saturating_sub(ts) > self.max_age_ms
        {
            return Err(AttestationError::Stale);
        }
        let ai = &p.app_integrity;
        if !self
            .allowed_app_verdicts
            .contains(&ai.app_recognition_verdict)
        {
            return Err(AttestationError::AppIntegrity);
        }
        if !self.cert_digests.is_empty()
            && !ai
                .certificate_sha256_digest
                .iter()
                .filter_map(|d| parse_digest(d))
                .any(|d| self.cert_digests.contains(&d))
        {
            return Err(AttestationError::AppIntegrity);
        }
        let verdicts = &p.device_integrity.device_recognition_verdict;
        if !verdicts.contains(&self.required_device_verdict) {
            return Err(AttestationError::DeviceIntegrity);
        }
        let best = DEVICE_VERDICTS
            .iter()
            .find(|v| verdicts.iter().any(|x| x == *v));
        Ok(Attested {
            kind: "play_integrity",
            device: best.map_or_else(|| self.required_device_verdict.clone(), |v| (*v).to_owned()),
            app: self.package_name.clone(),
        })
    }
}

impl AttestationVerifier for PlayIntegrityVerifier {
    fn verify(
        &self,
        token: &str,
        request_hash: &[u8; 32],
        now_unix: u64,
    ) -> Result<Attested, AttestationError> {
        let jwe = super::strip_kind(token, PREFIX)?;
        let jws = self.decrypt(jwe)?;
        let payload = self.open_jws(&jws)?;
        let verdict: Verdict =
            serde_json::from_slice(&payload).map_err(|_| AttestationError::Malformed)?;
        self.check(&verdict, request_hash, now_unix)
    }
}

/// A SHA-256 given as hex (Play Console shows `AB:CD:...`) or base64/base64url (as in tokens).
fn parse_digest(s: &str) -> Option<[u8; 32]> {
    let hex: String = s.trim().chars().filter(|c| *c != ':').collect();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(hex.as_bytes().chunks(2)) {
            *o = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        return Some(out);
    }
    b64_any(s.trim()).ok()?.try_into().ok()
}

/// JOSE header fields we look at; `crit`/`zip` must be absent (we implement neither).
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    enc: Option<String>,
    zip: Option<serde_json::Value>,
    crit: Option<serde_json::Value>,
}

/// The verdict JSON; unknown fields are ignored, missing ones are empty (and then fail the policy).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Verdict {
    request_details: RequestDetails,
    app_integrity: AppIntegrity,
    device_integrity: DeviceIntegrity,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RequestDetails {
    request_package_name: String,
    nonce: String,
    timestamp_millis: Option<Millis>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct AppIntegrity {
    app_recognition_verdict: String,
    package_name: Option<String>,
    certificate_sha256_digest: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DeviceIntegrity {
    device_recognition_verdict: Vec<String>,
}

/// Google sends `timestampMillis` as a JSON string; accept a number too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Millis {
    Text(String),
    Number(u64),
}

impl Millis {
    fn get(&self) -> Option<u64> {
        match self {
            Self::Text(s) => s.parse().ok(),
            Self::Number(n) => Some(*n),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use aes_gcm::aead::Aead;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;
    use serde_json::json;

    const PKG: &str = "com.example.capture";
    const NOW: u64 = 1_750_000_000;
    const CERT: [u8; 32] = [0xAB; 32];

    struct Keys {
        kek: [u8; 32],
        signer: SigningKey,
    }

    fn keys() -> Keys {
        let signer = loop {
            if let Ok(k) = SigningKey::from_slice(&rand::random::<[u8; 32]>()) {
                break k;
            }
        };
        Keys {
            kek: rand::random(),
            signer,
        }
    }

    fn verifier(k: &Keys) -> PlayIntegrityVerifier {
        let std = base64::engine::general_purpose::STANDARD;
        PlayIntegrityVerifier::new(PlayIntegrityConfig {
            package_name: PKG.into(),
            decryption_key_b64: std.encode(k.kek),
            verification_key_b64: std.encode(
                k.signer
                    .verifying_key()
                    .to_public_key_der()
                    .unwrap()
                    .as_bytes(),
            ),
            cert_digests: vec![
                CERT.iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<Vec<_>>()
                    .join(":"),
            ],
            ..Default::default()
        })
        .unwrap()
    }

    fn b64u(b: &[u8]) -> String {
        super::super::B64_URL.encode(b)
    }

    fn verdict(hash: &[u8; 32]) -> serde_json::Value {
        json!({
            "requestDetails": { "requestPackageName": PKG, "nonce": b64u(hash), "timestampMillis": (NOW * 1000 - 5_000).to_string() },
            "appIntegrity": { "appRecognitionVerdict": "PLAY_RECOGNIZED", "packageName": PKG,
                              "certificateSha256Digest": [b64u(&CERT)], "versionCode": "42" },
            "deviceIntegrity": { "deviceRecognitionVerdict": ["MEETS_BASIC_INTEGRITY", "MEETS_DEVICE_INTEGRITY"] },
            "accountDetails": { "appLicensingVerdict": "LICENSED" }
        })
    }

    /// Builds a token exactly as Google does: JWS(ES256, r‖s) inside JWE(A256KW, A256GCM).
    fn seal(
        kek: &[u8; 32],
        signer: &SigningKey,
        payload: &serde_json::Value,
        flip_ciphertext: bool,
    ) -> String {
        let signed = format!(
            "{}.{}",
            b64u(br#"{"alg":"ES256"}"#),
            b64u(payload.to_string().as_bytes())
        );
        let sig: Signature = signer.sign(signed.as_bytes());
        let jws = format!("{signed}.{}", b64u(&sig.to_bytes()));

        let cek: [u8; 32] = rand::random();
        let iv: [u8; 12] = rand::random();
        let mut wrapped = [0u8; 40];
        KwAes256::new(&(*kek).into())
            .wrap_key(&cek, &mut wrapped)
            .unwrap();
        let header = b64u(br#"{"alg":"A256KW","enc":"A256GCM"}"#);
        let mut ct = Aes256Gcm::new(&cek.into())
            .encrypt(
                &iv.into(),
                Payload {
                    msg: jws.as_bytes(),
                    aad: header.as_bytes(),
                },
            )
            .unwrap();
        if flip_ciphertext {
            ct[3] ^= 0x01;
        }
        let (c, tag) = ct.split_at(ct.len() - 16);
        format!(
            "pi:{header}.{}.{}.{}.{}",
            b64u(&wrapped),
            b64u(&iv),
            b64u(c),
            b64u(tag)
        )
    }

    fn run(payload: serde_json::Value) -> Result<Attested, AttestationError> {
        let k = keys();
        verifier(&k).verify(&seal(&k.kek, &k.signer, &payload, false), &[7; 32], NOW)
    }

    #[test]
    fn accepts_a_genuine_token() {
        let got = run(verdict(&[7; 32])).unwrap();
        assert_eq!(
            got,
            Attested {
                kind: "play_integrity",
                device: "MEETS_DEVICE_INTEGRITY".into(),
                app: PKG.into()
            }
        );
    }

    #[test]
    fn accepts_a_padded_nonce() {
        let mut v = verdict(&[7; 32]);
        v["requestDetails"]["nonce"] = json!(format!("{}=", b64u(&[7; 32])));
        assert!(run(v).is_ok());
    }

    #[test]
    fn refuses_another_request_hash() {
        assert_eq!(
            run(verdict(&[8; 32])),
            Err(AttestationError::RequestHashMismatch)
        );
    }

    #[test]
    fn refuses_altered_ciphertext_or_another_key() {
        let k = keys();
        let token = seal(&k.kek, &k.signer, &verdict(&[7; 32]), true);
        assert_eq!(
            verifier(&k).verify(&token, &[7; 32], NOW),
            Err(AttestationError::Decryption)
        );
        let token = seal(&rand::random(), &k.signer, &verdict(&[7; 32]), false);
        assert_eq!(
            verifier(&k).verify(&token, &[7; 32], NOW),
            Err(AttestationError::Decryption)
        );
    }

    #[test]
    fn refuses_a_signature_by_another_key() {
        let k = keys();
        let token = seal(&k.kek, &keys().signer, &verdict(&[7; 32]), false);
        assert_eq!(
            verifier(&k).verify(&token, &[7; 32], NOW),
            Err(AttestationError::Signature)
        );
    }

    #[test]
    fn refuses_another_package() {
        let mut v = verdict(&[7; 32]);
        v["requestDetails"]["requestPackageName"] = json!("com.evil.app");
        assert_eq!(run(v), Err(AttestationError::WrongApp));
        let mut v = verdict(&[7; 32]);
        v["appIntegrity"]["packageName"] = json!("com.evil.app");
        assert_eq!(run(v), Err(AttestationError::WrongApp));
    }

    #[test]
    fn refuses_old_or_future_timestamps() {
        for ts in [(NOW - 301) * 1000, (NOW + 61) * 1000] {
            let mut v = verdict(&[7; 32]);
            v["requestDetails"]["timestampMillis"] = json!(ts.to_string());
            assert_eq!(run(v), Err(AttestationError::Stale));
        }
    }

    #[test]
    fn refuses_weak_device_or_app() {
        let mut v = verdict(&[7; 32]);
        v["deviceIntegrity"]["deviceRecognitionVerdict"] = json!(["MEETS_BASIC_INTEGRITY"]);
        assert_eq!(run(v), Err(AttestationError::DeviceIntegrity));
        let mut v = verdict(&[7; 32]);
        v["deviceIntegrity"] = json!({});
        assert_eq!(run(v), Err(AttestationError::DeviceIntegrity));
        let mut v = verdict(&[7; 32]);
        v["appIntegrity"] = json!({ "appRecognitionVerdict": "UNEVALUATED" });
        assert_eq!(run(v), Err(AttestationError::AppIntegrity));
        let mut v = verdict(&[7; 32]);
        v["appIntegrity"]["certificateSha256Digest"] = json!([b64u(&[0xCD; 32])]);
        assert_eq!(run(v), Err(AttestationError::AppIntegrity));
    }

    #[test]
    fn refuses_other_algorithms() {
        let k = keys();
        let v = verifier(&k);
        let token = seal(&k.kek, &k.signer, &verdict(&[7; 32]), false);
        let other = token.replacen(
            &b64u(br#"{"alg":"A256KW","enc":"A256GCM"}"#),
            &b64u(br#"{"alg":"dir","enc":"A256GCM"}"#),
            1,
        );
        assert_eq!(
            v.verify(&other, &[7; 32], NOW),
            Err(AttestationError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn refuses_garbage_without_panicking() {
        let k = keys();
        let v = verifier(&k);
        let huge = format!("pi:{}", "a.".repeat(10_000));
        for t in [
            "",
            "pi:",
            "pi:....",
            "pi:a.b.c.d.e",
            "x",
            "aa:abc:def",
            "pi:\u{0}\u{ffff}",
            &huge,
        ] {
            let r = v.verify(t, &[7; 32], NOW);
            assert!(
                matches!(
                    r,
                    Err(AttestationError::Malformed | AttestationError::WrongKind)
                ),
                "{t:.20}: {r:?}"
            );
        }
        // Every prefix and every single-character change of a valid token fails cleanly.
        let token = seal(&k.kek, &k.signer, &verdict(&[7; 32]), false);
        for i in 0..token.len() {
            assert!(v.verify(&token[..i], &[7; 32], NOW).is_err());
            let mut b = token.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            if let Ok(t) = String::from_utf8(b) {
                assert!(
                    v.verify(&t, &[7; 32], NOW).is_err(),
                    "change at {i} accepted"
                );
            }
        }
    }

    #[test]
    fn refuses_bad_config() {
        let k = keys();
        let good = || PlayIntegrityConfig {
            package_name: PKG.into(),
            decryption_key_b64: base64::engine::general_purpose::STANDARD.encode(k.kek),
            verification_key_b64: base64::engine::general_purpose::STANDARD.encode(
                k.signer
                    .verifying_key()
                    .to_public_key_der()
                    .unwrap()
                    .as_bytes(),
            ),
            ..Default::default()
        };
        assert!(PlayIntegrityVerifier::new(good()).is_ok());
        for bad in [
            PlayIntegrityConfig {
                package_name: String::new(),
                ..good()
            },
            PlayIntegrityConfig {
                decryption_key_b64: "AAAA".into(),
                ..good()
            },
            PlayIntegrityConfig {
                verification_key_b64: "AAAA".into(),
                ..good()
            },
            PlayIntegrityConfig {
                cert_digests: vec!["12:34".into()],
                ..good()
            },
        ] {
            assert_eq!(
                PlayIntegrityVerifier::new(bad).err(),
                Some(AttestationError::Config)
            );
        }
        assert!(!format!("{:?}", good()).contains(&good().decryption_key_b64));
    }
}
