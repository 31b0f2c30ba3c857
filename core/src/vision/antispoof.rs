//! Passive anti-spoof (MiniFASNet-style): a wide crop around the face, softmax, live-class probability.

use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::manifest::AntiSpoofSpec;

use super::geometry::{Affine, BoxF};
use super::model::{OnnxModel, softmax};
use super::warp::{Border, warp_rgb};

pub struct AntiSpoof {
    model: OnnxModel,
    spec: AntiSpoofSpec,
    output: usize,
}

impl AntiSpoof {
    pub fn new(model: OnnxModel, spec: AntiSpoofSpec) -> Result<Self> {
        let output = model.require_output(&spec.output)?;
        Ok(Self {
            model,
            spec,
            output,
        })
    }

    /// Probability that the face in `detector_box` is a live person (not a print or a screen).
    pub fn live_probability(&self, img: &RgbImage, detector_box: &BoxF) -> Result<f32> {
        self.score(&self.crop(img, detector_box))
    }

    /// The model's input cut from the frame (cheap: the session cuts it on the camera thread and
    /// scores it on its worker).
    pub fn crop(&self, img: &RgbImage, detector_box: &BoxF) -> RgbImage {
        crop(&self.spec, img, detector_box)
    }

    /// Live-class probability of a [`crop`](Self::crop).
    pub fn score(&self, crop: &RgbImage) -> Result<f32> {
        let out = self.model.run(crop)?;
        let probs = softmax(&out[self.output]);
        probs
            .get(self.spec.live_class)
            .copied()
            .ok_or_else(|| Error::Inference {
                role: "antispoof".into(),
                detail: "live_class is beyond the output size".into(),
            })
    }
}

/// The anti-spoof model's input for a detector box, from the manifest alone (no model needed).
pub fn crop(spec: &AntiSpoofSpec, img: &RgbImage, detector_box: &BoxF) -> RgbImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let train_box = training_box(spec, detector_box, w, h);
    let input = &spec.model.input;
    let (l, t, cw, ch) = scaled_crop_rect(&train_box, spec.crop_scale, w, h);
    let (iw, ih) = (input.width(), input.height());
    let map = Affine::resize(l, t, cw / iw as f32, ch / ih as f32);
    warp_rgb(img, &map, iw, ih, Border::Replicate)
}

/// The square box this model was trained on, derived from our detector's box (see the manifest).
fn training_box(spec: &AntiSpoofSpec, b: &BoxF, w: f32, h: f32) -> BoxF {
    let c = b.centre();
    let cy = c.y + spec.box_shift_y * b.height();
    let side = spec.box_side * b.height();
    BoxF {
        x1: (c.x - side / 2.0).max(0.0),
        y1: (cy - side / 2.0).max(0.0),
        x2: (c.x + side / 2.0).min(w - 1.0),
        y2: (cy + side / 2.0).min(h - 1.0),
    }
}

/// Silent-Face `CropImage._get_new_box`: the box scaled about its centre, shifted back inside the frame,
/// corners truncated to whole pixels. Returns left, top, width, height.
pub fn scaled_crop_rect(b: &BoxF, scale: f32, w: f32, h: f32) -> (f32, f32, f32, f32) {
    let (bw, bh) = (b.width().max(1.0), b.height().max(1.0));
    let scale = scale.min((h - 1.0) / bh).min((w - 1.0) / bw);
    let (nw, nh) = (bw * scale, bh * scale);
    let (cx, cy) = (b.x1 + bw / 2.0, b.y1 + bh / 2.0);
    let (mut l, mut t, mut r, mut bo) =
        (cx - nw / 2.0, cy - nh / 2.0, cx + nw / 2.0, cy + nh / 2.0);
    if l < 0.0 {
        r -= l;
        l = 0.0;
    }
    if t < 0.0 {
        bo -= t;
        t = 0.0;
    }
    if r > w - 1.0 {
        l -= r - w + 1.0;
        r = w - 1.0;
    }
    if bo > h - 1.0 {
        t -= bo - h + 1.0;
        bo = h - 1.0;
    }
    let (l, t) = (l.max(0.0).trunc(), t.max(0.0).trunc());
    let cw = (r - l).trunc().clamp(1.0, (w - 1.0).max(1.0));
    let ch = (bo - t).trunc().clamp(1.0, (h - 1.0).max(1.0));
    (l, t, cw, ch)
}
