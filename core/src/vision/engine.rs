//! `Engine`: the five models, loaded once (checksums verified) and shared by sessions.

use std::path::Path;

use serde::Serialize;

use crate::error::{Edges, Error, Result};
use crate::frame::RgbImage;
use crate::manifest::{DirSource, MANIFEST_FILE, Manifest, ModelSource, read_verified};

use super::antispoof::AntiSpoof;
use super::detector::{Detection, Detector};
use super::embedder::{self, Embedder, Embedding};
use super::eyes::{EyeClassifier, EyeState};
use super::mesh::{Mesh, MeshResult, Roi};

use super::model::OnnxModel;
use super::{BoxF, HeadPose, Point, Quality, pose, quality};

/// A face cut by the frame edge by more than this fraction of its size is partial.
const PARTIAL_MARGIN: f32 = 0.02;

pub struct Engine {
    manifest: Manifest,
    detector: Detector,
    mesh: Mesh,
    eyes: EyeClassifier,
    antispoof: AntiSpoof,
    embedder: Embedder,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// Everything measured on one face in one frame (the embedding is separate: it costs the most).
#[derive(Debug, Clone, Serialize)]
pub struct FaceAnalysis {
    /// The detector's output when the detector ran on this frame (`None` on tracked frames).
    pub detection: Option<Detection>,
    /// Bounds of the landmarks: the face box every frame has, tracked or detected.
    pub face_box: BoxF,
    pub mesh: MeshResult,
    /// Eye centres, nose tip, mouth corners (image-left first), in frame pixels.
    pub five_points: [Point; 5],
    pub eyes: EyeState,
    pub pose: HeadPose,
    /// Live-class probability of the passive anti-spoof model; `None` when not computed.
    pub live: Option<f32>,
    pub quality: Quality,
    /// The aligned face crop for the embedder.
    #[serde(skip)]
    pub aligned: RgbImage,
}

impl Engine {
    /// Loads `manifest.toml` and the models next to it.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let text =
            std::fs::read_to_string(dir.join(MANIFEST_FILE)).map_err(|_| Error::ModelMissing {
                role: "manifest".into(),
                file: MANIFEST_FILE.into(),
            })?;
        Self::load(&text, &DirSource(dir.to_path_buf()))
    }

    /// Loads from a manifest text and any byte source (assets, bundles, memory).
    pub fn load(manifest_text: &str, source: &dyn ModelSource) -> Result<Self> {
        let manifest = Manifest::parse(manifest_text)?;
        let load = |role: &'static str, spec: &crate::manifest::ModelSpec| -> Result<OnnxModel> {
            let bytes = read_verified(source, role, spec)?;
            OnnxModel::load(role, spec, &bytes)
        };
        let detector = Detector::new(
            load("detector", &manifest.detector.model)?,
            manifest.detector.clone(),
        )?;
        let mesh = Mesh::new(load("mesh", &manifest.mesh.model)?, manifest.mesh.clone())?;
        let eyes = EyeClassifier::new(
            load("eye_state", &manifest.eye_state.model)?,
            manifest.eye_state.clone(),
        )?;
        let antispoof = AntiSpoof::new(
            load("antispoof", &manifest.antispoof.model)?,
            manifest.antispoof.clone(),
        )?;
        let embedder = Embedder::new(
            load("embedder", &manifest.embedder.model)?,
            manifest.embedder.clone(),
        )?;
        Ok(Self {
            manifest,
            detector,
            mesh,
            eyes,
            antispoof,
            embedder,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn mesh(&self) -> &Mesh {
        &self.mesh
    }

    pub fn match_threshold(&self) -> f32 {
        self.manifest.embedder.match_threshold
    }

    pub fn live_threshold(&self) -> f32 {
        self.manifest.antispoof.live_threshold
    }

    /// All faces, best first.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>> {
        self.detector.detect(img)
    }

    /// The single face of a frame, or `NoFace` / `MultipleFaces`.
    pub fn detect_one(&self, img: &RgbImage) -> Result<Detection> {
        let mut faces = self.detect(img)?;
        match faces.len() {
            0 => Err(Error::NoFace),
            1 => Ok(faces.remove(0)),
            count => Err(Error::MultipleFaces {
                count: count.try_into().unwrap_or(u32::MAX),
            }),
        }
    }

    /// ROI for the mesh from a detection.
    pub fn roi_for(&self, d: &Detection) -> Roi {
        let (r, l) = self.detector.eyes(d);
        self.mesh.roi_from_detection(&d.bbox, r, l)
    }

    /// Full analysis of the one face in a still frame: detect, mesh, eyes, pose, anti-spoof, quality.
    pub fn analyze(&self, img: &RgbImage, with_antispoof: bool) -> Result<FaceAnalysis> {
        let detection = self.detect_one(img)?;
        let roi = self.roi_for(&detection);
        let mesh = self.mesh.run(img, &roi)?;
        if !self.mesh.is_present(&mesh) {
            return Err(Error::NoFace);
        }
        self.analyze_mesh(img, Some(detection), mesh, with_antispoof)
    }

    /// Everything after the mesh; `session` calls it for tracked frames too (no detection, so no
    /// anti-spoof: that model's crop is defined on the detector's box).
    pub fn analyze_mesh(
        &self,
        img: &RgbImage,
        detection: Option<Detection>,
        mesh: MeshResult,
        with_antispoof: bool,
    ) -> Result<FaceAnalysis> {
        check_whole_face(img, &mesh)?;
        let lm = &self.manifest.mesh.landmarks;
        let eyes = self.eyes.run(img, &mesh, lm)?;
        let pose = pose::head_pose(&mesh, lm);
        let five_points = embedder::five_points(&mesh, lm);
        let aligned = self.embedder.align(img, &five_points)?;
        let live = match (&detection, with_antispoof) {
            (Some(d), true) => Some(self.antispoof.live_probability(img, &d.bbox)?),
            _ => None,
        };
        let face_box = mesh.bounds();
        let quality = quality::measure(img, &face_box, &aligned, pose, !eyes.closed);
        Ok(FaceAnalysis {
            detection,
            face_box,
            mesh,
            five_points,
            eyes,
            pose,
            live,
            quality,
            aligned,
        })
    }

    /// Mesh on an ROI (tracking), without detection.
    pub fn mesh_at(&self, img: &RgbImage, roi: &Roi) -> Result<Option<MeshResult>> {
        let m = self.mesh.run(img, roi)?;
        Ok(self.mesh.is_present(&m).then_some(m))
    }

    /// Passive anti-spoof probability for a face box.
    pub fn live_probability(&self, img: &RgbImage, bbox: &BoxF) -> Result<f32> {
        self.antispoof.live_probability(img, bbox)
    }

    pub fn embed(&self, face: &FaceAnalysis) -> Result<Embedding> {
        self.embedder.embed_aligned(&face.aligned)
    }
}

/// Rejects a face whose landmarks run off the frame: a template from half a face is worthless.
fn check_whole_face(img: &RgbImage, mesh: &MeshResult) -> Result<()> {
    let b = mesh.bounds();
    let margin_x = PARTIAL_MARGIN * b.width();
    let margin_y = PARTIAL_MARGIN * b.height();
    let edges = Edges {
        left: b.x1 < -margin_x,
        top: b.y1 < -margin_y,
        right: b.x2 > img.width() as f32 + margin_x,
        bottom: b.y2 > img.height() as f32 + margin_y,
    };
    if edges.left || edges.top || edges.right || edges.bottom {
        return Err(Error::PartialFace { edges });
    }
    Ok(())
}
