//! The release gate: compare a candidate with a baseline, figure by figure, against a margin per figure,
//! with the family of figures that can fail the gate corrected by Holm's procedure.
//!
//! Sweep directories give one value per seed for every headline figure (the recommended input: seeds are
//! independent). Run directories give one value per metrics window for the per-window figures of each
//! service (availability, p50, p99); windows are autocorrelated, so a per-window comparison overstates its
//! confidence: prefer sweeps for a gate.

mod gate;
mod plan;
pub mod prediction;
pub mod stats;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, bail};

use crate::figures::{Better, FigureKind, of_summary};
use crate::model::rows::{TimeseriesRow, from_csv};
use crate::model::summary::Summary;
use crate::report::junit::Case;
use crate::sweep::{read_summary, seed_dirs};

pub use crate::model::compare::{
    Comparison, FigureComparison, FigureVerdict as Verdict, Gate, GateVerdict, Margin, Plan, PlanFigure, Role,
    Samples as SampleKind, Test,
};
/// A number with four significant digits, as the comparison writes them.
pub use gate::sig as stats_fmt;
pub use gate::{MarginOverride, Options, judge};
pub use plan::{plan, plan_samples};

/// The values of one figure on one side.
#[derive(Clone, Debug, PartialEq)]
pub struct FigureSamples {
    /// Which way is better.
    pub better: Better,
    /// What it measures.
    pub kind: FigureKind,
    /// One value per seed (or per window).
    pub values: Vec<f64>,
}

/// One side of a comparison: every figure's values, and the `[gate]` of the scenario that made them.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleSet {
    /// The directory, as given.
    pub label: String,
    /// What one value is.
    pub kind: SampleKind,
    /// The figures by name.
    pub figures: BTreeMap<String, FigureSamples>,
    /// The `[gate]` section of its scenario.
    pub gate: Gate,
    /// Its scenario file, as run (where the `[gate]` came from).
    pub scenario_file: String,
}

impl SampleSet {
    /// One value per seed, from the runs' summaries (in seed order).
    pub fn of_summaries<'a>(label: &str, summaries: impl IntoIterator<Item = &'a Summary>) -> SampleSet {
        let mut figures: BTreeMap<String, FigureSamples> = BTreeMap::new();
        let (mut gate, mut scenario_file) = (None, String::new());
        for s in summaries {
            if gate.is_none() {
                gate = Some(s.gate.clone());
                scenario_file.clone_from(&s.scenario_file);
            }
            for (name, f) in of_summary(s) {
                figures
                    .entry(name)
                    .or_insert(FigureSamples { better: f.better, kind: f.kind, values: Vec::new() })
                    .values
                    .push(f.value);
            }
        }
        SampleSet {
            label: label.to_string(),
            kind: SampleKind::PerSeed,
            figures,
            gate: gate.unwrap_or_default(),
            scenario_file,
        }
    }

    /// The samples of a directory: per seed for a sweep, per window for a run.
    pub fn read(dir: &Path) -> Result<SampleSet> {
        let label = dir.display().to_string();
        if dir.join("sweep.json").is_file() {
            let mut summaries = Vec::new();
            for (_, d) in seed_dirs(&[dir.to_path_buf()])? {
                summaries.push(read_summary(&d.join("summary.json"))?);
            }
            return Ok(SampleSet::of_summaries(&label, &summaries));
        }
        if dir.join("summary.json").is_file() {
            let summary = read_summary(&dir.join("summary.json"))?;
            return Ok(SampleSet {
                label,
                kind: SampleKind::PerWindow,
                figures: per_window(dir, &summary)?,
                gate: summary.gate,
                scenario_file: summary.scenario_file,
            });
        }
        bail!("`{}` is neither a run directory (summary.json) nor a sweep directory (sweep.json)", dir.display())
    }
}

/// The per-window figures of a run directory (from `timeseries.csv`).
fn per_window(dir: &Path, summary: &Summary) -> Result<BTreeMap<String, FigureSamples>> {
    let path = dir.join("timeseries.csv");
    let bytes = std::fs::read(&path).map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", path.display()))?;
    let rows: Vec<TimeseriesRow> = from_csv(&bytes).map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?;
    let mut out: BTreeMap<String, FigureSamples> = BTreeMap::new();
    for r in rows {
        let mut put = |name: String, v: Option<f64>, better: Better, kind: FigureKind| {
            if let Some(v) = v {
                out.entry(name).or_insert(FigureSamples { better, kind, values: Vec::new() }).values.push(v);
            }
        };
        let service = &r.service;
        let avail = (r.requests > 0).then(|| r.ok as f64 / r.requests as f64);
        put(format!("services.{service}.availability"), avail, Better::Higher, FigureKind::Ratio);
        put(format!("services.{service}.latency_ms.p50"), r.p50_ms, Better::Lower, FigureKind::Latency);
        put(format!("services.{service}.latency_ms.p99"), r.p99_ms, Better::Lower, FigureKind::Latency);
        if *service == summary.entry {
            put("availability".into(), avail, Better::Higher, FigureKind::Ratio);
            put("latency_ms.p99".into(), r.p99_ms, Better::Lower, FigureKind::Latency);
        }
    }
    Ok(out)
}

