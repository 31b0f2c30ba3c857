//! What only the OS knows, supplied by the platform layer (a uniffi callback interface on Kotlin/Swift).

use serde::{Deserialize, Serialize};

use super::location::Location;

/// Every method has a "don't know" default, so a platform implements what it can.
pub trait PlatformSignals: Send + Sync {
    /// Android system properties (`ro.debuggable`, `ro.build.tags`, …); empty elsewhere.
    fn build_properties(&self) -> Vec<(String, String)> {
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
    /// Play Integrity / App Attest token, passed through to the server.
    fn attestation_token(&self) -> Option<String> {
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
    pub build_properties: Vec<(String, String)>,
    pub location: Option<Location>,
    pub vpn_active: Option<bool>,
    pub proxy: Option<String>,
    pub app_signature: Option<String>,
    pub attestation_token: Option<String>,
}

impl PlatformSignals for StaticSignals {
    fn build_properties(&self) -> Vec<(String, String)> {
        self.build_properties.clone()
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
    fn attestation_token(&self) -> Option<String> {
        self.attestation_token.clone()
    }
}

/// Looks up one property.
pub fn prop(props: &[(String, String)], key: &str) -> Option<String> {
    props.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
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
