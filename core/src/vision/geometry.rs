//! Points, boxes and 2-D affine maps shared by every vision stage.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }
    pub fn dist(self, o: Point) -> f32 {
        ((self.x - o.x).powi(2) + (self.y - o.y).powi(2)).sqrt()
    }
    pub fn mean(points: &[Point]) -> Point {
        let n = points.len().max(1) as f32;
        let (sx, sy) = points
            .iter()
            .fold((0.0, 0.0), |(a, b), p| (a + p.x, b + p.y));
        Point::new(sx / n, sy / n)
    }
}

/// Axis-aligned box in image pixels, corners (x1, y1) top-left and (x2, y2) bottom-right.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct BoxF {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BoxF {
    pub fn width(&self) -> f32 {
        self.x2 - self.x1
    }
    pub fn height(&self) -> f32 {
        self.y2 - self.y1
    }
    pub fn centre(&self) -> Point {
        Point::new((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)
    }
    pub fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }
    pub fn iou(&self, o: &BoxF) -> f32 {
        let ix = (self.x2.min(o.x2) - self.x1.max(o.x1)).max(0.0);
        let iy = (self.y2.min(o.y2) - self.y1.max(o.y1)).max(0.0);
        let inter = ix * iy;
        let union = self.area() + o.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
}

/// `p' = [a b; c d] p + [tx ty]`. Warps use it as the map from output (crop) pixels to source pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub a: f32,
    pub b: f32,
    pub c: f32,
    pub d: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Affine {
    pub fn apply(&self, p: Point) -> Point {
        Point::new(
            self.a * p.x + self.b * p.y + self.tx,
            self.c * p.x + self.d * p.y + self.ty,
        )
    }

    /// Rotation by `angle` (radians) and uniform `scale`, taking crop point `crop_centre` to `centre`.
    pub fn rotated_square(centre: Point, crop_centre: Point, scale: f32, angle: f32) -> Self {
        let (s, c) = angle.sin_cos();
        let (a, b, cc, d) = (c * scale, -s * scale, s * scale, c * scale);
        Affine {
            a,
            b,
            c: cc,
            d,
            tx: centre.x - (a * crop_centre.x + b * crop_centre.y),
            ty: centre.y - (cc * crop_centre.x + d * crop_centre.y),
        }
    }

    /// Resize-like map used by `cv2.resize`: output pixel centres spread evenly over the source rectangle.
    pub fn resize(x0: f32, y0: f32, sx: f32, sy: f32) -> Self {
        Affine {
            a: sx,
            b: 0.0,
            c: 0.0,
            d: sy,
            tx: x0 + 0.5 * sx - 0.5,
            ty: y0 + 0.5 * sy - 0.5,
        }
    }

    pub fn invert(&self) -> Option<Affine> {
        let det = self.a * self.d - self.b * self.c;
        if det.abs() < 1e-12 || !det.is_finite() {
            return None;
        }
        let (a, b, c, d) = (self.d / det, -self.b / det, -self.c / det, self.a / det);
        Some(Affine {
            a,
            b,
            c,
            d,
            tx: -(a * self.tx + b * self.ty),
            ty: -(c * self.tx + d * self.ty),
        })
    }

    /// Least-squares similarity transform (rotation, uniform scale, translation) taking `src` to `dst`
    /// (Umeyama without reflection). `None` when the source points are degenerate.
    pub fn similarity(src: &[Point], dst: &[Point]) -> Option<Affine> {
        if src.len() != dst.len() || src.len() < 2 {
            return None;
        }
        let ms = Point::mean(src);
        let md = Point::mean(dst);
        let (mut sxx, mut sxy, mut var) = (0.0f64, 0.0f64, 0.0f64);
        for (s, d) in src.iter().zip(dst) {
            let (sx, sy) = ((s.x - ms.x) as f64, (s.y - ms.y) as f64);
            let (dx, dy) = ((d.x - md.x) as f64, (d.y - md.y) as f64);
            sxx += sx * dx + sy * dy;
            sxy += sx * dy - sy * dx;
            var += sx * sx + sy * sy;
        }
        if var < 1e-9 {
            return None;
        }
        let a = (sxx / var) as f32;
        let b = (sxy / var) as f32;
        // [a -b; b a] is scale × rotation.
        Some(Affine {
            a,
            b: -b,
            c: b,
            d: a,
            tx: md.x - (a * ms.x - b * ms.y),
            ty: md.y - (b * ms.x + a * ms.y),
        })
    }
}