/// Welch's t-test, two-sided p-value (`None` for fewer than 2 values a side; 1 when both sides are
/// constant and equal, 0 when constant and different).
pub fn welch(a: &[f64], b: &[f64]) -> Option<f64> {
    let p = stats::welch_p_beyond(a, b, 0.0)?;
    let q = stats::welch_p_beyond(b, a, 0.0)?;
    Some((2.0 * p.min(q)).min(1.0))
}

/// Mann-Whitney U test, normal approximation with tie correction, two-sided p-value.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<f64> {
    use statrs::distribution::{ContinuousCDF, Normal};
    let (u1, mu, sigma) = stats::mann_whitney_u(a, b)?;
    if sigma == 0.0 {
        return Some(1.0);
    }
    let z = (u1 - mu).abs() / sigma;
    Some((2.0 * (1.0 - Normal::standard().cdf(z))).clamp(0.0, 1.0))
}

/// Compares `candidate` with `baseline` (run or sweep directories), with the candidate's `[gate]`.
pub fn compare(baseline: &Path, candidate: &Path, options: &Options) -> Result<Comparison> {
    let a = SampleSet::read(baseline)?;
    let b = SampleSet::read(candidate)?;
    judge(&a, &b, options)
}

/// The comparison's test cases: one per compared figure, failing on a regression, each with its numbers
/// (the failure message, or the case's output when it passed).
pub fn cases(c: &Comparison) -> Vec<Case> {
    c.figures
        .iter()
        .map(|f| {
            let numbers = format!(
                "{}: baseline {} -> candidate {} ({}), n = {} vs {}, p {} (Holm {}), MDE {}: {}",
                f.verdict,
                gate::sig(f.baseline),
                gate::sig(f.candidate),
                f.rel_diff.map(|r| format!("{:+.2}%", r * 100.0)).unwrap_or_else(|| "baseline 0".into()),
                f.n[0],
                f.n[1],
                f.p_value.map(|p| format!("{p:.2e}")).unwrap_or_else(|| "n/a".into()),
                f.p_adjusted.map(|p| format!("{p:.2e}")).unwrap_or_else(|| "n/a".into()),
                f.mde.map(gate::sig).unwrap_or_else(|| "n/a".into()),
                f.reason
            );
            let failed = f.verdict == Verdict::Regression;
            Case {
                class: format!("compare.{}", f.role),
                name: f.figure.clone(),
                failure: failed.then(|| numbers.clone()),
                output: (!failed).then_some(numbers),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::sample_variance as var;

    #[test]
    fn welch_matches_a_textbook_example() {
        // Two samples with means 20 and 22, equal variance 4, 10 values each: t = 2 / sqrt(0.8) = 2.236,
        // df = 18, two-sided p = 0.0382.
        // Alternating 20 +- d: sample variance 10 d^2 / 9 = 4 for d = sqrt(3.6).
        let d = 3.6f64.sqrt();
        let a: Vec<f64> = (0..10).map(|i| 20.0 + if i % 2 == 0 { d } else { -d }).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 2.0).collect();
        assert!((var(&a) - 4.0).abs() < 1e-9, "{}", var(&a));
        let p = welch(&a, &b).unwrap();
        assert!((p - 0.0382).abs() < 0.001, "{p}");
        assert_eq!(welch(&[1.0, 1.0], &[1.0, 1.0]), Some(1.0));
        assert_eq!(welch(&[1.0, 1.0], &[2.0, 2.0]), Some(0.0));
        assert_eq!(welch(&[1.0], &[2.0, 3.0]), None);
    }

    #[test]
    fn mann_whitney_separates_shifted_samples() {
        let a: Vec<f64> = (0..20).map(f64::from).collect();
        let b: Vec<f64> = (0..20).map(|i| f64::from(i) + 30.0).collect();
        assert!(mann_whitney(&a, &b).unwrap() < 1e-6);
        let c: Vec<f64> = (0..20).map(|i| f64::from(i) + 0.5).collect();
        assert!(mann_whitney(&a, &c).unwrap() > 0.5);
    }
}
