//! Cold start, per model: what loading an ONNX file costs phase by phase (parse, type and declutter,
//! optimise, plan) against loading the same graph from an NNEF archive written once beforehand (the
//! decluttered graph, as a build step or a first run would cache it), measured interleaved in one run.
//! Each NNEF model is also run against its ONNX original on the same input: a cache must give the same
//! answers. `cargo bench -p smartid-core --bench model_load`; `ROUNDS=n`; `SMARTID_BENCH_MANIFESTS`.
//!
//! Not a shipped code path: the SDK loads ONNX (docs/performance.md says why, with these figures).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use smartid_core::manifest::{Manifest, ModelSpec};
use tract_onnx::prelude::*;

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifests: Vec<PathBuf> = match std::env::var("SMARTID_BENCH_MANIFESTS") {
        Ok(list) => list.split(',').map(|p| repo.join(p)).collect(),
        Err(_) => vec![repo.join("models/manifest-antispoof.toml")],
    };
    // `cargo bench` passes --bench; under `cargo test --all-targets` one round checks it still works.
    let measuring = std::env::args().any(|a| a == "--bench");
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if measuring { 5 } else { 1 });
    let mut models: Vec<(String, ModelSpec, Vec<u8>)> = Vec::new();
    for path in &manifests {
        let manifest = Manifest::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
        let dir = path.parent().unwrap_or(Path::new("."));
        for (role, spec) in manifest.models() {
            if models.iter().any(|(_, s, _)| s.id == spec.id) {
                continue;
            }
            let bytes = std::fs::read(dir.join(&spec.file)).unwrap();
            models.push((role.to_string(), spec.clone(), bytes));
        }
    }
    // The cache: each decluttered graph written once as NNEF (tract-core ops + the ONNX extension).
    let nnef = tract_nnef::nnef().with_onnx();
    let archives: Vec<Vec<u8>> = models
        .iter()
        .map(|(_, spec, bytes)| {
            let typed = typed(spec, bytes).into_decluttered().unwrap();
            nnef.write_to_tar_with_config(&typed, Vec::new(), false, true)
                .unwrap()
        })
        .collect();

    let mut onnx_phases = vec![[Duration::ZERO; 4]; models.len()];
    let mut nnef_phases = vec![[Duration::ZERO; 3]; models.len()];
    for _ in 0..rounds {
        for (i, (_, spec, bytes)) in models.iter().enumerate() {
            let t = Instant::now();
            let parsed = tract_onnx::onnx()
                .model_for_read(&mut Cursor::new(bytes))
                .unwrap();
            let t1 = Instant::now();
            let decluttered = parsed
                .with_input_fact(0, f32::fact(spec.input.shape).into())
                .unwrap()
                .into_typed()
                .unwrap()
                .into_decluttered()
                .unwrap();
            let t2 = Instant::now();
            let optimized = decluttered.into_optimized().unwrap();
            let t3 = Instant::now();
            let plan = optimized.into_runnable().unwrap();
            let t4 = Instant::now();
            drop(plan);
            for (acc, d) in onnx_phases[i]
                .iter_mut()
                .zip([t1 - t, t2 - t1, t3 - t2, t4 - t3])
            {
                *acc += d;
            }

            let t = Instant::now();
            let read = nnef.model_for_read(&mut Cursor::new(&archives[i])).unwrap();
            let t1 = Instant::now();
            let optimized = read.into_optimized().unwrap();
            let t2 = Instant::now();
            let plan = optimized.into_runnable().unwrap();
            let t3 = Instant::now();
            drop(plan);
            for (acc, d) in nnef_phases[i].iter_mut().zip([t1 - t, t2 - t1, t3 - t2]) {
                *acc += d;
            }
        }
    }

    let ms = |d: Duration| d.as_secs_f64() * 1e3 / rounds as f64;
    println!(
        "model loading, ONNX vs an NNEF cache of the decluttered graph ({rounds} rounds, interleaved; ms per load)"
    );
    println!(
        "| model | onnx MB | parse | type + declutter | optimise | plan | onnx total | nnef MB | nnef read | optimise | plan | nnef total | nnef / onnx | max abs diff |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let (mut sum_onnx, mut sum_nnef) = (0.0, 0.0);
    for (i, (role, spec, bytes)) in models.iter().enumerate() {
        let diff = max_abs_diff(spec, bytes, &nnef, &archives[i]);
        let o = onnx_phases[i].iter().copied().map(ms).collect::<Vec<_>>();
        let n = nnef_phases[i].iter().copied().map(ms).collect::<Vec<_>>();
        let (to, tn) = (o.iter().sum::<f64>(), n.iter().sum::<f64>());
        sum_onnx += to;
        sum_nnef += tn;
        println!(
            "| {role} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {to:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {tn:.1} | {:.2}x | {diff:.1e} |",
            bytes.len() as f64 / 1e6,
            o[0],
            o[1],
            o[2],
            o[3],
            archives[i].len() as f64 / 1e6,
            n[0],
            n[1],
            n[2],
            tn / to,
        );
        assert!(
            diff < 1e-3,
            "{role}: the NNEF copy answers differently ({diff})"
        );
    }
    println!(
        "| all | | | | | | {sum_onnx:.1} | | | | | {sum_nnef:.1} | {:.2}x | |",
        sum_nnef / sum_onnx
    );
}

fn typed(spec: &ModelSpec, bytes: &[u8]) -> TypedModel {
    tract_onnx::onnx()
        .model_for_read(&mut Cursor::new(bytes))
        .unwrap()
        .with_input_fact(0, f32::fact(spec.input.shape).into())
        .unwrap()
        .into_typed()
        .unwrap()
}

/// Both plans on the same deterministic input: the largest difference over every output.
fn max_abs_diff(
    spec: &ModelSpec,
    bytes: &[u8],
    nnef: &tract_nnef::framework::Nnef,
    archive: &[u8],
) -> f32 {
    let onnx = typed(spec, bytes)
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let cached = nnef
        .model_for_read(&mut Cursor::new(archive))
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let n: usize = spec.input.shape.iter().product();
    let data: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 255) as f32 / 127.5 - 1.0)
        .collect();
    let input: Tensor = tract_ndarray::ArrayD::from_shape_vec(spec.input.shape.to_vec(), data)
        .unwrap()
        .into();
    let a = onnx.run(tvec!(input.clone().into())).unwrap();
    let b = cached.run(tvec!(input.into())).unwrap();
    a.iter()
        .zip(b.iter())
        .flat_map(|(x, y)| {
            let x: Vec<f32> = x
                .to_plain_array_view::<f32>()
                .unwrap()
                .iter()
                .copied()
                .collect();
            let y: Vec<f32> = y
                .to_plain_array_view::<f32>()
                .unwrap()
                .iter()
                .copied()
                .collect();
            x.into_iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f32::max)
}
