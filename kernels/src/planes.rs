//! A model's input tensor from a crop: packed RGB8 pixels into normalised channel planes (NCHW for
//! one image), the last copy every model input goes through.

/// Channel planes from packed RGB8 `pixels`: plane `k` of `out` holds `(channel − mean[k]) / std[k]`
/// of every pixel, where the channel is `order[k]` (0 red, 1 green, 2 blue), in that order of
/// operations.
///
/// Returns `None`, writing nothing, when `pixels` is not whole pixels, `out` does not hold three
/// planes of them, or an `order` entry is not 0, 1 or 2.
#[inline(never)]
pub fn rgb_to_planes(
    pixels: &[u8],
    order: [usize; 3],
    mean: [f32; 3],
    std: [f32; 3],
    out: &mut [f32],
) -> Option<()> {
    if !pixels.len().is_multiple_of(3) || out.len() != pixels.len() || order.iter().any(|c| *c > 2)
    {
        return None;
    }
    let n = pixels.len() / 3;
    if n == 0 {
        return Some(());
    }
    for (k, plane) in out.chunks_exact_mut(n).enumerate() {
        let (mean, std) = (mean[k], std[k]);
        // One loop per channel, so that each reads a fixed byte of the pixel and vectorises.
        match order[k] {
            0 => plane_of::<0>(pixels, mean, std, plane),
            1 => plane_of::<1>(pixels, mean, std, plane),
            _ => plane_of::<2>(pixels, mean, std, plane),
        }
    }
    Some(())
}

#[inline(always)]
fn plane_of<const C: usize>(pixels: &[u8], mean: f32, std: f32, plane: &mut [f32]) {
    for (v, px) in plane.iter_mut().zip(pixels.chunks_exact(3)) {
        *v = (f32::from(px[C]) - mean) / std;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn planes_hold_each_channel_in_order_normalised() {
        let pixels: Vec<u8> = (0..7 * 3).map(|i| (i * 37 % 256) as u8).collect();
        let (mean, std) = ([127.5, 0.0, 10.0], [127.5, 255.0, 0.3]);
        for order in [[0, 1, 2], [2, 1, 0], [1, 1, 0]] {
            let mut out = vec![0.0; pixels.len()];
            rgb_to_planes(&pixels, order, mean, std, &mut out).unwrap();
            for k in 0..3 {
                for i in 0..7 {
                    let want = (f32::from(pixels[i * 3 + order[k]]) - mean[k]) / std[k];
                    assert_eq!(
                        out[k * 7 + i].to_bits(),
                        want.to_bits(),
                        "{order:?} {k} {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn refuses_what_is_not_three_planes_of_whole_pixels() {
        let mut out = vec![9.0; 6];
        let one = [1.0; 3];
        assert!(rgb_to_planes(&[0; 5], [0, 1, 2], one, one, &mut out).is_none());
        assert!(rgb_to_planes(&[0; 3], [0, 1, 2], one, one, &mut out).is_none());
        assert!(rgb_to_planes(&[0; 6], [0, 3, 2], one, one, &mut out).is_none());
        assert!(out.iter().all(|v| *v == 9.0), "nothing written");
        rgb_to_planes(&[], [0, 1, 2], one, one, &mut []).unwrap();
    }
}
