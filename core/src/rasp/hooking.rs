//! Instrumentation in the process: Frida (its image by content, its threads, a frida-server
//! answering on loopback, its agent's entry point), Substrate/Xposed/… libraries by exact name, libc
//! functions interposed or patched (`LD_PRELOAD` shims, inline hooks), and on Apple the dyld image
//! list.
//!
//! On the system root everything is read with raw system calls (`sys`): the usual way to blind these
//! checks, a shim over libc's `open`/`read`, does not reach them, and is itself reported. Checks that
//! need the live process (memory, symbols, ports) run on the system root only; fixture trees exercise
//! the file-based ones.

use super::maps;
use super::memscan;
use super::signals::PlatformSignals;
use super::{Finding, FsRoot, Platform, Severity, SkippedCheck, Threat, interpose, ports};

/// Library file stems (lower case, extension and version stripped) that only instrumentation
/// frameworks load, matched exactly.
const LIBRARY_NAMES: &[&str] = &[
    // Substrate, Substitute, ElleKit, libhooker, Cycript (iOS); Substrate for Android.
    "libsubstrate",
    "libsubstrate-dvm",
    "mobilesubstrate",
    "substrateloader",
    "cydiasubstrate",
    "substrateinserter",
    "libsubstitute",
    "substitute-loader",
    "substitute-inserter",
    "libellekit",
    "libhooker",
    "libblackjack",
    "tweakinject",
    "libcycript",
    "cycript",
    // Xposed, EdXposed, LSPosed, SandHook (Android).
    "libxposed_art",
    "libxposed_dalvik",
    "xposedbridge",
    "libedxp",
    "libriru_edxp",
    "liblspd",
    "libriru_lspd",
    "libsandhook",
    "libsandhook-native",
    // Frida's gadget under its usual iOS name.
    "fridagadget",
];

/// Stem prefixes of Frida's libraries (`frida-agent-64`, `frida-gadget-16.1.4-android-arm64`,
/// `libfrida-gadget`): anchored at the start of the name, followed by nothing or a separator.
const LIBRARY_PREFIXES: &[&str] = &[
    "frida-agent",
    "frida-gadget",
    "frida-helper",
    "libfrida-agent",
    "libfrida-gadget",
];

/// The stem of a library file name: lower case, without ` (deleted)`, `memfd:`, `.so`/`.dylib` and
/// trailing version numbers (`libsubstitute.0.dylib` → `libsubstitute`, `libfoo.so.1.2` → `libfoo`).
fn library_stem(name: &str) -> String {
    let name = maps::file_name(name).to_ascii_lowercase();
    let mut parts: Vec<&str> = name.split('.').collect();
    while parts.len() > 1 {
        let last = parts.last().copied().unwrap_or_default();
        if matches!(last, "so" | "dylib" | "framework") || last.chars().all(|c| c.is_ascii_digit())
        {
            parts.pop();
        } else {
            break;
        }
    }
    parts.join(".")
}

/// Whether a library path or file name is an instrumentation framework's.
pub fn is_instrumentation_library(name: &str) -> bool {
    let stem = library_stem(name);
    LIBRARY_NAMES.contains(&stem.as_str())
        || LIBRARY_PREFIXES.iter().any(|p| {
            stem.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '_', '.']))
        })
}

/// GLib's `gmain`/`gdbus` threads: Frida's agent runs GLib, but so can an app (a GLib-based library,
/// GStreamer) and desktop Linux programs. They count only on Android and only when the memory scan
/// found Frida's runtime in the same run: corroboration, never a finding alone. (Frida's own thread
/// names are stored encoded: `memscan::thread_names`.)
const GLIB_THREADS: &[&str] = &["gmain", "gdbus"];

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

