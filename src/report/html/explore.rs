//! The report of an explore: what broke and how often, the minimal reproducers, the failing schedules
//! best first, then every schedule.

use std::fmt::Write as _;

use crate::model::explore::{ExploreReport, ExploredSchedule};
use crate::model::shrink::list;

use super::{badge, esc, head};

fn faults(s: &ExploredSchedule) -> String {
    s.faults
        .iter()
        .map(|f| {
            format!(
                "{} at {}s{}{}",
                f.name,
                f.at_s,
                f.for_s.map(|d| format!(" for {d}s")).unwrap_or_default(),
                f.intensity.as_ref().map(|i| format!(" ({i})")).unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The page of `r`.
pub fn explore_page(r: &ExploreReport) -> String {
    let mut h = head(&format!("{}: explore — ag06-lab", r.scenario));
    let found = r.failures > 0;
    let _ = write!(
        h,
        "<header id=\"header\">\n<h1>{}: {} {}</h1>\n<p>{}</p>\n<p class=\"meta\">{}{}</p>\n</header>\n",
        esc(&r.scenario),
        if found {
            format!("{} of {} schedules broke it", r.failures, r.schedules.len())
        } else {
            "nothing broke it".into()
        },
        badge(!found, if found { "weakness found" } else { "none found" }),
        esc(&r.covered),
        esc(&r.scenario_file),
        if r.incomplete { " · interrupted: fewer schedules than the budget" } else { "" }
    );
    if found {
        h.push_str("<section id=\"broken\">\n<h2>What broke, how often</h2>\n<table>\n<tr><th>objective or probe</th><th>schedules</th></tr>\n");
        for b in &r.broken {
            let _ = writeln!(h, "<tr><td>{}</td><td>{}</td></tr>", esc(&b.failure), b.schedules);
        }
        h.push_str("</table>\n</section>\n");
        h.push_str("<section id=\"reproducers\">\n<h2>Minimal reproducers</h2>\n<table>\n<tr><th>schedule</th><th>breaks</th><th>minimal: keeps</th><th>files</th></tr>\n");
        for p in &r.reproducers {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{}\">minimal</a> · <a href=\"{}\">as drawn</a> · <a href=\"{}\">steps</a></td></tr>",
                p.schedule,
                esc(&list(&p.breaks)),
                esc(&p.kept.join(", ")),
                esc(&p.minimal_file),
                esc(&p.schedule_file),
                esc(&p.shrink_file)
            );
        }
        h.push_str("</table>\n</section>\n");
    }
    h.push_str("<section id=\"schedules\">\n<h2>Schedules</h2>\n<table>\n<tr><th>#</th><th>faults</th><th>fault time [s]</th><th>broke</th><th>availability</th><th>p99 [ms]</th></tr>\n");
    let order = r.ranked.iter().copied().chain(r.schedules.iter().filter(|s| !s.fails).map(|s| s.index));
    for k in order {
        let Some(s) = r.schedules.iter().find(|s| s.index == k) else { continue };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s.index,
            esc(&faults(s)),
            s.fault_time_s,
            esc(&list(&s.figures.failed)),
            s.figures.availability.map(|a| format!("{a:.5}")).unwrap_or_else(|| "–".into()),
            s.figures.p99_ms.map(|a| format!("{a:.1}")).unwrap_or_else(|| "–".into())
        );
    }
    h.push_str("</table>\n</section>\n</body>\n</html>\n");
    h
}
