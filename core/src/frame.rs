//! Camera frames in the pixel formats phones hand us, turned once into an upright RGB image.
//!
//! CameraX gives YUV_420_888 (usually NV21/NV12 or I420 once packed) and AVFoundation BGRA or NV12; the
//! desktop harness gives RGB. Every later stage sees one `RgbImage`, upright, so models and geometry never
//! care where pixels came from.

use smartid_kernels::round_to_u8;
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// Largest side we accept: far above any camera preview, small enough that a hostile size cannot make us
/// allocate gigabytes.
pub const MAX_SIDE: u32 = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    /// 3 bytes per pixel, R G B.
    Rgb8,
    /// 4 bytes per pixel, R G B A (alpha ignored).
    Rgba8,
    /// 4 bytes per pixel, B G R A (iOS `kCVPixelFormatType_32BGRA`).
    Bgra8,
    /// Y plane, then interleaved V U at half resolution (Android camera default).
    Nv21,
    /// Y plane, then interleaved U V at half resolution (iOS bi-planar).
    Nv12,
    /// Y plane, then U plane, then V plane, chroma at half resolution.
    I420,
}

impl PixelFormat {
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "rgb8" | "rgb" => Ok(Self::Rgb8),
            "rgba8" | "rgba" => Ok(Self::Rgba8),
            "bgra8" | "bgra" => Ok(Self::Bgra8),
            "nv21" => Ok(Self::Nv21),
            "nv12" => Ok(Self::Nv12),
            "i420" | "yuv420p" => Ok(Self::I420),
            _ => Err(Error::FrameFormat("unknown pixel format".into())),
        }
    }

    fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Rgb8 => 3,
            Self::Rgba8 | Self::Bgra8 => 4,
            Self::Nv21 | Self::Nv12 | Self::I420 => 1,
        }
    }

    fn is_yuv420(self) -> bool {
        matches!(self, Self::Nv21 | Self::Nv12 | Self::I420)
    }
}

/// Clockwise rotation, in degrees, that turns the buffer upright (Android `ImageInfo.rotationDegrees`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Rotation {
    R0,
    R90,
    R180,
    R270,
}

impl Rotation {
    pub fn from_degrees(deg: u32) -> Result<Self> {
        match deg {
            0 => Ok(Self::R0),
            90 => Ok(Self::R90),
            180 => Ok(Self::R180),
            270 => Ok(Self::R270),
            _ => Err(Error::FrameFormat(
                "rotation must be 0, 90, 180 or 270".into(),
            )),
        }
    }

    pub fn degrees(self) -> u32 {
        match self {
            Self::R0 => 0,
            Self::R90 => 90,
            Self::R180 => 180,
            Self::R270 => 270,
        }
    }
}

/// How a camera buffer is laid out: everything but the bytes. Owned and `Copy`, so a platform layer (or
/// the FFI) can describe a frame once and hand the bytes separately.
///
/// Planes are contiguous: for YUV formats the Y plane (`row_stride` × height) is followed by the chroma
/// plane(s) (`chroma_stride` × height/2 each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FrameLayout {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes per row of the first plane.
    pub row_stride: u32,
    /// Bytes per row of each chroma plane (YUV formats only; ignored otherwise).
    pub chroma_stride: u32,
    pub rotation: Rotation,
}

impl FrameLayout {
    /// A tightly packed layout (no row padding), upright.
    pub fn packed(width: u32, height: u32, format: PixelFormat) -> Self {
        let (row_stride, chroma_stride) = match format {
            PixelFormat::Nv21 | PixelFormat::Nv12 => (width, width.div_ceil(2).saturating_mul(2)),
            PixelFormat::I420 => (width, width.div_ceil(2)),
            f => (width.saturating_mul(f.bytes_per_pixel() as u32), 0),
        };
        Self {
            format,
            width,
            height,
            row_stride,
            chroma_stride,
            rotation: Rotation::R0,
        }
    }
}

/// A borrowed camera buffer with its layout.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub data: &'a [u8],
    pub layout: FrameLayout,
}

impl<'a> Frame<'a> {
    pub fn new(data: &'a [u8], layout: FrameLayout) -> Self {
        Self { data, layout }
    }

    /// A tightly packed frame (no row padding), upright.
    pub fn packed(data: &'a [u8], width: u32, height: u32, format: PixelFormat) -> Self {
        Self::new(data, FrameLayout::packed(width, height, format))
    }

    pub fn with_rotation(mut self, rotation: Rotation) -> Self {
        self.layout.rotation = rotation;
        self
    }

