//! Sealed envelopes: the binary layout, HPKE sealing of a capture and the server's opening checks.
//!
//! Envelope (then base64url without padding):
//! `"SIDE" | version u8 (=1) | kind u8 (1 template, 2 payload) | key id length u8 | key id |
//!  session id [16] | enc [32] | AEAD ciphertext with tag`
//!
//! One HPKE context per capture (info = `"smartid-capture-v1" | key id | session id`): the template is
//! message 0 with AAD = its own clear part, the payload is message 1 with AAD = its clear part followed
//! by SHA-256 of the template envelope. So neither opens without its own counterpart.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::keys::{Kem, PublicKey, ServerKeyring};
use super::payload::{PAYLOAD_VERSION, Payload, SessionId};
use super::template::Template;
use super::{OpenError, SealError};

type Aead = hpke::aead::AesGcm256;
type Kdf = hpke::kdf::HkdfSha256;

pub const ENVELOPE_MAGIC: &[u8; 4] = b"SIDE";
pub const ENVELOPE_VERSION: u8 = 1;
pub const KIND_TEMPLATE: u8 = 1;
pub const KIND_PAYLOAD: u8 = 2;
const INFO_LABEL: &[u8] = b"smartid-capture-v1";
const ENC_LEN: usize = 32;
const TAG_LEN: usize = 16;
/// Far above a real capture (a template is ~2 KB, a payload a few KB); bounds what a server decodes.
pub const MAX_SEALED_TEXT: usize = 256 * 1024;

/// The two strings an app forwards to its backend, plus the session id for its own logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedCapture {
    pub template: String,
    pub payload: String,
    pub session_id: SessionId,
}

/// Clock rules for opening.
#[derive(Debug, Clone, Copy)]
pub struct OpenPolicy {
    /// Tolerated clock difference between phone and server, seconds.
    pub skew_secs: u64,
    /// Longest accepted `expires_at - issued_at`, seconds.
    pub max_lifetime_secs: u64,
}

impl Default for OpenPolicy {
    fn default() -> Self {
        Self {
            skew_secs: 300,
            max_lifetime_secs: 3600,
        }
    }
}

/// A capture that passed every check.
#[derive(Debug)]
pub struct CaptureOpened {
    pub key_id: String,
    pub session_id: SessionId,
    pub template: Template,
    pub payload: Payload,
}

/// Parsed clear part of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub version: u8,
    pub kind: u8,
    pub key_id: &'a str,
    pub session_id: [u8; 16],
    pub enc: &'a [u8],
    /// Everything before the ciphertext (authenticated as AAD).
    pub clear: &'a [u8],
    pub ciphertext: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Parses the binary form; never panics on any input (fuzzed: fuzz/fuzz_targets/open.rs).
    pub fn parse(b: &'a [u8]) -> Result<Self, OpenError> {
        if b.len() < 7 || &b[..4] != ENVELOPE_MAGIC {
            return Err(OpenError::Malformed);
        }
        let version = b[4];
        if version != ENVELOPE_VERSION {
            return Err(OpenError::UnknownVersion(version));
        }
        let kind = b[5];
        let kid_len = b[6] as usize;
        let head = 7 + kid_len + 16;
        if kid_len == 0 || b.len() < head + ENC_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let key_id = std::str::from_utf8(&b[7..7 + kid_len]).map_err(|_| OpenError::Malformed)?;
        if super::keys::validate_key_id(key_id).is_err() {
            return Err(OpenError::Malformed);
        }
        let mut session_id = [0u8; 16];
        session_id.copy_from_slice(&b[7 + kid_len..head]);
        Ok(Self {
            version,
            kind,
            key_id,
            session_id,
            enc: &b[head..head + ENC_LEN],
            clear: &b[..head + ENC_LEN],
            ciphertext: &b[head + ENC_LEN..],
        })
    }
}

fn info(key_id: &str, session_id: &[u8; 16]) -> Vec<u8> {
    [INFO_LABEL, key_id.as_bytes(), session_id].concat()
}

fn clear_part(kind: u8, key_id: &str, session_id: &[u8; 16], enc: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(7 + key_id.len() + 16 + enc.len());
    v.extend_from_slice(ENVELOPE_MAGIC);
    v.push(ENVELOPE_VERSION);
    v.push(kind);
    v.push(key_id.len() as u8);
    v.extend_from_slice(key_id.as_bytes());
    v.extend_from_slice(session_id);
    v.extend_from_slice(enc);
    v
}

/// Seals with the system's cryptographic RNG.
pub fn seal_capture(
    pk: &PublicKey,
    template: &Template,
    payload: &Payload,
) -> Result<SealedCapture, SealError> {
    seal_with_rng(pk, template, payload, &mut rand::rng())
}

/// Seals with a given RNG: deterministic test vectors only (feature `test-support`). Production seals
/// with [`seal_capture`].
#[cfg(feature = "test-support")]
pub fn seal_capture_with_rng(
    pk: &PublicKey,
    template: &Template,
    payload: &Payload,
    rng: &mut impl rand::CryptoRng,
) -> Result<SealedCapture, SealError> {
    seal_with_rng(pk, template, payload, rng)
}

fn seal_with_rng(
    pk: &PublicKey,
    template: &Template,
    payload: &Payload,
    rng: &mut impl rand::CryptoRng,
) -> Result<SealedCapture, SealError> {
    if payload.template_model != template.model_id() {
        return Err(SealError::Template(
            "payload names another model than the template",
        ));
    }
    let payload_json =
        Zeroizing::new(serde_json::to_vec(payload).map_err(|_| SealError::PayloadEncoding)?);
    seal_plaintexts(
        pk,
        &template.to_bytes(),
        &payload_json,
        payload.session_id,
        rng,
    )
}

