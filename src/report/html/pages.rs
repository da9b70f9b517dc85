//! The reports of sweep directories (distribution across seeds) and comparisons (baseline against
//! candidate, side by side).

use std::fmt::Write as _;
use std::path::Path;

use crate::model::summary::{Summary, Verdict};
use crate::model::sweep::SweepSummary;

use super::data::DataError;
use super::{badge, chart_box, charts, esc, f3, head};

pub(super) fn derr(file: &str, why: impl std::fmt::Display) -> DataError {
    DataError { file: file.into(), why: why.to_string() }
}

pub(super) fn json<T: serde::de::DeserializeOwned>(file: &str, bytes: Option<&[u8]>) -> Result<T, DataError> {
    serde_json::from_slice(bytes.ok_or_else(|| derr(file, "missing"))?).map_err(|e| derr(file, e))
}

pub(super) fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else if x.is_finite() {
        let t = format!("{x:.6}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        "–".into()
    }
}

/// Figures drawn per seed in a sweep's report (the rest are in the table).
fn drawn(name: &str) -> bool {
    matches!(name, "availability" | "latency_ms.p99" | "latency_ms.mean") || name.starts_with("slo.")
}

/// The report of a sweep directory: `sweep.json`, `latency.hdr` and `seeds/<seed>/summary.json`.
pub fn sweep_page(dir: &Path) -> Result<String, DataError> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| derr(&p.display().to_string(), e));
    let sweep: SweepSummary = json("sweep.json", Some(&read(&dir.join("sweep.json"))?))?;
    let seeds = &sweep.seeds;
    let mut per_seed: Vec<(u64, Summary)> = Vec::new();
    for seed in seeds {
        let p = dir.join("seeds").join(seed.to_string()).join("summary.json");
        per_seed.push((*seed, json(&p.display().to_string(), Some(&read(&p)?))?));
    }
    let scenario = &sweep.scenario;
    let failed = sweep.failed;
    let mut h = head(&format!("{scenario} sweep — ag06-lab report"));
    let _ = write!(
        h,
        "<header id=\"header\">\n<h1>{} sweep {}</h1>\n<p class=\"meta\">{} seeds ({}), {} passed, {} failed</p>\n</header>\n",
        esc(scenario),
        badge(failed == 0, if failed == 0 { "PASS" } else { "FAIL" }),
        seeds.len(),
        esc(&crate::model::sweep::seed_list(seeds)),
        sweep.passed,
        failed
    );
    if let Some(i) = &sweep.incomplete {
        let _ = writeln!(
            h,
            "<p class=\"incomplete\"><b>Incomplete</b> ({}): {} seed(s) did not run ({}); every figure on this page covers the seeds that finished.</p>",
            i.reason,
            i.seeds_not_run.len(),
            esc(&crate::model::sweep::seed_list(&i.seeds_not_run))
        );
    }
    h.push_str("<section id=\"objectives\">\n<h2>Objectives across seeds</h2>\n<table id=\"objectives-table\">\n<tr><th class=\"l\">objective</th><th>met in</th><th class=\"l\">seeds that missed it</th></tr>\n");
    for o in &sweep.slos {
        let (met, runs) = (o.met, o.runs);
        let missed: Vec<String> = o.failed_seeds.iter().map(u64::to_string).collect();
        let name = &o.name;
        let _ = writeln!(
            h,
            "<tr class=\"{}\" data-name=\"{}\"><td class=\"l\">{}</td><td>{met} / {runs}</td><td class=\"l\">{}</td></tr>",
            if met < runs { "bad" } else { "" },
            esc(name),
            esc(name),
            if missed.is_empty() { "none".into() } else { esc(&missed.join(", ")) }
        );
    }
    h.push_str("</table>\n</section>\n");
    h.push_str(&distribution_section(&sweep, &per_seed)?);
    h.push_str(&sweep_spectrum(dir, &sweep)?);
    h.push_str(&seeds_table(&per_seed));
    h.push_str("</table>\n</section>\n</body>\n</html>\n");
    Ok(h)
}

