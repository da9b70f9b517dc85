//! Judging a candidate: margins per figure, Holm's correction over the figures that can fail the gate,
//! critical figures that fail it alone, and a weighted score of the rest (Kayenta's judge, with the
//! family-wise error rate of its regressions held at alpha).

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use super::stats::{self, Change};
use super::{FigureSamples, SampleSet};
use crate::figures::{Better, mean, sample_variance};
use crate::model::compare::{
    COMPARE_SCHEMA, Comparison, FigureComparison, FigureVerdict as Verdict, Gate, GateVerdict, Interval, Margin, Role,
    Test,
};
use crate::model::sweep::AggregateKind;

/// The power the minimum detectable effect of each figure is quoted at.
pub(crate) const MDE_POWER: f64 = 0.8;

/// `--margin [PATTERN=]MARGIN`: a margin for the figures matching a pattern (all figures without one).
#[derive(Clone, Debug, PartialEq)]
pub struct MarginOverride {
    /// Glob pattern of figure names.
    pub pattern: String,
    /// The margin.
    pub margin: Margin,
}

impl std::str::FromStr for MarginOverride {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (pattern, margin) = match s.rsplit_once('=') {
            Some((p, m)) => (p.trim().to_string(), m),
            None => ("*".to_string(), s),
        };
        glob::Pattern::new(&pattern).map_err(|e| format!("invalid figure pattern \"{pattern}\": {e}"))?;
        Ok(MarginOverride { pattern, margin: margin.parse()? })
    }
}

/// How to judge.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The test.
    pub test: Test,
    /// Family-wise significance level.
    pub alpha: f64,
    /// `--margin` overrides, stronger than the scenario's `[gate] margin`.
    pub margins: Vec<MarginOverride>,
}

impl Options {
    /// Welch's test at `alpha` with no overrides.
    pub fn new(alpha: f64) -> Options {
        Options { test: Test::Welch, alpha, margins: Vec::new() }
    }
}

/// A set of (pattern → value) rules: where several match a name, the one with the most literal
/// characters wins (ties: the first by pattern text). Each rule must match some figure.
struct Rules<'a, T> {
    rules: Vec<(glob::Pattern, String, &'a T)>,
}

impl<'a, T> Rules<'a, T> {
    fn new(origin: &str, entries: impl IntoIterator<Item = (&'a str, &'a T)>) -> Result<Self> {
        let mut rules = Vec::new();
        for (pattern, value) in entries {
            let at = format!("{origin}\"{pattern}\"");
            let p = glob::Pattern::new(pattern).map_err(|e| anyhow::anyhow!("{at}: invalid figure pattern: {e}"))?;
            rules.push((p, at, value));
        }
        Ok(Rules { rules })
    }

    fn get(&self, name: &str) -> Option<&'a T> {
        let literal = |p: &glob::Pattern| p.as_str().chars().filter(|c| !matches!(c, '*' | '?' | '[' | ']')).count();
        let mut best: Option<(&glob::Pattern, &'a T)> = None;
        for (p, _, v) in &self.rules {
            if p.matches(name) && best.is_none_or(|(b, _)| literal(p) > literal(b)) {
                best = Some((p, v));
            }
        }
        best.map(|(_, v)| v)
    }

    /// Refuses a rule that matches none of `names` (a misspelt figure would silently do nothing).
    fn all_used<'n>(&self, names: impl Iterator<Item = &'n str> + Clone) -> Result<()> {
        for (p, at, _) in &self.rules {
            if !names.clone().any(|n| p.matches(n)) {
                let known: Vec<&str> = names.clone().collect();
                bail!("{at} matches no figure of the comparison (figures: {})", known.join(", "));
            }
        }
        Ok(())
    }
}

/// What the gate makes of one figure before looking at the data.
pub(super) struct Setup {
    pub(super) better: Better,
    pub(super) role: Role,
    pub(super) weight: f64,
    pub(super) margin: Option<Margin>,
}

