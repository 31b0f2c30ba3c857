//! Network: VPN interfaces and the platform's VPN flag, HTTP proxies.

use super::signals::PlatformSignals;
use super::{Finding, FsRoot, Platform, Severity, Threat};

/// Interface name prefixes of VPN tunnels on Linux and Android. (Apple's `utun` interfaces exist for
/// system services on every device, so there the platform's flag decides.)
const VPN_PREFIXES: &[&str] = &[
    "tun", "tap", "ppp", "ipsec", "wg", "pptp", "l2tp", "nordlynx",
];

pub fn check(root: &FsRoot, platform: Platform, signals: &dyn PlatformSignals) -> Vec<Finding> {
    let mut out = Vec::new();
    if platform.has_procfs() {
        for name in root.list("/sys/class/net") {
            if VPN_PREFIXES.iter().any(|p| name.starts_with(p)) {
                out.push(Finding::new(
                    Threat::Vpn,
                    Severity::Medium,
                    "network.interface",
                    format!("VPN interface: {name}"),
                ));
            }
        }
    }
    if signals.vpn_active() == Some(true) {
        out.push(Finding::new(
            Threat::Vpn,
            Severity::Medium,
            "network.platform_vpn",
            "the OS reports a VPN transport",
        ));
    }
    if let Some(proxy) = signals.proxy() {
        out.push(Finding::new(
            Threat::Proxy,
            Severity::Medium,
            "network.proxy",
            format!("HTTP proxy: {proxy}"),
        ));
    }
    out
}
