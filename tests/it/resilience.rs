//! Resilience mechanisms inside real runs: breaker, retry, budget, bulkhead, rate limiter, supervision,
//! health checks, autoscaling.

use super::common::{scenario, sim};
use ag06_lab::run::simulate;
use ag06_lab::sim::Ending;

/// front -> back, constant arrivals, constant latencies, with `back_extra` appended to back's table and
/// `tail` after everything.
fn two(rate: f64, back_extra: &str, tail: &str) -> String {
    format!(
        r#"
duration = "60s"
drain = "10s"
[load]
entry = "front"
arrivals = "constant"
rate_per_s = {rate}
[[services]]
name = "front"
workers = 200
latency = {{ dist = "constant", value = "1ms" }}
calls = ["back"]
[[services]]
name = "back"
workers = 200
latency = {{ dist = "constant", value = "10ms" }}
{back_extra}
{tail}
"#
    )
}

#[test]
fn retries_turn_a_coin_flip_into_one_failure_in_eight() {
    // back fails half its requests; three attempts fail together with probability 0.5^3 = 0.125, and a
    // request needs 0.5 + 0.25 = 0.75 retries on average.
    let text = two(200.0, "error_rate = 0.5\n[services.retry]\nmax_attempts = 3\nwait = \"5ms\"", "")
        .replace("duration = \"60s\"", "duration = \"200s\"");
    let (_, out) = sim(&text);
    let c = out.client.counts;
    let n = c.requests as f64;
    assert_eq!(n, 40_000.0);
    let p_fail = c.failed as f64 / n;
    // Binomial: sd = sqrt(0.125 * 0.875 / 40000) = 0.00165; 5 sd.
    assert!((p_fail - 0.125).abs() < 5.0 * 0.00165, "{p_fail}");
    let retries = out.calls_to[1].retries as f64 / n;
    assert!((retries - 0.75).abs() < 0.02, "{retries}");
    assert_eq!(out.calls_to[1].attempts, c.requests + out.calls_to[1].retries);
}

#[test]
fn the_retry_budget_caps_a_retry_storm() {
    // back fails everything; without a budget every request would be tried 5 times. With ratio 0.1 and
    // no floor, retries stay within 10% of the requests of any 10 s window.
    let text = two(
        100.0,
        "error_rate = 1.0\n[services.retry]\nmax_attempts = 5\nwait = \"1ms\"\nbudget = { ratio = 0.1, min_per_s = 0.0, ttl = \"10s\" }",
        "",
    );
    let (_, out) = sim(&text);
    let d = &out.calls_to[1];
    let requests = out.client.counts.requests;
    assert!(d.retries as f64 <= 0.1 * requests as f64 + 1.0, "{} retries for {requests} requests", d.retries);
    assert!(d.retries as f64 >= 0.09 * requests as f64, "the budget is used: {}", d.retries);
    assert!(d.retries_denied > 0);
}

#[test]
fn the_breaker_stops_calls_while_open_and_recovers_after_the_fault() {
    // back fails everything between 10 s and 30 s. The breaker (window 20 calls, at least 10, 50%) opens
    // within a few calls, rejects while open, probes half-open every 2 s, and closes after the fault.
    let text = two(
        100.0,
        r#"[services.breaker]
window_size = 20
minimum_calls = 10
wait_in_open = "2s"
half_open_calls = 5
"#,
        r#"[[chaos]]
fault = "errors"
target = "back"
at = "10s"
for = "20s"
rate = 1.0
"#,
    );
    let (_, out) = sim(&text);
    let kinds: Vec<(f64, &str)> = out
        .events
        .iter()
        .filter(|e| e.event.kind().name().starts_with("breaker"))
        .map(|e| (e.t.as_secs_f64(), e.event.kind().name()))
        .collect();
    assert_eq!(kinds.first().map(|k| k.1), Some("breaker_open"));
    let first_open = kinds[0].0;
    assert!((10.0..10.2).contains(&first_open), "opened at {first_open}");
    assert_eq!(kinds.last().map(|k| k.1), Some("breaker_closed"));
    assert!(kinds.last().unwrap().0 >= 30.0);
    let d = &out.calls_to[1];
    assert!(d.breaker_opens >= 5, "reopened after each failed trial: {}", d.breaker_opens);
    assert!(d.rejected_by_breaker > 1000, "{}", d.rejected_by_breaker);
    // While open, back only sees the trial calls: at most 5 per 2 s wait.
    let back = &out.services[1];
    let during: u64 = back.rows.iter().filter(|r| r.t_s >= 15.0 && r.t_s < 30.0).map(|r| r.counts.requests).sum();
    assert!(during <= 5 * 8, "back received {during} calls in 15 s while its breaker was open");
    // And no call reached back while the breaker was open: between consecutive open and half-open
    // events, back's received requests come only from half-open trials.
    assert_eq!(out.calls_to[1].attempts, back.counts.requests);
}

