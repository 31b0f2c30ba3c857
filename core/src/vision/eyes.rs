//! Eye open/closed classifier on a crop around each eye, placed with mesh landmarks.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::manifest::{EyeStateSpec, MeshLandmarks};

use super::geometry::{Affine, Point};
use super::mesh::MeshResult;
use super::model::{OnnxModel, softmax};
use super::warp::{Border, warp_rgb};

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EyeState {
    /// Probability that the subject's right eye is open.
    pub right_open: f32,
    pub left_open: f32,
    /// Both eyes below the manifest's `closed_below`.
    pub closed: bool,
}

impl EyeState {
    pub fn both_open(&self, threshold: f32) -> bool {
        self.right_open >= threshold && self.left_open >= threshold
    }
}

pub struct EyeClassifier {
    model: OnnxModel,
    spec: EyeStateSpec,
    output: usize,
}

impl EyeClassifier {
    pub fn new(model: OnnxModel, spec: EyeStateSpec) -> Result<Self> {
        let output = model.require_output(&spec.output)?;
        Ok(Self {
            model,
            spec,
            output,
        })
    }

    pub fn run(&self, img: &RgbImage, mesh: &MeshResult, lm: &MeshLandmarks) -> Result<EyeState> {
        let right_open = self.open_probability(img, mesh, &lm.right_eye)?;
        let left_open = self.open_probability(img, mesh, &lm.left_eye)?;
        let t = self.spec.closed_below;
        Ok(EyeState {
            right_open,
            left_open,
            closed: right_open < t && left_open < t,
        })
    }

    /// Square, axis-aligned crop centred on the four lid points; side from the corner distance.
    fn open_probability(&self, img: &RgbImage, mesh: &MeshResult, eye: &[usize; 6]) -> Result<f32> {
        let lids = [
            mesh.p(eye[1]),
            mesh.p(eye[2]),
            mesh.p(eye[4]),
            mesh.p(eye[5]),
        ];
        let centre = Point::mean(&lids);
        let side = (mesh.p(eye[3]).x - mesh.p(eye[0]).x).abs() * self.spec.crop_side;
        let input = self.model.input_spec();
        let (w, h) = (input.width(), input.height());
        let scale = side.max(1.0) / w as f32;
        let map = Affine::rotated_square(
            centre,
            Point::new(w as f32 / 2.0, h as f32 / 2.0),
            scale,
            0.0,
        );
        let crop = warp_rgb(img, &map, w, h, Border::Replicate);
        let out = self.model.run(&crop)?;
        let probs = softmax(&out[self.output]);
        probs
            .get(self.spec.open_class)
            .copied()
            .ok_or_else(|| Error::Inference {
                role: "eye_state".into(),
                detail: "open_class is beyond the output size".into(),
            })
    }
}
