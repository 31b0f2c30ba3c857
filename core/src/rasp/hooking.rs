//! Instrumentation in the process: Frida (agent, gadget, its threads, a listening frida-server),
//! Substrate and Xposed traces; on Apple the dyld image list.

use super::signals::PlatformSignals;
use super::{Finding, FsRoot, Platform, Severity, Threat};

/// Library names that only instrumentation frameworks load (lower-case substrings).
const LIBRARY_MARKERS: &[&str] = &[
    "frida",
    "gum-js",
    "libsubstrate",
    "mobilesubstrate",
    "substrateloader",
    "xposed",
    "lspd",
    "edxp",
    "sandhook",
    "libhooker",
    "substitute",
    "cycript",
];

/// Thread names of the Frida runtime. GLib's `gmain`/`gdbus` count only on Android, where no app
/// thread has them; desktop Linux programs using GLib do.
const FRIDA_THREADS: &[&str] = &["gum-js-loop", "pool-frida", "frida-main", "linjector"];
const GLIB_THREADS: &[&str] = &["gmain", "gdbus"];

/// Symbols exported by the Frida agent and by Substrate.
const HOOK_SYMBOLS: &[&str] = &["frida_agent_main", "MSHookFunction"];

/// frida-server's default port (27042 = 0x69A2), listening.
const FRIDA_PORT_HEX: &str = ":69A2";

/// What the platform layer reports, routed by its prefix (`root:magisk`, `debugger:connected`, …) to
/// the threat it is: the app's Kotlin/Swift code sees what the core cannot (packages, settings, the
/// Objective-C runtime). A name without a known prefix is instrumentation, as before prefixes existed.
fn platform_finding(name: &str) -> Finding {
    // The platform names what it found; keep it short and printable (it goes into the payload).
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(64)
        .collect();
    let (threat, severity, detail) = match name.split_once(':') {
        Some(("hooking", d)) => (Threat::Hooking, Severity::Critical, d),
        Some(("debugger", d)) => (Threat::Debugger, Severity::Critical, d),
        Some(("root", d)) => (Threat::Root, Severity::Critical, d),
        Some(("emulator", d)) => (Threat::Emulator, Severity::High, d),
        Some(("tampered", d)) => (Threat::AppTampered, Severity::Critical, d),
        Some(("settings", d)) => (Threat::DeviceSettings, Severity::Low, d),
        _ => (Threat::Hooking, Severity::Critical, name.as_str()),
    };
    Finding::new(
        threat,
        severity,
        "platform.reported",
        format!("reported by the platform: {detail}"),
    )
}

pub fn check(root: &FsRoot, platform: Platform, signals: &dyn PlatformSignals) -> Vec<Finding> {
    let mut out = Vec::new();
    for name in signals.instrumentation() {
        out.push(platform_finding(&name));
    }
    if platform.has_procfs() {
        if let Some(maps) = root.read("/proc/self/maps") {
            let mut seen = std::collections::BTreeSet::new();
            for line in maps.lines() {
                let Some(path) = line.split_whitespace().nth(5) else {
                    continue;
                };
                let name = path.rsplit('/').next().unwrap_or(path);
                let lower = name.to_ascii_lowercase();
                if LIBRARY_MARKERS.iter().any(|m| lower.contains(m))
                    && seen.insert(name.to_string())
                {
                    out.push(Finding::new(
                        Threat::Hooking,
                        Severity::Critical,
                        "hooking.maps",
                        format!("instrumentation library mapped: {name}"),
                    ));
                }
            }
        }
        for tid in root.list("/proc/self/task") {
            let Some(comm) = root.read(&format!("/proc/self/task/{tid}/comm")) else {
                continue;
            };
            let comm = comm.trim();
            let suspicious = FRIDA_THREADS.iter().any(|t| comm.contains(t))
                || (platform == Platform::Android && GLIB_THREADS.contains(&comm));
            if suspicious {
                out.push(Finding::new(
                    Threat::Hooking,
                    Severity::High,
                    "hooking.thread",
                    format!("instrumentation thread: {comm}"),
                ));
            }
        }
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let Some(text) = root.read(table) else {
                continue;
            };
            let listening = text.lines().skip(1).any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.len() > 3
                    && cols[1].to_ascii_uppercase().ends_with(FRIDA_PORT_HEX)
                    && cols[3] == "0A"
            });
            if listening {
                out.push(Finding::new(
                    Threat::Hooking,
                    Severity::High,
                    "hooking.frida_port",
                    "a server listens on frida-server's port 27042",
                ));
                break;
            }
        }
    }
    if root.is_system() {
        for sym in HOOK_SYMBOLS {
            if native::symbol_loaded(sym) {
                out.push(Finding::new(
                    Threat::Hooking,
                    Severity::Critical,
                    "hooking.symbol",
                    format!("instrumentation symbol resolvable: {sym}"),
                ));
            }
        }
        for image in native::loaded_images() {
            let lower = image.to_ascii_lowercase();
            if LIBRARY_MARKERS.iter().any(|m| lower.contains(m)) {
                let name = image.rsplit('/').next().unwrap_or(&image).to_string();
                out.push(Finding::new(
                    Threat::Hooking,
                    Severity::Critical,
                    "hooking.dyld",
                    format!("instrumentation image loaded: {name}"),
                ));
            }
        }
    }
    out
}

