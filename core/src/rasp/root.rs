//! Root (Android) and jailbreak (iOS): su, Magisk and busybox, jailbreak files, insecure build
//! properties, a writable system partition.
//!
//! A path the app may not look at (Magisk's /data/adb is `0700 root` and SELinux-protected: an app's
//! `stat` gets `EACCES`) is listed in the report's `skipped`, not silently taken as absent.

use super::signals::{PlatformSignals, prop};
use super::{Finding, FsRoot, Platform, Severity, SkippedCheck, Threat};

const ANDROID_SU: &[&str] = &[
    "/system/bin/su",
    "/system/xbin/su",
    "/sbin/su",
    "/su/bin/su",
    "/system/sbin/su",
    "/vendor/bin/su",
    "/data/local/su",
    "/data/local/bin/su",
    "/data/local/xbin/su",
    "/system/app/Superuser.apk",
    "/system/app/SuperSU.apk",
];
const ANDROID_MAGISK: &[&str] = &[
    "/sbin/.magisk",
    "/data/adb/magisk",
    "/data/adb/magisk.db",
    "/data/adb/modules",
    "/cache/.disable_magisk",
    "/data/adb/ksu",
];
const ANDROID_BUSYBOX: &[&str] = &[
    "/system/xbin/busybox",
    "/system/bin/busybox",
    "/sbin/busybox",
];
const IOS_JAILBREAK: &[&str] = &[
    "/Applications/Cydia.app",
    "/Applications/Sileo.app",
    "/Applications/Zebra.app",
    "/Library/MobileSubstrate/MobileSubstrate.dylib",
    "/usr/libexec/cydia",
    "/usr/sbin/sshd",
    "/bin/bash",
    "/etc/apt",
    "/private/var/lib/apt",
    "/private/var/stash",
    "/var/jb",
    "/var/binpack",
];
/// Mount points that are read-only on an intact Android device.
const SYSTEM_MOUNTS: &[&str] = &["/", "/system", "/system_root", "/vendor", "/product"];

pub fn check(
    root: &FsRoot,
    platform: Platform,
    signals: &dyn PlatformSignals,
    skipped: &mut Vec<SkippedCheck>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut paths =
        |out: &mut Vec<Finding>, list: &[&str], check: &str, sev: Severity, what: &str| {
            for p in root.probe_all(check, list, skipped) {
                out.push(Finding::new(
                    Threat::Root,
                    sev,
                    check,
                    format!("{what}: {p}"),
                ));
            }
        };
    match platform {
        Platform::Android => {
            paths(
                &mut out,
                ANDROID_SU,
                "root.su",
                Severity::Critical,
                "su binary",
            );
            paths(
                &mut out,
                ANDROID_MAGISK,
                "root.magisk",
                Severity::Critical,
                "Magisk/KernelSU",
            );
            paths(
                &mut out,
                ANDROID_BUSYBOX,
                "root.busybox",
                Severity::Medium,
                "busybox",
            );
            let props = signals.build_properties();
            if prop(&props, "ro.debuggable").as_deref() == Some("1") {
                out.push(Finding::new(
                    Threat::Root,
                    Severity::Medium,
                    "root.props",
                    "ro.debuggable=1",
                ));
            }
            if prop(&props, "ro.secure").as_deref() == Some("0") {
                out.push(Finding::new(
                    Threat::Root,
                    Severity::High,
                    "root.props",
                    "ro.secure=0",
                ));
            }
            // Custom ROMs (LineageOS unofficial builds, …) are signed with test-keys: a weakened
            // device, not root by itself. Reported (DeviceSettings) for the server to weigh; su,
            // Magisk or ro.secure=0 on the same device still block.
            if prop(&props, "ro.build.tags").is_some_and(|t| t.contains("test-keys")) {
                out.push(Finding::new(
                    Threat::DeviceSettings,
                    Severity::Low,
                    "root.props",
                    "ro.build.tags has test-keys (custom ROM)",
                ));
            }
            out.extend(writable_system(root, skipped));
        }
        Platform::Ios => paths(
            &mut out,
            IOS_JAILBREAK,
            "root.jailbreak",
            Severity::Critical,
            "jailbreak file",
        ),
        Platform::Linux | Platform::Macos | Platform::Other => {}
    }
    out
}

fn writable_system(root: &FsRoot, skipped: &mut Vec<SkippedCheck>) -> Vec<Finding> {
    let mounts = match root.read_checked("/proc/mounts") {
        Ok(m) => m,
        Err(e) => {
            skipped.push(SkippedCheck::new(
                "root.mounts",
                format!("/proc/mounts: {}", e.describe()),
            ));
            return Vec::new();
        }
    };
    mounts
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let (point, opts) = (*cols.get(1)?, *cols.get(3)?);
            let rw = opts.split(',').any(|o| o == "rw");
            (rw && SYSTEM_MOUNTS.contains(&point)).then(|| {
                Finding::new(
                    Threat::WritableSystem,
                    Severity::High,
                    "root.mounts",
                    format!("{point} is mounted read-write"),
                )
            })
        })
        .collect()
}
