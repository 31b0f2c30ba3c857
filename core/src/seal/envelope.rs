//! Sealed envelopes: the binary layout, HPKE sealing of a capture and the server's opening checks.
//!
//! Envelope (then base64url without padding):
//! `"SIDE" | version u8 (=2) | kind u8 (1 template, 2 payload) | key id length u8 | key id |
//!  session id [16] | token nonce length u8 (0 or 16) | token nonce | enc [32] | AEAD ciphertext with tag`
//!
//! One HPKE context per capture (info = `"smartid-capture-v2" | key id | session id | token nonce`): the
//! template is message 0 with AAD = its own clear part, the payload is message 1 with AAD = its clear
//! part followed by SHA-256 of the template envelope. So neither opens without its own counterpart, and
//! a capture made for one server-issued token never opens as another's.
//!
//! Between the two messages the device may ask the platform for an attestation whose request hash
//! binds it to this capture: SHA-256(token nonce | session id | SHA-256(template envelope)).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::keys::{Kem, PublicKey, ServerKeyring};
use super::payload::{PAYLOAD_VERSION, Payload, SessionId};
use super::template::Template;
use super::token::TokenNonce;
use super::{OpenError, SealError};

type Aead = hpke::aead::AesGcm256;
type Kdf = hpke::kdf::HkdfSha256;

pub const ENVELOPE_MAGIC: &[u8; 4] = b"SIDE";
pub const ENVELOPE_VERSION: u8 = 2;
pub const KIND_TEMPLATE: u8 = 1;
pub const KIND_PAYLOAD: u8 = 2;
const INFO_LABEL: &[u8] = b"smartid-capture-v2";
const ENC_LEN: usize = 32;
const TAG_LEN: usize = 16;
const NONCE_LEN: usize = 16;
/// Far above a real template (~1 KB for 128 values, 22 KB of text at the 4096-value maximum).
pub const MAX_TEMPLATE_TEXT: usize = 64 * 1024;
/// A payload with its evidence frames is ~100–200 KB of text (docs/payload-format.md, size budget);
/// bounds what a server decodes.
pub const MAX_PAYLOAD_TEXT: usize = 1024 * 1024;
/// Both strings together: what a server's body limit must leave room for.
pub const MAX_SEALED_TEXT: usize = MAX_TEMPLATE_TEXT + MAX_PAYLOAD_TEXT;

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
    /// The server-issued token's nonce the capture was sealed with (equal in both headers and the
    /// payload), if it was made with one.
    pub token_nonce: Option<TokenNonce>,
    pub template: Template,
    pub payload: Payload,
    /// The request hash an attestation of this capture must carry ([`attestation_request_hash`]).
    pub attestation_request_hash: [u8; 32],
}

/// SHA-256(token nonce | session id | SHA-256(decoded template envelope)): what the device passes to
/// Play Integrity (`requestHash`) or App Attest (`clientDataHash`), so an attestation cannot be moved to
/// another capture. Without a token the nonce part is empty.
pub fn attestation_request_hash(
    token_nonce: Option<&TokenNonce>,
    session_id: &SessionId,
    template_envelope: &[u8],
) -> [u8; 32] {
    let mut h = Sha256::new();
    if let Some(n) = token_nonce {
        h.update(n);
    }
    h.update(session_id.as_bytes());
    h.update(Sha256::digest(template_envelope));
    h.finalize().into()
}

/// Parsed clear part of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub version: u8,
    pub kind: u8,
    pub key_id: &'a str,
    pub session_id: [u8; 16],
    pub token_nonce: Option<TokenNonce>,
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
        let sid_end = 7 + kid_len + 16;
        if kid_len == 0 || b.len() < sid_end + 1 {
            return Err(OpenError::Malformed);
        }
        let nonce_len = b[sid_end] as usize;
        if nonce_len != 0 && nonce_len != NONCE_LEN {
            return Err(OpenError::Malformed);
        }
        let head = sid_end + 1 + nonce_len;
        if b.len() < head + ENC_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let key_id = std::str::from_utf8(&b[7..7 + kid_len]).map_err(|_| OpenError::Malformed)?;
        if super::keys::validate_key_id(key_id).is_err() {
            return Err(OpenError::Malformed);
        }
        let mut session_id = [0u8; 16];
        session_id.copy_from_slice(&b[7 + kid_len..sid_end]);
        let token_nonce = (nonce_len == NONCE_LEN).then(|| {
            let mut n = [0u8; NONCE_LEN];
            n.copy_from_slice(&b[sid_end + 1..head]);
            n
        });
        Ok(Self {
            version,
            kind,
            key_id,
            session_id,
            token_nonce,
            enc: &b[head..head + ENC_LEN],
            clear: &b[..head + ENC_LEN],
            ciphertext: &b[head + ENC_LEN..],
        })
    }
}

