//! `[gate]`: the figure patterns are globs, the margins and weights are numbers that mean something.
//! Whether a pattern matches a figure is checked by `compare`, which knows the figures.

use super::Checker;
use crate::model::compare::{Gate, Margin};

pub(super) fn check(c: &mut Checker, g: &Gate) {
    let pattern = |c: &mut Checker, at: String, p: &str| {
        if let Err(e) = glob::Pattern::new(p) {
            c.err(at, format!("invalid figure pattern \"{p}\": {e}"));
        }
    };
    for (i, p) in g.figures.iter().enumerate() {
        pattern(c, format!("gate.figures[{i}]"), p);
    }
    for (i, p) in g.critical.iter().flatten().enumerate() {
        pattern(c, format!("gate.critical[{i}]"), p);
    }
    for (p, m) in &g.margin {
        let at = format!("gate.margin.\"{p}\"");
        pattern(c, at.clone(), p);
        if let Margin::Relative(pct) = m
            && *pct >= 100.0
        {
            c.err(at, format!("{m} is not a margin a gate can use: a share of the baseline below 100%"));
        }
    }
    for (p, w) in &g.weight {
        let at = format!("gate.weight.\"{p}\"");
        pattern(c, at.clone(), p);
        if !(w.is_finite() && *w > 0.0) {
            c.err(at, format!("{w} is not a weight: expected a number above 0"));
        }
    }
    for p in g.direction.keys() {
        pattern(c, format!("gate.direction.\"{p}\""), p);
    }
    if let Some(s) = g.fail_score
        && !(0.0..=100.0).contains(&s)
    {
        c.err("gate.fail_score", format!("{s} is not a score: expected a percentage from 0 to 100"));
    }
}