#[test]
fn retries_retry_a_breaker_rejection_unless_told_not_to() {
    // resilience4j's Retry retries every exception by default, CallNotPermittedException (an open breaker)
    // included (RetryConfig: retryExceptions empty, ignoreExceptions empty). back fails everything and its
    // breaker, once open, stays open for the rest of the run: each later request is rejected three times
    // (two retries 1 ms apart). With `on` leaving "rejected" out, it is rejected once and not retried.
    let breaker = "error_rate = 1.0\n[services.breaker]\nwindow_size = 10\nminimum_calls = 10\nwait_in_open = \"1h\"\n";
    let retry = "[services.retry]\nmax_attempts = 3\nwait = \"1ms\"\n";
    let (_, all) = sim(&two(100.0, &format!("{breaker}{retry}"), ""));
    let (_, not) = sim(&two(100.0, &format!("{breaker}{retry}on = [\"errors\", \"timeouts\"]\n"), ""));
    for out in [&all, &not] {
        assert_eq!(out.calls_to[1].breaker_opens, 1, "opened once, never half-open again");
        assert_eq!(out.client.counts.ok, 0);
    }
    // Every attempt fails (an error from back, or the open breaker): with rejections retried, each request
    // makes exactly max_attempts = 3 attempts, so 2 retries a request, and every attempt is either sent to
    // back or rejected by the breaker.
    let requests = all.client.counts.requests;
    assert_eq!(requests, 6000);
    let (a, n) = (&all.calls_to[1], &not.calls_to[1]);
    assert_eq!(a.retries, 2 * requests);
    assert_eq!(a.attempts + a.rejected_by_breaker, 3 * requests);
    // Only the ~10 attempts before it opened (and those already in flight) reached back.
    assert!(a.attempts < 20 && n.attempts < 20, "{} {}", a.attempts, n.attempts);
    // Without "rejected": a rejection ends the request, so only attempts that reached back were retried.
    assert!(n.retries <= n.attempts, "{} retries, {} attempts", n.retries, n.attempts);
    assert_eq!(n.attempts + n.rejected_by_breaker, requests + n.retries);
    assert!(n.rejected_by_breaker >= requests - n.attempts);
}

#[test]
fn the_bulkhead_caps_concurrency_and_rejects_the_overflow() {
    // Calls every 10 ms take 99 ms at back: about 10 would be in flight; the bulkhead allows 3. Each
    // admitted call holds its slot 99 ms, so 3 of every 10 calls get through, deterministically.
    let text =
        two(100.0, "latency = { dist = \"constant\", value = \"99ms\" }\n[services.bulkhead]\nmax_concurrent = 3", "")
            .replace("latency = { dist = \"constant\", value = \"10ms\" }\n", "");
    let (_, out) = sim(&text);
    let c = out.client.counts;
    assert_eq!(c.requests, 6000);
    assert_eq!(c.ok, 1800);
    assert_eq!(out.calls_to[1].rejected_by_bulkhead, 4200);
    // back never has more than 3 busy workers: its utilisation is at most 3 / 200.
    assert!(out.services[1].utilization <= 3.0 / 200.0 + 1e-9);
}

#[test]
fn the_rate_limiter_admits_its_limit_per_period() {
    let text = two(25.0, "[services.rate_limit]\nlimit = 10\nperiod = \"1s\"", "");
    let (_, out) = sim(&text);
    // Arrivals every 40 ms at t = 0.04 .. 60.00 s; periods are aligned on 0: 10 admitted in each of the
    // 60 full periods, plus the single arrival at exactly 60 s in the 61st.
    assert_eq!(out.client.counts.requests, 1500);
    assert_eq!(out.client.counts.ok, 601);
    assert_eq!(out.rate_limited[1], 899);
    assert_eq!(out.services[1].counts.rejected, 899);
}