/// `LD_PRELOAD` libraries of the process's initial environment (/proc/self/environ: what the loader
/// saw, even if the variable was unset since) that are really mapped from outside the system
/// directories, and /etc/ld.so.preload on Linux.
///
/// On Android an app process is forked from zygote, not executed: its /proc/self/environ is zygote's
/// initial environment, which some vendors' init sets an `LD_PRELOAD` in for every process (their own
/// system libraries). A name there proves nothing by itself; a library of that name mapped into this
/// process from outside /system, /vendor, /apex… (a `wrap.sh`, an injector) does.
fn preload(
    root: &FsRoot,
    platform: Platform,
    mapped: Option<&[maps::Mapping]>,
    skipped: &mut Vec<SkippedCheck>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    match root.read_checked("/proc/self/environ") {
        Ok(env) => {
            let listed: Vec<&str> = env
                .split('\0')
                .filter_map(|kv| kv.strip_prefix("LD_PRELOAD="))
                .flat_map(|v| v.split([':', ' ']))
                .filter(|l| !l.is_empty())
                .map(maps::file_name)
                .collect();
            match mapped {
                _ if listed.is_empty() => {}
                Some(mapped) => {
                    let mut libs: Vec<&str> = Vec::new();
                    for name in listed {
                        let foreign = mapped.iter().any(|m| {
                            m.is_file() && m.file_name() == name && !maps::is_system_path(&m.path)
                        });
                        if foreign && !libs.contains(&name) {
                            libs.push(name);
                        }
                    }
                    if !libs.is_empty() {
                        out.push(Finding::new(
                            Threat::Hooking,
                            Severity::Critical,
                            "hooking.ld_preload",
                            format!("LD_PRELOAD is set: {}", libs.join(", ")),
                        ));
                    }
                }
                None => skipped.push(SkippedCheck::new(
                    "hooking.ld_preload",
                    "LD_PRELOAD is set, but /proc/self/maps is unreadable: not confirmed mapped",
                )),
            }
        }
        Err(e) => skipped.push(SkippedCheck::new(
            "hooking.ld_preload",
            format!("/proc/self/environ: {}", e.describe()),
        )),
    }
    if platform == Platform::Linux
        && let Some(text) = root.read("/etc/ld.so.preload")
    {
        let libs: Vec<&str> = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or_default())
            .flat_map(|l| l.split([':', ' ', '\t']))
            .filter(|l| !l.is_empty())
            .map(maps::file_name)
            .collect();
        if !libs.is_empty() {
            out.push(Finding::new(
                Threat::Hooking,
                Severity::High,
                "hooking.ld_preload",
                format!("/etc/ld.so.preload lists: {}", libs.join(", ")),
            ));
        }
    }
    out
}

/// Threads named like Frida's, from /proc/self/task/*/comm; and, apart, GLib-named ones (Android).
fn threads(
    root: &FsRoot,
    platform: Platform,
    skipped: &mut Vec<SkippedCheck>,
) -> (Vec<Finding>, Vec<Finding>) {
    let tids = match root.list_checked("/proc/self/task") {
        Ok(t) if !t.is_empty() => t,
        Ok(_) => {
            skipped.push(SkippedCheck::new(
                "hooking.thread",
                "/proc/self/task: empty",
            ));
            return (Vec::new(), Vec::new());
        }
        Err(e) => {
            skipped.push(SkippedCheck::new(
                "hooking.thread",
                format!("/proc/self/task: {}", e.describe()),
            ));
            return (Vec::new(), Vec::new());
        }
    };
    let frida = memscan::thread_names();
    let (mut out, mut glib) = (Vec::new(), Vec::new());
    for tid in tids {
        let Some(comm) = root.read(&format!("/proc/self/task/{tid}/comm")) else {
            continue;
        };
        let comm = comm.trim();
        if frida.iter().any(|t| comm.contains(t.as_str())) {
            out.push(Finding::new(
                Threat::Hooking,
                Severity::High,
                "hooking.thread",
                format!("instrumentation thread: {comm}"),
            ));
        } else if platform == Platform::Android && GLIB_THREADS.contains(&comm) {
            glib.push(Finding::new(
                Threat::Hooking,
                Severity::High,
                "hooking.thread",
                format!("GLib thread {comm}, with Frida's runtime in memory"),
            ));
        }
    }
    (out, glib)
}

