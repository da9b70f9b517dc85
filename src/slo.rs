//! Error budgets and multi-window, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs"),
//! evaluated in simulated time over an objective's per-window good/total counts.
//!
//! Burn rate = error ratio / (1 − objective). An alert rule fires at the end of a metrics window when the
//! burn rates over both its long and its short window exceed its threshold, and resolves when they no
//! longer do. A rule is a share of the budget burned within its long window; its burn-rate threshold is
//! share × period / long (the workbook, chapter 5; Sloth generates the same), so it follows the
//! objective's period. The workbook's rules are the defaults: page when 2% of the budget burns in 1 h
//! (short window 5 min), page at 5% in 6 h (30 min), ticket at 10% in 3 days (6 h): burn rates 14.4, 6
//! and 1 for 30 days, 3.36, 1.4 and 0.233 for 7 days.
//!
//! Before a window has elapsed in a run, what it sees depends on the objective's [`History`]: by default
//! ([`History::None`]) only the time elapsed so far (a service that has just started: one bad window can
//! page); with [`History::Good`] the part of the window before the run counts as good events at the rate
//! the window has seen so far (a service that met its objective until the run began).

pub(crate) use crate::model::summary::{Budget, Severity};
use crate::sim::{SimDuration, SimTime};

/// One multi-window burn-rate rule.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    /// Long window.
    pub long: SimDuration,
    /// Short window.
    pub short: SimDuration,
    /// Burn-rate threshold.
    pub burn_rate: f64,
    pub severity: Severity,
}

/// What an alert window sees of the time before the run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum History {
    /// Nothing: a window covers the part of the run it has seen.
    #[default]
    None,
    /// Good events at the rate the window has seen so far: the run starts from a period that met its
    /// objective.
    Good,
}

/// The SRE workbook's rules as (share of the budget in percent, long window, short window, severity).
const WORKBOOK: [(u64, u64, u64, Severity); 3] =
    [(2, 3600, 300, Severity::Page), (5, 6 * 3600, 1800, Severity::Page), (10, 72 * 3600, 6 * 3600, Severity::Ticket)];

/// The burn rate at which `share` (0..1) of the budget of `period` burns within `long`: share × period / long.
pub(crate) fn burn_rate_of_share(share: f64, period: SimDuration, long: SimDuration) -> f64 {
    let x = share * period.as_secs_f64() / long.as_secs_f64();
    // Round off the binary noise of the product (0.05 x 120 = 6.000000000000001): thresholds are shown.
    (x * 1e9).round() / 1e9
}

/// The SRE workbook's rules for an objective of `period`.
pub(crate) fn default_rules(period: SimDuration) -> Vec<AlertRule> {
    WORKBOOK
        .iter()
        .map(|&(percent, long, short, severity)| {
            let long = SimDuration::from_secs(long);
            AlertRule {
                long,
                short: SimDuration::from_secs(short),
                burn_rate: burn_rate_of_share(percent as f64 / 100.0, period, long),
                severity,
            }
        })
        .collect()
}

/// Default SLO period: 30 days.
pub(crate) const DEFAULT_PERIOD: SimDuration = SimDuration::from_secs(30 * 24 * 3600);

/// An objective's good and total events per metrics window.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Window length.
    pub window: SimDuration,
    /// Good events per window.
    pub good: Vec<u64>,
    /// All events per window.
    pub total: Vec<u64>,
}

/// An alert that fired.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertSpan {
    pub rule: usize,
    /// When it fired (a window's end).
    pub fired: SimTime,
    /// When it resolved (`None`: still firing at the end).
    pub resolved: Option<SimTime>,
    /// The long window's burn rate when it fired.
    pub burn_rate: f64,
}

