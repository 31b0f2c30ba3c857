//! Apple App Attest: one *attestation* per capture, verified statelessly.
//!
//! The app generates a fresh App Attest key and attests it with `clientDataHash = request_hash`, so
//! the attestation itself proves "a genuine instance of our app on a genuine Apple device made this
//! request". No assertion and no stored counter are needed (at the cost of one attestation per capture,
//! which Apple rate-limits per device).
//!
//! Token text: `aa:` + base64 of the CBOR attestation object + `:` + base64 of the 32-byte key id
//! (standard or url-safe alphabet, padding optional; base64 never contains `:`).
//!
//! Checks, in Apple's order ("Validating apps that connect to your server"): the x5c chain leads to the
//! pinned Apple App Attestation Root CA and is valid at `now`; the leaf's nonce extension equals
//! SHA-256(authData ‖ clientDataHash); SHA-256(leaf public key) is the key id; rpIdHash is SHA-256(app id);
//! the counter is 0; the aaguid is the allowed environment; the credential id is the key id.

use super::{AttestationError, AttestationVerifier, Attested, b64_any, ct_eq, sha256};
use ciborium::Value;
use p384::ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::Digest as _;
use x509_cert::Certificate;
use x509_cert::der::{Decode as _, DecodePem as _, Encode as _};
use x509_cert::spki::ObjectIdentifier;

/// Token prefix.
pub const PREFIX: &str = "aa:";

/// Apple App Attestation Root CA (P-384, valid 2020-03-18 .. 2045-03-15), from
/// <https://www.apple.com/certificateauthority/Apple_App_Attestation_Root_CA.pem>. SHA-256 fingerprint
/// 1C:B9:82:3B:A2:8B:A6:AD:2D:33:A0:06:94:1D:E2:AE:4F:51:3E:F1:D4:E8:31:B9:F7:E0:FA:7B:62:42:C9:32.
const APPLE_ROOT_PEM: &str = "-----BEGIN CERTIFICATE-----
MIICITCCAaegAwIBAgIQC/O+DvHN0uD7jG5yH2IXmDAKBggqhkjOPQQDAzBSMSYw
JAYDVQQDDB1BcHBsZSBBcHAgQXR0ZXN0YXRpb24gUm9vdCBDQTETMBEGA1UECgwK
QXBwbGUgSW5jLjETMBEGA1UECAwKQ2FsaWZvcm5pYTAeFw0yMDAzMTgxODMyNTNa
Fw00NTAzMTUwMDAwMDBaMFIxJjAkBgNVBAMMHUFwcGxlIEFwcCBBdHRlc3RhdGlv
biBSb290IENBMRMwEQYDVQQKDApBcHBsZSBJbmMuMRMwEQYDVQQIDApDYWxpZm9y
bmlhMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAERTHhmLW07ATaFQIEVwTtT4dyctdh
NbJhFs/Ii2FdCgAHGbpphY3+d8qjuDngIN3WVhQUBHAoMeQ/cLiP1sOUtgjqK9au
Yen1mMEvRq9Sk3Jm5X8U62H+xTD3FE9TgS41o0IwQDAPBgNVHRMBAf8EBTADAQH/
MB0GA1UdDgQWBBSskRBTM72+aEH/pwyp5frq5eWKoTAOBgNVHQ8BAf8EBAMCAQYw
CgYIKoZIzj0EAwMDaAAwZQIwQgFGnByvsiVbpTKwSga0kP0e8EeDS4+sQmTvb7vn
53O5+FRXgeLhpJ06ysC5PrOyAjEAp5U4xDgEgllF7En3VcE3iexZZtKeYnpqtijV
oyFraWVIyd/dganmrduC1bmTBGwD
-----END CERTIFICATE-----
";

/// Apple's nonce extension in the leaf certificate.
const NONCE_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113635.100.8.2");
/// Its value is `SEQUENCE { [1] EXPLICIT OCTET STRING (32) }`; DER is canonical, so this prefix + 32 bytes is the only encoding.
const NONCE_DER_PREFIX: [u8; 6] = [0x30, 0x24, 0xA1, 0x22, 0x04, 0x20];
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const AAGUID_PRODUCTION: &[u8; 16] = b"appattest\0\0\0\0\0\0\0";
const AAGUID_DEVELOPMENT: &[u8; 16] = b"appattestdevelop";

/// What the server accepts.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AppAttestConfig {
    /// `TEAMID.bundle.id`, e.g. `979F6L8R8M.org.example.App`.
    pub app_id: String,
    /// Also accept keys from the development environment (Xcode builds). Never in production.
    #[serde(default)]
    pub allow_development: bool,
}

/// Verifies `aa:` tokens against the pinned Apple root.
pub struct AppAttestVerifier {
    app_id: String,
    rp_id_hash: [u8; 32],
    allow_development: bool,
    root: Certificate,
}

