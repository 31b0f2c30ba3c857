//! The bilinear sampler behind every model input (smartid-core's `vision/warp.rs`), a block of output
//! pixels at a time so that the arithmetic vectorises.
//!
//! Each block of [`LANES`] pixels goes in three passes: their source points and the floors of their
//! coordinates (vector arithmetic), their four neighbours read from the image (one pixel at a time:
//! the only part that cannot be a vector without a gather), then the blend and the rounding of every
//! channel (vector arithmetic). The bits are those of the per-pixel walk it replaced: the same
//! expressions in the same order, a floor equal to `f32::floor` and a rounding equal to
//! `f32::round` (smartid-core's tests compare the two walks over many maps and at every rounding
//! edge).

/// Output pixels per block: two SSE or NEON vectors of `f32`, one AVX vector.
const LANES: usize = 8;

/// An affine map from an output pixel (x, y) to its source point
/// (`a·x + b·y + tx`, `c·x + d·y + ty`), evaluated in that order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceMap {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub c: f32,
    pub d: f32,
    pub ty: f32,
}

/// What a source point outside the image reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Black: a point more than half a pixel outside the image gives 0 (letterbox padding, ROIs
    /// that leave the frame).
    Zero,
    /// The nearest edge pixel (small crops near the frame edge).
    Replicate,
}

/// A packed RGB8 image as plain slices.
#[derive(Debug, Clone, Copy)]
pub struct RgbPlane<'a> {
    pub pixels: &'a [u8],
    pub width: usize,
    pub height: usize,
}

/// `x.round().clamp(0.0, 255.0) as u8` (half away from zero; NaN gives 0) without `f32::round`,
/// which is a call into libm on x86-64 (its baseline has no rounding instruction), and without a
/// float-to-integer cast, which a vectoriser leaves scalar (`as` saturates). Branch-free, so that a
/// loop of it vectorises.
#[inline]
pub fn round_to_u8(x: f32) -> u8 {
    #[expect(
        clippy::manual_clamp,
        reason = "`clamp` keeps a NaN; `max` takes it to 0"
    )]
    let v = x.max(0.0).min(255.0);
    // Ties went to even; the one that went down (2.5 to 2) goes up. The difference is exact.
    let nearest = nearest_whole(v);
    let rounded = nearest + if v - nearest >= 0.5 { 1.0 } else { 0.0 };
    small_whole_to_bits(rounded) as u8
}

/// Largest image side the sampler takes: 2^22, far above any frame, and where
/// [`floor_of_small`] holds.
pub const MAX_SIDE: usize = 1 << 22;

/// `2^23 + 2^22`: a value below 2^22 in magnitude plus this is in [2^23, 2^24), where floats are
/// exactly the whole numbers, so the sum is the value rounded to a whole number (ties to even), and
/// its bits are linear in that whole number.
const ROUNDER: f32 = 12_582_912.0;

/// `x` rounded to a whole number, ties to even, for |x| < 2^22.
#[inline(always)]
fn nearest_whole(x: f32) -> f32 {
    (x + ROUNDER) - ROUNDER
}

/// `x.floor()` for |x| < 2^22, keeping -0.0, without a libm call or an integer cast. From 2^22 on it
/// may be one off, but stays at least 2^22 − 1 in magnitude, with `x`'s sign: never inside an image
/// the sampler takes.
#[inline(always)]
fn floor_of_small(x: f32) -> f32 {
    let nearest = nearest_whole(x);
    let below = if nearest > x { nearest - 1.0 } else { nearest };
    if nearest == x { x } else { below }
}

/// The `i32` value of a whole number below 2^22 in magnitude, read from its bits (a cast would
/// saturate, which a vectoriser leaves scalar). Meaningless, but harmless, for any other value.
#[inline(always)]
fn small_whole_to_bits(whole: f32) -> i32 {
    ((whole + ROUNDER).to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32)
}

