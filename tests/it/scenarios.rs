//! Every bundled scenario validates, and the README's first command works.

use super::common::{read, root, run_bin};

#[test]
fn every_bundled_scenario_validates() {
    let dir = root().join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2);
    let mut args = vec!["validate".to_string()];
    args.extend(files.iter().map(|f| f.to_str().unwrap().to_string()));
    let o = run_bin(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    for f in &files {
        assert!(String::from_utf8_lossy(&o.stdout).contains(f.to_str().unwrap()));
    }
}

#[test]
#[ignore = "an hour of 48 kHz audio, a minute in a debug build: CI runs it in release, cargo test --release --test it -- --ignored long_"]
fn long_karaoke_night_runs_and_writes_its_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("karaoke-night");
    let sc = root().join("scenarios/karaoke-night.toml");
    let o = run_bin(&["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["summary.json", "timeseries.csv", "events.csv", "audio.csv"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let s: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    // Arrivals for an hour, then at most the 30 s drain until the last request is answered.
    let t = s["simulated_s"].as_f64().unwrap();
    assert!((3600.0..=3630.0).contains(&t), "{t}");
    assert_eq!(s["slos"].as_array().unwrap().len(), 3);
    assert!(s["audio"]["periods"].as_u64().unwrap() > 675_000);
    // The crash during the spike shows in the failures and the event log.
    assert!(s["requests"]["failed"].as_u64().unwrap() > 1000);
    assert!(read(&out.join("events.csv")).contains("actor_crash,vocal-ai"));
}

#[test]
fn the_default_output_directory_is_reports_slash_the_scenario_name() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = root().join("tests/fixtures/small.toml");
    let o =
        super::common::bin().current_dir(tmp.path()).args(["run", sc.to_str().unwrap(), "--quiet"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(tmp.path().join("reports/small/summary.json").is_file());
}

#[test]
fn protections_contain_the_cascading_failure() {
    use ag06_lab::run::simulate;
    use ag06_lab::scenario::Scenario;
    let run = |f: &str| {
        let sc = Scenario::load(&root().join("scenarios").join(f)).unwrap();
        let out = simulate(&sc, sc.seed, None).unwrap();
        let s = ag06_lab::report::Summary::new(&sc, &out, ag06_lab::model::summary::Mode::Simulated, 0.0);
        (out, s)
    };
    let (bare, bare_s) = run("cascading-failure.toml");
    let (prot, prot_s) = run("cascading-failure-protected.toml");
    // Same load, same fault.
    assert_eq!(bare.client.counts.requests, prot.client.counts.requests);
    // Unprotected: the slowdown backs up into the gateway; protected: the breaker and the bulkhead turn
    // it into fast fallbacks, and nothing queues.
    assert!(bare_s.latency_ms.p99 > 10_000.0, "unprotected p99 {}", bare_s.latency_ms.p99);
    assert!(prot_s.latency_ms.p99 < 500.0, "protected p99 {}", prot_s.latency_ms.p99);
    assert!(bare.client.counts.rejected > 0);
    assert_eq!(prot.client.counts.ok, prot.client.counts.requests);
    let storage = &prot_s.services[2];
    assert!(storage.breaker_opens > 0 && storage.rejected_by_breaker > 0 && storage.fallbacks > 0);
    assert_eq!(bare_s.verdict, ag06_lab::report::Verdict::Fail);
    assert_eq!(prot_s.verdict, ag06_lab::report::Verdict::Pass);
}
