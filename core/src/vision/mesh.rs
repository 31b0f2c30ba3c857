//! Dense face landmarks (Face Mesh) on a rotated square ROI, from a detection or from the previous
//! frame's landmarks (tracking).

use serde::Serialize;

use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::manifest::MeshSpec;

use super::geometry::{Affine, BoxF, Point};
use super::model::{OnnxModel, sigmoid};
use super::warp::{Border, warp_rgb};

/// Where to look for the face: centre, side and rotation in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Roi {
    pub centre: Point,
    pub side: f32,
    /// Radians; the eye line is horizontal in the crop.
    pub angle: f32,
}

#[derive(Clone, Serialize)]
pub struct MeshResult {
    /// Landmarks in frame pixels.
    #[serde(skip)]
    pub points: Vec<Point>,
    /// Relative depth per landmark, in frame-pixel units (smaller is nearer the camera).
    #[serde(skip)]
    pub depth: Vec<f32>,
    pub presence: f32,
    pub roi: Roi,
}

/// Landmarks are biometric: `Debug` shows only their count.
impl std::fmt::Debug for MeshResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MeshResult({} points, presence {:.2})",
            self.points.len(),
            self.presence
        )
    }
}

impl MeshResult {
    pub fn p(&self, i: usize) -> Point {
        self.points[i]
    }
    pub fn p3(&self, i: usize) -> [f32; 3] {
        [self.points[i].x, self.points[i].y, self.depth[i]]
    }
    /// Axis-aligned bounds of all landmarks.
    pub fn bounds(&self) -> BoxF {
        let mut b = BoxF {
            x1: f32::MAX,
            y1: f32::MAX,
            x2: f32::MIN,
            y2: f32::MIN,
        };
        for p in &self.points {
            b.x1 = b.x1.min(p.x);
            b.y1 = b.y1.min(p.y);
            b.x2 = b.x2.max(p.x);
            b.y2 = b.y2.max(p.y);
        }
        b
    }
}

pub struct Mesh {
    model: OnnxModel,
    spec: MeshSpec,
    landmarks: usize,
    presence: usize,
}

impl Mesh {
    pub fn new(model: OnnxModel, spec: MeshSpec) -> Result<Self> {
        let landmarks = model.require_output(&spec.landmarks_output)?;
        let presence = model.require_output(&spec.presence_output)?;
        Ok(Self {
            model,
            spec,
            landmarks,
            presence,
        })
    }

    pub fn spec(&self) -> &MeshSpec {
        &self.spec
    }

    /// ROI from a detection box and its two eye keypoints (MediaPipe detection-to-ROI).
    pub fn roi_from_detection(&self, bbox: &BoxF, right_eye: Point, left_eye: Point) -> Roi {
        Roi {
            centre: bbox.centre(),
            side: self.spec.roi_scale * bbox.width().max(bbox.height()),
            angle: (left_eye.y - right_eye.y).atan2(left_eye.x - right_eye.x),
        }
    }

    /// ROI for the next frame from this frame's landmarks (MediaPipe landmarks-to-ROI), so tracking
    /// needs no detector run.
    pub fn roi_from_landmarks(&self, m: &MeshResult) -> Roi {
        let [a, b] = self.spec.landmarks.track_rotation;
        let (pa, pb) = (m.p(a), m.p(b));
        let angle = (pb.y - pa.y).atan2(pb.x - pa.x);
        let (s, c) = angle.sin_cos();
        // Bounds in the face-aligned frame, then back to the image.
        let (mut x1, mut y1, mut x2, mut y2) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in &m.points {
            let (u, v) = (c * p.x + s * p.y, -s * p.x + c * p.y);
            x1 = x1.min(u);
            y1 = y1.min(v);
            x2 = x2.max(u);
            y2 = y2.max(v);
        }
        let (cu, cv) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
        Roi {
            centre: Point::new(c * cu - s * cv, s * cu + c * cv),
            side: self.spec.roi_scale * (x2 - x1).max(y2 - y1),
            angle,
        }
    }

    pub fn run(&self, img: &RgbImage, roi: &Roi) -> Result<MeshResult> {
        let input = self.model.input_spec();
        let (w, h) = (input.width(), input.height());
        let scale = roi.side / w as f32;
        let map = Affine::rotated_square(
            roi.centre,
            Point::new(w as f32 / 2.0, h as f32 / 2.0),
            scale,
            roi.angle,
        );
        let crop = warp_rgb(img, &map, w, h, Border::Zero);
        let out = self.model.run(&crop)?;
        let (lm, flag) = (&out[self.landmarks], &out[self.presence]);
        if lm.len() != self.spec.points * 3 || flag.is_empty() {
            return Err(Error::Inference {
                role: "mesh".into(),
                detail: "output sizes do not match the manifest".into(),
            });
        }
        let mut points = Vec::with_capacity(self.spec.points);
        let mut depth = Vec::with_capacity(self.spec.points);
        for i in 0..self.spec.points {
            points.push(map.apply(Point::new(lm[i * 3], lm[i * 3 + 1])));
            depth.push(lm[i * 3 + 2] * scale);
        }
        Ok(MeshResult {
            points,
            depth,
            presence: sigmoid(flag[0]),
            roi: *roi,
        })
    }

    pub fn is_present(&self, m: &MeshResult) -> bool {
        m.presence >= self.spec.presence_threshold
    }
}
