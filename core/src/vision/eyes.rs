//! Eye openness from an eye-contour model (MediaPipe Iris): each eye on its own crop, placed by the mesh's
//! eye corners and rotated level, and the ratio of lid opening to eye width (an eye aspect ratio).
//!
//! The mesh's own lid landmarks give a second, free reading ([`lid_ratio`]): it follows a blink too, but
//! coarsely (a carphone blink's first frame reads at most 0.86 of the open lids, where Iris reads
//! 0.36–0.71 of the open eyes) and it also drops when the head pitches (15–20° reads like a half
//! blink). The session uses it to decide when Iris must look ([`EyeRead`]), never to judge a blink.
//!
//! Per frame this only measures. Whether the eyes are *closed* depends on whose eyes they are: the
//! session judges the ratio against the user's own open-eye baseline ([`crate::liveness::eyes`]); a
//! single still is judged against the manifest's typical open eye.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::manifest::{EyesSpec, MeshLandmarks};

use super::geometry::{Affine, Point};
use super::mesh::MeshResult;
use super::model::OnnxModel;
use super::warp::{Border, warp_rgb};

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EyeState {
    /// Eye aspect ratio of the subject's right eye (lid opening over eye width).
    pub right_ratio: f32,
    pub left_ratio: f32,
    /// Closed against the manifest's typical open eye; the session re-judges against the user's own.
    pub closed: bool,
}

impl EyeState {
    /// The openness a blink is judged on: both eyes together.
    pub fn ratio(&self) -> f32 {
        (self.right_ratio + self.left_ratio) / 2.0
    }
}

/// The mesh's eye aspect ratio, both eyes averaged: the mean of the two lid distances (p2–p6, p3–p5)
/// over the corner distance (p1–p4) of the manifest's six landmarks per eye. Costs nothing: the mesh
/// runs on every frame anyway. Not finite when the corners coincide.
pub fn lid_ratio(mesh: &MeshResult, lm: &MeshLandmarks) -> f32 {
    let eye = |e: &[usize; 6]| {
        let p = |k: usize| mesh.p(e[k]);
        (p(1).dist(p(5)) + p(2).dist(p(4))) / (2.0 * p(0).dist(p(3)))
    };
    (eye(&lm.right_eye) + eye(&lm.left_eye)) / 2.0
}

/// Whether a frame's eyes are read by the Iris model (two model runs, the largest share of a tracked
/// frame's time) or left at the mesh's [`lid_ratio`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EyeRead {
    Iris,
    /// Iris only when the lid ratio is below this (the lids may be closing).
    IrisBelow(f32),
}

impl EyeRead {
    pub fn wants_iris(self, lid_ratio: f32) -> bool {
        match self {
            EyeRead::Iris => true,
            // A lid ratio that is not finite says nothing: Iris looks (and reports a degenerate eye).
            EyeRead::IrisBelow(below) => !lid_ratio.is_finite() || lid_ratio < below,
        }
    }
}

pub struct EyeModel {
    model: OnnxModel,
    spec: EyesSpec,
    output: usize,
}

impl EyeModel {
    pub fn new(model: OnnxModel, spec: EyesSpec) -> Result<Self> {
        let output = model.require_output(&spec.contour_output)?;
        Ok(Self {
            model,
            spec,
            output,
        })
    }

    pub fn run(&self, img: &RgbImage, mesh: &MeshResult, lm: &MeshLandmarks) -> Result<EyeState> {
        let right_ratio = self.ratio(img, mesh, &lm.right_eye, false)?;
        let left_ratio = self.ratio(img, mesh, &lm.left_eye, self.spec.mirror_left)?;
        let ratio = (right_ratio + left_ratio) / 2.0;
        Ok(EyeState {
            right_ratio,
            left_ratio,
            closed: ratio < self.spec.closed_below * self.spec.baseline_prior,
        })
    }

    /// The crop: centred between the corners (mesh p1 and p4, image-left first), side `crop_side` × their
    /// distance, rotated so they are level; mirrored for the eye the model was not trained on.
    fn ratio(
        &self,
        img: &RgbImage,
        mesh: &MeshResult,
        eye: &[usize; 6],
        mirror: bool,
    ) -> Result<f32> {
        let (a, b) = (mesh.p(eye[0]), mesh.p(eye[3]));
        let width = a.dist(b);
        if !width.is_finite() || width < 1e-3 {
            return Err(inference("eye corners coincide"));
        }
        let input = self.model.input_spec();
        let (w, h) = (input.width(), input.height());
        let angle = (b.y - a.y).atan2(b.x - a.x);
        let scale = width * self.spec.crop_side / w as f32;
        let centre = Point::mean(&[a, b]);
        let crop_centre = Point::new((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
        let mut map = Affine::rotated_square(centre, crop_centre, scale, angle);
        if mirror {
            // Crop pixel x reads what the unmirrored crop has at w - 1 - x.
            map.tx += map.a * (w as f32 - 1.0);
            map.ty += map.c * (w as f32 - 1.0);
            map.a = -map.a;
            map.c = -map.c;
        }
        let crop = warp_rgb(img, &map, w, h, Border::Replicate);
        let out = self.model.run(&crop)?;
        let contour = &out[self.output];
        let n = self.spec.contour_points;
        if contour.len() < n * 3 {
            return Err(inference("contour output is shorter than contour_points"));
        }
        let p = |i: usize| Point::new(contour[i * 3], contour[i * 3 + 1]);
        let [c0, c1] = self.spec.corners;
        let eye_width = p(c0).dist(p(c1));
        let lids = &self.spec.lid_pairs;
        let opening = lids.iter().map(|[u, l]| p(*u).dist(p(*l))).sum::<f32>() / lids.len() as f32;
        let ratio = opening / eye_width;
        if !ratio.is_finite() {
            return Err(inference("eye contour is degenerate"));
        }
        Ok(ratio)
    }
}

fn inference(detail: &str) -> Error {
    Error::Inference {
        role: "eyes".into(),
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lids_gate_iris_and_unreadable_lids_never_skip_it() {
        assert!(EyeRead::Iris.wants_iris(0.5));
        let gate = EyeRead::IrisBelow(0.27);
        assert!(gate.wants_iris(0.2));
        assert!(!gate.wants_iris(0.3));
        // Coinciding corners: Iris looks, and reports the degenerate eye itself.
        assert!(gate.wants_iris(f32::NAN));
        assert!(gate.wants_iris(f32::INFINITY));
    }
}