/// Seals arbitrary plaintexts as a template and a payload: what anyone holding the public key can do.
/// Tests and fuzzing use it to show the opening side refuses well-sealed nonsense (feature
/// `test-support`).
#[cfg(feature = "test-support")]
pub fn seal_plaintexts_for_tests(
    pk: &PublicKey,
    template: &[u8],
    payload: &[u8],
    session_id: SessionId,
    rng: &mut impl rand::CryptoRng,
) -> Result<SealedCapture, SealError> {
    seal_plaintexts(pk, template, payload, session_id, rng)
}

fn seal_plaintexts(
    pk: &PublicKey,
    template_bytes: &[u8],
    payload_bytes: &[u8],
    session_id: SessionId,
    rng: &mut impl rand::CryptoRng,
) -> Result<SealedCapture, SealError> {
    let sid = session_id.as_bytes();
    let kid = pk.key_id();
    let (enc, mut ctx) = hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(
        &OpModeS::Base,
        pk.hpke(),
        &info(kid, sid),
        rng,
    )
    .map_err(|_| SealError::EncryptionFailed)?;
    let enc = enc.to_bytes();

    let mut t_env = clear_part(KIND_TEMPLATE, kid, sid, &enc);
    let t_ct = ctx
        .seal(template_bytes, &t_env)
        .map_err(|_| SealError::EncryptionFailed)?;
    t_env.extend_from_slice(&t_ct);

    let mut p_env = clear_part(KIND_PAYLOAD, kid, sid, &enc);
    let p_aad = [p_env.as_slice(), &Sha256::digest(&t_env)].concat();
    let p_ct = ctx
        .seal(payload_bytes, &p_aad)
        .map_err(|_| SealError::EncryptionFailed)?;
    p_env.extend_from_slice(&p_ct);

    Ok(SealedCapture {
        template: B64.encode(&t_env),
        payload: B64.encode(&p_env),
        session_id,
    })
}

fn decode(text: &str) -> Result<Vec<u8>, OpenError> {
    if text.len() > MAX_SEALED_TEXT {
        return Err(OpenError::Malformed);
    }
    B64.decode(text.trim()).map_err(|_| OpenError::Encoding)
}

/// Opens a capture as the bank's server does, checking in order: encoding and format, that template and
/// payload belong together, the key id, decryption, content, and the clock window at `now` (unix
/// seconds). Each failure is its own [`OpenError`].
pub fn open_capture(
    keyring: &ServerKeyring,
    template: &str,
    payload: &str,
    now: u64,
    policy: &OpenPolicy,
) -> Result<CaptureOpened, OpenError> {
    let (t_raw, p_raw) = (decode(template)?, decode(payload)?);
    let (t, p) = (Envelope::parse(&t_raw)?, Envelope::parse(&p_raw)?);
    if t.kind != KIND_TEMPLATE {
        return Err(OpenError::WrongKind("template"));
    }
    if p.kind != KIND_PAYLOAD {
        return Err(OpenError::WrongKind("payload"));
    }
    if t.key_id != p.key_id || t.session_id != p.session_id || t.enc != p.enc {
        return Err(OpenError::BindingMismatch);
    }
    let sk = keyring.private(t.key_id).ok_or(OpenError::UnknownKeyId)?;
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(t.enc)
        .map_err(|_| OpenError::DecryptionFailed)?;
    let mut ctx = hpke::setup_receiver::<Aead, Kdf, Kem>(
        &OpModeR::Base,
        sk,
        &enc,
        &info(t.key_id, &t.session_id),
    )
    .map_err(|_| OpenError::DecryptionFailed)?;
    let t_plain = Zeroizing::new(
        ctx.open(t.ciphertext, t.clear)
            .map_err(|_| OpenError::DecryptionFailed)?,
    );
    let p_aad = [p.clear, &Sha256::digest(&t_raw)].concat();
    let p_plain = Zeroizing::new(
        ctx.open(p.ciphertext, &p_aad)
            .map_err(|_| OpenError::DecryptionFailed)?,
    );

    let template = Template::from_bytes(&t_plain)?;
    let payload: Payload =
        serde_json::from_slice(&p_plain).map_err(|_| OpenError::PayloadFormat)?;
    if payload.v != PAYLOAD_VERSION {
        return Err(OpenError::UnknownVersion(payload.v.min(255) as u8));
    }
    if payload.session_id != SessionId::from_bytes(t.session_id)
        || payload.template_model != template.model_id()
    {
        return Err(OpenError::PayloadMismatch);
    }
    check_clock(&payload, now, policy)?;
    Ok(CaptureOpened {
        key_id: t.key_id.to_string(),
        session_id: SessionId::from_bytes(t.session_id),
        template,
        payload,
    })
}

fn check_clock(p: &Payload, now: u64, policy: &OpenPolicy) -> Result<(), OpenError> {
    if p.expires_at <= p.issued_at || p.expires_at - p.issued_at > policy.max_lifetime_secs {
        return Err(OpenError::TimestampInvalid);
    }
    if p.issued_at > now.saturating_add(policy.skew_secs) {
        return Err(OpenError::IssuedInFuture);
    }
    if now > p.expires_at {
        return Err(OpenError::Expired);
    }
    Ok(())
}
