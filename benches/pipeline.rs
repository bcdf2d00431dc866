//! The whole analysis on an in-memory generated capture, as
//! `wshs_sniff::analyze_bytes` runs it (capture thread, flow workers,
//! reporter).

#[path = "support/gen.rs"]
mod gen;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use wshs_sniff::pipeline::Config;

fn bench_pipeline(c: &mut Criterion) {
    let (bytes, truth) = gen::generate_vec(&gen::Options {
        size: 64 << 20,
        seed: 42,
        concurrency: None,
    });
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    for workers in [1usize, 2] {
        let cfg = Config {
            workers,
            ..Config::default()
        };
        g.bench_function(format!("analyze_bytes_64MiB_{workers}w"), |b| {
            b.iter(|| {
                let a = wshs_sniff::analyze_bytes("bench", bytes.clone(), &cfg)
                    .expect("generated capture opens");
                assert_eq!(a.records.len(), truth.len());
                black_box(a.records.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
