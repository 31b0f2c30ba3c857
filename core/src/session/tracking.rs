//! Following the face from frame to frame: the mesh on the ROI the previous frame's landmarks give, the
//! detector only when the track is lost or on sampled frames (a second face, passive liveness).

use crate::config::CaptureConfig;
use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::vision::{BoxF, Detection, Engine, EyeRead, FaceAnalysis, MeshResult};

/// What one frame showed.
pub(super) enum Observation {
    NoFace,
    SeveralFaces,
    Partial(BoxF),
    /// The detector sees a face but the mesh cannot read it (blur, compression, dim light): the user
    /// is told what is wrong with the image, and nothing is measured on it.
    PoorImage(BoxF),
    Face(Box<FaceAnalysis>),
}

/// The face followed from frame to frame.
struct Track {
    mesh: MeshResult,
    face: BoxF,
}

#[derive(Default)]
pub(super) struct Tracker {
    track: Option<Track>,
    detector_runs: u64,
}

impl Tracker {
    pub(super) fn detector_runs(&self) -> u64 {
        self.detector_runs
    }

    /// Detect or track, then analyse the one face. `sample`: run the detector on this frame even while
    /// tracking (the session then scores the detection with the anti-spoof model); the session draws these frames at random. The flag
    /// says the face was (re)acquired on this frame rather than followed: identity is then checked
    /// again. `eyes`: when the Iris model reads the face's eyes.
    pub(super) fn observe(
        &mut self,
        engine: &Engine,
        cfg: &CaptureConfig,
        rgb: &RgbImage,
        sample: bool,
        eyes: EyeRead,
    ) -> Result<(Observation, bool)> {
        if !cfg.tracking {
            self.track = None;
        }
        let mut detection: Option<Detection> = None;
        if self.track.is_none() || sample {
            match self.detect_single(engine, rgb)? {
                Ok(d) => detection = Some(d),
                Err(obs) => return Ok((obs, false)),
            }
        }
        // Mesh: on the tracked ROI when there is a track, else from the detection.
        let mut reacquired = self.track.is_none();
        let mut mesh = match &self.track {
            Some(t) => engine.mesh_at(rgb, &engine.mesh().roi_from_landmarks(&t.mesh))?,
            None => None,
        };
        if mesh.is_none() {
            if detection.is_none() {
                match self.detect_single(engine, rgb)? {
                    Ok(d) => detection = Some(d),
                    Err(obs) => return Ok((obs, false)),
                }
            }
            reacquired = true;
            if let Some(d) = &detection {
                mesh = engine.mesh_at(rgb, &engine.roi_for(d))?;
            }
        }
        let Some(mut mesh) = mesh else {
            self.track = None;
            return Ok(match detection {
                Some(d) => (Observation::PoorImage(d.bbox), false),
                None => (Observation::NoFace, false),
            });
        };
        // On drawn frames the detector checks the track: a mesh that follows something other than the
        // face the detector sees starts again from the detection (and identity is checked).
        if let Some(d) = &detection
            && !reacquired
            && d.bbox.centre().dist(mesh.bounds().centre()) > 0.5 * d.bbox.height()
        {
            reacquired = true;
            match engine.mesh_at(rgb, &engine.roi_for(d))? {
                Some(m) => mesh = m,
                None => {
                    self.track = None;
                    return Ok((Observation::PoorImage(d.bbox), false));
                }
            }
        }
        let face = mesh.bounds();
        if let Some(t) = &self.track {
            let jump = t.face.centre().dist(face.centre()) / t.face.height().max(1.0);
            if jump > cfg.max_track_jump {
                reacquired = true;
            }
        }
        // The anti-spoof model runs on the session's worker, on the detection this returns.
        let analysis = match engine.analyze_mesh(rgb, detection, mesh.clone(), false, eyes) {
            Ok(a) => a,
            Err(Error::PartialFace { .. }) => {
                self.track = None;
                return Ok((Observation::Partial(face), false));
            }
            Err(e) => return Err(e),
        };
        self.track = Some(Track { mesh, face });
        Ok((Observation::Face(Box::new(analysis)), reacquired))
    }

    /// Runs the detector for a key frame: the box of the one face around the tracked `face`, or
    /// `None` when it does not see exactly that.
    pub(super) fn detect_around(
        &mut self,
        engine: &Engine,
        rgb: &RgbImage,
        face: &BoxF,
    ) -> Result<Option<BoxF>> {
        self.detector_runs += 1;
        let faces = engine.detect(rgb)?;
        Ok(match faces.as_slice() {
            [d] if d.bbox.centre().dist(face.centre()) < 0.5 * face.height() => Some(d.bbox),
            _ => None,
        })
    }

    /// Runs the detector: the one face, or what to tell the user instead.
    fn detect_single(
        &mut self,
        engine: &Engine,
        rgb: &RgbImage,
    ) -> Result<std::result::Result<Detection, Observation>> {
        self.detector_runs += 1;
        let mut faces = engine.detect(rgb)?;
        Ok(match (faces.pop(), faces.is_empty()) {
            (None, _) => {
                self.track = None;
                Err(Observation::NoFace)
            }
            (Some(d), true) => Ok(d),
            (Some(_), false) => Err(Observation::SeveralFaces),
        })
    }
}
