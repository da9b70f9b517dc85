//! report.html: sections and their numbers against summary.json, escaping, findings computed from the
//! run, re-rendering, sweep and comparison pages, and a real browser.

use std::path::Path;

use serde_json::Value;

use super::common::{read, run_bin};

/// A chaos run with everything the report shows: objectives, a hypothesis, faults, a breaker, retries.
const CHAOS: &str = r#"
name = "report-test"
duration = "4m"
drain = "10s"
window = "5s"
[load]
entry = "front"
rate_per_s = 80.0
[[services]]
name = "front"
workers = 40
latency = { dist = "exponential", mean = "3ms" }
calls = ["back"]
[[services]]
name = "back"
workers = 8
latency = { dist = "lognormal", median = "20ms", p99 = "80ms" }
timeout = "500ms"
[services.breaker]
minimum_calls = 20
window_size = 20
wait_in_open = "5s"
[services.retry]
max_attempts = 2
wait = "10ms"
[[slo]]
name = "front availability"
service = "front"
sli = "availability"
objective = 0.99
[[slo]]
name = "front p99 under 200 ms"
service = "front"
sli = "latency"
threshold = "200ms"
objective = 0.99
[experiment]
baseline = "1m"
recovery = "1m"
[[hypothesis]]
name = "front mostly available"
service = "front"
metric = "availability"
min = 0.9
[[chaos]]
name = "back crash"
fault = "kill"
target = "back"
at = "70s"
for = "10s"
[[chaos]]
name = "back errors"
fault = "errors"
target = "back"
at = "100s"
for = "20s"
rate = 0.8
"#;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs scenario text through the binary into `dir/out`; returns (summary, html).
fn run_text(dir: &Path, text: &str) -> (Value, String) {
    let scenario = write(dir, "s.toml", text);
    let out = dir.join("out");
    let o = run_bin(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    (summary, read(&out.join("report.html")))
}

/// The text of the element with `id` (up to its closing tag of the same name).
fn by_id<'a>(html: &'a str, tag: &str, id: &str) -> &'a str {
    let open = format!("<{tag} id=\"{id}\"");
    let start = html.find(&open).unwrap_or_else(|| panic!("no <{tag} id=\"{id}\"> in the report"));
    let close = format!("</{tag}>");
    let end = html[start..].find(&close).unwrap_or_else(|| panic!("<{tag} id=\"{id}\"> is not closed")) + start;
    &html[start..end]
}

/// The cells of the table row whose `data-name` is `name`, as text.
fn row(table: &str, name: &str) -> Vec<String> {
    let open = format!("data-name=\"{name}\"");
    let start = table.find(&open).unwrap_or_else(|| panic!("no row {name}"));
    let end = table[start..].find("</tr>").unwrap() + start;
    table[start..end]
        .split("<td")
        .skip(1)
        .map(|c| {
            let c = &c[c.find('>').unwrap() + 1..];
            let mut text = String::new();
            let mut in_tag = false;
            for ch in c.chars() {
                match ch {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    _ if !in_tag => text.push(ch),
                    _ => {}
                }
            }
            text.trim().to_string()
        })
        .collect()
}

fn f3(v: &Value) -> String {
    format!("{:.3}", v.as_f64().unwrap())
}

