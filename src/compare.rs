//! The release gate: compare a candidate with a baseline, figure by figure, with a statistical test.
//!
//! Sweep directories give one value per seed for every headline figure (the recommended input: seeds are
//! independent). Run directories give one value per metrics window for the per-window figures of each
//! service (availability, p50, p99); windows are autocorrelated, so a per-window comparison overstates its
//! confidence: prefer sweeps for a gate.

pub mod stats;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, bail};

use crate::figures::{Better, mean, of_summary, sample_variance as var};
use crate::model::rows::{TimeseriesRow, from_csv};
use crate::model::sweep::AggregateKind;
use crate::report::junit::Case;
use crate::sweep::{read_summary, seed_dirs};

pub use crate::model::compare::{Comparison, FigureComparison, FigureVerdict as Verdict, Samples as SampleKind, Test};

type Samples = BTreeMap<String, (Better, Vec<f64>)>;

/// The samples of a directory: per seed for a sweep, per window for a run.
fn samples(dir: &Path) -> Result<(SampleKind, Samples)> {
    let mut out: Samples = BTreeMap::new();
    if dir.join("sweep.json").is_file() {
        for (_, d) in seed_dirs(&[dir.to_path_buf()])? {
            for (name, (v, b)) in of_summary(&read_summary(&d.join("summary.json"))?) {
                out.entry(name).or_insert((b, Vec::new())).1.push(v);
            }
        }
        return Ok((SampleKind::PerSeed, out));
    }
    if dir.join("summary.json").is_file() {
        let summary = read_summary(&dir.join("summary.json"))?;
        let path = dir.join("timeseries.csv");
        let bytes = std::fs::read(&path).map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", path.display()))?;
        let rows: Vec<TimeseriesRow> = from_csv(&bytes).map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?;
        for r in rows {
            let mut put = |name: String, v: Option<f64>, b: Better| {
                if let Some(v) = v {
                    out.entry(name).or_insert((b, Vec::new())).1.push(v);
                }
            };
            let service = &r.service;
            let avail = (r.requests > 0).then(|| r.ok as f64 / r.requests as f64);
            put(format!("services.{service}.availability"), avail, Better::Higher);
            put(format!("services.{service}.latency_ms.p50"), r.p50_ms, Better::Lower);
            put(format!("services.{service}.latency_ms.p99"), r.p99_ms, Better::Lower);
            if *service == summary.entry {
                put("availability".into(), avail, Better::Higher);
                put("latency_ms.p99".into(), r.p99_ms, Better::Lower);
            }
        }
        return Ok((SampleKind::PerWindow, out));
    }
    bail!("`{}` is neither a run directory (summary.json) nor a sweep directory (sweep.json)", dir.display())
}

/// Welch's t-test, two-sided p-value (`None` for fewer than 2 values a side; 1 when both sides are
/// constant and equal, 0 when constant and different).
pub fn welch(a: &[f64], b: &[f64]) -> Option<f64> {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (va, vb) = (var(a) / a.len() as f64, var(b) / b.len() as f64);
    let se = (va + vb).sqrt();
    let d = mean(b) - mean(a);
    if se == 0.0 {
        return Some(if d == 0.0 { 1.0 } else { 0.0 });
    }
    let t = d / se;
    let df = (va + vb).powi(2) / (va * va / (a.len() as f64 - 1.0) + vb * vb / (b.len() as f64 - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some((2.0 * (1.0 - dist.cdf(t.abs()))).clamp(0.0, 1.0))
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

/// Compares `candidate` with `baseline` (run or sweep directories).
pub fn compare(baseline: &Path, candidate: &Path, test: Test, alpha: f64) -> Result<Comparison> {
    let (kind_a, a) = samples(baseline)?;
    let (kind_b, b) = samples(candidate)?;
    if kind_a != kind_b {
        bail!(
            "compare two sweeps or two runs: `{}` is {kind_a}, `{}` is {kind_b}",
            baseline.display(),
            candidate.display()
        );
    }
    let mut figures = Vec::new();
    for (name, (better, xa)) in &a {
        let Some((_, xb)) = b.get(name) else { continue };
        let (ma, mb) = (mean(xa), mean(xb));
        let p = match test {
            Test::Welch => welch(xa, xb),
            Test::MannWhitney => mann_whitney(xa, xb),
        };
        let verdict = match p {
            None => Verdict::NotEnoughData,
            Some(p) if p >= alpha => Verdict::NoSignificantChange,
            Some(_) => match (better, mb > ma) {
                (Better::Neutral, _) => Verdict::Changed,
                (Better::Higher, true) | (Better::Lower, false) => Verdict::Improvement,
                _ => Verdict::Regression,
            },
        };
        figures.push(FigureComparison {
            figure: name.clone(),
            better: *better,
            baseline: ma,
            candidate: mb,
            diff: mb - ma,
            rel_diff: (ma != 0.0).then(|| (mb - ma) / ma.abs()),
            p_value: p,
            n: [xa.len(), xb.len()],
            verdict,
        });
    }
    let regressions = figures.iter().filter(|f| f.verdict == Verdict::Regression).count();
    let improvements = figures.iter().filter(|f| f.verdict == Verdict::Improvement).count();
    Ok(Comparison {
        schema: crate::model::SCHEMA,
        kind: AggregateKind::Compare,
        baseline: baseline.display().to_string(),
        candidate: candidate.display().to_string(),
        samples: kind_a,
        test,
        alpha,
        figures,
        regressions,
        improvements,
    })
}

/// The comparison's test cases: one per compared figure, failing on a regression.
pub fn cases(c: &Comparison) -> Vec<Case> {
    c.figures
        .iter()
        .map(|f| Case {
            class: "compare".into(),
            name: f.figure.clone(),
            failure: (f.verdict == Verdict::Regression).then(|| {
                format!(
                    "regression: baseline {:.6} -> candidate {:.6} ({:+.2}%), p = {:.3e} < alpha {} ({} values vs {})",
                    f.baseline,
                    f.candidate,
                    f.rel_diff.unwrap_or(0.0) * 100.0,
                    f.p_value.unwrap_or(0.0),
                    c.alpha,
                    f.n[0],
                    f.n[1]
                )
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
