//! The vision stages on real faces, checked against the onnxruntime reference run
//! (fixtures/faces/reference_outputs.json) and the known blinks of the carphone sequence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "capture")]

mod common;

use common::*;
use smartid_core::vision::Embedding;

fn pt(v: &serde_json::Value) -> (f32, f32) {
    (v[0].as_f64().unwrap() as f32, v[1].as_f64().unwrap() as f32)
}

#[test]
fn each_still_has_one_face_with_reference_keypoints() {
    let engine = engine();
    for name in STILLS {
        let img = still(name);
        let faces = engine.detect(&img).unwrap();
        assert_eq!(faces.len(), 1, "{name}: expected exactly one face");
        let face = &faces[0];
        let r = &reference()["stills"][name];
        // The shipped manifest uses plain NMS like the reference run: 1% of the face width.
        let worst = worst_deviation(face, r);
        println!(
            "{name}: worst keypoint/box deviation {:.2}% of face width",
            worst * 100.0
        );
        assert!(worst < 0.01, "{name}: {:.2}%", worst * 100.0);
    }
}

/// Largest deviation of the 6 keypoints and the box corners from the reference, over the face width.
fn worst_deviation(face: &smartid_core::vision::Detection, r: &serde_json::Value) -> f32 {
    let kps = r["blazeface_kps_[reye,leye,nose,mouth,rear,lear]"]
        .as_array()
        .unwrap();
    let rb = r["blazeface_box_xyxy"].as_array().unwrap();
    let mut want: Vec<(f32, f32)> = kps.iter().map(pt).collect();
    want.push(pt(&serde_json::json!([rb[0], rb[1]])));
    want.push(pt(&serde_json::json!([rb[2], rb[3]])));
    let mut got: Vec<(f32, f32)> = face.keypoints.iter().map(|p| (p.x, p.y)).collect();
    got.push((face.bbox.x1, face.bbox.y1));
    got.push((face.bbox.x2, face.bbox.y2));
    want.iter()
        .zip(&got)
        .map(|(w, g)| (w.0 - g.0).abs().max((w.1 - g.1).abs()) / face.bbox.width())
        .fold(0.0, f32::max)
}

#[test]
fn weighted_nms_still_finds_one_face_per_still() {
    let text = std::fs::read_to_string(models_dir().join("manifest.toml")).unwrap();
    let text = text.replace("nms = \"plain\"", "nms = \"weighted\"");
    assert!(text.contains("nms = \"weighted\""));
    let engine =
        smartid_core::Engine::load(&text, &smartid_core::manifest::DirSource(models_dir()))
            .unwrap();
    for name in STILLS {
        let faces = engine.detect(&still(name)).unwrap();
        assert_eq!(faces.len(), 1, "{name}");
        let worst = worst_deviation(&faces[0], &reference()["stills"][name]);
        println!(
            "{name}: weighted NMS deviation {:.1}% of face width",
            worst * 100.0
        );
        assert!(worst < 0.12, "{name}: {:.1}%", worst * 100.0);
    }
}

#[test]
fn embeddings_separate_same_person_from_others() {
    let engine = engine();
    let threshold = engine.match_threshold();
    let embs: Vec<(&str, Embedding)> = STILLS
        .iter()
        .map(|n| {
            let face = engine.analyze(&still(n), false).unwrap();
            (*n, engine.embed(&face).unwrap())
        })
        .collect();
    let same = |a: &str, b: &str| a.starts_with("obama") && b.starts_with("obama");
    let (mut min_genuine, mut max_impostor) = (f32::MAX, f32::MIN);
    for i in 0..embs.len() {
        for j in i + 1..embs.len() {
            let s = embs[i].1.cosine(&embs[j].1);
            println!("cosine {:>9} {:>9} {s:.3}", embs[i].0, embs[j].0,);
            if same(embs[i].0, embs[j].0) {
                assert!(
                    s >= threshold,
                    "{} vs {}: {s:.3} below threshold",
                    embs[i].0,
                    embs[j].0
                );
                min_genuine = min_genuine.min(s);
            } else {
                assert!(
                    s < threshold,
                    "{} vs {}: {s:.3} above threshold",
                    embs[i].0,
                    embs[j].0
                );
                max_impostor = max_impostor.max(s);
            }
        }
    }
    println!(
        "threshold {threshold:.2}: lowest genuine {min_genuine:.3} (margin {:+.3}), highest impostor {max_impostor:.3} (margin {:+.3})",
        min_genuine - threshold,
        threshold - max_impostor
    );
    // Regression oracle: the reference run's BGR genuine pairs were 0.77-0.82 with 68-point alignment.
    assert!(min_genuine > 0.6 && max_impostor < 0.2);
}

#[test]
fn carphone_blinks_are_the_only_closed_eyes() {
    let engine = engine();
    let mut closed = Vec::new();
    for i in 0..120 {
        let face = engine.analyze(&carphone(i), false).unwrap();
        if face.eyes.closed {
            closed.push(i);
        }
    }
    assert_eq!(
        closed,
        BLINKS.to_vec(),
        "frames 75-78 are a head pitch, not a blink"
    );
}

#[test]
fn mesh_pose_tracks_the_reference_pose_model() {
    let engine = engine();
    let (mut yaw, mut pitch, mut ref_yaw, mut ref_pitch) = (vec![], vec![], vec![], vec![]);
    for i in 0..120 {
        let face = engine.analyze(&carphone(i), false).unwrap();
        let r = reference()["carphone"][i]["pose_yaw_pitch_roll_deg"]
            .as_array()
            .unwrap();
        yaw.push(face.pose.yaw);
        pitch.push(face.pose.pitch);
        ref_yaw.push(r[0].as_f64().unwrap() as f32);
        ref_pitch.push(r[1].as_f64().unwrap() as f32);
    }
    let (cy, cp) = (correlation(&yaw, &ref_yaw), correlation(&pitch, &ref_pitch));
    println!("mesh pose vs fr_pose on carphone: yaw r={cy:.3}, pitch r={cp:.3}");
    assert!(cy > 0.85, "yaw correlation {cy}");
    assert!(cp > 0.6, "pitch correlation {cp}");
    // Stills: obama2 turns one way, biden the other, astronaut is frontal (pose model: +14.9, -13.4, -0.4).
    let y = |n| engine.analyze(&still(n), false).unwrap().pose.yaw;
    let (o2, b, a) = (y("obama2"), y("biden"), y("astronaut"));
    println!("still yaw: obama2 {o2:.1} biden {b:.1} astronaut {a:.1}");
    assert!(o2 > 5.0 && b < -5.0 && a.abs() < 8.0);
}

#[test]
fn real_faces_score_live() {
    let engine = engine();
    let t = engine.live_threshold();
    let mut min = f32::MAX;
    for n in STILLS {
        let live = engine.analyze(&still(n), true).unwrap().live.unwrap();
        min = min.min(live);
    }
    for i in (0..120).step_by(7) {
        let live = engine.analyze(&carphone(i), true).unwrap().live.unwrap();
        min = min.min(live);
    }
    println!("lowest live probability on real faces: {min:.3} (threshold {t})");
    assert!(min >= t.max(0.8));
}
