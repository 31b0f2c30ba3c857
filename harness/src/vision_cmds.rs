//! `smartid analyze` and `smartid compare`.

use std::path::Path;

use serde::Serialize;
use smartid_core::Engine;
use smartid_core::vision::{BoxF, EyeState, HeadPose, Point, Quality};

use crate::AnyResult;
use crate::frames::{load_frames, load_image};

#[derive(Serialize)]
struct FrameReport {
    frame: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    face: Option<FaceReport>,
}

#[derive(Serialize)]
struct FaceReport {
    bbox: BoxF,
    score: f32,
    keypoints: Vec<Point>,
    eyes: Option<EyeState>,
    pose: HeadPose,
    live: Option<f32>,
    quality: Quality,
    quality_issues: Vec<smartid_core::vision::QualityIssue>,
}

pub fn analyze(models: &Path, input: &Path, json: bool) -> AnyResult {
    let engine = Engine::from_path(models)?;
    let thresholds = smartid_core::vision::QualityThresholds::default();
    let frames = load_frames(input)?;
    let mut reports = Vec::new();
    for (name, img) in &frames {
        let report = match engine.analyze(img, true) {
            Ok(f) => FrameReport {
                frame: name.clone(),
                error: None,
                error_code: None,
                face: f.detection.as_ref().map(|d| FaceReport {
                    bbox: d.bbox,
                    score: d.score,
                    keypoints: d.keypoints.clone(),
                    eyes: f.eyes,
                    pose: f.pose,
                    live: f.live,
                    quality: f.quality,
                    quality_issues: thresholds.issues(&f.quality),
                }),
            },
            Err(e) => FrameReport {
                frame: name.clone(),
                error: Some(e.to_string()),
                error_code: Some(e.code().as_u16()),
                face: None,
            },
        };
        reports.push(report);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(());
    }
    println!(
        "{:<16} {:>24} {:>5} {:>11} {:>6} {:>17} {:>5} {:>5} {:>5} {:>6}  issues",
        "frame",
        "box x1,y1,x2,y2",
        "score",
        "eyes R/L",
        "closed",
        "yaw/pitch/roll",
        "live",
        "size",
        "light",
        "sharp"
    );
    for r in &reports {
        match &r.face {
            Some(f) => println!(
                "{:<16} {:>24} {:>5.2} {:>11} {:>6} {:>17} {:>5} {:>5.2} {:>5.0} {:>6.0}  {}",
                r.frame,
                format!(
                    "{:.0},{:.0},{:.0},{:.0}",
                    f.bbox.x1, f.bbox.y1, f.bbox.x2, f.bbox.y2
                ),
                f.score,
                f.eyes
                    .map(|e| format!("{:.2}/{:.2}", e.right_ratio, e.left_ratio))
                    .unwrap_or_default(),
                match f.eyes {
                    Some(e) if e.closed => "yes",
                    Some(_) => "no",
                    None => "",
                },
                format!("{:.0}/{:.0}/{:.0}", f.pose.yaw, f.pose.pitch, f.pose.roll),
                f.live.map(|l| format!("{l:.2}")).unwrap_or_default(),
                f.quality.face_size,
                f.quality.brightness,
                f.quality.sharpness,
                f.quality_issues
                    .iter()
                    .map(|i| format!("{i:?}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            None => println!(
                "{:<16} error {}: {}",
                r.frame,
                r.error_code.unwrap_or_default(),
                r.error.as_deref().unwrap_or_default()
            ),
        }
    }
    Ok(())
}

pub fn compare(models: &Path, a: &Path, b: &Path) -> AnyResult {
    let engine = Engine::from_path(models)?;
    let embed = |p: &Path| -> AnyResult<smartid_core::vision::Embedding> {
        let img = load_image(p)?;
        let face = engine
            .analyze(&img, false)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(engine.embed(&face)?)
    };
    let (ea, eb) = (embed(a)?, embed(b)?);
    let c = ea
        .compare(&eb, engine.match_threshold())
        .ok_or("the two embeddings cannot be compared")?;
    println!(
        "{} {:.3} (threshold {:.2}, {}): {}",
        c.metric.name(),
        c.score,
        c.threshold,
        engine.manifest().embedder.model.id,
        if c.same_person {
            "same person"
        } else {
            "different people"
        }
    );
    Ok(())
}
