//! The inner loops that smartid-core runs on every frame: the model operators it runs instead of
//! tract's (`vision/prelu.rs`, `vision/pool.rs`), the bilinear sampler behind every model input
//! (`vision/warp.rs`) and the input tensors' channel planes (`vision/model.rs`), on plain slices.
//!
//! They live in their own crate for one reason: the workspace's `Cargo.toml` builds this crate at
//! opt-level 3 in every profile, where the rest of our code is at "s" in release (size first) and rustc
//! vectorises loops only from opt-level 2. In release, fat LTO optimises the whole program once more at
//! the linking crate's level (the FFI library's and the harness's, 3 for that reason), and a loop
//! inlined into a caller built for size would be judged by the caller's size attributes: hence
//! `#[inline(never)]` (one call per plane or image). Each loop is written so that the vectoriser can
//! take it (slices zipped, no bounds checks inside) and keeps the exact arithmetic of the scalar walk
//! it replaces: rustc neither reorders float additions nor fuses a multiply and an add, so a vectorised
//! loop gives the same bits as a scalar one.

#![forbid(unsafe_code)]

mod planes;
mod warp;

pub use planes::rgb_to_planes;
pub use warp::{Border, MAX_SIDE, RgbPlane, SourceMap, round_to_u8, warp_bilinear_rgb};

/// `x < 0 ? x × slope : x` over one channel plane, in place. NaN and -0 stay as they are.
#[inline(never)]
pub fn prelu_plane(plane: &mut [f32], slope: f32) {
    for v in plane {
        *v = if *v < 0.0 { *v * slope } else { *v };
    }
}

/// One output plane of a 2×2 max pool with stride 2 and no padding (`ow` = `w / 2`, `oh` = `h / 2`,
/// a last odd row or column dropped). Each output folds its window in tract's order and way:
/// `f32::MIN`, then `f32::max` with the top row's two values and the bottom row's two, so a NaN is
/// skipped and a window of -∞ gives `f32::MIN`, as tract's pool does.
///
/// Returns `None`, writing nothing, when the slices do not hold an `h × w` plane and its output.
#[inline(never)]
pub fn max_pool_2x2_plane(input: &[f32], h: usize, w: usize, output: &mut [f32]) -> Option<()> {
    let (oh, ow) = (h / 2, w / 2);
    if input.len() != h.checked_mul(w)? || output.len() != oh.checked_mul(ow)? {
        return None;
    }
    if ow == 0 {
        return Some(());
    }
    for (oy, out) in output.chunks_exact_mut(ow).enumerate() {
        let top = &input[2 * oy * w..][..2 * ow];
        let bottom = &input[(2 * oy + 1) * w..][..2 * ow];
        for ((o, t), b) in out
            .iter_mut()
            .zip(top.chunks_exact(2))
            .zip(bottom.chunks_exact(2))
        {
            *o = f32::MIN.max(t[0]).max(t[1]).max(b[0]).max(b[1]);
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Deterministic values with negatives, zeros of both signs and a spread of magnitudes.
    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let x = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8;
                match x % 17 {
                    0 => 0.0,
                    1 => -0.0,
                    _ => (x % 2001) as f32 / 97.0 - 10.0,
                }
            })
            .collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn max_pool_folds_each_window_as_tract_does() {
        for (h, w) in [(2, 2), (4, 6), (5, 7), (96, 96), (1, 4), (4, 1)] {
            let mut input = values(h * w, 3);
            if input.len() > 5 {
                input[1] = f32::NAN;
                input[5] = f32::NEG_INFINITY;
            }
            let (oh, ow) = (h / 2, w / 2);
            let mut out = vec![0.0; oh * ow];
            max_pool_2x2_plane(&input, h, w, &mut out).unwrap();
            let mut expected = Vec::new();
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut m = f32::MIN;
                    for ky in 0..2 {
                        for kx in 0..2 {
                            m = m.max(input[(2 * oy + ky) * w + 2 * ox + kx]);
                        }
                    }
                    expected.push(m);
                }
            }
            assert_eq!(bits(&out), bits(&expected), "{h}x{w}");
        }
        let mut out = [0.0];
        max_pool_2x2_plane(&[f32::NEG_INFINITY; 4], 2, 2, &mut out).unwrap();
        assert_eq!(
            out,
            [f32::MIN],
            "a window of -inf gives f32::MIN, as in tract"
        );
        max_pool_2x2_plane(&[f32::NAN, 1.0, f32::NAN, f32::NAN], 2, 2, &mut out).unwrap();
        assert_eq!(out, [1.0], "NaN is skipped");
        assert!(max_pool_2x2_plane(&[0.0; 3], 2, 2, &mut out).is_none());
        assert!(max_pool_2x2_plane(&[0.0; 4], 2, 2, &mut []).is_none());
    }

    #[test]
    fn prelu_scales_negatives_only() {
        let mut plane = [-2.0, -0.0, 0.0, 3.0, f32::NAN, f32::NEG_INFINITY];
        prelu_plane(&mut plane, 0.25);
        assert_eq!(bits(&plane[..4]), bits(&[-0.5, -0.0, 0.0, 3.0]));
        assert!(plane[4].is_nan());
        assert_eq!(plane[5], f32::NEG_INFINITY);
    }
}
