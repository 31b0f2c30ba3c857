//! Encryption at rest: every template and reference photo the server stores is AES-256-GCM encrypted
//! with a data key from a key file, bound (AAD) to the row it belongs to, so a ciphertext copied to
//! another user's row does not decrypt.
//!
//! Key file: one key per line, `SIDDK1:<key id>:<base64url 32 bytes>`, `#` comments allowed. The first
//! key encrypts; every key decrypts (rotation: put a new key first, run `smartid-server rotate-data-key`,
//! then remove the old one). Stored form: `<key id>` in its own column, `base64(nonce[12] | ciphertext)`.

use std::collections::HashMap;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use rand::Rng as _;
use zeroize::Zeroizing;

const PREFIX: &str = "SIDDK1";
const NONCE_LEN: usize = 12;
const AAD_LABEL: &[u8] = b"smartid-at-rest-v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AtRestError {
    #[error("data key file: {0}")]
    KeyFile(String),
    #[error("stored record uses data key '{0}', which is not in the data key file")]
    UnknownKey(String),
    #[error("stored record is corrupt or belongs to another row")]
    Corrupt,
}

/// What a stored ciphertext is bound to.
#[derive(Debug, Clone, Copy)]
pub struct RowBinding<'a> {
    /// `template` or `photo`.
    pub kind: &'static str,
    pub channel: &'a str,
    pub user: &'a str,
}

impl<'a> RowBinding<'a> {
    /// A user's enrolled template.
    pub fn template(channel: &'a str, user: &'a str) -> Self {
        Self {
            kind: "template",
            channel,
            user,
        }
    }

    /// A user's reference photo.
    pub fn photo(channel: &'a str, user: &'a str) -> Self {
        Self {
            kind: "photo",
            channel,
            user,
        }
    }

    fn aad(&self) -> Vec<u8> {
        // Length-prefixed so "ab"+"c" and "a"+"bc" differ.
        let mut aad = AAD_LABEL.to_vec();
        for part in [self.kind, self.channel, self.user] {
            aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
        aad
    }
}

/// A sealed record: the key id and the stored text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub text: String,
}

struct DataKey {
    id: String,
    cipher: Aes256Gcm,
}

/// The server's data keys (the first one encrypts).
pub struct DataKeyring {
    keys: Vec<DataKey>,
    by_id: HashMap<String, usize>,
}

impl std::fmt::Debug for DataKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        write!(f, "DataKeyring({ids:?})")
    }
}

