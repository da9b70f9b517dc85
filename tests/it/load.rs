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