#[test]
fn every_section_is_there_and_its_numbers_are_the_summarys() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, html) = run_text(tmp.path(), CHAOS);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    let external = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !html.contains("<script") && !external.contains("http://") && !external.contains("https://"),
        "self-contained"
    );
    for id in ["findings", "objectives", "hypothesis", "faults", "timeline", "spectrum", "services"] {
        by_id(&html, "section", id);
    }
    for id in [
        "chart-lanes",
        "chart-latency",
        "chart-throughput",
        "chart-utilization",
        "chart-queue",
        "chart-budget",
        "chart-spectrum",
    ] {
        assert!(by_id(&html, "div", id).contains("<svg"), "{id} has a chart");
    }
    // Header: verdict, seed, the command that reproduces the run.
    let header = by_id(&html, "header", "header");
    assert!(header.contains(&s["verdict"].as_str().unwrap().to_uppercase()));
    assert!(header.contains(&format!("--seed {}", s["seed"])));
    assert!(header.contains(&format!("{} requests", s["requests"]["total"])));
    // Objectives.
    let objectives = by_id(&html, "table", "objectives-table");
    for o in s["slos"].as_array().unwrap() {
        let cells = row(objectives, o["name"].as_str().unwrap());
        assert_eq!(cells[4], format!("{:.5}", o["achieved"].as_f64().unwrap()));
        assert_eq!(cells[5], format!("{} / {}", o["good"], o["total"]));
        assert_eq!(cells[6], if o["met"].as_bool().unwrap() { "met" } else { "missed" });
        let consumed = o["budget"]["consumed"].as_f64().unwrap();
        assert_eq!(cells[7], format!("{:.1}%", consumed * 100.0));
    }
    // Hypothesis: one cell per phase, the worst window's value.
    let hyp = by_id(&html, "table", "hypothesis-table");
    let probe = &s["hypothesis"]["probes"][0];
    let cells = row(hyp, probe["name"].as_str().unwrap());
    for (k, ph) in probe["phases"].as_array().unwrap().iter().enumerate() {
        let v = ph["value"].as_f64().map(|v| format!("{v:.4}")).unwrap_or_else(|| "–".into());
        assert!(cells[3 + k].starts_with(&v), "phase {k}: {} vs {v}", cells[3 + k]);
    }
    // Faults.
    let faults = by_id(&html, "table", "faults-table");
    for f in s["faults"].as_array().unwrap() {
        let cells = row(faults, f["name"].as_str().unwrap());
        assert_eq!(cells[4], f3(&f["start_s"]));
        assert_eq!(cells[5], f3(&f["end_s"]));
        assert_eq!(cells[6], f3(&f["recovered_after_s"]));
    }
    // Services: counts and every latency figure.
    let services = by_id(&html, "table", "services-table");
    let buckets = by_id(&html, "table", "buckets-table");
    for (name, v) in s["services"].as_object().unwrap() {
        let cells = row(services, name);
        assert_eq!(cells[1], v["requests"].to_string());
        assert_eq!(cells[2], v["ok"].to_string());
        let ko = ["failed", "timed_out", "rejected"].iter().map(|k| v[k].as_u64().unwrap()).sum::<u64>();
        assert_eq!(cells[3], ko.to_string());
        for (k, key) in ["min", "mean", "p50", "p90", "p99", "max"].iter().enumerate() {
            assert_eq!(cells[5 + k], f3(&v["latency_ms"][key]), "{name} {key}");
        }
        let b = row(buckets, name);
        let counts: Vec<u64> =
            v["latency_buckets"].as_array().unwrap().iter().map(|b| b["count"].as_u64().unwrap()).collect();
        assert_eq!(counts.iter().sum::<u64>(), v["ok"].as_u64().unwrap(), "the buckets hold every success");
        for (k, c) in counts.iter().enumerate() {
            assert!(b[k + 1].starts_with(&format!("{c} ")), "{name} bucket {k}: {}", b[k + 1]);
        }
    }
    // Percentiles of the spectrum: the summary's max.
    assert!(by_id(&html, "table", "percentiles").contains(&f3(&s["latency_ms"]["max"])));
    // Timeline lanes: both faults, the breaker (it opened under 80% errors), the crash.
    let lanes = by_id(&html, "div", "chart-lanes");
    assert!(s["services"]["back"]["breaker_opens"].as_u64().unwrap() > 0, "the breaker opened");
    for lane in ["fault back crash", "fault back errors", "breaker front→back", "back down"] {
        assert!(lanes.contains(lane), "lane {lane}");
    }
}

#[test]
fn strings_from_the_scenario_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let text = r#"
name = "<script>alert(1)</script>"
duration = "30s"
drain = "1s"
[load]
entry = "a<b>&\"c\""
rate_per_s = 20.0
[[services]]
name = "a<b>&\"c\""
workers = 2
latency = { dist = "constant", value = "5ms" }
[[slo]]
name = "<img src=x onerror=alert(2)>"
service = "a<b>&\"c\""
sli = "availability"
objective = 0.9
[[chaos]]
name = "<iframe>"
fault = "latency"
target = "a<b>&\"c\""
at = "10s"
for = "5s"
add = "1ms"
"#;
    let (_, html) = run_text(tmp.path(), text);
    for raw in ["<script", "<img", "<iframe", "<b>&", "onerror=alert(2)>"] {
        assert!(!html.contains(raw), "{raw} reached the page unescaped");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the name shows as text");
    assert!(html.contains("a&lt;b&gt;&amp;&quot;c&quot;"), "the service name shows as text");
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(html.contains("&lt;iframe&gt;"));
}

