//! Capture quality measures and the thresholds that turn them into guidance.

use serde::{Deserialize, Serialize};

#[cfg(feature = "capture")]
use crate::frame::{RgbImage, luma};

#[cfg(feature = "capture")]
use super::geometry::BoxF;
use super::pose::HeadPose;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// Face (landmark bounds) height / frame height.
    pub face_size: f32,
    /// Distance of the face centre from the frame centre, as a fraction of the frame's shorter side.
    pub centre_offset: f32,
    /// Mean luma (0..255) inside the face (landmark bounds).
    pub brightness: f32,
    /// Variance of the Laplacian of the aligned face (grey); low is blurry.
    pub sharpness: f32,
    pub pose: HeadPose,
    pub eyes_open: bool,
}

/// Limits for a usable enrollment frame. Defaults suit a phone selfie; all are configurable.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityThresholds {
    pub min_face_size: f32,
    pub max_face_size: f32,
    pub max_centre_offset: f32,
    pub min_brightness: f32,
    pub max_brightness: f32,
    pub min_sharpness: f32,
    /// Largest |yaw| and |pitch| (degrees) for a frontal frame.
    pub max_frontal_angle: f32,
}

impl Default for QualityThresholds {
    fn default() -> Self {
        Self {
            min_face_size: 0.2,
            max_face_size: 0.9,
            max_centre_offset: 0.25,
            min_brightness: 50.0,
            max_brightness: 220.0,
            min_sharpness: 20.0,
            max_frontal_angle: 20.0,
        }
    }
}

/// Why a frame is not good enough, in the order a user should fix them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityIssue {
    TooDark,
    TooBright,
    TooFar,
    TooClose,
    OffCentre,
    NotFrontal,
    EyesClosed,
    Blurry,
}

impl QualityThresholds {
    pub fn issues(&self, q: &Quality) -> Vec<QualityIssue> {
        let mut v = Vec::new();
        if q.brightness < self.min_brightness {
            v.push(QualityIssue::TooDark);
        }
        if q.brightness > self.max_brightness {
            v.push(QualityIssue::TooBright);
        }
        if q.face_size < self.min_face_size {
            v.push(QualityIssue::TooFar);
        }
        if q.face_size > self.max_face_size {
            v.push(QualityIssue::TooClose);
        }
        if q.centre_offset > self.max_centre_offset {
            v.push(QualityIssue::OffCentre);
        }
        if q.pose.yaw.abs() > self.max_frontal_angle || q.pose.pitch.abs() > self.max_frontal_angle
        {
            v.push(QualityIssue::NotFrontal);
        }
        if !q.eyes_open {
            v.push(QualityIssue::EyesClosed);
        }
        if q.sharpness < self.min_sharpness {
            v.push(QualityIssue::Blurry);
        }
        v
    }
}

#[cfg(feature = "capture")]
pub fn measure(
    img: &RgbImage,
    face: &BoxF,
    aligned: &RgbImage,
    pose: HeadPose,
    eyes_open: bool,
) -> Quality {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let c = face.centre();
    Quality {
        face_size: face.height() / h,
        centre_offset: ((c.x - w / 2.0).powi(2) + (c.y - h / 2.0).powi(2)).sqrt() / w.min(h),
        brightness: img.mean_luma(face.x1, face.y1, face.x2, face.y2),
        sharpness: laplacian_variance(aligned),
        pose,
        eyes_open,
    }
}

#[cfg(feature = "capture")]
/// Variance of the 4-neighbour Laplacian over the interior of a grey version of `img`.
pub fn laplacian_variance(img: &RgbImage) -> f32 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let px = img.as_bytes();
    let g: Vec<f32> = px.chunks_exact(3).map(|p| luma(p[0], p[1], p[2])).collect();
    let (mut sum, mut sq, mut n) = (0f64, 0f64, 0f64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            let l = (g[i - 1] + g[i + 1] + g[i - w] + g[i + w] - 4.0 * g[i]) as f64;
            sum += l;
            sq += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sq / n - mean * mean) as f32
}