/// Each drawn figure's value per seed, with the mean and its confidence interval, and the table of the
/// figures' statistics.
fn distribution_section(sweep: &SweepSummary, per_seed: &[(u64, Summary)]) -> Result<String, DataError> {
    let mut h = String::new();
    h.push_str("<section id=\"distribution\">\n<h2>Distribution across seeds</h2>\n<p class=\"note\">Dots: one seed each; line: the mean; band: its 95% confidence interval (Student's t).</p>\n");
    let figures = &sweep.figures;
    for (name, st) in figures {
        if !drawn(name) {
            continue;
        }
        let values: Vec<(u64, f64)> = per_seed
            .iter()
            .filter_map(|(seed, s)| crate::figures::of_summary(s).get(name).map(|f| (*seed, f.value)))
            .collect();
        if values.is_empty() {
            continue;
        }
        let svg = charts::seed_chart(&values, st.mean, st.ci95).map_err(|e| derr("report.html", e))?;
        h.push_str(&chart_box(&format!("chart-{name}"), name, &svg, &[]));
    }
    h.push_str("<table id=\"figures-table\">\n<tr><th class=\"l\">figure</th><th>better</th><th>n</th><th>mean</th><th>sd</th><th>95% CI</th><th>min</th><th>max</th></tr>\n");
    for (name, st) in figures {
        let _ = writeln!(
            h,
            "<tr data-name=\"{}\"><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>[{}, {}]</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            esc(name),
            esc(&st.better),
            num(st.n as f64),
            num(st.mean),
            num(st.sd),
            num(st.ci95[0]),
            num(st.ci95[1]),
            num(st.min),
            num(st.max)
        );
    }
    h.push_str("</table>\n</section>\n");
    Ok(h)
}

/// The latency spectrum of all seeds' histograms merged (when the sweep wrote them).
fn sweep_spectrum(dir: &Path, sweep: &SweepSummary) -> Result<String, DataError> {
    let mut h = String::new();
    if let Ok(bytes) = std::fs::read(dir.join("latency.hdr")) {
        let hist = crate::report::read_latency_hdr(&bytes).map_err(|e| derr("latency.hdr", e))?;
        if !hist.is_empty() {
            let svg = charts::spectrum(&[("all seeds".into(), charts::color(0), &hist)])
                .map_err(|e| derr("report.html", e))?;
            h.push_str("<section id=\"spectrum\">\n<h2>Latency percentile spectrum, all seeds merged</h2>\n");
            h.push_str(&chart_box(
                "chart-spectrum",
                "End-to-end latency by percentile (merged HdrHistograms)",
                &svg,
                &[],
            ));
            let l = &sweep.latency_ms;
            let _ = writeln!(
                h,
                "<table id=\"percentiles\"><tr><th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>\n</section>",
                num(l.mean),
                num(l.p50),
                num(l.p90),
                num(l.p99),
                num(l.p999),
                num(l.max)
            );
        }
    }
    Ok(h)
}

/// One row per seed, linking its report.
fn seeds_table(per_seed: &[(u64, Summary)]) -> String {
    let mut h = String::new();
    h.push_str("<section id=\"seeds\">\n<h2>Seeds</h2>\n<table id=\"seeds-table\">\n<tr><th>seed</th><th>verdict</th><th>requests</th><th>availability</th><th>p99 [ms]</th><th class=\"l\">report</th></tr>\n");
    for (seed, s) in per_seed {
        let f = crate::figures::of_summary(s);
        let pass = s.verdict == Verdict::Pass;
        let _ = writeln!(
            h,
            "<tr class=\"{}\"><td>{seed}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\"><a href=\"seeds/{seed}/report.html\">seeds/{seed}/report.html</a></td></tr>",
            if pass { "" } else { "bad" },
            if pass { "ok" } else { "ko" },
            if pass { "pass" } else { "fail" },
            num(s.requests.counts.requests as f64),
            f.get("availability").map(|v| format!("{:.5}", v.value)).unwrap_or_else(|| "–".into()),
            f.get("latency_ms.p99").map(|v| f3(v.value)).unwrap_or_else(|| "–".into()),
        );
    }
    h
}

pub use super::compare::compare_page;
