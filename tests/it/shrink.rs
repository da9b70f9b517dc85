//! `ag06-lab shrink`: delta debugging over the faults (Zeller & Hildebrandt 2002, "Simplifying and
//! Isolating Failure-Inducing Input": ddmin returns a 1-minimal subset: removing any one of its elements
//! makes the test pass), then milder faults, every step a real run of a real scenario file.

use ag06_lab::model::shrink::{Failure, FailureKind, ShrinkPhase, ShrinkReport};

use crate::common::{read, root, run_bin};

fn shrink(scenario: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> (std::process::Output, ShrinkReport) {
    let mut args = vec!["shrink", scenario.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run_bin(&args);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r: ShrinkReport = serde_json::from_str(&read(&out.join("shrink.json"))).unwrap();
    (o, r)
}

/// `out/minimal.toml` is a complete scenario that fails (exit 1) when run.
fn minimal_fails(out: &std::path::Path, tmp: &std::path::Path) {
    let report = tmp.join("minimal-run");
    let o = run_bin(&["run", out.join("minimal.toml").to_str().unwrap(), "--quiet", "--out", report.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
}

fn objective(name: &str) -> Failure {
    Failure { kind: FailureKind::Objective, name: name.into() }
}

fn kept(r: &ShrinkReport) -> Vec<&str> {
    r.faults.iter().filter(|f| f.kept).map(|f| f.name.as_str()).collect()
}

/// The kept faults, each removed in turn from the minimal scenario: every one of those runs passes (the
/// 1-minimality ddmin promises), read from the steps that tried them.
fn removing_any_one_passes(r: &ShrinkReport) {
    let names = kept(r);
    if names.len() < 2 {
        return;
    }
    for drop in &names {
        let rest: Vec<String> = names.iter().filter(|n| *n != drop).map(|n| n.to_string()).collect();
        let tried = r.steps.iter().filter(|s| s.phase == ShrinkPhase::Ddmin && s.faults == rest).collect::<Vec<_>>();
        assert!(!tried.is_empty(), "ddmin tried the minimal set without {drop}");
        assert!(tried.iter().all(|s| !s.fails), "without {drop} it passes");
    }
}

#[test]
fn two_overlapping_faults_of_six_are_kept_and_the_minimal_scenario_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shrunk");
    let (_, r) = shrink(&root().join("scenarios/shrink-overlap.toml"), &out, &[]);
    assert_eq!(kept(&r), ["slow disk", "evening spike"], "{:#?}", r.faults);
    assert_eq!(r.holds_on_to, [objective("api p99 under 500ms")]);
    removing_any_one_passes(&r);
    assert!(!r.incomplete);
    // minimal.toml is a complete scenario that fails as written.
    minimal_fails(&out, dir.path());
    // The report shows both sides, each with its own run report.
    let html = read(&out.join("report.html"));
    assert!(html.contains("original/report.html") && html.contains("minimal/report.html"));
    assert!(out.join("original/summary.json").is_file() && out.join("minimal/summary.json").is_file());
    // `ag06-lab report` renders the same page again from the files.
    let o = run_bin(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read(&out.join("report.html")), html, "the same page from the files");
    // Every step is a real run or a cached one, and each milder change kept the failure.
    assert!(r.runs + r.cached >= r.steps.len() - 1, "{} runs, {} cached, {} steps", r.runs, r.cached, r.steps.len());
    let m: ag06_lab::report::Summary = serde_json::from_str(&read(&out.join("minimal/summary.json"))).unwrap();
    assert_eq!(m.faults.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["slow disk", "evening spike"]);
}

const BASE: &str = r#"
name = "one-fatal"
seed = 3
duration = "4m"
window = "10s"
drain = "30s"

[load]
entry = "api"
rate_per_s = 100.0

[[services]]
name = "api"
workers = 8
queue = 5000
latency = { dist = "exponential", mean = "40ms" }

[[slo]]
name = "api available"
service = "api"
sli = "availability"
objective = 0.99

[[slo]]
name = "api fast"
service = "api"
sli = "latency"
threshold = "500ms"
objective = 0.8
"#;

const FAULTS: &str = r#"
[[chaos]]
name = "flaky"
fault = "errors"
target = "api"
at = "30s"
for = "30s"
rate = 0.001

[[chaos]]
name = "neighbour"
fault = "cpu-stall"
target = "api"
at = "1m"
for = "30s"
factor = 1.2

[[chaos]]
name = "outage"
fault = "errors"
target = "api"
at = "2m"
for = "60s"
rate = 0.5

[[chaos]]
name = "blip"
fault = "latency"
target = "api"
at = "3m"
for = "10s"
add = "5ms"
"#;

#[test]
fn a_single_fatal_fault_among_harmless_ones_is_kept_alone_and_made_milder() {
    // 50% errors for 60 s of 240 s breaks 99% availability (about 12% of the requests fail); 1% failing
    // is the edge, so the shrink must stop with at least that much error left: rate x for >= 0.01 x 240 s,
    // e.g. 0.5 for 4.8 s or 0.04 for 60 s.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one-fatal.toml");
    std::fs::write(&file, format!("{BASE}{FAULTS}")).unwrap();
    let out = dir.path().join("shrunk");
    let (_, r) = shrink(&file, &out, &["--objective", "api available"]);
    assert_eq!(kept(&r), ["outage"]);
    assert_eq!(r.holds_on_to, [objective("api available")]);
    let outage = r.faults.iter().find(|f| f.name == "outage").unwrap();
    assert!(!outage.changes.is_empty(), "made milder: {outage:?}");
    let minimal: ag06_lab::report::Summary = serde_json::from_str(&read(&out.join("minimal/summary.json"))).unwrap();
    let c = &minimal.requests.counts;
    assert!(c.failed as f64 >= 0.01 * c.requests as f64, "still fails: {c:?}");
    minimal_fails(&out, dir.path());
    // Identical whatever --jobs.
    let out1 = dir.path().join("one-job");
    let (_, r1) = shrink(&file, &out1, &["--objective", "api available", "--jobs", "1"]);
    assert_eq!(r, r1);
    assert_eq!(read(&out.join("minimal.toml")), read(&out1.join("minimal.toml")));
    assert_eq!(read(&out.join("shrink.json")), read(&out1.join("shrink.json")));
}

#[test]
fn a_scenario_that_passes_or_an_objective_that_held_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fine.toml");
    std::fs::write(&file, format!("{BASE}{}", FAULTS.replace("rate = 0.5", "rate = 0.001"))).unwrap();
    let out = dir.path().join("out");
    let o = run_bin(&["shrink", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("passes at seed 3"), "{err}");
    assert!(!out.exists(), "nothing written");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, format!("{BASE}{FAULTS}")).unwrap();
    let o = run_bin(&["shrink", bad.to_str().unwrap(), "--objective", "api fast", "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("\"api fast\" did not fail"), "{err}");
}
