//! Bilinear crops: every model input (letterbox, rotated ROI, eye crop, aligned face) is one affine warp
//! from the upright frame, so there is a single sampling routine to get right.

use crate::frame::RgbImage;

use super::geometry::{Affine, Point};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Black outside the image (letterbox padding, ROIs that leave the frame).
    Zero,
    /// Edge pixels repeat (small crops near the frame edge).
    Replicate,
}

/// Samples `out_w × out_h` pixels; output pixel (x, y) reads the source at `map(x, y)`.
pub fn warp_rgb(
    img: &RgbImage,
    map: &Affine,
    out_w: usize,
    out_h: usize,
    border: Border,
) -> RgbImage {
    let mut out = vec![0u8; out_w * out_h * 3];
    let (w, h) = (img.width() as f32, img.height() as f32);
    for y in 0..out_h {
        for x in 0..out_w {
            let s = map.apply(Point::new(x as f32, y as f32));
            if border == Border::Zero
                && (s.x < -0.5 || s.y < -0.5 || s.x > w - 0.5 || s.y > h - 0.5)
            {
                continue;
            }
            let px = bilinear(img, s.x, s.y);
            let o = (y * out_w + x) * 3;
            out[o..o + 3].copy_from_slice(&px);
        }
    }
    RgbImage::from_parts(out_w as u32, out_h as u32, out)
}

#[inline]
fn bilinear(img: &RgbImage, x: f32, y: f32) -> [u8; 3] {
    let x0 = x.floor();
    let y0 = y.floor();
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let p00 = img.get_clamped(x0, y0);
    let p10 = img.get_clamped(x0 + 1, y0);
    let p01 = img.get_clamped(x0, y0 + 1);
    let p11 = img.get_clamped(x0 + 1, y0 + 1);
    let mut out = [0u8; 3];
    for c in 0..3 {
        let top = p00[c] as f32 * (1.0 - fx) + p10[c] as f32 * fx;
        let bot = p01[c] as f32 * (1.0 - fx) + p11[c] as f32 * fx;
        out[c] = (top * (1.0 - fy) + bot * fy).round().clamp(0.0, 255.0) as u8;
    }
    out
}
