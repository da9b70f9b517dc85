//! Ctrl-C and SIGTERM keep what is done: a real child process gets the signal while it works, and what it
//! wrote is checked (issue 14, point 3). The signal is sent once the child says it has started working,
//! so the handler is installed; where the work is when the signal lands does not matter to the checks.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use ag06_lab::model::summary::{Ended, Summary, Verdict};
use ag06_lab::model::sweep::SweepSummary;

use crate::common::{bin, read};

/// An hour of a busy service: far longer than the tests wait before they interrupt it.
const LONG: &str = r#"
name = "long"
duration = "1h"
window = "10s"

[load]
entry = "api"
rate_per_s = 2000.0

[[services]]
name = "api"
workers = 32
latency = { dist = "exponential", mean = "5ms" }

[[slo]]
name = "api availability"
service = "api"
sli = "availability"
objective = 0.99
"#;

/// Starts `args` with stderr piped, reads stderr until a line contains `started`, then sends `signal`.
/// Returns the child (to wait for) and everything it wrote to stderr.
fn interrupt_when(args: &[&str], started: &str, signal: &str) -> (std::process::Output, String) {
    let mut child: Child =
        bin().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts");
    let mut err = BufReader::new(child.stderr.take().expect("stderr is piped"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = err.read_line(&mut line).expect("stderr reads");
        assert!(n > 0, "the child ended before it said `{started}`:\n{seen}");
        seen.push_str(&line);
        if line.contains(started) {
            break;
        }
    }
    let sent = Command::new("kill").args([signal, &child.id().to_string()]).status().expect("kill runs");
    assert!(sent.success(), "kill {signal} was delivered");
    err.read_to_string(&mut seen).expect("stderr reads");
    let out = child.wait_with_output().expect("the child ends");
    (out, seen)
}

#[test]
fn an_interrupted_run_writes_its_results_so_far() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("long.toml");
    std::fs::write(&scenario, LONG).unwrap();
    let out_dir = dir.path().join("out");
    let (out, stderr) = interrupt_when(
        &["-v", "run", scenario.to_str().unwrap(), "--out", out_dir.to_str().unwrap()],
        "simulating",
        "-INT",
    );
    // 128 + SIGINT, as a shell reports a process ended by Ctrl-C.
    assert_eq!(out.status.code(), Some(130), "stderr:\n{stderr}");
    let summary: Summary = serde_json::from_str(&read(&out_dir.join("summary.json"))).unwrap();
    assert_eq!(summary.ended, Ended::Interrupted);
    assert!(summary.simulated_s < 3600.0, "stopped where it was: {} s", summary.simulated_s);
    assert_eq!(summary.verdict, Verdict::Fail, "an unfinished run proves nothing: it cannot pass");
    for f in ["timeseries.csv", "client.csv", "events.csv", "events.jsonl", "junit.xml", "latency.hdr"] {
        assert!(out_dir.join(f).is_file(), "{f} is written");
    }
    assert!(read(&out_dir.join("report.html")).contains("<b>Interrupted</b>"), "the report says so");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ended interrupted"));
    assert!(stderr.contains("interrupted at"), "stderr says where it stopped:\n{stderr}");
}

