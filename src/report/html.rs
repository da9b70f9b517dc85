//! `report.html`: one self-contained page per run (inline CSS and SVG, no script, no network), drawn from
//! the run directory's own files so that `ag06-lab report DIR` renders the same page again.
//!
//! ```text
//!  summary.json ─┐
//!  timeseries.csv├─▶ RunData ─┬─▶ findings (rules over the figures)
//!  client.csv    │            ├─▶ charts (plotters SVG, one shared time axis)
//!  slo.csv       │            └─▶ tables (objectives, hypothesis, faults, services)
//!  events.csv    │                         │
//!  audio.csv     │                         ▼
//!  latency.hdr ──┘                    report.html
//! ```

pub mod charts;
mod compare;
pub mod data;
pub mod explore;
pub mod findings;
pub mod pages;
pub mod prediction;
mod services;
pub mod shrink;
mod timeline;

use std::fmt::Write as _;

use crate::model::summary::{AlertSummary, HypothesisResult, Mode, PhaseCheck, ProbeResult, Verdict};
use charts::{Line, css};
use data::{DataError, RunData};

/// Escapes text for HTML (element content and quoted attribute values).
pub fn esc<T: std::fmt::Display + ?Sized>(x: &T) -> String {
    let s = x.to_string();
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// The page's style sheet.
pub const CSS: &str = r#"
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1f2328; margin: 0 auto; padding: 16px 24px 48px; max-width: 1160px; background: #fff; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 14px 0 2px; }
.meta { color: var(--muted); margin: 0 0 6px; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 12px; color: #fff; font-weight: 600; font-size: 13px; }
.pass { background: var(--ok); } .fail { background: var(--bad); } .marginal { background: var(--warn); }
svg.bar { width: 160px; height: 18px; display: block; } td.nw { white-space: nowrap; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre.cmd { background: #f6f8fa; border: 1px solid var(--line); padding: 6px 10px; border-radius: 6px; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 3px 7px; text-align: right; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.l, th.l { text-align: left; }
tr.bad td { background: #ffebe9; } tr.warn td { background: #fff8c5; }
td.ok { color: var(--ok); font-weight: 600; } td.ko { color: var(--bad); font-weight: 600; }
ul.findings { padding-left: 0; list-style: none; }
ul.findings li { border-left: 4px solid var(--line); padding: 4px 10px; margin: 6px 0; background: #f6f8fa; }
ul.findings li.critical { border-color: var(--bad); } ul.findings li.warning { border-color: #d4a72c; }
ul.findings li.info { border-color: #0969da; }
.lvl { font-weight: 700; text-transform: uppercase; font-size: 11px; margin-right: 6px; }
.advice { color: var(--muted); display: block; }
svg.chart { width: 100%; height: auto; display: block; }
.chart-box { margin: 2px 0 12px; break-inside: avoid; page-break-inside: avoid; }
.legend { font-size: 12px; color: var(--muted); margin: 0 0 0 12%; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 12px; height: 4px; vertical-align: middle; margin-right: 4px; }
.note { color: var(--muted); font-size: 12.5px; }
p.incomplete { border-left: 4px solid var(--warn); background: #fff8c5; padding: 6px 10px; margin: 8px 0; }
@media print { body { max-width: none; padding: 0; font-size: 11px; } h2 { break-after: avoid; }
  table, .chart-box, ul.findings li { break-inside: avoid; } pre.cmd { white-space: pre-wrap; } }
"#;

/// Starts a page.
pub fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(title)
    )
}

/// A chart with a title and an HTML legend.
pub fn chart_box(id: &str, title: &str, svg: &str, legend: &[(String, String)]) -> String {
    let mut s = format!("<div id=\"{}\" class=\"chart-box\">\n<h3>{}</h3>\n{svg}\n", esc(id), esc(title));
    if !legend.is_empty() {
        s.push_str("<div class=\"legend\">");
        for (name, colour) in legend {
            let _ = write!(s, "<span><i style=\"background:{colour}\"></i>{}</span>", esc(name));
        }
        s.push_str("</div>\n");
    }
    s.push_str("</div>\n");
    s
}

fn legend_of(lines: &[Line]) -> Vec<(String, String)> {
    lines.iter().map(|l| (l.name.clone(), css(l.color))).collect()
}

/// A figure with 3 decimals (milliseconds).
pub fn f3(x: f64) -> String {
    format!("{x:.3}")
}

/// A ratio with 5 decimals.
pub fn f5(x: f64) -> String {
    format!("{x:.5}")
}

fn opt(x: Option<f64>, f: fn(f64) -> String) -> String {
    x.map(f).unwrap_or_else(|| "–".into())
}

/// Renders the report of a run from its files (`file`: name to contents).
pub fn render_run<'a>(file: impl Fn(&str) -> Option<data::RunFile<'a>>) -> Result<String, DataError> {
    let d = RunData::from_files(file)?;
    page(&d).map_err(|why| DataError { file: "report.html".into(), why })
}

/// Renders `dir/report.html` again from the files of a run, sweep, comparison, shrink or explore directory (written to a
/// temporary file and renamed into place, so that a failure leaves the old report). Returns its path.
pub fn rerender(dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    let shown = dir.display();
    if !dir.is_dir() {
        anyhow::bail!("`{shown}` is not a directory: give a run, sweep or comparison directory");
    }
    let read = |name: &str| std::fs::read(dir.join(name)).ok();
    let html = if dir.join("summary.json").is_file() {
        // Opened, not read: a day's timeseries.csv is read row by row.
        let files: Vec<(&str, std::fs::File)> =
            data::FILES.iter().filter_map(|n| std::fs::File::open(dir.join(n)).ok().map(|f| (*n, f))).collect();
        render_run(|n| files.iter().find(|f| f.0 == n).map(|f| data::RunFile::File(&f.1)))
    } else if dir.join("sweep.json").is_file() {
        pages::sweep_page(dir)
    } else if dir.join("shrink.json").is_file() {
        let r: crate::model::shrink::ShrinkReport = pages::json("shrink.json", read("shrink.json").as_deref())?;
        let side = |name: &str| -> Option<crate::model::summary::Summary> {
            read(&format!("{name}/summary.json")).and_then(|b| serde_json::from_slice(&b).ok())
        };
        let (o, m) = (side("original"), side("minimal"));
        Ok(shrink::shrink_page(&r, o.as_ref().zip(m.as_ref())))
    } else if dir.join("explore.json").is_file() {
        let r: crate::model::explore::ExploreReport = pages::json("explore.json", read("explore.json").as_deref())?;
        Ok(explore::explore_page(&r))
    } else if dir.join("prediction.json").is_file() {
        prediction::prediction_page(read("prediction.json").as_deref())
    } else if dir.join("compare.json").is_file() {
        let names = ["compare.json", "baseline.hdr", "candidate.hdr"];
        let files: Vec<(&str, Vec<u8>)> = names.iter().filter_map(|n| read(n).map(|b| (*n, b))).collect();
        pages::compare_page(|n| files.iter().find(|f| f.0 == n).map(|f| f.1.as_slice()))
    } else {
        anyhow::bail!(
            "`{shown}` is not an ag06-lab output directory: it has no summary.json, sweep.json, compare.json, prediction.json, shrink.json or explore.json"
        );
    }
    .with_context(|| format!("cannot render the report of `{shown}`"))?;
    let path = dir.join("report.html");
    let tmp = dir.join(format!(".report.html.tmp-{}", std::process::id()));
    std::fs::write(&tmp, html).with_context(|| format!("cannot write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write `{}`: {e}", path.display())
    })?;
    Ok(path)
}

/// The coloured verdict badge.
pub fn badge(pass: bool, text: &str) -> String {
    format!("<span class=\"badge {}\">{}</span>", if pass { "pass" } else { "fail" }, esc(text))
}

fn page(d: &RunData) -> Result<String, String> {
    let s = &d.summary;
    let mut h = head(&format!("{} — ag06-lab report", s.scenario));
    let pass = s.verdict == Verdict::Pass;
    let _ = write!(
        h,
        "<header id=\"header\">\n<h1>{} {}</h1>\n<p class=\"meta\">seed <b>{}</b> · mode <b>{}</b> · horizon <b>{:.1} s</b> · ended <b>{}</b> · entry <b>{}</b> · window {} s</p>\n",
        esc(&s.scenario),
        badge(pass, &s.verdict.name().to_uppercase()),
        s.seed,
        esc(&s.mode),
        s.simulated_s,
        esc(&s.ended),
        esc(&s.entry),
        d.window_s()
    );
    let file = if s.scenario_file.is_empty() { "<scenario.toml>" } else { &s.scenario_file };
    let _ = write!(
        h,
        "<pre class=\"cmd\">ag06-lab run {} --seed {}{}</pre>\n<p class=\"meta\">{} requests: {} ok, {} failed, {} timed out, {} rejected{}{} · end-to-end latency mean {} ms, p99 {} ms, max {} ms</p>\n</header>\n",
        esc(&shell_quote(file)),
        s.seed,
        if s.mode == Mode::Live { " --live" } else { "" },
        s.requests.counts.requests,
        s.requests.counts.ok,
        s.requests.counts.failed,
        s.requests.counts.timed_out,
        s.requests.counts.rejected,
        if s.requests.unfinished > 0 { format!(" ({} unfinished)", s.requests.unfinished) } else { String::new() },
        if s.requests.dropped > 0 { format!(", {} dropped arrivals", s.requests.dropped) } else { String::new() },
        f3(s.latency_ms.mean),
        f3(s.latency_ms.p99),
        f3(s.latency_ms.max),
    );
    if s.ended == crate::model::summary::Ended::Interrupted {
        let _ = writeln!(
            h,
            "<p class=\"incomplete\"><b>Interrupted</b> after {:.1} simulated s: every figure on this page covers the run up to then, and the verdict is a fail because the run did not finish.</p>",
            s.simulated_s
        );
    }
    h.push_str(&findings_section(d)?);
    h.push_str(&objectives_section(d));
    h.push_str(&hypothesis_section(d));
    h.push_str(&faults_section(d));
    h.push_str(&timeline::timeline_section(d)?);
    h.push_str(&timeline::spectrum_section(d)?);
    h.push_str(&services::services_section(d));
    h.push_str(&services::stress_section(d));
    h.push_str(
        "<footer class=\"note\"><p>Written by ag06-lab from the files of this directory (summary.json, timeseries.csv, client.csv, slo.csv, events.csv, audio.csv, latency.hdr); <code>ag06-lab report DIR</code> renders it again. Shaded bands are fault windows; thin red and green lines are crashes and restarts.</p></footer>\n</body>\n</html>\n",
    );
    Ok(h)
}

/// Quotes a path for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:=,@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn findings_section(d: &RunData) -> Result<String, String> {
    let f = findings::findings(d)?;
    let mut h = String::from("<section id=\"findings\">\n<h2>Findings</h2>\n");
    if f.is_empty() {
        h.push_str("<p>No rule fired. Checked:</p>\n<ul class=\"note\">");
        for rule in &findings::RULES {
            let _ = write!(h, "<li>{}</li>", esc(rule.what));
        }
        h.push_str("</ul>\n");
    } else {
        h.push_str("<ul class=\"findings\">\n");
        for x in &f {
            let _ = writeln!(
                h,
                "<li class=\"{l}\" data-rule=\"{}\"><span class=\"lvl\">{l}</span>{}<span class=\"advice\">→ {}</span></li>",
                x.rule,
                esc(&x.text),
                esc(&x.advice),
                l = x.level.label()
            );
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
    Ok(h)
}

fn alert_text(a: &AlertSummary) -> String {
    let dur = |s: f64| humantime::format_duration(std::time::Duration::from_secs(s.round() as u64)).to_string();
    format!(
        "{} {}/{} &gt; {} at {:.0} s{}",
        esc(&a.severity),
        dur(a.long_s),
        dur(a.short_s),
        a.burn_rate,
        a.fired_at_s,
        a.resolved_at_s.map(|r| format!(", resolved {r:.0} s")).unwrap_or_default()
    )
}

/// The alerts of an objective: each one when there are few, else per rule: how often it fired, when first,
/// and how long it was firing in all.
fn alerts_cell(alerts: &[AlertSummary], end: f64) -> String {
    if alerts.is_empty() {
        return "none".into();
    }
    if alerts.len() <= 3 {
        return alerts.iter().map(alert_text).collect::<Vec<_>>().join("<br>");
    }
    let dur = |s: f64| humantime::format_duration(std::time::Duration::from_secs(s.round() as u64)).to_string();
    let mut rules: Vec<(&AlertSummary, usize, f64)> = Vec::new();
    for a in alerts {
        let firing = a.resolved_at_s.unwrap_or(end) - a.fired_at_s;
        match rules
            .iter_mut()
            .find(|r| r.0.long_s == a.long_s && r.0.short_s == a.short_s && r.0.severity == a.severity)
        {
            Some(r) => {
                r.1 += 1;
                r.2 += firing;
            }
            None => rules.push((a, 1, firing)),
        }
    }
    rules
        .iter()
        .map(|(a, n, firing)| {
            format!(
                "{} {}/{} &gt; {}: fired {n}×, first at {:.0} s, firing {} in all",
                esc(&a.severity),
                dur(a.long_s),
                dur(a.short_s),
                a.burn_rate,
                a.fired_at_s,
                dur(*firing)
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn objectives_section(d: &RunData) -> String {
    let s = &d.summary;
    let mut h = String::from("<section id=\"objectives\">\n<h2>Objectives</h2>\n");
    if s.slos.is_empty() {
        h.push_str("<p class=\"note\">The scenario sets no objectives.</p>\n</section>\n");
        return h;
    }
    h.push_str("<table id=\"objectives-table\">\n<tr><th class=\"l\">objective</th><th class=\"l\">service</th><th class=\"l\">SLI</th><th>objective</th><th>achieved</th><th>good / total</th><th>result</th><th>budget consumed</th><th>of the period</th><th class=\"l\">alerts</th></tr>\n");
    for o in &s.slos {
        let sli = match o.threshold_ms {
            Some(t) => format!("{} ≤ {t} ms", o.sli),
            None => o.sli.to_string(),
        };
        let (consumed, of_period) = match &o.budget {
            Some(b) => (
                opt(b.consumed, |c| format!("{:.1}%", c * 100.0)),
                opt(b.consumed_of_period, |c| format!("{:.3}%", c * 100.0)),
            ),
            None => ("–".into(), "–".into()),
        };
        let alerts = alerts_cell(&o.alerts, s.simulated_s);
        let _ = writeln!(
            h,
            "<tr class=\"{}\" data-name=\"{}\"><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td class=\"{}\">{}</td><td>{consumed}</td><td>{of_period}</td><td class=\"l\">{alerts}{}</td></tr>",
            if o.met { "" } else { "bad" },
            esc(&o.name),
            esc(&o.name),
            esc(&o.service),
            esc(&sli),
            o.objective,
            opt(o.achieved, f5),
            o.good,
            o.total,
            if o.met { "ok" } else { "ko" },
            if o.met { "met" } else { "missed" },
            if o.paged { " <b>(paged)</b>" } else { "" }
        );
    }
    h.push_str("</table>\n");
    if let Some(b) = s.slos.iter().find_map(|o| o.budget.as_ref()) {
        let _ = writeln!(
            h,
            "<p class=\"note\">Budget consumed: bad events / (1 − objective) × the run's events. Of the period: the same scaled from the {:.1} s run to the {:.0}-day SLO period.</p>",
            s.simulated_s, b.period_days
        );
    }
    h.push_str("</section>\n");
    h
}

fn tolerance(p: &ProbeResult) -> String {
    match (p.min, p.max) {
        (Some(a), Some(b)) => format!("{a} – {b}"),
        (Some(a), None) => format!("≥ {a}"),
        (None, Some(b)) => format!("≤ {b}"),
        (None, None) => "–".into(),
    }
}

fn check_cell(c: Option<&PhaseCheck>) -> String {
    match c {
        Some(c) => format!(
            "<td class=\"{}\">{} <span class=\"note\">({} windows)</span></td>",
            if c.ok { "ok" } else { "ko" },
            opt(c.value, |v| format!("{v:.4}")),
            c.windows
        ),
        None => "<td>–</td>".into(),
    }
}

/// Phases at most this many: a row per probe, a column per phase; more: a row per phase.
const WIDE_PHASES: usize = 10;

fn hypothesis_section(d: &RunData) -> String {
    let Some(hy) = &d.summary.hypothesis else { return String::new() };
    let mut h = format!(
        "<section id=\"hypothesis\">\n<h2>Steady-state hypothesis: {}</h2>\n<table id=\"hypothesis-table\">\n",
        badge(hy.result == HypothesisResult::Completed, hy.result.name())
    );
    if hy.phases.len() <= WIDE_PHASES {
        h.push_str("<tr><th class=\"l\">probe</th><th class=\"l\">metric</th><th>tolerance</th>");
        for ph in &hy.phases {
            let _ = write!(
                h,
                "<th>{}<br><span class=\"note\">{:.0}–{:.0} s</span></th>",
                esc(&ph.name),
                ph.start_s,
                ph.end_s
            );
        }
        h.push_str("</tr>\n");
        for p in &hy.probes {
            let _ = write!(
                h,
                "<tr data-name=\"{}\"><td class=\"l\">{}</td><td class=\"l\">{} {}</td><td>{}</td>",
                esc(&p.name),
                esc(&p.name),
                esc(&p.target),
                esc(&p.metric),
                esc(&tolerance(p))
            );
            for ph in &hy.phases {
                h.push_str(&check_cell(p.phases.iter().find(|c| c.phase == ph.name)));
            }
            h.push_str("</tr>\n");
        }
    } else {
        h.push_str("<tr><th class=\"l\">phase</th><th>from [s]</th><th>to [s]</th>");
        for p in &hy.probes {
            let _ = write!(
                h,
                "<th>{}<br><span class=\"note\">{} {} {}</span></th>",
                esc(&p.name),
                esc(&p.target),
                esc(&p.metric),
                esc(&tolerance(p))
            );
        }
        h.push_str("</tr>\n");
        for ph in &hy.phases {
            let _ = write!(
                h,
                "<tr data-name=\"{}\"><td class=\"l\">{}</td><td>{:.0}</td><td>{:.0}</td>",
                esc(&ph.name),
                esc(&ph.name),
                ph.start_s,
                ph.end_s
            );
            for p in &hy.probes {
                h.push_str(&check_cell(p.phases.iter().find(|c| c.phase == ph.name)));
            }
            h.push_str("</tr>\n");
        }
    }
    h.push_str("</table>\n<p class=\"note\">Each cell: the worst window of the phase; green when every window was within tolerance.</p>\n</section>\n");
    h
}

fn faults_section(d: &RunData) -> String {
    let s = &d.summary;
    if s.faults.is_empty() {
        return String::new();
    }
    let mut h = String::from(
        "<section id=\"faults\">\n<h2>Faults</h2>\n<table id=\"faults-table\">\n<tr><th class=\"l\">fault</th><th class=\"l\">kind</th><th class=\"l\">target</th><th class=\"l\">detail</th><th>start [s]</th><th>end [s]</th><th>recovered after [s]</th></tr>\n",
    );
    for f in &s.faults {
        let _ = writeln!(
            h,
            "<tr data-name=\"{}\"><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.name),
            esc(&f.name),
            esc(&f.kind),
            esc(&f.target),
            esc(&f.detail),
            opt(f.start_s, f3),
            opt(f.end_s, f3),
            match (f.recovered_after_s, f.start_s) {
                (Some(r), _) => f3(r),
                (None, None) => "did not happen".into(),
                (None, Some(_)) if f.target == "load" => "n/a".into(),
                (None, Some(_)) => "never".into(),
            }
        );
    }
    h.push_str("</table>\n</section>\n");
    h
}
