//! Memory of a model load: the heap bytes live after each phase of loading each model the SDK's way
//! (the file read, decoded, parsed, its int8 weights unfolded, typed, decluttered, optimised,
//! planned) and the most live at any moment during it, and what one inference holds above the
//! loaded model; then the same for a whole `Engine` load
//! (the first frame's models, then the embedder and anti-spoof model in the background), per
//! manifest; then what a capture session holds above a loaded engine. Counted by a global allocator
//! that tallies every allocation, so the figures are the live data, not what the C allocator keeps
//! from the OS (a process's RSS adds that, the binary and the stacks; `scripts/bench/session.py`
//! measures RSS).
//! `cargo bench -p smartid-core --bench load_memory`; `SMARTID_BENCH_MANIFESTS`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// The counting allocator wraps the system's: the only unsafe code is the GlobalAlloc contract.
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use smartid_core::liveness::active::ChallengeKind;
use smartid_core::manifest::Manifest;
use smartid_core::{CaptureConfig, CaptureSession, Step};
use tract_onnx::prelude::*;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is forwarded to the system allocator with the caller's arguments unchanged;
// the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Live and peak bytes since the last call, as (live MiB, peak MiB); starts the next phase.
fn phase() -> (f64, f64) {
    let live = LIVE.load(Relaxed);
    let peak = PEAK.swap(live, Relaxed);
    (mib(live), mib(peak))
}

fn main() {
    let manifests = common::manifests(&["models/manifest.toml", "models/manifest-antispoof.toml"]);
    println!("## Each model alone: MiB live after the phase (most live during it)\n");
    println!(
        "| model | read | decode | parse | unfold | type | declutter | optimise | plan | peak | one run |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut seen = Vec::new();
    for path in &manifests {
        let manifest = Manifest::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
        let dir = path.parent().unwrap_or(Path::new("."));
        for (role, spec) in manifest.models() {
            if seen.contains(&spec.id) {
                continue;
            }
            seen.push(spec.id.clone());
            let base = LIVE.load(Relaxed);
            PEAK.store(base, Relaxed);
            let mut cells = Vec::new();
            let mut peak = 0f64;
            let mut note = |cells: &mut Vec<String>| {
                let (live, top) = phase();
                let (live, top) = (live - mib(base), top - mib(base));
                peak = peak.max(top);
                cells.push(format!("{live:.1} ({top:.1})"));
            };
            let bytes = std::fs::read(dir.join(&spec.file)).unwrap();
            note(&mut cells);
            let onnx = smartid_core::vision::sdk_onnx();
            let mut proto = onnx.proto_model_for_read(&mut Cursor::new(&bytes)).unwrap();
            drop(bytes);
            note(&mut cells);
            let mut model = onnx.model_for_proto_model(&proto).unwrap();
            note(&mut cells);
            smartid_core::vision::unfold_int8_weights(
                proto.graph.as_mut().unwrap(),
                &mut model,
                spec.fp16_conv_kernels_from,
            )
            .unwrap();
            drop(proto);
            note(&mut cells);
            let shape: Vec<usize> = spec.input.shape.to_vec();
            let mut typed = model
                .with_input_fact(0, f32::fact(&shape).into())
                .unwrap()
                .into_typed()
                .unwrap();
            note(&mut cells);
            smartid_core::vision::sdk_declutter(&mut typed).unwrap();
            // As `frontend::optimize` does: the kernels unfolded to fp16 bound to their convolutions,
            // and a model whose manifest says so has its other large kernels halved (counted in the
            // declutter column).
            smartid_core::vision::bind_fp16_kernels(&mut typed).unwrap();
            if let Some(min_weights) = spec.fp16_conv_kernels_from {
                smartid_core::vision::hold_conv_kernels_in_fp16(&mut typed, min_weights).unwrap();
            }
            note(&mut cells);
            typed.optimize().unwrap();
            note(&mut cells);
            let plan = typed.into_runnable().unwrap();
            note(&mut cells);
            // What one inference holds above the loaded model (its tensors between nodes): what a
            // thread that runs it keeps reusing from its allocator.
            let held = LIVE.load(Relaxed);
            PEAK.store(held, Relaxed);
            let outputs = plan
                .run(tvec!(Tensor::zero::<f32>(&shape).unwrap().into()))
                .unwrap();
            drop(outputs);
            let run = mib(PEAK.load(Relaxed).saturating_sub(held));
            println!(
                "| {role} | {} | **{peak:.1}** | {run:.1} |",
                cells.join(" | ")
            );
            drop(plan);
        }
    }
    println!("\n## A whole engine load: MiB live after it (most live during it)\n");
    println!("| manifest | first frame's models | + embedder (and anti-spoof) in the background |");
    println!("|---|---|---|");
    for path in &manifests {
        let base = LIVE.load(Relaxed);
        PEAK.store(base, Relaxed);
        let engine = smartid_core::Engine::from_manifest_file(path).unwrap();
        let (live, top) = phase();
        engine.ready().unwrap();
        let (settled, peak) = phase();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        println!(
            "| {name} | {:.1} ({:.1}) | {:.1} (**{:.1}**) |",
            live - mib(base),
            top - mib(base),
            settled - mib(base),
            peak.max(top) - mib(base)
        );
        drop(engine);
    }

    // A capture as `smartid capture --frames fixtures/faces/carphone --challenges blink --seed 1`
    // runs it, on an engine already loaded: what the session itself holds.
    // `cargo bench` passes --bench; under `cargo test --all-targets` the session runs 20 frames, so
    // the test command stays fast and the bench still has to work.
    let measuring = std::env::args().any(|a| a == "--bench");
    let frames = common::carphone_frames(if measuring { 120 } else { 20 });
    let checks = common::desktop_checks();
    println!(
        "\n## A capture session (carphone, blink, seed 1) on a loaded engine: MiB above the engine\n"
    );
    println!(
        "| manifest | frames | most live during the session | live once finished, result held |"
    );
    println!("|---|---|---|---|");
    for path in &manifests {
        let engine = Arc::new(smartid_core::Engine::from_manifest_file(path).unwrap());
        engine.ready().unwrap();
        let cfg = CaptureConfig {
            fixed_challenges: Some(vec![ChallengeKind::Blink]),
            replay_seed: Some(1),
            ..CaptureConfig::default()
        };
        let base = LIVE.load(Relaxed);
        PEAK.store(base, Relaxed);
        let mut session = CaptureSession::new(engine.clone(), cfg, checks.clone()).unwrap();
        let mut pushed = 0;
        for (i, frame) in frames.iter().enumerate() {
            pushed += 1;
            let g = session
                .push_rgb(frame, (i as f64 * 1000.0 / 29.97) as u64)
                .unwrap();
            if matches!(g.step, Step::Done | Step::Failed) {
                break;
            }
        }
        // A smoke run's 20 frames end before the capture does: its result is an error then. Only the
        // error is ever printed, never the template.
        let result = session.finish();
        assert!(result.is_ok() || !measuring, "{:?}", result.as_ref().err());
        drop(session);
        let (live, peak) = phase();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        println!(
            "| {name} | {pushed} | **{:.1}** | {:.1} |",
            peak - mib(base),
            live - mib(base)
        );
        drop(result);
    }
}
