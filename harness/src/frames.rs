//! Recorded input: single images, folders of PNG/JPEG frames (sorted by name), and Y4M video.

use std::io::Read;
use std::path::{Path, PathBuf};

use smartid_core::RgbImage;
use smartid_core::y4m::{parse_y4m, write_y4m};

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