/// Samples `out_w × out_h` pixels into `out` (packed RGB8): output pixel (x, y) is the bilinear blend
/// of the four source pixels around `map(x, y)`, rounded, with `border` outside the image.
///
/// Returns `None`, writing nothing, when `src` is empty, has a side above [`MAX_SIDE`] or its slice
/// does not hold its `width × height` pixels, or when `out` does not hold `out_w × out_h`.
#[inline(never)]
pub fn warp_bilinear_rgb(
    src: RgbPlane<'_>,
    map: &SourceMap,
    border: Border,
    out: &mut [u8],
    out_w: usize,
    out_h: usize,
) -> Option<()> {
    let (w, h) = (src.width, src.height);
    if w == 0
        || h == 0
        || w > MAX_SIDE
        || h > MAX_SIDE
        || src.pixels.len() != w.checked_mul(h)?.checked_mul(3)?
        || out.len() != out_w.checked_mul(out_h)?.checked_mul(3)?
    {
        return None;
    }
    if out.is_empty() {
        return Some(());
    }
    let sampler = Sampler {
        src,
        zero_border: border == Border::Zero,
        // Exact: image sides are far below 2^24.
        last_x: (w - 1) as f32,
        last_y: (h - 1) as f32,
        max_x: w as f32 - 0.5,
        max_y: h as f32 - 0.5,
    };
    for (y, row) in out.chunks_exact_mut(out_w * 3).enumerate() {
        let yf = y as f32;
        let (by, dy) = (map.b * yf, map.d * yf);
        for (block, pixels) in row.chunks_mut(LANES * 3).enumerate() {
            let mut points = Points::default();
            points.locate(map, block * LANES, by, dy, &sampler);
            let taps = sampler.gather(&mut points, pixels.len() / 3);
            let rgb = taps.blend(&points);
            for (i, px) in pixels.chunks_exact_mut(3).enumerate() {
                px.copy_from_slice(&[rgb[0][i], rgb[1][i], rgb[2][i]]);
            }
        }
    }
    Some(())
}

/// A block's source points, the fractions past their floors, and where the inside ones start.
#[derive(Default)]
struct Points {
    x: [f32; LANES],
    y: [f32; LANES],
    fx: [f32; LANES],
    fy: [f32; LANES],
    /// Both floors in the image with a column and a row after them (nearly every point).
    inside: [bool; LANES],
    /// The floors as whole numbers (meaningful where `inside`).
    x0: [i32; LANES],
    y0: [i32; LANES],
}

impl Points {
    /// The source points of output pixels `x_start..x_start + LANES` on the row whose `b·y` and `d·y`
    /// are `by` and `dy`.
    #[inline(always)]
    fn locate(&mut self, map: &SourceMap, x_start: usize, by: f32, dy: f32, image: &Sampler<'_>) {
        for i in 0..LANES {
            let xf = (x_start + i) as f32;
            let (x, y) = (map.a * xf + by + map.tx, map.c * xf + dy + map.ty);
            let (x0, y0) = (floor_of_small(x), floor_of_small(y));
            self.x[i] = x;
            self.y[i] = y;
            self.fx[i] = x - x0;
            self.fy[i] = y - y0;
            // NaN fails every comparison, and a floor that may be one off (2^22 or more in
            // magnitude) is never inside: sides are at most `MAX_SIDE`.
            self.inside[i] = x0 >= 0.0 && y0 >= 0.0 && x0 < image.last_x && y0 < image.last_y;
            self.x0[i] = small_whole_to_bits(x0);
            self.y0[i] = small_whole_to_bits(y0);
        }
    }
}

/// The four neighbours of each point of a block, one array per corner and channel.
#[derive(Default)]
struct Taps {
    /// `[corner][channel][lane]`, corners top-left, top-right, bottom-left, bottom-right.
    p: [[[u8; LANES]; 3]; 4],
}

impl Taps {
    /// Each channel blended as the per-pixel walk did (top row, bottom row, then between them) and
    /// rounded.
    #[inline(always)]
    fn blend(&self, pt: &Points) -> [[u8; LANES]; 3] {
        let mut rgb = [[0u8; LANES]; 3];
        let [p00, p10, p01, p11] = &self.p;
        for c in 0..3 {
            for i in 0..LANES {
                let (fx, fy) = (pt.fx[i], pt.fy[i]);
                let top = f32::from(p00[c][i]) * (1.0 - fx) + f32::from(p10[c][i]) * fx;
                let bot = f32::from(p01[c][i]) * (1.0 - fx) + f32::from(p11[c][i]) * fx;
                rgb[c][i] = round_to_u8(top * (1.0 - fy) + bot * fy);
            }
        }
        rgb
    }

