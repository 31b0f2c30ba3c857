//! The attacker's image edits, made with nothing but the fixtures: eyes painted shut, a 2-D "turning
//! head" warp, a photo turned in front of the camera (a homography), mouth corners stretched, a face
//! moved onto another's place, a screen bezel. Crude on purpose: they are what issue 12 measured.

use smartid_core::RgbImage;
use smartid_core::vision::{FaceAnalysis, Point};

/// An editable RGB image.
#[derive(Clone)]
pub struct Img {
    pub w: usize,
    pub h: usize,
    pub px: Vec<u8>,
}

impl Img {
    pub fn from_rgb(img: &RgbImage) -> Self {
        Self {
            w: img.width() as usize,
            h: img.height() as usize,
            px: img.as_bytes().to_vec(),
        }
    }

    pub fn to_rgb(&self) -> smartid_core::Result<RgbImage> {
        RgbImage::from_raw(self.w as u32, self.h as u32, self.px.clone())
    }

    fn get(&self, x: i64, y: i64) -> [f32; 3] {
        let x = x.clamp(0, self.w as i64 - 1) as usize;
        let y = y.clamp(0, self.h as i64 - 1) as usize;
        let o = (y * self.w + x) * 3;
        [
            self.px[o] as f32,
            self.px[o + 1] as f32,
            self.px[o + 2] as f32,
        ]
    }

    /// Bilinear sample, clamped at the edges.
    pub fn sample(&self, x: f32, y: f32) -> [f32; 3] {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let (a, b, c, d) = (
            self.get(x0, y0),
            self.get(x0 + 1, y0),
            self.get(x0, y0 + 1),
            self.get(x0 + 1, y0 + 1),
        );
        let mut out = [0.0; 3];
        for k in 0..3 {
            let top = a[k] + (b[k] - a[k]) * fx;
            let bottom = c[k] + (d[k] - c[k]) * fx;
            out[k] = top + (bottom - top) * fy;
        }
        out
    }

    fn set(&mut self, x: usize, y: usize, v: [f32; 3]) {
        let o = (y * self.w + x) * 3;
        for (dst, value) in self.px[o..o + 3].iter_mut().zip(v) {
            *dst = value.round().clamp(0.0, 255.0) as u8;
        }
    }

    fn blend(&mut self, x: usize, y: usize, v: [f32; 3], alpha: f32) {
        let cur = self.get(x as i64, y as i64);
        let mix = [0, 1, 2].map(|k| cur[k] + (v[k] - cur[k]) * alpha.clamp(0.0, 1.0));
        self.set(x, y, mix);
    }

    /// A new image whose pixel (x, y) is this image at `source(x, y)`.
    pub fn remap(&self, source: impl Fn(f32, f32) -> (f32, f32)) -> Img {
        let mut out = self.clone();
        for y in 0..self.h {
            for x in 0..self.w {
                let (sx, sy) = source(x as f32, y as f32);
                out.set(x, y, self.sample(sx, sy));
            }
        }
        out
    }

    fn mean_in(&self, c: Point, r: f32) -> [f32; 3] {
        let mut sum = [0.0f32; 3];
        let mut n = 0.0;
        let r = r.max(1.0);
        for y in (c.y - r) as i64..=(c.y + r) as i64 {
            for x in (c.x - r) as i64..=(c.x + r) as i64 {
                let v = self.get(x, y);
                for k in 0..3 {
                    sum[k] += v[k];
                }
                n += 1.0;
            }
        }
        sum.map(|s| s / n)
    }
}

/// Where the face is, read once from the still with the SDK's own models (as an attacker would use
/// any landmark detector).
#[derive(Clone, Copy)]
pub struct FaceGeometry {
    pub centre: Point,
    pub width: f32,
    pub height: f32,
    /// Right eye (image left), left eye: the two corners of each.
    pub eyes: [[Point; 2]; 2],
    pub mouth: [Point; 2],
}

impl FaceGeometry {
    pub fn of(face: &FaceAnalysis, right_eye: &[usize; 6], left_eye: &[usize; 6]) -> Self {
        let b = face.face_box;
        let corners = |idx: &[usize; 6]| [face.mesh.p(idx[0]), face.mesh.p(idx[3])];
        Self {
            centre: b.centre(),
            width: b.width(),
            height: b.height(),
            eyes: [corners(right_eye), corners(left_eye)],
            mouth: [face.five_points[3], face.five_points[4]],
        }
    }
}

