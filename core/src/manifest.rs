//! The model manifest: every fact about a model (file, checksum, input, crop, outputs, landmark indices,
//! thresholds) lives in `models/manifest.toml`, not in code. A bank swaps a model by editing the manifest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const MANIFEST_FORMAT: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.toml";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub detector: DetectorSpec,
    pub mesh: MeshSpec,
    pub eye_state: EyeStateSpec,
    pub antispoof: AntiSpoofSpec,
    pub embedder: EmbedderSpec,
}

/// What every model declares: identity, file, checksum, licence and how its input tensor is made.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Stable identifier that goes into templates and payloads (e.g. `faceplugin/fr_feature@0.0.1`).
    pub id: String,
    /// Path relative to the manifest.
    pub file: String,
    pub sha256: String,
    pub licence: String,
    pub input: InputSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    Rgb,
    Bgr,
    Grey,
}

/// Input tensor: NCHW float32, `value = (pixel - mean[c]) / std[c]` with pixels 0..255 in `colour` order.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub shape: [usize; 4],
    pub colour: Colour,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl InputSpec {
    pub fn channels(&self) -> usize {
        self.shape[1]
    }
    pub fn height(&self) -> usize {
        self.shape[2]
    }
    pub fn width(&self) -> usize {
        self.shape[3]
    }

    fn validate(&self, role: &str) -> Result<()> {
        let want_c = if self.colour == Colour::Grey { 1 } else { 3 };
        let bad = |m: &str| Err(Error::ManifestInvalid(format!("{role}: {m}")));
        if self.shape[0] != 1 {
            return bad("batch size must be 1");
        }
        if self.shape[1] != want_c {
            return bad("channel count does not match colour");
        }
        if self.shape[2] == 0 || self.shape[3] == 0 || self.shape[2] > 1024 || self.shape[3] > 1024
        {
            return bad("input height and width must be 1..=1024");
        }
        if self.mean.len() != want_c || self.std.len() != want_c {
            return bad("mean and std need one value per channel");
        }
        if self.std.iter().any(|s| !s.is_finite() || *s == 0.0)
            || self.mean.iter().any(|m| !m.is_finite())
        {
            return bad("mean must be finite and std finite and non-zero");
        }
        Ok(())
    }
}

/// SSD-style detector with anchors (BlazeFace): box + keypoints per anchor.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSpec {
    #[serde(flatten)]
    pub model: ModelSpec,
    pub regressors_output: String,
    pub scores_output: String,
    /// One stride per anchor layer; consecutive layers with the same stride share a grid.
    pub strides: Vec<u32>,
    /// Anchors per grid cell contributed by each layer.
    pub anchors_per_layer: u32,
    pub anchor_offset: f32,
    pub score_threshold: f32,
    /// Candidates overlapping a better one by more than this are suppressed.
    pub nms_iou: f32,
    pub nms: NmsKind,
    /// Names of the keypoints in output order; must include `right_eye` and `left_eye`.
    pub keypoints: Vec<String>,
}

/// `plain` keeps the best candidate of a group; `weighted` (MediaPipe) averages the group, score-weighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NmsKind {
    Plain,
    Weighted,
}

/// Dense landmark model (Face Mesh) on a rotated square ROI.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeshSpec {
    #[serde(flatten)]
    pub model: ModelSpec,
    pub landmarks_output: String,
    pub presence_output: String,
    pub points: usize,
    /// Face present when sigmoid(presence) is at least this.
    pub presence_threshold: f32,
    /// ROI side = this × the longer side of the detector box (or of the landmark bounds when tracking).
    pub roi_scale: f32,
    pub landmarks: MeshLandmarks,
}

/// Named indices into the mesh.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeshLandmarks {
    /// Subject's right eye as p1..p6 of the eye aspect ratio: outer corner, upper lid ×2, inner corner,
    /// lower lid ×2.
    pub right_eye: [usize; 6],
    pub left_eye: [usize; 6],
    pub nose_tip: usize,
    /// Mouth corners, image-left then image-right (subject's right, then left).
    pub mouth_corners: [usize; 2],
    /// Inner lips, upper then lower (mouth opening and smile).
    pub inner_lips: [usize; 2],
    /// Points that define the head axes: subject's right cheek, left cheek, forehead, chin.
    pub right_cheek: usize,
    pub left_cheek: usize,
    pub forehead: usize,
    pub chin: usize,
    /// Two points whose line gives the ROI rotation when tracking (subject's right then left eye corner).
    pub track_rotation: [usize; 2],
}

/// Eye open/closed classifier on a square crop centred on the lids.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EyeStateSpec {
    #[serde(flatten)]
    pub model: ModelSpec,
    pub output: String,
    /// Crop side = this × horizontal distance between the eye corners.
    pub crop_side: f32,
    pub open_class: usize,
    /// An eye is closed when its open probability is below this.
    pub closed_below: f32,
}

