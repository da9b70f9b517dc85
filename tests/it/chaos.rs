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
        let got = r.p50_ms().unwrap();
        assert!(got >= p50 && got <= p50 * 1.001, "window {}: p50 {got} vs {p50}", r.t_s);
        assert_eq!(r.max_ms(), Some(max), "window {}", r.t_s);
    }
    assert_eq!(out.client.latency.summary().max, 37.0);
    let kinds: Vec<_> = out.events.iter().map(|e| (e.t.as_secs_f64(), e.event.kind().name())).collect();
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
    let kinds: Vec<_> = out.events.iter().map(|e| e.event.kind().name()).collect();
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

#[test]
fn hang_holds_everything_until_it_ends_and_callers_time_out() {
    // back hangs from 10 s to 15 s; front waits at most 100 ms for it. Requests reaching back during the
    // hang time out at front; back answers them all late when the hang ends (work goes on).
    let text = BASE.replace("restart_delay = \"2s\"", "restart_delay = \"2s\"\ntimeout = \"100ms\"")
        + "[[chaos]]\nfault = \"hang\"\ntarget = \"back\"\nat = \"10s\"\nfor = \"5s\"\n";
    let (_, out) = sim(&text);
    let c = out.client.counts;
    // Arrivals every 10 ms reaching back (at +2 ms) in [10, 15): 500, plus the one in processing at 10 s;
    // then the 501 that waited are all served at 15 s by 50 workers (100 ms of backlog), so the first
    // arrivals after the hang wait too long as well.
    assert!((501..=510).contains(&c.failed), "{c:?}");
    let back = &out.services[1];
    assert_eq!(back.counts.timed_out, c.failed, "answered after the caller gave up");
    // Nothing was lost: every request to back got an outcome.
    assert_eq!(back.counts.requests, 6000);
}

#[test]
fn a_partition_loses_calls_and_answers_until_it_heals() {
    let text = BASE.replace("restart_delay = \"2s\"", "restart_delay = \"2s\"\ntimeout = \"50ms\"")
        + "[[chaos]]\nfault = \"partition\"\ntarget = \"front\"\nto = \"back\"\nat = \"10s\"\nfor = \"5s\"\n";
    let (_, out) = sim(&text);
    // Calls sent in [10.002, 15.002) are lost, and the answer to the one in flight at 10 s too.
    assert_eq!(out.client.counts.failed, 501);
    // back never saw the lost calls.
    assert_eq!(out.services[1].counts.requests, 6000 - 500);
}

#[test]
fn cpu_stall_on_a_service_multiplies_its_processing_time() {
    let text = format!(
        "{BASE}[[chaos]]\nfault = \"cpu-stall\"\ntarget = \"back\"\nat = \"10s\"\nfor = \"10s\"\nfactor = 3.0\n"
    );
    let (_, out) = sim(&text);
    // 10 ms becomes 30 ms for requests starting at back in the window: end-to-end 1 + 30 + 1... max 32 ms.
    assert_eq!(out.client.latency.summary().max, 32.0);
    let slow =
        out.services[1].rows.iter().filter(|r| r.t_s >= 10.0 && r.t_s < 20.0).all(|r| r.p50_ms().unwrap() >= 30.0);
    assert!(slow);
}

#[test]
fn a_load_spike_multiplies_the_arrivals_in_its_window() {
    let text = format!(
        "{BASE}[[chaos]]\nfault = \"load-spike\"\ntarget = \"load\"\nat = \"10s\"\nfor = \"10s\"\nmultiplier = 4.0\n"
    );
    let (_, out) = sim(&text);
    // 100/s for 50 s and 400/s for 10 s.
    assert_eq!(out.client.counts.requests, 5000 + 4000);
    // Window [15 s, 20 s): every request completing in it arrived during the spike, 2.5 ms apart.
    let row = out.services[0].rows.iter().find(|r| r.t_s == 15.0).unwrap();
    assert_eq!(row.counts.requests, 2000);
}

#[test]
fn a_drawn_latency_with_jitter_adds_its_mean() {
    // +exponential(20 ms) + uniform[0, 10 ms] jitter: mean +25 ms on back's requests in the window.
    let text = format!(
        "{BASE}[[chaos]]\nfault = \"latency\"\ntarget = \"back\"\nat = \"0s\"\nfor = \"100s\"\nlatency = {{ dist = \"exponential\", mean = \"20ms\" }}\nlatency_jitter = \"10ms\"\n"
    );
    let (_, out) = sim(&text);
    let mean = out.services[1].latency.summary().mean;
    // 6000 draws: sd of the mean of exp(20) + U(0, 10) is sqrt(400 + 8.3) / sqrt(6000) = 0.26 ms.
    assert!((mean - 35.0).abs() < 5.0 * 0.26, "{mean}");
}

#[test]
fn targets_by_glob_and_tag_with_a_mode() {
    let text = r#"
duration = "20s"
[load]
entry = "gw"
arrivals = "constant"
rate_per_s = 10.0
[[services]]
name = "gw"
workers = 10
latency = { dist = "constant", value = "1ms" }
calls = ["storage-a", "storage-b", "cache"]
[[services]]
name = "storage-a"
workers = 10
tags = ["db"]
latency = { dist = "constant", value = "1ms" }
[[services]]
name = "storage-b"
workers = 10
tags = ["db"]
latency = { dist = "constant", value = "1ms" }
[[services]]
name = "cache"
workers = 10
latency = { dist = "constant", value = "1ms" }
[[chaos]]
fault = "errors"
target = "storage-*"
at = "5s"
for = "1s"
rate = 1.0
[[chaos]]
fault = "kill"
target = "tag:db"
mode = "one"
at = "10s"
for = "1s"
"#;
    let (_, out) = sim(text);
    let hit: Vec<(&str, &str)> = out.faults.iter().map(|f| (f.kind.name(), f.target.as_str())).collect();
    assert_eq!(hit.iter().filter(|(k, _)| *k == "errors").count(), 2, "{hit:?}");
    let kills: Vec<&str> = hit.iter().filter(|(k, _)| *k == "kill").map(|(_, t)| *t).collect();
    assert_eq!(kills.len(), 1);
    assert!(kills[0].starts_with("storage-"));
    // errors on storage-a (first call) for 1 s fail the 10 requests of that second.
    assert!(out.client.counts.failed >= 10);
}

#[test]
fn repeated_faults_with_probability_are_seeded() {
    let text = format!(
        "{BASE}[[chaos]]\nfault = \"errors\"\ntarget = \"back\"\nevery = \"5s\"\nfor = \"1s\"\njitter = \"1s\"\nprobability = 0.5\nrate = 1.0\n"
    );
    let sc = super::common::scenario(&text);
    let a = ag06_lab::run::simulate(&sc, 1, None).unwrap();
    let b = ag06_lab::run::simulate(&sc, 1, None).unwrap();
    let starts = |o: &ag06_lab::run::RunOutput| o.faults.iter().map(|f| f.start).collect::<Vec<_>>();
    assert_eq!(starts(&a), starts(&b));
    assert!(a.faults.len() < 13 && !a.faults.is_empty(), "{} of 13 occurrences happened", a.faults.len());
    // Each fault shows in the event log with its start and end.
    assert_eq!(a.events.iter().filter(|e| e.event.kind().name() == "fault_start").count(), a.faults.len());
}
