//! Server-side re-verification from evidence frames (`smartid_core::verify`), with the real models:
//! a genuine capture passes; the attacks a holder of the public key can seal do not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "capture")]

mod common;

use common::*;
use smartid_core::liveness::active::ChallengeKind;
use smartid_core::seal::{
    CaptureOpened, EvidenceFrame, FrameRole, KeyPair, OpenPolicy, Payload, ServerKeyring, Template,
    open_capture,
};
use smartid_core::verify::{VerifyConfig, VerifyReason, decode_frame, reverify};
use smartid_core::{CaptureConfig, CaptureSession, RgbImage, Step};

fn t_ms(i: usize) -> u64 {
    (i as f64 * 1000.0 / 29.97) as u64
}

/// A blink capture of the carphone recording, sealed and opened as the server does.
fn genuine() -> CaptureOpened {
    genuine_scaled(1)
}

/// The recording scaled up `k` times (bilinear), so the evidence crops are scaled down as on a
/// phone's camera: at 3× the face is ~180 px, the template crop ~500 px → 480, the challenge crops
/// → 256 (a ~90 px face).
fn upscaled(i: usize, k: u32) -> RgbImage {
    let f = carphone(i);
    if k == 1 {
        return f;
    }
    let buf = image::RgbImage::from_raw(f.width(), f.height(), f.as_bytes().to_vec()).unwrap();
    let big = image::imageops::resize(
        &buf,
        f.width() * k,
        f.height() * k,
        image::imageops::FilterType::Triangle,
    );
    RgbImage::from_raw(big.width(), big.height(), big.into_raw()).unwrap()
}

fn genuine_scaled(k: u32) -> CaptureOpened {
    let cfg = CaptureConfig {
        fixed_challenges: Some(vec![ChallengeKind::Blink]),
        ..CaptureConfig::default()
    };
    let mut s = CaptureSession::new(engine(), cfg, desktop_checks()).unwrap();
    for i in 0..120 {
        let g = s.push_rgb(&upscaled(i, k), t_ms(i)).unwrap();
        if matches!(g.step, Step::Done | Step::Failed) {
            break;
        }
    }
    let mut r = s.finish().unwrap();
    let server = KeyPair::generate("k1").unwrap();
    let sealed = r.seal(&server.public(), 1_790_000_000, 600).unwrap();
    open_capture(
        &ServerKeyring::new().with(server),
        &sealed.template,
        &sealed.payload,
        1_790_000_100,
        &OpenPolicy::default(),
    )
    .unwrap()
}

fn jpeg(img: &RgbImage, quality: u8) -> zeroize::Zeroizing<Vec<u8>> {
    let buf =
        image::RgbImage::from_raw(img.width(), img.height(), img.as_bytes().to_vec()).unwrap();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&buf)
        .unwrap();
    zeroize::Zeroizing::new(out)
}

/// The payload with every evidence frame's picture replaced by `pick(frame)`, each encoded at another
/// JPEG quality, as an attacker would to make one picture look like several frames.
fn repaint(p: &Payload, pick: impl Fn(&EvidenceFrame) -> RgbImage) -> Payload {
    let mut p = p.clone();
    for (i, f) in p.evidence.iter_mut().enumerate() {
        f.jpeg = jpeg(&pick(f), 90 - i as u8);
    }
    p
}

/// A still as the SDK would send it: its longer side at most 480 px (the decoder refuses over 1024).
fn still_small(name: &str) -> RgbImage {
    let img = still(name);
    let buf =
        image::RgbImage::from_raw(img.width(), img.height(), img.as_bytes().to_vec()).unwrap();
    let k = 480.0 / img.width().max(img.height()) as f32;
    let (w, h) = (
        (img.width() as f32 * k) as u32,
        (img.height() as f32 * k) as u32,
    );
    let small = image::imageops::resize(&buf, w, h, image::imageops::FilterType::Triangle);
    RgbImage::from_raw(w, h, small.into_raw()).unwrap()
}

/// The sealed template against the template frame re-embedded here, in the template's metric.
fn template_frame_distance(o: &CaptureOpened) -> f32 {
    let e = engine();
    let frame = decode_frame(&o.payload.evidence[0].jpeg).unwrap();
    let emb = e.embed(&e.analyze(&frame, false).unwrap()).unwrap();
    o.template.metric().score(emb.values(), o.template.values())
}

