//! Sweeps, merges and the release gate (compare), and junit.xml everywhere.

use std::path::{Path, PathBuf};

use ag06_lab::compare::{Test, Verdict, compare};
use ag06_lab::scenario::Scenario;
use ag06_lab::sweep;

use super::common::{read, run_bin};

const FAST: &str = r#"
name = "fast"
duration = "2m"
drain = "5s"
[load]
entry = "api"
rate_per_s = 40.0
[[services]]
name = "api"
workers = 2
latency = { dist = "exponential", mean = "20ms" }
calls = ["db"]
[[services]]
name = "db"
workers = 4
latency = { dist = "lognormal", median = "5ms", p99 = "30ms" }
error_rate = 0.01
[[slo]]
name = "api availability"
service = "api"
sli = "availability"
objective = 0.95
"#;

fn sweep_of(text: &str, seeds: &[u64], out: &Path) -> sweep::SweepSummary {
    let sc = Scenario::from_toml(text, "fast.toml", "fast").unwrap();
    sweep::run(&sc, seeds, 2, out, &|_, _| {}).unwrap()
}

#[test]
fn merging_shards_equals_one_sweep_over_the_same_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let seeds: Vec<u64> = (1..=7).collect();
    let all = tmp.path().join("all");
    sweep_of(FAST, &seeds, &all);
    let shards: Vec<PathBuf> = (0..3)
        .map(|i| {
            let d = tmp.path().join(format!("shard{i}"));
            sweep_of(FAST, &sweep::shard(&seeds, (i, 3)), &d);
            d
        })
        .collect();
    let merged = tmp.path().join("merged");
    sweep::merge(&shards, &merged).unwrap();
    assert_eq!(read(&all.join("sweep.json")), read(&merged.join("sweep.json")));
    assert_eq!(std::fs::read(all.join("latency.hdr")).unwrap(), std::fs::read(merged.join("latency.hdr")).unwrap());
    assert!(read(&merged.join("junit.xml")).contains("<testcase classname=\"slo\" name=\"api availability\""));
    // Merging the same shard twice is harmless; a shard of another scenario is refused.
    sweep::merge(&[shards[0].clone(), shards[0].clone(), shards[1].clone(), shards[2].clone()], &tmp.path().join("m2"))
        .unwrap();
    let other = tmp.path().join("other");
    sweep_of(&FAST.replace("name = \"fast\"", "name = \"other\""), &[99], &other);
    assert!(sweep::merge(&[all.clone(), other], &tmp.path().join("m3")).is_err());
}

#[test]
fn compare_flags_a_20_percent_latency_regression() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    let cand = tmp.path().join("cand");
    let seeds: Vec<u64> = (1..=10).collect();
    sweep_of(FAST, &seeds, &base);
    // The candidate's api takes 20% longer. Different seeds, as two releases would get.
    let slower = FAST.replace("mean = \"20ms\"", "mean = \"24ms\"");
    sweep_of(&slower, &(11..=20).collect::<Vec<_>>(), &cand);
    let c = compare(&base, &cand, Test::Welch, 0.01).unwrap();
    let verdict = |f: &str| c.figures.iter().find(|x| x.figure == f).unwrap().verdict;
    assert_eq!(verdict("latency_ms.mean"), Verdict::Regression);
    assert_eq!(verdict("services.api.latency_ms.mean"), Verdict::Regression);
    assert!(c.regressions >= 2);
    // Through the CLI: exit 1 and a junit.xml naming the regression.
    let out = tmp.path().join("cmp");
    let o = run_bin(&["compare", base.to_str().unwrap(), cand.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let junit = read(&out.join("junit.xml"));
    assert!(junit.contains("regression: baseline"), "{junit}");
    // The reverse direction is an improvement of the same figures.
    let r = compare(&cand, &base, Test::Welch, 0.01).unwrap();
    let rv = |f: &str| r.figures.iter().find(|x| x.figure == f).unwrap().verdict;
    assert_eq!(rv("latency_ms.mean"), Verdict::Improvement);
    assert_eq!(rv("services.api.latency_ms.mean"), Verdict::Improvement);
}

#[test]
fn same_code_with_different_seeds_is_flagged_about_alpha_of_the_time() {
    // 30 pairs of 8-seed sweeps of the same scenario, every figure tested at alpha = 0.05: the share of
    // significant results is about alpha (figures are correlated, so allow some slack), and regressions
    // about half of it.
    let tmp = tempfile::tempdir().unwrap();
    let alpha = 0.05;
    let (mut tests, mut significant, mut regressions) = (0usize, 0usize, 0usize);
    for pair in 0..30u64 {
        let a = tmp.path().join(format!("a{pair}"));
        let b = tmp.path().join(format!("b{pair}"));
        sweep_of(FAST, &(pair * 100..pair * 100 + 8).collect::<Vec<_>>(), &a);
        sweep_of(FAST, &(pair * 100 + 50..pair * 100 + 58).collect::<Vec<_>>(), &b);
        let c = compare(&a, &b, Test::Welch, alpha).unwrap();
        for f in &c.figures {
            if f.verdict == Verdict::NotEnoughData {
                continue;
            }
            tests += 1;
            if f.verdict != Verdict::NoSignificantChange {
                significant += 1;
            }
            if f.verdict == Verdict::Regression {
                regressions += 1;
            }
        }
        std::fs::remove_dir_all(&a).unwrap();
        std::fs::remove_dir_all(&b).unwrap();
    }
    let rate = significant as f64 / tests as f64;
    assert!(tests > 300, "{tests} tests");
    assert!(rate <= 2.0 * alpha, "{significant} of {tests} significant ({rate})");
    assert!((regressions as f64) / (tests as f64) <= alpha, "{regressions} regressions of {tests}");
}

#[test]
fn every_output_directory_has_a_junit_xml() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join("fast.toml");
    std::fs::write(&sc, FAST).unwrap();
    let run = tmp.path().join("run");
    assert_eq!(run_bin(&["run", sc.to_str().unwrap(), "--out", run.to_str().unwrap(), "-q"]).status.code(), Some(0));
    let junit = read(&run.join("junit.xml"));
    assert!(junit.contains("tests=\"1\" failures=\"0\""), "{junit}");
    let sw = tmp.path().join("sw");
    let o = run_bin(&[
        "sweep",
        sc.to_str().unwrap(),
        "--seeds",
        "1..=3",
        "--jobs",
        "2",
        "--out",
        sw.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(sw.join("junit.xml").is_file() && sw.join("seeds/2/junit.xml").is_file());
    // A failing objective is a failure with its figures.
    let strict = tmp.path().join("strict.toml");
    std::fs::write(&strict, FAST.replace("objective = 0.95", "objective = 0.9999")).unwrap();
    let r2 = tmp.path().join("r2");
    assert_eq!(run_bin(&["run", strict.to_str().unwrap(), "--out", r2.to_str().unwrap(), "-q"]).status.code(), Some(1));
    let junit = read(&r2.join("junit.xml"));
    assert!(junit.contains("<failure message=\"availability of api: achieved 0.9"), "{junit}");
}
