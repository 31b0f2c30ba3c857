//! RASP checks on fixture trees (tests/fixtures/rasp) and fixed platform signals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use smartid_core::rasp::{
    Action, BuildProperty, Decision, EnvironmentReport, FsRoot, Location, LocationPolicy, Platform,
    RaspConfig, RaspPolicy, Region, SkippedCheck, StaticSignals, Threat, check_environment,
};

fn tree(name: &str) -> FsRoot {
    FsRoot::at(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/rasp")
            .join(name),
    )
}

fn threats(name: &str, signals: &StaticSignals) -> Vec<(Threat, String)> {
    let (report, _) = check_environment(
        &tree(name),
        Platform::Android,
        signals,
        &RaspPolicy::mobile(),
        &RaspConfig::default(),
    );
    report
        .findings
        .into_iter()
        .map(|f| (f.threat, f.check))
        .collect()
}

fn only(found: &[(Threat, String)], t: Threat) -> bool {
    !found.is_empty() && found.iter().all(|(x, _)| *x == t)
}

#[test]
fn clean_device_reports_nothing() {
    assert_eq!(threats("clean", &StaticSignals::default()), vec![]);
    // And every file-based check could run on it.
    assert_eq!(
        android(&tree("clean"), &StaticSignals::default()).skipped,
        vec![]
    );
}

fn android(root: &FsRoot, signals: &StaticSignals) -> EnvironmentReport {
    check_environment(
        root,
        Platform::Android,
        signals,
        &RaspPolicy::mobile(),
        &RaspConfig::default(),
    )
    .0
}

#[test]
fn each_fixture_is_detected_by_its_check() {
    let none = StaticSignals::default();
    let rooted = threats("rooted", &none);
    assert!(only(&rooted, Threat::Root), "{rooted:?}");
    assert!(
        rooted.iter().any(|(_, c)| c == "root.su")
            && rooted.iter().any(|(_, c)| c == "root.busybox")
    );
    let magisk = threats("magisk", &none);
    assert!(
        only(&magisk, Threat::Root) && magisk.iter().all(|(_, c)| c == "root.magisk"),
        "{magisk:?}"
    );
    assert_eq!(
        threats("debugger", &none),
        vec![(Threat::Debugger, "debugger.tracer_pid".into())]
    );
    let frida = threats("frida", &none);
    assert!(only(&frida, Threat::Hooking), "{frida:?}");
    for check in ["hooking.maps", "hooking.thread", "hooking.frida_port"] {
        assert!(
            frida.iter().any(|(_, c)| c == check),
            "{check} in {frida:?}"
        );
    }
    assert_eq!(
        threats("vpn", &none),
        vec![(Threat::Vpn, "network.interface".into())]
    );
    // The emulator tree's device file blocks; its CPU's hypervisor flag alone is only reported
    // (ChromeOS runs Android apps in a VM): it used to be a second Emulator finding.
    let emu = threats("emulator", &none);
    assert_eq!(
        emu,
        vec![
            (Threat::Emulator, "emulator.files".into()),
            (Threat::DeviceSettings, "emulator.cpu".into())
        ]
    );
    assert_eq!(
        android(&tree("emulator"), &none).blocking,
        vec![Threat::Emulator]
    );
    assert_eq!(
        threats("writable_system", &none),
        vec![(Threat::WritableSystem, "root.mounts".into())]
    );
}

#[test]
fn platform_signals_are_checked() {
    let props = |kv: &[(&str, &str)]| StaticSignals {
        build_properties: kv.iter().map(|(k, v)| BuildProperty::new(*k, *v)).collect(),
        ..StaticSignals::default()
    };
    let emu = threats(
        "clean",
        &props(&[
            ("ro.kernel.qemu", "1"),
            ("ro.hardware", "ranchu"),
            ("ro.product.model", "sdk_gphone64_arm64"),
        ]),
    );
    assert!(only(&emu, Threat::Emulator) && emu.len() == 3, "{emu:?}");
    // test-keys is a custom ROM's signature, not root: reported as DeviceSettings (it used to be a
    // third Root finding); the other two still are root.
    let insecure = threats(
        "clean",
        &props(&[
            ("ro.debuggable", "1"),
            ("ro.secure", "0"),
            ("ro.build.tags", "release-keys,test-keys"),
        ]),
    );
    assert_eq!(
        insecure.iter().filter(|(t, _)| *t == Threat::Root).count(),
        2,
        "{insecure:?}"
    );
    assert!(insecure.contains(&(Threat::DeviceSettings, "root.props".into())));
    let custom_rom = android(&tree("clean"), &props(&[("ro.build.tags", "test-keys")]));
    assert_eq!(custom_rom.decision, Decision::Allow, "{custom_rom:?}");
    assert_eq!(custom_rom.findings[0].threat, Threat::DeviceSettings);
    let vpn = StaticSignals {
        vpn_active: Some(true),
        proxy: Some("10.0.0.1:8080".into()),
        ..StaticSignals::default()
    };
    let found = threats("clean", &vpn);
    assert!(found.contains(&(Threat::Vpn, "network.platform_vpn".into())));
    assert!(found.contains(&(Threat::Proxy, "network.proxy".into())));
}

