//! The output contract: file names, headers, schema keys, and figures that agree with each other.

use serde_json::Value;

use super::common::{read, root, run_bin};

fn run_small(out: &std::path::Path) -> i32 {
    let sc = root().join("tests/fixtures/small.toml");
    let o = run_bin(&["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    o.status.code().unwrap()
}

#[test]
fn summary_has_the_contract_keys_and_consistent_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    assert_eq!(run_small(&out), 0);
    let s: Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    for k in [
        "schema",
        "scenario",
        "seed",
        "mode",
        "simulated_s",
        "wall_s",
        "verdict",
        "requests",
        "latency_ms",
        "services",
        "slos",
    ] {
        assert!(s.get(k).is_some(), "summary.json lacks `{k}`");
    }
    assert_eq!(s["schema"], 1);
    assert_eq!(s["mode"], "simulated");
    assert_eq!(s["scenario"], "small");
    let r = &s["requests"];
    let sum = ["ok", "failed", "timed_out", "rejected"].iter().map(|k| r[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(r["total"].as_u64().unwrap(), sum);
    for k in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(s["latency_ms"][k].as_f64().unwrap() > 0.0, "latency_ms.{k}");
    }
    let l = &s["latency_ms"];
    assert!(l["p50"].as_f64() <= l["p90"].as_f64() && l["p90"].as_f64() <= l["p99"].as_f64());
    assert!(l["p99"].as_f64() <= l["p999"].as_f64() && l["p999"].as_f64() <= l["max"].as_f64());
    let services = s["services"].as_object().unwrap();
    assert_eq!(services.len(), 2);
    // Services appear in scenario order (serde_json::Value sorts keys, so look at the text).
    let text = read(&out.join("summary.json"));
    assert!(text.find("\"front\": {").unwrap() < text.find("\"back\": {").unwrap());
    for (name, v) in services {
        for k in ["requests", "ok", "failed", "timed_out", "rejected", "latency_ms", "utilization"] {
            assert!(v.get(k).is_some(), "services.{name} lacks `{k}`");
        }
        let u = v["utilization"].as_f64().unwrap();
        assert!(u > 0.0 && u < 1.0, "{name} utilisation {u}");
    }
    // The entry service sees every end-to-end request.
    assert_eq!(services["front"]["requests"], r["total"]);
    for slo in s["slos"].as_array().unwrap() {
        for k in ["name", "objective", "achieved", "met"] {
            assert!(slo.get(k).is_some(), "slo lacks `{k}`");
        }
        assert_eq!(
            slo["met"].as_bool().unwrap(),
            slo["achieved"].as_f64().unwrap() >= slo["objective"].as_f64().unwrap()
        );
    }
    assert_eq!(s["verdict"], "pass");
    assert_eq!(s["faults"].as_array().unwrap().len(), 3);
}

#[test]
fn timeseries_rows_add_up_to_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    run_small(&out);
    let s: Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    let mut rdr = csv::Reader::from_path(out.join("timeseries.csv")).unwrap();
    // The contract users parse (extend, don't rename).
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>().join(","),
        "t_s,service,requests,ok,failed,timed_out,rejected,p50_ms,p99_ms,max_ms,utilization,queue_depth,workers,wait_p99_ms"
    );
    let mut totals = std::collections::BTreeMap::<String, [u64; 5]>::new();
    let mut rows = 0;
    let mut last_t = -1.0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        rows += 1;
        let t: f64 = rec[0].parse().unwrap();
        assert!(t >= last_t, "rows in time order");
        last_t = t;
        let e = totals.entry(rec[1].to_string()).or_default();
        for (i, slot) in e.iter_mut().enumerate() {
            *slot += rec[2 + i].parse::<u64>().unwrap();
        }
        let req: u64 = rec[2].parse().unwrap();
        let parts: u64 = (3..7).map(|i| rec[i].parse::<u64>().unwrap()).sum();
        assert_eq!(req, parts);
    }
    // 2 min + drain at 10 s windows, 2 services.
    let windows = (s["simulated_s"].as_f64().unwrap() / 10.0).ceil() as usize;
    assert_eq!(rows, 2 * windows);
    for (name, t) in &totals {
        let v = &s["services"][name];
        assert_eq!(t[0], v["requests"].as_u64().unwrap(), "{name}");
        assert_eq!(t[1], v["ok"].as_u64().unwrap(), "{name}");
        assert_eq!(t[2], v["failed"].as_u64().unwrap(), "{name}");
    }
    let events = read(&out.join("events.csv"));
    assert_eq!(events.lines().next().unwrap(), "t_s,kind,target,detail");
    assert!(events.contains(",fault_start,back,"));
    assert!(events.contains(",actor_restart,back,downtime 3s"));
}

