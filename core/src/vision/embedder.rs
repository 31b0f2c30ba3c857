//! Face embedding: 5-point similarity alignment to the model's template, then an L2-normalised vector.

use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::manifest::{EmbedderSpec, MeshLandmarks};

use super::geometry::{Affine, Point};
use super::mesh::MeshResult;
use super::model::OnnxModel;
use super::warp::{Border, warp_rgb};

/// An L2-normalised face embedding. Biometric data: zeroized on drop, never printed.
#[derive(Clone, PartialEq)]
pub struct Embedding(Vec<f32>);

impl std::fmt::Debug for Embedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Embedding(dim={})", self.0.len())
    }
}

impl Drop for Embedding {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Embedding {
    /// Normalises `raw`; `None` for a zero or non-finite vector.
    pub fn from_raw(mut raw: Vec<f32>) -> Option<Self> {
        let norm = raw.iter().map(|v| v * v).sum::<f32>().sqrt();
        if !norm.is_finite() || norm < 1e-12 {
            raw.zeroize();
            return None;
        }
        raw.iter_mut().for_each(|v| *v /= norm);
        Some(Self(raw))
    }

    pub fn values(&self) -> &[f32] {
        &self.0
    }

    pub fn dim(&self) -> usize {
        self.0.len()
    }

    /// Cosine similarity (both are unit vectors); 0 for different dimensions.
    pub fn cosine(&self, other: &Embedding) -> f32 {
        if self.0.len() != other.0.len() {
            return 0.0;
        }
        self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum()
    }
}

/// The five alignment points from the mesh: eye centres, nose tip, mouth corners (image-left first).
pub fn five_points(mesh: &MeshResult, lm: &MeshLandmarks) -> [Point; 5] {
    let eye = |idx: &[usize; 6]| Point::mean(&idx.map(|i| mesh.p(i)));
    [
        eye(&lm.right_eye),
        eye(&lm.left_eye),
        mesh.p(lm.nose_tip),
        mesh.p(lm.mouth_corners[0]),
        mesh.p(lm.mouth_corners[1]),
    ]
}

pub struct Embedder {
    model: OnnxModel,
    spec: EmbedderSpec,
    output: usize,
}

impl Embedder {
    pub fn new(model: OnnxModel, spec: EmbedderSpec) -> Result<Self> {
        let output = model.require_output(&spec.output)?;
        Ok(Self {
            model,
            spec,
            output,
        })
    }

    /// The face warped onto the template (also used for the sharpness measure).
    pub fn align(&self, img: &RgbImage, points: &[Point; 5]) -> Result<RgbImage> {
        let template = self.spec.template_points.map(|[x, y]| Point::new(x, y));
        let to_template =
            Affine::similarity(points, &template).ok_or_else(|| Error::Inference {
                role: "embedder".into(),
                detail: "alignment points are degenerate".into(),
            })?;
        let map = to_template.invert().ok_or_else(|| Error::Inference {
            role: "embedder".into(),
            detail: "alignment transform is singular".into(),
        })?;
        let input = self.model.input_spec();
        Ok(warp_rgb(
            img,
            &map,
            input.width(),
            input.height(),
            Border::Zero,
        ))
    }

    pub fn embed_aligned(&self, aligned: &RgbImage) -> Result<Embedding> {
        let mut out = self.model.run(aligned)?;
        let raw = std::mem::take(&mut out[self.output]);
        out.iter_mut().for_each(|v| v.zeroize());
        if raw.len() != self.spec.dim {
            return Err(Error::Inference {
                role: "embedder".into(),
                detail: "output size differs from the manifest dim".into(),
            });
        }
        Embedding::from_raw(raw).ok_or_else(|| Error::Inference {
            role: "embedder".into(),
            detail: "embedding is zero or not finite".into(),
        })
    }
}