impl AppAttestVerifier {
    /// Fails with [`AttestationError::Config`] if the app id is not `TEAMID.bundle.id`.
    pub fn new(config: AppAttestConfig) -> Result<Self, AttestationError> {
        let team_ok = config.app_id.split_once('.').is_some_and(|(team, bundle)| {
            !team.is_empty()
                && !bundle.is_empty()
                && team.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if !team_ok {
            return Err(AttestationError::Config);
        }
        let root = Certificate::from_pem(APPLE_ROOT_PEM).map_err(|_| AttestationError::Config)?;
        Ok(Self {
            rp_id_hash: sha256(&[config.app_id.as_bytes()]),
            app_id: config.app_id,
            allow_development: config.allow_development,
            root,
        })
    }
}

impl AttestationVerifier for AppAttestVerifier {
    fn verify(
        &self,
        token: &str,
        request_hash: &[u8; 32],
        now_unix: u64,
    ) -> Result<Attested, AttestationError> {
        let body = super::strip_kind(token, PREFIX)?;
        let (object, key_id) = body.split_once(':').ok_or(AttestationError::Malformed)?;
        let key_id: [u8; 32] = b64_any(key_id)?
            .try_into()
            .map_err(|_| AttestationError::Malformed)?;
        let att = Attestation::parse(&b64_any(object)?)?;
        let leaf = Certificate::from_der(&att.leaf).map_err(|_| AttestationError::Malformed)?;
        let intermediate =
            Certificate::from_der(&att.intermediate).map_err(|_| AttestationError::Malformed)?;

        // 1. Chain to the pinned root, every certificate valid now.
        for cert in [&leaf, &intermediate, &self.root] {
            check_validity(cert, now_unix)?;
        }
        check_signed_by(&intermediate, &self.root)?;
        check_signed_by(&leaf, &intermediate)?;

        // 2-4. The leaf certifies this authData and this request.
        let nonce = sha256(&[&att.auth_data, request_hash]);
        let ext = leaf
            .tbs_certificate()
            .extensions()
            .and_then(|exts| exts.iter().find(|e| e.extn_id == NONCE_OID))
            .ok_or(AttestationError::Malformed)?;
        let value = ext.extn_value.as_bytes();
        if value.get(..6) != Some(&NONCE_DER_PREFIX[..])
            || !ct_eq(value.get(6..).unwrap_or_default(), &nonce)
        {
            return Err(AttestationError::RequestHashMismatch);
        }

        // 5. The key id names the attested (P-256, uncompressed SEC1) key.
        let public_key = leaf
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .as_bytes();
        let public_key =
            public_key.filter(|k| p256::PublicKey::from_sec1_bytes(k).is_ok() && k.len() == 65);
        let public_key = public_key.ok_or(AttestationError::Malformed)?;
        if !ct_eq(&sha256(&[public_key]), &key_id) {
            return Err(AttestationError::KeyId);
        }

        // 6-9. authData: our app, fresh key, allowed environment, same credential.
        let auth = AuthData::parse(&att.auth_data).ok_or(AttestationError::Malformed)?;
        if !ct_eq(auth.rp_id_hash, &self.rp_id_hash) {
            return Err(AttestationError::WrongApp);
        }
        if auth.counter != 0 {
            return Err(AttestationError::Counter);
        }
        let device = match auth.aaguid {
            a if a == AAGUID_PRODUCTION => "production",
            a if a == AAGUID_DEVELOPMENT && self.allow_development => "development",
            _ => return Err(AttestationError::Environment),
        };
        if !ct_eq(auth.credential_id, &key_id) {
            return Err(AttestationError::KeyId);
        }
        Ok(Attested {
            kind: "app_attest",
            device: device.into(),
            app: self.app_id.clone(),
        })
    }
}

/// The parts of the CBOR attestation object we use (`attStmt.receipt` is only for Apple's fraud metric).
struct Attestation {
    leaf: Vec<u8>,
    intermediate: Vec<u8>,
    auth_data: Vec<u8>,
}

impl Attestation {
    fn parse(cbor: &[u8]) -> Result<Self, AttestationError> {
        // ciborium grows containers as items arrive and limits nesting, so hostile headers cannot exhaust memory.
        let value: Value = ciborium::from_reader(cbor).map_err(|_| AttestationError::Malformed)?;
        let malformed = || AttestationError::Malformed;
        if field(&value, "fmt")
            .and_then(Value::as_text)
            .ok_or_else(malformed)?
            != "apple-appattest"
        {
            return Err(AttestationError::WrongKind);
        }
        let x5c = field(&value, "attStmt")
            .and_then(|s| field(s, "x5c"))
            .and_then(Value::as_array)
            .ok_or_else(malformed)?;
        let der = |i: usize| {
            x5c.get(i)
                .and_then(Value::as_bytes)
                .cloned()
                .ok_or_else(malformed)
        };
        Ok(Self {
            leaf: der(0)?,
            intermediate: der(1)?,
            auth_data: field(&value, "authData")
                .and_then(Value::as_bytes)
                .cloned()
                .ok_or_else(malformed)?,
        })
    }
}

fn field<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

/// WebAuthn authenticator data with attested credential data (Apple's layout).
struct AuthData<'a> {
    rp_id_hash: &'a [u8],
    counter: u32,
    aaguid: &'a [u8],
    credential_id: &'a [u8],
}

impl<'a> AuthData<'a> {
    fn parse(d: &'a [u8]) -> Option<Self> {
        let id_len = usize::from(u16::from_be_bytes(d.get(53..55)?.try_into().ok()?));
        Some(Self {
            rp_id_hash: d.get(0..32)?,
            counter: u32::from_be_bytes(d.get(33..37)?.try_into().ok()?),
            aaguid: d.get(37..53)?,
            credential_id: d.get(55..55 + id_len)?,
        })
    }
}

fn check_validity(cert: &Certificate, now_unix: u64) -> Result<(), AttestationError> {
    let validity = cert.tbs_certificate().validity();
    let not_before = validity.not_before.to_unix_duration().as_secs();
    let not_after = validity.not_after.to_unix_duration().as_secs();
    if now_unix < not_before || now_unix > not_after {
        return Err(AttestationError::CertificateExpired);
    }
    Ok(())
}

/// `child` names `issuer` and carries its P-384 ECDSA signature. Apple signs the leaf with
/// ecdsa-with-SHA256 and the intermediate with ecdsa-with-SHA384, both with P-384 keys.
fn check_signed_by(child: &Certificate, issuer: &Certificate) -> Result<(), AttestationError> {
    let chain = |_| AttestationError::CertificateChain;
    let tbs = child.tbs_certificate();
    if tbs.issuer() != issuer.tbs_certificate().subject()
        || tbs.signature() != child.signature_algorithm()
    {
        return Err(AttestationError::CertificateChain);
    }
    let tbs_der = tbs.to_der().map_err(|_| AttestationError::Malformed)?;
    let digest = match child.signature_algorithm().oid {
        ECDSA_SHA256 => sha2::Sha256::digest(&tbs_der).to_vec(),
        ECDSA_SHA384 => sha2::Sha384::digest(&tbs_der).to_vec(),
        _ => return Err(AttestationError::CertificateChain),
    };
    let issuer_key = issuer
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .as_bytes();
    let issuer_key = p384::ecdsa::VerifyingKey::from_sec1_bytes(issuer_key.unwrap_or_default())
        .map_err(chain)?;
    let signature =
        p384::ecdsa::Signature::from_der(child.signature().as_bytes().unwrap_or_default())
            .map_err(chain)?;
    issuer_key
        .verify_prehash(&digest, &signature)
        .map_err(chain)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    /// Real attestation from srinivas1729/appattest-checker-node (Apache-2.0); see testdata/app_attest/README.md.
    const ATTESTATION_B64: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/app_attest/attestation.b64"
    ));
    const APP_ID: &str = "979F6L8R8M.org.reactjs.native.example.RNClientAttest";
    const KEY_ID: &str = "+7NWLawiwi1lyK6vxqHzUp1bXzMji/Ft89ztMqPW4H4=";
    /// UUID 279e8603-7bb9-4c7a-8965-aa1f8d7c16ee as the app's challenge bytes.
    const CHALLENGE: [u8; 16] = [
        0x27, 0x9e, 0x86, 0x03, 0x7b, 0xb9, 0x4c, 0x7a, 0x89, 0x65, 0xaa, 0x1f, 0x8d, 0x7c, 0x16,
        0xee,
    ];
    /// 2024-06-01T00:00:00Z, inside the leaf's validity (2024-01-26 .. 2025-01-13).
    const NOW: u64 = 1_717_200_000;

    fn verifier(app_id: &str, allow_development: bool) -> AppAttestVerifier {
        AppAttestVerifier::new(AppAttestConfig {
            app_id: app_id.into(),
            allow_development,
        })
        .unwrap()
    }

    fn request_hash() -> [u8; 32] {
        sha256(&[&CHALLENGE])
    }

    fn token_from(att: &[u8]) -> String {
        format!("aa:{}:{KEY_ID}", STANDARD.encode(att))
    }

    fn att_bytes() -> Vec<u8> {
        STANDARD.decode(ATTESTATION_B64.trim()).unwrap()
    }

    fn token() -> String {
        format!("aa:{}:{KEY_ID}", ATTESTATION_B64.trim())
    }

    #[test]
    fn pinned_root_is_apples() {
        let der = Certificate::from_pem(APPLE_ROOT_PEM)
            .unwrap()
            .to_der()
            .unwrap();
        let fp: String = sha256(&[&der]).iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(
            fp,
            "1CB9823BA28BA6AD2D33A006941DE2AE4F513EF1D4E831B9F7E0FA7B6242C932"
        );
    }

    #[test]
    fn accepts_the_real_attestation() {
        let got = verifier(APP_ID, true)
            .verify(&token(), &request_hash(), NOW)
            .unwrap();
        assert_eq!(
            got,
            Attested {
                kind: "app_attest",
                device: "development".into(),
                app: APP_ID.into()
            }
        );
        // url-safe alphabet without padding works too
        let url = format!(
            "aa:{}:{}",
            URL_SAFE_NO_PAD.encode(att_bytes()),
            URL_SAFE_NO_PAD.encode(STANDARD.decode(KEY_ID).unwrap())
        );
        assert!(
            verifier(APP_ID, true)
                .verify(&url, &request_hash(), NOW)
                .is_ok()
        );
    }

    #[test]
    fn refuses_development_keys_unless_allowed() {
        assert_eq!(
            verifier(APP_ID, false).verify(&token(), &request_hash(), NOW),
            Err(AttestationError::Environment)
        );
    }

    #[test]
    fn refuses_another_request_hash() {
        assert_eq!(
            verifier(APP_ID, true).verify(&token(), &[0; 32], NOW),
            Err(AttestationError::RequestHashMismatch)
        );
    }

    #[test]
    fn refuses_another_app() {
        let v = verifier("979F6L8R8M.org.example.Other", true);
        assert_eq!(
            v.verify(&token(), &request_hash(), NOW),
            Err(AttestationError::WrongApp)
        );
    }

    #[test]
    fn refuses_another_key_id() {
        let t = format!(
            "aa:{}:{}",
            ATTESTATION_B64.trim(),
            STANDARD.encode([1u8; 32])
        );
        assert_eq!(
            verifier(APP_ID, true).verify(&t, &request_hash(), NOW),
            Err(AttestationError::KeyId)
        );
    }

    #[test]
    fn refuses_outside_certificate_validity() {
        let v = verifier(APP_ID, true);
        // 2025-02-01, after the leaf expired; 2024-01-01, before it was issued.
        assert_eq!(
            v.verify(&token(), &request_hash(), 1_738_368_000),
            Err(AttestationError::CertificateExpired)
        );
        assert_eq!(
            v.verify(&token(), &request_hash(), 1_704_067_200),
            Err(AttestationError::CertificateExpired)
        );
    }

    #[test]
    fn refuses_a_tampered_leaf_signature() {
        let mut att = att_bytes();
        let leaf = Attestation::parse(&att).unwrap().leaf;
        let at = att.windows(leaf.len()).position(|w| w == leaf).unwrap() + leaf.len() - 1;
        att[at] ^= 0x01; // last byte of the leaf = last byte of its signature's s
        let r = verifier(APP_ID, true).verify(&token_from(&att), &request_hash(), NOW);
        assert_eq!(r, Err(AttestationError::CertificateChain));
    }

    #[test]
    fn refuses_truncated_or_garbage_input() {
        let v = verifier(APP_ID, true);
        let att = att_bytes();
        for len in [0, 1, 10, att.len() / 2, att.len() - 1] {
            assert_eq!(
                v.verify(&token_from(&att[..len]), &request_hash(), NOW),
                Err(AttestationError::Malformed),
                "len {len}"
            );
        }
        let huge = format!("aa:{}:{KEY_ID}", "A".repeat(20_000));
        for t in ["", "aa:", "aa::", "aa:%%%:???", "pi:x", &huge] {
            assert!(matches!(
                v.verify(t, &request_hash(), NOW),
                Err(AttestationError::Malformed | AttestationError::WrongKind)
            ));
        }
    }

    #[test]
    fn single_byte_changes_are_refused_without_panicking() {
        let v = verifier(APP_ID, true);
        let att = att_bytes();
        // The receipt is not verified (Apple uses it only for its fraud metric), so changes there are skipped.
        let value: Value = ciborium::from_reader(att.as_slice()).unwrap();
        let receipt = field(field(&value, "attStmt").unwrap(), "receipt")
            .unwrap()
            .as_bytes()
            .unwrap();
        let start = att
            .windows(receipt.len())
            .position(|w| w == receipt.as_slice())
            .unwrap();
        let skip = start..start + receipt.len();
        for i in (0..att.len()).step_by(5).filter(|i| !skip.contains(i)) {
            let mut bad = att.clone();
            bad[i] ^= 0x80;
            let r = v.verify(&token_from(&bad), &request_hash(), NOW);
            assert!(r.is_err(), "byte {i} changed and still accepted");
        }
    }
}
