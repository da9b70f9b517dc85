//! The report of a simulated run checked against a live run: the verdict and its checks, then both sides
//! window by window (lost periods, DSP load, level), then the figures shown beside the verdict.

use std::fmt::Write as _;

use crate::model::prediction::{Prediction, PredictionVerdict, WindowFigures};

use super::charts::{self, Axis, Scale, Series, color};
use super::data::DataError;
use super::pages::{derr, json, num};
use super::{badge, chart_box, esc, head};

/// The page of `prediction.json`.
pub fn prediction_page(bytes: Option<&[u8]>) -> Result<String, DataError> {
    let p: Prediction = json("prediction.json", bytes)?;
    let mut h = head(&format!("{}: simulated vs live — ag06-lab", p.scenario));
    let pass = p.verdict == PredictionVerdict::Predicted;
    let _ = write!(
        h,
        "<header id=\"header\">\n<h1>{}: simulation vs live {}</h1>\n<p id=\"prediction-reason\"><b>{}</b></p>\n<p class=\"meta\">simulated <b>{}</b> ({} periods) · live <b>{}</b> ({} periods) · windows of {} s · live is the reference</p>\n</header>\n",
        esc(&p.scenario),
        badge(pass, p.verdict.name()),
        esc(&p.reason),
        esc(&p.simulated),
        p.periods[0],
        esc(&p.live),
        p.periods[1],
        num(p.window_s)
    );
    h.push_str("<section id=\"checks\">\n<h2>The checks</h2>\n<table>\n<tr><th>figure</th><th>simulated</th><th>live</th><th>allowed</th><th>test</th><th>holds</th></tr>\n");
    for c in &p.checks {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(c.figure.name()),
            num(round3(c.simulated)),
            num(round3(c.live)),
            num(round3(c.allowed)),
            esc(&c.test),
            badge(c.holds, if c.holds { "yes" } else { "no" })
        );
    }
    h.push_str("</table>\n</section>\n");
    charts_section(&mut h, &p).map_err(|why| derr("report.html", why))?;
    h.push_str("<section id=\"reported\">\n<h2>Shown beside the verdict</h2>\n<table>\n<tr><th>figure</th><th>simulated</th><th>live</th><th>note</th></tr>\n");
    let opt = |x: Option<f64>| x.map(|v| num(round3(v))).unwrap_or_else(|| "–".into());
    for r in &p.reported {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.figure),
            opt(r.simulated),
            opt(r.live),
            esc(&r.note)
        );
    }
    h.push_str("</table>\n</section>\n");
    windows_table(&mut h, &p);
    h.push_str("</body>\n</html>\n");
    Ok(h)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Both sides over time: lost periods, DSP load and output level per window.
fn charts_section(h: &mut String, p: &Prediction) -> Result<(), String> {
    let end = p.windows.last().map(|w| w.t_s + p.window_s).unwrap_or(p.window_s);
    let axis = Axis { end_s: end, faults: Vec::new(), marks: Vec::new() };
    let mid = |t: f64| t + p.window_s / 2.0;
    let two = |f: &dyn Fn(&WindowFigures) -> Option<f64>| -> Vec<Series> {
        [("simulated", 0usize), ("live", 1)]
            .iter()
            .map(|&(name, k)| Series {
                name: name.into(),
                color: color(k),
                points: p
                    .windows
                    .iter()
                    .map(|w| (mid(w.t_s), f(if k == 0 { &w.simulated } else { &w.live })))
                    .collect(),
                dashed: k == 0,
            })
            .collect()
    };
    h.push_str("<section id=\"windows-charts\">\n<h2>Window by window</h2>\n");
    let legend = |s: &[Series]| s.iter().map(|s| (s.name.clone(), charts::css(s.color))).collect::<Vec<_>>();
    let lost = two(&|w| Some((w.xruns + w.missing) as f64));
    h.push_str(&chart_box(
        "chart-lost",
        "Periods lost (xruns + missing) per window",
        &charts::time_chart(&axis, "periods", Scale::Linear { min_top: 1.0 }, &lost, 220)?,
        &legend(&lost),
    ));
    let load = two(&|w| w.dsp_load);
    h.push_str(&chart_box(
        "chart-load",
        "DSP load per window (processing time / period)",
        &charts::time_chart(&axis, "load", Scale::Linear { min_top: 0.01 }, &load, 200)?,
        &legend(&load),
    ));
    let level = two(&|w| w.out_rms_dbfs);
    if level.iter().any(|s| s.points.iter().any(|p| p.1.is_some())) {
        h.push_str(&chart_box(
            "chart-level",
            "Output level (out_l RMS) per window",
            &charts::time_chart(&axis, "dBFS", Scale::Linear { min_top: 0.0 }, &level, 200)?,
            &legend(&level),
        ));
    }
    h.push_str("</section>\n");
    Ok(())
}

/// The windows where either side lost a period.
fn windows_table(h: &mut String, p: &Prediction) {
    let lossy: Vec<_> = p
        .windows
        .iter()
        .filter(|w| w.simulated.xruns + w.simulated.missing + w.live.xruns + w.live.missing > 0)
        .collect();
    let _ = writeln!(
        h,
        "<section id=\"windows\">\n<h2>Windows that lost periods ({} of {})</h2>",
        lossy.len(),
        p.windows.len()
    );
    if lossy.is_empty() {
        h.push_str("<p>Neither run lost a period.</p>\n</section>\n");
        return;
    }
    h.push_str("<table>\n<tr><th>t [s]</th><th>sim xruns</th><th>sim missing</th><th>live xruns</th><th>live missing</th></tr>\n");
    for w in lossy {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            num(w.t_s),
            w.simulated.xruns,
            w.simulated.missing,
            w.live.xruns,
            w.live.missing
        );
    }
    h.push_str("</table>\n</section>\n");
}