pub fn check(
    root: &FsRoot,
    platform: Platform,
    signals: &dyn PlatformSignals,
    skipped: &mut Vec<SkippedCheck>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for name in signals.instrumentation() {
        out.push(platform_finding(&name));
    }
    if platform.has_procfs() {
        let mapped = match root.read_checked("/proc/self/maps") {
            Ok(text) => maps::parse(&text),
            Err(e) => {
                skipped.push(SkippedCheck::new(
                    "hooking.maps",
                    format!("/proc/self/maps: {}", e.describe()),
                ));
                Vec::new()
            }
        };
        let mut seen = std::collections::BTreeSet::new();
        for m in &mapped {
            let name = m.file_name();
            if m.is_file() && is_instrumentation_library(name) && seen.insert(name.to_string()) {
                out.push(Finding::new(
                    Threat::Hooking,
                    Severity::Critical,
                    "hooking.maps",
                    format!("instrumentation library mapped: {name}"),
                ));
            }
        }
        let (frida_threads, glib_threads) = threads(root, platform, skipped);
        out.extend(frida_threads);
        let maps_known = (!mapped.is_empty()).then_some(mapped.as_slice());
        out.extend(preload(root, platform, maps_known, skipped));
        out.extend(ports::check(root, skipped));
        if root.is_system() && !mapped.is_empty() {
            let in_memory = memscan::scan(&mapped, skipped);
            if !in_memory.is_empty() {
                out.extend(glib_threads);
            }
            out.extend(in_memory);
            out.extend(interpose::check(&mapped, skipped));
        }
    } else if root.is_system() {
        for check in ["hooking.memory", "hooking.interposed", "hooking.patched"] {
            skipped.push(SkippedCheck::new(
                check,
                "no /proc on this platform (iOS/macOS: the dyld image list is checked instead)",
            ));
        }
    }
    if root.is_system() {
        let agent_entry = memscan::agent_entry();
        for sym in [agent_entry.as_str(), "MSHookFunction"] {
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
            if is_instrumentation_library(&image) {
                let name = maps::file_name(&image).to_string();
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

/// Probes loopback `ports` for frida-server (the port list is fixed in production; tests run fake
/// servers on ephemeral ports).
#[doc(hidden)]
pub fn probe_loopback_ports(ports: &[u16]) -> Vec<Finding> {
    super::ports::probe_ports(ports)
}

/// Runs the memory scan alone on this process, once (tests and measurements): its findings and
/// skipped checks, and what the run cost.
#[doc(hidden)]
pub fn scan_memory_once() -> (Vec<Finding>, Vec<SkippedCheck>, MemoryScanStats) {
    let mut skipped = Vec::new();
    let found = match FsRoot::system().read_checked("/proc/self/maps") {
        Ok(text) => memscan::scan(&maps::parse(&text), &mut skipped),
        Err(e) => {
            skipped.push(SkippedCheck::new(
                "hooking.maps",
                format!("/proc/self/maps: {}", e.describe()),
            ));
            Vec::new()
        }
    };
    (found, skipped, memscan::last_stats())
}

/// What the last memory scan run cost.
#[doc(hidden)]
pub fn memory_scan_stats() -> MemoryScanStats {
    memscan::last_stats()
}

#[doc(hidden)]
pub use memscan::{SCAN_BUDGET, ScanStats as MemoryScanStats, UNCACHEABLE_SHARE};

/// Test-support builds only: where the frida-server check takes its listeners from, and the
/// parser of the kernel's `sock_diag` answer (fuzzed).
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub use super::{
    ports::{Listener, ListenerSource, Listing, RUN_DEADLINE, last_listing, set_listener_source},
    sockdiag::parse_datagram as parse_sock_diag_datagram,
};

/// This machine's listening TCP sockets as the kernel gives them over netlink `sock_diag`, and as
/// /proc/net/tcp{,6} prints them (test-support builds only: the two sources compared).
#[cfg(all(
    feature = "test-support",
    any(target_os = "linux", target_os = "android")
))]
#[doc(hidden)]
pub fn listeners_both_ways() -> (Result<Vec<Listener>, String>, Option<Vec<Listener>>) {
    let diag = super::sockdiag::listeners().map_err(|e| format!("errno {}", e.0));
    (diag, super::ports::read_tables(&FsRoot::system()).0)
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

    #[test]
    fn library_names_match_exactly_or_anchored() {
        for hit in [
            "/data/local/tmp/re.frida.server/frida-agent-64.so",
            "/memfd:frida-agent-32.so (deleted)",
            "/data/app/x/lib/arm64/libfrida-gadget.so",
            "frida-gadget-16.1.4-android-arm64.so",
            "/usr/lib/libsubstitute.0.dylib",
            "/usr/lib/substitute-loader.dylib",
            "/Library/MobileSubstrate/MobileSubstrate.dylib",
            "/data/app/x/lib/arm64/libsubstrate.so",
            "/system/lib64/libxposed_art.so",
            "/data/adb/lspd/bin/liblspd.so",
            "/var/jb/usr/lib/libellekit.dylib",
            "/Frameworks/FridaGadget.dylib",
        ] {
            assert!(is_instrumentation_library(hit), "{hit}");
        }
        for miss in [
            "/data/app/x/lib/arm64/libsubstitute-utils.so",
            "/usr/lib/libsubstrate-helpers.so.2",
            "/data/app/x/lib/arm64/libfridays.so",
            "/usr/lib/x86_64-linux-gnu/libxposedlike.so",
            "/data/app/x/lib/arm64/libcycript-free.so",
            "/data/app/x/lib/arm64/mylibhooker.so",
            "/apex/com.android.runtime/lib64/bionic/libc.so",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
        ] {
            assert!(!is_instrumentation_library(miss), "{miss}");
        }
    }
}
