//! Capture sessions over recorded frames: the scenarios end to end, with the real models.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "capture")]

mod common;

use common::*;
use smartid_core::liveness::LivenessMode;
use smartid_core::liveness::active::ChallengeKind;
use smartid_core::{
    CaptureConfig, CaptureSession, ErrorCode, Frame, Guidance, PixelFormat, Prompt, RgbImage, Step,
};

fn t_ms(i: usize) -> u64 {
    (i as f64 * 1000.0 / 29.97) as u64
}

fn replay(
    cfg: CaptureConfig,
    frames: &[RgbImage],
) -> (
    Vec<Guidance>,
    Result<smartid_core::CaptureResult, smartid_core::Error>,
) {
    let mut s = CaptureSession::new(engine(), cfg, desktop_environment()).unwrap();
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let g = s.push_rgb(f, t_ms(i)).unwrap();
        let end = matches!(g.step, Step::Done | Step::Failed);
        out.push(g);
        if end {
            break;
        }
    }
    (out, s.finish())
}

fn fixed(kinds: &[ChallengeKind]) -> CaptureConfig {
    CaptureConfig {
        fixed_challenges: Some(kinds.to_vec()),
        ..CaptureConfig::default()
    }
}

fn carphone_frames(range: std::ops::Range<usize>) -> Vec<RgbImage> {
    range.map(carphone).collect()
}

#[test]
fn carphone_with_blink_succeeds() {
    let (guidance, result) = replay(fixed(&[ChallengeKind::Blink]), &carphone_frames(0..120));
    let r = result.unwrap();
    let ev = &r.evidence.challenges;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].kind, ChallengeKind::Blink);
    assert_eq!(ev[0].action_frame, 42, "the first blink of the recording");
    assert_eq!(ev[0].passed_frame, 43);
    assert!(r.evidence.test_mode, "fixed challenges are a replay");
    assert_eq!(r.template.values().len(), 512);
    assert!(r.template_frame > 43);
    let passive = r.evidence.passive.unwrap();
    assert!(passive.live && passive.samples >= 3);
    assert!(r.evidence.identity_min_similarity > 0.5);
    // The UI saw the blink prompt and the steps in order.
    assert!(guidance.iter().any(|g| g.prompt == Prompt::Blink));
    assert_eq!(guidance.last().unwrap().step, Step::Done);
    let steps: Vec<Step> = guidance.iter().map(|g| g.step).collect();
    let first = |s: Step| steps.iter().position(|x| *x == s).unwrap();
    assert!(
        first(Step::Positioning) < first(Step::Challenge)
            && first(Step::Challenge) < first(Step::Capturing)
    );
    // Tracking: the detector ran only on sampled frames.
    println!(
        "frames {} detector runs {}",
        r.evidence.frames, r.evidence.detector_runs
    );
    assert!(r.evidence.detector_runs <= r.evidence.frames / 4);
}

#[test]
fn challenge_the_recording_never_performs_fails() {
    for kind in [ChallengeKind::TurnLeft, ChallengeKind::TurnRight] {
        let cfg = CaptureConfig {
            challenge_timeout_ms: 2_000,
            ..fixed(&[kind])
        };
        let (guidance, result) = replay(cfg, &carphone_frames(0..120));
        let err = result.unwrap_err();
        assert_eq!(err.code(), ErrorCode::ChallengeFailed, "{kind:?}");
        assert_eq!(
            guidance.last().unwrap().error_code,
            Some(ErrorCode::ChallengeFailed)
        );
        assert!(err.to_string().contains(kind.name()));
    }
}

#[test]
fn a_photo_held_to_the_camera_fails_every_challenge() {
    // The same person who passes when the recording moves: one frame, held still for 150 frames.
    let photo = carphone(0);
    let frames: Vec<RgbImage> = (0..150).map(|_| photo.clone()).collect();
    for kind in ChallengeKind::ALL {
        let cfg = CaptureConfig {
            challenge_timeout_ms: 3_000,
            ..fixed(&[kind])
        };
        let (guidance, result) = replay(cfg, &frames);
        assert!(
            guidance.iter().any(|g| g.step == Step::Challenge),
            "{kind:?}: positioning passed"
        );
        assert_eq!(
            result.unwrap_err().code(),
            ErrorCode::ChallengeFailed,
            "{kind:?}"
        );
    }
}

/// The astronaut's face, framed like the carphone frames (176x144).
fn other_person_frame() -> RgbImage {
    let img = still("astronaut");
    let d = engine().detect_one(&img).unwrap();
    let c = d.bbox.centre();
    let scale = d.bbox.height() / 50.0; // carphone faces are ~50 px tall
    let mut data = Vec::with_capacity(176 * 144 * 3);
    for y in 0..144 {
        for x in 0..176 {
            let sx = c.x + (x as f32 - 88.0) * scale;
            let sy = c.y + (y as f32 - 72.0) * scale;
            data.extend(img.get_clamped(sx as i64, sy as i64));
        }
    }
    RgbImage::from_raw(176, 144, data).unwrap()
}

