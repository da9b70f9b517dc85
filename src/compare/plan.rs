//! `compare --plan`: how many seeds a side a comparison needs to catch a given change in each figure that
//! can fail the gate, from the spread of a baseline sweep.

use std::path::Path;

use anyhow::{Result, bail};

use super::gate::{Config, Options};
use super::{SampleKind, SampleSet, stats};
use crate::figures::{Better, mean, sample_variance};
use crate::model::compare::{Margin, Plan, PlanFigure, Role};

/// The one-sided confidence of the upper bound of the baseline's standard deviation the planner plans
/// with (Browne 1995, "On the use of a pilot sample for sample size determination"): a baseline of a few
/// dozen seeds underestimates the spread about half the time, and a plan from the estimate itself then
/// catches less often than it promised.
pub(crate) const SD_CONFIDENCE: f64 = 0.8;

/// The factor from a sample standard deviation of `n` values to the upper bound of σ at
/// [`SD_CONFIDENCE`]: √((n − 1) / χ²₁₋c(n − 1)), with χ²₁₋c the lower (1 − c) quantile.
fn sd_upper_factor(n: usize) -> f64 {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    let df = (n - 1) as f64;
    let q = ChiSquared::new(df).expect("invariant: n >= 2").inverse_cdf(1.0 - SD_CONFIDENCE);
    (df / q).sqrt()
}

/// The most seeds a side the planner considers.
pub(crate) const LIMIT: usize = 10_000;

/// Plans a comparison against the baseline sweep `baseline`: the seeds a side that catch a worse
/// change of `detect` (beyond each figure's margin) with probability `power`, each figure at alpha over
/// the family (the first step of Holm's procedure, which a lone regression must pass), with the exact
/// power of Welch's test (noncentral t). The spread planned with is the 80% upper confidence bound of the
/// baseline's standard deviation ([`SD_CONFIDENCE`]); the candidate's is taken as that, scaled with the
/// level for figures where lower is better (a latency 20% higher varies 20% more over the seeds).
pub fn plan(baseline: &Path, detect: Margin, power: f64, options: &Options) -> Result<Plan> {
    plan_samples(&SampleSet::read(baseline)?, detect, power, options)
}

/// [`plan`] from the baseline's samples.
pub fn plan_samples(a: &SampleSet, detect: Margin, power: f64, options: &Options) -> Result<Plan> {
    if a.kind != SampleKind::PerSeed {
        bail!("--plan needs a sweep directory (sweep.json), the seeds' spread: `{}` is a run directory", a.label);
    }
    let from = if a.scenario_file.is_empty() { a.label.clone() } else { a.scenario_file.clone() };
    let config = Config::new(&a.gate, &from, options)?;
    config.check(&a.gate, a.figures.keys().map(String::as_str))?;
    let seeds = a.figures.values().map(|f| f.values.len()).max().unwrap_or(0);
    if seeds < 2 {
        bail!("`{}` has {seeds} seed(s): the planner needs the spread of at least 2", a.label);
    }
    let candidates: Vec<_> = a
        .figures
        .iter()
        .filter_map(|(name, f)| {
            let s = config.setup(name, f);
            let margin = s.margin?;
            (f.values.len() >= 2).then_some((name, f, s, margin))
        })
        .collect();
    let family = candidates.len();
    let level = options.alpha / family.max(1) as f64;
    let mut figures: Vec<PlanFigure> = candidates
        .into_iter()
        .map(|(name, f, s, margin)| {
            let m = mean(&f.values);
            let sd = sample_variance(&f.values).sqrt();
            let sd_planned = sd * sd_upper_factor(f.values.len());
            let margin_abs = margin.resolve(m, f.kind);
            let change = match detect {
                Margin::Relative(pct) => pct / 100.0 * m.abs(),
                Margin::Absolute(v) => v,
            };
            let scale = if s.better == Better::Lower && m != 0.0 { ((m + change) / m).abs().max(1.0) } else { 1.0 };
            let seeds = stats::seeds_needed(sd_planned, sd_planned * scale, change, margin_abs, level, power, LIMIT);
            let reason = match seeds {
                Some(_) => None,
                None if change <= margin_abs => Some(format!(
                    "a change of {} is within the margin {} ({margin}): the gate never flags it",
                    super::gate::sig(change),
                    super::gate::sig(margin_abs)
                )),
                None => Some(format!("more than {LIMIT} seeds a side")),
            };
            PlanFigure {
                figure: name.clone(),
                role: s.role,
                mean: m,
                sd,
                sd_planned,
                margin_abs,
                change,
                seeds,
                reason,
            }
        })
        .collect();
    figures.sort_by_key(|f| (f.role != Role::Critical, f.figure.clone()));
    let most = |critical_only: bool| -> Option<usize> {
        figures.iter().filter(|f| !critical_only || f.role == Role::Critical).filter_map(|f| f.seeds).max()
    };
    Ok(Plan {
        baseline: a.label.clone(),
        baseline_seeds: seeds,
        detect,
        alpha: options.alpha,
        power,
        family,
        seeds_critical: most(true),
        seeds_all: most(false),
        figures,
    })
}
