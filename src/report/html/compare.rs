//! The report of a comparison: the gate's verdict and the figures that decided it first, each figure's
//! interval of the change drawn against its margin, then the latency spectra side by side.

use std::fmt::Write as _;

use crate::compare::stats_fmt as sig;
use crate::model::compare::{Comparison, FigureComparison, FigureVerdict, GateVerdict, Role};
use crate::model::sweep::Better;

use super::data::DataError;
use super::pages::{derr, json, num};
use super::{chart_box, charts, esc, head};

/// The report of a comparison: `compare.json`, and `baseline.hdr` / `candidate.hdr` when present.
pub fn compare_page<'a>(file: impl Fn(&str) -> Option<&'a [u8]>) -> Result<String, DataError> {
    let c: Comparison = json("compare.json", file("compare.json"))?;
    let (baseline, candidate) = (&c.baseline, &c.candidate);
    let mut h = head(&format!("{baseline} vs {candidate} — ag06-lab release gate"));
    let class = match c.gate {
        GateVerdict::Pass => "pass",
        GateVerdict::Marginal => "marginal",
        GateVerdict::Fail => "fail",
    };
    let _ = write!(
        h,
        "<header id=\"header\">\n<h1>Release gate <span class=\"badge {class}\">{}</span></h1>\n<p id=\"gate-reason\"><b>{}</b></p>\n<p class=\"meta\">baseline <b>{}</b> · candidate <b>{}</b> · {} values · {} test · family-wise alpha {} over {} gated figures (Holm) · score {:.1} (fails below {}) · {} regressions ({} critical), {} improvements</p>\n</header>\n",
        esc(&c.gate.name().to_uppercase()),
        esc(&c.reason),
        esc(baseline),
        esc(candidate),
        esc(&c.samples),
        esc(&c.test),
        num(c.alpha),
        c.family,
        c.score,
        num(c.fail_score),
        c.regressions,
        c.critical_regressions,
        c.improvements
    );
    decided(&mut h, &c);
    table(&mut h, &c);
    spectrum(&mut h, &file)?;
    h.push_str("</body>\n</html>\n");
    Ok(h)
}