fn check(t: &Template, p: &Payload) -> Vec<VerifyReason> {
    let v = reverify(&engine(), t, p, &VerifyConfig::default()).unwrap();
    assert_eq!(v.passed, v.reasons.is_empty());
    v.reasons
}

/// Another person's template in this engine's model (a still of someone else).
fn other_template(name: &str) -> Template {
    let e = engine();
    let face = e.analyze(&still(name), false).unwrap();
    let emb = e.embed(&face).unwrap();
    Template::new(
        &e.manifest().embedder.model.id,
        emb.metric(),
        emb.values().to_vec(),
    )
    .unwrap()
}

#[test]
fn a_genuine_capture_reverifies_and_its_evidence_fits_the_budget() {
    let o = genuine();
    let p = &o.payload;
    let roles: Vec<(FrameRole, Option<u32>)> =
        p.evidence.iter().map(|f| (f.role, f.challenge)).collect();
    assert_eq!(
        roles,
        [
            (FrameRole::Template, None),
            (FrameRole::Neutral, Some(0)),
            (FrameRole::Action, Some(0)),
            (FrameRole::Return, Some(0)),
        ]
    );
    let c = &p.liveness.challenges[0];
    assert_eq!(p.evidence[2].frame, c.action_frame);
    assert_eq!(p.evidence[3].frame, c.passed_frame);
    let bytes: usize = p.evidence.iter().map(|f| f.jpeg.len()).sum();
    // Budget (docs/payload-format.md): at most 40 KB per frame at the default sizes.
    assert!(bytes <= 40_000 * p.evidence.len(), "{bytes} bytes");
    println!(
        "evidence: {} frames, {bytes} JPEG bytes ({} per frame)",
        p.evidence.len(),
        bytes / p.evidence.len()
    );
    let v = reverify(&engine(), &o.template, p, &VerifyConfig::default()).unwrap();
    assert!(v.passed, "{:?}", v.reasons);
    assert_eq!(v.frames, 4);

    // How close the re-embedded template frame comes (printed for docs/payload-format.md).
    let e = engine();
    let score = template_frame_distance(&o);
    println!(
        "template frame re-embedded: {:?} {score:.4} (match threshold {})",
        o.template.metric(),
        e.match_threshold()
    );
}

/// At a phone's resolution the crops are scaled down (a ~90 px face in the challenge frames): a
/// genuine capture must still pass.
#[test]
fn a_genuine_capture_at_three_times_the_resolution_reverifies() {
    let o = genuine_scaled(3);
    let p = &o.payload;
    let sides: Vec<u32> = p
        .evidence
        .iter()
        .map(|f| {
            let img = decode_frame(&f.jpeg).unwrap();
            img.width().max(img.height())
        })
        .collect();
    assert_eq!(sides[0], 480, "the template crop is scaled to its maximum");
    assert!(sides[1..].iter().all(|s| *s == 256), "{sides:?}");
    let bytes: Vec<usize> = p.evidence.iter().map(|f| f.jpeg.len()).collect();
    println!("evidence at 3x: sides {sides:?}, bytes {bytes:?}");
    let v = reverify(&engine(), &o.template, p, &VerifyConfig::default()).unwrap();
    assert!(v.passed, "{:?}", v.reasons);
    let score = template_frame_distance(&o);
    println!("template frame re-embedded at 3x: {score:.4}");
}

#[test]
fn a_swapped_template_with_genuine_evidence_is_refused() {
    let o = genuine();
    let mut through = 0;
    let people = ["obama", "biden", "astronaut"];
    for name in people {
        let reasons = check(&other_template(name), &o.payload);
        assert!(
            reasons.contains(&VerifyReason::TemplateNotFromFrame)
                && reasons.contains(&VerifyReason::DifferentPerson),
            "{name}: {reasons:?}"
        );
        through += reasons.is_empty() as u32;
    }
    println!("swapped template: {through} of {} accepted", people.len());
}

