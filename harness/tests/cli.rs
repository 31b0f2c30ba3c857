//! The `smartid` binary end to end: demo, capture from PNG and Y4M, keygen/open, env under a real tracer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

fn smartid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smartid"))
        .args(args)
        .output()
        .expect("smartid runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn carphone() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/faces/carphone")
        .to_string_lossy()
        .into_owned()
}

/// The embedder dimension of the model set under test.
fn template_dim() -> usize {
    common::manifest().embedder.dim
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smartid-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn demo_runs_on_built_in_defaults() {
    let o = smartid(&["demo"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        // Passed at 43 or 44: see core's carphone_with_blink_succeeds.
        t.contains("challenge blink      action at frame 42, passed at frame 43")
            || t.contains("challenge blink      action at frame 42, passed at frame 44"),
        "{t}"
    );
    // Every request over HTTP got the guide's code: the report lists each, and the demo fails itself
    // on any other code.
    let line = |what: &str| {
        t.lines()
            .find(|l| l.contains(what))
            .unwrap_or("")
            .to_string()
    };
    // Enrolled with its token and evidence frames verified by the server.
    assert!(
        line("enroll capture 1")
            .contains(" 200   200  enrolled; token verified, evidence passed true (4 frames"),
        "{t}"
    );
    // A script's swap: capture 2's genuine frames sealed with another face's template.
    assert!(
        line("another face's template")
            .contains("407  Template validation failed (reverification_failed)")
            && line("another face's template").contains("template_not_from_frame"),
        "{t}"
    );
    assert!(
        line("authenticate with capture 2").contains("authenticated true"),
        "{t}"
    );
    assert!(
        line("replay capture 1").contains("407  Template validation failed (replayed)"),
        "{t}"
    );
    assert!(
        line("one payload character changed").contains(" 407 "),
        "{t}"
    );
    assert!(
        line("un-enroll again").contains("406  User not found"),
        "{t}"
    );
    assert!(t.contains("demo complete"), "{t}");
}

#[test]
fn capture_seal_and_open_through_the_cli() {
    let dir = tmp("seal");
    let key = dir.join("server");
    assert!(
        smartid(&[
            "keygen",
            "--key-id",
            "cli-test",
            "--out",
            key.to_str().unwrap()
        ])
        .status
        .success()
    );
    let o = smartid(&[
        "capture",
        "--frames",
        &carphone(),
        "--challenges",
        "blink",
        "--json",
        "--seal-to",
        dir.join("server.pk").to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["result"], "success");
    assert_eq!(v["evidence"]["challenges"][0]["action_frame"], 42);
    assert_eq!(v["evidence"]["test_mode"], true);
    let t = format!("@{}", dir.join("template.txt").display());
    let p = format!("@{}", dir.join("payload.txt").display());
    let opened = smartid(&[
        "open",
        "--key",
        dir.join("server.sk").to_str().unwrap(),
        &t,
        &p,
    ]);
    let out = text(&opened);
    assert!(opened.status.success(), "{out}");
    assert!(
        out.contains("DEBUGGING TOOL")
            && out.contains(&format!("{} values", template_dim()))
            && out.contains("\"test_mode\": true"),
        "{out}"
    );
    // The private key file is not world-readable.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("server.sk"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }
    // A wrong key is refused with the server's code.
    let other = dir.join("other");
    smartid(&[
        "keygen",
        "--key-id",
        "cli-test",
        "--out",
        other.to_str().unwrap(),
    ]);
    let refused = smartid(&[
        "open",
        "--key",
        dir.join("other.sk").to_str().unwrap(),
        &t,
        &p,
    ]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("refused (407): decryption failed"));

    // keygen never replaces a key, nor writes through a symlink planted where a key would go.
    let sk_before = std::fs::read(dir.join("server.sk")).unwrap();
    let again = smartid(&[
        "keygen",
        "--key-id",
        "cli-test",
        "--out",
        key.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("refusing to overwrite"),
        "{}",
        text(&again)
    );
    assert_eq!(std::fs::read(dir.join("server.sk")).unwrap(), sk_before);
    #[cfg(unix)]
    {
        let target = dir.join("victim.txt");
        std::fs::write(&target, "not a key\n").unwrap();
        let planted = dir.join("planted");
        std::os::unix::fs::symlink(&target, planted.with_extension("sk")).unwrap();
        let o = smartid(&[
            "keygen",
            "--key-id",
            "k2",
            "--out",
            planted.to_str().unwrap(),
        ]);
        assert!(!o.status.success());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "not a key\n");
        assert!(
            !planted.with_extension("pk").exists(),
            "nothing half-written"
        );
    }
    // An @file larger than any sealed capture is refused before it is read whole.
    let big = dir.join("big.txt");
    std::fs::write(&big, vec![b'A'; 1_200_000]).unwrap();
    let o = smartid(&[
        "open",
        "--key",
        dir.join("server.sk").to_str().unwrap(),
        &format!("@{}", big.display()),
        &p,
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("larger than a sealed capture"),
        "{}",
        text(&o)
    );
}

#[test]
fn capture_from_y4m_and_a_failing_challenge() {
    let dir = tmp("y4m");
    let y4m = dir.join("carphone.y4m");
    let w = smartid(&[
        "y4m",
        "--frames",
        &carphone(),
        "--out",
        y4m.to_str().unwrap(),
    ]);
    assert!(w.status.success(), "{}", text(&w));
    let ok = smartid(&[
        "capture",
        "--y4m",
        y4m.to_str().unwrap(),
        "--challenges",
        "blink",
    ]);
    let t = text(&ok);
    assert!(ok.status.success(), "{t}");
    assert!(t.contains("challenge blink      action at frame 42"), "{t}");
    // The recording never turns right: it ends before the challenge can pass.
    let fail = smartid(&[
        "capture",
        "--frames",
        &carphone(),
        "--challenges",
        "turn-right",
    ]);
    assert!(!fail.status.success());
    assert!(
        text(&fail).contains("TurnRight"),
        "guidance asked for the turn"
    );
    let bad = smartid(&["capture", "--frames", &carphone(), "--challenges", "wink"]);
    assert!(text(&bad).contains("unknown challenge 'wink'"));
}

#[test]
fn analyze_and_compare() {
    let stills = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/faces/stills");
    let s = |n: &str| stills.join(n).to_string_lossy().into_owned();
    let same = text(&smartid(&["compare", &s("obama.jpg"), &s("obama2.jpg")]));
    assert!(same.contains("same person"), "{same}");
    let diff = text(&smartid(&["compare", &s("obama.jpg"), &s("biden.jpg")]));
    assert!(diff.contains("different people"), "{diff}");
    let o = smartid(&["analyze", "--json", &s("obama_partial_face.jpg")]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["error_code"], 3003);
}

/// A real tracer: `smartid env` run under strace reports the debugger; run plainly it does not.
#[cfg(target_os = "linux")]
#[test]
fn env_reports_a_real_tracer() {
    let plain = smartid(&["env", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    let has_debugger = |v: &serde_json::Value| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["threat"] == "debugger")
    };
    assert!(!has_debugger(&v), "{v}");
    let traced = Command::new("strace")
        .args([
            "-f",
            "-o",
            "/dev/null",
            env!("CARGO_BIN_EXE_smartid"),
            "env",
            "--json",
            "--policy",
            "mobile",
        ])
        .output()
        .expect("strace is installed by scripts/test.sh");
    assert!(traced.status.success(), "{}", text(&traced));
    let v: serde_json::Value = serde_json::from_slice(&traced.stdout).unwrap();
    assert!(has_debugger(&v), "{v}");
    assert_eq!(v["decision"], "block");
}