fn rules(html: &str) -> Vec<String> {
    html.match_indices("data-rule=\"")
        .map(|(i, m)| html[i + m.len()..].split('"').next().unwrap().to_string())
        .collect()
}

fn finding<'a>(html: &'a str, rule: &str) -> &'a str {
    let at =
        html.find(&format!("data-rule=\"{rule}\"")).unwrap_or_else(|| panic!("no {rule} finding: {:?}", rules(html)));
    &html[at..at + html[at..].find("</li>").unwrap()]
}

/// An M/M/1 queue at utilisation `rho` (mu = 100/s), 10 minutes.
fn mm1(rho: f64) -> String {
    format!(
        r#"
duration = "10m"
drain = "5s"
window = "10s"
[load]
entry = "q"
rate_per_s = {}
[[services]]
name = "q"
workers = 1
latency = {{ dist = "exponential", mean = "10ms" }}
"#,
        rho * 100.0
    )
}

#[test]
fn a_healthy_run_has_no_findings_and_a_saturated_queue_is_found_with_its_queueing_share() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, html) = run_text(tmp.path(), &mm1(0.3));
    assert!(rules(&html).is_empty(), "{:?}", rules(&html));
    assert!(by_id(&html, "section", "findings").contains("No rule fired"));
    // At rho = 0.97 most windows are saturated and waiting dominates the tail. In M/M/1 the time in system
    // is exponential with rate mu - lambda, so its p99 is ln(100)/(mu - lambda); the queue wait is 0 with
    // probability 1 - rho and P(wait > t) = rho e^-(mu - lambda)t, so its p99 is ln(100 rho)/(mu - lambda):
    // ln(97)/ln(100) = 99.3% of the p99 of the time in system (a mean wait from Little's law would say 21%).
    let (s, html) = run_text(tmp.path(), &mm1(0.97).replace("\"10m\"", "\"1h\""));
    let q = &s["services"]["q"];
    assert!(q["utilization"].as_f64().unwrap() > 0.9);
    let (wait, total) = (q["queue_wait_ms"]["p99"].as_f64().unwrap(), q["latency_ms"]["p99"].as_f64().unwrap());
    let closed = 97f64.ln() / 100f64.ln();
    assert!((wait / total - closed).abs() < 0.01, "p99 wait {wait} / p99 in service {total}, closed form {closed}");
    // The p99 themselves, within the noise of an hour at rho = 0.97 (relaxation time ~44 s): 1535 and 1525 ms.
    assert!((total / (100f64.ln() / 3.0 * 1000.0) - 1.0).abs() < 0.25, "p99 in service {total}");
    // The finding states the measured figures of its peak window, and its share is their ratio.
    let f = finding(&html, "saturation");
    assert!(f.contains("add workers to q"), "{f}");
    let at: f64 = f.split(" utilisation at ").nth(1).unwrap().split(" s").next().unwrap().parse().unwrap();
    let rows = read(&tmp.path().join("out/timeseries.csv"));
    let header: Vec<&str> = rows.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let row: Vec<&str> = rows
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r[col("t_s")].parse::<f64>().unwrap() == at)
        .unwrap();
    let (w, p) = (row[col("wait_p99_ms")].parse::<f64>().unwrap(), row[col("p99_ms")].parse::<f64>().unwrap());
    assert!(f.contains(&format!("{:.1}% of the p99 of its time in service", w / p * 100.0)), "{f}\n{w} {p}");
}

#[test]
fn a_breaker_with_too_high_minimum_calls_is_called_out() {
    let tmp = tempfile::tempdir().unwrap();
    let text = r#"
duration = "2m"
drain = "5s"
window = "10s"
[load]
entry = "front"
arrivals = "constant"
rate_per_s = 5.0
[[services]]
name = "front"
workers = 10
latency = { dist = "constant", value = "1ms" }
calls = ["back"]
[[services]]
name = "back"
workers = 10
latency = { dist = "constant", value = "5ms" }
[services.breaker]
window = "time"
window_size = "10s"
minimum_calls = 100
[[chaos]]
fault = "errors"
target = "back"
at = "30s"
for = "30s"
rate = 0.6
"#;
    let (s, html) = run_text(tmp.path(), text);
    assert_eq!(s["services"]["back"]["breaker_opens"], 0);
    let f = finding(&html, "breaker-silent");
    // 5 calls/s in a 10 s window: 50 calls, below minimum_calls.
    assert!(f.contains("minimum_calls (100) is higher than the ~50 calls its 10 s window holds"), "{f}");
    assert!(f.contains("in 3 windows from 30 s"), "the 30 s fault is 3 windows: {f}");
}

