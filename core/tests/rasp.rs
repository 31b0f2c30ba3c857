//! RASP checks on fixture trees (tests/fixtures/rasp) and fixed platform signals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use smartid_core::rasp::{
    Action, BuildProperty, Decision, FsRoot, Location, LocationPolicy, Platform, RaspConfig,
    RaspPolicy, Region, StaticSignals, Threat, check_environment,
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
    let emu = threats("emulator", &none);
    assert!(only(&emu, Threat::Emulator) && emu.len() == 2, "{emu:?}");
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
    let insecure = threats(
        "clean",
        &props(&[
            ("ro.debuggable", "1"),
            ("ro.secure", "0"),
            ("ro.build.tags", "release-keys,test-keys"),
        ]),
    );
    assert!(
        only(&insecure, Threat::Root) && insecure.len() == 3,
        "{insecure:?}"
    );
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
    assert_eq!(back.findings.len(), 5);
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
