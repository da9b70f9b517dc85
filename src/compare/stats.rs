//! The statistics of a release gate beyond a p-value: the change between two samples with its
//! confidence interval (Welch's for the mean, Hodges-Lehmann's with the Mann-Whitney interval for the
//! location shift) and Holm's correction of a family of p-values.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::figures::{mean, sample_variance as var};

/// The change from a baseline to a candidate (candidate − baseline) and its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Change {
    /// The point estimate.
    pub estimate: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
}

/// The standard error of a difference of two means, from the samples' variances and sizes, and its
/// Welch–Satterthwaite degrees of freedom (NaN when the standard error is 0).
fn welch_se_df(var_a: f64, n_a: usize, var_b: f64, n_b: usize) -> (f64, f64) {
    let (va, vb) = (var_a / n_a as f64, var_b / n_b as f64);
    let df = (va + vb).powi(2) / (va * va / (n_a as f64 - 1.0) + vb * vb / (n_b as f64 - 1.0));
    ((va + vb).sqrt(), df)
}

/// Welch's interval for the difference of the means at confidence `level` (e.g. 0.95), with the
/// Welch–Satterthwaite degrees of freedom. `None` for fewer than 2 values a side; a zero-width interval
/// when both sides are constant.
pub fn welch_interval(a: &[f64], b: &[f64], level: f64) -> Option<Change> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let estimate = mean(b) - mean(a);
    let (se, df) = welch_se_df(var(a), a.len(), var(b), b.len());
    if se == 0.0 {
        return Some(Change { estimate, lo: estimate, hi: estimate });
    }
    let t = StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(0.5 + level / 2.0);
    Some(Change { estimate, lo: estimate - t * se, hi: estimate + t * se })
}

/// The Hodges-Lehmann estimate of the shift from `a` to `b` (the median of the m·n differences
/// b_j − a_i) with the distribution-free interval of the Mann-Whitney test at confidence `level`: the
/// C-th smallest and C-th largest difference, C = ⌊mn/2 − z·√(mn(m+n+1)/12)⌋ (normal approximation,
/// as R's `wilcox.test(conf.int = TRUE, exact = FALSE)` and Hollander & Wolfe, §4.3). `None` for
/// fewer than 2 values a side.
pub fn hodges_lehmann(a: &[f64], b: &[f64], level: f64) -> Option<Change> {
    let (m, n) = (a.len(), b.len());
    if m < 2 || n < 2 {
        return None;
    }
    let mut d: Vec<f64> = b.iter().flat_map(|y| a.iter().map(move |x| y - x)).collect();
    d.sort_by(f64::total_cmp);
    let k = d.len();
    let estimate = if k % 2 == 1 { d[k / 2] } else { (d[k / 2 - 1] + d[k / 2]) / 2.0 };
    let z = Normal::standard().inverse_cdf(0.5 + level / 2.0);
    let (mf, nf) = (m as f64, n as f64);
    let c = (mf * nf / 2.0 - z * (mf * nf * (mf + nf + 1.0) / 12.0).sqrt()).floor();
    // At least the smallest and the largest difference (the widest interval the samples allow).
    let c = (c.max(1.0) as usize).min(k);
    Some(Change { estimate, lo: d[c - 1], hi: d[k - c] })
}

/// Holm's step-down adjustment of a family of p-values (Holm 1979): with the p-values sorted
/// ascending, p̃₍ᵢ₎ = max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎). Rejecting where p̃ ≤ α keeps the
/// family-wise error rate at most α. Returned in the order given.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// The level Holm's step-down procedure tests each p-value at, family-wise level `alpha`, in the order
/// given: with the p-values sorted ascending, the i-th (from 1) is tested at alpha / (m − i + 1) while
/// the earlier ones were rejected; from the first that is not rejected on, every later one keeps that
/// level (the procedure stops there). So p ≤ level exactly where [`holm`]'s adjusted p ≤ alpha, and an
/// interval at one-sided level `level` excludes the null exactly where the procedure rejects.
pub fn holm_levels(p: &[f64], alpha: f64) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut levels = vec![0.0; m];
    let mut stopped: Option<f64> = None;
    for (rank, &i) in order.iter().enumerate() {
        let level = stopped.unwrap_or(alpha / (m - rank) as f64);
        if stopped.is_none() && p[i] > level {
            stopped = Some(level);
        }
        levels[i] = level;
    }
    levels
}