fn three(strategy: &str, fault_target: &str, extra: &str) -> String {
    format!(
        r#"
duration = "30s"
drain = "5s"
[load]
entry = "a"
arrivals = "constant"
rate_per_s = 10.0
[[services]]
name = "a"
workers = 10
latency = {{ dist = "constant", value = "1ms" }}
calls = ["b", "c"]
[[services]]
name = "b"
workers = 10
latency = {{ dist = "constant", value = "1ms" }}
[[services]]
name = "c"
workers = 10
latency = {{ dist = "constant", value = "1ms" }}
{extra}
[supervision.services]
strategy = "{strategy}"
intensity = 5
period = "10s"
[[chaos]]
fault = "kill"
target = "{fault_target}"
at = "10050ms"
for = "2s"
"#
    )
}

fn restarted(out: &ag06_lab::run::RunOutput) -> Vec<u64> {
    out.children.iter().map(|c| c.restarts).collect()
}

#[test]
fn each_strategy_restarts_exactly_the_right_siblings() {
    let (_, out) = sim(&three("one-for-one", "b", ""));
    assert_eq!(restarted(&out), vec![0, 1, 0]);
    let (_, out) = sim(&three("one-for-all", "b", ""));
    assert_eq!(restarted(&out), vec![1, 1, 1]);
    let stops: Vec<&str> =
        out.events.iter().filter(|e| e.event.kind().name() == "actor_stop").map(|e| e.target.as_str()).collect();
    // OTP terminates the running siblings in reverse start order.
    assert_eq!(stops, vec!["c", "a"]);
    let (_, out) = sim(&three("rest-for-one", "b", ""));
    assert_eq!(restarted(&out), vec![0, 1, 1]);
    let (_, out) = sim(&three("rest-for-one", "a", ""));
    assert_eq!(restarted(&out), vec![1, 1, 1]);
    // Down over [10.05 s, 12.05 s): the 20 arrivals in between fail end to end, whatever the strategy.
    assert_eq!(out.client.counts.failed, 20);
}

#[test]
fn restart_types_decide_who_comes_back() {
    let temporary = three("one-for-one", "b", "").replace("name = \"b\"\n", "name = \"b\"\nrestart = \"temporary\"\n");
    let (_, out) = sim(&temporary);
    assert_eq!(restarted(&out), vec![0, 0, 0]);
    assert!(out.events.iter().any(|e| e.event.kind().name() == "actor_left_down" && e.target == "b"));
    // b never comes back: every request from 10.05 s on fails.
    assert_eq!(out.client.counts.failed, 200);
    // A transient service comes back after a crash but not after a normal stop.
    let transient = three("one-for-one", "b", "").replace("name = \"b\"\n", "name = \"b\"\nrestart = \"transient\"\n");
    let (_, out) = sim(&transient);
    assert_eq!(restarted(&out), vec![0, 1, 0]);
    let (_, out) = sim(&transient.replace("fault = \"kill\"", "fault = \"stop\""));
    assert_eq!(restarted(&out), vec![0, 0, 0]);
}

#[test]
fn a_panic_in_a_handler_is_a_crash_the_supervisor_handles() {
    let text =
        three("one-for-one", "b", "").replace("fault = \"kill\"", "fault = \"panic\"").replace("for = \"2s\"\n", "");
    let (_, out) = sim(&text);
    assert_eq!(out.ending, Ending::Drained);
    assert_eq!(restarted(&out), vec![0, 1, 0]);
    let crash = out.events.iter().find(|e| e.event.kind().name() == "actor_crash").unwrap();
    assert!(
        crash.event.detail(&crash.target).contains("panic: injected panic"),
        "{}",
        crash.event.detail(&crash.target)
    );
    // The request that hit the bug (at 10.1 s) failed; the supervisor restarted b at once (OTP), so no
    // other request did.
    assert_eq!(out.client.counts.failed, 1);
    // With a restart delay of 1 s (ours, not OTP's), the 10 arrivals meanwhile fail too.
    let (_, slow) = sim(&text.replace("name = \"b\"\n", "name = \"b\"\nrestart_delay = \"1s\"\n"));
    assert_eq!(slow.client.counts.failed, 11);
}

