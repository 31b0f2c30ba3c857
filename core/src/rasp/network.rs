//! Network: VPN interfaces (`getifaddrs` on a device, /sys/class/net in fixture trees) and the
//! platform's VPN flag, HTTP proxies.

use super::signals::PlatformSignals;
use super::{Finding, FsRoot, Platform, Severity, SkippedCheck, Threat};

/// Interface name prefixes of VPN tunnels.
const VPN_PREFIXES: &[&str] = &[
    "tun", "tap", "ppp", "ipsec", "wg", "pptp", "l2tp", "nordlynx",
];

/// Apple creates `utun` interfaces for system services on every device; one carrying an IPv4 address
/// is a VPN.
const APPLE_TUNNEL: &str = "utun";

pub fn check(
    root: &FsRoot,
    platform: Platform,
    signals: &dyn PlatformSignals,
    skipped: &mut Vec<SkippedCheck>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let names: Vec<String> = if root.is_system() {
        match interfaces::try_list() {
            Some(list) => list
                .into_iter()
                .filter(|i| !i.name.starts_with(APPLE_TUNNEL) || i.has_ipv4)
                .map(|i| i.name)
                .collect(),
            None => {
                // Android API 23 has no getifaddrs; the platform's VPN flag below still counts.
                skipped.push(SkippedCheck::new(
                    "network.interface",
                    "getifaddrs is unavailable or failed",
                ));
                Vec::new()
            }
        }
    } else if platform.has_procfs() {
        match root.list_checked("/sys/class/net") {
            Ok(names) => names,
            Err(e) => {
                skipped.push(SkippedCheck::new(
                    "network.interface",
                    format!("/sys/class/net: {}", e.describe()),
                ));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    for name in names {
        if VPN_PREFIXES.iter().any(|p| name.starts_with(p)) || name.starts_with(APPLE_TUNNEL) {
            out.push(Finding::new(
                Threat::Vpn,
                Severity::Medium,
                "network.interface",
                format!("VPN interface: {name}"),
            ));
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

/// The device's network interfaces from `getifaddrs` (Linux, Android, iOS, macOS).
pub mod interfaces {
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Interface {
        pub name: String,
        pub has_ipv4: bool,
    }

    /// The interfaces, or nothing when the list cannot be had.
    pub fn list() -> Vec<Interface> {
        try_list().unwrap_or_default()
    }

    /// The interfaces; `None` when `getifaddrs` is missing (Android API 23) or fails.
    #[cfg(unix)]
    #[allow(unsafe_code)]
    pub fn try_list() -> Option<Vec<Interface>> {
        use std::ffi::CStr;
        let (getifaddrs, freeifaddrs) = ifaddrs_fns()?;
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs fills `head` with a list it allocates; we free it with freeifaddrs below.
        if unsafe { getifaddrs(&mut head) } != 0 {
            return None;
        }
        let mut out: Vec<Interface> = Vec::new();
        let mut cur = head;
        while !cur.is_null() {
            // SAFETY: `cur` is a node of the list getifaddrs returned and has not been freed; its name
            // is a NUL-terminated string and its address, when non-null, a valid sockaddr.
            let (name, ipv4) = unsafe {
                let ifa = &*cur;
                let name = if ifa.ifa_name.is_null() {
                    String::new()
                } else {
                    CStr::from_ptr(ifa.ifa_name).to_string_lossy().into_owned()
                };
                let ipv4 = !ifa.ifa_addr.is_null()
                    && i32::from((*ifa.ifa_addr).sa_family) == libc::AF_INET;
                cur = ifa.ifa_next;
                (name, ipv4)
            };
            match out.iter_mut().find(|i| i.name == name) {
                Some(i) => i.has_ipv4 |= ipv4,
                None if !name.is_empty() => out.push(Interface {
                    name,
                    has_ipv4: ipv4,
                }),
                None => {}
            }
        }
        // SAFETY: `head` came from getifaddrs and is freed exactly once.
        unsafe { freeifaddrs(head) };
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Some(out)
    }

    #[cfg(unix)]
    type GetIfAddrs = unsafe extern "C" fn(*mut *mut libc::ifaddrs) -> libc::c_int;
    #[cfg(unix)]
    type FreeIfAddrs = unsafe extern "C" fn(*mut libc::ifaddrs);

    /// Bionic has `getifaddrs` only from API 24; the SDK supports API 23, where a direct import would
    /// make the whole library fail to load. Looked up at run time there (absent: no interface list; the
    /// Android layer's `ConnectivityManager` VPN signal still counts).
    #[cfg(target_os = "android")]
    #[allow(unsafe_code)]
    fn ifaddrs_fns() -> Option<(GetIfAddrs, FreeIfAddrs)> {
        // SAFETY: dlsym with RTLD_DEFAULT and NUL-terminated names; a non-null result is the libc
        // function of that name, whose C signature is the one transmuted to.
        unsafe {
            let get = libc::dlsym(libc::RTLD_DEFAULT, c"getifaddrs".as_ptr());
            let free = libc::dlsym(libc::RTLD_DEFAULT, c"freeifaddrs".as_ptr());
            if get.is_null() || free.is_null() {
                return None;
            }
            Some((
                std::mem::transmute::<*mut libc::c_void, GetIfAddrs>(get),
                std::mem::transmute::<*mut libc::c_void, FreeIfAddrs>(free),
            ))
        }
    }

    #[cfg(all(unix, not(target_os = "android")))]
    fn ifaddrs_fns() -> Option<(GetIfAddrs, FreeIfAddrs)> {
        Some((libc::getifaddrs, libc::freeifaddrs))
    }

    #[cfg(not(unix))]
    pub fn try_list() -> Option<Vec<Interface>> {
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn getifaddrs_lists_this_machines_interfaces() {
        let names: Vec<String> = super::interfaces::list()
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert!(names.iter().any(|n| n == "lo" || n == "lo0"), "{names:?}");
    }
}
