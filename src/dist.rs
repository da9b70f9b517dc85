//! Latency distributions: what a service's own processing time (or an injected delay) looks like.

use rand::RngExt;
use rand_distr::{Distribution, Exp, LogNormal, Normal};

use crate::sim::{SimDuration, SimRng};

/// z such that P(Z <= z) = 0.99 for a standard normal Z (used to fit a lognormal from median and p99).
pub(crate) const Z_99: f64 = 2.326_347_874_040_840_8;

/// A distribution of durations. Parameters are kept in nanoseconds.
#[derive(Clone, Debug)]
pub enum Dist {
    /// Always the same value.
    Constant {
        /// The value [ns].
        value: f64,
    },
    /// Uniform on `[min, max]`.
    Uniform {
        /// Lower bound [ns].
        min: f64,
        /// Upper bound [ns].
        max: f64,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean [ns].
        mean: f64,
        /// The sampler.
        exp: Exp<f64>,
    },
    /// Lognormal fitted to a median and a 99th percentile.
    LogNormal {
        /// Location of ln(x) (ln of the median in ns).
        mu: f64,
        /// Scale of ln(x).
        sigma: f64,
        /// The sampler.
        ln: LogNormal<f64>,
    },
    /// Empirical: the values of a file (an HdrHistogram, or samples), drawn by inverse CDF.
    Empirical(std::sync::Arc<Empirical>),
    /// Normal truncated at zero (negative draws are redrawn: the conditional distribution given x >= 0).
    Normal {
        /// Mean of the untruncated normal [ns].
        mean: f64,
        /// Standard deviation of the untruncated normal [ns].
        stddev: f64,
        /// The sampler.
        normal: Normal<f64>,
    },
}

/// Why distribution parameters were refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DistError {
    /// `min` above `max`.
    #[error("`min` ({min}) is greater than `max` ({max})")]
    UniformBounds {
        /// The lower bound as written.
        min: String,
        /// The upper bound as written.
        max: String,
    },
    /// A mean of zero for an exponential.
    #[error("`mean` must be greater than zero")]
    ZeroMean,
    /// Lognormal median not positive or p99 below the median.
    #[error("`p99` ({p99}) must be greater than `median` ({median}), and `median` greater than zero")]
    LogNormalShape {
        /// The median as written.
        median: String,
        /// The p99 as written.
        p99: String,
    },
}

impl Dist {
    pub fn constant(value: SimDuration) -> Self {
        Dist::Constant { value: value.as_nanos() as f64 }
    }

    /// Uniform on `[min, max]`.
    pub fn uniform(min: SimDuration, max: SimDuration) -> Result<Self, DistError> {
        if min > max {
            return Err(DistError::UniformBounds { min: min.to_string(), max: max.to_string() });
        }
        Ok(Dist::Uniform { min: min.as_nanos() as f64, max: max.as_nanos() as f64 })
    }

    /// Exponential with mean `mean`.
    pub fn exponential(mean: SimDuration) -> Result<Self, DistError> {
        if mean.is_zero() {
            return Err(DistError::ZeroMean);
        }
        let m = mean.as_nanos() as f64;
        let exp = Exp::new(1.0 / m).map_err(|_| DistError::ZeroMean)?;
        Ok(Dist::Exponential { mean: m, exp })
    }

    /// Lognormal with the given median and 99th percentile.
    pub fn lognormal(median: SimDuration, p99: SimDuration) -> Result<Self, DistError> {
        let shape = || DistError::LogNormalShape { median: median.to_string(), p99: p99.to_string() };
        if median.is_zero() || p99 <= median {
            return Err(shape());
        }
        let mu = (median.as_nanos() as f64).ln();
        let sigma = ((p99.as_nanos() as f64).ln() - mu) / Z_99;
        let ln = LogNormal::new(mu, sigma).map_err(|_| shape())?;
        Ok(Dist::LogNormal { mu, sigma, ln })
    }

