//! Each v1 fault changes the measured figures the way it should.

use super::common::sim;

const BASE: &str = r#"
duration = "60s"
drain = "5s"
[load]
entry = "front"
arrivals = "constant"
rate_per_s = 100.0
[[services]]
name = "front"
workers = 50
latency = { dist = "constant", value = "2ms" }
calls = ["back"]
[[services]]
name = "back"
workers = 50
latency = { dist = "constant", value = "10ms" }
restart_delay = "2s"
"#;

fn with(chaos: &str) -> String {
    format!("{BASE}\n{chaos}")
}

#[test]
fn without_faults_everything_succeeds_in_exactly_12ms() {
    let (_, out) = sim(BASE);
    assert_eq!(out.client.counts.ok, 6000);
    assert_eq!(out.client.latency.summary().max, 12.0);
    assert!(out.events.is_empty());
}

#[test]
fn latency_fault_adds_exactly_its_latency_inside_its_window_only() {
    let (_, out) = sim(&with(
        r#"[[chaos]]
fault = "latency"
target = "back"
at = "10s"
for = "10s"
add = "25ms"
"#,
    ));
    let back = &out.services[1];
    assert_eq!(out.client.counts.ok, 6000);
    // Requests starting at back in [10 s, 20 s) take 35 ms, the others 10 ms. Latency is recorded when a
    // request completes, so the window from 20 s still sees the last slow ones.
    for r in &back.rows {
        let (p50, max) = match r.t_s {
            t if t < 10.0 => (10.0, 10.0),
            t if t < 20.0 => (35.0, 35.0),
            t if t < 25.0 => (10.0, 35.0),
            _ => (10.0, 10.0),
        };
        // Percentiles are HdrHistogram bucket bounds (3 significant digits); the max is exact.
        let got = r.p50_ms.unwrap();
        assert!(got >= p50 && got <= p50 * 1.001, "window {}: p50 {got} vs {p50}", r.t_s);
        assert_eq!(r.max_ms, Some(max), "window {}", r.t_s);
    }
    assert_eq!(out.client.latency.summary().max, 37.0);
    let kinds: Vec<_> = out.events.iter().map(|e| (e.t.as_secs_f64(), e.kind)).collect();
    assert_eq!(kinds, vec![(10.0, "fault_start"), (20.0, "fault_end")]);
}

#[test]
fn error_fault_fails_its_rate_of_requests_inside_its_window() {
    let (_, out) = sim(&with(
        r#"[[chaos]]
fault = "errors"
target = "back"
at = "20s"
for = "20s"
rate = 0.3
"#,
    ));
    // 2000 requests start at back during the window; binomial(2000, 0.3): sd 20.5, allow 5 sd.
    let failed = out.client.counts.failed as f64;
    assert!((failed - 600.0).abs() < 5.0 * 20.5, "{failed}");
    let back = &out.services[1];
    for r in &back.rows {
        if r.t_s + 5.0 <= 20.0 || r.t_s >= 40.1 {
            assert_eq!(r.counts.failed, 0, "window {}", r.t_s);
        }
    }
    assert_eq!(out.services[0].counts.failed, out.client.counts.failed, "failures propagate to the caller");
}

#[test]
fn kill_fails_in_flight_and_new_requests_until_the_supervisor_restarts() {
    let (_, out) = sim(&with(
        r#"[[chaos]]
fault = "kill"
target = "back"
at = "30s"
for = "3s"
"#,
    ));
    // Down over [30 s, 33 s): arrivals reach back 2 ms after they arrive at front, every 10 ms; back holds
    // each for 10 ms, so one request is in flight at the crash. Arrivals at front in [29.998, 32.998) fail:
    // 300 of them, plus the one in flight.
    let c = out.client.counts;
    assert_eq!(c.failed, 301, "{c:?}");
    assert_eq!(c.ok, 6000 - 301);
    let kinds: Vec<_> = out.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec!["fault_start", "actor_crash", "fault_end", "actor_restart"]);
    assert_eq!(out.children[1].restarts, 1);
    assert_eq!(out.children[1].downtime.as_secs_f64(), 3.0);
    // Nothing is lost: every request has exactly one outcome.
    assert_eq!(c.requests, c.ok + c.failed + c.timed_out + c.rejected);
}

#[test]
fn kill_without_for_uses_the_restart_delay() {
    let (_, out) = sim(&with(
        r#"[[chaos]]
fault = "kill"
target = "back"
at = "30s"
"#,
    ));
    assert_eq!(out.children[1].downtime.as_secs_f64(), 2.0);
    assert_eq!(out.client.counts.failed, 201);
}