#[test]
fn a_hung_dependency_without_a_timeout_and_a_retry_storm_are_found() {
    let tmp = tempfile::tempdir().unwrap();
    let text = r#"
duration = "2m"
drain = "40s"
[load]
entry = "front"
rate_per_s = 20.0
[[services]]
name = "front"
workers = 50
latency = { dist = "constant", value = "1ms" }
calls = ["back", "flaky"]
[[services]]
name = "back"
workers = 10
latency = { dist = "constant", value = "5ms" }
[[services]]
name = "flaky"
workers = 10
latency = { dist = "constant", value = "2ms" }
error_rate = 0.5
[services.retry]
max_attempts = 3
wait = "1ms"
[[chaos]]
name = "back hangs"
fault = "hang"
target = "back"
at = "30s"
for = "20s"
"#;
    let (s, html) = run_text(tmp.path(), text);
    let f = finding(&html, "no-timeout");
    assert!(f.contains("back stopped answering in fault &quot;back hangs&quot;"), "{f}");
    let f = finding(&html, "retry-storm");
    // p = 0.5 per attempt, 3 attempts: 0.5 + 0.25 = 0.75 retries per call, so retries add 75% to the calls
    // (sd of the estimate over ~2400 calls: sqrt(0.6875 / 2400) = 0.017).
    let flaky = &s["services"]["flaky"];
    let retries = flaky["retries"].as_u64().unwrap();
    // Every call reached flaky (no breaker, no bulkhead): the calls are the attempts less the retries.
    assert_eq!(flaky["rejected_by_breaker"].as_u64().unwrap() + flaky["rejected_by_bulkhead"].as_u64().unwrap(), 0);
    let calls = flaky["call_attempts"].as_u64().unwrap() - retries;
    assert_eq!(flaky["requests"].as_u64().unwrap(), calls + retries, "flaky decided every attempt it got");
    let share = retries as f64 / calls as f64;
    assert!((share - 0.75).abs() < 0.06, "{retries} retries / {calls} calls");
    assert!(
        f.contains(&format!(
            "retries added {:.1}% to the calls made to flaky ({retries} retries on top of {calls} calls)",
            share * 100.0
        )),
        "{f}"
    );
}

#[test]
fn an_open_breaker_s_rejections_are_counted_against_every_attempt() {
    // back fails everything and its callers' breaker, once open, stays open: front's calls after the
    // first few are rejected without being sent. The finding's share is rejected / (sent + rejected).
    let tmp = tempfile::tempdir().unwrap();
    let text = r#"
duration = "60s"
drain = "5s"
[load]
entry = "front"
arrivals = "constant"
rate_per_s = 100.0
[[services]]
name = "front"
workers = 50
latency = { dist = "constant", value = "1ms" }
calls = ["back"]
[[services]]
name = "back"
workers = 50
latency = { dist = "constant", value = "10ms" }
error_rate = 1.0
[services.breaker]
window_size = 10
minimum_calls = 10
wait_in_open = "1h"
"#;
    let (s, html) = run_text(tmp.path(), text);
    let back = &s["services"]["back"];
    let (sent, rejected) = (back["call_attempts"].as_u64().unwrap(), back["rejected_by_breaker"].as_u64().unwrap());
    // 6000 calls, one attempt each: every call was sent or rejected.
    assert_eq!(sent + rejected, 6000);
    assert!((10..20).contains(&sent), "the breaker opened after its 10 outcomes: {sent} sent");
    let f = finding(&html, "breaker-opened");
    assert!(
        f.contains(&format!(
            "rejected {rejected} calls ({:.1}% of the attempts its callers made)",
            rejected as f64 / 60.0
        )),
        "{f}"
    );
}