    /// Normal with `mean` and `stddev`, truncated at zero.
    pub fn normal(mean: SimDuration, stddev: SimDuration) -> Self {
        let (m, s) = (mean.as_nanos() as f64, stddev.as_nanos() as f64);
        let normal = Normal::new(m, s).expect("invariant: a duration is a finite, non-negative stddev");
        Dist::Normal { mean: m, stddev: s, normal }
    }

    /// Draws one duration.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        let ns = match self {
            Dist::Constant { value } => *value,
            Dist::Uniform { min, max } => {
                if min == max {
                    *min
                } else {
                    min + (max - min) * rng.random::<f64>()
                }
            }
            Dist::Exponential { exp, .. } => exp.sample(rng),
            Dist::LogNormal { ln, .. } => ln.sample(rng),
            Dist::Empirical(e) => e.quantile(rng.random::<f64>()),
            Dist::Normal { normal, stddev, mean } => {
                if *stddev == 0.0 {
                    *mean
                } else {
                    // The mean is >= 0, so at least half the draws are accepted.
                    loop {
                        let x = normal.sample(rng);
                        if x >= 0.0 {
                            break x;
                        }
                    }
                }
            }
        };
        SimDuration::from_nanos(ns.round() as u64)
    }

    /// The distribution's mean [s], in closed form.
    pub fn mean_secs(&self) -> f64 {
        let ns = match self {
            Dist::Constant { value } => *value,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Exponential { mean, .. } => *mean,
            Dist::LogNormal { mu, sigma, .. } => (mu + sigma * sigma / 2.0).exp(),
            Dist::Empirical(e) => e.mean,
            Dist::Normal { mean, stddev, .. } => truncated_normal_moments(*mean, *stddev).0,
        };
        ns / 1e9
    }

    /// The distribution's variance [s²], in closed form.
    pub fn variance_secs2(&self) -> f64 {
        let ns2 = match self {
            Dist::Constant { .. } => 0.0,
            Dist::Uniform { min, max } => (max - min).powi(2) / 12.0,
            Dist::Exponential { mean, .. } => mean * mean,
            Dist::LogNormal { mu, sigma, .. } => ((sigma * sigma).exp() - 1.0) * (2.0 * mu + sigma * sigma).exp(),
            Dist::Empirical(e) => e.variance,
            Dist::Normal { mean, stddev, .. } => truncated_normal_moments(*mean, *stddev).1,
        };
        ns2 / 1e18
    }
}

/// An empirical distribution: distinct values [ns] with their cumulative counts.
#[derive(Debug)]
pub struct Empirical {
    values: Vec<f64>,
    /// cumulative[i]: values at or below values[i].
    cumulative: Vec<u64>,
    /// Mean [ns].
    pub mean: f64,
    /// Variance [ns²].
    pub variance: f64,
}

impl Empirical {
    /// From (value [ns], count) pairs; `None` without any count.
    pub fn new(mut pairs: Vec<(f64, u64)>) -> Option<Empirical> {
        pairs.retain(|(_, n)| *n > 0);
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: u64 = pairs.iter().map(|p| p.1).sum();
        if total == 0 {
            return None;
        }
        let mean = pairs.iter().map(|(v, n)| v * *n as f64).sum::<f64>() / total as f64;
        let variance = pairs.iter().map(|(v, n)| (v - mean).powi(2) * *n as f64).sum::<f64>() / total as f64;
        let mut cumulative = Vec::with_capacity(pairs.len());
        let mut acc = 0;
        for (_, n) in &pairs {
            acc += n;
            cumulative.push(acc);
        }
        Some(Empirical { values: pairs.into_iter().map(|p| p.0).collect(), cumulative, mean, variance })
    }

    /// The value at quantile `u` in [0, 1): the smallest value whose cumulative share exceeds `u`.
    pub fn quantile(&self, u: f64) -> f64 {
        let total = *self.cumulative.last().expect("invariant: at least one value");
        let rank = ((u * total as f64) as u64).min(total - 1);
        let i = self.cumulative.partition_point(|c| *c <= rank);
        self.values[i.min(self.values.len() - 1)]
    }