#[test]
fn location_policy() {
    let at = |lat, lon, acc, mock| StaticSignals {
        location: Some(Location {
            latitude: lat,
            longitude: lon,
            accuracy_m: acc,
            mock,
        }),
        ..StaticSignals::default()
    };
    let policy = LocationPolicy {
        required: true,
        max_accuracy_m: Some(100.0),
        allowed_regions: vec![Region {
            name: "KE".into(),
            min_lat: -4.7,
            max_lat: 5.0,
            min_lon: 33.9,
            max_lon: 41.9,
        }],
    };
    let cfg = RaspConfig {
        location: policy,
        ..RaspConfig::default()
    };
    let run = |s: &StaticSignals| {
        let (r, _) = check_environment(
            &tree("clean"),
            Platform::Android,
            s,
            &RaspPolicy::mobile(),
            &cfg,
        );
        r
    };
    let nairobi = run(&at(-1.29, 36.82, 20.0, false));
    assert_eq!(nairobi.decision, Decision::Allow);
    assert!(nairobi.findings.is_empty());
    let mocked = run(&at(-1.29, 36.82, 20.0, true));
    assert_eq!(mocked.blocking, vec![Threat::MockLocation]);
    let abroad = run(&at(48.85, 2.35, 20.0, false));
    assert_eq!(
        abroad.decision,
        Decision::Allow,
        "outside the region is reported, not blocked, by default"
    );
    assert_eq!(abroad.findings[0].check, "location.region");
    assert!(
        !abroad.findings[0].evidence.contains("48"),
        "no coordinates in evidence"
    );
    assert_eq!(
        run(&at(-1.29, 36.82, 900.0, false)).findings[0].check,
        "location.accuracy"
    );
    assert_eq!(
        run(&StaticSignals::default()).findings[0].check,
        "location.missing"
    );
    assert_eq!(
        run(&at(f64::NAN, 0.0, 1.0, false)).findings[0].check,
        "location.invalid"
    );
}

#[test]
fn app_signature_is_compared() {
    let cfg = RaspConfig {
        expected_signatures: vec!["AB:CD:EF:01".into()],
        ..RaspConfig::default()
    };
    let with = |sig: Option<&str>| StaticSignals {
        app_signature: sig.map(str::to_string),
        ..StaticSignals::default()
    };
    let run = |s: &StaticSignals| {
        check_environment(
            &tree("clean"),
            Platform::Android,
            s,
            &RaspPolicy::mobile(),
            &cfg,
        )
        .0
    };
    assert_eq!(run(&with(Some("abcdef01"))).decision, Decision::Allow);
    assert_eq!(
        run(&with(Some("abcdef02"))).blocking,
        vec![Threat::AppTampered]
    );
    assert_eq!(run(&with(None)).blocking, vec![Threat::AppTampered]);
}

#[test]
fn policy_blocks_reports_or_ignores() {
    let none = StaticSignals::default();
    let cfg = RaspConfig::default();
    let mobile = check_environment(
        &tree("frida"),
        Platform::Android,
        &none,
        &RaspPolicy::mobile(),
        &cfg,
    )
    .0;
    assert_eq!(mobile.decision, Decision::Block);
    assert_eq!(mobile.blocking, vec![Threat::Hooking]);
    let report = RaspPolicy {
        hooking: Action::Report,
        ..RaspPolicy::mobile()
    };
    let reported = check_environment(&tree("frida"), Platform::Android, &none, &report, &cfg).0;
    assert_eq!(reported.decision, Decision::Allow);
    assert!(!reported.findings.is_empty());
    let ignore = RaspPolicy {
        hooking: Action::Ignore,
        ..RaspPolicy::mobile()
    };
    assert!(
        check_environment(&tree("frida"), Platform::Android, &none, &ignore, &cfg)
            .0
            .findings
            .is_empty()
    );
    // VPNs are reported, not blocked, by the bank defaults.
    assert_eq!(
        check_environment(
            &tree("vpn"),
            Platform::Android,
            &none,
            &RaspPolicy::mobile(),
            &cfg
        )
        .0
        .decision,
        Decision::Allow
    );
}

