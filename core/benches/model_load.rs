//! Cold start, per model: what loading an ONNX file costs phase by phase (parse, type and declutter,
//! optimise, plan) three ways, interleaved in one run: the file as tract reads it (tract folds int8
//! weights itself); the SDK's way (`OnnxModel::load`: int8 weights unfolded to fp32 in the graph
//! first, `PRelu` and 2×2 max pools as the SDK's operators, declutter without `ChangeAxes`); and the
//! same graph from an NNEF archive written once beforehand (the decluttered graph, as a build step or
//! a first run would cache it). Both alternatives are run against tract's plan on the same input:
//! they must give the same answers (the SDK's way: to the bit).
//! `cargo bench -p smartid-core --bench model_load`; `ROUNDS=n`; `SMARTID_BENCH_MANIFESTS`.
//!
//! The NNEF cache is not a shipped code path (docs/performance.md says why, with these figures).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

use smartid_core::manifest::{Manifest, ModelSpec};
use tract_onnx::prelude::*;

fn main() {
    let manifests = common::manifests(&["models/manifest-antispoof.toml"]);
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
            let parsed = tract_onnx::onnx()
                .model_for_read(&mut Cursor::new(bytes))
                .unwrap();
            let typed = typed(spec, parsed).into_decluttered().unwrap();
            nnef.write_to_tar_with_config(&typed, Vec::new(), false, true)
                .unwrap()
        })
        .collect();

    let mut onnx_phases = vec![[Duration::ZERO; 4]; models.len()];
    let mut sdk_phases = vec![[Duration::ZERO; 4]; models.len()];
    let mut nnef_phases = vec![[Duration::ZERO; 3]; models.len()];
    for _ in 0..rounds {
        for (i, (_, spec, bytes)) in models.iter().enumerate() {
            let tract_parse = || {
                tract_onnx::onnx()
                    .model_for_read(&mut Cursor::new(bytes))
                    .unwrap()
            };
            add(&mut onnx_phases[i], onnx_load(spec, tract_parse, false));
            add(
                &mut sdk_phases[i],
                onnx_load(spec, || sdk_parse(bytes), true),
            );

            let t = Instant::now();
            let read = nnef.model_for_read(&mut Cursor::new(&archives[i])).unwrap();
            let t1 = Instant::now();
            let optimized = read.into_optimized().unwrap();
            let t2 = Instant::now();
            let plan = optimized.into_runnable().unwrap();
            let t3 = Instant::now();
            drop(plan);
            add(&mut nnef_phases[i], [t1 - t, t2 - t1, t3 - t2]);
        }
    }

    let ms = |d: Duration| d.as_secs_f64() * 1e3 / rounds as f64;
    println!(
        "model loading: ONNX as tract folds it, the SDK's (int8 weights unfolded first), an NNEF cache \
         ({rounds} rounds, interleaved; ms per load)"
    );
    println!(
        "| model | onnx MB | tract: parse / type + declutter / optimise / plan | **tract total** | sdk: unfold + parse / type + declutter / optimise / plan | **sdk total** | sdk / tract | nnef MB | nnef: read / optimise / plan | **nnef total** | nnef / tract | nnef max abs diff |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let (mut sum_onnx, mut sum_sdk, mut sum_nnef) = (0.0, 0.0, 0.0);
    let phases = |p: &[f64]| {
        p.iter()
            .map(|v| format!("{v:.1}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    for (i, (role, spec, bytes)) in models.iter().enumerate() {
        let reference = plan(typed(
            spec,
            tract_onnx::onnx()
                .model_for_read(&mut Cursor::new(bytes))
                .unwrap(),
        ));
        // fp32 kernels whatever the manifest says: this compares the SDK's parse and optimiser with
        // tract's, to the bit.
        let sdk = smartid_core::vision::sdk_optimize(
            sdk_parse(bytes)
                .with_input_fact(0, f32::fact(spec.input.shape).into())
                .unwrap(),
            None,
        )
        .unwrap()
        .into_runnable()
        .unwrap();
        let sdk_diff = max_abs_diff(spec, &reference, &sdk);
        assert_eq!(
            sdk_diff, 0.0,
            "{role}: the SDK's parse and optimiser changed the answers"
        );
        let cached = nnef
            .model_for_read(&mut Cursor::new(&archives[i]))
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let diff = max_abs_diff(spec, &reference, &cached);
        let o = onnx_phases[i].iter().copied().map(ms).collect::<Vec<_>>();
        let d = sdk_phases[i].iter().copied().map(ms).collect::<Vec<_>>();
        let n = nnef_phases[i].iter().copied().map(ms).collect::<Vec<_>>();
        let (to, td, tn) = (
            o.iter().sum::<f64>(),
            d.iter().sum::<f64>(),
            n.iter().sum::<f64>(),
        );
        sum_onnx += to;
        sum_sdk += td;
        sum_nnef += tn;
        println!(
            "| {role} | {:.1} | {} | {to:.1} | {} | {td:.1} | {:.2}x | {:.1} | {} | {tn:.1} | {:.2}x | {diff:.1e} |",
            bytes.len() as f64 / 1e6,
            phases(&o),
            phases(&d),
            td / to,
            archives[i].len() as f64 / 1e6,
            phases(&n),
            tn / to,
        );
        assert!(
            diff < 1e-3,
            "{role}: the NNEF copy answers differently ({diff})"
        );
    }
    println!(
        "| all | | | {sum_onnx:.1} | | {sum_sdk:.1} | {:.2}x | | | {sum_nnef:.1} | {:.2}x | |",
        sum_sdk / sum_onnx,
        sum_nnef / sum_onnx
    );
}

/// One ONNX load, phase by phase: parse (as given), type + declutter (tract's passes, or the SDK's
/// without `ChangeAxes`), optimise, plan.
fn onnx_load(
    spec: &ModelSpec,
    parse: impl FnOnce() -> InferenceModel,
    sdk_declutter: bool,
) -> [Duration; 4] {
    let t = Instant::now();
    let parsed = parse();
    let t1 = Instant::now();
    let mut model = typed(spec, parsed);
    if sdk_declutter {
        smartid_core::vision::sdk_declutter(&mut model).unwrap();
    } else {
        model.declutter().unwrap();
    }
    let t2 = Instant::now();
    model.optimize().unwrap();
    let t3 = Instant::now();
    let plan = model.into_runnable().unwrap();
    let t4 = Instant::now();
    drop(plan);
    [t1 - t, t2 - t1, t3 - t2, t4 - t3]
}

fn add<const N: usize>(acc: &mut [Duration; N], phases: [Duration; N]) {
    for (a, d) in acc.iter_mut().zip(phases) {
        *a += d;
    }
}

/// The SDK's parse: the protobuf, its int8 weights unfolded to fp32, then tract's model.
fn sdk_parse(bytes: &[u8]) -> InferenceModel {
    let onnx = smartid_core::vision::sdk_onnx();
    let mut proto = onnx.proto_model_for_read(&mut Cursor::new(bytes)).unwrap();
    let mut model = onnx.model_for_proto_model(&proto).unwrap();
    // fp32 throughout: this compares the SDK's parse and optimiser with tract's, to the bit.
    smartid_core::vision::unfold_int8_weights(proto.graph.as_mut().unwrap(), &mut model, None)
        .unwrap();
    model
}

fn plan(typed: TypedModel) -> Arc<TypedRunnableModel> {
    typed.into_optimized().unwrap().into_runnable().unwrap()
}

fn typed(spec: &ModelSpec, parsed: InferenceModel) -> TypedModel {
    parsed
        .with_input_fact(0, f32::fact(spec.input.shape).into())
        .unwrap()
        .into_typed()
        .unwrap()
}

/// Both plans on the same deterministic input: the largest difference over every output.
fn max_abs_diff(
    spec: &ModelSpec,
    onnx: &Arc<TypedRunnableModel>,
    cached: &Arc<TypedRunnableModel>,
) -> f32 {
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