#[test]
fn exceeding_the_intensity_escalates_and_the_root_giving_up_ends_the_run() {
    // Intensity 1 in 10 s. Kill b at 10.05 s: restarted. Kill c at 12 s: a second restart within 10 s, so
    // the services supervisor escalates; the root (intensity 1 in 60 s) restarts the subtree, which starts
    // with a clean history. Kill b at 16 s: restarted. Kill c at 17 s: escalation again, and the root,
    // already at its intensity, gives up.
    let kill = |target: &str, at: &str| {
        format!("[[chaos]]\nfault = \"kill\"\ntarget = \"{target}\"\nat = \"{at}\"\nfor = \"100ms\"\n")
    };
    let text = format!(
        "{}\n{}{}{}",
        three("one-for-one", "b", "")
            .replace("intensity = 5", "intensity = 1")
            .replace("for = \"2s\"", "for = \"100ms\""),
        kill("c", "12s"),
        kill("b", "16s"),
        kill("c", "17s"),
    )
    .replace("[supervision.services]", "[supervision.root]\nintensity = 1\nperiod = \"60s\"\n[supervision.services]");
    let sc = scenario(&text);
    let out = simulate(&sc, 1, None).unwrap();
    let escalations: Vec<&str> = out
        .events
        .iter()
        .filter(|e| e.event.kind().name() == "supervisor_escalate")
        .map(|e| e.target.as_str())
        .collect();
    assert_eq!(escalations, vec!["services", "services", "root"]);
    match &out.ending {
        Ending::Aborted(why) => assert!(why.contains("root supervisor gave up"), "{why}"),
        other => panic!("{other:?}"),
    }
    let summary = ag06_lab::report::Summary::new(&sc, &out, ag06_lab::model::summary::Mode::Simulated, 0.0);
    assert_eq!(summary.verdict, ag06_lab::report::Verdict::Fail);
    assert!(out.events.iter().any(|e| e.event.kind().name() == "supervisor_restart"));
}

/// A service `b` overloaded by `a`: 10 requests/s against a capacity of 2.5/s, with `probes` appended.
fn overloaded(probes: &str) -> String {
    format!(
        r#"
duration = "60s"
[load]
entry = "a"
arrivals = "constant"
rate_per_s = 10.0
[[services]]
name = "a"
workers = 100
latency = {{ dist = "constant", value = "1ms" }}
calls = ["b"]
[[services]]
name = "b"
workers = 1
queue = 5
latency = {{ dist = "constant", value = "400ms" }}
{probes}
[supervision.services]
intensity = 100
period = "60s"
"#
    )
}

#[test]
fn a_failing_readiness_check_takes_the_service_out_of_rotation_and_never_restarts_it() {
    // Kubernetes: "If the readiness probe fails, the endpoints controller removes the Pod's IP address from
    // the endpoints of all Services" (no restart: that is liveness). b's readiness probe, served through
    // its queue, is refused (queue full) or waits behind 4 x 400 ms > the 1 s timeout: 3 failures make b
    // not ready; its requests are then refused at once (rejected), its queue drains, the next probe passes
    // and b is back in rotation.
    let text = overloaded(
        "[services.health]\ninterval = \"5s\"\ntimeout = \"1s\"\nfailure_threshold = 3\nprobe = \"readiness\"",
    );
    let (_, out) = sim(&text);
    let kinds: Vec<(f64, &str)> =
        out.events.iter().filter(|e| e.target == "b").map(|e| (e.t.as_secs_f64(), e.event.kind().name())).collect();
    let names: Vec<&str> = kinds.iter().map(|k| k.1).collect();
    assert!(names.contains(&"not_ready") && names.contains(&"ready"), "{kinds:?}");
    assert!(!names.contains(&"remediation") && !names.contains(&"actor_restart"), "{kinds:?}");
    assert_eq!(out.children[1].restarts, 0, "a readiness failure never restarts");
    assert_eq!(out.health.remediations, 0);
    // Out of rotation from the first not_ready to the next ready: every arrival meanwhile (10/s) was
    // refused at once; the other outcomes decided then are the at most 6 requests already inside (1 in
    // process, 5 queued).
    let off = kinds.iter().find(|k| k.1 == "not_ready").unwrap().0;
    let on = kinds.iter().find(|k| k.1 == "ready" && k.0 > off).unwrap().0;
    let b = &out.services[1];
    let w = 5.0; // the default window
    let span: Vec<_> = b.rows.iter().filter(|r| r.t_s >= (off / w).ceil() * w && r.t_s + w <= on).collect();
    let refused: u64 = span.iter().map(|r| r.counts.rejected).sum();
    let decided: u64 = span.iter().map(|r| r.counts.requests).sum();
    let covered = span.len() as f64 * w;
    assert!(covered > 0.0, "out of rotation from {off} s to {on} s");
    assert!((refused as f64 - 10.0 * covered).abs() <= 1.0, "{refused} refused in {covered} s");
    assert!(decided - refused <= 6, "{decided} decided, {refused} refused");

    // The same probe as liveness (answered by the process itself) keeps passing: nothing happens.
    let (_, live) = sim(&text.replace("probe = \"readiness\"", "probe = \"liveness\""));
    assert_eq!(live.health.checks_failed, 0);
    assert_eq!(live.children[1].restarts, 0);
}