    /// Checks sizes, strides and buffer length; every later read is then in bounds.
    pub fn validate(&self) -> Result<()> {
        let l = &self.layout;
        validate_size(l.width, l.height, l.format)?;
        let (w, h) = (l.width as usize, l.height as usize);
        let (row_stride, chroma_stride) = (l.row_stride as usize, l.chroma_stride as usize);
        let min_row = w * l.format.bytes_per_pixel();
        if row_stride < min_row {
            return Err(Error::FrameBuffer(format!(
                "row stride {row_stride} is below the {min_row} bytes a row needs"
            )));
        }
        // Strides come from the caller: checked arithmetic, a hostile stride must not wrap.
        let overflow = || Error::FrameBuffer("strides are too large".into());
        let luma_plane = row_stride.checked_mul(h).ok_or_else(overflow)?;
        let needed = match l.format {
            PixelFormat::Nv21 | PixelFormat::Nv12 => {
                if chroma_stride < w {
                    return Err(Error::FrameBuffer(
                        "chroma stride is below the width".into(),
                    ));
                }
                chroma_stride
                    .checked_mul(h / 2)
                    .and_then(|c| c.checked_add(luma_plane))
                    .ok_or_else(overflow)?
            }
            PixelFormat::I420 => {
                if chroma_stride < w / 2 {
                    return Err(Error::FrameBuffer(
                        "chroma stride is below half the width".into(),
                    ));
                }
                chroma_stride
                    .checked_mul(h)
                    .and_then(|c| c.checked_add(luma_plane))
                    .ok_or_else(overflow)?
            }
            _ => luma_plane - row_stride + min_row,
        };
        if self.data.len() < needed {
            return Err(Error::FrameBuffer(format!(
                "buffer has {} bytes, layout needs {needed}",
                self.data.len()
            )));
        }
        Ok(())
    }

    /// Converts to an upright RGB image in one pass (format conversion and rotation together).
    pub fn to_rgb(&self) -> Result<RgbImage> {
        self.validate()?;
        let start = std::time::Instant::now();
        let (sw, sh) = (self.layout.width as usize, self.layout.height as usize);
        let (dw, dh) = match self.layout.rotation {
            Rotation::R0 | Rotation::R180 => (sw, sh),
            Rotation::R90 | Rotation::R270 => (sh, sw),
        };
        let mut out = vec![0u8; dw * dh * 3];
        for dy in 0..dh {
            for dx in 0..dw {
                // Source pixel that lands at (dx, dy) after rotating the buffer clockwise.
                let (sx, sy) = match self.layout.rotation {
                    Rotation::R0 => (dx, dy),
                    Rotation::R90 => (dy, sh - 1 - dx),
                    Rotation::R180 => (sw - 1 - dx, sh - 1 - dy),
                    Rotation::R270 => (sw - 1 - dy, dx),
                };
                let px = self.pixel(sx, sy);
                let o = (dy * dw + dx) * 3;
                out[o..o + 3].copy_from_slice(&px);
            }
        }
        crate::profile::record(crate::profile::Stage::Convert, start);
        Ok(RgbImage {
            width: dw as u32,
            height: dh as u32,
            data: out,
        })
    }

    /// RGB of source pixel (x, y); bounds were checked by `validate`.
    fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let d = self.data;
        let l = &self.layout;
        let (row_stride, chroma_stride) = (l.row_stride as usize, l.chroma_stride as usize);
        let height = l.height as usize;
        match l.format {
            PixelFormat::Rgb8 => {
                let o = y * row_stride + x * 3;
                [d[o], d[o + 1], d[o + 2]]
            }
            PixelFormat::Rgba8 => {
                let o = y * row_stride + x * 4;
                [d[o], d[o + 1], d[o + 2]]
            }
            PixelFormat::Bgra8 => {
                let o = y * row_stride + x * 4;
                [d[o + 2], d[o + 1], d[o]]
            }
            PixelFormat::Nv21 | PixelFormat::Nv12 => {
                let luma = d[y * row_stride + x];
                let c = row_stride * height + (y / 2) * chroma_stride + (x / 2) * 2;
                let (u, v) = if l.format == PixelFormat::Nv12 {
                    (d[c], d[c + 1])
                } else {
                    (d[c + 1], d[c])
                };
                yuv_to_rgb(luma, u, v)
            }
            PixelFormat::I420 => {
                let luma = d[y * row_stride + x];
                let plane = chroma_stride * (height / 2);
                let c = row_stride * height + (y / 2) * chroma_stride + x / 2;
                yuv_to_rgb(luma, d[c], d[c + plane])
            }
        }
    }
}

/// Non-zero, at most [`MAX_SIDE`], and even where 4:2:0 chroma needs it.
pub fn validate_size(w: u32, h: u32, format: PixelFormat) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(Error::FrameSize("width and height must be non-zero".into()));
    }
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(Error::FrameSize(format!(
            "sides above {MAX_SIDE} are not accepted"
        )));
    }
    if format.is_yuv420() && (!w.is_multiple_of(2) || !h.is_multiple_of(2)) {
        return Err(Error::FrameSize(
            "YUV 4:2:0 frames need even width and height".into(),
        ));
    }
    Ok(())
}

