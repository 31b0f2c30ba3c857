//! Evidence frames for the server: which frames, and how they are cut and compressed.
//!
//! During a challenge the recorder keeps the face region of the latest neutral frame (only a crop, no
//! encoding), then the first action frame; when the challenge passes, the three frames (neutral,
//! action, return) are scaled and JPEG-encoded. The template frame is kept the same way while the best
//! frame is chosen. Crops are zeroized on drop (`RgbImage`), and so are the JPEG bytes.

use image::ImageEncoder as _;
use zeroize::Zeroizing;

use crate::config::EvidenceConfig;
use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::liveness::active::Phase;
use crate::seal::{EvidenceFrame, FrameRole};
use crate::vision::BoxF;

/// A face region cut from one frame, not yet encoded.
pub(super) struct Crop {
    image: RgbImage,
    frame: u64,
    t_ms: u64,
}

impl Crop {
    /// The square of `margin ×` the face box's longer side around its centre, clipped to the frame.
    pub(super) fn cut(
        rgb: &RgbImage,
        face: &BoxF,
        margin: f32,
        frame: u64,
        t_ms: u64,
    ) -> Option<Self> {
        let side = face.width().max(face.height()) * margin;
        if !(side.is_finite() && side >= 1.0) {
            return None;
        }
        let (cx, cy) = ((face.x1 + face.x2) / 2.0, (face.y1 + face.y2) / 2.0);
        let x0 = (cx - side / 2.0).max(0.0);
        let y0 = (cy - side / 2.0).max(0.0);
        let x1 = (cx + side / 2.0).min(rgb.width() as f32);
        let y1 = (cy + side / 2.0).min(rgb.height() as f32);
        if x1 - x0 < 1.0 || y1 - y0 < 1.0 {
            return None;
        }
        let image = crate::vision::warp::crop(
            rgb,
            x0 as u32,
            y0 as u32,
            (x1 - x0).ceil() as u32,
            (y1 - y0).ceil() as u32,
        );
        Some(Self { image, frame, t_ms })
    }

    /// Scales so the longer side is at most `max_side` and encodes as JPEG.
    fn encode(
        &self,
        role: FrameRole,
        challenge: Option<u32>,
        max_side: u32,
        quality: u8,
    ) -> Result<EvidenceFrame> {
        let start = std::time::Instant::now();
        let (w, h) = (self.image.width(), self.image.height());
        let scale = (max_side as f32 / w.max(h) as f32).min(1.0);
        let (tw, th) = (
            ((w as f32 * scale).round() as u32).max(1),
            ((h as f32 * scale).round() as u32).max(1),
        );
        let src = image::RgbImage::from_raw(w, h, self.image.as_bytes().to_vec())
            .ok_or_else(|| Error::Internal("evidence crop size".into()))?;
        let scaled = Zeroizing::new(if (tw, th) == (w, h) {
            src.into_raw()
        } else {
            let out = image::imageops::resize(&src, tw, th, image::imageops::FilterType::Triangle);
            Zeroizing::new(src.into_raw());
            out.into_raw()
        });
        let mut jpeg = Zeroizing::new(Vec::with_capacity(scaled.len() / 8));
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut *jpeg, quality)
            .write_image(&scaled, tw, th, image::ExtendedColorType::Rgb8)
            .map_err(|_| Error::Internal("evidence frame encoding failed".into()))?;
        crate::profile::record(crate::profile::Stage::Evidence, start);
        Ok(EvidenceFrame {
            role,
            challenge,
            frame: self.frame,
            t_ms: self.t_ms,
            jpeg,
        })
    }
}

/// Collects the evidence frames of one capture.
pub(super) struct EvidenceRecorder {
    cfg: EvidenceConfig,
    neutral: Option<Crop>,
    action: Option<Crop>,
    frames: Vec<EvidenceFrame>,
}

impl EvidenceRecorder {
    pub(super) fn new(cfg: EvidenceConfig) -> Self {
        Self {
            cfg,
            neutral: None,
            action: None,
            frames: Vec::new(),
        }
    }

    fn cut(&self, rgb: &RgbImage, face: &BoxF, frame: u64, t_ms: u64) -> Option<Crop> {
        Crop::cut(rgb, face, self.cfg.margin, frame, t_ms)
    }

    /// Follows a challenge frame by frame: `before` and `after` are its phase around this frame,
    /// `passed` the index of the challenge if this frame completed it.
    pub(super) fn challenge_frame(
        &mut self,
        rgb: &RgbImage,
        face: &BoxF,
        frame: u64,
        t_ms: u64,
        (before, after): (Phase, Phase),
        passed: Option<u32>,
    ) -> Result<()> {
        if !self.cfg.enabled {
            return Ok(());
        }
        if let Some(index) = passed {
            let ret = self.cut(rgb, face, frame, t_ms);
            let (side, q) = (self.cfg.challenge_side, self.cfg.jpeg_quality);
            let triple = [
                (FrameRole::Neutral, self.neutral.take()),
                (FrameRole::Action, self.action.take()),
                (FrameRole::Return, ret),
            ];
            for (role, crop) in triple {
                if let Some(c) = crop {
                    self.frames.push(c.encode(role, Some(index), side, q)?);
                }
            }
            return Ok(());
        }
        match (before, after) {
            (_, Phase::Ready) => self.neutral = self.cut(rgb, face, frame, t_ms),
            (Phase::Ready, Phase::Acting) => self.action = self.cut(rgb, face, frame, t_ms),
            (_, Phase::Neutral) => self.action = None,
            _ => {}
        }
        Ok(())
    }

    /// A crop for a template-frame candidate (kept by the session with the candidate).
    pub(super) fn template_crop(
        &self,
        rgb: &RgbImage,
        face: &BoxF,
        frame: u64,
        t_ms: u64,
    ) -> Option<Crop> {
        self.cfg
            .enabled
            .then(|| self.cut(rgb, face, frame, t_ms))
            .flatten()
    }

    /// Every frame, the template frame first.
    pub(super) fn finish(&mut self, template: Option<Crop>) -> Result<Vec<EvidenceFrame>> {
        if let Some(t) = template {
            let first = t.encode(
                FrameRole::Template,
                None,
                self.cfg.template_side,
                self.cfg.jpeg_quality,
            )?;
            self.frames.insert(0, first);
        }
        Ok(std::mem::take(&mut self.frames))
    }
}
