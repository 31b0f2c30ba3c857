//! Face embedding: the face cut to the model's alignment (reference points from mesh landmarks, a
//! sampling rule), then the model's vector, normalised or not as its metric wants.

use zeroize::Zeroize;

use crate::error::{Error, Result};
use crate::frame::RgbImage;
use crate::manifest::{EmbedderSpec, Sampling};
use crate::matching::{Comparison, Metric};

use super::geometry::{Affine, Point};
use super::mesh::MeshResult;
use super::model::OnnxModel;
use super::warp::{Border, crop, pyr_down, warp_rgb};

/// A face embedding as its metric wants it (unit length for cosine, raw for Euclidean). Biometric
/// data: zeroized on drop, never printed.
#[derive(Clone, PartialEq)]
pub struct Embedding {
    values: Vec<f32>,
    metric: Metric,
}

impl std::fmt::Debug for Embedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Embedding(dim={}, {})",
            self.values.len(),
            self.metric.name()
        )
    }
}

impl Drop for Embedding {
    fn drop(&mut self) {
        self.values.zeroize();
    }
}

impl Embedding {
    /// Normalises `raw` when the metric is cosine; `None` for a zero or non-finite vector.
    pub fn from_raw(mut raw: Vec<f32>, metric: Metric) -> Option<Self> {
        let norm = raw.iter().map(|v| v * v).sum::<f32>().sqrt();
        if !norm.is_finite() || norm < 1e-12 {
            raw.zeroize();
            return None;
        }
        if metric.normalises() {
            raw.iter_mut().for_each(|v| *v /= norm);
        }
        Some(Self {
            values: raw,
            metric,
        })
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    pub fn dim(&self) -> usize {
        self.values.len()
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The metric's score against another embedding of the same engine; `None` when the two cannot be
    /// compared (different metric or dimension).
    pub fn score(&self, other: &Embedding) -> Option<f32> {
        (self.metric == other.metric && self.values.len() == other.values.len())
            .then(|| self.metric.score(&self.values, &other.values))
    }

    /// Score and decision at `threshold`.
    pub fn compare(&self, other: &Embedding, threshold: f32) -> Option<Comparison> {
        Some(Comparison::new(self.metric, self.score(other)?, threshold))
    }
}

pub struct Embedder {
    model: OnnxModel,
    spec: EmbedderSpec,
    output: usize,
}

impl Embedder {
    pub fn new(model: OnnxModel, spec: EmbedderSpec) -> Result<Self> {
        let output = model.require_output(&spec.output)?;
        let input = model.input_spec();
        if spec.alignment.sampling == Sampling::DlibChip
            && (input.width() != input.height() || input.width() < 16)
        {
            return Err(Error::ManifestInvalid(
                "embedder: dlib_chip sampling needs a square input of at least 16 px".into(),
            ));
        }
        Ok(Self {
            model,
            spec,
            output,
        })
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
        Embedding::from_raw(raw, self.spec.metric).ok_or_else(|| Error::Inference {
            role: "embedder".into(),
            detail: "embedding is zero or not finite".into(),
        })
    }
}

fn degenerate() -> Error {
    Error::Inference {
        role: "embedder".into(),
        detail: "alignment points are degenerate".into(),
    }
}

/// dlib's face chip (`extract_image_chips`), given `to_image`, the similarity from nominal chip
/// coordinates to the frame. Pixel u of the `n`-px chip samples c + k·R·(u − (n − 1)/2), where c is the
/// chip centre n/2 mapped to the frame and k = (n·s − 1)/(n − 1); a large face is first halved with a
/// Gaussian pyramid while a chip pixel spans more than 2 frame pixels, so the chip is not aliased (dlib
/// does the same with its `pyramid_down<2>`; we place level pixel q at frame pixel 2q, like OpenCV's
/// `pyrDown`, which the converter's parity check used).
fn dlib_chip(img: &RgbImage, to_image: &Affine, n: usize) -> RgbImage {
    let nf = n as f32;
    let s = (to_image.a * to_image.d - to_image.b * to_image.c)
        .abs()
        .sqrt();
    let k = (nf * s - 1.0) / (nf - 1.0);
    let r = k / s.max(1e-6);
    let centre = to_image.apply(Point::new(nf / 2.0, nf / 2.0));
    let half = (nf - 1.0) / 2.0;
    let mut map = Affine {
        a: to_image.a * r,
        b: to_image.b * r,
        c: to_image.c * r,
        d: to_image.d * r,
        tx: 0.0,
        ty: 0.0,
    };
    map.tx = centre.x - (map.a * half + map.b * half);
    map.ty = centre.y - (map.c * half + map.d * half);
    let mut f = 1.0f32;
    // Bounded: a non-finite scale never enters the loop, and 4096× is beyond any frame.
    while k.is_finite() && k / f > 2.0 && f < 4096.0 {
        f *= 2.0;
    }
    if f == 1.0 {
        return warp_rgb(img, &map, n, n, Border::Zero);
    }
    // Only the part of the frame the chip reads is halved (a phone frame is many times the face): the
    // chip's corners, plus the reach of the 5×5 kernel over every level, from an origin on the coarsest
    // level's grid so each level's pixels are those of a whole-frame pyramid.
    let corners = [
        (0.0, 0.0),
        (nf - 1.0, 0.0),
        (0.0, nf - 1.0),
        (nf - 1.0, nf - 1.0),
    ]
    .map(|(x, y)| map.apply(Point::new(x, y)));
    let margin = 4.0 * f;
    let lo = |v: f32| ((v - margin) / f).floor() * f;
    let hi = |v: f32| (v + margin).ceil();
    let x0 = lo(corners.iter().map(|p| p.x).fold(f32::INFINITY, f32::min)).max(0.0);
    let y0 = lo(corners.iter().map(|p| p.y).fold(f32::INFINITY, f32::min)).max(0.0);
    let x1 = hi(corners
        .iter()
        .map(|p| p.x)
        .fold(f32::NEG_INFINITY, f32::max))
    .min(img.width() as f32);
    let y1 = hi(corners
        .iter()
        .map(|p| p.y)
        .fold(f32::NEG_INFINITY, f32::max))
    .min(img.height() as f32);
    let region = if x1 > x0 && y1 > y0 {
        crop(
            img,
            x0 as u32,
            y0 as u32,
            (x1 - x0) as u32,
            (y1 - y0) as u32,
        )
    } else {
        // The chip lies outside the frame: it comes out black whatever is halved.
        crop(img, 0, 0, 1, 1)
    };
    let mut level = region;
    let mut g = 1.0f32;
    while g < f && (level.width() > 1 || level.height() > 1) {
        level = pyr_down(&level);
        g *= 2.0;
    }
    // Frame point p is level point (p - origin) / g (pyrDown: level pixel q sits at pixel 2q).
    let level_map = Affine {
        a: map.a / g,
        b: map.b / g,
        c: map.c / g,
        d: map.d / g,
        tx: (map.tx - x0) / g,
        ty: (map.ty - y0) / g,
    };
    warp_rgb(&level, &level_map, n, n, Border::Zero)
}

/// The face cut to the embedder's input by the manifest's alignment: needs no model, so every frame
/// has it while the embedder itself may still be loading.
pub fn align(spec: &EmbedderSpec, img: &RgbImage, mesh: &MeshResult) -> Result<RgbImage> {
    let alignment = &spec.alignment;
    let reference: Vec<Point> = alignment
        .points
        .iter()
        .map(|p| Point::new(p.at[0], p.at[1]))
        .collect();
    let found: Vec<Point> = alignment
        .points
        .iter()
        .map(|p| Point::mean(&p.landmarks.iter().map(|i| mesh.p(*i)).collect::<Vec<_>>()))
        .collect();
    let input = &spec.model.input;
    let (w, h) = (input.width(), input.height());
    match alignment.sampling {
        Sampling::Affine => {
            let to_crop = Affine::similarity(&found, &reference).ok_or_else(degenerate)?;
            let map = to_crop.invert().ok_or_else(degenerate)?;
            Ok(warp_rgb(img, &map, w, h, Border::Zero))
        }
        Sampling::DlibChip => {
            let to_image = Affine::similarity(&reference, &found).ok_or_else(degenerate)?;
            Ok(dlib_chip(img, &to_image, w))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn checkerboard(n: u32) -> RgbImage {
        let data = (0..n * n)
            .flat_map(|i| {
                [if (i % n + i / n).is_multiple_of(2) {
                    255
                } else {
                    0
                }; 3]
            })
            .collect();
        RgbImage::from_raw(n, n, data).unwrap()
    }

    fn scaled(s: f32) -> Affine {
        Affine {
            a: s,
            b: 0.0,
            c: 0.0,
            d: s,
            tx: 0.0,
            ty: 0.0,
        }
    }

    #[test]
    fn dlib_chip_samples_pixel_centres_like_dlib() {
        // At scale 1 chip pixel u reads frame pixel u + 0.5 (dlib's centred rectangle): on a
        // 1-px checkerboard that is an even mix of two pixels, 127 or 128.
        let chip = dlib_chip(&checkerboard(200), &scaled(1.0), 150);
        assert_eq!((chip.width(), chip.height()), (150, 150));
        assert!(chip.as_bytes().iter().all(|v| (126..=129).contains(v)));
    }

    /// The chip from a whole-frame pyramid, the straightforward way.
    fn chip_from_whole_frame(img: &RgbImage, to_image: &Affine, n: usize) -> RgbImage {
        let nf = n as f32;
        let s = (to_image.a * to_image.d - to_image.b * to_image.c).sqrt();
        let k = (nf * s - 1.0) / (nf - 1.0);
        let r = k / s;
        let centre = to_image.apply(Point::new(nf / 2.0, nf / 2.0));
        let half = (nf - 1.0) / 2.0;
        let (a, b, c, d) = (
            to_image.a * r,
            to_image.b * r,
            to_image.c * r,
            to_image.d * r,
        );
        let mut level = crop(img, 0, 0, img.width(), img.height());
        let mut f = 1.0;
        while k / f > 2.0 {
            level = pyr_down(&level);
            f *= 2.0;
        }
        let map = Affine {
            a: a / f,
            b: b / f,
            c: c / f,
            d: d / f,
            tx: (centre.x - (a * half + b * half)) / f,
            ty: (centre.y - (c * half + d * half)) / f,
        };
        warp_rgb(&level, &map, n, n, Border::Zero)
    }

    #[test]
    fn halving_only_the_face_region_gives_the_whole_frame_result() {
        // A textured 1280×720 frame and a rotated face at 3.1× and 5.3× scale (one and two levels),
        // inside the frame and cut by its edge.
        let (w, h) = (1280u32, 720u32);
        let data = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [(x * 7 + y * 3) as u8, (x ^ y) as u8, ((x * y) >> 3) as u8]
            })
            .collect();
        let img = RgbImage::from_raw(w, h, data).unwrap();
        for (s, angle, tx, ty) in [
            (3.1f32, 0.2f32, 400.0, 150.0),
            (5.3, -0.4, 900.0, 60.0),
            (3.1, 0.0, 1150.0, 600.0),
        ] {
            let to_image = Affine {
                a: s * angle.cos(),
                b: -s * angle.sin(),
                c: s * angle.sin(),
                d: s * angle.cos(),
                tx,
                ty,
            };
            let fast = dlib_chip(&img, &to_image, 150);
            let whole = chip_from_whole_frame(&img, &to_image, 150);
            // Equal up to float rounding of the shifted coordinates (a bilinear weight that rounds the
            // other way moves a byte by one).
            let worst = fast
                .as_bytes()
                .iter()
                .zip(whole.as_bytes())
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert!(worst <= 1, "scale {s} at ({tx}, {ty}): differs by {worst}");
        }
    }

    #[test]
    fn large_faces_go_through_the_pyramid_instead_of_aliasing() {
        // Scale 4: one chip pixel spans four frame pixels. Sampling the 1-px checkerboard directly
        // would hit black and white alike; the pyramid averages it to grey first.
        let chip = dlib_chip(&checkerboard(640), &scaled(4.0), 150);
        let grey = chip
            .as_bytes()
            .iter()
            .filter(|v| (96..=160).contains(*v))
            .count();
        assert!(grey > chip.as_bytes().len() * 9 / 10, "{grey}");
    }
}