/// The Mann-Whitney statistic U of `a` (its rank sum minus m(m+1)/2, ties at their average rank), its
/// mean mn/2 and its tie-corrected standard deviation under the null hypothesis. `None` for fewer than
/// 2 values a side.
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> Option<(f64, f64, f64)> {
    let (n1, n2) = (a.len(), b.len());
    if n1 < 2 || n2 < 2 {
        return None;
    }
    let mut all: Vec<(f64, usize)> = a.iter().map(|v| (*v, 0)).chain(b.iter().map(|v| (*v, 1))).collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    // Average ranks over ties.
    let n = all.len();
    let mut ranks = vec![0.0; n];
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        ranks[i..=j].fill(r);
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    let r1: f64 = all.iter().zip(&ranks).filter(|((_, s), _)| *s == 0).map(|(_, r)| r).sum();
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    let u1 = r1 - n1f * (n1f + 1.0) / 2.0;
    let mu = n1f * n2f / 2.0;
    let sigma = (n1f * n2f / 12.0 * ((nf + 1.0) - ties / (nf * (nf - 1.0)))).sqrt();
    Some((u1, mu, sigma))
}

/// One-sided p-value of Welch's test that the mean of `b` exceeds the mean of `a` by more than
/// `margin` (H₀: μb − μa ≤ margin). `None` for fewer than 2 values a side.
pub fn welch_p_beyond(a: &[f64], b: &[f64], margin: f64) -> Option<f64> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let d = mean(b) - mean(a) - margin;
    let (se, df) = welch_se_df(var(a), a.len(), var(b), b.len());
    if se == 0.0 {
        return Some(if d > 0.0 { 0.0 } else { 1.0 });
    }
    let t = StudentsT::new(0.0, 1.0, df).ok()?;
    Some((1.0 - t.cdf(d / se)).clamp(0.0, 1.0))
}

/// One-sided p-value of the Mann-Whitney test that `b` is shifted above `a` by more than `margin`: the
/// test of `b − margin` against `a` (normal approximation, tie-corrected, no continuity correction).
/// `None` for fewer than 2 values a side.
pub fn mann_whitney_p_beyond(a: &[f64], b: &[f64], margin: f64) -> Option<f64> {
    let shifted: Vec<f64> = b.iter().map(|y| y - margin).collect();
    let (u_a, mu, sigma) = mann_whitney_u(a, &shifted)?;
    if sigma == 0.0 {
        return Some(1.0);
    }
    // U of the shifted candidate is mn − U of the baseline.
    let z = (mu - u_a) / sigma;
    Some((1.0 - Normal::standard().cdf(z)).clamp(0.0, 1.0))
}

/// The power of a one-sided t-test at level `alpha` with `df` degrees of freedom against a true effect
/// of `delta` standard errors: P(T > t₁₋α) for T noncentral t(df, delta). T = (Z + δ)/√(V/df) with V
/// χ²(df), so the power is E_V[Φ(δ − t₁₋α·√(V/df))], here averaged over 1,000 evenly spaced quantiles
/// of V (midpoint rule). Exact where the usual "t₁₋α + t_power" shortcut is optimistic: at a handful
/// of seeds a side, the spread of the estimated standard deviation costs power.
pub fn t_power(df: f64, delta: f64, alpha: f64) -> Option<f64> {
    use statrs::distribution::ChiSquared;
    const K: usize = 1000;
    let t_c = StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(1.0 - alpha);
    let chi = ChiSquared::new(df).ok()?;
    let z = Normal::standard();
    let sum: f64 =
        (0..K).map(|i| z.cdf(delta - t_c * (chi.inverse_cdf((i as f64 + 0.5) / K as f64) / df).sqrt())).sum();
    Some(sum / K as f64)
}

/// The smallest change beyond `margin`, in the worse direction, that a one-sided Welch test at level
/// `alpha` detects with probability `power`, for samples of `n_a` and `n_b` values with standard
/// deviations `sd_a` and `sd_b`: margin + δ·se, δ the noncentrality at which [`t_power`] on the
/// Welch–Satterthwaite degrees of freedom reaches `power`. `None` for fewer than 2 values a side.
pub fn min_detectable(
    sd_a: f64,
    n_a: usize,
    sd_b: f64,
    n_b: usize,
    margin: f64,
    alpha: f64,
    power: f64,
) -> Option<f64> {
    if n_a < 2 || n_b < 2 {
        return None;
    }
    let (se, df) = welch_se_df(sd_a * sd_a, n_a, sd_b * sd_b, n_b);
    if se == 0.0 {
        return Some(margin);
    }
    let enough = |d: f64| t_power(df, d, alpha).is_some_and(|p| p >= power);
    let mut hi = 1.0;
    while !enough(hi) {
        hi *= 2.0;
        if hi > 1e9 {
            return None;
        }
    }
    let mut lo = 0.0;
    while hi - lo > 1e-6 * hi {
        let mid = (lo + hi) / 2.0;
        if enough(mid) { hi = mid } else { lo = mid }
    }
    Some(margin + hi * se)
}

