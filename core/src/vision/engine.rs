//! `Engine`: the manifest's models, loaded once (checksums verified) and shared by sessions.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;

use crate::error::{Edges, Error, Result};
use crate::frame::RgbImage;
use crate::manifest::{
    DirSource, MANIFEST_FILE, Manifest, MeshLandmarks, ModelSource, read_verified,
};
use crate::matching::Metric;

use super::antispoof::AntiSpoof;
use super::detector::{Detection, Detector};
use super::embedder::{Embedder, Embedding};
use super::eyes::{EyeModel, EyeRead, EyeState, lid_ratio};
use super::mesh::{Mesh, MeshResult, Roi};

use super::model::OnnxModel;
use super::{BoxF, HeadPose, Point, Quality, pose, quality};

/// A face cut by the frame edge by more than this fraction of its size is partial.
const PARTIAL_MARGIN: f32 = 0.02;

pub struct Engine {
    manifest: Manifest,
    detector: Detector,
    mesh: Mesh,
    eyes: EyeModel,
    antispoof: Option<Deferred<AntiSpoof>>,
    embedder: Deferred<Embedder>,
}

type Build<T> = Box<dyn FnOnce() -> Result<T> + Send>;

/// A model verified at load and parsed in the background ([`build_in_background`]), once the first
/// frame's models are parsed. The embedder and the anti-spoof model are not needed for the first
/// guidance (they run on the session's worker, from the end of positioning): the first frame does not
/// wait for them, and they are ready long before they are asked for. Whoever asks first while the
/// build runs waits for it; without a background thread, the first use builds it.
struct Deferred<T> {
    inner: Arc<DeferredInner<T>>,
}

struct DeferredInner<T> {
    built: OnceLock<Result<T>>,
    build: Mutex<Option<Build<T>>>,
}

impl<T: Send + Sync + 'static> Deferred<T> {
    fn new(build: Build<T>) -> Self {
        let inner = Arc::new(DeferredInner {
            built: OnceLock::new(),
            build: Mutex::new(Some(build)),
        });
        Self { inner }
    }

    fn get(&self) -> Result<&T> {
        self.inner.get()
    }

    fn pending(&self) -> Arc<dyn Pending> {
        self.inner.clone()
    }
}

/// A deferred build, type-erased for the background thread.
trait Pending: Send + Sync {
    fn build(&self);
}

impl<T: Send + Sync> Pending for DeferredInner<T> {
    fn build(&self) {
        // Its error is kept for whoever asks for the model.
        let _ = self.get();
    }
}

/// Builds the deferred models one after another on one low-priority thread, in the order given. One
/// at a time, so that one model's load peak never adds to another's (the anti-spoof model's parse
/// beside the embedder's packing), and the allocator reuses one thread's freed memory instead of
/// keeping two threads' apart. They are asked for hundreds of milliseconds later, so running them
/// side by side on a phone's several cores would gain nothing a capture waits for. What the loads
/// freed is then handed back ([`crate::allocator`]).
fn build_in_background(queue: Vec<Arc<dyn Pending>>) {
    let _ = std::thread::Builder::new()
        .name("smartid-load".into())
        .spawn(move || {
            crate::threads::lower_priority();
            for pending in queue {
                pending.build();
            }
            crate::allocator::release_freed();
        });
}

impl<T> DeferredInner<T> {
    fn get(&self) -> Result<&T> {
        let built = self.built.get_or_init(|| {
            // It loads beside the frames, on whichever thread asks first: its large blocks are
            // mapped on their own, so what it frees leaves the process ([`crate::allocator`]).
            let _loading = crate::allocator::loading();
            let build = self.build.lock().ok().and_then(|mut b| b.take());
            match build {
                Some(build) => build(),
                None => Err(Error::Internal("model build lost".into())),
            }
        });
        built.as_ref().map_err(Clone::clone)
    }
}

