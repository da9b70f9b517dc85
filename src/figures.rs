//! Headline figures: the numbers of a run's summary.json that sweeps aggregate and compare tests, each
//! with the direction that counts as better.

use std::collections::BTreeMap;

pub(crate) use crate::model::compare::FigureKind;
use crate::model::summary::Summary;
pub(crate) use crate::model::sweep::Better;

/// One headline figure of a run: its value, which way is better and what it measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Figure {
    pub(crate) value: f64,
    pub(crate) better: Better,
    pub(crate) kind: FigureKind,
}

/// The headline figures of a run's summary, by name.
pub(crate) fn of_summary(s: &Summary) -> BTreeMap<String, Figure> {
    use FigureKind::{Count, Latency, Level, Load, Ratio};
    let mut m = BTreeMap::new();
    let mut put = |name: String, v: Option<f64>, better: Better, kind: FigureKind| {
        if let Some(value) = v.filter(|x| x.is_finite()) {
            m.insert(name, Figure { value, better, kind });
        }
    };
    let ratio = |ok: u64, total: u64| (total > 0).then(|| ok as f64 / total as f64);
    let c = &s.requests.counts;
    put("requests.total".into(), Some(c.requests as f64), Better::Neutral, Count);
    put("requests.ok".into(), Some(c.ok as f64), Better::Neutral, Count);
    put("requests.failed".into(), Some(c.failed as f64), Better::Lower, Count);
    put("requests.timed_out".into(), Some(c.timed_out as f64), Better::Lower, Count);
    put("requests.rejected".into(), Some(c.rejected as f64), Better::Lower, Count);
    put("availability".into(), ratio(c.ok, c.requests), Better::Higher, Ratio);
    let l = &s.latency_ms;
    for (k, v) in [("mean", l.mean), ("p50", l.p50), ("p90", l.p90), ("p99", l.p99), ("p999", l.p999), ("max", l.max)] {
        put(format!("latency_ms.{k}"), Some(v), Better::Lower, Latency);
    }
    for (name, v) in &s.services {
        put(format!("services.{name}.availability"), ratio(v.ok, v.requests), Better::Higher, Ratio);
        put(format!("services.{name}.latency_ms.mean"), Some(v.latency_ms.mean), Better::Lower, Latency);
        put(format!("services.{name}.latency_ms.p99"), Some(v.latency_ms.p99), Better::Lower, Latency);
        put(format!("services.{name}.utilization"), Some(v.utilization), Better::Neutral, Load);
        put(format!("services.{name}.restarts"), Some(v.restarts as f64), Better::Lower, Count);
    }
    for slo in &s.slos {
        let better = if slo.sli.lower_is_better() { Better::Lower } else { Better::Higher };
        put(format!("slo.{}.achieved", slo.name), slo.achieved, better, Ratio);
    }
    if let Some(a) = &s.audio {
        for (k, v) in [
            ("xruns", a.xruns as f64),
            ("missing", a.missing as f64),
            ("dropouts", a.dropouts as f64),
            ("clipped_samples", a.clipped_samples as f64),
        ] {
            put(format!("audio.{k}"), Some(v), Better::Lower, Count);
        }
        put("audio.max_dropout_ms".into(), Some(a.max_dropout_ms), Better::Lower, Latency);
        put("audio.output_lufs".into(), a.output_lufs, Better::Neutral, Level);
        put("audio.dsp_load_mean".into(), Some(a.dsp_load_mean), Better::Lower, Load);
    }
    if let Some(h) = &s.hypothesis {
        let failed = h.probes.iter().flat_map(|p| &p.phases).filter(|c| !c.ok).count();
        put("hypothesis.deviations".into(), Some(failed as f64), Better::Lower, Count);
    }
    m
}

/// The arithmetic mean (NaN for no values).
pub(crate) fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The sample variance, with n − 1 in the denominator (NaN for fewer than two values).
pub(crate) fn sample_variance(xs: &[f64]) -> f64 {
    let m = mean(xs);
    xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() as f64 - 1.0)
}

/// Sample mean, standard deviation and the half-width of the 95% confidence interval of the mean
/// (Student's t with n − 1 degrees of freedom; 0 for fewer than two values).
pub(crate) fn mean_ci95(xs: &[f64]) -> (f64, f64, f64) {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (f64::NAN, 0.0, 0.0);
    }
    let mean = mean(xs);
    if xs.len() < 2 {
        return (mean, 0.0, 0.0);
    }
    let sd = sample_variance(xs).sqrt();
    let t = StudentsT::new(0.0, 1.0, n - 1.0).expect("invariant: n >= 2 degrees of freedom").inverse_cdf(0.975);
    (mean, sd, t * sd / n.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci95_uses_student_t() {
        // 1..5 has sd sqrt(2.5); scaled to sd 1, t(0.975, 4) = 2.7764 gives a half-width of 2.7764 / sqrt(5).
        let xs: Vec<f64> = (1..=5).map(|x| f64::from(x) / 2.5f64.sqrt()).collect();
        let (m, sd, h) = mean_ci95(&xs);
        assert!((sd - 1.0).abs() < 1e-12, "{sd}");
        assert!((h - 2.776_445_105 / 5f64.sqrt()).abs() < 1e-6, "{h}");
        assert!((m - 3.0 / 2.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(mean_ci95(&[4.0]), (4.0, 0.0, 0.0));
    }
}
