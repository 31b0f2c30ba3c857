//! Emulators, simulators and virtual machines: Android build properties and emulator device files,
//! the CPU's hypervisor flag, the iOS simulator.
//!
//! The hypervisor flag alone is not an emulator on a phone's platform: ChromeOS runs Android apps in a
//! VM (ARCVM) for genuine users. It is reported (`DeviceSettings`); the emulator's own markers
//! (qemu properties, goldfish/ranchu hardware, its device files) are what block.

use super::signals::{PlatformSignals, prop};
use super::{Finding, FsRoot, Platform, Severity, SkippedCheck, Threat};

const EMULATOR_FILES: &[&str] = &[
    "/dev/qemu_pipe",
    "/dev/socket/qemud",
    "/dev/goldfish_pipe",
    "/sys/qemu_trace",
    "/system/lib/libc_malloc_debug_qemu.so",
];
const EMULATOR_HARDWARE: &[&str] = &["goldfish", "ranchu", "vbox86", "nox", "ttvm"];

pub fn check(
    root: &FsRoot,
    platform: Platform,
    signals: &dyn PlatformSignals,
    skipped: &mut Vec<SkippedCheck>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |sev: Severity, check: &str, ev: String| {
        out.push(Finding::new(Threat::Emulator, sev, check, ev))
    };
    if platform == Platform::Android {
        let props = signals.build_properties();
        let p = |k: &str| prop(&props, k).unwrap_or_default();
        if p("ro.kernel.qemu") == "1" || p("ro.boot.qemu") == "1" {
            add(
                Severity::Critical,
                "emulator.props",
                "ro.kernel.qemu=1".into(),
            );
        }
        let hw = p("ro.hardware");
        if EMULATOR_HARDWARE.iter().any(|h| hw.contains(h)) {
            add(
                Severity::Critical,
                "emulator.props",
                format!("ro.hardware={hw}"),
            );
        }
        let model = p("ro.product.model");
        if model.contains("Android SDK built for")
            || model.contains("Emulator")
            || model.starts_with("sdk_gphone")
        {
            add(
                Severity::High,
                "emulator.props",
                format!("ro.product.model={model}"),
            );
        }
        let fp = p("ro.build.fingerprint");
        if fp.starts_with("generic") || fp.contains("emulator") || fp.contains("vbox") {
            add(
                Severity::High,
                "emulator.props",
                format!("ro.build.fingerprint={fp}"),
            );
        }
        for f in root.probe_all("emulator.files", EMULATOR_FILES, skipped) {
            add(
                Severity::Critical,
                "emulator.files",
                format!("emulator device file: {f}"),
            );
        }
    }
    if platform == Platform::Ios
        && (cfg!(target_abi = "sim") || std::env::var_os("SIMULATOR_DEVICE_NAME").is_some())
    {
        add(
            Severity::Critical,
            "emulator.simulator",
            "running in the iOS simulator".into(),
        );
    }
    if platform.has_procfs() {
        let hypervisor = match root.read_checked("/proc/cpuinfo") {
            Ok(c) => c
                .lines()
                .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "hypervisor")),
            Err(e) => {
                skipped.push(SkippedCheck::new(
                    "emulator.cpu",
                    format!("/proc/cpuinfo: {}", e.describe()),
                ));
                false
            }
        };
        if hypervisor {
            if platform.is_mobile() {
                // Android in a VM: an emulator (its other markers block) or ChromeOS's ARCVM.
                out.push(Finding::new(
                    Threat::DeviceSettings,
                    Severity::Low,
                    "emulator.cpu",
                    "CPU reports a hypervisor (a VM: ChromeOS or an emulator)",
                ));
            } else {
                // A desktop test bench often runs in a VM.
                out.push(Finding::new(
                    Threat::Emulator,
                    Severity::Low,
                    "emulator.cpu",
                    "CPU reports a hypervisor",
                ));
            }
        }
    }
    out
}
