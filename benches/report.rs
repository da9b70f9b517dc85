//! Report benchmark (criterion): rendering report.html of a 24-hour run (5 s windows: 17,280 windows per
//! series, four services, a fault every 20 minutes, breakers, alerts, a hypothesis with a phase per fault).
//! Target: under 5 s and under 5 MB. The run itself is simulated once, outside the measurement.

use criterion::{Criterion, criterion_group, criterion_main};

/// The 24-hour scenario.
pub const DAY: &str = r#"
name = "day"
duration = "24h"
drain = "30s"
window = "5s"
[load]
entry = "gateway"
rate_per_s = 20.0
[[services]]
name = "gateway"
workers = 32
latency = { dist = "exponential", mean = "2ms" }
calls = ["vocal-ai", "billing"]
[[services]]
name = "vocal-ai"
workers = 8
latency = { dist = "lognormal", median = "30ms", p99 = "120ms" }
timeout = "1s"
calls = ["storage"]
[services.breaker]
minimum_calls = 20
window_size = 20
wait_in_open = "10s"
[[services]]
name = "storage"
workers = 8
latency = { dist = "exponential", mean = "10ms" }
timeout = "500ms"
[services.retry]
max_attempts = 2
wait = "20ms"
[[services]]
name = "billing"
workers = 4
latency = { dist = "exponential", mean = "5ms" }
optional = true
[[slo]]
name = "gateway availability"
service = "gateway"
sli = "availability"
objective = 0.999
[[slo]]
name = "gateway p99 under 300 ms"
service = "gateway"
sli = "latency"
threshold = "300ms"
objective = 0.99
[[hypothesis]]
name = "gateway available"
service = "gateway"
metric = "availability"
min = 0.5
[[chaos]]
name = "vocal-ai crash"
fault = "kill"
target = "vocal-ai"
at = "10m"
every = "40m"
jitter = "5m"
for = "5s"
[[chaos]]
name = "storage errors"
fault = "errors"
target = "storage"
at = "30m"
every = "40m"
jitter = "5m"
for = "1m"
rate = 0.9
"#;

fn day_report(c: &mut Criterion) {
    let sc = ag06_lab::scenario::Scenario::from_toml(DAY, "day.toml", "day").expect("the scenario is valid");
    let out = ag06_lab::run::simulate(&sc, 1, None).expect("the day runs");
    let summary = ag06_lab::report::Summary::new(&sc, &out, ag06_lab::model::summary::Mode::Simulated, 0.0);
    let (windows, events) = (out.client.rows.len(), out.events.len());
    let bundle = ag06_lab::report::Bundle::of_run(&sc, out, &summary).expect("the files render");
    let file = |name: &str| bundle.file(name);
    let html = file("report.html").expect("a report").bytes().expect("readable");
    eprintln!("day: {windows} windows per series, {events} events, report.html {:.2} MB", html.len() as f64 / 1e6);
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    g.bench_function("report_html_24h", |b| b.iter(|| ag06_lab::report::html::render_run(file).expect("renders")));
    g.finish();
}

criterion_group!(benches, day_report);
criterion_main!(benches);
