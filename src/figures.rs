//! Headline figures: the numbers of a run's summary.json that sweeps aggregate and compare tests, each
//! with the direction that counts as better.

use std::collections::BTreeMap;

use serde_json::Value;

/// Which way is better.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Better {
    /// Higher is better (availability, an objective achieved).
    Higher,
    /// Lower is better (latency, failures, xruns).
    Lower,
    /// Neither: reported, never a regression (request counts, utilisation, loudness).
    Neutral,
}

/// The headline figures of a summary.json, by name.
pub fn of_summary(s: &Value) -> BTreeMap<String, (f64, Better)> {
    let mut m = BTreeMap::new();
    let num = |v: &Value| v.as_f64();
    let mut put = |name: String, v: Option<f64>, b: Better| {
        if let Some(v) = v.filter(|x| x.is_finite()) {
            m.insert(name, (v, b));
        }
    };
    let r = &s["requests"];
    put("requests.total".into(), num(&r["total"]), Better::Neutral);
    put("requests.ok".into(), num(&r["ok"]), Better::Neutral);
    for k in ["failed", "timed_out", "rejected"] {
        put(format!("requests.{k}"), num(&r[k]), Better::Lower);
    }
    if let (Some(ok), Some(total)) = (num(&r["ok"]), num(&r["total"])) {
        put("availability".into(), (total > 0.0).then(|| ok / total), Better::Higher);
    }
    for k in ["mean", "p50", "p90", "p99", "p999", "max"] {
        put(format!("latency_ms.{k}"), num(&s["latency_ms"][k]), Better::Lower);
    }
    if let Some(services) = s["services"].as_object() {
        for (name, v) in services {
            if let (Some(ok), Some(total)) = (num(&v["ok"]), num(&v["requests"])) {
                put(format!("services.{name}.availability"), (total > 0.0).then(|| ok / total), Better::Higher);
            }
            put(format!("services.{name}.latency_ms.mean"), num(&v["latency_ms"]["mean"]), Better::Lower);
            put(format!("services.{name}.latency_ms.p99"), num(&v["latency_ms"]["p99"]), Better::Lower);
            put(format!("services.{name}.utilization"), num(&v["utilization"]), Better::Neutral);
            put(format!("services.{name}.restarts"), num(&v["restarts"]), Better::Lower);
        }
    }
    if let Some(slos) = s["slos"].as_array() {
        for slo in slos {
            let name = slo["name"].as_str().unwrap_or("?");
            let better = match slo["sli"].as_str() {
                Some("xruns-per-hour" | "max-dropout") => Better::Lower,
                _ => Better::Higher,
            };
            put(format!("slo.{name}.achieved"), num(&slo["achieved"]), better);
        }
    }
    let a = &s["audio"];
    if a.is_object() {
        for k in ["xruns", "missing", "dropouts", "max_dropout_ms", "clipped_samples"] {
            put(format!("audio.{k}"), num(&a[k]), Better::Lower);
        }
        put("audio.output_lufs".into(), num(&a["output_lufs"]), Better::Neutral);
        put("audio.dsp_load_mean".into(), num(&a["dsp_load_mean"]), Better::Lower);
    }
    if let Some(probes) = s["hypothesis"]["probes"].as_array() {
        let failed = probes
            .iter()
            .flat_map(|p| p["phases"].as_array().into_iter().flatten())
            .filter(|c| c["ok"] == Value::Bool(false))
            .count();
        put("hypothesis.deviations".into(), Some(failed as f64), Better::Lower);
    }
    m
}

/// Sample mean, standard deviation and the half-width of the 95% confidence interval of the mean
/// (Student's t with n − 1 degrees of freedom; 0 for fewer than two values).
pub fn mean_ci95(xs: &[f64]) -> (f64, f64, f64) {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (f64::NAN, 0.0, 0.0);
    }
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0, 0.0);
    }
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
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
