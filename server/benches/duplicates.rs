//! Exact duplicate search: one probe against a channel's enrolled templates, at 10k, 100k and 1M
//! (128-d, Euclidean, like the default dlib embedder). Linear in the enrollments; docs/server.md has the
//! figures. Run: `cargo bench -p smartid-server --bench duplicates`.

use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use rand::{RngExt as _, SeedableRng};
use smartid_core::matching::Metric;
use smartid_server::duplicates::DuplicateIndex;

const DIM: usize = 128;

fn random_template(rng: &mut rand::rngs::ChaCha8Rng) -> Vec<f32> {
    (0..DIM).map(|_| rng.random_range(-0.15f32..0.15)).collect()
}

fn search(c: &mut Criterion) {
    let mut group = c.benchmark_group("duplicates_exact_search");
    group.sample_size(20);
    let sizes: Vec<usize> = std::env::var("SMARTID_BENCH_ENROLLED")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000]);
    for n in sizes {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(7);
        let index = DuplicateIndex::new();
        for i in 0..n {
            index.upsert("bank", &format!("user-{i}"), &random_template(&mut rng));
        }
        let probe = random_template(&mut rng);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                black_box(index.search(
                    "bank",
                    black_box(&probe),
                    Metric::Euclidean,
                    0.6,
                    Some("user-0"),
                ))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
