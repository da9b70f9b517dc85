//! Bad input: every file in tests/bad/ is refused with exit 2, a message naming the file and the place
//! (line:col or TOML path), no panic, and no output directory left behind.

use super::common::{root, run_bin};

#[test]
fn every_bad_scenario_is_refused_cleanly() {
    let dir = root().join("tests/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus has {} files", files.len());
    let tmp = tempfile::tempdir().unwrap();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: first line must be `# expect: <part of the message>`", f.display()));
        let out_dir = tmp.path().join("out");
        for args in [
            vec!["run", f.to_str().unwrap(), "--out", out_dir.to_str().unwrap()],
            vec!["validate", f.to_str().unwrap()],
        ] {
            let o = run_bin(&args);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{} {:?}: exit {:?}\n{stderr}", f.display(), args[0], o.status);
            assert!(stderr.contains(expect), "{}: message lacks {expect:?}:\n{stderr}", f.display());
            assert!(
                stderr.contains(f.file_name().unwrap().to_str().unwrap()),
                "{}: message does not name the file",
                f.display()
            );
            assert!(!stderr.contains("panicked"), "{}: panic\n{stderr}", f.display());
            assert!(!out_dir.exists(), "{}: output directory left behind", f.display());
        }
    }
    // Nothing else appeared next to the output directory either (no temporary directories).
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn missing_file_and_usage_errors_exit_2() {
    let o = run_bin(&["run", "no/such/file.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read scenario `no/such/file.toml`"));
    let o = run_bin(&["run"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run_bin(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run_bin(&["run", "scenarios/mm1.toml", "--seed", "minus-one"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn unwritable_output_directory_exits_2_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let scenario = root().join("tests/fixtures/small.toml");
    let target = file.join("report");
    let o = run_bin(&["run", scenario.to_str().unwrap(), "--out", target.to_str().unwrap(), "--quiet"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write output directory"), "{stderr}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "only the file remains");
}

#[test]
fn an_existing_directory_that_is_not_a_report_is_not_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let precious = tmp.path().join("precious");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("thesis.tex"), "years of work").unwrap();
    let scenario = root().join("tests/fixtures/small.toml");
    let o = run_bin(&["run", scenario.to_str().unwrap(), "--out", precious.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not an ag06-lab output directory"));
    assert_eq!(std::fs::read_to_string(precious.join("thesis.tex")).unwrap(), "years of work");
    // A previous report, on the other hand, is replaced.
    let report = tmp.path().join("report");
    for _ in 0..2 {
        let o = run_bin(&["run", scenario.to_str().unwrap(), "--out", report.to_str().unwrap(), "--quiet"]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 2, "no temporary directories left");
}

/// Without the `live` feature, live commands say how to get them (exit 2), and nothing is written.
#[cfg(not(feature = "live"))]
#[test]
fn live_commands_in_a_build_without_live_mode_say_how_to_build_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let sc = super::common::root().join("tests/fixtures/live.toml");
    for args in [
        vec!["run", sc.to_str().unwrap(), "--live", "--out", out.to_str().unwrap()],
        vec!["devices"],
        vec!["preflight"],
    ] {
        let o = super::common::run_bin(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("--features live") && err.contains("libasound2-dev"), "{err}");
    }
    assert!(!out.exists());
}