#[test]
fn a_failed_objective_exits_1_and_says_how_to_reproduce() {
    let tmp = tempfile::tempdir().unwrap();
    let text = read(&root().join("tests/fixtures/small.toml")).replace("objective = 0.9", "objective = 0.9999");
    let sc = tmp.path().join("strict.toml");
    std::fs::write(&sc, text).unwrap();
    let out = tmp.path().join("r");
    let o = run_bin(&["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("--seed 3"), "{stderr}");
    let s: Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    assert_eq!(s["verdict"], "fail");
    assert!(String::from_utf8_lossy(&o.stdout).contains("MISSED"));
}

#[test]
fn schema_command_prints_a_json_schema_of_the_format() {
    let o = run_bin(&["schema"]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["$schema"].as_str().unwrap().contains("json-schema.org"));
    let props = v["properties"].as_object().unwrap();
    for k in ["name", "seed", "duration", "window", "drain", "load", "services", "slo", "chaos"] {
        assert!(props.contains_key(k), "schema lacks `{k}`");
    }
    let text = String::from_utf8_lossy(&o.stdout);
    for k in ["rate_per_s", "target_per_s", "error_rate", "restart_delay", "lognormal", "threshold"] {
        assert!(text.contains(k), "schema lacks `{k}`");
    }
}

/// The files that grow with a run (a row per window) are spooled to temporary files rather than held in
/// memory: their bytes, the files written and the page drawn from them must be exactly those of the rows
/// rendered in memory, read as often as they are asked for.
#[test]
fn spooled_files_are_exactly_the_rows_rendered_in_memory() {
    use ag06_lab::model::rows::to_csv;
    use ag06_lab::report::{Bundle, Contents, csv};
    let sc = ag06_lab::scenario::Scenario::load(&root().join("tests/fixtures/small.toml")).unwrap();
    // The same seed twice: one run rendered in memory, the other through the bundle.
    let seen = ag06_lab::run::simulate(&sc, sc.seed, None).unwrap();
    let out = ag06_lab::run::simulate(&sc, sc.seed, None).unwrap();
    let timeseries = csv::timeseries(&sc, &seen);
    let client = to_csv(csv::client_rows(&seen));
    let summary = ag06_lab::report::Summary::new(&sc, &out, ag06_lab::model::summary::Mode::Simulated, 0.0);
    let bundle = Bundle::of_run(&sc, out, &summary).unwrap();
    for (name, want) in [("timeseries.csv", &timeseries), ("client.csv", &client)] {
        let contents = &bundle.files.iter().find(|f| f.0 == name).unwrap().1;
        assert!(matches!(contents, Contents::Spooled(_)), "{name} is spooled");
        for _ in 0..2 {
            assert_eq!(&bundle.file(name).unwrap().bytes().unwrap().into_owned(), want, "{name}");
        }
    }
    // The page drawn from the spooled files is the page drawn from the same bytes in memory.
    let in_memory: Vec<(String, Vec<u8>)> = bundle
        .files
        .iter()
        .map(|(n, _)| (n.to_string(), bundle.file(n).unwrap().bytes().unwrap().into_owned()))
        .collect();
    let page = ag06_lab::report::html::render_run(|n| {
        in_memory.iter().find(|f| f.0 == n).map(|f| ag06_lab::report::html::data::RunFile::Bytes(&f.1))
    })
    .unwrap();
    assert_eq!(page.as_bytes(), &bundle.file("report.html").unwrap().bytes().unwrap()[..]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    bundle.write_to(&dir).unwrap();
    assert_eq!(std::fs::read(dir.join("timeseries.csv")).unwrap(), timeseries);
    assert_eq!(std::fs::read(dir.join("client.csv")).unwrap(), client);
}

/// Without a usable temporary directory the per-window files are held in memory instead: the run writes
/// the same files.
#[test]
fn a_run_without_a_temporary_directory_writes_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = root().join("tests/fixtures/small.toml");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    assert_eq!(run_small(&a), 0);
    let o = super::common::bin()
        .args(["run", sc.to_str().unwrap(), "--out", b.to_str().unwrap(), "--quiet"])
        .env("TMPDIR", tmp.path().join("no such directory"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["timeseries.csv", "client.csv", "report.html"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f}");
    }
}
