//! Channels: who may call the API (a bank or one of its apps), by API key, and each channel's policy.
//!
//! The channels file (TOML) holds only SHA-256 hashes of API keys: keys are 32 random bytes shown once
//! by `smartid-server add-api-key`, so a plain hash is enough (no password stretching needed for
//! high-entropy secrets) and a leaked file does not let anyone call the API. Users are scoped to their
//! channel: the same `User` in two channels is two enrollments.
//!
//! ```toml
//! [[channel]]
//! id = "bank-a"
//! api_keys = ["<sha256 hex of the key>"]
//! liveness = "active"        # weakest accepted liveness: any | active | passive | both
//! allow_test_mode = false    # refuse captures replayed with fixed challenges (desktop harness)
//! duplicates = "report"      # off | report | refuse: the same face enrolled under another User
//! reference_photo = "off"    # off | report | require: compare with the photo on file
//! rate_per_sec = 20          # per API key, sustained
//! burst = 40                 # per API key, at once
//! capture_token = "accept"   # off | accept | require: server-issued tokens (POST /api/kyc/session)
//! token_ttl_secs = 300       # how long an issued token is valid
//! token_challenges = 2       # challenges the server draws into a token (0: the SDK draws)
//! evidence = "require"       # off | report | require: re-verify the evidence frames
//! attestation = "report"     # ignore | report | require: Play Integrity / App Attest
//! ```

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use smartid_core::LivenessMode;

/// Prefix of API keys, so a leaked one is recognisable in logs and secret scanners.
const API_KEY_PREFIX: &str = "sidk_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LivenessPolicy {
    /// Any liveness the SDK ran.
    Any,
    /// Active challenges were done (`active` or `both`).
    Active,
    /// The anti-spoof model ran (`passive` or `both`).
    Passive,
    /// Both.
    Both,
}