/// The rules of a `[gate]` and the `--margin` overrides, resolved per figure.
pub(super) struct Config<'a> {
    figures: Rules<'a, ()>,
    critical: Rules<'a, ()>,
    margin: Rules<'a, Margin>,
    cli_margin: Rules<'a, Margin>,
    weight: Rules<'a, f64>,
    direction: Rules<'a, Better>,
    restrict: bool,
}

const UNIT: () = ();
const DEFAULT_CRITICAL: [&str; 1] = ["slo.*"];

impl<'a> Config<'a> {
    pub(super) fn new(gate: &'a Gate, from: &str, options: &'a Options) -> Result<Self> {
        let origin = |key: &str| format!("{from}: gate.{key}.");
        let critical: Vec<&str> = match &gate.critical {
            Some(c) => c.iter().map(String::as_str).collect(),
            None => DEFAULT_CRITICAL.to_vec(),
        };
        Ok(Config {
            figures: Rules::new(&origin("figures"), gate.figures.iter().map(|p| (p.as_str(), &UNIT)))?,
            critical: Rules::new(&origin("critical"), critical.into_iter().map(|p| (p, &UNIT)))?,
            margin: Rules::new(&origin("margin"), gate.margin.iter().map(|(p, m)| (p.as_str(), m)))?,
            cli_margin: Rules::new("--margin ", options.margins.iter().map(|m| (m.pattern.as_str(), &m.margin)))?,
            weight: Rules::new(&origin("weight"), gate.weight.iter().map(|(p, w)| (p.as_str(), w)))?,
            direction: Rules::new(&origin("direction"), gate.direction.iter().map(|(p, d)| (p.as_str(), d)))?,
            restrict: !gate.figures.is_empty(),
        })
    }

    pub(super) fn check<'n>(&self, gate: &Gate, names: impl Iterator<Item = &'n str> + Clone) -> Result<()> {
        self.figures.all_used(names.clone())?;
        if gate.critical.is_some() {
            self.critical.all_used(names.clone())?;
        }
        self.margin.all_used(names.clone())?;
        self.cli_margin.all_used(names.clone())?;
        self.weight.all_used(names.clone())?;
        self.direction.all_used(names)
    }

    pub(super) fn setup(&self, name: &str, s: &FigureSamples) -> Setup {
        let better = self.direction.get(name).copied().unwrap_or(s.better);
        let gated = better != Better::Neutral && (!self.restrict || self.figures.get(name).is_some());
        let role = match (gated, self.critical.get(name).is_some()) {
            (false, _) => Role::Reported,
            (true, true) => Role::Critical,
            (true, false) => Role::Gated,
        };
        let margin = self.cli_margin.get(name).or_else(|| self.margin.get(name)).copied();
        Setup {
            better,
            role,
            weight: if gated { self.weight.get(name).copied().unwrap_or(1.0) } else { 0.0 },
            margin: gated.then(|| margin.unwrap_or_else(|| s.kind.default_margin())),
        }
    }

    /// A critical pattern that picks only figures that cannot fail the gate is a mistake worth an error.
    fn critical_gated(&self, gate: &Gate, setups: &BTreeMap<&str, Setup>) -> Result<()> {
        if gate.critical.is_none() {
            return Ok(());
        }
        for (p, at, _) in &self.critical.rules {
            let matched: Vec<&str> = setups.keys().copied().filter(|n| p.matches(n)).collect();
            if !matched.is_empty() && matched.iter().all(|n| setups[n].role == Role::Reported) {
                bail!(
                    "{at} matches only figures that cannot fail the gate ({}): give them a direction in gate.direction, or add them to gate.figures",
                    matched.join(", ")
                );
            }
        }
        Ok(())
    }
}

/// A number with four significant digits, trailing zeros dropped (no exponent for everyday magnitudes).
pub fn sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 9) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// The figure's change turned so that positive is worse.
fn worse(better: Better, c: Change) -> Change {
    match better {
        Better::Higher => Change { estimate: -c.estimate, lo: -c.hi, hi: -c.lo },
        _ => c,
    }
}

