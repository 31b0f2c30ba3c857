//! Recorded input: single images, folders of PNG/JPEG frames (sorted by name), and Y4M video.

use std::io::Read;
use std::path::{Path, PathBuf};

use smartid_core::{Frame, PixelFormat, RgbImage};

use crate::AnyResult;

pub fn load_image(path: &Path) -> AnyResult<RgbImage> {
    let img = image::open(path)
        .map_err(|e| format!("{}: cannot decode image: {e}", path.display()))?
        .to_rgb8();
    let (w, h) = img.dimensions();
    Ok(RgbImage::from_raw(w, h, img.into_raw())?)
}

/// Named frames from an image, a folder of images or a .y4m file.
pub fn load_frames(input: &Path) -> AnyResult<Vec<(String, RgbImage)>> {
    if input.is_dir() {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(input)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                matches!(
                    p.extension()
                        .and_then(|e| e.to_str())
                        .map(|e| e.to_ascii_lowercase())
                        .as_deref(),
                    Some("png" | "jpg" | "jpeg")
                )
            })
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(format!("{}: no PNG or JPEG frames", input.display()).into());
        }
        paths
            .iter()
            .map(|p| Ok((file_name(p), load_image(p)?)))
            .collect()
    } else if input.extension().and_then(|e| e.to_str()) == Some("y4m") {
        let mut data = Vec::new();
        std::fs::File::open(input)?.read_to_end(&mut data)?;
        Ok(parse_y4m(&data)?
            .into_iter()
            .enumerate()
            .map(|(i, f)| (format!("frame {i}"), f))
            .collect())
    } else {
        Ok(vec![(file_name(input), load_image(input)?)])
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// YUV4MPEG2 with 4:2:0 chroma (C420, C420jpeg, C420mpeg2, C420paldv or no C tag), 8 bit.
pub fn parse_y4m(data: &[u8]) -> AnyResult<Vec<RgbImage>> {
    let header_end = data
        .iter()
        .position(|b| *b == b'\n')
        .ok_or("y4m: no header line")?;
    let header = std::str::from_utf8(&data[..header_end]).map_err(|_| "y4m: header is not text")?;
    let mut tokens = header.split(' ');
    if tokens.next() != Some("YUV4MPEG2") {
        return Err("y4m: missing YUV4MPEG2 signature".into());
    }
    let (mut w, mut h) = (0u32, 0u32);
    for t in tokens {
        match t.as_bytes().first() {
            Some(b'W') => w = t[1..].parse().map_err(|_| "y4m: bad width")?,
            Some(b'H') => h = t[1..].parse().map_err(|_| "y4m: bad height")?,
            Some(b'C') if !t.starts_with("C420") => {
                return Err(format!("y4m: unsupported chroma {t}").into());
            }
            _ => {}
        }
    }
    let frame_len = (w as usize * h as usize) * 3 / 2;
    let mut frames = Vec::new();
    let mut pos = header_end + 1;
    while pos < data.len() {
        let line_end = data[pos..]
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("y4m: truncated frame header")?;
        if !data[pos..].starts_with(b"FRAME") {
            return Err("y4m: expected FRAME".into());
        }
        pos += line_end + 1;
        let body = data
            .get(pos..pos + frame_len)
            .ok_or("y4m: truncated frame")?;
        frames.push(Frame::packed(body, w, h, PixelFormat::I420).to_rgb()?);
        pos += frame_len;
    }
    Ok(frames)
}

/// Writes frames as Y4M (I420), so recordings can be made from PNG folders.
pub fn write_y4m(frames: &[RgbImage]) -> AnyResult<Vec<u8>> {
    use smartid_core::frame::rgb_to_yuv;
    let first = frames.first().ok_or("no frames")?;
    let (w, h) = (first.width() as usize, first.height() as usize);
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

/// `smartid y4m`: a folder of frames as one Y4M file.
pub fn record_y4m(frames: &Path, out: &Path) -> AnyResult {
    let imgs: Vec<RgbImage> = load_frames(frames)?.into_iter().map(|(_, f)| f).collect();
    if imgs
        .windows(2)
        .any(|w| (w[0].width(), w[0].height()) != (w[1].width(), w[1].height()))
    {
        return Err("all frames must have the same size".into());
    }
    if imgs
        .iter()
        .any(|f| f.width() % 2 != 0 || f.height() % 2 != 0)
    {
        return Err("4:2:0 needs even frame sizes".into());
    }
    std::fs::write(out, write_y4m(&imgs)?)?;
    println!("{} frames written to {}", imgs.len(), out.display());
    Ok(())
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
