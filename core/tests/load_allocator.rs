//! The SDK's allocator registered as the harness and the FFI library register it
//! (`allocator::ModelLoadAllocator`): the background loads' large blocks are mappings of their own,
//! the engine built from them answers, and they leave the process with the engine; two engines
//! loading at once answer as one alone does.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "capture")]

mod common;

use smartid_core::Engine;
use smartid_core::allocator::{ModelLoadAllocator, mapped_blocks};

#[global_allocator]
static ALLOCATOR: ModelLoadAllocator = ModelLoadAllocator;

fn still(name: &str) -> smartid_core::RgbImage {
    common::load_rgb(&common::fixture(&format!("stills/{name}")))
}

/// One test in this binary: it counts the process's mapped blocks.
#[test]
fn the_background_models_blocks_are_mapped_answer_and_leave_with_the_engine() {
    assert_eq!(mapped_blocks(), 0, "blocks mapped before any load");
    let engine = Engine::from_manifest_file(common::manifest_path()).unwrap();
    engine.ready().unwrap();
    let held = mapped_blocks();
    // On glibc the embedder's packed weights alone are dozens of blocks of 128 KiB and more;
    // elsewhere the system allocator serves everything.
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert!(
            held >= 10,
            "only {held} blocks mapped once the engine is ready"
        );
    } else {
        assert_eq!(held, 0);
    }
    println!("{held} blocks mapped once the engine is ready");

    // The models built in those blocks answer as they should: one man's photos match, another's
    // do not, and the anti-spoof model (when the set has one) reads a real face as live.
    let analyse = |name: &str| engine.analyze(&still(name), false).unwrap();
    let (a, b, other) = (
        analyse("obama.jpg"),
        analyse("obama2.jpg"),
        analyse("biden.jpg"),
    );
    let embed = |face| engine.embed(face).unwrap();
    let (ea, eb, eo) = (embed(&a), embed(&b), embed(&other));
    let threshold = engine.match_threshold();
    assert!(ea.compare(&eb, threshold).unwrap().same_person);
    assert!(!ea.compare(&eo, threshold).unwrap().same_person);
    if let Some(t) = engine.live_threshold() {
        let face = engine.analyze(&still("obama.jpg"), true).unwrap();
        assert!(face.live.is_some_and(|p| p >= t), "{:?}", face.live);
    }

    drop(engine);
    assert_eq!(mapped_blocks(), 0, "mapped blocks outlived the engine");

    // Two engines loading at once (an app reloading while a capture runs): their loads share the
    // record and the kept blocks, and both answer as one engine alone does.
    let expected = ea.score(&eb).unwrap();
    let scores: Vec<f32> = std::thread::scope(|scope| {
        let loads: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let engine = Engine::from_manifest_file(common::manifest_path()).unwrap();
                    engine.ready().unwrap();
                    let (a, b) = (
                        engine.analyze(&still("obama.jpg"), false).unwrap(),
                        engine.analyze(&still("obama2.jpg"), false).unwrap(),
                    );
                    let (a, b) = (engine.embed(&a).unwrap(), engine.embed(&b).unwrap());
                    a.score(&b).unwrap()
                })
            })
            .collect();
        loads.into_iter().map(|l| l.join().unwrap()).collect()
    });
    assert!(
        scores.iter().all(|s| s.to_bits() == expected.to_bits()),
        "{scores:?} against {expected}"
    );
    assert_eq!(mapped_blocks(), 0, "mapped blocks outlived the engines");
}