fn interval(test: Test, a: &[f64], b: &[f64], confidence: f64) -> Option<Change> {
    match test {
        Test::Welch => stats::welch_interval(a, b, confidence),
        Test::MannWhitney => stats::hodges_lehmann(a, b, confidence),
    }
}

/// One-sided p-value of "worse by more than `margin`".
fn p_worse(test: Test, better: Better, a: &[f64], b: &[f64], margin: f64) -> Option<f64> {
    let (from, to) = if better == Better::Higher { (b, a) } else { (a, b) };
    match test {
        Test::Welch => stats::welch_p_beyond(from, to, margin),
        Test::MannWhitney => stats::mann_whitney_p_beyond(from, to, margin),
    }
}

/// Judges `b` (the candidate) against `a` (the baseline) with the candidate's `[gate]`.
pub fn judge(a: &SampleSet, b: &SampleSet, options: &Options) -> Result<Comparison> {
    if a.kind != b.kind {
        bail!("compare two sweeps or two runs: `{}` is {}, `{}` is {}", a.label, a.kind, b.label, b.kind);
    }
    let alpha = options.alpha;
    let from = if b.scenario_file.is_empty() { b.label.clone() } else { b.scenario_file.clone() };
    let config = Config::new(&b.gate, &from, options)?;
    let common: Vec<(&str, &FigureSamples, &FigureSamples)> =
        a.figures.iter().filter_map(|(name, fa)| b.figures.get(name).map(|fb| (name.as_str(), fa, fb))).collect();
    config.check(&b.gate, common.iter().map(|c| c.0))?;
    let setups: BTreeMap<&str, Setup> = common.iter().map(|(n, fa, _)| (*n, config.setup(n, fa))).collect();
    config.critical_gated(&b.gate, &setups)?;

    // The family: gated figures with enough data, each with its one-sided p-value beyond its margin.
    let mut family: Vec<(&str, f64, f64)> = Vec::new(); // (name, margin in units, p)
    for (name, fa, fb) in &common {
        let s = &setups[name];
        if let Some(m) = s.margin {
            let m_abs = m.resolve(mean(&fa.values), fa.kind);
            if let Some(p) = p_worse(options.test, s.better, &fa.values, &fb.values, m_abs) {
                family.push((name, m_abs, p));
            }
        }
    }
    let ps: Vec<f64> = family.iter().map(|f| f.2).collect();
    let adjusted = stats::holm(&ps);
    let levels = stats::holm_levels(&ps, alpha);
    let in_family: BTreeMap<&str, (f64, f64, f64, f64)> =
        family.iter().enumerate().map(|(i, f)| (f.0, (f.1, f.2, adjusted[i], levels[i]))).collect();
    let m = family.len();

    let mut figures: Vec<FigureComparison> = common
        .iter()
        .map(|(name, fa, fb)| {
            let s = &setups[name];
            match (s.margin, in_family.get(name)) {
                (Some(margin), Some(&(m_abs, p, p_adj, level))) => {
                    gated(name, (fa, fb), s, margin, (m_abs, p, p_adj, level), m, options)
                }
                (Some(margin), None) => FigureComparison {
                    margin: Some(margin),
                    margin_abs: Some(margin.resolve(mean(&fa.values), fa.kind)),
                    ..reported(name, fa, fb, s, options)
                },
                (None, _) => reported(name, fa, fb, s, options),
            }
        })
        .collect();
    let rank = |r: Role| match r {
        Role::Critical => 0,
        Role::Gated => 1,
        Role::Reported => 2,
    };
    figures.sort_by(|x, y| rank(x.role).cmp(&rank(y.role)).then_with(|| x.figure.cmp(&y.figure)));
    Ok(verdict(a, b, options, figures, m))
}

