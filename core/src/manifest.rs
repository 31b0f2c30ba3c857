//! The model manifest: every fact about a model (file, checksum, input, crop, outputs, landmark indices,
//! thresholds) lives in `models/manifest.toml`, not in code. A bank swaps a model by editing the manifest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::matching::Metric;

/// Format 2: eye openness from a landmark contour, optional anti-spoof, the embedder's alignment and
/// metric described here (format 1 hard-coded a 5-point template and cosine).
pub const MANIFEST_FORMAT: u32 = 2;
pub const MANIFEST_FILE: &str = "manifest.toml";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// Which model set this is (`clean`, `antispoof`, …): shown by tools, not used for decisions.
    pub name: String,
    pub detector: DetectorSpec,
    pub mesh: MeshSpec,
    pub eyes: EyesSpec,
    /// Passive liveness. Optional: without it a capture proves liveness with challenges only, and its
    /// payload says so (`liveness.passive.status = "no_model"`).
    pub antispoof: Option<AntiSpoofSpec>,
    pub embedder: EmbedderSpec,
}

/// What every model declares: identity, file, checksum, licence and how its input tensor is made.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Stable identifier that goes into templates and payloads (e.g. `dlib/dlib_face_recognition_resnet_model_v1@int8`).
    pub id: String,
    /// Path relative to the manifest.
    pub file: String,
    pub sha256: String,
    pub licence: String,
    pub input: InputSpec,
    /// Convolution kernels of at least this many weights are held in fp16 once loaded; absent, all
    /// stay fp32. The graph computes in fp32 either way: the kernel takes half the memory, and its
    /// convolution reads it through tract's fp16-weight, fp32-activation matrix kernels, which cost
    /// time where a convolution has a large output (docs/performance.md, "The embedder's large
    /// convolution kernels held in fp16").
    #[serde(default)]
    pub fp16_conv_kernels_from: Option<usize>,
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

/// How eye openness is measured. One method today; the enum makes the manifest say which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EyeMethod {
    /// Eye aspect ratio of a landmark model's eye contour (MediaPipe Iris), per eye on its own crop.
    IrisContour,
}

/// Eye openness from an eye-contour landmark model, judged against the user's own open-eye baseline.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EyesSpec {
    #[serde(flatten)]
    pub model: ModelSpec,
    pub method: EyeMethod,
    /// Output holding the contour as (x, y, z) triples in input pixels.
    pub contour_output: String,
    pub contour_points: usize,
    /// Crop side = this × the distance between the eye corners (mesh `right_eye`/`left_eye` p1 and
    /// p4), rotated so the corners are level.
    pub crop_side: f32,
    /// The model was trained on one eye: the other eye's crop is mirrored (MediaPipe mirrors the left).
    pub mirror_left: bool,
    /// Contour indices of the two eye corners (the ratio's denominator).
    pub corners: [usize; 2],
    /// Contour index pairs (upper lid, lower lid) whose mean distance is the ratio's numerator.
    pub lid_pairs: Vec<[usize; 2]>,
    /// A typical open-eye ratio, used until the session has seen enough of this user's eyes (and for
    /// single stills).
    pub baseline_prior: f32,
    /// The user's baseline is the median ratio over this many recent frames.
    pub baseline_frames: u32,
    /// Fewer frames than this and the prior is used.
    pub baseline_min_frames: u32,
    /// Eyes close when the ratio (mean of both eyes) falls below this fraction of the baseline…
    pub closed_below: f32,
    /// …and count as open again only above this fraction, so one blink is one blink.
    pub open_above: f32,
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

/// Face embedding on a crop aligned to reference points.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedderSpec {
    #[serde(flatten)]
    pub model: ModelSpec,
    pub output: String,
    pub dim: usize,
    /// How two embeddings are compared; cosine vectors are L2-normalised, Euclidean ones kept raw.
    pub metric: Metric,
    /// Same person when the score is on the matching side of this (≥ for cosine, ≤ for Euclidean).
    pub match_threshold: f32,
    pub alignment: AlignmentSpec,
}

/// How the embedder's input crop is cut: a least-squares similarity from the frame's points (each the
/// mean of some mesh landmarks) to where the model expects them, then a sampling rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlignmentSpec {
    pub sampling: Sampling,
    pub points: Vec<AlignmentPoint>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlignmentPoint {
    /// Where the point lands, in input pixels (for `dlib_chip`: dlib's nominal chip coordinates).
    pub at: [f32; 2],
    /// Mesh landmarks whose mean is the point in the frame.
    pub landmarks: Vec<usize>,
}