/// Full-range BT.601 (JFIF), what Android and iOS cameras produce for preview frames.
pub fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let y = y as f32;
    let u = u as f32 - 128.0;
    let v = v as f32 - 128.0;
    let r = y + 1.402 * v;
    let g = y - 0.344_136 * u - 0.714_136 * v;
    let b = y + 1.772 * u;
    [round_to_u8(r), round_to_u8(g), round_to_u8(b)]
}

/// Inverse of [`yuv_to_rgb`]; used by tests and the harness to make YUV frames from images.
pub fn rgb_to_yuv(r: u8, g: u8, b: u8) -> [u8; 3] {
    let (r, g, b) = (r as f32, g as f32, b as f32);
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let u = -0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0;
    let v = 0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0;
    [round_to_u8(y), round_to_u8(u), round_to_u8(v)]
}

/// An upright, packed RGB8 image. Zeroized on drop: it is a picture of someone's face.
#[derive(Clone, PartialEq, Eq)]
pub struct RgbImage {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl std::fmt::Debug for RgbImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RgbImage({}x{})", self.width, self.height)
    }
}

impl Drop for RgbImage {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

impl RgbImage {
    /// Wraps packed RGB8 data; checks that it matches the size.
    pub fn from_raw(width: u32, height: u32, data: Vec<u8>) -> Result<Self> {
        Frame::packed(&data, width, height, PixelFormat::Rgb8).validate()?;
        if data.len() != width as usize * height as usize * 3 {
            return Err(Error::FrameBuffer(
                "RGB data length does not match the size".into(),
            ));
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// For buffers this crate sized itself (`data.len() == width * height * 3`).
    #[cfg_attr(not(feature = "capture"), allow(dead_code))]
    pub(crate) fn from_parts(width: u32, height: u32, data: Vec<u8>) -> Self {
        debug_assert_eq!(data.len(), width as usize * height as usize * 3);
        Self {
            width,
            height,
            data,
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Pixel at (x, y), coordinates clamped to the image.
    #[inline]
    pub fn get_clamped(&self, x: i64, y: i64) -> [u8; 3] {
        let x = x.clamp(0, self.width as i64 - 1) as usize;
        let y = y.clamp(0, self.height as i64 - 1) as usize;
        let o = (y * self.width as usize + x) * 3;
        [self.data[o], self.data[o + 1], self.data[o + 2]]
    }

    /// Mean luma (0..255) inside a rectangle clipped to the image; 0 when the rectangle is empty.
    pub fn mean_luma(&self, x0: f32, y0: f32, x1: f32, y1: f32) -> f32 {
        let cx0 = x0.max(0.0) as usize;
        let cy0 = y0.max(0.0) as usize;
        let cx1 = (x1.min(self.width as f32)).max(0.0) as usize;
        let cy1 = (y1.min(self.height as f32)).max(0.0) as usize;
        let mut sum = 0f64;
        let mut n = 0usize;
        for y in cy0..cy1 {
            for x in cx0..cx1 {
                let o = (y * self.width as usize + x) * 3;
                sum += luma(self.data[o], self.data[o + 1], self.data[o + 2]) as f64;
                n += 1;
            }
        }
        if n == 0 { 0.0 } else { (sum / n as f64) as f32 }
    }
}

/// BT.601 luma, the weights OpenCV's BGR2GRAY uses (the eye model was trained on those).
#[inline]
pub fn luma(r: u8, g: u8, b: u8) -> f32 {
    0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32
}

#[cfg(test)]
pub(crate) mod tests {
    use smartid_kernels::round_to_u8;

    /// Values to test a rounding function on: `specials`, each whole number `k` in `whole` and each
    /// `k + 0.5` with one ulp either side, and a sweep of bit patterns of both signs up to `sweep_to`.
    pub(crate) fn rounding_edges(
        specials: &[f32],
        whole: std::ops::RangeInclusive<i32>,
        sweep_to: f32,
    ) -> Vec<f32> {
        let mut values = specials.to_vec();
        for k in whole {
            for edge in [k as f32, k as f32 + 0.5] {
                values.extend([edge.next_down(), edge, edge.next_up()]);
            }
        }
        let top = sweep_to.to_bits();
        values.extend((0..top).step_by(4099).map(f32::from_bits));
        values.extend((0..top).step_by(4099).map(|b| -f32::from_bits(b)));
        values
    }

    fn reference(x: f32) -> u8 {
        x.round().clamp(0.0, 255.0) as u8
    }

    /// Every value next to a rounding edge, a sweep of bit patterns across (-300, 300), and the
    /// special values.
    #[test]
    fn round_to_u8_rounds_as_f32_round() {
        let specials = [
            0.0,
            -0.0,
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            f32::from_bits(1),
            f32::MAX,
            f32::MIN,
            0.499_999_97,
            254.5,
            255.0,
            255.499_98,
            255.5,
            256.0,
            1e9,
        ];
        for x in rounding_edges(&specials, -2..=258, 300.0) {
            assert_eq!(round_to_u8(x), reference(x), "{x:e} ({:#x})", x.to_bits());
        }
    }
}