    /// How many values it holds.
    pub fn len(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// Whether it holds no value (never: [`Empirical::new`] refuses that).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Mean and variance of N(m, s²) conditioned on x >= 0.
fn truncated_normal_moments(m: f64, s: f64) -> (f64, f64) {
    if s == 0.0 {
        return (m, 0.0);
    }
    use statrs::distribution::{Continuous, ContinuousCDF, Normal as SNormal};
    let std = SNormal::standard();
    let alpha = -m / s;
    let z = 1.0 - std.cdf(alpha);
    let lambda = std.pdf(alpha) / z;
    let mean = m + s * lambda;
    let var = s * s * (1.0 + alpha * lambda - lambda * lambda);
    (mean, var)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::stream;

    fn ms(x: f64) -> SimDuration {
        SimDuration::from_secs_f64(x / 1e3)
    }

    /// Sample mean and variance of `n` draws, in seconds.
    fn moments(d: &Dist, n: usize, seed: u64) -> (f64, f64) {
        let mut rng = stream(seed, "dist-test");
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng).as_secs_f64()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
        (mean, var)
    }

    /// The sample mean is within 5 standard errors of the closed-form mean, and the sample variance within
    /// 5% of the closed-form variance (n = 400k: the relative standard error of a sample variance is
    /// sqrt((kurtosis - 1) / n), under 1% for these shapes).
    fn check(d: Dist) {
        let n = 400_000;
        let (mean, var) = moments(&d, n, 11);
        let want_mean = d.mean_secs();
        let want_var = d.variance_secs2();
        let se = (want_var / n as f64).sqrt();
        assert!((mean - want_mean).abs() <= 5.0 * se + 1e-9, "{d:?}: mean {mean} vs {want_mean} (se {se})");
        if want_var == 0.0 {
            assert!(var < 1e-18, "{d:?}: variance {var}");
        } else {
            assert!((var / want_var - 1.0).abs() < 0.05, "{d:?}: variance {var} vs {want_var}");
        }
    }

    #[test]
    fn sample_moments_match_definitions() {
        check(Dist::constant(ms(3.0)));
        check(Dist::uniform(ms(2.0), ms(10.0)).unwrap());
        check(Dist::exponential(ms(8.0)).unwrap());
        check(Dist::lognormal(ms(20.0), ms(80.0)).unwrap());
        check(Dist::normal(ms(10.0), ms(3.0)));
        // Heavily truncated: mean 1 ms, stddev 4 ms.
        check(Dist::normal(ms(1.0), ms(4.0)));
    }

    #[test]
    fn lognormal_hits_its_median_and_p99() {
        let d = Dist::lognormal(ms(20.0), ms(80.0)).unwrap();
        let mut rng = stream(3, "ln");
        let mut xs: Vec<u64> = (0..200_000).map(|_| d.sample(&mut rng).as_nanos()).collect();
        xs.sort_unstable();
        let q = |p: f64| xs[(p * xs.len() as f64) as usize] as f64 / 1e6;
        assert!((q(0.5) / 20.0 - 1.0).abs() < 0.01, "median {}", q(0.5));
        assert!((q(0.99) / 80.0 - 1.0).abs() < 0.03, "p99 {}", q(0.99));
    }

    #[test]
    fn truncated_normal_is_never_negative() {
        let d = Dist::normal(ms(0.0), ms(5.0));
        let mut rng = stream(1, "tn");
        // A half-normal: mean sigma * sqrt(2/pi).
        let want = 5e-3 * (2.0 / std::f64::consts::PI).sqrt();
        assert!((d.mean_secs() - want).abs() < 1e-9);
        for _ in 0..10_000 {
            let _ = d.sample(&mut rng);
        }
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(Dist::uniform(ms(5.0), ms(1.0)).is_err());
        assert!(Dist::exponential(SimDuration::ZERO).is_err());
        assert!(Dist::lognormal(ms(10.0), ms(5.0)).is_err());
        assert!(Dist::lognormal(SimDuration::ZERO, ms(5.0)).is_err());
    }
}