#[test]
fn a_different_person_midway_fails_with_face_changed() {
    let mut frames = carphone_frames(0..50);
    let other = other_person_frame();
    frames.extend((0..60).map(|_| other.clone()));
    let (guidance, result) = replay(
        fixed(&[ChallengeKind::Blink, ChallengeKind::TurnLeft]),
        &frames,
    );
    assert_eq!(result.unwrap_err().code(), ErrorCode::FaceChanged);
    // Caught within one identity interval of the switch.
    assert!(
        guidance.len() <= 50 + 16,
        "failed at frame {}",
        guidance.len()
    );
}

#[test]
fn no_face_says_so_then_times_out() {
    let grey = RgbImage::from_raw(176, 144, vec![90; 176 * 144 * 3]).unwrap();
    let frames: Vec<RgbImage> = (0..120).map(|_| grey.clone()).collect();
    let cfg = CaptureConfig {
        overall_timeout_ms: 2_000,
        ..CaptureConfig::default()
    };
    let (guidance, result) = replay(cfg, &frames);
    assert!(
        guidance[..10]
            .iter()
            .all(|g| g.prompt == Prompt::NoFace && g.step == Step::Positioning)
    );
    assert_eq!(
        guidance.last().unwrap().error_code,
        Some(ErrorCode::CaptureTimeout)
    );
    assert_eq!(result.unwrap_err().code(), ErrorCode::CaptureTimeout);
}

#[test]
fn passive_only_mode_needs_no_challenge() {
    let cfg = CaptureConfig {
        liveness: LivenessMode::Passive,
        ..CaptureConfig::default()
    };
    let (_, result) = replay(cfg, &carphone_frames(0..40));
    let r = result.unwrap();
    assert!(r.evidence.challenges.is_empty() && !r.evidence.test_mode);
    assert!(r.evidence.passive.unwrap().live);
}

#[test]
fn strict_passive_threshold_suspects_a_spoof() {
    // No spoof samples exist in the fixtures; a threshold above every real score shows the decision
    // path and its code.
    let cfg = CaptureConfig {
        liveness: LivenessMode::Passive,
        passive_threshold: Some(1.0),
        ..CaptureConfig::default()
    };
    let (_, result) = replay(cfg, &carphone_frames(0..40));
    assert_eq!(result.unwrap_err().code(), ErrorCode::SpoofSuspected);
}

#[test]
fn cancel_incomplete_and_bad_frames() {
    let mut s =
        CaptureSession::new(engine(), CaptureConfig::default(), desktop_environment()).unwrap();
    assert_eq!(s.challenges().len(), 2, "random draw of the default count");
    // A malformed frame is an error for that frame only.
    let buf = [0u8; 10];
    let err = s
        .push_frame(&Frame::packed(&buf, 176, 144, PixelFormat::Nv21), 0)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::FrameBuffer);
    let g = s.push_rgb(&carphone(0), 33).unwrap();
    assert_eq!(g.step, Step::Positioning);
    let incomplete =
        CaptureSession::new(engine(), CaptureConfig::default(), desktop_environment()).unwrap();
    assert_eq!(
        incomplete.finish().unwrap_err().code(),
        ErrorCode::CaptureIncomplete
    );
    s.cancel();
    assert_eq!(s.push_rgb(&carphone(1), 66).unwrap().step, Step::Failed);
    assert_eq!(s.finish().unwrap_err().code(), ErrorCode::Cancelled);
    // Invalid configuration.
    let bad = CaptureConfig {
        challenge_pool: vec![],
        ..CaptureConfig::default()
    };
    assert_eq!(
        CaptureSession::new(engine(), bad, desktop_environment())
            .unwrap_err()
            .code(),
        ErrorCode::ConfigInvalid
    );
}

#[test]
fn a_blocking_environment_fails_before_capture() {
    use smartid_core::rasp::*;
    let root = FsRoot::at(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rasp/frida"),
    );
    let (report, _) = check_environment(
        &root,
        Platform::Android,
        &StaticSignals::default(),
        &RaspPolicy::mobile(),
        &RaspConfig::default(),
    );
    let err = CaptureSession::new(engine(), CaptureConfig::default(), report).unwrap_err();
    assert_eq!(err.code(), ErrorCode::EnvironmentBlocked);
    assert_eq!(
        err.to_string(),
        "the device environment is not trusted (hooking)"
    );
}

#[test]
fn a_capture_seals_and_opens_with_its_evidence() {
    use smartid_core::seal::{KeyPair, OpenPolicy, ServerKeyring, open_capture};
    let cfg = CaptureConfig {
        liveness: LivenessMode::Passive,
        ..CaptureConfig::default()
    };
    let (_, result) = replay(cfg, &carphone_frames(0..30));
    let r = result.unwrap();
    let server = KeyPair::generate("k1").unwrap();
    let sealed = r
        .seal(&engine(), &server.public(), 1_790_000_000, 600)
        .unwrap();
    let ring = ServerKeyring::new().with(server);
    let opened = open_capture(
        &ring,
        &sealed.template,
        &sealed.payload,
        1_790_000_100,
        &OpenPolicy::default(),
    )
    .unwrap();
    assert_eq!(opened.template.values(), r.template.values());
    assert_eq!(opened.session_id, r.session_id);
    let p = &opened.payload;
    assert_eq!(p.liveness["mode"], "passive");
    assert_eq!(p.models.len(), 5);
    assert_eq!(p.environment, r.environment.to_json());
    assert!(!p.test_mode);
}
