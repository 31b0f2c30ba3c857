//! YUV4MPEG2 recordings (4:2:0, 8 bit): what the desktop harness replays, and what `smartid y4m`
//! writes from a folder of frames.

use std::io::BufRead as _;

use crate::error::{Error, Result};
use crate::frame::{Frame, PixelFormat, RgbImage, rgb_to_yuv, validate_size};

/// Most frames accepted in one recording (a 60 s capture at 60 fps is 3600).
pub const MAX_FRAMES: usize = 10_000;

fn bad(m: &str) -> Error {
    Error::ImageDecode(format!("y4m: {m}"))
}

/// Longest header or frame-header line accepted.
const MAX_LINE: u64 = 1024;

/// Reads one `\n`-terminated line of at most [`MAX_LINE`] bytes; `None` at a clean end of input.
fn read_line(r: &mut impl std::io::BufRead) -> Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = std::io::Read::take(&mut *r, MAX_LINE)
        .read_until(b'\n', &mut line)
        .map_err(|e| bad(&format!("read failed: {e}")))?;
    if n == 0 {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(bad("line too long or truncated"));
    }
    Ok(Some(line))
}

/// A Y4M recording read one frame at a time: memory holds one frame, whatever the file's length.
/// Never panics on any input (fuzzed through [`parse_y4m`]).
pub struct Y4mReader<R> {
    input: R,
    width: u32,
    height: u32,
    frame_len: usize,
    frames: usize,
}

impl<R: std::io::BufRead> Y4mReader<R> {
    /// Reads and checks the header (4:2:0 only; sizes validated before any arithmetic on them).
    pub fn new(mut input: R) -> Result<Self> {
        let line = read_line(&mut input)?.ok_or_else(|| bad("no header line"))?;
        let header = std::str::from_utf8(&line).map_err(|_| bad("header is not text"))?;
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
        validate_size(w, h, PixelFormat::I420)?;
        Ok(Self {
            input,
            width: w,
            height: h,
            frame_len: (w as usize * h as usize) * 3 / 2,
            frames: 0,
        })
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The next frame as upright RGB; `Ok(None)` at the end of the recording.
    pub fn next_frame(&mut self) -> Result<Option<RgbImage>> {
        let Some(line) = read_line(&mut self.input)? else {
            return Ok(None);
        };
        if !line.starts_with(b"FRAME") {
            return Err(bad("expected FRAME"));
        }
        if self.frames >= MAX_FRAMES {
            return Err(bad("too many frames"));
        }
        let mut body = zeroize::Zeroizing::new(vec![0u8; self.frame_len]);
        std::io::Read::read_exact(&mut self.input, &mut body)
            .map_err(|_| bad("truncated frame"))?;
        self.frames += 1;
        Frame::packed(&body, self.width, self.height, PixelFormat::I420)
            .to_rgb()
            .map(Some)
    }
}

impl<R: std::io::BufRead> Iterator for Y4mReader<R> {
    type Item = Result<RgbImage>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame().transpose()
    }
}

/// Parses a whole Y4M file held in memory into upright RGB frames. Never panics on any input
/// (fuzz/fuzz_targets/parsers.rs). Recordings from disk: [`Y4mReader`], one frame at a time.
pub fn parse_y4m(data: &[u8]) -> Result<Vec<RgbImage>> {
    let frames = Y4mReader::new(data)?.collect::<Result<Vec<_>>>()?;
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

    #[test]
    fn the_reader_yields_frames_one_at_a_time() {
        let img = RgbImage::from_raw(4, 2, vec![200; 24]).unwrap();
        let mut data = write_y4m(&[img.clone(), img]).unwrap();
        // A third frame cut short: the first two still come out, then the error.
        data.extend_from_slice(b"FRAME\n123");
        let mut r = Y4mReader::new(&data[..]).unwrap();
        assert_eq!(r.size(), (4, 2));
        assert!(r.next_frame().unwrap().is_some());
        assert!(r.next_frame().unwrap().is_some());
        assert!(r.next_frame().is_err());
        // A header line without an end (or longer than 1 KiB) is refused without reading on.
        let long = [b"YUV4MPEG2 W4 H2 X".as_slice(), &[b'x'; 2000]].concat();
        assert!(Y4mReader::new(&long[..]).is_err());
    }
}