    #[inline(always)]
    fn set(&mut self, lane: usize, corner: usize, px: &[u8]) {
        for (c, v) in px.iter().take(3).enumerate() {
            self.p[corner][c][lane] = *v;
        }
    }
}

struct Sampler<'a> {
    src: RgbPlane<'a>,
    zero_border: bool,
    last_x: f32,
    last_y: f32,
    max_x: f32,
    max_y: f32,
}

impl Sampler<'_> {
    /// The neighbours of the block's first `n` points.
    #[inline(always)]
    fn gather(&self, pt: &mut Points, n: usize) -> Taps {
        let mut taps = Taps::default();
        let stride = self.src.width * 3;
        let px = self.src.pixels;
        for i in 0..n.min(LANES) {
            if pt.inside[i] {
                // Non-negative and inside the image (`Points::locate`).
                let o = pt.y0[i] as usize * stride + pt.x0[i] as usize * 3;
                if let (Some(top), Some(bottom)) =
                    (px.get(o..o + 6), px.get(o + stride..o + stride + 6))
                {
                    taps.set(i, 0, &top[..3]);
                    taps.set(i, 1, &top[3..]);
                    taps.set(i, 2, &bottom[..3]);
                    taps.set(i, 3, &bottom[3..]);
                    continue;
                }
            }
            self.edge(pt, i, &mut taps);
        }
        taps
    }

    /// A point near, on or past an edge, or one whose coordinates are 2^23 or more in magnitude,
    /// infinite or NaN: each neighbour clamped into the image, the floors from `f32::floor`. A
    /// point that `Border::Zero` blanks keeps zero neighbours: its blend is 0 whatever its fractions
    /// (a NaN one rounds to 0 too).
    #[cold]
    fn edge(&self, pt: &mut Points, i: usize, taps: &mut Taps) {
        let (x, y) = (pt.x[i], pt.y[i]);
        if self.zero_border && (x < -0.5 || y < -0.5 || x > self.max_x || y > self.max_y) {
            return;
        }
        let (x0, y0) = (x.floor(), y.floor());
        pt.fx[i] = x - x0;
        pt.fy[i] = y - y0;
        // The saturating casts take infinities and NaN to an edge; the neighbour one past `i64::MAX`
        // stays there.
        let (x0, y0) = (x0 as i64, y0 as i64);
        let (x1, y1) = (x0.saturating_add(1), y0.saturating_add(1));
        let stride = self.src.width * 3;
        for (corner, (cx, cy)) in [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
            .into_iter()
            .enumerate()
        {
            let column = cx.clamp(0, self.src.width as i64 - 1) as usize;
            let row = cy.clamp(0, self.src.height as i64 - 1) as usize;
            let o = row * stride + column * 3;
            if let Some(p) = self.src.pixels.get(o..o + 3) {
                taps.set(i, corner, p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn image(w: usize, h: usize) -> Vec<u8> {
        (0..w * h * 3)
            .map(|i| ((i * 97 + 13) % 256) as u8)
            .collect()
    }

    #[test]
    fn rejects_slices_that_do_not_hold_the_images() {
        let map = SourceMap {
            a: 1.0,
            b: 0.0,
            tx: 0.0,
            c: 0.0,
            d: 1.0,
            ty: 0.0,
        };
        let px = image(4, 3);
        let src = RgbPlane {
            pixels: &px,
            width: 4,
            height: 3,
        };
        let mut out = vec![7u8; 2 * 2 * 3];
        assert!(warp_bilinear_rgb(src, &map, Border::Zero, &mut out, 2, 3).is_none());
        let short = RgbPlane {
            pixels: &px[1..],
            ..src
        };
        assert!(warp_bilinear_rgb(short, &map, Border::Zero, &mut out, 2, 2).is_none());
        let empty = RgbPlane {
            pixels: &[],
            width: 0,
            height: 0,
        };
        assert!(warp_bilinear_rgb(empty, &map, Border::Zero, &mut out, 2, 2).is_none());
        let wide = vec![0u8; (MAX_SIDE + 1) * 3];
        let too_wide = RgbPlane {
            pixels: &wide,
            width: MAX_SIDE + 1,
            height: 1,
        };
        assert!(warp_bilinear_rgb(too_wide, &map, Border::Zero, &mut out, 2, 2).is_none());
        assert!(out.iter().all(|v| *v == 7), "nothing written");
        // The identity map copies the image (a whole-pixel point is its own pixel).
        let mut copy = vec![0u8; px.len()];
        warp_bilinear_rgb(src, &map, Border::Replicate, &mut copy, 4, 3).unwrap();
        assert_eq!(copy, px);
        warp_bilinear_rgb(src, &map, Border::Zero, &mut [], 0, 5).unwrap();
    }

    /// One point, the straightforward way: `f32::floor`, every neighbour clamped, `f32::round`.
    fn sample(src: RgbPlane<'_>, x: f32, y: f32) -> [u8; 3] {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let px = |cx: i64, cy: i64| {
            let cx = cx.clamp(0, src.width as i64 - 1) as usize;
            let cy = cy.clamp(0, src.height as i64 - 1) as usize;
            let o = (cy * src.width + cx) * 3;
            [0, 1, 2].map(|c| f32::from(src.pixels[o + c]))
        };
        let (x0, y0) = (x0 as i64, y0 as i64);
        let [p00, p10, p01, p11] =
            [(x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)].map(|(cx, cy)| px(cx, cy));
        [0, 1, 2].map(|c| {
            let top = p00[c] * (1.0 - fx) + p10[c] * fx;
            let bot = p01[c] * (1.0 - fx) + p11[c] * fx;
            (top * (1.0 - fy) + bot * fy).round().clamp(0.0, 255.0) as u8
        })
    }

    /// On an image `MAX_SIDE` wide, points at its far edge and past it, where the sampler's floor
    /// may be one off: they are never taken for inside points.
    #[test]
    fn the_widest_image_samples_its_far_edge_exactly() {
        let px: Vec<u8> = (0..MAX_SIDE * 3).map(|i| (i % 251) as u8).collect();
        let src = RgbPlane {
            pixels: &px,
            width: MAX_SIDE,
            height: 1,
        };
        let edge = MAX_SIDE as f32;
        for x in [
            edge - 3.25,
            edge - 2.0,
            edge - 1.5,
            edge - 1.25,
            edge - 1.0,
            edge - 0.75,
            edge - 0.5,
            edge,
            edge + 1.0,
            edge + 2.5,
            edge + 3.0,
            edge + 5.0,
            2.0 * edge - 1.0,
            2.0 * edge + 2.0,
        ] {
            let map = SourceMap {
                a: 0.0,
                b: 0.0,
                tx: x,
                c: 0.0,
                d: 0.0,
                ty: 0.25,
            };
            for border in [Border::Zero, Border::Replicate] {
                let mut out = [0u8; 3];
                warp_bilinear_rgb(src, &map, border, &mut out, 1, 1).unwrap();
                let blank = border == Border::Zero && x > edge - 0.5;
                let want = if blank { [0; 3] } else { sample(src, x, 0.25) };
                assert_eq!(out, want, "x = {x} {border:?}");
            }
        }
    }

    #[test]
    fn round_to_u8_rounds_half_away_from_zero_and_clamps() {
        for (x, want) in [
            (f32::NAN, 0),
            (-1.0, 0),
            (-0.0, 0),
            (0.499_999_97, 0),
            (0.5, 1),
            (1.5, 2),
            (2.5, 3),
            (254.499_98, 254),
            (254.5, 255),
            (255.0, 255),
            (1e9, 255),
            (f32::INFINITY, 255),
            (f32::NEG_INFINITY, 0),
        ] {
            assert_eq!(round_to_u8(x), want, "{x}");
        }
    }
}