#[test]
fn evidence_that_does_not_show_a_live_capture_is_refused() {
    let o = genuine();
    let (t, p) = (&o.template, &o.payload);
    let mut attempts = 0;
    let mut through = 0;
    let mut tally = |reasons: &[VerifyReason]| {
        attempts += 1;
        through += reasons.is_empty() as u32;
    };

    // The same JPEG for every role: refused before any model runs.
    let mut copies = p.clone();
    let first = copies.evidence[0].jpeg.clone();
    copies
        .evidence
        .iter_mut()
        .for_each(|f| f.jpeg = first.clone());
    let r = check(t, &copies);
    assert_eq!(r, [VerifyReason::RepeatedFrames]);
    tally(&r);
    // A script seals the victim's real template frame for every role, re-encoded each time: a still
    // photo, no blink.
    let still_frame = decode_frame(&p.evidence[0].jpeg).unwrap();
    let r = check(t, &repaint(p, |_| still_frame.clone()));
    assert!(r.contains(&VerifyReason::MovementNotShown), "{r:?}");
    tally(&r);
    // Every frame an open-eye frame of the recording (no closed eyes anywhere).
    let r = check(
        t,
        &repaint(p, |f| {
            carphone(if f.role == FrameRole::Action { 10 } else { 20 })
        }),
    );
    assert!(r.contains(&VerifyReason::MovementNotShown), "{r:?}");
    tally(&r);
    // Someone else's photo as every frame, with the victim's template.
    let r = check(t, &repaint(p, |_| still_small("obama")));
    assert!(
        r.contains(&VerifyReason::DifferentPerson)
            && r.contains(&VerifyReason::TemplateNotFromFrame),
        "{r:?}"
    );
    tally(&r);
    // No frames at all.
    let mut bare = p.clone();
    bare.evidence.clear();
    let r = check(t, &bare);
    assert_eq!(r, [VerifyReason::NoEvidence]);
    tally(&r);
    // The blink frames without the template frame, and the action frame at another frame number.
    let mut missing = p.clone();
    missing.evidence.remove(0);
    let r = check(t, &missing);
    assert!(r.contains(&VerifyReason::MissingFrames), "{r:?}");
    tally(&r);
    let mut moved = p.clone();
    moved.evidence[2].frame += 1;
    let r = check(t, &moved);
    assert!(r.contains(&VerifyReason::FramesOutOfOrder), "{r:?}");
    tally(&r);
    // A frame with no face: a blank image.
    let blank = RgbImage::from_raw(160, 160, vec![90; 160 * 160 * 3]).unwrap();
    let r = check(
        t,
        &repaint(p, |f| {
            if f.role == FrameRole::Return {
                blank.clone()
            } else {
                decode_frame(&f.jpeg).unwrap()
            }
        }),
    );
    assert!(r.contains(&VerifyReason::FaceNotFound), "{r:?}");
    tally(&r);
    // Bytes that start like a JPEG but are not one.
    let mut corrupt = p.clone();
    corrupt.evidence[1].jpeg = zeroize::Zeroizing::new(vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 1, 2]);
    let r = check(t, &corrupt);
    assert!(r.contains(&VerifyReason::FrameUnreadable), "{r:?}");
    tally(&r);
    // A turn "answered" by a stranger's head: the victim's frames around it, someone else as the
    // action frame. Turned frames are held to the template's person too (a looser threshold).
    let mut turn = p.clone();
    turn.liveness.challenges[0].kind = ChallengeKind::TurnLeft;
    turn.liveness.challenges_asked = vec![ChallengeKind::TurnLeft];
    let turn = repaint(&turn, |f| {
        if f.role == FrameRole::Action {
            still_small("obama")
        } else {
            decode_frame(&f.jpeg).unwrap()
        }
    });
    let r = check(t, &turn);
    assert!(r.contains(&VerifyReason::DifferentPerson), "{r:?}");
    tally(&r);
    // Passive-only claims (no challenges) with the template frame alone: without an anti-spoof model
    // nothing in one frame shows a live person.
    let mut passive = p.clone();
    passive.liveness.challenges.clear();
    passive.liveness.challenges_asked.clear();
    passive.evidence.truncate(1);
    let r = check(t, &passive);
    if engine().has_antispoof() {
        assert!(!r.contains(&VerifyReason::LivenessNotVerified), "{r:?}");
    } else {
        assert_eq!(r, [VerifyReason::LivenessNotVerified]);
        tally(&r);
    }
    println!("forged evidence: {through} of {attempts} accepted");
    assert_eq!(through, 0);
}

/// A platform whose attestation is `att:` + the request hash it was asked for (hex), so the test can
/// see which hash the SDK passed.
struct EchoAttestation;
impl smartid_core::PlatformSignals for EchoAttestation {
    fn attestation_token(&self, request_hash: &[u8; 32]) -> Option<String> {
        Some(format!("att:{}", hex::encode(request_hash)))
    }
}

