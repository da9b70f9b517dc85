//! The outputs of every bundled scenario, of a sweep and of a comparison validate against the JSON Schemas
//! that `ag06-lab schema --output X` prints, checked by an independent validator (the jsonschema crate).

use super::common::{root, run_bin};
use ag06_lab::sim::SimDuration;

fn schema_of(output: &str) -> jsonschema::Validator {
    let o = run_bin(&["schema", "--output", output]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let schema: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("the {output} schema is not a valid schema: {e}"))
}

fn assert_valid(v: &jsonschema::Validator, doc: &serde_json::Value, what: &str) {
    let errors: Vec<String> = v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

#[test]
fn every_bundled_scenarios_outputs_validate_against_their_schemas() {
    let (summary, events) = (schema_of("summary"), schema_of("events"));
    let mut files: Vec<_> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut kinds = std::collections::BTreeSet::new();
    for f in &files {
        let mut sc = ag06_lab::scenario::Scenario::load(f).unwrap();
        // The audio path is what costs time: two minutes of a device keep its sections; the services run
        // up to an hour, past their faults, so that their events are in the log.
        let cap = if sc.device.is_some() { 120 } else { 3600 };
        sc.duration = sc.duration.min(SimDuration::from_secs(cap));
        let out = ag06_lab::run::simulate(&sc, sc.seed, None).unwrap();
        let s = ag06_lab::report::Summary::new(&sc, &out, ag06_lab::model::summary::Mode::Simulated, 0.0);
        let bundle = ag06_lab::report::Bundle::of_run(&sc, out, &s).unwrap();
        let file = |name: &str| bundle.file(name).unwrap().bytes().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&file("summary.json")).unwrap();
        assert_valid(&summary, &doc, &format!("{}: summary.json", f.display()));
        for (i, line) in file("events.jsonl").split(|b| *b == b'\n').filter(|l| !l.is_empty()).enumerate() {
            let doc: serde_json::Value = serde_json::from_slice(line).unwrap();
            kinds.insert(doc["kind"].as_str().unwrap().to_string());
            assert_valid(&events, &doc, &format!("{}: events.jsonl line {}", f.display(), i + 1));
        }
    }
    assert!(kinds.len() >= 8, "the scenarios exercise many event kinds: {kinds:?}");
}

#[test]
fn sweep_and_compare_outputs_validate_against_their_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = root().join("tests/fixtures/small.toml");
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    for (dir, seeds) in [(&a, "1..=3"), (&b, "4..=6")] {
        let o = run_bin(&["sweep", sc.to_str().unwrap(), "--seeds", seeds, "--quiet", "--out", dir.to_str().unwrap()]);
        assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = run_bin(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--out", c.to_str().unwrap()]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |p: std::path::PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    assert_valid(&schema_of("sweep"), &read(a.join("sweep.json")), "sweep.json");
    assert_valid(&schema_of("compare"), &read(c.join("compare.json")), "compare.json");
    // The schemas are strict enough to reject a renamed field.
    let mut bad = read(a.join("sweep.json"));
    bad["kind"] = "swept".into();
    assert!(!schema_of("sweep").is_valid(&bad), "an unknown kind is rejected");
}