/// The detector, mesh and Iris models, which the first frame needs: all three files verified, then
/// the mesh and Iris parsed on threads beside the detector's, so that on a phone's several cores the
/// load takes about the longest model's time rather than the sum. Errors come in that order, whichever
/// thread finishes first.
fn first_frame_models(
    manifest: &Manifest,
    source: &dyn ModelSource,
) -> Result<(OnnxModel, OnnxModel, OnnxModel)> {
    let detector = read_verified(source, "detector", &manifest.detector.model)?;
    let mesh = read_verified(source, "mesh", &manifest.mesh.model)?;
    let eyes = read_verified(source, "eyes", &manifest.eyes.model)?;
    let mesh_job = || OnnxModel::load("mesh", &manifest.mesh.model, &mesh);
    let eyes_job = || OnnxModel::load("eyes", &manifest.eyes.model, &eyes);
    std::thread::scope(|scope| {
        let mesh = spawn_load(scope, mesh_job);
        let eyes = spawn_load(scope, eyes_job);
        let detector = OnnxModel::load("detector", &manifest.detector.model, &detector);
        let mesh = finish(mesh, mesh_job);
        let eyes = finish(eyes, eyes_job);
        Ok((detector?, mesh?, eyes?))
    })
}

fn spawn_load<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    job: impl FnOnce() -> Result<OnnxModel> + Send + 'scope,
) -> std::io::Result<std::thread::ScopedJoinHandle<'scope, Result<OnnxModel>>> {
    std::thread::Builder::new()
        .name("smartid-load".into())
        .spawn_scoped(scope, job)
}

/// A model parsed on a thread, or here when no thread could be started. A panic in the parser
/// becomes an error.
fn finish(
    spawned: std::io::Result<std::thread::ScopedJoinHandle<'_, Result<OnnxModel>>>,
    job: impl FnOnce() -> Result<OnnxModel>,
) -> Result<OnnxModel> {
    match spawned {
        Ok(handle) => handle
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("a model load panicked".into()))),
        Err(_) => job(),
    }
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
    /// The Iris model's reading; `None` on a tracked frame where the session did not ask for it
    /// (always present for a still: [`Engine::analyze`]).
    pub eyes: Option<EyeState>,
    /// The mesh's own eye aspect ratio ([`lid_ratio`](super::eyes::lid_ratio)), on every frame.
    pub lid_ratio: f32,
    pub pose: HeadPose,
    /// Live-class probability of the passive anti-spoof model; `None` when not computed (or no model).
    pub live: Option<f32>,
    pub quality: Quality,
    /// The face cut to the embedder's alignment.
    #[serde(skip)]
    pub aligned: RgbImage,
}