/// The figure in the family.
fn gated(
    name: &str,
    (fa, fb): (&FigureSamples, &FigureSamples),
    s: &Setup,
    margin: Margin,
    (m_abs, p, p_adj, level): (f64, f64, f64, f64),
    family: usize,
    options: &Options,
) -> FigureComparison {
    let (xa, xb) = (&fa.values, &fb.values);
    let confidence = 1.0 - 2.0 * level;
    let change = interval(options.test, xa, xb, confidence).expect("invariant: 2 values a side (it has a p-value)");
    let w = worse(s.better, change);
    let sd = |x: &[f64]| sample_variance(x).sqrt();
    let mde =
        stats::min_detectable(sd(xa), xa.len(), sd(xb), xb.len(), m_abs, options.alpha / family as f64, MDE_POWER);
    let span = format!("{}..{} at {:.2}% confidence", sig(change.lo), sig(change.hi), confidence * 100.0);
    let (verdict, reason) = if p_adj <= options.alpha && w.lo > m_abs {
        (
            Verdict::Regression,
            format!(
                "worse by {} ({span}), beyond the margin {margin} (= {}); Holm-adjusted p {:.2e} <= alpha {}",
                sig(w.estimate),
                sig(m_abs),
                p_adj,
                options.alpha
            ),
        )
    } else if w.hi < -m_abs {
        (Verdict::Improvement, format!("better by {} ({span}), beyond the margin {margin}", sig(-w.estimate)))
    } else if w.lo >= -m_abs && w.hi <= m_abs {
        (Verdict::WithinMargin, format!("the change ({span}) lies within ±{} ({margin})", sig(m_abs)))
    } else {
        let detect =
            mde.map(|d| format!("; these seeds detect a worse change of {} or more", sig(d))).unwrap_or_default();
        (
            Verdict::Inconclusive,
            format!("the change ({span}) reaches beyond the margin ±{} ({margin}){detect}", sig(m_abs)),
        )
    };
    FigureComparison {
        margin: Some(margin),
        margin_abs: Some(m_abs),
        interval: Some(Interval { lo: change.lo, hi: change.hi, confidence }),
        estimate: Some(change.estimate),
        p_value: Some(p),
        p_adjusted: Some(p_adj),
        mde,
        verdict,
        reason,
        ..base(name, fa, fb, s)
    }
}

/// A figure outside the family: a two-sided test at alpha, for information.
fn reported(name: &str, fa: &FigureSamples, fb: &FigureSamples, s: &Setup, options: &Options) -> FigureComparison {
    let (xa, xb) = (&fa.values, &fb.values);
    let p = match options.test {
        Test::Welch => super::welch(xa, xb),
        Test::MannWhitney => super::mann_whitney(xa, xb),
    };
    let change = interval(options.test, xa, xb, 1.0 - options.alpha);
    let why = if s.margin.is_some() {
        "in the family, but"
    } else if s.better == Better::Neutral {
        "no better direction:"
    } else {
        "not in gate.figures:"
    };
    let (verdict, reason) = match p {
        None => (Verdict::NotEnoughData, format!("{} and {} values: at least 2 a side are needed", xa.len(), xb.len())),
        Some(p) if p < options.alpha => {
            (Verdict::Changed, format!("{why} reported only; different at alpha {} (p {p:.2e})", options.alpha))
        }
        Some(p) => (
            Verdict::NoSignificantChange,
            format!("{why} reported only; not different at alpha {} (p {p:.2e})", options.alpha),
        ),
    };
    FigureComparison {
        interval: change.map(|c| Interval { lo: c.lo, hi: c.hi, confidence: 1.0 - options.alpha }),
        estimate: change.map(|c| c.estimate),
        p_value: p,
        verdict,
        reason,
        ..base(name, fa, fb, s)
    }
}