/// How crop pixels are sampled once the similarity is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Bilinear warp with the similarity as is (ArcFace-style templates).
    Affine,
    /// dlib's `extract_image_chips`: pixel u of an N-px chip samples T(N/2) + R·((N·s − 1)/(N − 1))·(u −
    /// (N − 1)/2), after halving the image with a 5×5 Gaussian pyramid while (N·s − 1)/(N − 1) > 2.
    DlibChip,
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Self> {
        let m: Manifest =
            toml::from_str(text).map_err(|e| Error::ManifestInvalid(e.message().to_string()))?;
        m.validate()?;
        Ok(m)
    }

    /// Every model of the set, with its role, in pipeline order.
    pub fn models(&self) -> Vec<(&'static str, &ModelSpec)> {
        let mut all = vec![
            ("detector", &self.detector.model),
            ("mesh", &self.mesh.model),
            ("eyes", &self.eyes.model),
        ];
        if let Some(a) = &self.antispoof {
            all.push(("antispoof", &a.model));
        }
        all.push(("embedder", &self.embedder.model));
        all
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
        if !positive(self.mesh.roi_scale) {
            return bad("mesh: roi_scale must be positive and finite".into());
        }
        self.validate_eyes()?;
        if let Some(a) = &self.antispoof {
            if !(positive(a.box_side) && positive(a.crop_scale) && a.box_shift_y.is_finite()) {
                return bad(
                    "antispoof: box_side and crop_scale must be positive, all finite".into(),
                );
            }
            // A threshold of 0 or below would call every face live.
            if !(a.live_threshold > 0.0 && a.live_threshold <= 1.0) {
                return bad("antispoof: live_threshold must be within (0, 1]".into());
            }
        }
        self.validate_embedder()?;
        Ok(())
    }
}

impl Manifest {
    fn validate_eyes(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::ManifestInvalid(format!("eyes: {m}")));
        let e = &self.eyes;
        if e.contour_points == 0 {
            return bad("contour_points must be positive");
        }
        let indices = e.corners.iter().chain(e.lid_pairs.iter().flatten());
        if indices.copied().any(|i| i >= e.contour_points) {
            return bad("a contour index is beyond contour_points");
        }
        if e.lid_pairs.is_empty() || e.corners[0] == e.corners[1] {
            return bad("needs lid pairs and two different corners");
        }
        if !(positive(e.crop_side) && positive(e.baseline_prior)) {
            return bad("crop_side and baseline_prior must be positive and finite");
        }
        if !(0.0 < e.closed_below && e.closed_below < e.open_above && e.open_above <= 1.5) {
            return bad("need 0 < closed_below < open_above <= 1.5");
        }
        if e.baseline_min_frames == 0
            || e.baseline_frames < e.baseline_min_frames
            || e.baseline_frames > 300
        {
            return bad("need 0 < baseline_min_frames <= baseline_frames <= 300");
        }
        Ok(())
    }

    fn validate_embedder(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::ManifestInvalid(format!("embedder: {m}")));
        let e = &self.embedder;
        if e.dim == 0 || e.dim > crate::seal::MAX_TEMPLATE_DIM {
            return bad("dim must be 1..=4096");
        }
        if !e.match_threshold.is_finite() || e.match_threshold < 0.0 {
            return bad("match_threshold must be a finite non-negative number");
        }
        if e.metric == Metric::Cosine && e.match_threshold > 1.0 {
            return bad("a cosine match_threshold is at most 1");
        }
        let points = &e.alignment.points;
        if points.len() < 2 {
            return bad("alignment needs at least two points");
        }
        let first = points[0].at;
        if points.iter().all(|p| p.at == first) {
            return bad("alignment reference points must not all coincide");
        }
        for p in points {
            if p.landmarks.is_empty() || p.landmarks.iter().any(|i| *i >= self.mesh.points) {
                return bad("an alignment point needs mesh landmarks below the mesh point count");
            }
            if p.at.iter().any(|v| !v.is_finite()) {
                return bad("alignment coordinates must be finite");
            }
        }
        Ok(())
    }
}

fn positive(v: f32) -> bool {
    v.is_finite() && v > 0.0
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