/// The figures that decided the verdict, with their bars.
fn decided(h: &mut String, c: &Comparison) {
    h.push_str("<section id=\"decided\">\n<h2>What decided it</h2>\n");
    if c.decided_by.is_empty() {
        let _ = writeln!(
            h,
            "<p>No figure that can fail the gate moved beyond its margin: each interval below ends inside the margin on the worse side. The smallest change each figure could have caught is its MDE column.</p>"
        );
    } else {
        h.push_str("<ul class=\"findings\">\n");
        for name in &c.decided_by {
            if let Some(f) = c.figures.iter().find(|f| &f.figure == name) {
                let level = if f.role == Role::Critical { "critical" } else { "warning" };
                let _ = writeln!(
                    h,
                    "<li class=\"{level}\"><span class=\"lvl\">{}</span><b>{}</b>: {} → {} — {}{}</li>",
                    esc(&f.role),
                    esc(&f.figure),
                    esc(&sig(f.baseline)),
                    esc(&sig(f.candidate)),
                    esc(&f.reason),
                    bar(f)
                );
            }
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
}

/// The order of the table: regressions (critical first), then the other critical figures, the other
/// gated figures, and the reported ones; by name within each.
fn rank(f: &FigureComparison) -> u8 {
    match (f.verdict, f.role) {
        (FigureVerdict::Regression, Role::Critical) => 0,
        (FigureVerdict::Regression, _) => 1,
        (_, Role::Critical) => 2,
        (_, Role::Gated) => 3,
        (_, Role::Reported) => 4,
    }
}

fn table(h: &mut String, c: &Comparison) {
    h.push_str("<section id=\"figures\">\n<h2>Figures against their margins</h2>\n<p class=\"note\">Each bar is the interval of the change, turned so that worse is to the right, over the grey band of ± the margin; the dot is the estimate. A figure regresses when its whole interval lies right of the band (the interval's confidence is the level Holm's procedure tested the figure at).</p>\n<table id=\"compare-table\">\n<tr><th class=\"l\">figure</th><th>baseline</th><th>candidate</th><th>change</th><th>interval</th><th>margin</th><th class=\"l\">against margin</th><th>p / Holm</th><th>MDE</th><th>n</th><th class=\"l\">verdict</th></tr>\n");
    let mut figures: Vec<&FigureComparison> = c.figures.iter().collect();
    figures.sort_by(|x, y| rank(x).cmp(&rank(y)).then_with(|| x.figure.cmp(&y.figure)));
    let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map(f).unwrap_or_else(|| "–".into());
    for f in figures {
        let _ = writeln!(
            h,
            "<tr class=\"{}\" data-name=\"{}\" title=\"{}\"><td class=\"l\">{}<br><span class=\"note\">{} · {} is better</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td><td class=\"nw\">{}<br>{}</td><td>{}</td><td class=\"nw\">{} / {}</td><td class=\"l {}\">{}</td></tr>",
            match f.verdict {
                FigureVerdict::Regression => "bad",
                FigureVerdict::Changed | FigureVerdict::Inconclusive if f.role == Role::Critical => "warn",
                _ => "",
            },
            esc(&f.figure),
            esc(&f.reason),
            esc(&f.figure),
            esc(&f.role),
            esc(&f.better),
            esc(&sig(f.baseline)),
            esc(&sig(f.candidate)),
            esc(&f.rel_diff.map(|r| format!("{:+.2}%", r * 100.0)).unwrap_or_else(|| sig(f.diff))),
            esc(&f
                .interval
                .map(|i| format!("{} .. {} at {:.2}%", sig(i.lo), sig(i.hi), i.confidence * 100.0))
                .unwrap_or_else(|| "–".into())),
            esc(&match (f.margin, f.margin_abs) {
                (Some(m), Some(a)) => format!("{m} = ±{}", sig(a)),
                _ => "–".into(),
            }),
            bar(f),
            opt(f.p_value, &|p| format!("{p:.2e}")),
            opt(f.p_adjusted, &|p| format!("{p:.2e}")),
            esc(&opt(f.mde, &sig)),
            f.n[0],
            f.n[1],
            match f.verdict {
                FigureVerdict::Regression => "ko",
                FigureVerdict::Improvement => "ok",
                _ => "",
            },
            esc(&f.verdict)
        );
    }
    h.push_str("</table>\n</section>\n");
}

/// The interval of a gated figure against its margin, as a small inline SVG: worse to the right.
fn bar(f: &FigureComparison) -> String {
    let (Some(i), Some(m)) = (f.interval, f.margin_abs) else { return String::new() };
    let turn = |v: f64| if f.better == Better::Higher { -v } else { v };
    let (lo, hi) = (turn(i.lo).min(turn(i.hi)), turn(i.lo).max(turn(i.hi)));
    let est = turn(f.estimate.unwrap_or(f.diff));
    let span = [lo.abs(), hi.abs(), m, f64::MIN_POSITIVE].into_iter().fold(0.0, f64::max) * 1.15;
    let (w, mid) = (160.0, 80.0);
    let x = |v: f64| (mid + v / span * (mid - 4.0)).clamp(2.0, w - 2.0);
    let colour = match f.verdict {
        FigureVerdict::Regression => "#cf222e",
        FigureVerdict::Improvement => "#1a7f37",
        FigureVerdict::WithinMargin => "#57606a",
        _ => "#9a6700",
    };
    format!(
        "<svg class=\"bar\" viewBox=\"0 0 160 18\" role=\"img\" aria-label=\"change {} to {} against margin ±{}\"><rect x=\"{:.1}\" y=\"2\" width=\"{:.1}\" height=\"14\" fill=\"#d0d7de\"/><line x1=\"{mid}\" y1=\"0\" x2=\"{mid}\" y2=\"18\" stroke=\"#8c959f\" stroke-width=\"1\"/><line x1=\"{:.1}\" y1=\"9\" x2=\"{:.1}\" y2=\"9\" stroke=\"{colour}\" stroke-width=\"3\"/><circle cx=\"{:.1}\" cy=\"9\" r=\"3.5\" fill=\"{colour}\"/></svg>",
        esc(&sig(lo)),
        esc(&sig(hi)),
        esc(&sig(m)),
        x(-m),
        x(m) - x(-m),
        x(lo),
        x(hi).max(x(lo) + 1.0),
        x(est)
    )
}

fn spectrum<'a>(h: &mut String, file: &impl Fn(&str) -> Option<&'a [u8]>) -> Result<(), DataError> {
    let mut curves = Vec::new();
    for (k, (name, file_name)) in [("baseline", "baseline.hdr"), ("candidate", "candidate.hdr")].iter().enumerate() {
        if let Some(b) = file(file_name) {
            let hist = crate::report::read_latency_hdr(b).map_err(|e| derr(file_name, e))?;
            curves.push((name.to_string(), charts::color(k), hist));
        }
    }
    if curves.is_empty() {
        return Ok(());
    }
    let refs: Vec<(String, charts::RGBColor, &hdrhistogram::Histogram<u64>)> =
        curves.iter().map(|(n, c, h)| (n.clone(), *c, h)).collect();
    let svg = charts::spectrum(&refs).map_err(|e| derr("report.html", e))?;
    let legend: Vec<(String, String)> = curves.iter().map(|(n, c, _)| (n.clone(), charts::css(*c))).collect();
    h.push_str("<section id=\"spectrum\">\n<h2>Latency percentile spectrum</h2>\n");
    h.push_str(&chart_box("chart-spectrum", "End-to-end latency by percentile: baseline and candidate", &svg, &legend));
    h.push_str("</section>\n");
    Ok(())
}