#[test]
fn a_service_with_a_readiness_probe_gets_traffic_only_once_it_has_passed() {
    // Kubernetes: "The default state of readiness before the initial delay is Failure". With an initial
    // delay of 3 s and constant arrivals every 100 ms, the 29 requests before 3 s are refused; the probe
    // at 3 s passes (b is idle) and every later request is served.
    let text = overloaded("[services.health]\ninitial_delay = \"3s\"\nprobe = \"readiness\"")
        .replace("value = \"400ms\"", "value = \"10ms\"");
    let (_, out) = sim(&text);
    let b = &out.services[1];
    assert_eq!(b.counts.rejected, 29, "arrivals at 0.1 .. 2.9 s");
    assert_eq!(b.counts.ok, b.counts.requests - 29);
    let ready: Vec<f64> =
        out.events.iter().filter(|e| e.event.kind().name() == "ready").map(|e| e.t.as_secs_f64()).collect();
    assert_eq!(ready, [3.0]);
}

#[test]
fn a_startup_probe_holds_liveness_off_while_a_slow_service_starts() {
    // Kubernetes' canonical case for startup probes: b takes 45 s to start. A liveness probe (every 10 s,
    // 3 failures) alone kills it before it ever starts: remediation at 20 s, the restart 1 s later starts
    // it from zero again, and so on: b never serves. A startup probe (every 10 s, 10 failures: up to 100 s
    // to start) holds liveness off until it passes, at the first probe after 45 s (50 s): one start, no
    // restart, served from 45 s.
    let liveness = "[[services.health]]\nprobe = \"liveness\"\n";
    let startup = "[[services.health]]\nprobe = \"startup\"\nfailure_threshold = 10\n";
    let slow = |probes: &str| {
        overloaded(&format!("startup = \"45s\"\n{probes}"))
            .replace("value = \"400ms\"", "value = \"10ms\"")
            .replace("duration = \"60s\"", "duration = \"120s\"")
    };
    let (_, killed) = sim(&slow(liveness));
    assert!(killed.children[1].restarts >= 4, "restarted again and again: {}", killed.children[1].restarts);
    assert_eq!(killed.services[1].counts.ok, 0, "it never started");
    let (_, held) = sim(&slow(&format!("{startup}{liveness}")));
    assert_eq!(held.children[1].restarts, 0);
    let started: Vec<(f64, &str)> = held
        .events
        .iter()
        .filter(|e| e.target == "b" && e.event.kind().name().starts_with("health"))
        .map(|e| (e.t.as_secs_f64(), e.event.kind().name()))
        .collect();
    assert_eq!(started, [(50.0, "health_recovered")], "the startup check passed at 50 s, nothing failed");
    // Arrivals every 100 ms: refused before 45 s (449 of them), served after.
    let b = &held.services[1];
    assert_eq!(b.counts.rejected, 449);
    assert_eq!(b.counts.ok + b.counts.rejected, b.counts.requests);
}