impl LivenessPolicy {
    pub fn accepts(self, mode: LivenessMode) -> bool {
        use LivenessMode as M;
        match self {
            LivenessPolicy::Any => true,
            LivenessPolicy::Active => matches!(mode, M::Active | M::Both),
            LivenessPolicy::Passive => matches!(mode, M::Passive | M::Both),
            LivenessPolicy::Both => mode == M::Both,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatesPolicy {
    Off,
    /// Enroll, and list the other users with the same face (`UserIDsOfPreviousRegistrants`).
    Report,
    /// Refuse the enrollment (407) and list them.
    Refuse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoPolicy {
    Off,
    /// Compare with the photo on file when there is one and report the result.
    Report,
    /// Refuse (407) without a photo on file or when it is not the same person.
    Require,
}

/// Server-issued capture tokens (`POST /api/kyc/session`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPolicy {
    /// Tokens are neither issued nor accepted.
    Off,
    /// A capture with a token must satisfy it; one without is accepted (the guide's call as written).
    Accept,
    /// Only captures made with a token this server issued for the user (407 `capture_token_required`).
    Require,
}

/// Re-verification of the evidence frames with the server's models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidencePolicy {
    Off,
    /// Re-verify and report the verdict; accept whatever it says.
    Report,
    /// Refuse (407 `reverification_failed`) a capture whose frames do not pass, or that has none.
    Require,
}

/// Device attestation (Play Integrity / App Attest) bound to the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationPolicy {
    Ignore,
    /// Verify when present and report the result.
    Report,
    /// Refuse (407) a capture without a valid attestation bound to it.
    Require,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelPolicy {
    #[serde(default = "default_liveness")]
    pub liveness: LivenessPolicy,
    #[serde(default)]
    pub allow_test_mode: bool,
    #[serde(default = "default_duplicates")]
    pub duplicates: DuplicatesPolicy,
    /// Duplicate threshold in the embedder's metric; the embedder's match threshold when absent.
    #[serde(default)]
    pub duplicate_threshold: Option<f32>,
    #[serde(default = "default_photo")]
    pub reference_photo: PhotoPolicy,
    #[serde(default = "default_rate")]
    pub rate_per_sec: f64,
    #[serde(default = "default_burst")]
    pub burst: f64,
    #[serde(default = "default_tokens")]
    pub capture_token: TokenPolicy,
    /// Lifetime of an issued capture token, seconds.
    #[serde(default = "default_token_ttl")]
    pub token_ttl_secs: u64,
    /// Challenges the server draws into each token (0: the SDK draws its own).
    #[serde(default = "default_token_challenges")]
    pub token_challenges: u32,
    #[serde(default = "default_evidence")]
    pub evidence: EvidencePolicy,
    #[serde(default = "default_attestation")]
    pub attestation: AttestationPolicy,
}

fn default_liveness() -> LivenessPolicy {
    LivenessPolicy::Active
}
fn default_duplicates() -> DuplicatesPolicy {
    DuplicatesPolicy::Report
}
fn default_photo() -> PhotoPolicy {
    PhotoPolicy::Off
}
fn default_rate() -> f64 {
    20.0
}
fn default_burst() -> f64 {
    40.0
}
fn default_tokens() -> TokenPolicy {
    TokenPolicy::Accept
}
fn default_token_ttl() -> u64 {
    300
}
fn default_token_challenges() -> u32 {
    2
}
fn default_evidence() -> EvidencePolicy {
    EvidencePolicy::Require
}
fn default_attestation() -> AttestationPolicy {
    AttestationPolicy::Report
}

impl Default for ChannelPolicy {
    fn default() -> Self {
        Self {
            liveness: default_liveness(),
            allow_test_mode: false,
            duplicates: default_duplicates(),
            duplicate_threshold: None,
            reference_photo: default_photo(),
            rate_per_sec: default_rate(),
            burst: default_burst(),
            capture_token: default_tokens(),
            token_ttl_secs: default_token_ttl(),
            token_challenges: default_token_challenges(),
            evidence: default_evidence(),
            attestation: default_attestation(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub id: String,
    /// SHA-256 (lowercase hex) of each API key.
    #[serde(default)]
    pub api_keys: Vec<String>,
    #[serde(flatten)]
    pub policy: ChannelPolicy,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct ChannelsFile {
    #[serde(default)]
    channel: Vec<Channel>,
}

#[derive(Debug, thiserror::Error)]
#[error("channels file: {0}")]
pub struct ChannelsError(pub String);

/// The channels, indexed by API key hash.
#[derive(Debug, Clone, Default)]
pub struct Channels {
    channels: Vec<Channel>,
    by_key_hash: HashMap<[u8; 32], usize>,
}

impl Channels {
    pub fn parse(text: &str) -> Result<Self, ChannelsError> {
        let file: ChannelsFile = toml::from_str(text).map_err(|e| ChannelsError(e.to_string()))?;
        Self::new(file.channel)
    }

    pub fn from_file(path: &Path) -> Result<Self, ChannelsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ChannelsError(format!("cannot read {}: {}", path.display(), e.kind())))?;
        Self::parse(&text)
    }

    pub fn new(channels: Vec<Channel>) -> Result<Self, ChannelsError> {
        let mut by_key_hash = HashMap::new();
        let mut ids = std::collections::HashSet::new();
        for (i, c) in channels.iter().enumerate() {
            if !valid_channel_id(&c.id) {
                return Err(ChannelsError(format!(
                    "channel id '{}' must be 1 to 64 of [A-Za-z0-9._-]",
                    c.id.escape_default()
                )));
            }
            if !ids.insert(c.id.clone()) {
                return Err(ChannelsError(format!("channel '{}' appears twice", c.id)));
            }
            let p = &c.policy;
            let rate_ok = p.rate_per_sec.is_finite() && p.rate_per_sec > 0.0;
            let burst_ok = p.burst.is_finite() && p.burst >= 1.0;
            if !rate_ok || !burst_ok {
                return Err(ChannelsError(format!(
                    "channel '{}': rate_per_sec must be > 0 and burst >= 1",
                    c.id
                )));
            }
            if !(1..=86_400).contains(&p.token_ttl_secs)
                || p.token_challenges as usize > smartid_core::seal::token::MAX_TOKEN_CHALLENGES
            {
                return Err(ChannelsError(format!(
                    "channel '{}': token_ttl_secs must be 1..86400 and token_challenges at most 8",
                    c.id
                )));
            }
            if p.duplicate_threshold.is_some_and(|t| !t.is_finite()) {
                return Err(ChannelsError(format!(
                    "channel '{}': duplicate_threshold must be a number",
                    c.id
                )));
            }
            for h in &c.api_keys {
                let hash: [u8; 32] = hex::decode(h)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| {
                        ChannelsError(format!(
                            "channel '{}': api_keys holds SHA-256 hashes (64 hex digits), not keys",
                            c.id
                        ))
                    })?;
                if by_key_hash.insert(hash, i).is_some() {
                    return Err(ChannelsError(format!(
                        "channel '{}': an API key hash appears twice",
                        c.id
                    )));
                }
            }
        }
        Ok(Self {
            channels,
            by_key_hash,
        })
    }

    /// The channel an API key belongs to.
    pub fn by_api_key(&self, key: &str) -> Option<(&Channel, [u8; 32])> {
        let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let i = self.by_key_hash.get(&hash)?;
        Some((self.channels.get(*i)?, hash))
    }

    pub fn get(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    pub fn all(&self) -> &[Channel] {
        &self.channels
    }

    /// Adds a new random API key to a channel (creating the channel with the default policy if it does
    /// not exist) and returns the key, to be shown once.
    pub fn add_api_key(&mut self, channel: &str) -> Result<String, ChannelsError> {
        let key = new_api_key();
        let hash = hex::encode(Sha256::digest(key.as_bytes()));
        let mut channels = self.channels.clone();
        match channels.iter_mut().find(|c| c.id == channel) {
            Some(c) => c.api_keys.push(hash),
            None => channels.push(Channel {
                id: channel.to_string(),
                api_keys: vec![hash],
                policy: ChannelPolicy::default(),
            }),
        }
        *self = Self::new(channels)?;
        Ok(key)
    }

    pub fn to_toml(&self) -> Result<String, ChannelsError> {
        let file = ChannelsFile {
            channel: self.channels.clone(),
        };
        toml::to_string_pretty(&file).map_err(|e| ChannelsError(e.to_string()))
    }
}

/// Channel ids appear in storage keys and logs: a safe, short alphabet.
pub fn valid_channel_id(id: &str) -> bool {
    smartid_core::seal::keys::validate_key_id(id).is_ok()
}

/// 32 random bytes, base64url, with a recognisable prefix.
pub fn new_api_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{API_KEY_PREFIX}{}", B64URL.encode(bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn keys_map_to_their_channel_and_only_hashes_are_stored() {
        let mut channels = Channels::default();
        let a = channels.add_api_key("bank-a").unwrap();
        let b = channels.add_api_key("bank-b").unwrap();
        let a2 = channels.add_api_key("bank-a").unwrap();
        assert_eq!(channels.by_api_key(&a).unwrap().0.id, "bank-a");
        assert_eq!(channels.by_api_key(&a2).unwrap().0.id, "bank-a");
        assert_eq!(channels.by_api_key(&b).unwrap().0.id, "bank-b");
        assert!(channels.by_api_key("sidk_guess").is_none());
        assert!(channels.by_api_key("").is_none());
        let text = channels.to_toml().unwrap();
        assert!(!text.contains(&a) && !text.contains(&b));
        let again = Channels::parse(&text).unwrap();
        assert_eq!(again.by_api_key(&b).unwrap().0.id, "bank-b");
        assert_eq!(
            again.get("bank-a").unwrap().policy,
            ChannelPolicy::default()
        );
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        for bad in [
            "[[channel]]\nid = \"bad id\"",
            "[[channel]]\nid = \"a\"\n[[channel]]\nid = \"a\"",
            "[[channel]]\nid = \"a\"\napi_keys = [\"sidk_plaintextkey\"]",
            "[[channel]]\nid = \"a\"\nrate_per_sec = 0",
            "[[channel]]\nid = \"a\"\nliveness = \"strong\"",
            "[[channel]]\nid = \"a\"\nunknown = 1",
            "channel = 3",
        ] {
            assert!(Channels::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn liveness_policy_orders_modes() {
        use LivenessMode as M;
        assert!(LivenessPolicy::Active.accepts(M::Both));
        assert!(!LivenessPolicy::Active.accepts(M::Passive));
        assert!(!LivenessPolicy::Passive.accepts(M::Active));
        assert!(!LivenessPolicy::Both.accepts(M::Active));
        assert!(LivenessPolicy::Any.accepts(M::Passive));
    }
}