impl Engine {
    /// Loads `manifest.toml` and the models next to it.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        Self::from_manifest_file(dir.as_ref().join(MANIFEST_FILE))
    }

    /// Loads a manifest file (any name, e.g. `models/manifest-antispoof.toml`) and the models it lists,
    /// relative to its folder.
    pub fn from_manifest_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let missing = || Error::ModelMissing {
            role: "manifest".into(),
            file: path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| MANIFEST_FILE.into()),
        };
        let text = std::fs::read_to_string(path).map_err(|_| missing())?;
        let dir = path.parent().ok_or_else(missing)?;
        Self::load(&text, &DirSource(dir.to_path_buf()))
    }

    /// A folder (its `manifest.toml`) or a manifest file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if path.is_dir() {
            Self::from_dir(path)
        } else {
            Self::from_manifest_file(path)
        }
    }

    /// Loads from a manifest text and any byte source (assets, bundles, memory). Every checksum is
    /// verified here; the detector, mesh and eye models are ready on return, the embedder and the
    /// anti-spoof model finish on a background thread ([`ready`](Self::ready) waits for them).
    pub fn load(manifest_text: &str, source: &dyn ModelSource) -> Result<Self> {
        let manifest = Manifest::parse(manifest_text)?;
        // Read and verified now (a missing or altered file fails the load), parsed once the first
        // frame's models are: on one core they would compete with them, and the embedder's parse
        // (its weights unfolded and packed) would add its memory peak to theirs.
        let embedder = (
            manifest.embedder.clone(),
            read_verified(source, "embedder", &manifest.embedder.model)?,
        );
        let antispoof = match &manifest.antispoof {
            Some(spec) => Some((
                spec.clone(),
                read_verified(source, "antispoof", &spec.model)?,
            )),
            None => None,
        };
        let (detector, mesh, eyes) = first_frame_models(&manifest, source)?;
        // Their parses' freed memory, spread over the loading threads' arenas, handed back before
        // the frames and the embedder's load start.
        crate::allocator::release_freed();
        let detector = Detector::new(detector, manifest.detector.clone())?;
        let mesh = Mesh::new(mesh, manifest.mesh.clone())?;
        let eyes = EyeModel::new(eyes, manifest.eyes.clone())?;
        let embedder = {
            let (spec, bytes) = embedder;
            Deferred::new(Box::new(move || {
                Embedder::new(OnnxModel::load("embedder", &spec.model, bytes)?, spec)
            }))
        };
        let antispoof = antispoof.map(|(spec, bytes)| {
            Deferred::new(Box::new(move || {
                AntiSpoof::new(OnnxModel::load("antispoof", &spec.model, bytes)?, spec)
            }))
        });
        let mut queue = vec![embedder.pending()];
        queue.extend(antispoof.as_ref().map(Deferred::pending));
        build_in_background(queue);
        Ok(Self {
            manifest,
            detector,
            mesh,
            eyes,
            antispoof,
            embedder,
        })
    }

    /// Waits for the models still loading in the background and reports their errors (a model the
    /// parser refuses, an output the manifest names and the model lacks). Without it, such an error
    /// fails the first capture that needs the model, with the same code.
    pub fn ready(&self) -> Result<()> {
        self.embedder.get()?;
        if let Some(a) = &self.antispoof {
            a.get()?;
        }
        Ok(())
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

    pub fn metric(&self) -> Metric {
        self.manifest.embedder.metric
    }

    /// Whether this model set can score passive liveness at all.
    pub fn has_antispoof(&self) -> bool {
        self.antispoof.is_some()
    }

    /// The anti-spoof model's threshold; `None` without one.
    pub fn live_threshold(&self) -> Option<f32> {
        self.manifest.antispoof.as_ref().map(|a| a.live_threshold)
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

    /// Full analysis of the one face in a still frame: detect, mesh, eyes, pose, anti-spoof (when asked
    /// and the set has one), quality.
    pub fn analyze(&self, img: &RgbImage, with_antispoof: bool) -> Result<FaceAnalysis> {
        let detection = self.detect_one(img)?;
        let roi = self.roi_for(&detection);
        let mesh = self.mesh.run(img, &roi)?;
        if !self.mesh.is_present(&mesh) {
            return Err(Error::NoFace);
        }
        self.analyze_mesh(img, Some(detection), mesh, with_antispoof, EyeRead::Iris)
    }

    /// Everything after the mesh; `session` calls it for tracked frames too (no detection, so no
    /// anti-spoof: that model's crop is defined on the detector's box), and says when the Iris model
    /// must read the eyes.
    pub fn analyze_mesh(
        &self,
        img: &RgbImage,
        detection: Option<Detection>,
        mesh: MeshResult,
        with_antispoof: bool,
        read: EyeRead,
    ) -> Result<FaceAnalysis> {
        check_whole_face(img, &mesh)?;
        let lm = &self.manifest.mesh.landmarks;
        let lid_ratio = lid_ratio(&mesh, lm);
        let eyes = if read.wants_iris(lid_ratio) {
            Some(self.eyes.run(img, &mesh, lm)?)
        } else {
            None
        };
        let pose = pose::head_pose(&mesh, lm);
        let five_points = five_points(&mesh, lm);
        let aligned = super::embedder::align(&self.manifest.embedder, img, &mesh)?;
        let live = match (&detection, &self.antispoof, with_antispoof) {
            (Some(d), Some(model), true) => Some(model.get()?.live_probability(img, &d.bbox)?),
            _ => None,
        };
        let face_box = mesh.bounds();
        // Unread eyes are open as far as the still's quality goes; the session judges them itself.
        let eyes_open = eyes.is_none_or(|e| !e.closed);
        let quality = quality::measure(img, &face_box, &aligned, pose, eyes_open);
        Ok(FaceAnalysis {
            detection,
            face_box,
            mesh,
            five_points,
            eyes,
            lid_ratio,
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

    /// Passive anti-spoof probability for a face box; `None` when the set has no anti-spoof model.
    pub fn live_probability(&self, img: &RgbImage, bbox: &BoxF) -> Result<Option<f32>> {
        self.antispoof
            .as_ref()
            .map(|a| a.get()?.live_probability(img, bbox))
            .transpose()
    }

    /// The anti-spoof model's input for a face box (`None` when the set has no anti-spoof model).
    pub fn antispoof_crop(&self, img: &RgbImage, bbox: &BoxF) -> Option<RgbImage> {
        let spec = self.manifest.antispoof.as_ref()?;
        Some(super::antispoof::crop(spec, img, bbox))
    }

    /// Live-class probability of an [`antispoof_crop`](Self::antispoof_crop).
    pub fn live_probability_of_crop(&self, crop: &RgbImage) -> Result<Option<f32>> {
        self.antispoof
            .as_ref()
            .map(|a| a.get()?.score(crop))
            .transpose()
    }

    pub fn embed(&self, face: &FaceAnalysis) -> Result<Embedding> {
        self.embed_aligned(&face.aligned)
    }

    /// Embeds a face already cut to the embedder's alignment ([`FaceAnalysis::aligned`]).
    pub fn embed_aligned(&self, aligned: &RgbImage) -> Result<Embedding> {
        self.embedder.get()?.embed_aligned(aligned)
    }
}

/// Eye centres, nose tip, mouth corners (image-left first): the face geometry the challenges read.
fn five_points(mesh: &MeshResult, lm: &MeshLandmarks) -> [Point; 5] {
    let eye = |idx: &[usize; 6]| Point::mean(&idx.map(|i| mesh.p(i)));
    [
        eye(&lm.right_eye),
        eye(&lm.left_eye),
        mesh.p(lm.nose_tip),
        mesh.p(lm.mouth_corners[0]),
        mesh.p(lm.mouth_corners[1]),
    ]
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::{Arc, Mutex};

    use super::{Deferred, build_in_background};
    use crate::error::Error;

    /// The deferred models are built in the order given, on the one background thread, and a build
    /// that fails does not stop the next: its error is kept for whoever asks.
    #[test]
    fn deferred_builds_run_in_order_on_one_thread_past_a_failure() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let record = |name: &'static str| {
            let log = log.clone();
            move || {
                let thread = std::thread::current();
                let label = thread.name().map(str::to_string);
                log.lock().unwrap().push((name, label, thread.id()));
            }
        };
        let (first, second) = (record("first"), record("second"));
        let failing: Deferred<u32> = Deferred::new(Box::new(move || {
            first();
            Err(Error::Internal("refused".into()))
        }));
        let fine: Deferred<u32> = Deferred::new(Box::new(move || {
            second();
            Ok(7)
        }));
        build_in_background(vec![failing.pending(), fine.pending()]);
        // Asking now would build here, on this thread (whoever asks first builds): wait for the
        // background thread to have run both.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while log.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(*fine.get().unwrap(), 7);
        assert!(matches!(failing.get(), Err(Error::Internal(_))));
        let log = log.lock().unwrap();
        let order: Vec<_> = log
            .iter()
            .map(|(name, label, _)| (*name, label.clone()))
            .collect();
        let load = Some("smartid-load".to_string());
        assert_eq!(order, vec![("first", load.clone()), ("second", load)]);
        assert_eq!(log[0].2, log[1].2, "one thread for both");
        assert_ne!(log[0].2, std::thread::current().id());
    }
}