fn base(name: &str, fa: &FigureSamples, fb: &FigureSamples, s: &Setup) -> FigureComparison {
    let (ma, mb) = (mean(&fa.values), mean(&fb.values));
    FigureComparison {
        figure: name.to_string(),
        kind: fa.kind,
        better: s.better,
        role: s.role,
        weight: s.weight,
        baseline: ma,
        candidate: mb,
        diff: mb - ma,
        rel_diff: (ma != 0.0).then(|| (mb - ma) / ma.abs()),
        n: [fa.values.len(), fb.values.len()],
        margin: None,
        margin_abs: None,
        interval: None,
        estimate: None,
        p_value: None,
        p_adjusted: None,
        mde: None,
        verdict: Verdict::NotEnoughData,
        reason: String::new(),
    }
}

/// The gate's verdict from the figures' verdicts.
fn verdict(
    a: &SampleSet,
    b: &SampleSet,
    options: &Options,
    figures: Vec<FigureComparison>,
    family: usize,
) -> Comparison {
    let fail_score = b.gate.fail_score.unwrap_or(Gate::FAIL_SCORE);
    let judged = || figures.iter().filter(|f| f.role != Role::Reported && f.p_adjusted.is_some());
    let total: f64 = judged().map(|f| f.weight).sum();
    let kept: f64 = judged().filter(|f| f.verdict != Verdict::Regression).map(|f| f.weight).sum();
    let score = if total > 0.0 { 100.0 * kept / total } else { 100.0 };
    let by_p = |role: Role| {
        let mut v: Vec<&FigureComparison> =
            figures.iter().filter(|f| f.role == role && f.verdict == Verdict::Regression).collect();
        v.sort_by(|x, y| x.p_adjusted.unwrap_or(1.0).total_cmp(&y.p_adjusted.unwrap_or(1.0)));
        v.into_iter().map(|f| f.figure.clone()).collect::<Vec<_>>()
    };
    let critical = by_p(Role::Critical);
    let others = by_p(Role::Gated);
    let untested: Vec<String> = figures
        .iter()
        .filter(|f| f.role == Role::Critical && f.verdict == Verdict::NotEnoughData)
        .map(|f| f.figure.clone())
        .collect();
    let regressions = critical.len() + others.len();
    let (gate, reason, decided_by) = if !critical.is_empty() {
        let r = format!(
            "{} critical figure{} regressed beyond {} margin: {}",
            critical.len(),
            if critical.len() == 1 { "" } else { "s" },
            if critical.len() == 1 { "its" } else { "their" },
            critical.join(", ")
        );
        (GateVerdict::Fail, r, [critical, others].concat())
    } else if score < fail_score {
        let r = format!(
            "score {score:.1} below fail_score {fail_score}: {regressions} of {family} gated figures regressed beyond their margins"
        );
        (GateVerdict::Fail, r, others)
    } else if regressions > 0 {
        let r = format!(
            "{regressions} figure{} regressed beyond {} margin, none critical (score {score:.1}): {}",
            if regressions == 1 { "" } else { "s" },
            if regressions == 1 { "its" } else { "their" },
            others.join(", ")
        );
        (GateVerdict::Marginal, r, others)
    } else if !untested.is_empty() {
        let r = format!("critical figures with fewer than 2 values a side, not tested: {}", untested.join(", "));
        (GateVerdict::Marginal, r, untested)
    } else if family == 0 {
        (GateVerdict::Marginal, "no figure could be tested (fewer than 2 values a side)".to_string(), Vec::new())
    } else {
        let r = format!(
            "no figure regressed beyond its margin ({family} gated figures, family-wise alpha {})",
            options.alpha
        );
        (GateVerdict::Pass, r, Vec::new())
    };
    let count = |v: Verdict| figures.iter().filter(|f| f.verdict == v).count();
    Comparison {
        schema: COMPARE_SCHEMA,
        kind: AggregateKind::Compare,
        baseline: a.label.clone(),
        candidate: b.label.clone(),
        samples: a.kind,
        test: options.test,
        alpha: options.alpha,
        gate,
        reason,
        decided_by,
        score,
        fail_score,
        family,
        regressions,
        critical_regressions: figures
            .iter()
            .filter(|f| f.role == Role::Critical && f.verdict == Verdict::Regression)
            .count(),
        improvements: count(Verdict::Improvement),
        figures,
    }
}
