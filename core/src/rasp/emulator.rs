//! Emulators, simulators and virtual machines: Android build properties and emulator device files,
//! the CPU's hypervisor flag, the iOS simulator.

use super::signals::{PlatformSignals, prop};
use super::{Finding, FsRoot, Platform, Severity, Threat};

const EMULATOR_FILES: &[&str] = &[
    "/dev/qemu_pipe",
    "/dev/socket/qemud",
    "/dev/goldfish_pipe",
    "/sys/qemu_trace",
    "/system/lib/libc_malloc_debug_qemu.so",
];
const EMULATOR_HARDWARE: &[&str] = &["goldfish", "ranchu", "vbox86", "nox", "ttvm"];

pub fn check(root: &FsRoot, platform: Platform, signals: &dyn PlatformSignals) -> Vec<Finding> {
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
        for f in EMULATOR_FILES {
            if root.exists(f) {
                add(
                    Severity::Critical,
                    "emulator.files",
                    format!("emulator device file: {f}"),
                );
            }
        }
    }
    if platform.has_procfs() {
        let hypervisor = root.read("/proc/cpuinfo").is_some_and(|c| {
            c.lines()
                .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "hypervisor"))
        });
        if hypervisor {
            // A phone's CPU never reports a hypervisor to apps; a desktop test bench often runs in a VM.
            let sev = if platform.is_mobile() {
                Severity::High
            } else {
                Severity::Low
            };
            add(sev, "emulator.cpu", "CPU reports a hypervisor".into());
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
    out
}