#[test]
fn liveness_fails_while_a_service_is_down_and_recovers() {
    let text = r#"
duration = "60s"
[load]
entry = "a"
rate_per_s = 10.0
[[services]]
name = "a"
workers = 4
latency = { dist = "constant", value = "1ms" }
[services.health]
interval = "2s"
timeout = "500ms"
failure_threshold = 2
remediate = false
[[chaos]]
fault = "kill"
target = "a"
at = "10s"
for = "10s"
"#;
    let (_, out) = sim(text);
    let health: Vec<(f64, &str)> = out
        .events
        .iter()
        .filter(|e| e.event.kind().name().starts_with("health"))
        .map(|e| (e.t.as_secs_f64(), e.event.kind().name()))
        .collect();
    // Down from 10 s to 20 s (the kill at 10 s comes before the probe at 10 s: it was scheduled first).
    // The probes at 10 s and 12 s time out: failed at 12.5 s. The restart at 20 s is a new container: its
    // probes start afresh and a liveness check starts passing (the kubelet's initial Success), so the
    // status is healthy again at once; the first probe of the new container, at 20 s, passes.
    let want = vec![(12.5, "health_failed"), (12.5, "health_status"), (20.0, "health_status")];
    assert_eq!(health, want);
    assert_eq!(out.health.status, Some(ag06_lab::resilience::Status::Healthy));
    // One component: failing means critical (0% passing), for 7.5 s.
    assert!((out.health.critical_s - 7.5).abs() < 1e-9, "{}", out.health.critical_s);
}

#[test]
fn the_autoscaler_follows_the_load_up_and_down() {
    // 4 workers x 100 ms of work: capacity 40/s. The load ramps to 80/s and back to 10/s; the autoscaler
    // (target 50%) must grow the pool to about 80 x 0.1 / 0.5 = 16 workers and shrink it afterwards.
    let text = r#"
duration = "30m"
window = "30s"
[load]
entry = "a"
rate_per_s = 10.0
stages = [
  { duration = "2m", target_per_s = 80.0 },
  { duration = "10m", target_per_s = 80.0 },
  { duration = "2m", target_per_s = 10.0 },
]
[[services]]
name = "a"
workers = 4
queue = 100000
latency = { dist = "exponential", mean = "100ms" }
[services.autoscale]
target_utilization = 0.5
min_workers = 2
max_workers = 40
interval = "15s"
scale_down_stabilization = "2m"
provisioning_delay = "20s"
"#;
    let (_, out) = sim(text);
    let rows = &out.services[0].rows;
    let peak = rows.iter().filter(|r| r.t_s >= 300.0 && r.t_s < 700.0).map(|r| r.workers).fold(0.0, f64::max);
    assert!((14.0..=22.0).contains(&peak), "workers during the plateau: {peak}");
    let last = rows.last().unwrap().workers;
    assert!(last <= 4.0, "workers at the end: {last}");
    assert!(out.scaling[0].scale_ups >= 1 && out.scaling[0].scale_downs >= 1);
    // Utilisation settles near the target on the plateau.
    let u: Vec<f64> = rows.iter().filter(|r| r.t_s >= 400.0 && r.t_s < 700.0).map(|r| r.utilization).collect();
    let mean_u = u.iter().sum::<f64>() / u.len() as f64;
    assert!((mean_u - 0.5).abs() < 0.1, "{mean_u}");
}

/// front (1 ms of its own, then a 99 ms call to back) at a constant 100 requests/s, 20 workers,
/// autoscaled on `metric` against 50%.
fn io_bound(metric: &str) -> String {
    format!(
        r#"
duration = "2m"
drain = "10s"
[load]
entry = "front"
arrivals = "constant"
rate_per_s = 100.0
[[services]]
name = "front"
workers = 20
queue = 100000
latency = {{ dist = "constant", value = "1ms" }}
calls = ["back"]
[services.autoscale]
metric = "{metric}"
target_utilization = 0.5
min_workers = 1
max_workers = 50
scale_down_stabilization = "30s"
[[services]]
name = "back"
workers = 100
latency = {{ dist = "constant", value = "99ms" }}
"#
    )
}

