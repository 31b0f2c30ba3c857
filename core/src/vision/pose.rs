//! Head pose from the mesh's own 3-D landmarks. Measured against the pose model on the carphone frames
//! (tests/vision_real.rs), this tracks it closely at no extra inference cost, so no pose model is run.

use serde::{Deserialize, Serialize};

#[cfg(feature = "capture")]
use crate::manifest::MeshLandmarks;

#[cfg(feature = "capture")]
use super::mesh::MeshResult;

/// Degrees. Yaw > 0: the subject turns to their left (face moves to the image right); pitch > 0: chin up;
/// roll > 0: head tilts clockwise in the image.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct HeadPose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
}

#[cfg(feature = "capture")]
fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
#[cfg(feature = "capture")]
fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
#[cfg(feature = "capture")]
fn scale(a: [f32; 3], s: f32) -> [f32; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}
#[cfg(feature = "capture")]
fn unit(a: [f32; 3]) -> [f32; 3] {
    let n = dot(a, a).sqrt();
    if n < 1e-9 {
        [0.0, 0.0, 0.0]
    } else {
        scale(a, 1.0 / n)
    }
}

#[cfg(feature = "capture")]
/// Head axes from cheek-to-cheek (x) and forehead-to-chin (y), orthonormalised.
pub fn head_pose(mesh: &MeshResult, lm: &MeshLandmarks) -> HeadPose {
    let x = unit(sub(mesh.p3(lm.left_cheek), mesh.p3(lm.right_cheek)));
    let y_raw = sub(mesh.p3(lm.chin), mesh.p3(lm.forehead));
    let y = unit(sub(y_raw, scale(x, dot(y_raw, x))));
    let deg = 180.0 / std::f32::consts::PI;
    HeadPose {
        yaw: -x[2].clamp(-1.0, 1.0).asin() * deg,
        pitch: -y[2].clamp(-1.0, 1.0).asin() * deg,
        roll: x[1].atan2(x[0]) * deg,
    }
}
