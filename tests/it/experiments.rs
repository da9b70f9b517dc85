//! Chaos experiments: steady-state hypotheses by phase, abort, and burn-rate alerts in a run.

use ag06_lab::report::{Summary, Verdict};
use ag06_lab::run::simulate;
use ag06_lab::sim::Ending;

use super::common::scenario;

const BASE: &str = r#"
duration = "5m"
drain = "5s"
[load]
entry = "front"
arrivals = "constant"
rate_per_s = 50.0
[[services]]
name = "front"
workers = 100
latency = { dist = "constant", value = "2ms" }
calls = ["back"]
[[services]]
name = "back"
workers = 100
latency = { dist = "constant", value = "10ms" }
"#;

fn run(text: &str) -> (ag06_lab::scenario::Scenario, ag06_lab::run::RunOutput, Summary) {
    let sc = scenario(text);
    let out = simulate(&sc, 1, None).unwrap();
    let s = Summary::new(&sc, &out, ag06_lab::model::summary::Mode::Simulated, 0.0);
    (sc, out, s)
}

#[test]
fn a_hypothesis_holds_before_and_after_a_fault_and_deviates_during_it() {
    let text = format!(
        r#"{BASE}
[experiment]
baseline = "1m"
recovery = "1m"
settle = "5s"
[[hypothesis]]
name = "front p99 under 50 ms"
service = "front"
metric = "p99_ms"
max = 50.0
[[hypothesis]]
name = "front available"
service = "front"
metric = "availability"
min = 0.99
[[chaos]]
fault = "latency"
target = "back"
at = "2m"
for = "30s"
add = "100ms"
"#
    );
    let (_, _, s) = run(&text);
    let h = s.hypothesis.as_ref().unwrap();
    assert_eq!(h.result.name(), "deviated");
    let names: Vec<String> = h.phases.iter().map(|p| p.name.to_string()).collect();
    assert_eq!(names, vec!["baseline", "fault: latency:back", "recovery"]);
    let p99 = &h.probes[0];
    let verdicts: Vec<bool> = p99.phases.iter().map(|c| c.ok).collect();
    assert_eq!(verdicts, vec![true, false, true]);
    // During the fault the worst window's p99 is the 112 ms the fault makes.
    assert!((p99.phases[1].value.unwrap() - 112.0).abs() < 0.2);
    assert!(h.probes[1].phases.iter().all(|c| c.ok), "availability holds throughout");
    assert_eq!(s.verdict, Verdict::Fail, "a deviated hypothesis fails the run");
}

#[test]
fn abort_after_stops_the_run_early_and_the_results_are_marked_aborted() {
    let text = format!(
        r#"{BASE}
[[hypothesis]]
name = "errors stay low"
service = "front"
metric = "error_rate"
max = 0.1
abort_after = "10s"
[[chaos]]
fault = "kill"
target = "back"
at = "60s"
for = "2m"
"#
    );
    let (_, out, s) = run(&text);
    match &out.ending {
        Ending::Aborted(why) => assert!(why.contains("errors stay low"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Breached from the window starting at 60 s; aborted at the first window end more than 10 s later.
    assert_eq!(out.end.as_secs_f64(), 75.0);
    assert_eq!(s.hypothesis.as_ref().unwrap().result.name(), "aborted");
    assert!(s.ended.to_string().starts_with("aborted"));
    assert_eq!(s.verdict, Verdict::Fail);
    assert!(out.events.iter().any(|e| e.event.kind().name() == "hypothesis_abort"));
}

#[test]
fn a_total_outage_pages_within_a_window_and_resolves_after_the_short_window() {
    // 99.9% availability; back fails everything for 2 minutes from 1 min on: burn rate 1000, so the
    // 1 h / 5 min page fires at the first window end (5 s windows) and resolves once the 5 min window is
    // clean again, 5 min after the outage.
    let text = format!(
        r#"{BASE}
[[slo]]
name = "front availability"
service = "front"
sli = "availability"
objective = 0.999
[[chaos]]
fault = "errors"
target = "back"
at = "60s"
for = "2m"
rate = 1.0
"#
    )
    .replace("duration = \"5m\"", "duration = \"10m\"");
    let (_, out, s) = run(&text);
    let slo = &s.slos[0];
    assert!(slo.paged);
    let page = slo.alerts.iter().find(|a| a.long_s == 3600.0).unwrap();
    assert_eq!(page.fired_at_s, 65.0);
    assert_eq!(page.resolved_at_s, Some(180.0 + 300.0));
    assert!(out.events.iter().any(|e| e.event.kind().name() == "alert_fired" && e.target == "front availability"));
    let b = slo.budget.as_ref().unwrap();
    // 6000 failed of 30000: the run's budget (30 bad) is burned 200 times over.
    assert_eq!(b.bad, 6000);
    assert!((b.consumed.unwrap() - 200.0).abs() < 0.5);
}

#[test]
fn the_default_alert_thresholds_follow_the_slo_period() {
    // The SRE workbook's rules are shares of the budget (2% in 1 h, 5% in 6 h, 10% in 3 d), so for a
    // 7-day objective their burn rates are 0.02 x 168 = 3.36, 0.05 x 28 = 1.4 and 0.1 x 168 / 72 = 0.233.
    // 1% errors over the whole run (burn 10 at 99.9%) exceed all three; `summary.json` reports the
    // threshold that applied.
    let text = format!(
        r#"{BASE}
[[slo]]
name = "front availability"
service = "front"
sli = "availability"
objective = 0.999
period = "7d"
[[chaos]]
fault = "errors"
target = "back"
at = "0s"
for = "5m"
rate = 0.01
"#
    );
    let (_, _, s) = run(&text);
    let slo = &s.slos[0];
    let mut thresholds: Vec<(f64, f64)> = slo.alerts.iter().map(|a| (a.long_s, a.burn_rate)).collect();
    thresholds.sort_by(|a, b| a.0.total_cmp(&b.0));
    thresholds.dedup();
    assert_eq!(thresholds, [(3600.0, 3.36), (6.0 * 3600.0, 1.4), (72.0 * 3600.0, 0.233333333)]);
}
