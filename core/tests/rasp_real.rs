//! RASP on this machine, not fixtures: a real shared library that looks like a Frida agent, loaded with
//! dlopen, is reported as hooking. (A real tracer is tested from the harness: tests/env_traced.rs.)
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, unsafe_code)]

use std::ffi::CString;
use std::process::Command;

use smartid_core::rasp::{
    FsRoot, Platform, RaspConfig, RaspPolicy, StaticSignals, Threat, check_environment,
};

const AGENT_C: &str = r#"
int frida_agent_main(const char *data, void *state) { (void)data; (void)state; return 0; }
"#;

#[test]
fn dlopened_frida_lookalike_is_reported() {
    let run = || {
        check_environment(
            &FsRoot::system(),
            Platform::current(),
            &StaticSignals::default(),
            &RaspPolicy::desktop(),
            &RaspConfig::default(),
        )
        .0
    };
    let before = run();
    assert!(
        before.findings.iter().all(|f| f.threat != Threat::Hooking),
        "{:?}",
        before.findings
    );

    let dir = std::env::temp_dir().join(format!("smartid-frida-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("agent.c");
    let lib = dir.join("frida-agent-64.so");
    std::fs::write(&src, AGENT_C).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(&cc)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .status()
        .expect("a C compiler");
    assert!(st.success());
    let path = CString::new(lib.to_str().unwrap()).unwrap();
    // SAFETY: loading a library we just built; it has no constructors.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    assert!(!handle.is_null(), "dlopen failed");

    let after = run();
    let hooking: Vec<_> = after
        .findings
        .iter()
        .filter(|f| f.threat == Threat::Hooking)
        .collect();
    assert!(
        hooking
            .iter()
            .any(|f| f.check == "hooking.maps" && f.evidence.contains("frida-agent-64.so")),
        "{hooking:?}"
    );
    assert!(
        hooking
            .iter()
            .any(|f| f.check == "hooking.symbol" && f.evidence.contains("frida_agent_main")),
        "{hooking:?}"
    );
    // The bank policy blocks it.
    let blocked = check_environment(
        &FsRoot::system(),
        Platform::current(),
        &StaticSignals::default(),
        &RaspPolicy::mobile(),
        &RaspConfig::default(),
    )
    .0;
    assert!(blocked.blocking.contains(&Threat::Hooking));
    let _ = std::fs::remove_dir_all(&dir);
}