#[test]
fn a_terminated_sweep_writes_the_seeds_it_finished() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("short.toml");
    // About a tenth of a second a seed: the sweep of 200 is far from done when the first seed reports.
    std::fs::write(&scenario, LONG.replace("\"1h\"", "\"30s\"")).unwrap();
    let out_dir = dir.path().join("sweep");
    let (out, stderr) = interrupt_when(
        &["sweep", scenario.to_str().unwrap(), "--seeds", "1..=200", "--jobs", "2", "--out", out_dir.to_str().unwrap()],
        "[1/200]",
        "-TERM",
    );
    assert_eq!(out.status.code(), Some(130), "stderr:\n{stderr}");
    let sweep: SweepSummary = serde_json::from_str(&read(&out_dir.join("sweep.json"))).unwrap();
    let incomplete = sweep.incomplete.as_ref().expect("the sweep is marked incomplete");
    assert!(!sweep.seeds.is_empty() && !incomplete.seeds_not_run.is_empty());
    let mut all: Vec<u64> = sweep.seeds.iter().chain(&incomplete.seeds_not_run).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (1..=200).collect::<Vec<_>>(), "every seed is either kept or listed as not run");
    for seed in &sweep.seeds {
        let s: Summary =
            serde_json::from_str(&read(&out_dir.join("seeds").join(seed.to_string()).join("summary.json"))).unwrap();
        assert_ne!(s.ended, Ended::Interrupted, "only finished runs are kept (seed {seed})");
    }
    assert_eq!(sweep.passed + sweep.failed, sweep.seeds.len(), "the aggregate covers the kept seeds");
    assert!(read(&out_dir.join("report.html")).contains("<b>Incomplete</b>"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("INCOMPLETE"));

    // A merge of the interrupted sweep stays incomplete.
    let merged = dir.path().join("merged");
    let m = bin().args(["merge", out_dir.to_str().unwrap(), "--out", merged.to_str().unwrap()]).output().unwrap();
    assert_eq!(m.status.code(), Some(1), "seeds that did not run did not pass");
    let back: SweepSummary = serde_json::from_str(&read(&merged.join("sweep.json"))).unwrap();
    assert_eq!(back.incomplete, sweep.incomplete);
}

#[test]
fn an_interrupted_shrink_writes_what_it_found_marked_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("long.toml");
    let faults =
        "\n[[chaos]]\nname = \"down\"\nfault = \"errors\"\ntarget = \"api\"\nat = \"1m\"\nfor = \"10m\"\nrate = 0.5\n";
    std::fs::write(&scenario, format!("{LONG}{faults}{}", faults.replace("\"down\"", "\"also down\""))).unwrap();
    let out_dir = dir.path().join("out");
    let (out, stderr) = interrupt_when(
        &["-v", "shrink", scenario.to_str().unwrap(), "--out", out_dir.to_str().unwrap()],
        "running the original",
        "-TERM",
    );
    assert_eq!(out.status.code(), Some(130), "stderr:\n{stderr}");
    let r: ag06_lab::model::shrink::ShrinkReport = serde_json::from_str(&read(&out_dir.join("shrink.json"))).unwrap();
    assert!(r.incomplete, "marked incomplete");
    assert!(out_dir.join("minimal.toml").is_file() && out_dir.join("report.html").is_file());
    assert!(stderr.contains("interrupted"), "{stderr}");
}

#[test]
fn an_interrupted_explore_writes_the_schedules_that_ran_marked_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("long.toml");
    let space = "\n[explore]\nmax_faults = 1\n[[explore.faults]]\nfault = \"errors\"\ntarget = \"api\"\nstart = [\"1m\", \"2m\"]\nfor = [\"1m\", \"2m\"]\nrate = [0.1, 0.5]\n";
    std::fs::write(&scenario, format!("{LONG}{space}")).unwrap();
    let out_dir = dir.path().join("out");
    let (out, stderr) = interrupt_when(
        &[
            "-v",
            "explore",
            scenario.to_str().unwrap(),
            "--budget",
            "4",
            "--jobs",
            "1",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        "exploring long",
        "-INT",
    );
    assert_eq!(out.status.code(), Some(130), "stderr:\n{stderr}");
    let r: ag06_lab::model::explore::ExploreReport =
        serde_json::from_str(&read(&out_dir.join("explore.json"))).unwrap();
    assert!(r.incomplete, "marked incomplete");
    assert!(r.schedules.len() < 4, "the schedules that ran: {}", r.schedules.len());
    assert!(r.covered.contains("of 4 schedules"), "{}", r.covered);
}
