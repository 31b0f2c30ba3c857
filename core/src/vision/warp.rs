//! Bilinear crops: every model input (letterbox, rotated ROI, eye crop, aligned face) is one affine warp
//! from the upright frame, so there is a single sampling routine to get right.

use crate::frame::{RgbImage, clamp_u8};
use crate::profile::{self, Stage};

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
    let start = std::time::Instant::now();
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
    profile::record(Stage::Crop, start);
    RgbImage::from_parts(out_w as u32, out_h as u32, out)
}

#[inline]
fn bilinear(img: &RgbImage, x: f32, y: f32) -> [u8; 3] {
    let x0 = floor(x);
    let y0 = floor(y);
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let (w, h) = (img.width() as i64, img.height() as i64);
    let [p00, p10, p01, p11] = if x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1 {
        // Inside (nearly every sample): the four pixels straight from two rows, no clamping.
        let stride = w as usize * 3;
        let o = y0 as usize * stride + x0 as usize * 3;
        let px = img.as_bytes();
        let (top, bottom) = (&px[o..o + 6], &px[o + stride..o + stride + 6]);
        [
            [top[0], top[1], top[2]],
            [top[3], top[4], top[5]],
            [bottom[0], bottom[1], bottom[2]],
            [bottom[3], bottom[4], bottom[5]],
        ]
    } else {
        // Saturating: a coordinate beyond i64 (or infinite) converts to i64::MAX; +1 must not overflow.
        let (x1, y1) = (x0.saturating_add(1), y0.saturating_add(1));
        [
            img.get_clamped(x0, y0),
            img.get_clamped(x1, y0),
            img.get_clamped(x0, y1),
            img.get_clamped(x1, y1),
        ]
    };
    let mut out = [0u8; 3];
    for c in 0..3 {
        let top = p00[c] as f32 * (1.0 - fx) + p10[c] as f32 * fx;
        let bot = p01[c] as f32 * (1.0 - fx) + p11[c] as f32 * fx;
        out[c] = clamp_u8(top * (1.0 - fy) + bot * fy);
    }
    out
}

/// `x.floor()`, to the bit, without a call into libm on x86-64 (whose baseline has no rounding
/// instruction; see `frame::clamp_u8`): two per sample.
#[inline]
fn floor(x: f32) -> f32 {
    // Below 2^23 in magnitude a value's whole part fits an i32 and converts back exactly.
    if x.abs() < 8_388_608.0 {
        let whole = x as i32 as f32;
        if whole == x {
            x // keeps -0.0
        } else if whole > x {
            whole - 1.0
        } else {
            whole
        }
    } else {
        x.floor() // NaN, infinities, and values that are already whole
    }
}

/// The `w × h` rectangle at (`x0`, `y0`), clipped to the image (at least 1×1).
pub fn crop(img: &RgbImage, x0: u32, y0: u32, w: u32, h: u32) -> RgbImage {
    let x0 = x0.min(img.width().saturating_sub(1));
    let y0 = y0.min(img.height().saturating_sub(1));
    let w = w.clamp(1, img.width() - x0) as usize;
    let h = h.clamp(1, img.height() - y0) as usize;
    let stride = img.width() as usize * 3;
    let px = img.as_bytes();
    let mut out = Vec::with_capacity(w * h * 3);
    for y in y0 as usize..y0 as usize + h {
        let row = y * stride + x0 as usize * 3;
        out.extend_from_slice(&px[row..row + w * 3]);
    }
    RgbImage::from_parts(w as u32, h as u32, out)
}

