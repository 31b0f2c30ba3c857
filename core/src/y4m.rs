//! YUV4MPEG2 recordings (4:2:0, 8 bit): what the desktop harness replays, and what `smartid y4m`
//! writes from a folder of frames.

use crate::error::{Error, Result};
use crate::frame::{Frame, PixelFormat, RgbImage, rgb_to_yuv, validate_size};

/// Largest recording accepted in one call (frames are decoded to RGB in memory).
pub const MAX_FRAMES: usize = 10_000;

fn bad(m: &str) -> Error {
    Error::ImageDecode(format!("y4m: {m}"))
}

/// Parses a whole Y4M file into upright RGB frames. Never panics on any input (fuzz/fuzz_targets/y4m.rs).
pub fn parse_y4m(data: &[u8]) -> Result<Vec<RgbImage>> {
    let header_end = data
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| bad("no header line"))?;
    let header = std::str::from_utf8(&data[..header_end]).map_err(|_| bad("header is not text"))?;
    let mut tokens = header.split(' ');
    if tokens.next() != Some("YUV4MPEG2") {
        return Err(bad("missing YUV4MPEG2 signature"));
    }
    let (mut w, mut h) = (0u32, 0u32);
    for t in tokens {
        match t.as_bytes().first() {
            Some(b'W') => w = t[1..].parse().map_err(|_| bad("bad width"))?,
            Some(b'H') => h = t[1..].parse().map_err(|_| bad("bad height"))?,
            Some(b'C') if !t.starts_with("C420") => {
                return Err(bad("only 4:2:0 chroma is supported"));
            }
            _ => {}
        }
    }
    // Sizes are checked (non-zero, even, bounded) before any arithmetic on them.
    validate_size(w, h, PixelFormat::I420)?;
    let frame_len = (w as usize * h as usize) * 3 / 2;
    let mut frames = Vec::new();
    let mut pos = header_end + 1;
    while pos < data.len() {
        if frames.len() >= MAX_FRAMES {
            return Err(bad("too many frames"));
        }
        let line_end = data[pos..]
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| bad("truncated frame header"))?;
        if !data[pos..].starts_with(b"FRAME") {
            return Err(bad("expected FRAME"));
        }
        pos += line_end + 1;
        let body = data
            .get(pos..pos + frame_len)
            .ok_or_else(|| bad("truncated frame"))?;
        frames.push(Frame::packed(body, w, h, PixelFormat::I420).to_rgb()?);
        pos += frame_len;
    }
    if frames.is_empty() {
        return Err(bad("no frames"));
    }
    Ok(frames)
}

/// Writes frames as Y4M (I420, full-range BT.601, chroma from the top-left pixel of each 2x2 block).
pub fn write_y4m(frames: &[RgbImage]) -> Result<Vec<u8>> {
    let first = frames.first().ok_or_else(|| bad("no frames"))?;
    let (w, h) = (first.width() as usize, first.height() as usize);
    if frames
        .iter()
        .any(|f| (f.width() as usize, f.height() as usize) != (w, h))
        || w % 2 != 0
        || h % 2 != 0
    {
        return Err(bad("frames must share one even size"));
    }
    let mut out = format!("YUV4MPEG2 W{w} H{h} F30000:1001 Ip A1:1 C420jpeg\n").into_bytes();
    for f in frames {
        out.extend_from_slice(b"FRAME\n");
        let px = |x: usize, y: usize| f.get_clamped(x as i64, y as i64);
        for y in 0..h {
            for x in 0..w {
                let [r, g, b] = px(x, y);
                out.push(rgb_to_yuv(r, g, b)[0]);
            }
        }
        for plane in [1, 2] {
            for y in (0..h).step_by(2) {
                for x in (0..w).step_by(2) {
                    let [r, g, b] = px(x, y);
                    out.push(rgb_to_yuv(r, g, b)[plane]);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn y4m_round_trip_and_bad_files() {
        let img = RgbImage::from_raw(4, 2, (0..24).map(|i| (i * 10) as u8).collect()).unwrap();
        let data = write_y4m(&[img.clone(), img]).unwrap();
        let frames = parse_y4m(&data).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].width(), frames[0].height()), (4, 2));
        assert!(parse_y4m(b"YUV4MPEG2 W4 H2\nFRAME\n123").is_err());
        assert!(parse_y4m(b"NOTY4M W4 H2\n").is_err());
        assert!(parse_y4m(b"YUV4MPEG2 W4 H2 C444\n").is_err());
        assert!(parse_y4m(b"YUV4MPEG2 W3 H3\nFRAME\n0123456789abcdefghijklmnop").is_err());
    }
}
