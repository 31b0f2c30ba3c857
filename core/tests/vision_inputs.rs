//! Every pixel format and rotation gives the same face; bad input gives a typed error, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "capture")]

mod common;

use std::collections::HashMap;

use common::*;
use smartid_core::frame::rgb_to_yuv;
use smartid_core::manifest::ModelSource;
use smartid_core::{Engine, ErrorCode, Frame, PixelFormat, RgbImage, Rotation};

/// Encodes an upright RGB image as `format`, stored rotated so that `rotation` turns it upright again.
fn encode(img: &RgbImage, format: PixelFormat, rotation: Rotation) -> (Vec<u8>, u32, u32) {
    // Rotate the upright image counter-clockwise by `rotation` (what a sensor mounted that way gives).
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (sw, sh) = match rotation {
        Rotation::R0 | Rotation::R180 => (w, h),
        _ => (h, w),
    };
    let mut rgb = vec![0u8; sw * sh * 3];
    for sy in 0..sh {
        for sx in 0..sw {
            let (ux, uy) = match rotation {
                Rotation::R0 => (sx, sy),
                Rotation::R90 => (sh - 1 - sy, sx),
                Rotation::R180 => (sw - 1 - sx, sh - 1 - sy),
                Rotation::R270 => (sy, sw - 1 - sx),
            };
            let p = img.get_clamped(ux as i64, uy as i64);
            rgb[(sy * sw + sx) * 3..][..3].copy_from_slice(&p);
        }
    }
    let px = |x: usize, y: usize| {
        let o = (y * sw + x) * 3;
        [rgb[o], rgb[o + 1], rgb[o + 2]]
    };
    let data = match format {
        PixelFormat::Rgb8 => rgb.clone(),
        PixelFormat::Rgba8 => rgb
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        PixelFormat::Bgra8 => rgb
            .chunks(3)
            .flat_map(|p| [p[2], p[1], p[0], 255])
            .collect(),
        PixelFormat::Nv21 | PixelFormat::Nv12 | PixelFormat::I420 => {
            let mut y_plane = Vec::with_capacity(sw * sh);
            for y in 0..sh {
                for x in 0..sw {
                    let [r, g, b] = px(x, y);
                    y_plane.push(rgb_to_yuv(r, g, b)[0]);
                }
            }
            let (mut u, mut v) = (vec![], vec![]);
            for y in (0..sh).step_by(2) {
                for x in (0..sw).step_by(2) {
                    let (mut su, mut sv) = (0u32, 0u32);
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let [r, g, b] = px(x + dx, y + dy);
                        let yuv = rgb_to_yuv(r, g, b);
                        su += yuv[1] as u32;
                        sv += yuv[2] as u32;
                    }
                    u.push(((su + 2) / 4) as u8);
                    v.push(((sv + 2) / 4) as u8);
                }
            }
            let mut out = y_plane;
            match format {
                PixelFormat::Nv12 => u.iter().zip(&v).for_each(|(a, b)| out.extend([*a, *b])),
                PixelFormat::Nv21 => u.iter().zip(&v).for_each(|(a, b)| out.extend([*b, *a])),
                _ => {
                    out.extend(&u);
                    out.extend(&v);
                }
            }
            out
        }
    };
    (data, sw as u32, sh as u32)
}

#[test]
fn every_format_and_rotation_finds_the_same_face() {
    let engine = engine();
    // Even sides so every YUV layout applies.
    let base = still("astronaut");
    let want = engine.detect_one(&base).unwrap();
    let formats = [
        PixelFormat::Rgb8,
        PixelFormat::Rgba8,
        PixelFormat::Bgra8,
        PixelFormat::Nv21,
        PixelFormat::Nv12,
        PixelFormat::I420,
    ];
    let rotations = [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270];
    let tol = 0.03 * want.bbox.width();
    for format in formats {
        for rotation in rotations {
            let (data, w, h) = encode(&base, format, rotation);
            let frame = Frame::packed(&data, w, h, format).with_rotation(rotation);
            let rgb = frame.to_rgb().unwrap();
            assert_eq!((rgb.width(), rgb.height()), (base.width(), base.height()));
            let got = engine.detect_one(&rgb).unwrap();
            for (g, e) in got.keypoints.iter().zip(&want.keypoints) {
                assert!(
                    (g.x - e.x).abs() < tol && (g.y - e.y).abs() < tol,
                    "{format:?} {rotation:?}: keypoint moved from ({:.1},{:.1}) to ({:.1},{:.1})",
                    e.x,
                    e.y,
                    g.x,
                    g.y
                );
            }
        }
    }
}