/// Eyes painted over with skin colour and a dark lash line; `closure` 1 = shut, 0.5 = half (the lid
/// painted down to the middle).
pub fn paint_eyes(img: &Img, g: &FaceGeometry, closure: f32) -> Img {
    let mut out = img.clone();
    for [a, b] in g.eyes {
        let c = Point::new((a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
        let width = a.dist(b).max(2.0);
        let (ax, ay) = (0.62 * width, 0.42 * width);
        let skin = img.mean_in(Point::new(c.x, c.y + 0.8 * width), 0.18 * width);
        let lash = skin.map(|v| v * 0.35);
        let lid_bottom = -ay + 2.0 * ay * closure;
        for y in (c.y - ay - 1.0).max(0.0) as usize..((c.y + ay + 2.0) as usize).min(img.h) {
            for x in (c.x - ax - 1.0).max(0.0) as usize..((c.x + ax + 2.0) as usize).min(img.w) {
                let (dx, dy) = (x as f32 - c.x, y as f32 - c.y);
                let r = (dx / ax).powi(2) + (dy / ay).powi(2);
                if r > 1.0 || dy > lid_bottom {
                    continue;
                }
                // Feathered edge, so the paint is not a hard-edged patch.
                let alpha = ((1.0 - r) * 4.0).min(1.0);
                out.blend(x, y, skin, alpha);
                let on_line = (dy - (lid_bottom - 0.12 * ay)).abs() < (0.07 * width).max(0.6);
                if on_line && r < 0.85 {
                    out.blend(x, y, lash, 0.8);
                }
            }
        }
    }
    out
}

/// A 2-D "turning head": the face mapped onto a vertical cylinder and rotated by `deg` (positive turns
/// the face toward the image's right), fading out beyond the face. `vertical` rotates about a
/// horizontal axis instead (a nod).
pub fn cylinder_turn(img: &Img, g: &FaceGeometry, deg: f32, vertical: bool) -> Img {
    let phi = deg.to_radians();
    let r = 0.6 * if vertical { g.height } else { g.width };
    img.remap(|x, y| {
        let (u, v) = if vertical {
            (y - g.centre.y, x - g.centre.x)
        } else {
            (x - g.centre.x, y - g.centre.y)
        };
        let extent = if vertical { g.width } else { g.height };
        // Along the axis: full effect over the face, none half a face beyond it.
        let along = (1.0 - ((v.abs() - 0.5 * extent) / (0.5 * extent)).max(0.0)).clamp(0.0, 1.0);
        let t = (u / r).clamp(-0.999, 0.999);
        let shifted = r * (t.asin() - phi).sin();
        let across = (1.0 - ((u.abs() - r) / (0.4 * r)).max(0.0)).clamp(0.0, 1.0);
        let su = u + (shifted - u) * along * across;
        if vertical {
            (x, g.centre.y + su)
        } else {
            (g.centre.x + su, y)
        }
    })
}

/// The whole picture as a flat photo turned by `deg` about an axis through the face (a homography):
/// what a printed photo or a screen rotated in front of the camera shows.
pub fn flat_turn(img: &Img, g: &FaceGeometry, deg: f32, vertical: bool) -> Img {
    let phi = deg.to_radians();
    let f = 1.2 * img.w.max(img.h) as f32;
    let (s, c) = phi.sin_cos();
    img.remap(|x, y| {
        let (px, py) = if vertical {
            (y - g.centre.y, x - g.centre.x)
        } else {
            (x - g.centre.x, y - g.centre.y)
        };
        // Point (u, v) of the plane at depth f, rotated by phi about its v axis, projects to (px, py).
        let u = px * f / (f * c + px * s);
        let v = py * (f - u * s) / f;
        if vertical {
            (g.centre.x + v, g.centre.y + u)
        } else {
            (g.centre.x + u, g.centre.y + v)
        }
    })
}

/// Mouth corners pulled apart by `gain` (0.3 = 30 % wider), fading out around the mouth.
pub fn stretch_mouth(img: &Img, g: &FaceGeometry, gain: f32) -> Img {
    let [a, b] = g.mouth;
    let m = Point::new((a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
    let width = a.dist(b).max(2.0);
    let (ax, ay) = (1.1 * width, 0.6 * width);
    img.remap(|x, y| {
        let (dx, dy) = (x - m.x, y - m.y);
        let r = (dx / ax).powi(2) + (dy / ay).powi(2);
        if r >= 1.0 {
            return (x, y);
        }
        let w = (1.0 - r).powi(2);
        (m.x + dx / (1.0 + gain * w), y)
    })
}

/// `img` moved and scaled so that a face at `from` lands on `to` (a face swapped into another
/// recording's place, so the track does not jump).
pub fn move_face(img: &Img, from: &FaceGeometry, to: &FaceGeometry) -> Img {
    let s = from.height / to.height.max(1.0);
    img.remap(|x, y| {
        (
            from.centre.x + (x - to.centre.x) * s,
            from.centre.y + (y - to.centre.y) * s,
        )
    })
}

/// A phone screen held up to the camera: the picture inside a thick dark bezel with a light rim.
pub fn screen_bezel(img: &Img) -> Img {
    let mut out = img.clone();
    let band = (img.w.min(img.h) / 6).max(3);
    for y in 0..img.h {
        for x in 0..img.w {
            let edge = x.min(y).min(img.w - 1 - x).min(img.h - 1 - y);
            if edge < band {
                out.set(x, y, [18.0, 18.0, 20.0]);
            } else if edge < band + 2 {
                out.set(x, y, [200.0, 200.0, 205.0]);
            }
        }
    }
    out
}

/// A small translation (hand shake), sub-pixel.
pub fn shift(img: &Img, dx: f32, dy: f32) -> Img {
    img.remap(|x, y| (x - dx, y - dy))
}
