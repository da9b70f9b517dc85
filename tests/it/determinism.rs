//! Same scenario and seed: byte-identical outputs (but `wall_s`), across runs, processes and builds.

use std::path::Path;
use std::process::Command;

use super::common::{read, root, run_bin};

/// Every output file of a run directory, with `wall_s` blanked out.
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let mut bytes = std::fs::read(e.path()).unwrap();
            if name == "summary.json" {
                let text = String::from_utf8(bytes).unwrap();
                bytes = text
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("\"wall_s\""))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into_bytes();
            }
            (name, bytes)
        })
        .collect();
    files.sort();
    for f in ["summary.json", "timeseries.csv", "client.csv", "slo.csv", "events.csv", "report.html", "latency.hdr"] {
        assert!(files.iter().any(|(n, _)| n == f), "{f} is written");
    }
    files
}

fn run_to(bin: &Path, scenario: &Path, out: &Path, extra: &[&str]) {
    let o = Command::new(bin)
        .args(["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn same_seed_same_bytes_across_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_ag06-lab"));
    let sc = root().join("tests/fixtures/small.toml");
    let dirs: Vec<_> = (0..3).map(|i| tmp.path().join(format!("run{i}"))).collect();
    for d in &dirs {
        run_to(bin, &sc, d, &[]);
    }
    let first = outputs(&dirs[0]);
    let events = &first.iter().find(|f| f.0 == "events.csv").unwrap().1;
    assert!(events.iter().filter(|b| **b == b'\n').count() > 5, "the fixture produces events");
    for d in &dirs[1..] {
        assert_eq!(outputs(d), first);
    }
    // And a different seed gives different results.
    let other = tmp.path().join("other");
    run_to(bin, &sc, &other, &["--seed", "4"]);
    let timeseries = |o: &[(String, Vec<u8>)]| o.iter().find(|f| f.0 == "timeseries.csv").unwrap().1.clone();
    assert_ne!(timeseries(&outputs(&other)), timeseries(&first));
}

#[test]
fn seed_flag_overrides_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = root().join("tests/fixtures/small.toml");
    let out = tmp.path().join("r");
    let o = run_bin(&["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--seed", "99"]);
    assert!(o.status.code().is_some());
    assert!(read(&out.join("summary.json")).contains("\"seed\": 99,"));
}

/// Builds the binary with the dev (debug) and release profiles and compares their outputs. Slow the first
/// time (a release build), incremental afterwards.
#[test]
#[ignore = "builds the release binary: CI runs it beside its release build, cargo test --release --test it -- --ignored long_"]
fn long_debug_and_release_builds_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let cargo = env!("CARGO");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| root().join("target"));
    let sc = root().join("tests/fixtures/small.toml");
    let mut results = Vec::new();
    for (profile, dir) in [("dev", "debug"), ("release", "release")] {
        let st = Command::new(cargo)
            .current_dir(root())
            .args(["build", "--quiet", "--bin", "ag06-lab", "--profile", profile])
            .status()
            .expect("cargo runs");
        assert!(st.success(), "cargo build --profile {profile} failed");
        let out = tmp.path().join(profile);
        run_to(&target.join(dir).join("ag06-lab"), &sc, &out, &[]);
        results.push(outputs(&out));
    }
    assert_eq!(results[0], results[1]);
}

/// In real time (live mode's paced lab) a scenario without a device goes through exactly the events of
/// its simulation: same arrivals, same outcomes, same windows; it just waits for each instant.
#[test]
fn a_live_run_without_a_device_replays_the_simulation_in_real_time() {
    let text = r#"
duration = "1500ms"
drain = "200ms"
window = "250ms"
[load]
entry = "api"
rate_per_s = 200.0
[[services]]
name = "api"
workers = 2
latency = { dist = "exponential", mean = "4ms" }
calls = ["db"]
[[services]]
name = "db"
workers = 1
latency = { dist = "exponential", mean = "2ms" }
[[chaos]]
fault = "kill"
target = "db"
at = "600ms"
for = "200ms"
"#;
    let sc = super::common::scenario(text);
    let simulated = ag06_lab::run::simulate(&sc, 7, None).unwrap();
    let started = std::time::Instant::now();
    let setup = ag06_lab::run::LiveSetup {
        clock: Box::new(ag06_lab::live::clock_since(ag06_lab::live::now())),
        backend: None,
        gauges: None,
    };
    let live = ag06_lab::run::run_live(&sc, 7, None, setup).unwrap();
    let wall = started.elapsed().as_secs_f64();
    assert!(wall >= 1.5, "the live run waited for its instants: {wall} s");
    assert_eq!(live.end, simulated.end);
    assert_eq!(live.client.counts, simulated.client.counts);
    assert_eq!(ag06_lab::report::csv::timeseries(&sc, &live), ag06_lab::report::csv::timeseries(&sc, &simulated));
    assert_eq!(ag06_lab::report::csv::events(&live.events), ag06_lab::report::csv::events(&simulated.events));
    assert!(simulated.client.counts.failed > 0, "the kill shows");
}
