//! The crops' sampler (`warp_bilinear_rgb`) against the per-pixel walk it replaced, on the crops a
//! capture cuts from a 176×144 frame: the mesh's 192×192, the embedder's 150×150 alignment and an
//! Iris 64×64, rotated. Interleaved rounds in one run, ns per output pixel and the ratio (the machine
//! is shared and noisy: compare the ratios). `cargo bench -p smartid-kernels --bench crops`;
//! `ROUNDS=n`. Under `cargo test --all-targets` it is a one-round smoke run that also checks the two
//! agree byte for byte.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use smartid_kernels::{Border, RgbPlane, SourceMap, warp_bilinear_rgb};

/// The walk as it was (smartid-core's `vision/warp.rs` until 2026-12-07): one output pixel at a
/// time, a floor and a rounding without libm, the four neighbours straight from two rows inside the
/// image and clamped near its edges.
fn per_pixel_walk(src: RgbPlane<'_>, m: &SourceMap, out: &mut [u8], out_w: usize, out_h: usize) {
    let (w, h) = (src.width as i64, src.height as i64);
    for y in 0..out_h {
        for x in 0..out_w {
            let (xf, yf) = (x as f32, y as f32);
            let (sx, sy) = (m.a * xf + m.b * yf + m.tx, m.c * xf + m.d * yf + m.ty);
            if sx < -0.5 || sy < -0.5 || sx > w as f32 - 0.5 || sy > h as f32 - 0.5 {
                continue;
            }
            let (x0, y0) = (floor(sx), floor(sy));
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let taps = if x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1 {
                let stride = src.width * 3;
                let o = y0 as usize * stride + x0 as usize * 3;
                let (t, b) = (
                    &src.pixels[o..o + 6],
                    &src.pixels[o + stride..o + stride + 6],
                );
                [
                    [t[0], t[1], t[2]],
                    [t[3], t[4], t[5]],
                    [b[0], b[1], b[2]],
                    [b[3], b[4], b[5]],
                ]
            } else {
                let px = |x: i64, y: i64| {
                    let o =
                        (y.clamp(0, h - 1) as usize * src.width + x.clamp(0, w - 1) as usize) * 3;
                    [src.pixels[o], src.pixels[o + 1], src.pixels[o + 2]]
                };
                let (x1, y1) = (x0.saturating_add(1), y0.saturating_add(1));
                [px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1)]
            };
            let [p00, p10, p01, p11] = taps;
            for c in 0..3 {
                let top = p00[c] as f32 * (1.0 - fx) + p10[c] as f32 * fx;
                let bot = p01[c] as f32 * (1.0 - fx) + p11[c] as f32 * fx;
                out[(y * out_w + x) * 3 + c] = clamp_u8(top * (1.0 - fy) + bot * fy);
            }
        }
    }
}

fn floor(x: f32) -> f32 {
    if x.abs() < 8_388_608.0 {
        let whole = x as i32 as f32;
        if whole == x {
            x
        } else if whole > x {
            whole - 1.0
        } else {
            whole
        }
    } else {
        x.floor()
    }
}

fn clamp_u8(x: f32) -> u8 {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    if x >= 255.0 {
        return 255;
    }
    let whole = x as u8;
    whole + u8::from(x - whole as f32 >= 0.5)
}

fn main() {
    let (w, h) = (176, 144);
    let pixels: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i * 97 + 13) % 256) as u8)
        .collect();
    let src = RgbPlane {
        pixels: &pixels,
        width: w,
        height: h,
    };
    let rotated = |scale: f32, tx: f32, ty: f32| {
        let (sin, cos) = 0.3f32.sin_cos();
        SourceMap {
            a: scale * cos,
            b: -scale * sin,
            tx,
            c: scale * sin,
            d: scale * cos,
            ty,
        }
    };
    let crops = [
        ("mesh 192x192", rotated(0.35, 60.0, 30.0), 192),
        ("aligned 150x150", rotated(0.4, 55.0, 28.0), 150),
        ("Iris 64x64", rotated(0.2, 70.0, 50.0), 64),
    ];
    let measuring = std::env::args().any(|a| a == "--bench");
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if measuring { 5 } else { 1 });
    let reps = if measuring { 100 } else { 1 };
    println!("crop             walk ns/px  kernel ns/px  kernel/walk");
    for (name, map, n) in crops {
        let (mut walk, mut kernel) = (vec![0u8; n * n * 3], vec![0u8; n * n * 3]);
        let (mut t_walk, mut t_kernel) = (0.0, 0.0);
        for _ in 0..rounds {
            let t = Instant::now();
            for _ in 0..reps {
                per_pixel_walk(src, &map, &mut walk, n, n);
            }
            t_walk += t.elapsed().as_secs_f64();
            let t = Instant::now();
            for _ in 0..reps {
                warp_bilinear_rgb(src, &map, Border::Zero, &mut kernel, n, n).unwrap();
            }
            t_kernel += t.elapsed().as_secs_f64();
        }
        assert!(walk == kernel, "{name}: the kernel and the walk disagree");
        let per_px = |t: f64| t * 1e9 / (rounds * reps * n * n) as f64;
        println!(
            "{name:<16} {:>11.1} {:>13.1} {:>12.2}",
            per_px(t_walk),
            per_px(t_kernel),
            t_kernel / t_walk
        );
    }
}
