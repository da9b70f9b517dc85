//! Load models beyond a rate: closed model, virtual-user pools, request mixes, stress to the knee.

use ag06_lab::report::Summary;

use super::common::sim;

#[test]
fn a_closed_model_follows_the_interactive_response_time_law() {
    // N = 10 users, think time Z = 1 s, response time R = 100 ms (no queueing: 20 workers):
    // throughput X = N / (Z + R) = 9.09 requests/s.
    let text = r#"
duration = "1000s"
drain = "5s"
[load]
entry = "a"
model = "closed"
users = 10
think_time = { dist = "constant", value = "1s" }
[[services]]
name = "a"
workers = 20
latency = { dist = "constant", value = "100ms" }
"#;
    let (_, out) = sim(text);
    let x = out.client.counts.requests as f64 / 1000.0;
    assert!((x - 10.0 / 1.1).abs() < 0.02, "{x} requests/s");
    assert_eq!(out.client.latency.summary().max, 100.0);
    assert_eq!(out.client.dropped, 0);
}

#[test]
fn arrivals_without_a_free_user_are_dropped() {
    // An arrival every 10 ms, 5 users, 95 ms per request, no think time: 5 requests in flight at most,
    // so every other arrival finds no user.
    let text = r#"
duration = "10s"
[load]
entry = "a"
arrivals = "constant"
rate_per_s = 100.0
users = 5
[[services]]
name = "a"
workers = 20
latency = { dist = "constant", value = "95ms" }
"#;
    let (sc, out) = sim(text);
    assert_eq!(out.client.counts.requests + out.client.dropped, 1000);
    assert_eq!(out.client.dropped, 500);
    let s = Summary::new(&sc, &out, ag06_lab::model::summary::Mode::Simulated, 0.0);
    assert_eq!(s.requests.dropped, 500);
}

#[test]
fn a_weighted_mix_splits_the_requests() {
    let text = r#"
duration = "100s"
[load]
rate_per_s = 100.0
mix = [{ entry = "songs", weight = 3.0 }, { entry = "billing", weight = 1.0 }]
[[services]]
name = "songs"
workers = 10
latency = { dist = "constant", value = "1ms" }
[[services]]
name = "billing"
workers = 10
latency = { dist = "constant", value = "1ms" }
"#;
    let (_, out) = sim(text);
    let (a, b) = (out.services[0].counts.requests as f64, out.services[1].counts.requests as f64);
    let n = a + b;
    // Binomial(n, 0.75): 5 sd.
    assert!((a / n - 0.75).abs() < 5.0 * (0.75f64 * 0.25 / n).sqrt(), "{a} vs {b}");
}

#[test]
fn a_stress_test_finds_the_knee() {
    // One worker at 10 ms: capacity 100/s. Steps of +20/s every 30 s from 20/s. Up to 80/s (load 0.8)
    // the objectives hold; at 100/s the queue grows without bound and fills, the 99% availability goes;
    // past ~200/s more than half is rejected and the ramp stops.
    let text = r#"
duration = "10m"
drain = "10s"
[load]
entry = "a"
stress = { start_per_s = 20.0, step_per_s = 20.0, step_duration = "30s", stop_error_rate = 0.5 }
[[services]]
name = "a"
workers = 1
queue = 50
latency = { dist = "constant", value = "10ms" }
[[slo]]
name = "available"
service = "a"
sli = "availability"
objective = 0.99
[[slo]]
name = "fast"
service = "a"
sli = "latency"
threshold = "200ms"
objective = 0.95
"#;
    let (sc, out) = sim(text);
    let s = Summary::new(&sc, &out, ag06_lab::model::summary::Mode::Simulated, 0.0);
    let st = s.stress.as_ref().unwrap();
    assert_eq!(
        st.breaking_point_per_s,
        Some(80.0),
        "{:?}",
        st.steps.iter().map(|x| (x.rate_per_s, x.met, x.error_rate)).collect::<Vec<_>>()
    );
    let stopped = st.stopped_at_s.expect("the ramp stopped");
    // Stopped at the end of the step after the first one above 50% errors (checked a step later).
    let over: Vec<f64> = st.steps.iter().filter(|x| x.error_rate > 0.5).map(|x| x.rate_per_s).collect();
    assert!(!over.is_empty());
    let first_over = over[0];
    let step_index = (first_over - 20.0) / 20.0;
    assert_eq!(stopped, (step_index + 2.0) * 30.0);
    assert!(out.events.iter().any(|e| e.event.kind().name() == "stress_stop"));
}

#[test]
fn empirical_distributions_draw_what_their_files_hold() {
    use ag06_lab::scenario::Scenario;
    // Samples 1 .. 1000 ms in a CSV column: mean 500.5 ms, p99 990 ms; 200000 draws by inverse CDF land
    // within 1% of both (the standard error of the mean is 289 / sqrt(200000) = 0.65 ms).
    let root = super::common::root();
    let text = |latency: &str| {
        format!(
            "duration = \"1m\"\n[load]\nentry = \"a\"\nrate_per_s = 10.0\n[[services]]\nname = \"a\"\nworkers = 2\nlatency = {latency}\n"
        )
    };
    let draws = |sc: &Scenario| -> Vec<f64> {
        let mut rng = ag06_lab::sim::stream(5, "draws");
        let mut v: Vec<f64> =
            (0..200_000).map(|_| sc.services[0].latency.sample(&mut rng).as_secs_f64() * 1e3).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let at = root.join("tests/fixtures/x.toml");
    let csv = Scenario::from_toml(
        &text(r#"{ dist = "empirical", file = "latency-samples.csv", column = "latency_ms" }"#),
        at.to_str().unwrap(),
        "x",
    )
    .unwrap();
    let v = draws(&csv);
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    assert!((mean / 500.5 - 1.0).abs() < 0.01, "mean {mean}");
    assert!((v[(0.99 * v.len() as f64) as usize] / 990.0 - 1.0).abs() < 0.01, "p99");
    assert_eq!(v[0], 1.0);
    assert_eq!(*v.last().unwrap(), 1000.0);

    // A histogram the lab wrote (a run's latency.hdr): draws match its mean and p99 within 1%.
    let tmp = tempfile::tempdir().unwrap();
    // 60000 requests (1000/s for a minute, 200 workers: no queueing), so that neighbouring order
    // statistics around the p99 are close.
    let sc = super::common::scenario(
        &text(r#"{ dist = "lognormal", median = "20ms", p99 = "120ms" }"#)
            .replace("rate_per_s = 10.0", "rate_per_s = 1000.0")
            .replace("workers = 2", "workers = 200"),
    );
    let out = ag06_lab::run::simulate(&sc, 1, None).unwrap();
    let hdr = tmp.path().join("latency.hdr");
    std::fs::write(&hdr, ag06_lab::report::latency_hdr(out.client.latency.histogram())).unwrap();
    let from_hdr = Scenario::from_toml(
        &text(r#"{ dist = "empirical", file = "latency.hdr" }"#),
        tmp.path().join("y.toml").to_str().unwrap(),
        "y",
    )
    .unwrap();
    let v = draws(&from_hdr);
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let (want_mean, want_p99) = (out.client.latency.summary().mean, out.client.latency.summary().p99);
    assert!((mean / want_mean - 1.0).abs() < 0.01, "mean {mean} vs {want_mean}");
    let p99 = v[(0.99 * v.len() as f64) as usize];
    assert!((p99 / want_p99 - 1.0).abs() < 0.01, "p99 {p99} vs {want_p99}");
}