/// Evaluates `rules` at the end of every window of `s` for an objective of `objective`.
pub(crate) fn evaluate(s: &Series, objective: f64, rules: &[AlertRule], history: History) -> Vec<AlertSpan> {
    let n = s.good.len().min(s.total.len());
    let budget = 1.0 - objective;
    // Prefix sums of bad and total events.
    let mut bad = vec![0u64; n + 1];
    let mut tot = vec![0u64; n + 1];
    for i in 0..n {
        bad[i + 1] = bad[i] + s.total[i].saturating_sub(s.good[i]);
        tot[i + 1] = tot[i] + s.total[i];
    }
    let w = s.window.as_nanos().max(1);
    let burn = |end: usize, span: SimDuration| {
        let k = (span.as_nanos().div_ceil(w) as usize).max(1);
        let start = end.saturating_sub(k);
        let (b, t) = (bad[end] - bad[start], tot[end] - tot[start]);
        // With a good history, the k - end windows before the run had the mean traffic of the `end` seen.
        let before = match history {
            History::Good if k > end => (k - end) as f64 * t as f64 / end as f64,
            _ => 0.0,
        };
        if t == 0 || budget <= 0.0 { 0.0 } else { b as f64 / (t as f64 + before) / budget }
    };
    let mut out = Vec::new();
    for (r, rule) in rules.iter().enumerate() {
        let mut open: Option<AlertSpan> = None;
        for end in 1..=n {
            let t = SimTime::from_nanos(end as u64 * w);
            let long = burn(end, rule.long);
            let firing = long > rule.burn_rate && burn(end, rule.short) > rule.burn_rate;
            match (&mut open, firing) {
                (None, true) => open = Some(AlertSpan { rule: r, fired: t, resolved: None, burn_rate: long }),
                (Some(a), false) => {
                    a.resolved = Some(t);
                    out.push(open.take().expect("invariant: open alert"));
                }
                _ => {}
            }
        }
        out.extend(open);
    }
    out.sort_by_key(|a| (a.fired, a.rule));
    out
}