/// Passive anti-spoof model on a scaled square crop around the face.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AntiSpoofSpec {
    #[serde(flatten)]
    pub model: ModelSpec,
    pub output: String,
    /// The box the model was trained on, from the detector box: side = `box_side` × detector box height,
    /// centre moved by `box_shift_y` × height.
    pub box_side: f32,
    pub box_shift_y: f32,
    /// The crop = box × `crop_scale` (limited by the frame), resized to the input.
    pub crop_scale: f32,
    pub live_class: usize,
    /// Default decision threshold on the live probability (the session config may override).
    pub live_threshold: f32,
}

/// Face embedding on a 5-point aligned crop.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedderSpec {
    #[serde(flatten)]
    pub model: ModelSpec,
    pub output: String,
    pub dim: usize,
    /// Where the 5 points land in the input crop: eye centres, nose tip, mouth corners (image-left first).
    pub template_points: [[f32; 2]; 5],
    /// Cosine similarity at or above which two embeddings are the same person.
    pub match_threshold: f32,
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Self> {
        let m: Manifest =
            toml::from_str(text).map_err(|e| Error::ManifestInvalid(e.message().to_string()))?;
        m.validate()?;
        Ok(m)
    }

    pub fn models(&self) -> [(&'static str, &ModelSpec); 5] {
        [
            ("detector", &self.detector.model),
            ("mesh", &self.mesh.model),
            ("eye_state", &self.eye_state.model),
            ("antispoof", &self.antispoof.model),
            ("embedder", &self.embedder.model),
        ]
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::ManifestInvalid(m));
        if self.format != MANIFEST_FORMAT {
            return bad(format!("unsupported manifest format {}", self.format));
        }
        for (role, spec) in self.models() {
            spec.input.validate(role)?;
            if spec.sha256.len() != 64 || hex::decode(&spec.sha256).is_err() {
                return bad(format!("{role}: sha256 must be 64 hex digits"));
            }
            if spec.file.contains("..") || Path::new(&spec.file).is_absolute() {
                return bad(format!(
                    "{role}: file must be a relative path inside the model folder"
                ));
            }
        }
        let d = &self.detector;
        if d.strides.is_empty() || d.strides.contains(&0) || d.anchors_per_layer == 0 {
            return bad("detector: strides and anchors_per_layer must be positive".into());
        }
        for name in ["right_eye", "left_eye"] {
            if !d.keypoints.iter().any(|k| k == name) {
                return bad(format!("detector: keypoints must include {name}"));
            }
        }
        let l = &self.mesh.landmarks;
        let singles = [l.nose_tip, l.right_cheek, l.left_cheek, l.forehead, l.chin];
        let mut all = l
            .right_eye
            .iter()
            .chain(&l.left_eye)
            .chain(&l.mouth_corners)
            .chain(&l.inner_lips)
            .chain(&l.track_rotation)
            .chain(&singles);
        if all.any(|i| *i >= self.mesh.points) {
            return bad("mesh: a landmark index is beyond the point count".into());
        }
        if self.mesh.roi_scale <= 0.0 || self.eye_state.crop_side <= 0.0 {
            return bad("mesh roi_scale and eye_state crop_side must be positive".into());
        }
        let a = &self.antispoof;
        if a.box_side <= 0.0 || a.crop_scale <= 0.0 {
            return bad("antispoof: box_side and crop_scale must be positive".into());
        }
        if self.embedder.dim == 0 {
            return bad("embedder: dim must be positive".into());
        }
        Ok(())
    }
}

/// Where model bytes come from: a folder on disk, or bytes handed over by the app (Android assets, iOS
/// bundle resources).
pub trait ModelSource {
    fn read(&self, file: &str) -> std::io::Result<Vec<u8>>;
}

/// Models in a folder next to `manifest.toml`.
pub struct DirSource(pub PathBuf);

impl ModelSource for DirSource {
    fn read(&self, file: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.0.join(file))
    }
}

/// Models given as bytes, keyed by the manifest's `file` names.
impl ModelSource for HashMap<String, Vec<u8>> {
    fn read(&self, file: &str) -> std::io::Result<Vec<u8>> {
        self.get(file)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, file.to_string()))
    }
}

/// Reads a model's bytes and checks them against the manifest before anything parses them.
pub fn read_verified(source: &dyn ModelSource, role: &str, spec: &ModelSpec) -> Result<Vec<u8>> {
    let bytes = source.read(&spec.file).map_err(|_| Error::ModelMissing {
        role: role.into(),
        file: spec.file.clone(),
    })?;
    let digest = hex::encode(Sha256::digest(&bytes));
    if !digest.eq_ignore_ascii_case(&spec.sha256) {
        return Err(Error::ModelChecksum { role: role.into() });
    }
    Ok(bytes)
}
