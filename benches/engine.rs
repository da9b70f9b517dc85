//! Engine benchmarks (criterion): workload W over a shorter horizon. `ag06-lab bench` runs the full hour.

use criterion::{Criterion, criterion_group, criterion_main};

fn workload_w(c: &mut Criterion) {
    let text = ag06_lab::cli::WORKLOAD_W.replace("duration = \"1h\"", "duration = \"60s\"");
    let sc = ag06_lab::scenario::Scenario::from_toml(&text, "workload-w", "workload-w").expect("W is valid");
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.bench_function("workload_w_60s", |b| b.iter(|| ag06_lab::run::simulate(&sc, 1, None).expect("W runs")));
    g.finish();
}

criterion_group!(benches, workload_w);
criterion_main!(benches);
