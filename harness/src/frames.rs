//! Recorded input: single images, folders of PNG/JPEG frames (sorted by name), and Y4M video.

use std::path::{Path, PathBuf};

use smartid_core::RgbImage;
use smartid_core::y4m::{Y4mReader, write_y4m};

use crate::AnyResult;

pub fn load_image(path: &Path) -> AnyResult<RgbImage> {
    let img = image::open(path)
        .map_err(|e| format!("{}: cannot decode image: {e}", path.display()))?
        .to_rgb8();
    let (w, h) = img.dimensions();
    Ok(RgbImage::from_raw(w, h, img.into_raw())?)
}

/// Named frames from an image, a folder of images or a .y4m file, all in memory (analysis commands).
pub fn load_frames(input: &Path) -> AnyResult<Vec<(String, RgbImage)>> {
    stream_frames(input)?.collect()
}

/// A frame, named for the log, or why it could not be read.
pub type NamedFrame = AnyResult<(String, RgbImage)>;

/// The same frames, read one at a time as the session asks for them: a folder decodes one image per
/// frame, a .y4m file reads one frame's bytes (a 60 s recording never sits in memory whole).
pub fn stream_frames(input: &Path) -> AnyResult<Box<dyn Iterator<Item = NamedFrame>>> {
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
        Ok(Box::new(
            paths
                .into_iter()
                .map(|p| Ok((file_name(&p), load_image(&p)?))),
        ))
    } else if input.extension().and_then(|e| e.to_str()) == Some("y4m") {
        let file = std::fs::File::open(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let reader = Y4mReader::new(std::io::BufReader::new(file))?;
        let mut frames = reader
            .enumerate()
            .map(|(i, f)| Ok((format!("frame {i}"), f?)))
            .peekable();
        if frames.peek().is_none() {
            return Err(format!("{}: y4m: no frames", input.display()).into());
        }
        Ok(Box::new(frames))
    } else {
        let one = (file_name(input), load_image(input)?);
        Ok(Box::new(std::iter::once(Ok(one))))
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
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
        .any(|f| !f.width().is_multiple_of(2) || !f.height().is_multiple_of(2))
    {
        return Err("4:2:0 needs even frame sizes".into());
    }
    std::fs::write(out, write_y4m(&imgs)?)?;
    println!("{} frames written to {}", imgs.len(), out.display());
    Ok(())
}