fn info(key_id: &str, session_id: &[u8; 16], nonce: Option<&TokenNonce>) -> Vec<u8> {
    let nonce: &[u8] = nonce.map_or(&[], |n| n);
    [INFO_LABEL, key_id.as_bytes(), session_id, nonce].concat()
}

fn clear_part(
    kind: u8,
    key_id: &str,
    session_id: &[u8; 16],
    nonce: Option<&TokenNonce>,
    enc: &[u8],
) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + key_id.len() + 16 + NONCE_LEN + enc.len());
    v.extend_from_slice(ENVELOPE_MAGIC);
    v.push(ENVELOPE_VERSION);
    v.push(kind);
    v.push(key_id.len() as u8);
    v.extend_from_slice(key_id.as_bytes());
    v.extend_from_slice(session_id);
    match nonce {
        Some(n) => {
            v.push(NONCE_LEN as u8);
            v.extend_from_slice(n);
        }
        None => v.push(0),
    }
    v.extend_from_slice(enc);
    v
}

/// Asks the platform for an attestation of a capture, given its request hash
/// ([`attestation_request_hash`]); `None` when there is none.
pub type Attest<'a> = &'a mut dyn FnMut(&[u8; 32]) -> Option<String>;

/// Seals with the system's cryptographic RNG, without an attestation (the payload's
/// `environment.attestation` is sealed as it is).
pub fn seal_capture(
    pk: &PublicKey,
    template: &Template,
    payload: &Payload,
) -> Result<SealedCapture, SealError> {
    seal_with_rng(pk, template, payload, &mut |_| None, &mut rand::rng())
}

/// Seals with the system's cryptographic RNG; once the template is sealed, `attest` is asked for an
/// attestation bound to this capture, which goes into the payload's `environment.attestation`.
pub fn seal_capture_attested(
    pk: &PublicKey,
    template: &Template,
    payload: &Payload,
    attest: Attest<'_>,
) -> Result<SealedCapture, SealError> {
    seal_with_rng(pk, template, payload, attest, &mut rand::rng())
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
    seal_with_rng(pk, template, payload, &mut |_| None, rng)
}

fn seal_with_rng(
    pk: &PublicKey,
    template: &Template,
    payload: &Payload,
    attest: Attest<'_>,
    rng: &mut impl rand::CryptoRng,
) -> Result<SealedCapture, SealError> {
    if payload.template_model != template.model_id() {
        return Err(SealError::Template(
            "payload names another model than the template",
        ));
    }
    let nonce = payload.capture_token.map(|n| *n.as_bytes());
    let mut sealer = Sealer::start(pk, payload.session_id, nonce, rng)?;
    let template_env = sealer.seal_template(&template.to_bytes())?;
    let request_hash = attestation_request_hash(nonce.as_ref(), &payload.session_id, &template_env);
    let mut payload = payload.clone();
    if let Some(token) = attest(&request_hash) {
        payload.environment.attestation = Some(token);
    }
    let payload_json =
        Zeroizing::new(serde_json::to_vec(&payload).map_err(|_| SealError::PayloadEncoding)?);
    let payload_env = sealer.seal_payload(&payload_json, &template_env)?;
    Ok(SealedCapture {
        template: B64.encode(&template_env),
        payload: B64.encode(&payload_env),
        session_id: payload.session_id,
    })
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
    token_nonce: Option<TokenNonce>,
    rng: &mut impl rand::CryptoRng,
) -> Result<SealedCapture, SealError> {
    let mut sealer = Sealer::start(pk, session_id, token_nonce, rng)?;
    let template_env = sealer.seal_template(template)?;
    let payload_env = sealer.seal_payload(payload, &template_env)?;
    Ok(SealedCapture {
        template: B64.encode(&template_env),
        payload: B64.encode(&payload_env),
        session_id,
    })
}