/// One level of a 5×5 Gaussian pyramid ([1 4 6 4 1]/16 each way, mirrored borders, every second
/// pixel), like OpenCV's `pyrDown` and dlib's `pyramid_down<2>`: halves an image without aliasing.
pub fn pyr_down(img: &RgbImage) -> RgbImage {
    const K: [u32; 5] = [1, 4, 6, 4, 1];
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (ow, oh) = (w.div_ceil(2), h.div_ceil(2));
    let px = img.as_bytes();
    // Reflect-101: -1 → 1, w → w - 2.
    let reflect = |i: i64, n: usize| -> usize {
        let n = n as i64;
        if n == 1 {
            return 0;
        }
        let mut i = i;
        if i < 0 {
            i = -i;
        }
        if i >= n {
            i = 2 * n - 2 - i;
        }
        i.clamp(0, n - 1) as usize
    };
    // Horizontal pass at full height, half width (sums ×16).
    let mut rows = vec![0u32; ow * h * 3];
    for y in 0..h {
        for x in 0..ow {
            for (t, k) in K.iter().enumerate() {
                let sx = reflect(2 * x as i64 + t as i64 - 2, w);
                let s = (y * w + sx) * 3;
                let o = (y * ow + x) * 3;
                for c in 0..3 {
                    rows[o + c] += k * px[s + c] as u32;
                }
            }
        }
    }
    let mut out = vec![0u8; ow * oh * 3];
    for y in 0..oh {
        for x in 0..ow {
            let o = (y * ow + x) * 3;
            for c in 0..3 {
                let mut sum = 0u32;
                for (t, k) in K.iter().enumerate() {
                    let sy = reflect(2 * y as i64 + t as i64 - 2, h);
                    sum += k * rows[(sy * ow + x) * 3 + c];
                }
                out[o + c] = ((sum + 128) / 256) as u8;
            }
        }
    }
    rows.fill(0);
    RgbImage::from_parts(ow as u32, oh as u32, out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::frame::tests::rounding_edges;

    /// The sampler as first written: every neighbour through `get_clamped`.
    fn bilinear_clamped(img: &RgbImage, x: f32, y: f32) -> [u8; 3] {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let p = [(0, 0), (1, 0), (0, 1), (1, 1)]
            .map(|(dx, dy)| img.get_clamped(x0.saturating_add(dx), y0.saturating_add(dy)));
        let mut out = [0u8; 3];
        for c in 0..3 {
            let top = p[0][c] as f32 * (1.0 - fx) + p[1][c] as f32 * fx;
            let bot = p[2][c] as f32 * (1.0 - fx) + p[3][c] as f32 * fx;
            out[c] = (top * (1.0 - fy) + bot * fy).round().clamp(0.0, 255.0) as u8;
        }
        out
    }

    /// Each whole number and half, one ulp either side, a sweep of bit patterns of both signs up to
    /// 2^24, and the special values: the same bits as `f32::floor`.
    #[test]
    fn floor_is_f32_floor_to_the_bit() {
        let specials = [
            0.0,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            f32::from_bits(1),
            8_388_608.0,
            -8_388_608.0,
            8_388_607.5,
            -8_388_607.5,
            1e20,
            -1e20,
        ];
        for x in rounding_edges(&specials, -300..=300, 16_777_216.0) {
            assert_eq!(floor(x).to_bits(), x.floor().to_bits(), "{x:e}");
        }
    }

    /// Samples inside, on the last row and column, and outside (both borders) read as before.
    #[test]
    fn the_inside_fast_path_samples_as_the_clamped_one() {
        let (w, h) = (13u32, 9u32);
        let data = (0..w * h * 3)
            .map(|i| ((i * 97 + 13) % 256) as u8)
            .collect();
        let img = RgbImage::from_raw(w, h, data).unwrap();
        let mut checked = 0;
        for yi in -40..=(h as i32 * 10 + 40) {
            for xi in -40..=(w as i32 * 10 + 40) {
                let (x, y) = (xi as f32 * 0.1 + 0.013, yi as f32 * 0.1 - 0.007);
                assert_eq!(
                    bilinear(&img, x, y),
                    bilinear_clamped(&img, x, y),
                    "({x}, {y})"
                );
                checked += 1;
            }
        }
        for (x, y) in [
            (12.0, 8.0),
            (11.999, 7.999),
            (-0.0, 0.0),
            (f32::NAN, 1.0),
            (1e9, -1e9),
            (f32::INFINITY, 3.0),
            (2.0, f32::NEG_INFINITY),
            (f32::MAX, f32::MIN),
        ] {
            assert_eq!(
                bilinear(&img, x, y),
                bilinear_clamped(&img, x, y),
                "({x}, {y})"
            );
        }
        assert!(checked > 15_000);
    }

    #[test]
    fn pyr_down_halves_and_keeps_flat_areas_flat() {
        let img = RgbImage::from_raw(5, 3, vec![200; 5 * 3 * 3]).unwrap();
        let half = pyr_down(&img);
        assert_eq!((half.width(), half.height()), (3, 2));
        assert!(half.as_bytes().iter().all(|v| *v == 200));
        // A one-pixel checkerboard (what aliases when sampled every second pixel) averages out.
        let mut data = Vec::new();
        for y in 0..8 {
            for x in 0..8 {
                data.extend([if (x + y) % 2 == 0 { 255 } else { 0 }; 3]);
            }
        }
        let half = pyr_down(&RgbImage::from_raw(8, 8, data).unwrap());
        assert!(half.as_bytes().iter().all(|v| (120..=136).contains(v)));
    }
}
