//! The engine against queueing theory and exact arithmetic.
//!
//! Tolerances: for M/M/1 at rho = 0.5 the asymptotic variance of the mean waiting time over n customers is
//! rho (2 + 5 rho - 4 rho² + rho³) / (1 - rho)^4 / (mu² n) (Whitt, "Planning queueing simulations", 1989),
//! i.e. a standard error of 0.27% of the 20 ms mean for n = 1M; 2% is over 7 standard errors. Quantiles
//! converge more slowly (and the histogram adds 0.1%): 3%. M/M/c at rho = 0.75 is noisier (relaxation
//! time ~ 1/(c mu (1 - sqrt rho)²)): 4% over 1.4M customers, summed over three seeds.

use super::common::sim;

fn mm1(lambda: f64, mu_ms: f64, hours: u32, seed: u64) -> String {
    format!(
        r#"
seed = {seed}
duration = "{hours}h"
[load]
entry = "s"
rate_per_s = {lambda}
[[services]]
name = "s"
workers = 1
latency = {{ dist = "exponential", mean = "{mu_ms}ms" }}
"#
    )
}

#[test]
fn mm1_mean_and_p99_time_in_system() {
    // lambda = 50/s, mu = 100/s: E[T] = 1/(mu - lambda) = 20 ms; T ~ Exp(mu - lambda): p99 = ln(100)/50 s.
    let (_, out) = sim(&mm1(50.0, 10.0, 6, 1));
    let n = out.client.counts.ok;
    assert!(n > 1_000_000, "{n} requests");
    let lat = out.client.latency.summary();
    let mean_want = 20.0;
    let p99_want = 100f64.ln() / 50.0 * 1e3;
    assert!((lat.mean / mean_want - 1.0).abs() < 0.02, "mean {} vs {mean_want}", lat.mean);
    assert!((lat.p99 / p99_want - 1.0).abs() < 0.03, "p99 {} vs {p99_want}", lat.p99);
    // Median of an exponential: ln(2)/(mu - lambda).
    let p50_want = 2f64.ln() / 50.0 * 1e3;
    assert!((lat.p50 / p50_want - 1.0).abs() < 0.03, "p50 {} vs {p50_want}", lat.p50);
    // Utilisation is rho, and the mean queue length (waiting only) is rho² / (1 - rho).
    let s = &out.services[0];
    assert!((s.utilization - 0.5).abs() < 0.01, "utilisation {}", s.utilization);
    assert!((s.queue_depth - 0.5).abs() < 0.03, "queue depth {}", s.queue_depth);
}

/// Erlang C: probability that an arrival waits in an M/M/c queue with offered load a = lambda/mu.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    // term is now a^c / c!
    let tail = term * f64::from(c) / (f64::from(c) - a);
    tail / (sum + tail)
}

#[test]
fn mmc_mean_wait_matches_erlang_c() {
    // c = 4 workers, mean service 100 ms (mu = 10/s), lambda = 30/s: a = 3, rho = 0.75.
    let (c, mu, lambda) = (4u32, 10.0, 30.0);
    let pw = erlang_c(c, lambda / mu);
    let wq_want = pw / (f64::from(c) * mu - lambda) * 1e3; // ms
    let (mut sum_t, mut n) = (0.0, 0u64);
    for seed in 1..=3 {
        let text = format!(
            r#"
seed = {seed}
duration = "4h"
[load]
entry = "s"
rate_per_s = {lambda}
[[services]]
name = "s"
workers = {c}
latency = {{ dist = "exponential", mean = "100ms" }}
"#
        );
        let (_, out) = sim(&text);
        let l = &out.client.latency;
        sum_t += l.summary().mean * l.len() as f64;
        n += l.len();
    }
    let mean_t = sum_t / n as f64;
    let want_t = wq_want + 1e3 / mu;
    assert!((pw - 0.5094).abs() < 1e-3, "Erlang C(4, 3) = {pw}");
    assert!((mean_t / want_t - 1.0).abs() < 0.04, "E[T] {mean_t} ms vs {want_t} ms (Wq {wq_want} ms)");
}

#[test]
fn deterministic_times_are_exact_to_the_nanosecond() {
    // Constant arrivals every 1/187.5 s = 5.333... ms and a constant 1.234567 ms of work: no queueing, so
    // every latency is exactly the service time, never rounded to a millisecond.
    let text = r#"
duration = "10s"
drain = "1s"
[load]
entry = "a"
arrivals = "constant"
rate_per_s = 187.5
[[services]]
name = "a"
workers = 1
latency = { dist = "constant", value = "1234567ns" }
calls = ["b"]
[[services]]
name = "b"
workers = 1
latency = { dist = "constant", value = "1ms" }
"#;
    let (_, out) = sim(text);
    assert_eq!(out.client.counts.requests, 1875);
    let lat = out.client.latency.summary();
    assert_eq!(lat.mean, 2.234567);
    assert_eq!(lat.max, 2.234567);
    // a holds its worker for its own time plus b's: 1875 requests x 2.234567 ms busy over the run.
    let u = out.services[0].utilization;
    let want = 1875.0 * 2.234567e-3 / out.end.as_secs_f64();
    assert!((u - want).abs() < 1e-9, "{u} vs {want}");
}