/// How many values a side (seeds) a comparison needs to detect a change of `delta` beyond `margin`
/// with probability `power` at level `alpha`, the sides with standard deviations `sd_a` and `sd_b`: the
/// smallest n at which the [`t_power`] of Welch's test reaches `power` (it grows with n). `None` when `delta` is
/// not beyond the margin or more than `limit` seeds would be needed.
pub fn seeds_needed(
    sd_a: f64,
    sd_b: f64,
    delta: f64,
    margin: f64,
    alpha: f64,
    power: f64,
    limit: usize,
) -> Option<usize> {
    let enough = |n: usize| {
        let (se, df) = welch_se_df(sd_a * sd_a, n, sd_b * sd_b, n);
        se == 0.0 || t_power(df, (delta - margin) / se, alpha).is_some_and(|p| p >= power)
    };
    if delta <= margin || limit < 2 || !enough(limit) {
        return None;
    }
    let (mut lo, mut hi) = (1, limit); // not enough at lo (or lo < 2), enough at hi
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if enough(mid) { hi = mid } else { lo = mid }
    }
    Some(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Cushny & Peebles' sleep data as R ships it (`datasets::sleep`): extra hours of sleep, drug 1 and
    // drug 2. R's `t.test(extra ~ group, data = sleep)` (Welch) prints t = -1.8608, df = 17.776 and the
    // 95% interval of group 1 − group 2 as (-3.3654832, 0.2054832); scipy 1.17's
    // `ttest_ind(b, a, equal_var=False).confidence_interval(0.95)` gives (-0.2054832, 3.3654832).
    const DRUG1: [f64; 10] = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
    const DRUG2: [f64; 10] = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

    #[test]
    fn welch_interval_matches_r_on_the_sleep_data() {
        let c = welch_interval(&DRUG1, &DRUG2, 0.95).unwrap();
        assert!((c.estimate - 1.58).abs() < 1e-12, "{c:?}");
        assert!((c.lo - -0.205_483_2).abs() < 1e-6, "{c:?}");
        assert!((c.hi - 3.365_483_2).abs() < 1e-6, "{c:?}");
        assert!(welch_interval(&DRUG1[..1], &DRUG2, 0.95).is_none());
        let flat = welch_interval(&[2.0, 2.0], &[3.0, 3.0], 0.95).unwrap();
        assert_eq!((flat.lo, flat.estimate, flat.hi), (1.0, 1.0, 1.0));
    }

    #[test]
    fn hodges_lehmann_recovers_an_exact_shift_and_takes_the_exact_order_statistics() {
        // b = a + 0.25: the differences a_j − a_i + 0.25 are symmetric about 0.25, so their median is
        // the shift itself.
        let a: Vec<f64> = (0..10).map(|i| f64::from(i * i) * 0.1).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 0.25).collect();
        let c = hodges_lehmann(&a, &b, 0.95).unwrap();
        assert!((c.estimate - 0.25).abs() < 1e-12, "{c:?}");
        assert!(c.lo < 0.25 && c.hi > 0.25);
        // m = n = 10 at 95%: the exact null distribution of U has P(U <= 23) = 0.0216 <= 0.025 <
        // P(U <= 24) = 0.0262, so R's wilcox.test (qwilcox(0.025, 10, 10) = 24) takes the 24th smallest and
        // the 24th largest of the 100 differences; the normal approximation gives the same C = 24.
        let mut d: Vec<f64> = b.iter().flat_map(|y| a.iter().map(move |x| y - x)).collect();
        d.sort_by(f64::total_cmp);
        assert_eq!((c.lo, c.hi), (d[23], d[76]));
        assert!(hodges_lehmann(&a[..1], &b, 0.95).is_none());
    }

    #[test]
    fn holm_matches_statsmodels() {
        // statsmodels 0.15 `multipletests([0.01, 0.04, 0.03, 0.005, 0.2], method="holm")[1]`.
        let adj = holm(&[0.01, 0.04, 0.03, 0.005, 0.2]);
        let want = [0.04, 0.09, 0.09, 0.025, 0.2];
        for (got, want) in adj.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{adj:?}");
        }
        assert_eq!(holm(&[0.6, 0.6]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }
    #[test]
    fn holm_levels_reject_exactly_where_the_adjusted_p_values_do() {
        // Holm 1979 on [0.01, 0.04, 0.03, 0.005, 0.2] at alpha 0.05: 0.005 <= 0.05/5, 0.01 <= 0.05/4,
        // 0.03 > 0.05/3 stops the procedure, so 0.03, 0.04 and 0.2 are all tested at 0.05/3.
        let p = [0.01, 0.04, 0.03, 0.005, 0.2];
        let levels = holm_levels(&p, 0.05);
        let want = [0.05 / 4.0, 0.05 / 3.0, 0.05 / 3.0, 0.05 / 5.0, 0.05 / 3.0];
        for (got, want) in levels.iter().zip(want) {
            assert!((got - want).abs() < 1e-15, "{levels:?}");
        }
        // The case a plain "alpha / (m - rank + 1)" gets wrong: 0.04 <= 0.05/1 but the procedure stopped.
        assert_eq!(holm_levels(&[0.03, 0.04], 0.05), vec![0.025, 0.025]);
        for alpha in [0.01, 0.05, 0.1] {
            let adjusted = holm(&p);
            for ((pi, l), a) in p.iter().zip(holm_levels(&p, alpha)).zip(adjusted) {
                assert_eq!(*pi <= l, a <= alpha, "p {pi} level {l} adjusted {a} alpha {alpha}");
            }
        }
    }

    #[test]
    fn t_power_is_the_noncentral_t_tail() {
        // scipy 1.17: nct.sf(t.ppf(0.99, 10), 10, 3.0) = 0.6045149, nct.sf(t.ppf(1 - 0.000526, 6), 6, 8.0)
        // = 0.8825268 (the few-seeds case, where t_{1-a} + t_power would promise 0.9 at 7.35),
        // nct.sf(t.ppf(0.95, 98), 98, 0.5 * 5) = 0.7989362.
        for (df, delta, alpha, want) in
            [(10.0, 3.0, 0.01, 0.604_514_9), (6.0, 8.0, 0.000_526, 0.882_526_8), (98.0, 2.5, 0.05, 0.798_936_2)]
        {
            let got = t_power(df, delta, alpha).unwrap();
            assert!((got - want).abs() < 1e-3, "df {df} delta {delta}: {got} vs {want}");
        }
    }

    #[test]
    fn the_planner_agrees_with_the_textbook_sample_size() {
        // Two independent means, one-sided alpha 0.05, power 0.8, effect d = 0.5 standard deviations:
        // statsmodels 0.15 `TTestIndPower().solve_power(0.5, alpha=0.05, power=0.8,
        // alternative="larger")` = 50.15 (noncentral t), so 51 a side; the normal approximation
        // 2(z0.95 + z0.8)^2 / d^2 = 49.46 would say 50.
        assert_eq!(seeds_needed(1.0, 1.0, 0.5, 0.0, 0.05, 0.8, 1000), Some(51));
        // A margin moves the target: detecting 0.7 beyond a margin of 0.2 is detecting 0.5.
        assert_eq!(seeds_needed(1.0, 1.0, 0.7, 0.2, 0.05, 0.8, 1000), Some(51));
        assert_eq!(seeds_needed(1.0, 1.0, 0.1, 0.2, 0.05, 0.8, 1000), None);
        assert_eq!(seeds_needed(1.0, 1.0, 0.5, 0.0, 0.05, 0.8, 20), None);
        // The minimum detectable effect at those 51 a side is just under 0.5, at 50 just over.
        let at = |n| min_detectable(1.0, n, 1.0, n, 0.0, 0.05, 0.8).unwrap();
        assert!(at(51) <= 0.5 && at(50) > 0.5, "{} {}", at(50), at(51));
    }
    #[test]
    fn one_sided_tests_beyond_a_margin_match_scipy() {
        // scipy 1.17: ttest_ind(b - 0.5, a, equal_var=False, alternative="greater").pvalue and
        // mannwhitneyu(b - 0.5, a, alternative="greater", method="asymptotic",
        // use_continuity=False).pvalue on the sleep data; without a margin the Welch p is 0.0396971.
        let w = welch_p_beyond(&DRUG1, &DRUG2, 0.5).unwrap();
        assert!((w - 0.109_890_04).abs() < 1e-7, "{w}");
        let w0 = welch_p_beyond(&DRUG1, &DRUG2, 0.0).unwrap();
        assert!((w0 - 0.039_697_07).abs() < 1e-7, "{w0}");
        let m = mann_whitney_p_beyond(&DRUG1, &DRUG2, 0.5).unwrap();
        assert!((m - 0.113_238_03).abs() < 1e-7, "{m}");
        assert!(welch_p_beyond(&DRUG1[..1], &DRUG2, 0.0).is_none());
    }
}