#[test]
fn the_hpa_scales_on_cpu_which_a_worker_waiting_for_a_dependency_does_not_use() {
    // Kubernetes' CPU utilisation is CPU time over the request: a worker blocked on a dependency uses none.
    // front's workers are held 100 ms a request but compute for 1 ms: 100/s x 1 ms / 20 = 0.5% CPU, so
    // the HPA wants ceil(20 x 0.005 / 0.5) = 1 worker and scales down to it (the lab then shows what CPU
    // scaling does to an I/O-bound service: its latency explodes). Held workers, 100/s x 100 ms / 20 = 50%,
    // are exactly on target: the concurrency metric keeps 20.
    let (_, cpu) = sim(&io_bound("cpu"));
    let down: Vec<(f64, f64)> = cpu
        .events
        .iter()
        .filter_map(|e| match &e.event {
            ag06_lab::model::event::Event::ScaleDown { to, utilization, .. } => Some((f64::from(*to), *utilization)),
            _ => None,
        })
        .collect();
    assert_eq!(down.first().map(|d| d.0), Some(1.0), "{down:?}");
    // The first 15 s: arrivals at 0.01 .. 15.00 s, 1 ms of CPU each, over 20 workers x 15 s.
    assert!((down[0].1 - 1500.0 * 0.001 / (20.0 * 15.0)).abs() < 1e-4, "{down:?}");
    assert_eq!(cpu.services[0].rows.last().unwrap().workers, 1.0);
    assert!(cpu.client.latency.quantile_ms(0.99).unwrap() > 1000.0, "one worker held 100 ms cannot serve 100/s");

    let (_, held) = sim(&io_bound("concurrency"));
    assert_eq!(held.scaling[0].scale_ups + held.scaling[0].scale_downs, 0, "on target: no change");
    let on: Vec<f64> =
        held.services[0].rows.iter().filter(|r| r.t_s >= 5.0 && r.t_s < 115.0).map(|r| r.utilization).collect();
    assert!(on.iter().all(|u| (u - 0.5).abs() < 0.01), "{on:?}");
}