#[test]
fn report_serialises_deterministically() {
    let s = StaticSignals {
        vpn_active: Some(true),
        attestation_token: Some("token-abc".into()),
        ..StaticSignals::default()
    };
    let run = || {
        let (r, _) = check_environment(
            &tree("frida"),
            Platform::Android,
            &s,
            &RaspPolicy::mobile(),
            &RaspConfig::default(),
        );
        serde_json::to_string(&r).unwrap()
    };
    let a = run();
    assert_eq!(a, run());
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["decision"], "block");
    assert_eq!(v["platform"], "android");
    // An attestation needs a capture to bind to: a one-off report has none (sealing asks for it).
    assert_eq!(v["attestation"], serde_json::Value::Null);
    let back: smartid_core::rasp::EnvironmentReport = serde_json::from_value(v).unwrap();
    // The VPN, the agent's library name, its gum-js-loop thread and the listener on 27042. Its
    // `gmain` thread is not a finding: GLib thread names count only next to Frida's runtime found in
    // memory, which a fixture tree (not a process) cannot show.
    assert_eq!(back.findings.len(), 4, "{:?}", back.findings);
    assert!(
        back.findings.iter().all(|f| !f.evidence.contains("gmain")),
        "{:?}",
        back.findings
    );
    assert!(back.findings.is_sorted(), "findings are sorted");
}

#[test]
fn ios_jailbreak_paths() {
    let dir = tempdir("ios");
    std::fs::create_dir_all(dir.join("Applications/Sileo.app")).unwrap();
    std::fs::create_dir_all(dir.join("var/jb")).unwrap();
    let (r, _) = check_environment(
        &FsRoot::at(&dir),
        Platform::Ios,
        &StaticSignals::default(),
        &RaspPolicy::mobile(),
        &RaspConfig::default(),
    );
    assert_eq!(r.blocking, vec![Threat::Root]);
    assert_eq!(r.findings.len(), 2);
    let empty = tempdir("ios-clean");
    let (r, _) = check_environment(
        &FsRoot::at(&empty),
        Platform::Ios,
        &StaticSignals::default(),
        &RaspPolicy::mobile(),
        &RaspConfig::default(),
    );
    assert!(r.findings.is_empty());
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smartid-rasp-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Copies a fixture tree into a temporary one, leaving out `skip` (relative paths).
fn copy_tree(name: &str, tag: &str, skip: &[&str]) -> PathBuf {
    fn copy(from: &std::path::Path, to: &std::path::Path, rel: &str, skip: &[&str]) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let file = e.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() {
                file.clone()
            } else {
                format!("{rel}/{file}")
            };
            if skip.contains(&rel.as_str()) {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(&file), &rel, skip);
            } else {
                std::fs::copy(e.path(), to.join(&file)).unwrap();
            }
        }
    }
    let dir = tempdir(tag);
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rasp")
        .join(name);
    copy(&src, &dir, "", skip);
    dir
}

fn skipped_checks(r: &EnvironmentReport) -> Vec<&str> {
    r.skipped.iter().map(|s| s.check.as_str()).collect()
}

