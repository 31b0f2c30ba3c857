//! Issue 12's attack corpus, rebuilt from the fixtures by `smartid attacks` and run with the default
//! configuration on the model set under test (`SMARTID_MODELS`): no attack may pass, every genuine
//! recording must, and the low-bitrate copy must be guided rather than told there is no face.
//! Runs are seeded (`SMARTID_ATTACK_SEED` picks another seed), so a failure replays exactly, and the
//! clip that performs every action runs once per possible draw: on one random draw per row, a clip that
//! answered 2 of the 20 draws failed CI about one run in ten instead of every time.
//! `SMARTID_ATTACK_RUNS` sets the runs per row (1 here; docs/attacks.md's table uses more).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Output};

use serde_json::Value;

#[test]
fn no_attack_passes_and_genuine_recordings_do() {
    let mut args = vec![];
    // The test command runs this once per model set: the second (anti-spoof) run keeps the rows the
    // anti-spoof model changes, and the genuine controls (the whole corpus: `smartid attacks`).
    if has_antispoof() {
        for only in ["all-actions", "spoof-between", "passive", "genuine"] {
            args.extend(["--only", only]);
        }
    }
    let (rows, out) = corpus(&args);
    let mut seen_genuine = 0;
    let mut low_bitrate_seen = false;
    for r in &rows {
        seen_genuine += usize::from(r["expect"] == "passes");
        if r["attack"] == "low-bitrate-recording" {
            low_bitrate_seen = true;
            let frames = r["frames"].as_u64().unwrap();
            let (no_face, guided) = (
                r["no_face_frames"].as_u64().unwrap(),
                r["image_issue_frames"].as_u64().unwrap(),
            );
            println!(
                "  low bitrate: {no_face} no-face and {guided} image-issue prompts of {frames}"
            );
            assert!(
                guided * 2 > frames && no_face * 4 < frames,
                "the poor image should be named on most frames: {r}"
            );
        }
    }
    assert!(seen_genuine >= 4, "the genuine controls ran");
    assert!(rows.len() >= 12, "the corpus ran: {}", rows.len());
    assert!(
        low_bitrate_seen || has_antispoof(),
        "the degraded recording ran"
    );
    judge(&rows, &out);
}

/// The still that performs every action in turn (neutral and peaks held by copied frames), against
/// each of the 20 draws the default configuration can make, with its noisy variant measured alongside.
#[test]
fn the_all_actions_clip_answers_no_draw() {
    let (rows, out) = corpus(&[
        "--every-draw",
        "--only",
        "all-actions-clip / carphone, 2-D turn warp, poses held",
    ]);
    let refused: Vec<&Value> = rows.iter().filter(|r| r["expect"] == "refused").collect();
    assert_eq!(refused.len(), 1, "the clip ran: {rows:?}");
    assert_eq!(
        refused[0]["runs"].as_u64().unwrap() % 20,
        0,
        "every draw ran"
    );
    judge(&rows, &out);
}

/// Runs `smartid attacks --json` seeded with `extra` arguments; returns its rows and the process.
fn corpus(extra: &[&str]) -> (Vec<Value>, Output) {
    let runs = std::env::var("SMARTID_ATTACK_RUNS").unwrap_or_else(|_| "1".into());
    let seed = std::env::var("SMARTID_ATTACK_SEED").unwrap_or_else(|_| "20261204".into());
    let out = Command::new(env!("CARGO_BIN_EXE_smartid"))
        .args(["attacks", "--runs", &runs, "--seed", &seed, "--json"])
        .args(extra)
        .output()
        .expect("smartid runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let rows = report["outcomes"].as_array().unwrap().clone();
    (rows, out)
}

/// Prints every row; fails if an attack passed or a genuine recording did not.
fn judge(rows: &[Value], out: &Output) {
    let mut failures = Vec::new();
    for r in rows {
        let (attack, variant) = (
            r["attack"].as_str().unwrap(),
            r["variant"].as_str().unwrap(),
        );
        let (passed, n) = (r["passed"].as_u64().unwrap(), r["runs"].as_u64().unwrap());
        println!(
            "{attack} / {variant}: {passed} of {n} passed ({})",
            r["expect"]
        );
        if let Some(draws) = r.get("passed_draws") {
            println!("  passed on draws {draws}");
        }
        let ok = match r["expect"].as_str().unwrap() {
            "refused" => passed == 0,
            "passes" => passed == n,
            _ => true,
        };
        if !ok {
            failures.push(format!("{attack} ({variant}): {passed} of {n} passed"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether the model set under test has an anti-spoof model.
fn has_antispoof() -> bool {
    common::manifest().antispoof.is_some()
}