#[test]
fn padded_strides_are_honoured() {
    let base = still("astronaut");
    let (data, w, h) = encode(&base, PixelFormat::Nv21, Rotation::R0);
    // Re-pack with 64 bytes of padding per row in both planes.
    let (wu, hu) = (w as usize, h as usize);
    let stride = wu + 64;
    let mut padded = vec![0u8; stride * hu + stride * hu / 2];
    for y in 0..hu {
        padded[y * stride..y * stride + wu].copy_from_slice(&data[y * wu..(y + 1) * wu]);
    }
    for y in 0..hu / 2 {
        let src = wu * hu + y * wu;
        let dst = stride * hu + y * stride;
        padded[dst..dst + wu].copy_from_slice(&data[src..src + wu]);
    }
    let mut frame = Frame::packed(&padded, w, h, PixelFormat::Nv21);
    frame.layout.row_stride = stride as u32;
    frame.layout.chroma_stride = stride as u32;
    let a = frame.to_rgb().unwrap();
    let b = Frame::packed(&data, w, h, PixelFormat::Nv21)
        .to_rgb()
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn malformed_frames_get_typed_errors() {
    let buf = vec![0u8; 64 * 48 * 3];
    let code = |f: Frame| f.to_rgb().unwrap_err().code();
    assert_eq!(
        code(Frame::packed(&buf, 0, 48, PixelFormat::Rgb8)),
        ErrorCode::FrameSize
    );
    assert_eq!(
        code(Frame::packed(&buf, 64, 0, PixelFormat::Rgb8)),
        ErrorCode::FrameSize
    );
    assert_eq!(
        code(Frame::packed(&buf, 63, 48, PixelFormat::Nv21)),
        ErrorCode::FrameSize
    );
    assert_eq!(
        code(Frame::packed(&buf, 64, 47, PixelFormat::I420)),
        ErrorCode::FrameSize
    );
    assert_eq!(
        code(Frame::packed(&buf, 100_000, 2, PixelFormat::Rgb8)),
        ErrorCode::FrameSize
    );
    assert_eq!(
        code(Frame::packed(&buf[..100], 64, 48, PixelFormat::Rgb8)),
        ErrorCode::FrameBuffer
    );
    assert_eq!(
        code(Frame::packed(&buf, 64, 48, PixelFormat::Bgra8)),
        ErrorCode::FrameBuffer
    );
    let mut short_stride = Frame::packed(&buf, 64, 48, PixelFormat::Rgb8);
    short_stride.layout.row_stride = 100;
    assert_eq!(code(short_stride), ErrorCode::FrameBuffer);
    let mut big_stride = Frame::packed(&buf, 64, 48, PixelFormat::Rgb8);
    big_stride.layout.row_stride = u32::MAX / 2;
    assert!(big_stride.to_rgb().is_err());
    assert_eq!(
        PixelFormat::parse("yuyv").unwrap_err().code(),
        ErrorCode::FrameFormat
    );
    assert_eq!(
        Rotation::from_degrees(45).unwrap_err().code(),
        ErrorCode::FrameFormat
    );
    assert!(RgbImage::from_raw(2, 2, vec![0; 11]).is_err());
}

fn model_bytes() -> (String, HashMap<String, Vec<u8>>) {
    let dir = manifest_path().parent().unwrap().to_path_buf();
    let manifest = manifest_text();
    let m = smartid_core::manifest::Manifest::parse(&manifest).unwrap();
    let files = m
        .models()
        .iter()
        .map(|(_, s)| (s.file.clone(), std::fs::read(dir.join(&s.file)).unwrap()))
        .collect();
    (manifest, files)
}

#[test]
fn models_load_from_bytes() {
    let (manifest, files) = model_bytes();
    let engine = Engine::load(&manifest, &files).unwrap();
    assert_eq!(engine.detect(&still("astronaut")).unwrap().len(), 1);
}

#[test]
fn corrupt_models_and_manifests_are_rejected() {
    let (manifest, files) = model_bytes();
    let file = "mediapipe/iris_landmark.onnx";
    // `ready`: the embedder's errors arrive from its background load, with the same codes.
    let code = |m: &str, src: &dyn ModelSource| {
        Engine::load(m, src)
            .and_then(|e| e.ready())
            .unwrap_err()
            .code()
    };

    // One flipped byte: checksum.
    let mut flipped = files.clone();
    flipped.get_mut(file).unwrap()[1000] ^= 1;
    assert_eq!(code(&manifest, &flipped), ErrorCode::ModelChecksum);

    // Truncated file whose checksum the manifest was edited to accept: the parser must refuse it.
    let mut truncated = files.clone();
    let cut: Vec<u8> = files[file][..files[file].len() / 2].to_vec();
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&cut))
    };
    truncated.insert(file.into(), cut);
    let old = "66ef9cdb7f3f50a3f84b556738a191ffd189e91505383ed6315c2f02d6095ee8";
    assert_eq!(
        code(&manifest.replace(old, &digest), &truncated),
        ErrorCode::ModelLoad
    );

    // The mesh and Iris both truncated: they are parsed on two threads, and the error names the mesh,
    // the first of detector, mesh and Iris to fail, whichever thread ends first.
    let (mut both, mut both_manifest) = (truncated.clone(), manifest.replace(old, &digest));
    let mesh_file = "mediapipe/face_landmark.onnx";
    let mesh_cut: Vec<u8> = files[mesh_file][..files[mesh_file].len() / 3].to_vec();
    let mesh_digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&mesh_cut))
    };
    let mesh_spec = smartid_core::manifest::Manifest::parse(&manifest)
        .unwrap()
        .mesh
        .model;
    both_manifest = both_manifest.replace(&mesh_spec.sha256, &mesh_digest);
    both.insert(mesh_file.into(), mesh_cut);
    for _ in 0..3 {
        match Engine::load(&both_manifest, &both) {
            Err(smartid_core::Error::ModelLoad { role, .. }) => assert_eq!(role, "mesh"),
            other => panic!("{other:?}"),
        }
    }

    // Missing file.
    let mut missing = files.clone();
    missing.remove(file);
    assert_eq!(code(&manifest, &missing), ErrorCode::ModelMissing);

    // Manifest errors.
    assert_eq!(code("format = 2", &files), ErrorCode::ManifestInvalid);
    let invalid = [
        // A format-1 manifest (eye classifier, cosine template) is not silently read as format 2.
        ("format = 2", "format = 1"),
        ("format = 2", "format = 9"),
        // Outputs the models do not have.
        (
            "contour_output = \"output_eyes_contours_and_brows\"",
            "contour_output = \"nope\"",
        ),
        ("output = \"embedding\"", "output = \"nope\""),
        // Eye judgement that could never close, or an index beyond the contour.
        ("closed_below = 0.78", "closed_below = 0.95"),
        ("corners = [0, 8]", "corners = [0, 71]"),
        // An alignment landmark beyond the mesh, an unknown metric or sampling rule.
        ("landmarks = [2] }", "landmarks = [468] }"),
        ("metric = \"euclidean\"", "metric = \"manhattan\""),
        ("sampling = \"dlib_chip\"", "sampling = \"nearest\""),
        // A dimension the template format cannot carry.
        ("dim = 128", "dim = 5000"),
        // A kernel size that is not a count of weights.
        (
            "fp16_conv_kernels_from = 100000",
            "fp16_conv_kernels_from = -1",
        ),
        // Non-finite or unbounded eye settings.
        ("crop_side = 2.3", "crop_side = inf"),
        ("baseline_prior = 0.30", "baseline_prior = nan"),
        ("baseline_frames = 30", "baseline_frames = 100000"),
    ];
    // The anti-spoof section exists in one set only: check it on that manifest, whichever is under test.
    let antispoof = std::fs::read_to_string(models_dir().join("manifest-antispoof.toml")).unwrap();
    for (from, to) in [
        // 0 would call every face live; above 1 nothing ever is.
        ("live_threshold = 0.5", "live_threshold = 0.0"),
        ("live_threshold = 0.5", "live_threshold = 1.5"),
        ("box_shift_y = -0.11", "box_shift_y = nan"),
    ] {
        assert!(antispoof.contains(from), "{from}");
        let m = antispoof.replace(from, to);
        let err = smartid_core::manifest::Manifest::parse(&m).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ManifestInvalid, "{to}");
    }
    for (from, to) in invalid {
        assert!(manifest.contains(from), "{from}");
        assert_eq!(
            code(&manifest.replace(from, to), &files),
            ErrorCode::ManifestInvalid,
            "{to}"
        );
    }
    assert_eq!(
        code(&manifest.replace("nose_tip = 1", "nose_tip = 9999"), &files),
        ErrorCode::ManifestInvalid
    );
    assert_eq!(
        code(
            &manifest.replace("mediapipe/face_landmark.onnx", "../../etc/passwd"),
            &files
        ),
        ErrorCode::ManifestInvalid
    );
}

