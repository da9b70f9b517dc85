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
pub mod data;
pub mod findings;
pub mod pages;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::event::Event;
use crate::model::rows::{AudioRow, SloRow, TimeseriesRow};
use crate::model::summary::{AlertSummary, HypothesisResult, Mode, PhaseCheck, ProbeResult, Severity, Verdict};
use charts::{AMBER, Axis, GREEN, GREY, Lane, RED, Scale, Series, color, css};
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
.pass { background: var(--ok); } .fail { background: var(--bad); }
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

fn legend_of(series: &[Series]) -> Vec<(String, String)> {
    series.iter().map(|s| (s.name.clone(), css(s.color))).collect()
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
pub fn render_run<'a>(file: impl Fn(&str) -> Option<&'a [u8]>) -> Result<String, DataError> {
    let d = RunData::from_files(file)?;
    page(&d).map_err(|why| DataError { file: "report.html".into(), why })
}

/// Renders `dir/report.html` again from the files of a run, sweep or comparison directory (written to a
/// temporary file and renamed into place, so that a failure leaves the old report). Returns its path.
pub fn rerender(dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    let shown = dir.display();
    if !dir.is_dir() {
        anyhow::bail!("`{shown}` is not a directory: give a run, sweep or comparison directory");
    }
    let read = |name: &str| std::fs::read(dir.join(name)).ok();
    let html = if dir.join("summary.json").is_file() {
        let files: Vec<(&str, Vec<u8>)> = data::FILES.iter().filter_map(|n| read(n).map(|b| (*n, b))).collect();
        render_run(|n| files.iter().find(|f| f.0 == n).map(|f| f.1.as_slice()))
    } else if dir.join("sweep.json").is_file() {
        pages::sweep_page(dir)
    } else if dir.join("compare.json").is_file() {
        let names = ["compare.json", "baseline.hdr", "candidate.hdr"];
        let files: Vec<(&str, Vec<u8>)> = names.iter().filter_map(|n| read(n).map(|b| (*n, b))).collect();
        pages::compare_page(|n| files.iter().find(|f| f.0 == n).map(|f| f.1.as_slice()))
    } else {
        anyhow::bail!(
            "`{shown}` is not an ag06-lab output directory: it has no summary.json, sweep.json or compare.json"
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
    h.push_str(&findings_section(d));
    h.push_str(&objectives_section(d));
    h.push_str(&hypothesis_section(d));
    h.push_str(&faults_section(d));
    h.push_str(&timeline_section(d)?);
    h.push_str(&spectrum_section(d)?);
    h.push_str(&services_section(d));
    h.push_str(&stress_section(d));
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

fn findings_section(d: &RunData) -> String {
    let f = findings::findings(d);
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
    h
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

/// Keeps one mark per pixel column and colour (a 24-hour run can have thousands of restarts).
fn thin_marks(mut marks: Vec<(f64, charts::RGBColor)>, end: f64) -> Vec<(f64, charts::RGBColor)> {
    let px = end / charts::PLOT_W as f64;
    marks.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut seen = std::collections::BTreeSet::new();
    marks.retain(|(t, c)| seen.insert(((t / px) as i64, css(*c))));
    marks
}

/// A coloured interval of a lane: start, end [s], colour.
type Span = (f64, f64, charts::RGBColor);

/// Merges spans of one colour closer than a pixel.
fn coalesce(mut spans: Vec<Span>, end: f64) -> Vec<Span> {
    let px = end / charts::PLOT_W as f64;
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<Span> = Vec::new();
    for s in spans {
        match out.last_mut() {
            Some(l) if l.2 == s.2 && s.0 - l.1 <= px => l.1 = l.1.max(s.1),
            _ => out.push(s),
        }
    }
    out
}

/// The timeline's lanes: faults (grouped by name), breakers (caller → callee), services down, alerts.
pub fn lanes(d: &RunData) -> Vec<Lane> {
    let s = &d.summary;
    let end = s.simulated_s;
    let mut lanes = Vec::new();
    // Faults: every occurrence and target of one `[[chaos]]` entry on one lane.
    let mut by_name: Vec<(String, Vec<Span>)> = Vec::new();
    for f in &s.faults {
        let Some(a) = f.start_s else { continue };
        let b = f.end_s.unwrap_or(end);
        let base = f.entry();
        match by_name.iter_mut().find(|(n, _)| n == base) {
            Some((_, v)) => v.push((a, b, RED)),
            None => by_name.push((base.to_string(), vec![(a, b, RED)])),
        }
    }
    for (name, spans) in by_name {
        lanes.push(Lane { name: format!("fault {name}"), spans: coalesce(spans, end), points: Vec::new() });
    }
    // Breakers: the state of each caller's breaker on each callee.
    let mut breakers: BTreeMap<String, Vec<(f64, Option<charts::RGBColor>)>> = BTreeMap::new();
    let mut down: BTreeMap<String, Vec<(f64, bool)>> = BTreeMap::new();
    for e in &d.events {
        let t = e.t.as_secs_f64();
        let (caller, colour) = match &e.event {
            Event::BreakerOpen { caller, .. } => (caller, Some(RED)),
            Event::BreakerHalfOpen { caller } => (caller, Some(AMBER)),
            Event::BreakerClosed { caller, .. } => (caller, None),
            Event::ActorCrash { .. } | Event::ActorStop { .. } => {
                down.entry(e.target.clone()).or_default().push((t, true));
                continue;
            }
            Event::ActorRestart { .. } => {
                down.entry(e.target.clone()).or_default().push((t, false));
                continue;
            }
            _ => continue,
        };
        breakers.entry(format!("{caller}→{}", e.target)).or_default().push((t, colour));
    }
    for (name, changes) in breakers {
        let mut spans = Vec::new();
        for (i, (t, colour)) in changes.iter().enumerate() {
            let until = changes.get(i + 1).map(|c| c.0).unwrap_or(end);
            if let Some(colour) = colour {
                spans.push((*t, until, *colour));
            }
        }
        lanes.push(Lane { name: format!("breaker {name}"), spans: coalesce(spans, end), points: Vec::new() });
    }
    // Services: down from a crash or stop until the restart.
    let order: Vec<&str> = s.services.iter().map(|(n, _)| n.as_str()).chain(["device"]).collect();
    let mut down: Vec<(String, Vec<(f64, bool)>)> = down.into_iter().collect();
    down.sort_by_key(|(n, _)| order.iter().position(|o| o == n).unwrap_or(usize::MAX));
    for (name, changes) in down {
        let mut spans = Vec::new();
        let mut points = Vec::new();
        let mut since: Option<f64> = None;
        for (t, is_down) in changes {
            if is_down {
                since.get_or_insert(t);
                points.push((t, RED));
            } else if let Some(a) = since.take() {
                spans.push((a, t, GREY));
                points.push((t, GREEN));
            }
        }
        if let Some(a) = since {
            spans.push((a, end, GREY));
        }
        lanes.push(Lane { name: format!("{name} down"), spans: coalesce(spans, end), points: thin_marks(points, end) });
    }
    // Alerts.
    for o in &s.slos {
        if o.alerts.is_empty() {
            continue;
        }
        let spans = o
            .alerts
            .iter()
            .map(|a| {
                (a.fired_at_s, a.resolved_at_s.unwrap_or(end), if a.severity == Severity::Page { RED } else { GREY })
            })
            .collect();
        lanes.push(Lane { name: format!("alert {}", o.name), spans: coalesce(spans, end), points: Vec::new() });
    }
    lanes
}

fn timeline_section(d: &RunData) -> Result<String, String> {
    let s = &d.summary;
    let end = s.simulated_s;
    let w = d.window_s();
    let mut marks = Vec::new();
    for e in &d.events {
        match e.event {
            Event::ActorCrash { .. } | Event::ActorStop { .. } => marks.push((e.t.as_secs_f64(), RED)),
            Event::ActorRestart { .. } => marks.push((e.t.as_secs_f64(), GREEN)),
            _ => {}
        }
    }
    let axis = Axis {
        end_s: end,
        faults: d.fault_spans().into_iter().map(|(a, b, _)| (a, b)).collect(),
        marks: thin_marks(marks, end),
    };
    let mut h = String::from(
        "<section id=\"timeline\">\n<h2>Timeline</h2>\n<p class=\"note\">One time axis for every chart. Shaded: fault windows. Lanes: faults (red), breakers (red open, amber half-open), services down (grey, red crash, green restart), burn-rate alerts (red page, grey ticket).</p>\n",
    );
    let lanes = lanes(d);
    if !lanes.is_empty() {
        h.push_str(&chart_box(
            "chart-lanes",
            "Faults, breakers, restarts and alerts",
            &charts::lanes_chart(&axis, &lanes)?,
            &[],
        ));
    }
    let mid = |t: f64| t + w / 2.0;
    // End-to-end latency.
    let client: Vec<(f64, [Option<f64>; 3], [u64; 4])> = if d.client.is_empty() {
        // A run directory from before client.csv: the entry service's own figures.
        d.by_service
            .iter()
            .find(|(n, _)| *n == s.entry)
            .map(|(_, rows)| {
                rows.iter()
                    .map(|r| (r.t_s, [r.p50_ms, r.p99_ms, r.max_ms], [r.ok, r.failed, r.timed_out, r.rejected]))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        d.client
            .iter()
            .map(|r| (r.t_s, [r.p50_ms, r.p99_ms, r.max_ms], [r.ok, r.failed, r.timed_out, r.rejected]))
            .collect()
    };
    let lat: Vec<Series> = ["p50", "p99", "max"]
        .iter()
        .enumerate()
        .map(|(k, name)| Series {
            name: (*name).into(),
            color: color(k),
            points: client.iter().map(|c| (mid(c.0), c.1[k])).collect(),
            dashed: k == 2,
        })
        .collect();
    h.push_str(&chart_box(
        "chart-latency",
        "End-to-end latency per window (log scale)",
        &charts::time_chart(&axis, "latency [ms]", Scale::Log, &lat, 220)?,
        &legend_of(&lat),
    ));
    let names = ["ok", "failed", "timed out", "rejected"];
    let colours = [GREEN, RED, AMBER, color(4)];
    let thr: Vec<Series> = (0..4)
        .filter(|k| *k == 0 || client.iter().any(|c| c.2[*k] > 0))
        .map(|k| Series {
            name: names[k].into(),
            color: colours[k],
            // Per second of the window actually covered (the last window of a run may be partial).
            points: client.iter().map(|c| (mid(c.0), Some(c.2[k] as f64 / w.min(end - c.0).max(1e-9)))).collect(),
            dashed: false,
        })
        .collect();
    h.push_str(&chart_box(
        "chart-throughput",
        "Throughput: end-to-end outcomes per second",
        &charts::time_chart(&axis, "requests/s", Scale::Linear { min_top: 1.0 }, &thr, 200)?,
        &legend_of(&thr),
    ));
    let per_service = |f: &dyn Fn(&TimeseriesRow) -> Option<f64>| -> Vec<Series> {
        d.by_service
            .iter()
            .enumerate()
            .map(|(i, (n, rows))| Series {
                name: n.clone(),
                color: color(i),
                points: rows.iter().map(|r| (mid(r.t_s), f(r))).collect(),
                dashed: false,
            })
            .collect()
    };
    let util = per_service(&|r| (r.workers > 0.0).then_some(r.utilization * 100.0));
    h.push_str(&chart_box(
        "chart-utilization",
        "Utilisation per service",
        &charts::time_chart(&axis, "busy workers [%]", Scale::Fixed(0.0, 100.0), &util, 200)?,
        &legend_of(&util),
    ));
    let queue = per_service(&|r| Some(r.queue_depth));
    h.push_str(&chart_box(
        "chart-queue",
        "Queue depth per service (time-averaged waiting requests)",
        &charts::time_chart(&axis, "waiting", Scale::Linear { min_top: 1.0 }, &queue, 200)?,
        &legend_of(&queue),
    ));
    let varies =
        d.by_service.iter().any(|(_, rows)| rows.windows(2).any(|p| (p[0].workers - p[1].workers).abs() > 1e-9));
    if varies || s.services.iter().any(|(_, v)| v.scale_ups + v.scale_downs > 0) {
        let workers = per_service(&|r| Some(r.workers));
        h.push_str(&chart_box(
            "chart-workers",
            "Workers per service (autoscaling)",
            &charts::time_chart(&axis, "workers", Scale::Linear { min_top: 1.0 }, &workers, 180)?,
            &legend_of(&workers),
        ));
    }
    // Error budget burn-down: the share of the run's budget left after each window.
    let mut burn = Vec::new();
    for (i, o) in s.slos.iter().enumerate() {
        let rows: Vec<&SloRow> = d.slo_rows.iter().filter(|r| r.slo == o.name).collect();
        let total: u64 = rows.iter().map(|r| r.total).sum();
        let allowed = (1.0 - o.objective) * total as f64;
        if rows.is_empty() || allowed <= 0.0 {
            continue;
        }
        let mut bad = 0u64;
        let points = rows
            .iter()
            .map(|r| {
                bad += r.total - r.good;
                (r.t_s + w, Some(100.0 * (1.0 - bad as f64 / allowed)))
            })
            .collect();
        burn.push(Series { name: o.name.clone(), color: color(i), points, dashed: false });
    }
    if !burn.is_empty() {
        h.push_str(&chart_box(
            "chart-budget",
            "Error budget remaining (of the run's budget: (1 − objective) × its events)",
            &charts::time_chart(&axis, "budget left [%]", Scale::Linear { min_top: 100.0 }, &burn, 200)?,
            &legend_of(&burn),
        ));
    }
    if !d.audio.is_empty() {
        h.push_str(&audio_charts(d, &axis)?);
    }
    h.push_str("</section>\n");
    Ok(h)
}

fn audio_charts(d: &RunData, axis: &Axis) -> Result<String, String> {
    let w = d.window_s();
    let mut channels: Vec<&str> = Vec::new();
    for r in &d.audio {
        if !channels.contains(&r.channel.as_str()) {
            channels.push(&r.channel);
        }
    }
    let mut h = String::new();
    let mut levels = Vec::new();
    for (i, ch) in channels.iter().filter(|c| ["ch1", "ch2", "out_l", "out_r"].contains(c)).enumerate() {
        let rows = d.audio.iter().filter(|r| r.channel == *ch);
        levels.push(Series {
            name: format!("{ch} RMS"),
            color: color(i),
            points: rows.clone().map(|r| (r.t_s + w / 2.0, r.rms_dbfs)).collect(),
            dashed: false,
        });
        if ch.starts_with("out") {
            levels.push(Series {
                name: format!("{ch} peak"),
                color: color(i),
                points: rows.map(|r| (r.t_s + w / 2.0, r.peak_dbfs)).collect(),
                dashed: true,
            });
        }
    }
    h.push_str(&chart_box(
        "chart-audio-levels",
        "Audio levels per window (gaps: bit-exact silence)",
        &charts::time_chart(axis, "dBFS", Scale::Fixed(-90.0, 3.0), &levels, 200)?,
        &legend_of(&levels),
    ));
    let first = channels.first().copied().unwrap_or("ch1");
    let dev: Vec<&AudioRow> = d.audio.iter().filter(|r| r.channel == first).collect();
    let xr = vec![
        Series {
            name: "xruns".into(),
            color: RED,
            points: dev.iter().map(|r| (r.t_s + w / 2.0, Some(r.xruns as f64))).collect(),
            dashed: false,
        },
        Series {
            name: "missing periods".into(),
            color: GREY,
            points: dev.iter().map(|r| (r.t_s + w / 2.0, Some(r.missing as f64))).collect(),
            dashed: false,
        },
    ];
    h.push_str(&chart_box(
        "chart-xruns",
        "Xruns and missing periods per window",
        &charts::time_chart(axis, "periods", Scale::Linear { min_top: 1.0 }, &xr, 160)?,
        &legend_of(&xr),
    ));
    let load = vec![Series {
        name: "DSP load (mean per window)".into(),
        color: color(4),
        points: dev.iter().map(|r| (r.t_s + w / 2.0, r.dsp_load.map(|l| l * 100.0))).collect(),
        dashed: false,
    }];
    h.push_str(&chart_box(
        "chart-dsp-load",
        "DSP load: processing time / period",
        &charts::time_chart(axis, "of the period [%]", Scale::Linear { min_top: 100.0 }, &load, 160)?,
        &legend_of(&load),
    ));
    Ok(h)
}

fn spectrum_section(d: &RunData) -> Result<String, String> {
    let Some(hist) = &d.latency else { return Ok(String::new()) };
    if hist.is_empty() {
        return Ok(String::new());
    }
    let svg = charts::spectrum(&[("end-to-end".into(), color(0), hist)])?;
    let mut h = String::from("<section id=\"spectrum\">\n<h2>Latency percentile spectrum</h2>\n");
    h.push_str(&chart_box("chart-spectrum", "End-to-end latency by percentile (successes, HdrHistogram)", &svg, &[]));
    h.push_str("<table id=\"percentiles\">\n<tr>");
    let qs = [0.5, 0.9, 0.99, 0.999, 0.9999];
    for q in qs {
        let _ = write!(h, "<th>p{}</th>", q * 100.0);
    }
    h.push_str("<th>max</th></tr>\n<tr>");
    for q in qs {
        let _ = write!(h, "<td>{}</td>", f3(hist.value_at_quantile(q) as f64 / 1e6));
    }
    let _ = write!(h, "<td>{}</td></tr>\n</table>\n</section>\n", f3(d.summary.latency_ms.max));
    Ok(h)
}

fn services_section(d: &RunData) -> String {
    let s = &d.summary;
    let mut h = String::from(
        "<section id=\"services\">\n<h2>Services</h2>\n<table id=\"services-table\">\n<tr><th class=\"l\">service</th><th>requests</th><th>OK</th><th>KO</th><th>KO %</th><th>min</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>utilisation</th><th>queue</th><th>crashes</th><th>restarts</th></tr>\n",
    );
    for (name, v) in &s.services {
        let ko = v.failed + v.timed_out + v.rejected;
        let l = &v.latency_ms;
        let _ = writeln!(
            h,
            "<tr data-name=\"{}\"><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td><td>{:.2}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            esc(name),
            v.requests,
            v.ok,
            ko,
            if v.requests > 0 { format!("{:.2}%", 100.0 * ko as f64 / v.requests as f64) } else { "–".into() },
            f3(l.min),
            f3(l.mean),
            f3(l.p50),
            f3(l.p90),
            f3(l.p99),
            f3(l.max),
            v.utilization * 100.0,
            v.queue_depth,
            v.crashes,
            v.restarts
        );
    }
    h.push_str("</table>\n<p class=\"note\">Server side: latency [ms] from arrival at the service to its answer, successes only. KO = failed + timed out + rejected.</p>\n");
    // Response-time buckets (Gatling's distribution).
    if let Some((_, first)) = s.services.iter().find(|(_, v)| !v.latency_buckets.is_empty()) {
        h.push_str(
            "<h3>Response-time distribution</h3>\n<table id=\"buckets-table\">\n<tr><th class=\"l\">service</th>",
        );
        let mut prev: Option<f64> = None;
        for b in &first.latency_buckets {
            let label = match (prev, b.le_ms) {
                (None, Some(e)) => format!("≤ {e} ms"),
                (Some(p), Some(e)) => format!("{p}–{e} ms"),
                (Some(p), None) => format!("&gt; {p} ms"),
                (None, None) => "all".into(),
            };
            let _ = write!(h, "<th>{label}</th>");
            prev = b.le_ms;
        }
        h.push_str("<th>KO</th></tr>\n");
        for (name, v) in &s.services {
            let _ = write!(h, "<tr data-name=\"{}\"><td class=\"l\">{}</td>", esc(name), esc(name));
            for b in &v.latency_buckets {
                let share = if v.requests > 0 { 100.0 * b.count as f64 / v.requests as f64 } else { 0.0 };
                let _ = write!(h, "<td>{} <span class=\"note\">({share:.1}%)</span></td>", b.count);
            }
            let _ = writeln!(h, "<td>{}</td></tr>", v.failed + v.timed_out + v.rejected);
        }
        h.push_str("</table>\n");
    }
    // Resilience figures, for the services that have any.
    let rows: Vec<_> = s
        .services
        .iter()
        .filter(|(_, v)| {
            v.breaker_opens
                + v.rejected_by_breaker
                + v.rejected_by_bulkhead
                + v.retries
                + v.fallbacks
                + v.rate_limited
                + v.scale_ups
                + v.scale_downs
                > 0
                || v.downtime_s > 0.0
        })
        .collect();
    if !rows.is_empty() {
        h.push_str("<h3>Resilience (calls to each service, summed over its callers)</h3>\n<table id=\"resilience-table\">\n<tr><th class=\"l\">service</th><th>breaker opens</th><th>rejected by breaker</th><th>rejected by bulkhead</th><th>retries</th><th>retries denied</th><th>fallbacks</th><th>rate limited</th><th>downtime [s]</th><th>scale ups / downs</th><th>workers at end</th></tr>\n");
        for (name, v) in rows {
            let _ = writeln!(
                h,
                "<tr data-name=\"{}\"><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{} / {}</td><td>{:.1}</td></tr>",
                esc(name),
                esc(name),
                v.breaker_opens,
                v.rejected_by_breaker,
                v.rejected_by_bulkhead,
                v.retries,
                v.retries_denied,
                v.fallbacks,
                v.rate_limited,
                v.downtime_s,
                v.scale_ups,
                v.scale_downs,
                v.workers
            );
        }
        h.push_str("</table>\n");
    }
    if let Some(a) = &s.audio {
        let _ = writeln!(
            h,
            "<h3>Audio path</h3>\n<table id=\"audio-table\">\n<tr><th class=\"l\">device</th><th>rate</th><th>period</th><th>periods</th><th>xruns</th><th>missing</th><th>dropouts</th><th>longest dropout</th><th>clipped samples</th><th>output loudness</th><th>DSP load mean / max</th></tr>\n<tr><td class=\"l\">{}</td><td>{} Hz</td><td>{} frames, {:.3} ms</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1} ms</td><td>{}</td><td>{}</td><td>{:.1}% / {:.1}%</td></tr>\n</table>",
            esc(&a.model),
            a.sample_rate_hz,
            a.buffer_frames,
            a.period_ms,
            a.periods,
            a.xruns,
            a.missing,
            a.dropouts,
            a.max_dropout_ms,
            a.clipped_samples,
            a.output_lufs.map(|l| format!("{l:.1} LUFS")).unwrap_or_else(|| "–".into()),
            a.dsp_load_mean * 100.0,
            a.dsp_load_max * 100.0
        );
    }
    if let Some(l) = &s.live {
        let _ = writeln!(
            h,
            "<h3>Live interface</h3>\n<table id=\"live-table\">\n<tr><th class=\"l\">device</th><th>callbacks</th><th>xruns</th><th>input underruns</th><th>stream errors</th><th>interval p50 / p99 / max [ms]</th><th>jitter p50 / p99 / max [ms]</th><th>DSP load p50 / p99 / max</th></tr>\n<tr><td class=\"l\">{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {} / {}</td><td>{} / {} / {}</td><td>{:.2}% / {:.2}% / {:.2}%</td></tr>\n</table>",
            esc(&l.info.device),
            esc(&l.info.host),
            l.callbacks,
            l.xruns,
            l.input_underruns,
            l.info.stream_errors,
            f3(l.callback_interval_ms.p50),
            f3(l.callback_interval_ms.p99),
            f3(l.callback_interval_ms.max),
            f3(l.jitter_ms.p50),
            f3(l.jitter_ms.p99),
            f3(l.jitter_ms.max),
            l.dsp_load.p50 * 100.0,
            l.dsp_load.p99 * 100.0,
            l.dsp_load.max * 100.0
        );
    }
    h.push_str("</section>\n");
    h
}

fn stress_section(d: &RunData) -> String {
    let Some(st) = &d.summary.stress else { return String::new() };
    let mut h = format!(
        "<section id=\"stress\">\n<h2>Stress test: breaking point {}</h2>\n<table id=\"stress-table\">\n<tr><th>rate [1/s]</th><th>requests</th><th>error rate</th><th>p99 [ms]</th><th>objectives</th></tr>\n",
        st.breaking_point_per_s.map(|r| format!("{r} requests/s")).unwrap_or_else(|| "none".into())
    );
    for step in &st.steps {
        let _ = writeln!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{:.2}%</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            if step.met { "" } else { "bad" },
            step.rate_per_s,
            step.requests,
            step.error_rate * 100.0,
            f3(step.p99_ms),
            if step.met { "ok" } else { "ko" },
            if step.met { "met" } else { "missed" }
        );
    }
    h.push_str("</table>\n</section>\n");
    h
}
