//! The RASP checks reading arbitrary /proc and /sys contents: never panic.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use smartid_core::rasp::{FsRoot, Platform, RaspConfig, RaspPolicy, StaticSignals, check_environment};

const FILES: [&str; 6] = ["proc/self/status", "proc/self/maps", "proc/mounts", "proc/cpuinfo", "proc/net/tcp", "proc/self/task/1/comm"];

fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("smartid-fuzz-rasp-{}", std::process::id()));
        for f in FILES {
            let _ = std::fs::create_dir_all(d.join(f).parent().unwrap_or(&d));
        }
        d
    })
}

fuzz_target!(|data: &[u8]| {
    // Each file gets one slice of the input, split at 0xFF bytes.
    let mut parts = data.split(|b| *b == 0xFF);
    for f in FILES {
        let _ = std::fs::write(root().join(f), parts.next().unwrap_or(&[]));
    }
    let _ = check_environment(&FsRoot::at(root()), Platform::Android, &StaticSignals::default(), &RaspPolicy::mobile(), &RaspConfig::default());
});
