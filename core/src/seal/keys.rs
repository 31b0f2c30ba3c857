//! Server key pairs and their text forms. Only the public key ever goes into an app; private keys stay
//! on the server and are zeroized when dropped.
//!
//! Text forms: `SIDPK1:<key id>:<base64url public key>` and `SIDSK1:<key id>:<base64url private key>`.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hpke::{Deserializable, Kem as _, Serializable};
use zeroize::Zeroizing;

use super::SealError;

pub type Kem = hpke::kem::X25519HkdfSha256;
pub type HpkePublicKey = <Kem as hpke::Kem>::PublicKey;
pub type HpkePrivateKey = <Kem as hpke::Kem>::PrivateKey;

const PK_PREFIX: &str = "SIDPK1";
const SK_PREFIX: &str = "SIDSK1";

/// Key ids route a capture to the right private key during rotation: 1–64 of `[A-Za-z0-9._-]`.
pub fn validate_key_id(kid: &str) -> Result<(), SealError> {
    let ok = !kid.is_empty()
        && kid.len() <= 64
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(SealError::InvalidKeyId)
    }
}

#[derive(Clone)]
pub struct PublicKey {
    kid: String,
    pk: HpkePublicKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.kid)
    }
}

impl PublicKey {
    pub fn from_bytes(kid: &str, bytes: &[u8]) -> Result<Self, SealError> {
        validate_key_id(kid)?;
        let pk = HpkePublicKey::from_bytes(bytes).map_err(|_| SealError::InvalidPublicKey)?;
        // All-zero and other low-order points would make the shared secret predictable.
        if bytes.iter().all(|b| *b == 0) {
            return Err(SealError::InvalidPublicKey);
        }
        Ok(Self {
            kid: kid.into(),
            pk,
        })
    }

    pub fn parse(text: &str) -> Result<Self, SealError> {
        let mut parts = text.trim().split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(PK_PREFIX), Some(kid), Some(b64), None) => {
                let bytes = B64.decode(b64).map_err(|_| SealError::InvalidPublicKey)?;
                Self::from_bytes(kid, &bytes)
            }
            _ => Err(SealError::InvalidPublicKey),
        }
    }

    pub fn to_text(&self) -> String {
        format!(
            "{PK_PREFIX}:{}:{}",
            self.kid,
            B64.encode(self.pk.to_bytes())
        )
    }

    pub fn key_id(&self) -> &str {
        &self.kid
    }

    pub(crate) fn hpke(&self) -> &HpkePublicKey {
        &self.pk
    }
}

/// A server key pair (private key zeroized on drop by the hpke crate).
pub struct KeyPair {
    kid: String,
    sk: HpkePrivateKey,
    pk: HpkePublicKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyPair({})", self.kid)
    }
}

impl KeyPair {
    pub fn generate(kid: &str) -> Result<Self, SealError> {
        validate_key_id(kid)?;
        let (sk, pk) = Kem::gen_keypair_with_rng(&mut rand::rng());
        Ok(Self {
            kid: kid.into(),
            sk,
            pk,
        })
    }

    /// Deterministic key pair from input keying material (RFC 9180 DeriveKeyPair): test vectors only
    /// (feature `test-support`).
    #[cfg(feature = "test-support")]
    pub fn derive(kid: &str, ikm: &[u8]) -> Result<Self, SealError> {
        validate_key_id(kid)?;
        let (sk, pk) = Kem::derive_keypair(ikm);
        Ok(Self {
            kid: kid.into(),
            sk,
            pk,
        })
    }

    pub fn parse(text: &str) -> Result<Self, SealError> {
        let text = Zeroizing::new(text.trim().to_string());
        let mut parts = text.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(SK_PREFIX), Some(kid), Some(b64), None) => {
                validate_key_id(kid)?;
                let bytes =
                    Zeroizing::new(B64.decode(b64).map_err(|_| SealError::InvalidPrivateKey)?);
                let sk =
                    HpkePrivateKey::from_bytes(&bytes).map_err(|_| SealError::InvalidPrivateKey)?;
                let pk = Kem::sk_to_pk(&sk);
                Ok(Self {
                    kid: kid.into(),
                    sk,
                    pk,
                })
            }
            _ => Err(SealError::InvalidPrivateKey),
        }
    }

    /// The private key as text, for the server's secret store. Zeroized when dropped.
    /// The `SIDSK1:` text. Every buffer that holds key material (the raw bytes, the base64, the
    /// text) is zeroized: the text is built at its final capacity, so it never reallocates and leaves
    /// a copy behind.
    pub fn private_text(&self) -> Zeroizing<String> {
        let bytes = Zeroizing::new(self.sk.to_bytes().to_vec());
        let mut encoded = Zeroizing::new(String::with_capacity(44));
        B64.encode_string(&*bytes, &mut encoded);
        let mut text = Zeroizing::new(String::with_capacity(
            SK_PREFIX.len() + self.kid.len() + encoded.len() + 2,
        ));
        text.push_str(SK_PREFIX);
        text.push(':');
        text.push_str(&self.kid);
        text.push(':');
        text.push_str(&encoded);
        text
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            kid: self.kid.clone(),
            pk: self.pk.clone(),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.kid
    }
}

/// The private keys a server accepts, by key id (old and new during a rotation).
#[derive(Default)]
pub struct ServerKeyring {
    keys: HashMap<String, KeyPair>,
}

impl ServerKeyring {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, key: KeyPair) {
        self.keys.insert(key.kid.clone(), key);
    }

    pub fn with(mut self, key: KeyPair) -> Self {
        self.add(key);
        self
    }

    pub(crate) fn private(&self, kid: &str) -> Option<&HpkePrivateKey> {
        self.keys.get(kid).map(|k| &k.sk)
    }
}