impl DataKeyring {
    /// Parses a key file's text.
    pub fn parse(text: &str) -> Result<Self, AtRestError> {
        let mut keys = Vec::new();
        let mut by_id = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| AtRestError::KeyFile(format!("line {}: {why}", n + 1));
            let mut parts = line.split(':');
            let (Some(PREFIX), Some(id), Some(b64), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad("expected SIDDK1:<key id>:<base64url key>"));
            };
            if smartid_core::seal::keys::validate_key_id(id).is_err() {
                return Err(bad("key id must be 1 to 64 of [A-Za-z0-9._-]"));
            }
            let bytes = Zeroizing::new(
                B64URL
                    .decode(b64)
                    .map_err(|_| bad("key is not base64url"))?,
            );
            if bytes.len() != 32 {
                return Err(bad("key must be 32 bytes"));
            }
            let cipher =
                Aes256Gcm::new_from_slice(&bytes).map_err(|_| bad("key must be 32 bytes"))?;
            if by_id.insert(id.to_string(), keys.len()).is_some() {
                return Err(bad("duplicate key id"));
            }
            keys.push(DataKey {
                id: id.to_string(),
                cipher,
            });
        }
        if keys.is_empty() {
            return Err(AtRestError::KeyFile("no key in the file".into()));
        }
        Ok(Self { keys, by_id })
    }

    pub fn from_file(path: &Path) -> Result<Self, AtRestError> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            AtRestError::KeyFile(format!("cannot read {}: {}", path.display(), e.kind()))
        })?);
        Self::parse(&text)
    }

    /// A new random key line for a key file (zeroized when dropped).
    pub fn generate_line(id: &str) -> Result<Zeroizing<String>, AtRestError> {
        if smartid_core::seal::keys::validate_key_id(id).is_err() {
            return Err(AtRestError::KeyFile(
                "key id must be 1 to 64 of [A-Za-z0-9._-]".into(),
            ));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut *key);
        Ok(Zeroizing::new(format!(
            "{PREFIX}:{id}:{}",
            B64URL.encode(*key)
        )))
    }

    /// The key that encrypts new records.
    pub fn primary_id(&self) -> &str {
        // `parse` refuses an empty file.
        self.keys.first().map_or("", |k| k.id.as_str())
    }

    pub fn seal(&self, plaintext: &[u8], row: RowBinding<'_>) -> Result<Sealed, AtRestError> {
        let key = self
            .keys
            .first()
            .ok_or_else(|| AtRestError::KeyFile("no key".into()))?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = row.aad();
        let ct = key
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| AtRestError::Corrupt)?;
        Ok(Sealed {
            key_id: key.id.clone(),
            text: B64.encode([nonce.as_slice(), &ct].concat()),
        })
    }

    pub fn open(
        &self,
        key_id: &str,
        text: &str,
        row: RowBinding<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, AtRestError> {
        let key = self
            .by_id
            .get(key_id)
            .and_then(|i| self.keys.get(*i))
            .ok_or_else(|| AtRestError::UnknownKey(key_id.to_string()))?;
        let raw = B64.decode(text).map_err(|_| AtRestError::Corrupt)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(AtRestError::Corrupt);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| AtRestError::Corrupt)?;
        let aad = row.aad();
        key.cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad: &aad })
            .map(Zeroizing::new)
            .map_err(|_| AtRestError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn ring(ids: &[&str]) -> (DataKeyring, String) {
        let text: Vec<String> = ids
            .iter()
            .map(|id| DataKeyring::generate_line(id).unwrap().to_string())
            .collect();
        let text = text.join("\n");
        (DataKeyring::parse(&text).unwrap(), text)
    }

    const ROW: RowBinding<'static> = RowBinding {
        kind: "template",
        channel: "bank-a",
        user: "alice",
    };

    #[test]
    fn round_trip_and_binding() {
        let (ring, _) = ring(&["k1"]);
        let sealed = ring.seal(b"secret template", ROW).unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert!(!sealed.text.contains("secret"));
        assert_eq!(
            &*ring.open("k1", &sealed.text, ROW).unwrap(),
            b"secret template"
        );
        // Copied to another user's row, or read as another kind: refused.
        for other in [
            RowBinding {
                user: "mallory",
                ..ROW
            },
            RowBinding {
                channel: "bank-b",
                ..ROW
            },
            RowBinding {
                kind: "photo",
                ..ROW
            },
        ] {
            assert_eq!(
                ring.open("k1", &sealed.text, other),
                Err(AtRestError::Corrupt)
            );
        }
        // Two seals of the same plaintext differ (random nonce).
        assert_ne!(
            ring.seal(b"secret template", ROW).unwrap().text,
            sealed.text
        );
    }

    #[test]
    fn rotation_reads_old_keys_and_writes_with_the_first() {
        let (old, old_text) = ring(&["old"]);
        let sealed = old.seal(b"t", ROW).unwrap();
        let new_line = DataKeyring::generate_line("new").unwrap();
        let both = DataKeyring::parse(&format!("{}\n{old_text}", *new_line)).unwrap();
        assert_eq!(both.primary_id(), "new");
        assert_eq!(&*both.open("old", &sealed.text, ROW).unwrap(), b"t");
        assert_eq!(both.seal(b"t", ROW).unwrap().key_id, "new");
        let only_new = DataKeyring::parse(&new_line).unwrap();
        assert_eq!(
            only_new.open("old", &sealed.text, ROW),
            Err(AtRestError::UnknownKey("old".into()))
        );
    }

    #[test]
    fn bad_key_files_and_records_are_refused() {
        for bad in [
            "",
            "# only a comment",
            "SIDDK1:k1",
            "SIDDK2:k1:AAAA",
            "SIDDK1:k 1:AAAA",
            "SIDDK1:k1:not*base64",
            "SIDDK1:k1:AAAA",
        ] {
            assert!(DataKeyring::parse(bad).is_err(), "{bad:?}");
        }
        let line = DataKeyring::generate_line("k1").unwrap();
        assert!(DataKeyring::parse(&format!("{}\n{}", *line, *line)).is_err());
        let (ring, _) = ring(&["k1"]);
        for text in ["", "!!!", "AAAA", &B64.encode([0u8; 40])] {
            assert_eq!(ring.open("k1", text, ROW), Err(AtRestError::Corrupt));
        }
        let sealed = ring.seal(b"t", ROW).unwrap();
        let mut raw = B64.decode(&sealed.text).unwrap();
        raw[20] ^= 1;
        assert_eq!(
            ring.open("k1", &B64.encode(raw), ROW),
            Err(AtRestError::Corrupt)
        );
    }
}