/// One capture's HPKE sender context: the template first, then the payload bound to it.
struct Sealer {
    ctx: hpke::aead::AeadCtxS<Aead, Kdf, Kem>,
    key_id: String,
    session_id: SessionId,
    nonce: Option<TokenNonce>,
    enc: Vec<u8>,
}

impl Sealer {
    fn start(
        pk: &PublicKey,
        session_id: SessionId,
        nonce: Option<TokenNonce>,
        rng: &mut impl rand::CryptoRng,
    ) -> Result<Self, SealError> {
        let kid = pk.key_id();
        let (enc, ctx) = hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(
            &OpModeS::Base,
            pk.hpke(),
            &info(kid, session_id.as_bytes(), nonce.as_ref()),
            rng,
        )
        .map_err(|_| SealError::EncryptionFailed)?;
        Ok(Self {
            ctx,
            key_id: kid.to_string(),
            session_id,
            nonce,
            enc: enc.to_bytes().to_vec(),
        })
    }

    fn clear(&self, kind: u8) -> Vec<u8> {
        clear_part(
            kind,
            &self.key_id,
            self.session_id.as_bytes(),
            self.nonce.as_ref(),
            &self.enc,
        )
    }

    /// Message 0: the decoded template envelope.
    fn seal_template(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut env = self.clear(KIND_TEMPLATE);
        let ct = self
            .ctx
            .seal(plaintext, &env)
            .map_err(|_| SealError::EncryptionFailed)?;
        env.extend_from_slice(&ct);
        Ok(env)
    }

    /// Message 1: the decoded payload envelope, its AAD bound to the template envelope.
    fn seal_payload(
        &mut self,
        plaintext: &[u8],
        template_env: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let mut env = self.clear(KIND_PAYLOAD);
        let aad = [env.as_slice(), &Sha256::digest(template_env)].concat();
        let ct = self
            .ctx
            .seal(plaintext, &aad)
            .map_err(|_| SealError::EncryptionFailed)?;
        env.extend_from_slice(&ct);
        Ok(env)
    }
}

fn decode(text: &str, limit: usize) -> Result<Vec<u8>, OpenError> {
    if text.len() > limit {
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
    let (t_raw, p_raw) = (
        decode(template, MAX_TEMPLATE_TEXT)?,
        decode(payload, MAX_PAYLOAD_TEXT)?,
    );
    let (t, p) = (Envelope::parse(&t_raw)?, Envelope::parse(&p_raw)?);
    if t.kind != KIND_TEMPLATE {
        return Err(OpenError::WrongKind("template"));
    }
    if p.kind != KIND_PAYLOAD {
        return Err(OpenError::WrongKind("payload"));
    }
    if t.key_id != p.key_id
        || t.session_id != p.session_id
        || t.token_nonce != p.token_nonce
        || t.enc != p.enc
    {
        return Err(OpenError::BindingMismatch);
    }
    let sk = keyring.private(t.key_id).ok_or(OpenError::UnknownKeyId)?;
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(t.enc)
        .map_err(|_| OpenError::DecryptionFailed)?;
    let mut ctx = hpke::setup_receiver::<Aead, Kdf, Kem>(
        &OpModeR::Base,
        sk,
        &enc,
        &info(t.key_id, &t.session_id, t.token_nonce.as_ref()),
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
    let session_id = SessionId::from_bytes(t.session_id);
    if payload.session_id != session_id
        || payload.template_model != template.model_id()
        || payload.capture_token.map(|n| *n.as_bytes()) != t.token_nonce
    {
        return Err(OpenError::PayloadMismatch);
    }
    payload.validate().map_err(|_| OpenError::PayloadFormat)?;
    check_clock(&payload, now, policy)?;
    Ok(CaptureOpened {
        key_id: t.key_id.to_string(),
        session_id,
        token_nonce: t.token_nonce,
        attestation_request_hash: attestation_request_hash(
            t.token_nonce.as_ref(),
            &session_id,
            &t_raw,
        ),
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
