//! One bcrypt verification at the default cost: the ceiling of login throughput is
//! cores / this time.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bcrypt_cost_12(c: &mut Criterion) {
    let hash = bcrypt::hash("violet-tractor-42", 12).expect("hashes");
    let mut group = c.benchmark_group("bcrypt");
    group.sample_size(10);
    group.bench_function("verify_cost_12", |b| {
        b.iter(|| bcrypt::verify(black_box("violet-tractor-42"), &hash))
    });
    group.finish();
}

criterion_group!(benches, bcrypt_cost_12);
criterion_main!(benches);