/// The budget of `s` for `objective` over `period`, for a run of length `horizon`.
pub(crate) fn budget(s: &Series, objective: f64, period: SimDuration, horizon: SimDuration) -> Budget {
    let total: u64 = s.total.iter().sum();
    let good: u64 = s.good.iter().sum();
    let bad = total.saturating_sub(good);
    let allowed = (1.0 - objective) * total as f64;
    let consumed = (allowed > 0.0).then(|| bad as f64 / allowed);
    Budget {
        period_days: period.as_secs_f64() / 86_400.0,
        allowed_bad: allowed,
        bad,
        consumed,
        consumed_of_period: consumed.map(|c| c * horizon.as_secs_f64() / period.as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `minutes` of 10 s windows, 100 events each, with `err` of them bad from minute `from` on.
    fn series(minutes: usize, from: usize, err: u64) -> Series {
        let n = minutes * 6;
        Series {
            window: SimDuration::from_secs(10),
            good: (0..n).map(|i| if i >= from * 6 { 100 - err } else { 100 }).collect(),
            total: vec![100; n],
        }
    }

    #[test]
    fn time_to_detect_matches_the_workbook() {
        // SLO 99.9%. 5% errors start at minute 60. The 1 h / 5 min page fires when the hour's error ratio
        // reaches 14.4 x 0.1% = 1.44%: after 0.0144 / 0.05 x 3600 s = 1036.8 s, i.e. at the end of the window
        // that ends at 60 min + 1040 s. (The workbook: detection time = (1 - SLO) x long x burn / error rate.)
        let s = series(180, 60, 5);
        let alerts = evaluate(&s, 0.999, &default_rules(DEFAULT_PERIOD), History::None);
        let page = alerts.iter().find(|a| a.rule == 0).expect("the 1 h page fires");
        assert_eq!(page.fired.as_nanos() / 1_000_000_000, 3600 + 1040);
        // The 6 h / 30 min rule needs 6 x 0.1% = 0.6%. Only t seconds have elapsed, so its long window is
        // the whole run: 0.05 x (t - 3600) / t > 0.006 when t > 3600 / 0.88 = 4090.9 s: at the 4100 s window.
        let six = alerts.iter().find(|a| a.rule == 1).expect("the 6 h page fires");
        assert_eq!(six.fired.as_nanos() / 1_000_000_000, 4100);
        // The burn rate at firing is just above the threshold.
        assert!(page.burn_rate > 14.4 && page.burn_rate < 14.5, "{}", page.burn_rate);
    }

    #[test]
    fn burn_rate_below_the_threshold_never_fires_and_alerts_resolve() {
        // 1% errors: burn 10 < 14.4 (no 1 h page) but > 6 (the 6 h page fires) and > 1 (the ticket).
        let alerts = evaluate(&series(120, 0, 1), 0.999, &default_rules(DEFAULT_PERIOD), History::None);
        assert!(alerts.iter().all(|a| a.rule != 0));
        assert!(alerts.iter().any(|a| a.rule == 1));
        assert!(alerts.iter().any(|a| a.rule == 2));
        // An outage that stops: the page resolves once the 5 min window is clean.
        let mut s = series(120, 0, 0);
        for i in 60..90 {
            s.good[i] = 0; // 5 minutes of total failure from minute 10
        }
        let a = evaluate(&s, 0.999, &default_rules(DEFAULT_PERIOD), History::None);
        let page = a.iter().find(|x| x.rule == 0).unwrap();
        assert_eq!(page.fired.as_nanos() / 1_000_000_000, 610, "100% errors: burn 1000 at once");
        assert_eq!(page.resolved.unwrap().as_nanos() / 1_000_000_000, 900 + 300, "short window clean 5 min later");
    }

    #[test]
    fn default_thresholds_follow_the_period() {
        // The SRE workbook, chapter 5: burn rate = share of the budget x period / long window. The figures
        // are the workbook's (30 days) and Sloth's generated rules (7 and 28 days).
        let day = |d: u64| SimDuration::from_secs(d * 86_400);
        for (period, want) in
            [(day(30), [14.4, 6.0, 1.0]), (day(7), [3.36, 1.4, 0.233]), (day(28), [13.44, 5.6, 0.933])]
        {
            let got: Vec<f64> = default_rules(period).iter().map(|r| r.burn_rate).collect();
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 5e-4, "period {period:?}: {got:?}, want {want:?}");
            }
        }
        assert_eq!(default_rules(day(30)).iter().map(|r| r.burn_rate).collect::<Vec<_>>(), [14.4, 6.0, 1.0]);
    }

    #[test]
    fn a_good_history_delays_the_first_page_as_a_full_window_would() {
        // 5% errors from the first second, SLO 99.9%. Without history the 1 h window holds only the run so
        // far: burn 50 at the first window, the 1 h / 5 min page fires at 10 s. With a good history the hour
        // before the run was clean at the same traffic: the page needs 0.05 x t / 3600 > 14.4 x 0.001, i.e.
        // t > 1036.8 s, the window ending at 1040 s; exactly when a service with a clean past would page.
        let s = series(60, 0, 5);
        let rules = default_rules(DEFAULT_PERIOD);
        let page = |h| evaluate(&s, 0.999, &rules, h).into_iter().find(|a| a.rule == 0).expect("pages").fired;
        assert_eq!(page(History::None).as_nanos() / 1_000_000_000, 10);
        assert_eq!(page(History::Good).as_nanos() / 1_000_000_000, 1040);
        // Once the long window has elapsed the two agree: the same series shifted after an hour of clean
        // traffic pages at the same time either way.
        let late = series(180, 60, 5);
        let at = |h| evaluate(&late, 0.999, &rules, h).into_iter().find(|a| a.rule == 0).unwrap().fired;
        assert_eq!(at(History::None), at(History::Good));
    }

    #[test]
    fn budget_arithmetic() {
        // 1 h of 10 events/s at 99.9%: 36 bad allowed; 18 bad = half the run's budget, and 1/1440 of it
        // over 30 days... times the run's share of the period: 0.5 x 1 h / 720 h.
        let mut s = Series { window: SimDuration::from_secs(3600), good: vec![36_000 - 18], total: vec![36_000] };
        let b = budget(&s, 0.999, DEFAULT_PERIOD, SimDuration::from_secs(3600));
        assert!((b.allowed_bad - 36.0).abs() < 1e-9);
        assert_eq!(b.bad, 18);
        assert!((b.consumed.unwrap() - 0.5).abs() < 1e-12);
        assert!((b.consumed_of_period.unwrap() - 0.5 / 720.0).abs() < 1e-12);
        s.total = vec![0];
        s.good = vec![0];
        assert_eq!(budget(&s, 0.999, DEFAULT_PERIOD, SimDuration::from_secs(1)).consumed, None);
    }
}
