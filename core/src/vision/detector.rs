//! Face detection (BlazeFace-style SSD): letterbox, anchors, decoding, weighted NMS, letterbox undo.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::manifest::{DetectorSpec, NmsKind};

use super::geometry::{Affine, BoxF, Point};
use super::model::{OnnxModel, sigmoid};
use super::warp::{Border, warp_rgb};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub bbox: BoxF,
    /// In the manifest's keypoint order.
    pub keypoints: Vec<Point>,
    pub score: f32,
}

pub struct Detector {
    model: OnnxModel,
    spec: DetectorSpec,
    anchors: Vec<Point>,
    regressors: usize,
    scores: usize,
    right_eye: usize,
    left_eye: usize,
}

impl Detector {
    pub fn new(model: OnnxModel, spec: DetectorSpec) -> Result<Self> {
        let regressors = model.require_output(&spec.regressors_output)?;
        let scores = model.require_output(&spec.scores_output)?;
        let input = model.input_spec();
        let anchors = ssd_anchors(&spec, input.width(), input.height());
        let idx = |n: &str| spec.keypoints.iter().position(|k| k == n).unwrap_or(0);
        let (right_eye, left_eye) = (idx("right_eye"), idx("left_eye"));
        Ok(Self {
            model,
            spec,
            anchors,
            regressors,
            scores,
            right_eye,
            left_eye,
        })
    }

    /// Subject's right and left eye keypoints of a detection.
    pub fn eyes(&self, d: &Detection) -> (Point, Point) {
        (d.keypoints[self.right_eye], d.keypoints[self.left_eye])
    }

    /// All faces in the frame, best first, in frame pixels.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>> {
        let input = self.model.input_spec();
        let (iw, ih) = (input.width() as f32, input.height() as f32);
        let (w, h) = (img.width() as f32, img.height() as f32);
        // Letterbox: keep aspect ratio, centre, pad black.
        let s = (iw / w).min(ih / h);
        let (nw, nh) = ((w * s).round().max(1.0), (h * s).round().max(1.0));
        let (ox, oy) = (((iw - nw) / 2.0).floor(), ((ih - nh) / 2.0).floor());
        let (sx, sy) = (w / nw, h / nh);
        let map = Affine::resize(-ox * sx, -oy * sy, sx, sy);
        let crop = warp_rgb(img, &map, iw as usize, ih as usize, Border::Zero);
        let out = self.model.run(&crop)?;
        let (reg, cls) = (&out[self.regressors], &out[self.scores]);
        let n_kp = self.spec.keypoints.len();
        let stride = 4 + 2 * n_kp;
        if cls.len() != self.anchors.len() || reg.len() != self.anchors.len() * stride {
            return Err(Error::Inference {
                role: "detector".into(),
                detail: "output sizes do not match the anchors in the manifest".into(),
            });
        }
        let mut cands = Vec::new();
        for (i, a) in self.anchors.iter().enumerate() {
            let score = sigmoid(cls[i]);
            if score < self.spec.score_threshold {
                continue;
            }
            let r = &reg[i * stride..(i + 1) * stride];
            let (cx, cy) = (r[0] + a.x * iw, r[1] + a.y * ih);
            let unbox = |x: f32, y: f32| Point::new((x - ox) / s, (y - oy) / s);
            let p1 = unbox(cx - r[2] / 2.0, cy - r[3] / 2.0);
            let p2 = unbox(cx + r[2] / 2.0, cy + r[3] / 2.0);
            let keypoints = (0..n_kp)
                .map(|k| unbox(r[4 + 2 * k] + a.x * iw, r[5 + 2 * k] + a.y * ih))
                .collect();
            cands.push(Detection {
                bbox: BoxF {
                    x1: p1.x,
                    y1: p1.y,
                    x2: p2.x,
                    y2: p2.y,
                },
                keypoints,
                score,
            });
        }
        Ok(match self.spec.nms {
            NmsKind::Plain => plain_nms(cands, self.spec.nms_iou),
            NmsKind::Weighted => weighted_nms(cands, self.spec.nms_iou),
        })
    }
}

/// MediaPipe SsdAnchors with fixed anchor size: centres only, normalised to 0..1.
pub fn ssd_anchors(spec: &DetectorSpec, in_w: usize, in_h: usize) -> Vec<Point> {
    let mut anchors = Vec::new();
    let strides = &spec.strides;
    let mut layer = 0;
    while layer < strides.len() {
        let mut last = layer;
        let mut per_cell = 0;
        while last < strides.len() && strides[last] == strides[layer] {
            per_cell += spec.anchors_per_layer;
            last += 1;
        }
        let stride = strides[layer] as usize;
        let (fw, fh) = (in_w.div_ceil(stride), in_h.div_ceil(stride));
        for y in 0..fh {
            for x in 0..fw {
                for _ in 0..per_cell {
                    anchors.push(Point::new(
                        (x as f32 + spec.anchor_offset) / fw as f32,
                        (y as f32 + spec.anchor_offset) / fh as f32,
                    ));
                }
            }
        }
        layer = last;
    }
    anchors
}

/// Keeps the best candidate of each overlapping group.
pub fn plain_nms(mut cands: Vec<Detection>, iou: f32) -> Vec<Detection> {
    cands.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out: Vec<Detection> = Vec::new();
    for c in cands {
        if out.iter().all(|k| k.bbox.iou(&c.bbox) <= iou) {
            out.push(c);
        }
    }
    out
}

/// MediaPipe's weighted NMS: overlapping candidates are merged into a score-weighted average, which
/// steadies boxes frame to frame better than keeping only the top one.
pub fn weighted_nms(mut cands: Vec<Detection>, iou: f32) -> Vec<Detection> {
    cands.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !cands.is_empty() {
        let top = cands[0].bbox;
        let (group, rest): (Vec<Detection>, Vec<Detection>) = cands
            .into_iter()
            .partition(|c| c.bbox.iou(&top) > iou || c.bbox == top);
        cands = rest;
        let total: f32 = group.iter().map(|d| d.score).sum();
        let mut merged = group[0].clone();
        if total > 0.0 && group.len() > 1 {
            let avg = |f: &dyn Fn(&Detection) -> f32| {
                group.iter().map(|d| f(d) * d.score).sum::<f32>() / total
            };
            merged.bbox = BoxF {
                x1: avg(&|d| d.bbox.x1),
                y1: avg(&|d| d.bbox.y1),
                x2: avg(&|d| d.bbox.x2),
                y2: avg(&|d| d.bbox.y2),
            };
            for k in 0..merged.keypoints.len() {
                merged.keypoints[k] =
                    Point::new(avg(&|d| d.keypoints[k].x), avg(&|d| d.keypoints[k].y));
            }
        }
        out.push(merged);
    }
    out
}