/// Android 10+ denies apps /proc/net: the port check did not run, and the report says so instead of
/// passing it as clean.
#[test]
fn a_tree_without_proc_net_lists_the_port_check_as_skipped() {
    let dir = copy_tree("frida", "no-proc-net", &["proc/net"]);
    let r = android(&FsRoot::at(&dir), &StaticSignals::default());
    assert!(
        r.findings.iter().all(|f| f.check != "hooking.frida_port"),
        "{r:?}"
    );
    assert_eq!(
        skipped_checks(&r),
        ["hooking.frida_port"],
        "{:?}",
        r.skipped
    );
    assert!(
        r.skipped[0].reason.contains("/proc/net/tcp"),
        "{:?}",
        r.skipped
    );
    // The other checks still ran: the agent is still found.
    assert!(r.findings.iter().any(|f| f.check == "hooking.maps"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Files a process cannot read are listed per check: /proc/self/status, /proc/self/maps, the task
/// list, /proc/mounts and /proc/cpuinfo.
#[test]
fn unreadable_proc_files_are_listed_per_check() {
    let dir = copy_tree(
        "clean",
        "no-proc-self",
        &["proc/self", "proc/mounts", "proc/cpuinfo"],
    );
    let r = android(&FsRoot::at(&dir), &StaticSignals::default());
    assert!(r.findings.is_empty(), "{r:?}");
    assert_eq!(
        skipped_checks(&r),
        [
            "debugger.tracer_pid",
            "emulator.cpu",
            "hooking.ld_preload",
            "hooking.maps",
            "hooking.thread",
            "root.mounts"
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Magisk's /data/adb cannot be looked into by an app (`EACCES`): the Magisk check is listed as
/// skipped, naming the directory, rather than reported clean. (A symlink loop stands in for the
/// denial, which a test running as root cannot get from permissions; without root, a 000 directory
/// is checked too.)
#[test]
fn paths_the_process_cannot_look_at_are_listed_as_skipped() {
    let dir = copy_tree("clean", "no-adb", &[]);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::os::unix::fs::symlink("adb", dir.join("data/adb")).unwrap();
    let r = android(&FsRoot::at(&dir), &StaticSignals::default());
    assert!(r.findings.is_empty(), "{r:?}");
    assert_eq!(
        r.skipped,
        vec![SkippedCheck::new(
            "root.magisk",
            "not accessible to this process: /data/adb"
        )]
    );
    assert_eq!(r.decision, Decision::Allow);

    use std::os::unix::fs::PermissionsExt;
    let locked = copy_tree("clean", "adb-0700", &[]);
    std::fs::create_dir_all(locked.join("data/adb")).unwrap();
    std::fs::set_permissions(
        locked.join("data/adb"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let can_read_anyway = std::fs::read_dir(locked.join("data/adb")).is_ok(); // root
    let r = android(&FsRoot::at(&locked), &StaticSignals::default());
    if !can_read_anyway {
        assert_eq!(skipped_checks(&r), ["root.magisk"]);
    }
    std::fs::set_permissions(
        locked.join("data/adb"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&locked);
}

/// `LD_PRELOAD` counts only for preloaded libraries really mapped, from outside the system
/// directories: an Android app's /proc/self/environ is zygote's, where some vendors preload their own
/// system libraries into every process.
#[test]
fn ld_preload_in_the_initial_environment_is_reported() {
    let dir = copy_tree("clean", "environ", &[]);
    let maps = std::fs::read_to_string(dir.join("proc/self/maps")).unwrap();
    let with_maps = |extra: &str| {
        std::fs::write(dir.join("proc/self/maps"), format!("{maps}{extra}")).unwrap();
    };
    std::fs::write(
        dir.join("proc/self/environ"),
        b"PATH=/usr/bin\0LD_PRELOAD=/data/local/tmp/libhide.so:/tmp/x/libother.so\0HOME=/\0",
    )
    .unwrap();
    // Mapped from outside the system directories: reported, naming them.
    with_maps(
        "7f1000000000-7f1000001000 r-xp 00000000 fd:05 71 /data/local/tmp/libhide.so\n\
         7f1000100000-7f1000101000 r-xp 00000000 fd:05 72 /tmp/x/libother.so\n",
    );
    let r = android(&FsRoot::at(&dir), &StaticSignals::default());
    assert_eq!(r.blocking, vec![Threat::Hooking]);
    assert_eq!(r.findings.len(), 1, "{r:?}");
    assert_eq!(r.findings[0].check, "hooking.ld_preload");
    assert_eq!(
        r.findings[0].evidence,
        "LD_PRELOAD is set: libhide.so, libother.so"
    );
    // Listed but not mapped (zygote's environment; a library that failed to load): nothing.
    with_maps("");
    let r = android(&FsRoot::at(&dir), &StaticSignals::default());
    assert!(r.findings.is_empty() && r.skipped.is_empty(), "{r:?}");
    // A vendor's system library preloaded into every process: nothing.
    std::fs::write(
        dir.join("proc/self/environ"),
        b"PATH=/system/bin\0LD_PRELOAD=libvendorperf.so\0",
    )
    .unwrap();
    with_maps("7f1000000000-7f1000001000 r-xp 00000000 fd:05 73 /vendor/lib64/libvendorperf.so\n");
    let r = android(&FsRoot::at(&dir), &StaticSignals::default());
    assert!(r.findings.is_empty(), "{r:?}");
    // A plain environment is clean.
    std::fs::write(dir.join("proc/self/environ"), b"PATH=/usr/bin\0HOME=/\0").unwrap();
    assert!(
        android(&FsRoot::at(&dir), &StaticSignals::default())
            .findings
            .is_empty()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The report is sealed into the payload: a payload whose environment lists more skipped checks
/// than an opener accepts, or longer strings, does not validate.
#[test]
fn the_payload_bounds_skipped_checks() {
    use smartid_core::seal::{Payload, SessionId};
    let mut p = Payload::example(SessionId::from_bytes([7; 16]), 1_790_000_000, "m@1");
    p.environment.skipped = (0..32)
        .map(|i| SkippedCheck::new(&format!("check.{i}"), "r".repeat(256)))
        .collect();
    assert_eq!(p.validate(), Ok(()));
    p.environment
        .skipped
        .push(SkippedCheck::new("check.33", "reason"));
    assert_eq!(p.validate(), Err("environment"));
    p.environment.skipped.truncate(1);
    p.environment.skipped[0].reason = "r".repeat(257);
    assert_eq!(p.validate(), Err("environment"));
}