#[test]
fn no_face_two_faces_and_partial_faces() {
    let engine = engine();
    // Flat grey and a smooth gradient: nothing face-like.
    let grey = RgbImage::from_raw(320, 240, vec![128; 320 * 240 * 3]).unwrap();
    assert_eq!(
        engine.analyze(&grey, false).unwrap_err().code(),
        ErrorCode::NoFace
    );
    let gradient: Vec<u8> = (0..320 * 240)
        .flat_map(|i| [(i % 320) as u8, (i / 320) as u8, 90])
        .collect();
    let gradient = RgbImage::from_raw(320, 240, gradient).unwrap();
    assert_eq!(
        engine.analyze(&gradient, false).unwrap_err().code(),
        ErrorCode::NoFace
    );

    // Two people side by side: each face cropped from its photo, 160x160, next to each other.
    let crop_face = |img: &RgbImage| {
        let d = engine.detect_one(img).unwrap();
        let c = d.bbox.centre();
        let side = d.bbox.width().max(d.bbox.height()) * 1.8;
        let mut out = Vec::with_capacity(160 * 160 * 3);
        for y in 0..160 {
            for x in 0..160 {
                let sx = c.x - side / 2.0 + (x as f32 + 0.5) * side / 160.0;
                let sy = c.y - side / 2.0 + (y as f32 + 0.5) * side / 160.0;
                out.extend(img.get_clamped(sx as i64, sy as i64));
            }
        }
        out
    };
    let (a, b) = (crop_face(&still("astronaut")), crop_face(&still("biden")));
    let mut data = Vec::with_capacity(320 * 160 * 3);
    for y in 0..160 {
        data.extend_from_slice(&a[y * 480..(y + 1) * 480]);
        data.extend_from_slice(&b[y * 480..(y + 1) * 480]);
    }
    let pair = RgbImage::from_raw(320, 160, data).unwrap();
    let err = engine.analyze(&pair, false).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MultipleFaces);
    assert_eq!(err.to_string(), "2 faces found; exactly one is needed");

    // Crops of obama.jpg that cut the face.
    for name in ["obama_partial_face", "obama_partial_face2"] {
        let err = engine.analyze(&still(name), false).unwrap_err();
        assert_eq!(err.code(), ErrorCode::PartialFace, "{name}: {err}");
        println!("{name}: {err}");
    }
}
