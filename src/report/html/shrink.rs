//! The report of a shrink: what the minimal experiment keeps, the original and minimal runs side by side
//! (their objectives and key figures; each run's own report is one link away), and every step.

use std::fmt::Write as _;

use crate::model::shrink::{RunFigures, ShrinkReport, list};
use crate::model::summary::Summary;

use super::{badge, esc, head};

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map(|v| format!("{v:.digits$}")).unwrap_or_else(|| "–".into())
}

fn figures(f: &RunFigures) -> String {
    format!(
        "availability {} · p99 {} ms{} · failed: {}",
        opt(f.availability, 5),
        opt(f.p99_ms, 1),
        f.audio_lost.map(|n| format!(" · audio periods lost {n}")).unwrap_or_default(),
        list(&f.failed)
    )
}

/// The page: `r`, with the original's and the minimal's summaries (none when the shrink was interrupted).
pub fn shrink_page(r: &ShrinkReport, runs: Option<(&Summary, &Summary)>) -> String {
    let mut h = head(&format!("{}: shrunk — ag06-lab", r.scenario));
    let kept = r.faults.iter().filter(|f| f.kept).count();
    let _ = write!(
        h,
        "<header id=\"header\">\n<h1>{}: {} of {} faults still fail it {}</h1>\n<p><b>Holds on to:</b> {}</p>\n<p class=\"meta\">{} · seed {} · {} steps · {} runs ({} from the cache){}</p>\n</header>\n",
        esc(&r.scenario),
        kept,
        r.faults.len(),
        badge(!r.incomplete, if r.incomplete { "interrupted" } else { "1-minimal" }),
        esc(&list(&r.holds_on_to)),
        esc(&r.scenario_file),
        r.seed,
        r.steps.len(),
        r.runs,
        r.cached,
        if r.incomplete { " · interrupted: the smallest failing experiment so far" } else { "" }
    );
    h.push_str("<section id=\"faults\">\n<h2>Faults</h2>\n<table>\n<tr><th>fault</th><th>kind</th><th>original</th><th>minimal</th></tr>\n");
    for f in &r.faults {
        let minimal = f.outcome();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>in</td><td>{}</td></tr>",
            esc(&f.name),
            esc(&f.fault),
            esc(&minimal)
        );
    }
    h.push_str("</table>\n</section>\n");
    h.push_str("<section id=\"side-by-side\">\n<h2>Original and minimal, side by side</h2>\n<table>\n");
    match runs {
        Some(_) => h.push_str("<tr><th></th><th><a href=\"original/report.html\">original</a></th><th><a href=\"minimal/report.html\">minimal</a></th></tr>\n"),
        None => h.push_str("<tr><th></th><th>original</th><th>minimal so far</th></tr>\n"),
    }
    let _ = writeln!(
        h,
        "<tr><td>figures</td><td>{}</td><td>{}</td></tr>",
        esc(&figures(&r.original)),
        esc(&figures(&r.minimal))
    );
    if let Some((original, minimal)) = runs {
        side_by_side(&mut h, original, minimal);
    }
    h.push_str("</table>\n</section>\n");
    h.push_str("<section id=\"steps\">\n<h2>Steps</h2>\n<table>\n<tr><th>#</th><th>phase</th><th>faults kept</th><th>change</th><th>still fails</th><th>figures</th></tr>\n");
    for st in &r.steps {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            st.step,
            esc(st.phase.name()),
            esc(&st.faults.join(", ")),
            esc(st.change.as_deref().unwrap_or("")),
            if st.fails { "yes" } else { "no" },
            esc(&figures(&st.figures)),
            if st.cached { " (cached)" } else { "" }
        );
    }
    h.push_str("</table>\n</section>\n</body>\n</html>\n");
    h
}

/// The two runs' verdicts, faults and objectives.
fn side_by_side(h: &mut String, original: &Summary, minimal: &Summary) {
    let _ = writeln!(
        h,
        "<tr><td>verdict</td><td>{}</td><td>{}</td></tr>",
        esc(&original.verdict.to_string()),
        esc(&minimal.verdict.to_string())
    );
    let _ = writeln!(
        h,
        "<tr><td>faults injected</td><td>{}</td><td>{}</td></tr>",
        original.faults.len(),
        minimal.faults.len()
    );
    for s in &original.slos {
        let m = minimal.slos.iter().find(|m| m.name == s.name);
        let cell = |x: Option<&crate::model::summary::SloResult>| match x {
            Some(x) => format!(
                "{} (achieved {}, objective {})",
                if x.met { "met" } else { "NOT MET" },
                opt(x.achieved, 5),
                x.objective
            ),
            None => "–".into(),
        };
        let _ = writeln!(
            h,
            "<tr><td>objective {}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            esc(&cell(Some(s))),
            esc(&cell(m))
        );
    }
}