#[cfg(unix)]
mod native {
    use std::ffi::CString;

    /// Whether any loaded image exports `name` (a renamed Frida agent still exports its entry point).
    #[allow(unsafe_code)]
    pub fn symbol_loaded(name: &str) -> bool {
        let Ok(c) = CString::new(name) else {
            return false;
        };
        // SAFETY: RTLD_DEFAULT searches the global scope; `c` is a valid NUL-terminated string. The
        // result is only compared with null, never dereferenced.
        let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c.as_ptr()) };
        !p.is_null()
    }

    // dyld's image list (libSystem); declared here because libc marks its bindings deprecated.
    #[cfg(target_vendor = "apple")]
    #[allow(unsafe_code)]
    unsafe extern "C" {
        fn _dyld_image_count() -> u32;
        fn _dyld_get_image_name(image_index: u32) -> *const libc::c_char;
    }

    /// Images loaded by dyld (Apple only; /proc/self/maps covers Linux and Android).
    #[cfg(target_vendor = "apple")]
    #[allow(unsafe_code)]
    pub fn loaded_images() -> Vec<String> {
        use std::ffi::CStr;
        // SAFETY: dyld's image list functions have no preconditions; an index below the count names a
        // loaded image whose path is a NUL-terminated string owned by dyld, copied out immediately.
        let count = unsafe { _dyld_image_count() };
        (0..count)
            .filter_map(|i| {
                let p = unsafe { _dyld_get_image_name(i) };
                (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
            })
            .collect()
    }

    #[cfg(not(target_vendor = "apple"))]
    pub fn loaded_images() -> Vec<String> {
        Vec::new()
    }
}

#[cfg(not(unix))]
mod native {
    pub fn symbol_loaded(_: &str) -> bool {
        false
    }
    pub fn loaded_images() -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_reports_are_routed_by_prefix_and_bounded() {
        let cases = [
            ("root:magisk", Threat::Root),
            ("debugger:connected", Threat::Debugger),
            ("emulator:simulator", Threat::Emulator),
            ("tampered:debuggable", Threat::AppTampered),
            ("settings:adb-enabled", Threat::DeviceSettings),
            ("hooking:xposed", Threat::Hooking),
            ("xposed", Threat::Hooking),
            ("unknown:thing", Threat::Hooking),
        ];
        for (name, threat) in cases {
            let f = platform_finding(name);
            assert_eq!(f.threat, threat, "{name}");
            assert_eq!(f.check, "platform.reported");
        }
        let f = platform_finding(&format!("root:{}\n\u{7}", "x".repeat(500)));
        assert!(f.evidence.len() < 100 && f.evidence.is_ascii() && !f.evidence.contains('\n'));
    }
}