#[test]
fn the_hpa_evaluates_every_period_while_workers_are_provisioning() {
    // 30 requests/s x 100 ms of CPU on 2 workers: saturated (utilisation 1.0) against a target of 0.25.
    // At 15 s the HPA asks for ceil(2 x 4) = 8, limited to max(2 x 2, 2 + 4) = 6. Kubernetes evaluates
    // again every 15 s whatever is still starting: at 30 s the 2 running are still saturated and the 4
    // pending count as idle: 4 x 2 / 6 = 1.33 > 1.1, so it asks for ceil(1.33 x 6) = 8, well before the
    // first workers are up at 15 + 60 = 75 s.
    let text = r#"
duration = "2m"
[load]
entry = "a"
arrivals = "constant"
rate_per_s = 30.0
[[services]]
name = "a"
workers = 2
queue = 100000
latency = { dist = "constant", value = "100ms" }
[services.autoscale]
target_utilization = 0.25
min_workers = 1
max_workers = 40
provisioning_delay = "60s"
"#;
    let (_, out) = sim(text);
    let scaling: Vec<(f64, String)> = out
        .events
        .iter()
        .filter(|e| e.event.kind().name().starts_with("scale"))
        .map(|e| (e.t.as_secs_f64(), format!("{} {}", e.event.kind().name(), e.event.detail(&e.target))))
        .collect();
    let kinds: Vec<(f64, &str)> = scaling.iter().map(|(t, d)| (*t, d.split(' ').next().unwrap())).collect();
    assert_eq!(&kinds[..3], [(15.0, "scale_requested"), (30.0, "scale_requested"), (75.0, "scale_up")], "{scaling:?}");
    assert!(kinds.contains(&(90.0, "scale_up")), "the second request is up 60 s after it: {scaling:?}");
    assert!(scaling[0].1.contains("2 -> 6") && scaling[1].1.contains("6 -> 8"), "{scaling:?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, ..Default::default() })]
    /// Whatever the overload and the probe's settings, a readiness failure never restarts the service.
    #[test]
    fn a_readiness_failure_never_restarts(
        rate in 2.0f64..40.0,
        latency_ms in 50u64..800,
        interval_s in 1u64..10,
        threshold in 1u32..4,
    ) {
        let text = overloaded(&format!(
            "[services.health]\nprobe = \"readiness\"\ninterval = \"{interval_s}s\"\nfailure_threshold = {threshold}"
        ))
        .replace("rate_per_s = 10.0", &format!("rate_per_s = {rate}"))
        .replace("value = \"400ms\"", &format!("value = \"{latency_ms}ms\""));
        let (_, out) = sim(&text);
        proptest::prop_assert_eq!(out.children[1].restarts, 0);
        proptest::prop_assert_eq!(out.health.remediations, 0);
        proptest::prop_assert!(!out.events.iter().any(|e| e.event.kind().name() == "remediation"));
    }
}

/// A service and the AG06 under a root with `strategy`: the services supervisor (intensity 1 in 60 s)
/// gives up at 12 s (a second kill of `a` within its period); the device's supervisor (the same) gives up
/// at 22 s (a second disconnect).
fn two_subtrees(strategy: &str) -> String {
    format!(
        r#"
duration = "30s"
[load]
entry = "a"
rate_per_s = 20.0
[[services]]
name = "a"
workers = 4
latency = {{ dist = "constant", value = "5ms" }}
[device]
sample_rate_hz = 48000
buffer_frames = 256
[device.inputs.ch1]
source = {{ kind = "sine", freq_hz = 440.0, level_dbfs = -12.0 }}
[supervision.root]
strategy = "{strategy}"
intensity = 10
period = "60s"
[supervision.services]
intensity = 1
period = "60s"
[supervision.device]
intensity = 1
period = "60s"
[[chaos]]
fault = "kill"
target = "a"
at = "10s"
for = "100ms"
[[chaos]]
fault = "kill"
target = "a"
at = "12s"
for = "100ms"
[[chaos]]
fault = "device-disconnect"
target = "device"
at = "20s"
for = "100ms"
[[chaos]]
fault = "device-disconnect"
target = "device"
at = "22s"
for = "100ms"
"#
    )
}

/// The (time, kind, target) of the supervision events of `out`.
fn supervision(out: &ag06_lab::run::RunOutput) -> Vec<(f64, String, String)> {
    out.events
        .iter()
        .filter(|e| {
            matches!(
                e.event.kind().name(),
                "actor_stop" | "actor_restart" | "supervisor_escalate" | "supervisor_restart"
            )
        })
        .map(|e| (e.t.as_secs_f64(), e.event.kind().name().to_string(), e.target.clone()))
        .collect()
}

#[test]
fn the_root_applies_its_strategy_to_its_running_subtrees() {
    let at = |events: &[(f64, String, String)], t: f64| -> Vec<(String, String)> {
        events.iter().filter(|e| e.0 == t).map(|e| (e.1.clone(), e.2.clone())).collect()
    };
    let s = |k: &str, t: &str| (k.to_string(), t.to_string());
    // OTP one_for_all at the root: when the services subtree gives up, the running device subtree is
    // terminated too, then both restart in start order (services, device), at once.
    let (_, all) = sim(&two_subtrees("one-for-all"));
    let ev = supervision(&all);
    assert_eq!(
        at(&ev, 12.0),
        [
            s("supervisor_escalate", "services"),
            s("actor_stop", "device"),
            s("supervisor_restart", "services"),
            s("supervisor_restart", "device"),
            s("actor_restart", "a"),
            s("actor_restart", "device"),
        ],
        "{ev:?}"
    );
    // And when the device subtree gives up, the services are terminated and restarted.
    let at22 = at(&ev, 22.0);
    assert!(at22.contains(&s("actor_stop", "a")) && at22.contains(&s("actor_restart", "a")), "{at22:?}");
    // one_for_one: only the subtree that gave up restarts.
    let (_, one) = sim(&two_subtrees("one-for-one"));
    let ev = supervision(&one);
    assert!(!at(&ev, 12.0).contains(&s("actor_stop", "device")), "{ev:?}");
    assert!(!at(&ev, 22.0).contains(&s("actor_stop", "a")), "{ev:?}");
    // rest_for_one: the device subtree was started after the services: it goes with them, not the reverse.
    let (_, rest) = sim(&two_subtrees("rest-for-one"));
    let ev = supervision(&rest);
    assert!(at(&ev, 12.0).contains(&s("actor_stop", "device")), "{ev:?}");
    assert!(!at(&ev, 22.0).contains(&s("actor_stop", "a")), "{ev:?}");
}
