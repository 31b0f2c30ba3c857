//! What only the OS knows, supplied by the platform layer (a uniffi callback interface on Kotlin/Swift).

use serde::{Deserialize, Serialize};

use super::location::Location;

/// One Android system property (`ro.debuggable` = `1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildProperty {
    pub key: String,
    pub value: String,
}

impl BuildProperty {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Every method has a "don't know" default, so a platform implements what it can. The session calls
/// these at the start, again at unpredictable moments during the capture, and just before sealing.
pub trait PlatformSignals: Send + Sync {
    /// Android system properties (`ro.debuggable`, `ro.build.tags`, …); empty elsewhere.
    fn build_properties(&self) -> Vec<BuildProperty> {
        Vec::new()
    }
    /// What the platform layer found with what only it can see, as short names routed by prefix:
    /// `hooking:` (Xposed classes, injected dylibs), `debugger:`, `root:` (root managers, jailbreak
    /// files), `emulator:`, `tampered:` (a debuggable release) and `settings:` (developer options, ADB,
    /// an untrusted installer: `DeviceSettings`, reported by default). No prefix means `hooking:`.
    fn instrumentation(&self) -> Vec<String> {
        Vec::new()
    }
    /// The current location with the OS's mock flag, if the app has permission.
    fn location(&self) -> Option<Location> {
        None
    }
    /// The OS reports a VPN transport on the active network.
    fn vpn_active(&self) -> Option<bool> {
        None
    }
    /// The system HTTP proxy (`host:port`), if one is set.
    fn proxy(&self) -> Option<String> {
        None
    }
    /// sha256 hex of the app's signing certificate (Android) or code signature / bundle (iOS).
    fn app_signature(&self) -> Option<String> {
        None
    }
    /// A Play Integrity (classic request, `nonce` = base64url of the hash) or App Attest (attestation
    /// object, `clientDataHash` = the hash) token for this request hash, passed sealed to the server. The hash binds the token to one
    /// capture: SHA-256(capture token nonce | session id | SHA-256(sealed template)). Asked once, while
    /// sealing; a slow answer delays the result.
    fn attestation_token(&self, request_hash: &[u8; 32]) -> Option<String> {
        let _ = request_hash;
        None
    }
}

/// Desktop harness: the proxy from the environment, nothing else.
#[derive(Debug, Default, Clone)]
pub struct DesktopSignals;

impl PlatformSignals for DesktopSignals {
    fn proxy(&self) -> Option<String> {
        [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
        ]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .map(|v| redact_proxy(&v))
    }
}

/// Keeps scheme, host and port of a proxy URL; drops credentials.
fn redact_proxy(url: &str) -> String {
    match url.rsplit_once('@') {
        Some((_, host)) => host.to_string(),
        None => url.to_string(),
    }
}

/// Fixed answers: tests, and apps that gather the facts up front.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StaticSignals {
    pub build_properties: Vec<BuildProperty>,
    pub instrumentation: Vec<String>,
    pub location: Option<Location>,
    pub vpn_active: Option<bool>,
    pub proxy: Option<String>,
    pub app_signature: Option<String>,
    pub attestation_token: Option<String>,
}

impl PlatformSignals for StaticSignals {
    fn build_properties(&self) -> Vec<BuildProperty> {
        self.build_properties.clone()
    }
    fn instrumentation(&self) -> Vec<String> {
        self.instrumentation.clone()
    }
    fn location(&self) -> Option<Location> {
        self.location
    }
    fn vpn_active(&self) -> Option<bool> {
        self.vpn_active
    }
    fn proxy(&self) -> Option<String> {
        self.proxy.clone()
    }
    fn app_signature(&self) -> Option<String> {
        self.app_signature.clone()
    }
    fn attestation_token(&self, _request_hash: &[u8; 32]) -> Option<String> {
        self.attestation_token.clone()
    }
}

/// Looks up one property.
pub fn prop(props: &[BuildProperty], key: &str) -> Option<String> {
    props.iter().find(|p| p.key == key).map(|p| p.value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_dropped() {
        assert_eq!(
            redact_proxy("http://user:secret@proxy.local:3128"),
            "proxy.local:3128"
        );
        assert_eq!(
            redact_proxy("http://proxy.local:3128"),
            "http://proxy.local:3128"
        );
    }
}