#[test]
fn report_renders_the_same_page_again_from_the_files_and_refuses_other_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, html) = run_text(tmp.path(), CHAOS);
    let out = tmp.path().join("out");
    std::fs::remove_file(out.join("report.html")).unwrap();
    let o = run_bin(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(read(&out.join("report.html")), html, "re-rendered byte for byte");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = run_bin(&["report", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not an ag06-lab output directory"), "{err}");
    assert!(std::fs::read_dir(&empty).unwrap().next().is_none(), "nothing written");
    // A damaged summary: exit 2, the file named, the old report kept.
    std::fs::write(out.join("summary.json"), "{ not json").unwrap();
    let o = run_bin(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("summary.json"));
    assert_eq!(read(&out.join("report.html")), html);
}

#[test]
fn the_audio_path_gets_its_charts() {
    let tmp = tempfile::tempdir().unwrap();
    let text = r#"
duration = "20s"
drain = "1s"
[load]
entry = "api"
rate_per_s = 10.0
[[services]]
name = "api"
workers = 2
latency = { dist = "constant", value = "5ms" }
[device]
buffer_frames = 256
[device.inputs.ch1]
source = { kind = "sine", freq_hz = 440.0, level_dbfs = -6.0 }
"#;
    let (s, html) = run_text(tmp.path(), text);
    for id in ["chart-audio-levels", "chart-xruns", "chart-dsp-load"] {
        assert!(by_id(&html, "div", id).contains("<svg"), "{id}");
    }
    let audio = by_id(&html, "table", "audio-table");
    assert!(audio.contains(&format!("<td>{}</td>", s["audio"]["periods"])), "{audio}");
}

#[test]
fn sweep_and_compare_directories_get_their_own_report() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = write(tmp.path(), "s.toml", &mm1(0.5).replace("10m", "1m"));
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    for (dir, seeds) in [(&a, "1..=3"), (&b, "4..=6")] {
        let o = run_bin(&[
            "sweep",
            scenario.to_str().unwrap(),
            "--seeds",
            seeds,
            "--jobs",
            "2",
            "--out",
            dir.to_str().unwrap(),
            "-q",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let html = read(&a.join("report.html"));
    let sweep: Value = serde_json::from_str(&read(&a.join("sweep.json"))).unwrap();
    let figures = by_id(&html, "table", "figures-table");
    for (name, st) in sweep["figures"].as_object().unwrap() {
        let cells = row(figures, name);
        assert_eq!(cells[2], st["n"].to_string());
    }
    assert!(html.contains("seeds/2/report.html"));
    assert!(a.join("seeds/2/report.html").is_file());
    let o = run_bin(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--out", c.to_str().unwrap()]);
    assert!(o.status.code().is_some_and(|x| x <= 1));
    let html = read(&c.join("report.html"));
    let cmp: Value = serde_json::from_str(&read(&c.join("compare.json"))).unwrap();
    let table = by_id(&html, "table", "compare-table");
    for f in cmp["figures"].as_array().unwrap() {
        let cells = row(table, f["figure"].as_str().unwrap());
        assert_eq!(cells.last().unwrap(), f["verdict"].as_str().unwrap());
    }
    assert!(by_id(&html, "div", "chart-spectrum").contains("candidate"), "both histograms drawn");
    // Re-rendering a comparison and a sweep works from their files alone.
    for dir in [&a, &c] {
        let before = read(&dir.join("report.html"));
        assert_eq!(run_bin(&["report", dir.to_str().unwrap()]).status.code(), Some(0));
        assert_eq!(read(&dir.join("report.html")), before);
    }
}

/// The page in a real browser: Chromium headless takes a screenshot, which must show the page (mostly
/// white with ink, and the colours of the verdict badge and the charts), not a blank or an error page.
/// CI installs Chromium (.ci/run); elsewhere the test says it was skipped, unless CI is set.
#[test]
fn the_page_renders_in_a_real_browser() {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find(|b| std::process::Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
    else {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium (see .ci/run)");
        eprintln!("skipped: no chromium on this machine");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (_, _) = run_text(tmp.path(), CHAOS);
    let page = tmp.path().join("out").join("report.html");
    let shot = tmp.path().join("shot.png");
    let o = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,2400"])
        .arg(format!("--user-data-dir={}", tmp.path().join("profile").display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(shot.is_file(), "no screenshot: {}", String::from_utf8_lossy(&o.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let ink = pixels.iter().filter(|p| p[0] < 200 || p[1] < 200 || p[2] < 200).count() as f64 / pixels.len() as f64;
    // The verdict badge is green (#1a7f37) or red (#cf222e); the charts draw in the palette's blue.
    let near = |p: &[u8], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 30);
    let badge = pixels.iter().filter(|p| near(p, [0x1a, 0x7f, 0x37]) || near(p, [0xcf, 0x22, 0x2e])).count();
    let blue = pixels.iter().filter(|p| near(p, [31, 119, 180])).count();
    assert!(ink > 0.02 && ink < 0.6, "ink {ink:.3}: blank or broken page");
    assert!(badge > 200, "the verdict badge is not on screen ({badge} px)");
    assert!(blue > 500, "no chart lines on screen ({blue} px)");
}

#[test]
fn client_and_slo_csv_add_up_to_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, _) = run_text(tmp.path(), CHAOS);
    let out = tmp.path().join("out");
    let mut client = csv::Reader::from_path(out.join("client.csv")).unwrap();
    let mut sums = [0u64; 5];
    for rec in client.records() {
        let rec = rec.unwrap();
        for (k, sum) in sums.iter_mut().enumerate() {
            *sum += rec[k + 1].parse::<u64>().unwrap();
        }
    }
    let r = &s["requests"];
    let want: Vec<u64> =
        ["total", "ok", "failed", "timed_out", "rejected"].iter().map(|k| r[k].as_u64().unwrap()).collect();
    assert_eq!(sums.to_vec(), want);
    let mut slo = csv::Reader::from_path(out.join("slo.csv")).unwrap();
    let mut by_slo: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for rec in slo.records() {
        let rec = rec.unwrap();
        let e = by_slo.entry(rec[1].to_string()).or_default();
        e.0 += rec[2].parse::<u64>().unwrap();
        e.1 += rec[3].parse::<u64>().unwrap();
    }
    for o in s["slos"].as_array().unwrap() {
        let (good, total) = by_slo[o["name"].as_str().unwrap()];
        assert_eq!((good, total), (o["good"].as_u64().unwrap(), o["total"].as_u64().unwrap()), "{}", o["name"]);
    }
}

#[test]
fn a_run_directory_written_before_events_jsonl_and_faults_chaos_still_renders_and_compares() {
    // Baselines are kept across releases: the files of the previous version (no `faults[].chaos`, no
    // events.jsonl) must still render and compare.
    let tmp = tempfile::tempdir().unwrap();
    let (mut s, html) = run_text(tmp.path(), CHAOS);
    let out = tmp.path().join("out");
    for f in s["faults"].as_array_mut().unwrap() {
        f.as_object_mut().unwrap().remove("chaos");
    }
    std::fs::write(out.join("summary.json"), serde_json::to_string_pretty(&s).unwrap()).unwrap();
    std::fs::remove_file(out.join("events.jsonl")).unwrap();
    let o = run_bin(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let again = read(&out.join("report.html"));
    assert!(again.contains("fault back crash"), "the fault lanes are named by the faults' own names");
    assert_ne!(again, html, "without events the breaker and restart lanes are gone");
    let cmp = tmp.path().join("cmp");
    let o = run_bin(&["compare", out.to_str().unwrap(), out.to_str().unwrap(), "--out", cmp.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn findings_quote_figures_with_known_answers() {
    let tmp = tempfile::tempdir().unwrap();
    // `objective`: 50 requests/s for 10 minutes, back fails every request for 2 minutes: 6000 bad of
    // 30000 against a 99.9% objective (30 bad allowed) burn the run's budget 200 times; scaled to the
    // 30-day period, 200 x 600 s / 2592000 s = 4.6% of it.
    let outage = r#"
duration = "10m"
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
"#;
    let (_, html) = run_text(tmp.path(), outage);
    let f = finding(&html, "objective");
    assert!(
        f.contains(
            "6000 bad events burned 200.00× the error budget of the run&#39;s traffic (4.6% of a 30-day budget)"
        ),
        "{f}"
    );
    // `rejections`: a rate limiter of 10 per second in front of 25 requests/s for 60 s admits 601 of
    // 1500 (10 in each of the 60 periods, plus the arrival at exactly 60 s): 899 refused, 59.9%.
    let limited = r#"
duration = "60s"
drain = "10s"
[load]
entry = "a"
arrivals = "constant"
rate_per_s = 25.0
[[services]]
name = "a"
workers = 200
latency = { dist = "constant", value = "1ms" }
[services.rate_limit]
limit = 10
period = "1s"
"#;
    let (_, html) = run_text(tmp.path(), limited);
    let f = finding(&html, "rejections");
    assert!(f.contains("a refused 899 requests (59.9% of its 1500), 899 of them by its rate limiter"), "{f}");
}