#[test]
fn a_full_queue_rejects_exactly_the_overflow() {
    // One worker, no waiting room, 9.9 ms of work, an arrival every 5 ms: every second arrival is rejected.
    // (With exactly 10 ms, a departure and an arrival would share an instant; ties run in the order they
    // were scheduled, which is not what this test is about.)
    let text = r#"
duration = "10s"
[load]
entry = "a"
arrivals = "constant"
rate_per_s = 200.0
[[services]]
name = "a"
workers = 1
queue = 0
latency = { dist = "constant", value = "9900us" }
"#;
    let (_, out) = sim(text);
    let c = out.client.counts;
    assert_eq!(c.requests, 2000);
    assert_eq!(c.ok, 1000);
    assert_eq!(c.rejected, 1000);
}

#[test]
fn timeouts_give_up_but_the_work_goes_on() {
    // The callee takes 100 ms; the caller waits 40 ms. Every request fails at the caller after 40 ms, and
    // the callee's worker stays busy for the full 100 ms anyway.
    let text = r#"
duration = "10s"
[load]
entry = "front"
arrivals = "constant"
rate_per_s = 5.0
[[services]]
name = "front"
workers = 4
latency = { dist = "constant", value = "1ms" }
calls = ["slow"]
[[services]]
name = "slow"
workers = 4
latency = { dist = "constant", value = "100ms" }
timeout = "40ms"
"#;
    let (_, out) = sim(text);
    assert_eq!(out.client.counts.failed, 50);
    let slow = &out.services[1];
    assert_eq!(slow.counts.timed_out, 50, "the callee answered after its caller's deadline");
    assert_eq!(slow.counts.ok, 0);
    // slow: 50 requests x 100 ms busy over 4 workers.
    let want = 50.0 * 0.1 / (4.0 * out.end.as_secs_f64());
    assert!((slow.utilization - want).abs() < 1e-9, "{} vs {want}", slow.utilization);
}

#[test]
fn entry_timeout_counts_as_timed_out_end_to_end() {
    let text = r#"
duration = "10s"
[load]
entry = "a"
arrivals = "constant"
rate_per_s = 10.0
[[services]]
name = "a"
workers = 8
latency = { dist = "uniform", min = "10ms", max = "90ms" }
timeout = "50ms"
"#;
    let (_, out) = sim(text);
    let c = out.client.counts;
    assert_eq!(c.requests, 100);
    assert_eq!(c.ok + c.timed_out, 100);
    // P(U(10, 90) < 50) = 0.5: binomial(100, 0.5), 5 sigma = 25.
    assert!((c.ok as i64 - 50).abs() <= 25, "{c:?}");
    assert!(out.client.latency.summary().max < 50.0);
}

#[test]
fn ramping_arrivals_follow_the_stages() {
    // 0 -> 200/s over 100 s, then 200/s for 100 s: 10k + 20k expected arrivals.
    let text = r#"
duration = "200s"
[load]
entry = "a"
rate_per_s = 0.0
stages = [{ duration = "100s", target_per_s = 200.0 }]
[[services]]
name = "a"
workers = 100
latency = { dist = "constant", value = "1ms" }
"#;
    let (_, out) = sim(text);
    let n = out.client.counts.requests as f64;
    assert!((n - 30_000.0).abs() < 5.0 * 30_000f64.sqrt(), "{n}");
    // In the 5 s windows of the ramp, counts grow linearly: window [50, 55) expects 200 * 52.5/100 * 5.
    let row = out.services[0].rows.iter().find(|r| r.t_s == 50.0).unwrap();
    let want = 525.0;
    assert!((row.counts.requests as f64 - want).abs() < 5.0 * want.sqrt(), "{}", row.counts.requests);
}

#[test]
fn workload_w_agrees_with_a_plain_event_loop_of_the_same_model() {
    // An independent implementation of W (ag06_lab::reference: a binary-heap event loop, no actors, its
    // own random draws) and the lab, over 20 simulated minutes (about 600 000 requests each): two
    // independent estimates of the same distribution. Their standard errors at this length are well under
    // 1% for the mean and about 1% for the p99 (the queues are at most 75% busy, so windows of a few
    // seconds are nearly independent); 3% is several of them.
    let text = std::fs::read_to_string(super::common::root().join("scenarios/workload-w.toml"))
        .unwrap()
        .replace("duration = \"1h\"", "duration = \"20m\"");
    let (_, out) = sim(&text);
    let lab = out.client.latency.summary();
    let r = ag06_lab::reference::workload_w(1200.0, 1);
    eprintln!("lab mean {} p99 {}; loop mean {} p99 {}", lab.mean, lab.p99, r.mean_ms, r.p99_ms);
    let rel = |a: f64, b: f64| (a - b).abs() / b;
    assert!(rel(lab.mean, r.mean_ms) < 0.03, "mean: lab {} loop {}", lab.mean, r.mean_ms);
    assert!(rel(lab.p99, r.p99_ms) < 0.03, "p99: lab {} loop {}", lab.p99, r.p99_ms);
    assert_eq!(r.answered, r.requests, "the loop answers every request");
    assert!(rel(out.client.counts.requests as f64, r.requests as f64) < 0.01, "both at 500/s");
}
