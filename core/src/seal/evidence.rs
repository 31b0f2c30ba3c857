//! Evidence frames: a few JPEG frames sealed with the payload so the server can re-check the capture
//! with the same core (`crate::verify`, feature `capture`): the template frame, and for each challenge
//! the neutral frame before the action, the first frame of the action and the frame that returned to
//! neutral. Each is the face region with margin for the anti-spoof crop, scaled down.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// At most this many frames in a payload (1 + 3 per challenge; the SDK asks at most 8 challenges).
pub const MAX_EVIDENCE_FRAMES: usize = 25;
/// At most this many bytes per JPEG (the SDK's frames are 10–40 KB).
pub const MAX_EVIDENCE_JPEG: usize = 192 * 1024;

/// What a frame shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameRole {
    /// The frame the template was computed from.
    Template,
    /// The last neutral frame before a challenge's action.
    Neutral,
    /// The first frame where the action was seen.
    Action,
    /// The frame where the face came back to neutral and the challenge passed.
    Return,
}

/// One sealed frame. Its bytes are the person's face: zeroized on drop, never logged.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceFrame {
    pub role: FrameRole,
    /// Index into `liveness.challenges` for `neutral`, `action` and `return`; `null` for `template`.
    pub challenge: Option<u32>,
    /// Frame number and time (ms) on the session's clock.
    pub frame: u64,
    pub t_ms: u64,
    /// JPEG bytes (standard base64 in JSON).
    #[serde(serialize_with = "ser_b64", deserialize_with = "de_b64")]
    pub jpeg: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for EvidenceFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceFrame")
            .field("role", &self.role)
            .field("challenge", &self.challenge)
            .field("frame", &self.frame)
            .field("jpeg_bytes", &self.jpeg.len())
            .finish()
    }
}

fn ser_b64<S: Serializer>(b: &zeroize::Zeroizing<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&B64.encode(b.as_slice()))
}

fn de_b64<'de, D: Deserializer<'de>>(d: D) -> Result<zeroize::Zeroizing<Vec<u8>>, D::Error> {
    let text = zeroize::Zeroizing::new(String::deserialize(d)?);
    // Checked before decoding: base64 is 4/3 of the bytes.
    if text.len() > MAX_EVIDENCE_JPEG / 3 * 4 + 4 {
        return Err(serde::de::Error::custom("evidence frame too large"));
    }
    B64.decode(text.as_bytes())
        .map(zeroize::Zeroizing::new)
        .map_err(|_| serde::de::Error::custom("evidence frame is not base64"))
}

impl EvidenceFrame {
    /// Shape checks that need no decoding; `challenges` is the number of passed challenges.
    pub fn check(&self, challenges: usize) -> Result<(), &'static str> {
        if self.jpeg.len() > MAX_EVIDENCE_JPEG || !self.jpeg.starts_with(&[0xFF, 0xD8]) {
            return Err("evidence frame is not a JPEG of the allowed size");
        }
        match (self.role, self.challenge) {
            (FrameRole::Template, None) => Ok(()),
            (FrameRole::Template, Some(_)) => Err("template frame names a challenge"),
            (_, Some(i)) if (i as usize) < challenges => Ok(()),
            _ => Err("evidence frame names no passed challenge"),
        }
    }
}
