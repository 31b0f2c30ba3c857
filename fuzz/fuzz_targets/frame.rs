//! Frames with arbitrary layout and contents: conversion either succeeds or returns a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartid_core::{Frame, PixelFormat, Rotation};

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let w = u16::from_le_bytes([data[0], data[1]]) as u32 % 300;
    let h = u16::from_le_bytes([data[2], data[3]]) as u32 % 300;
    let formats = [PixelFormat::Rgb8, PixelFormat::Rgba8, PixelFormat::Bgra8, PixelFormat::Nv21, PixelFormat::Nv12, PixelFormat::I420];
    let format = formats[data[4] as usize % formats.len()];
    let rotation = [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270][data[5] as usize % 4];
    let pad = data[6] as u32;
    let body = &data[8..];
    let mut frame = Frame::packed(body, w, h, format).with_rotation(rotation);
    frame.layout.row_stride = frame.layout.row_stride.saturating_add(pad);
    frame.layout.chroma_stride = frame.layout.chroma_stride.saturating_add(pad / 2);
    if data[7] & 1 == 1 {
        frame.layout.row_stride = u32::MAX / (1 + data[7] as u32);
    }
    if let Ok(rgb) = frame.to_rgb() {
        assert_eq!(rgb.as_bytes().len(), w as usize * h as usize * 3);
    }
});
