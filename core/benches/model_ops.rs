//! Where each model's time goes inside tract: every node of the optimised plan timed as it runs,
//! summed per operator, on a fixed input; tract's own ONNX parse and optimiser and the SDK's
//! (`vision/frontend.rs`: PRelu and 2×2 max pools run by the SDK, no `ChangeAxes`) side by side,
//! interleaved. Run before deciding what to rewrite or patch.
//! `cargo bench -p smartid-core --bench model_ops`; `ROUNDS=n`; `SMARTID_BENCH_MODELS=mesh,eyes`
//! (roles); `TOP=n` operators per table (8).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use smartid_core::manifest::Manifest;
use tract_onnx::prelude::*;

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest_path = repo.join("models/manifest-antispoof.toml");
    let measuring = std::env::args().any(|a| a == "--bench");
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if measuring { 50 } else { 1 });
    // How many operators each table lists, the most expensive first.
    let top: usize = std::env::var("TOP")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(8);
    let wanted: Option<Vec<String>> = std::env::var("SMARTID_BENCH_MODELS")
        .ok()
        .map(|l| l.split(',').map(str::to_string).collect());
    let manifest = Manifest::parse(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    for (role, spec) in manifest.models() {
        if wanted
            .as_ref()
            .is_some_and(|w| !w.iter().any(|r| r == role))
        {
            continue;
        }
        let bytes = std::fs::read(dir.join(&spec.file)).unwrap();
        let parse = |onnx: tract_onnx::Onnx| {
            onnx.model_for_read(&mut Cursor::new(&bytes))
                .unwrap()
                .with_input_fact(0, f32::fact(spec.input.shape).into())
                .unwrap()
        };
        let tracts = parse(tract_onnx::onnx()).into_optimized().unwrap();
        let sdks =
            smartid_core::vision::sdk_optimize(parse(smartid_core::vision::sdk_onnx()), None)
                .unwrap();
        let ways = [
            ("tract", tracts.into_runnable().unwrap()),
            ("sdk", sdks.into_runnable().unwrap()),
        ];
        // A deterministic, image-like input in [0, 1].
        let len: usize = spec.input.shape.iter().product();
        let data: Vec<f32> = (0..len)
            .map(|i| ((i * 7919) % 256) as f32 / 255.0)
            .collect();
        let input = Tensor::from_shape(&spec.input.shape, &data).unwrap();
        let mut profiles: Vec<Profile> = ways.iter().map(|_| Profile::default()).collect();
        let mut states: Vec<_> = ways.iter().map(|(_, p)| p.spawn().unwrap()).collect();
        for state in &mut states {
            state.run(tvec!(input.clone().into())).unwrap(); // warm-up
        }
        for _ in 0..rounds {
            for (state, profile) in states.iter_mut().zip(&mut profiles) {
                profile.run(state, &input);
            }
        }
        let per_run = |d: Duration| d.as_secs_f64() * 1e3 / rounds as f64;
        println!(
            "\n{role} ({}), {rounds} interleaved runs each: tract {:.2} ms, sdk {:.2} ms per run (sdk / tract {:.2}×)",
            spec.id,
            per_run(profiles[0].total),
            per_run(profiles[1].total),
            profiles[1].total.as_secs_f64() / profiles[0].total.as_secs_f64()
        );
        for ((way, _), profile) in ways.iter().zip(&profiles) {
            let mut rows: Vec<_> = profile.per_op.iter().collect();
            rows.sort_by_key(|(_, (time, _))| std::cmp::Reverse(*time));
            println!("\n| {way}: operator | nodes | ms per run | share |");
            println!("|---|---|---|---|");
            for (op, (time, count)) in rows.iter().take(top) {
                println!(
                    "| {op} | {} | {:.3} | {:.0} % |",
                    count / rounds,
                    per_run(*time),
                    100.0 * time.as_secs_f64() / profile.total.as_secs_f64()
                );
            }
        }
    }
}

/// Time per operator (summed over its nodes) and per whole run.
#[derive(Default)]
struct Profile {
    per_op: HashMap<String, (Duration, usize)>,
    total: Duration,
}

impl Profile {
    fn run(&mut self, state: &mut TypedSimpleState, input: &Tensor) {
        let per_op = &mut self.per_op;
        let start = Instant::now();
        state
            .run_plan_with_eval(
                tvec!(input.clone().into()),
                |ctx, op_state, node, inputs| {
                    let t = Instant::now();
                    let out = tract_onnx::tract_core::plan::eval(ctx, op_state, node, inputs);
                    let entry = per_op.entry(op_label(node)).or_default();
                    entry.0 += t.elapsed();
                    entry.1 += 1;
                    out
                },
            )
            .unwrap();
        self.total += start.elapsed();
    }
}

/// The operator's name, with the kernel geometry for convolutions (the usual suspects).
fn op_label(node: &TypedNode) -> String {
    let op = node.op();
    let name = op.name().to_string();
    if name.contains("Conv") || name.contains("Pool") {
        let shape = node.outputs[0]
            .fact
            .shape
            .as_concrete()
            .map(|s| format!("{s:?}"))
            .unwrap_or_default();
        format!("{name} {shape}")
    } else {
        name
    }
}