#[test]
fn a_capture_token_sets_the_challenges_and_binds_nonce_and_attestation() {
    use smartid_core::rasp::{EnvironmentChecks, RaspConfig, RaspPolicy};
    use smartid_core::seal::CaptureToken;
    let token = CaptureToken {
        nonce: [0x5a; 16],
        expires_at: 1_790_000_300,
        challenges: vec![ChallengeKind::Blink],
    };
    let cfg = CaptureConfig {
        capture_token: Some(token.to_text().unwrap()),
        // The recording only blinks: a random draw would ask for something else.
        challenge_pool: vec![ChallengeKind::Smile],
        ..CaptureConfig::default()
    };
    let checks = std::sync::Arc::new(EnvironmentChecks::new(
        std::sync::Arc::new(EchoAttestation),
        RaspPolicy::desktop(),
        RaspConfig::default(),
    ));
    let mut s = CaptureSession::new(engine(), cfg, checks).unwrap();
    assert_eq!(
        s.challenges(),
        [ChallengeKind::Blink],
        "the token's challenges, not the pool's"
    );
    for i in 0..120 {
        let g = s.push_rgb(&carphone(i), t_ms(i)).unwrap();
        if matches!(g.step, Step::Done | Step::Failed) {
            break;
        }
    }
    let mut r = s.finish().unwrap();
    assert!(
        !r.evidence().test_mode,
        "server-drawn challenges are not a replay"
    );
    let server = KeyPair::generate("k1").unwrap();
    let sealed = r.seal(&server.public(), 1_790_000_000, 600).unwrap();
    let o = open_capture(
        &ServerKeyring::new().with(server),
        &sealed.template,
        &sealed.payload,
        1_790_000_100,
        &OpenPolicy::default(),
    )
    .unwrap();
    assert_eq!(o.token_nonce, Some([0x5a; 16]));
    assert_eq!(o.payload.capture_token.unwrap().as_bytes(), &[0x5a; 16]);
    // The attestation the platform gave was asked for with the hash the server computes itself.
    assert_eq!(
        o.payload.environment.attestation.as_deref(),
        Some(format!("att:{}", hex::encode(o.attestation_request_hash)).as_str())
    );

    // A malformed token fails the start with 4001, before any camera work.
    let bad = CaptureConfig {
        capture_token: Some("SIDCT1:not-a-token".into()),
        ..CaptureConfig::default()
    };
    let e = CaptureSession::new(engine(), bad, desktop_checks()).unwrap_err();
    assert_eq!(e.code(), smartid_core::ErrorCode::ConfigInvalid);
}

/// The size budget at a phone's resolution: the stills are 0.3–1 Mpx portraits, scaled and encoded
/// with the SDK's defaults (the recording is only 176×144). Printed for docs/payload-format.md.
#[test]
fn evidence_jpeg_sizes_at_the_default_settings() {
    let cfg = smartid_core::config::EvidenceConfig::default();
    for name in ["obama", "biden", "astronaut"] {
        let img = still(name);
        let b = engine().analyze(&img, false).unwrap().face_box;
        let side = b.width().max(b.height()) * cfg.margin;
        let (cx, cy) = ((b.x1 + b.x2) / 2.0, (b.y1 + b.y2) / 2.0);
        let x0 = (cx - side / 2.0).max(0.0) as u32;
        let y0 = (cy - side / 2.0).max(0.0) as u32;
        let w = (side as u32).min(img.width() - x0);
        let h = (side as u32).min(img.height() - y0);
        let buf =
            image::RgbImage::from_raw(img.width(), img.height(), img.as_bytes().to_vec()).unwrap();
        let crop = image::imageops::crop_imm(&buf, x0, y0, w, h).to_image();
        let mut sizes = vec![];
        for max_side in [cfg.template_side, cfg.challenge_side] {
            let s = (max_side as f32 / w.max(h) as f32).min(1.0);
            let (tw, th) = ((w as f32 * s) as u32, (h as f32 * s) as u32);
            let scaled =
                image::imageops::resize(&crop, tw, th, image::imageops::FilterType::Triangle);
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, cfg.jpeg_quality)
                .encode_image(&scaled)
                .unwrap();
            sizes.push((tw, th, out.len()));
        }
        println!(
            "{name} ({}x{}): template crop {}x{} {} bytes, challenge crop {}x{} {} bytes",
            img.width(),
            img.height(),
            sizes[0].0,
            sizes[0].1,
            sizes[0].2,
            sizes[1].0,
            sizes[1].1,
            sizes[1].2
        );
        // The budget docs/payload-format.md states.
        assert!(sizes[0].2 <= 60_000 && sizes[1].2 <= 24_000, "{sizes:?}");
    }
}
