//! Bilinear crops: every model input (letterbox, rotated ROI, eye crop, aligned face) is one affine warp
//! from the upright frame, so there is a single sampling routine to get right.

use smartid_kernels::{RgbPlane, SourceMap, warp_bilinear_rgb};

use crate::frame::RgbImage;
use crate::profile::{self, Stage};

use super::geometry::Affine;

pub use smartid_kernels::Border;

// Every image this module samples is a frame or smaller, within the kernel's limit.
const _: () = assert!(crate::frame::MAX_SIDE as usize <= smartid_kernels::MAX_SIDE);

/// Samples `out_w × out_h` pixels; output pixel (x, y) is the bilinear blend around `map(x, y)` in
/// the source (`smartid-kernels`' sampler, built at opt-level 3).
pub fn warp_rgb(
    img: &RgbImage,
    map: &Affine,
    out_w: usize,
    out_h: usize,
    border: Border,
) -> RgbImage {
    let start = std::time::Instant::now();
    let mut out = vec![0u8; out_w * out_h * 3];
    let src = RgbPlane {
        pixels: img.as_bytes(),
        width: img.width() as usize,
        height: img.height() as usize,
    };
    let map = SourceMap {
        a: map.a,
        b: map.b,
        tx: map.tx,
        c: map.c,
        d: map.d,
        ty: map.ty,
    };
    // An `RgbImage` is never empty, holds its pixels and has sides of at most `frame::MAX_SIDE`
    // (below the kernel's), and `out` was sized here: the kernel cannot refuse them, and would
    // leave `out` black if it did.
    let sampled = warp_bilinear_rgb(src, &map, border, &mut out, out_w, out_h);
    debug_assert!(sampled.is_some());
    profile::record(Stage::Crop, start);
    RgbImage::from_parts(out_w as u32, out_h as u32, out)
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
    use crate::vision::geometry::Point;

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

    /// The warp as first written: one output pixel at a time, `Affine::apply`, then the sampler above.
    fn warp_as_first_written(
        img: &RgbImage,
        map: &Affine,
        out_w: usize,
        out_h: usize,
        border: Border,
    ) -> Vec<u8> {
        let (w, h) = (img.width() as f32, img.height() as f32);
        let mut out = vec![0u8; out_w * out_h * 3];
        for y in 0..out_h {
            for x in 0..out_w {
                let s = map.apply(Point::new(x as f32, y as f32));
                if border == Border::Zero
                    && (s.x < -0.5 || s.y < -0.5 || s.x > w - 0.5 || s.y > h - 0.5)
                {
                    continue;
                }
                let o = (y * out_w + x) * 3;
                out[o..o + 3].copy_from_slice(&bilinear_clamped(img, s.x, s.y));
            }
        }
        out
    }

    fn test_image(w: u32, h: u32) -> RgbImage {
        let data = (0..w * h * 3)
            .map(|i| ((i * 97 + 13) % 256) as u8)
            .collect();
        RgbImage::from_raw(w, h, data).unwrap()
    }

    fn assert_same_warp(img: &RgbImage, map: &Affine, out_w: usize, out_h: usize) {
        for border in [Border::Zero, Border::Replicate] {
            let got = warp_rgb(img, map, out_w, out_h, border);
            let want = warp_as_first_written(img, map, out_w, out_h, border);
            assert!(
                got.as_bytes() == want.as_slice(),
                "{map:?} {out_w}x{out_h} {border:?} on {img:?}"
            );
        }
    }

    /// Rotated, scaled and shifted crops (inside, across every edge, beyond the image), output rows
    /// of every length around the sampler's blocks of 8, on images down to one pixel: the same
    /// bytes as the per-pixel walk.
    #[test]
    fn the_sampler_gives_the_bytes_of_the_per_pixel_walk() {
        let sizes = [(1, 1), (1, 6), (6, 1), (2, 2), (13, 9), (40, 31)];
        let outputs = [(1, 1), (7, 3), (8, 2), (9, 5), (17, 17), (64, 11)];
        let mut maps = 0;
        for (w, h) in sizes {
            let img = test_image(w, h);
            for angle in [0.0f32, 0.3, -1.1, 2.9] {
                for scale in [0.07f32, 0.5, 1.0, 1.37, 3.0] {
                    for (cx, cy) in [(0.5, 0.5), (w as f32 / 2.0, h as f32 / 2.0), (-4.2, 9.9)] {
                        let (sin, cos) = angle.sin_cos();
                        let map = Affine {
                            a: scale * cos,
                            b: -scale * sin,
                            c: scale * sin,
                            d: scale * cos,
                            tx: cx - 3.3 * scale,
                            ty: cy - 2.1 * scale,
                        };
                        for (ow, oh) in outputs {
                            assert_same_warp(&img, &map, ow, oh);
                        }
                        maps += 1;
                    }
                }
            }
        }
        // Maps that leave the numbers: huge, infinite and NaN coefficients.
        let img = test_image(13, 9);
        for bad in [1e9, -3e38, f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
            for map in [
                Affine {
                    a: bad,
                    b: 0.0,
                    c: 0.0,
                    d: 1.0,
                    tx: 0.0,
                    ty: 0.0,
                },
                Affine {
                    a: 1.0,
                    b: 0.0,
                    c: 0.0,
                    d: 1.0,
                    tx: 2.0,
                    ty: bad,
                },
                Affine {
                    a: 0.5,
                    b: bad,
                    c: bad,
                    d: 0.5,
                    tx: bad,
                    ty: 1.0,
                },
            ] {
                assert_same_warp(&img, &map, 11, 4);
            }
        }
        assert!(maps > 300);
    }

    /// Source points at every whole number and half, one ulp either side, across a sweep of bit
    /// patterns of both signs up to 2^24 and at the special values, one coordinate at a time: the
    /// sampler's own floor gives the bits of `f32::floor`.
    #[test]
    fn the_sampler_floors_as_f32_floor_at_every_edge() {
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
        let img = test_image(13, 9);
        let mut checked = 0;
        for v in rounding_edges(&specials, -3..=16, 16_777_216.0) {
            // A constant map puts the single output pixel at (v, 4.3), then at (6.7, v).
            for (x, y) in [(v, 4.3), (6.7, v)] {
                let map = Affine {
                    a: 0.0,
                    b: 0.0,
                    c: 0.0,
                    d: 0.0,
                    tx: x,
                    ty: y,
                };
                for border in [Border::Zero, Border::Replicate] {
                    let got = warp_rgb(&img, &map, 1, 1, border);
                    let want = warp_as_first_written(&img, &map, 1, 1, border);
                    assert_eq!(got.as_bytes(), want.as_slice(), "({x:e}, {y:e}) {border:?}");
                }
                checked += 1;
            }
        }
        assert!(checked > 500_000, "{checked}");
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
