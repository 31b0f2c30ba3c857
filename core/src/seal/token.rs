//! Capture tokens: a one-time ticket the bank's server issues for one user's capture.
//!
//! The server keeps the token's record (channel, user, expiry, used or not); the token text carries
//! what the SDK needs: the nonce it binds into the sealed envelope (HPKE info and the clear header) and
//! the payload, the expiry, and the challenges the server chose. The device cannot change what the
//! server recorded, so a token proves "this capture was started for this user, once, recently, with
//! these challenges"; it proves nothing about the device (that is attestation's job).
//!
//! Text form: `SIDCT1:` + base64url (no padding) of
//! `nonce [16] | expires_at u64 LE | n u8 (0..=8) | n challenge codes u8`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::liveness::active::ChallengeKind;

const PREFIX: &str = "SIDCT1:";
/// At most this many challenges in a token (the SDK's own draw asks 1–3).
pub const MAX_TOKEN_CHALLENGES: usize = 8;
const MAX_TOKEN_TEXT: usize = 128;

/// A token's nonce: 16 random bytes from the server's CSPRNG, lowercase hex in JSON.
pub type TokenNonce = [u8; 16];

/// A parsed capture token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureToken {
    pub nonce: TokenNonce,
    /// Unix seconds (server clock) after which the server refuses captures made with it.
    pub expires_at: u64,
    /// The challenges the server drew, in order; empty = the SDK draws its own.
    pub challenges: Vec<ChallengeKind>,
}

/// Why a token text was refused (the SDK reports it as a configuration error, 4001).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("capture token is not a SIDCT1 token")]
    Format,
    #[error("capture token names an unknown challenge")]
    UnknownChallenge,
    #[error("capture token has too many challenges")]
    TooManyChallenges,
}

fn challenge_code(k: ChallengeKind) -> u8 {
    match k {
        ChallengeKind::Blink => 1,
        ChallengeKind::TurnLeft => 2,
        ChallengeKind::TurnRight => 3,
        ChallengeKind::LookUp => 4,
        ChallengeKind::Smile => 5,
    }
}

fn challenge_from_code(c: u8) -> Option<ChallengeKind> {
    ChallengeKind::ALL
        .into_iter()
        .find(|k| challenge_code(*k) == c)
}

impl CaptureToken {
    /// The token's text form (what the bank's backend hands the app).
    pub fn to_text(&self) -> Result<String, TokenError> {
        if self.challenges.len() > MAX_TOKEN_CHALLENGES {
            return Err(TokenError::TooManyChallenges);
        }
        let mut b = Vec::with_capacity(25 + self.challenges.len());
        b.extend_from_slice(&self.nonce);
        b.extend_from_slice(&self.expires_at.to_le_bytes());
        b.push(self.challenges.len() as u8);
        b.extend(self.challenges.iter().map(|k| challenge_code(*k)));
        Ok(format!("{PREFIX}{}", B64.encode(b)))
    }

    /// Parses a token text; never panics (fuzzed: fuzz/fuzz_targets/parsers.rs). Nothing may follow
    /// the challenge codes.
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        let text = text.trim();
        if text.len() > MAX_TOKEN_TEXT {
            return Err(TokenError::Format);
        }
        let body = text.strip_prefix(PREFIX).ok_or(TokenError::Format)?;
        let b = B64.decode(body).map_err(|_| TokenError::Format)?;
        if b.len() < 25 {
            return Err(TokenError::Format);
        }
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(&b[..16]);
        let mut exp = [0u8; 8];
        exp.copy_from_slice(&b[16..24]);
        let n = b[24] as usize;
        if n > MAX_TOKEN_CHALLENGES {
            return Err(TokenError::TooManyChallenges);
        }
        if b.len() != 25 + n {
            return Err(TokenError::Format);
        }
        let challenges = b[25..]
            .iter()
            .map(|c| challenge_from_code(*c).ok_or(TokenError::UnknownChallenge))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            nonce,
            expires_at: u64::from_le_bytes(exp),
            challenges,
        })
    }

    pub fn nonce_hex(&self) -> String {
        hex::encode(self.nonce)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let t = CaptureToken {
            nonce: [7; 16],
            expires_at: 1_800_000_000,
            challenges: vec![ChallengeKind::TurnLeft, ChallengeKind::Blink],
        };
        let text = t.to_text().unwrap();
        assert!(text.starts_with("SIDCT1:"));
        assert_eq!(CaptureToken::parse(&text).unwrap(), t);
        assert_eq!(CaptureToken::parse("SIDCT1:AAAA"), Err(TokenError::Format));
        assert_eq!(
            CaptureToken::parse(&text.replace("SIDCT1", "SIDCT2")),
            Err(TokenError::Format)
        );
        // A trailing byte, an unknown challenge code, too many challenges.
        let mut raw = B64.decode(&text[7..]).unwrap();
        raw.push(1);
        let extra = format!("SIDCT1:{}", B64.encode(&raw));
        assert_eq!(CaptureToken::parse(&extra), Err(TokenError::Format));
        raw.pop();
        *raw.last_mut().unwrap() = 9;
        let unknown = format!("SIDCT1:{}", B64.encode(&raw));
        assert_eq!(
            CaptureToken::parse(&unknown),
            Err(TokenError::UnknownChallenge)
        );
        raw[24] = 9;
        let many = format!("SIDCT1:{}", B64.encode(&raw));
        assert_eq!(
            CaptureToken::parse(&many),
            Err(TokenError::TooManyChallenges)
        );
    }
}
