//! Retry policy and retry budget: pure functions of time and a uniform draw.
//!
//! The policy follows resilience4j's Retry (maxAttempts 3, wait 500 ms; exponential backoff with a
//! multiplier, randomised by a factor). The budget is Finagle's/Envoy's idea: retries may add at most
//! `ratio` of the requests seen in the last `ttl`, plus a small floor of `min_per_s`, so a failing
//! dependency cannot be hammered by a retry storm.

use std::collections::VecDeque;

use crate::sim::{SimDuration, SimTime};

/// How long to wait before a retry.
#[derive(Clone, Debug, PartialEq)]
pub enum Backoff {
    /// The same wait every time.
    Fixed(SimDuration),
    /// `initial × multiplier^(n-1)` before retry n, capped at `max`.
    Exponential {
        /// Wait before the first retry.
        initial: SimDuration,
        /// Growth per retry.
        multiplier: f64,
        /// Upper bound.
        max: SimDuration,
    },
}

/// A retry budget.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetConfig {
    /// Retries allowed per request seen (0.2 = retries may add 20% to the load). Default 0.2.
    pub ratio: f64,
    /// Retries always allowed per second, whatever the traffic. Default 10.
    pub min_per_s: f64,
    /// How long a request counts towards the budget. Default 10 s.
    pub ttl: SimDuration,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig { ratio: 0.2, min_per_s: 10.0, ttl: SimDuration::from_secs(10) }
    }
}

/// Retry configuration of a dependency (applied by its callers).
#[derive(Clone, Debug, PartialEq)]
pub struct RetryConfig {
    /// Attempts in all, the first included. Default 3.
    pub max_attempts: u32,
    /// Wait between attempts. Default fixed 500 ms.
    pub backoff: Backoff,
    /// Randomisation factor: the wait is drawn uniformly from `wait × [1 - jitter, 1 + jitter]`. Default 0.
    pub jitter: f64,
    /// Retry failed calls (the callee answered with an error or refused the call). Default true.
    pub on_errors: bool,
    /// Retry calls that timed out. Default true.
    pub on_timeouts: bool,
    /// Retry calls the caller's own breaker or bulkhead rejected. Default true: resilience4j's Retry retries
    /// every exception unless configured otherwise, `CallNotPermittedException` and `BulkheadFullException`
    /// included.
    pub on_rejected: bool,
    /// Optional retry budget. Default none.
    pub budget: Option<BudgetConfig>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 3,
            backoff: Backoff::Fixed(SimDuration::from_millis(500)),
            jitter: 0.0,
            on_errors: true,
            on_timeouts: true,
            on_rejected: true,
            budget: None,
        }
    }
}

impl RetryConfig {
    /// The wait before retry number `retry` (1 = the second attempt), given a uniform draw `u` in [0, 1).
    pub fn delay(&self, retry: u32, u: f64) -> SimDuration {
        let base = match &self.backoff {
            Backoff::Fixed(d) => d.as_secs_f64(),
            Backoff::Exponential { initial, multiplier, max } => {
                (initial.as_secs_f64() * multiplier.powi(retry.saturating_sub(1) as i32)).min(max.as_secs_f64())
            }
        };
        SimDuration::from_secs_f64(base * (1.0 + self.jitter * (2.0 * u - 1.0)))
    }
}

/// The retry budget of one caller towards one dependency.
#[derive(Clone, Debug)]
pub struct RetryBudget {
    cfg: BudgetConfig,
    requests: VecDeque<SimTime>,
    retries: VecDeque<SimTime>,
}

impl RetryBudget {
    /// An empty budget.
    pub fn new(cfg: BudgetConfig) -> Self {
        RetryBudget { cfg, requests: VecDeque::new(), retries: VecDeque::new() }
    }

    fn prune(&mut self, now: SimTime) {
        let ttl = self.cfg.ttl;
        while self.requests.front().is_some_and(|t| *t + ttl <= now) {
            self.requests.pop_front();
        }
        while self.retries.front().is_some_and(|t| *t + ttl <= now) {
            self.retries.pop_front();
        }
    }

    /// Counts a first attempt.
    pub fn on_request(&mut self, now: SimTime) {
        self.requests.push_back(now);
    }

    /// Retries allowed in the current `ttl` window at `now`.
    pub fn allowance(&mut self, now: SimTime) -> f64 {
        self.prune(now);
        self.cfg.ratio * self.requests.len() as f64 + self.cfg.min_per_s * self.cfg.ttl.as_secs_f64()
    }

    /// Takes one retry from the budget if there is room.
    pub fn try_retry(&mut self, now: SimTime) -> bool {
        let allowance = self.allowance(now);
        if (self.retries.len() as f64) + 1.0 <= allowance {
            self.retries.push_back(now);
            true
        } else {
            false
        }
    }

    /// Retries counted in the current window.
    pub fn retries_in_window(&mut self, now: SimTime) -> usize {
        self.prune(now);
        self.retries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(x: u64) -> SimDuration {
        SimDuration::from_millis(x)
    }

    #[test]
    fn backoff_shapes() {
        let fixed = RetryConfig::default();
        assert_eq!(fixed.delay(1, 0.5), ms(500));
        assert_eq!(fixed.delay(5, 0.5), ms(500));
        let exp = RetryConfig {
            backoff: Backoff::Exponential { initial: ms(100), multiplier: 2.0, max: ms(500) },
            ..RetryConfig::default()
        };
        let waits: Vec<_> = (1..=5).map(|n| exp.delay(n, 0.5).as_nanos() / 1_000_000).collect();
        assert_eq!(waits, vec![100, 200, 400, 500, 500]);
        let jittered = RetryConfig { jitter: 0.5, ..RetryConfig::default() };
        assert_eq!(jittered.delay(1, 0.0), ms(250));
        let top = jittered.delay(1, 0.999_999_999);
        assert!(top <= ms(750) && top > SimDuration::from_nanos(749_999_000), "{top:?}");
    }

    #[test]
    fn budget_allows_ratio_plus_floor() {
        let mut b = RetryBudget::new(BudgetConfig { ratio: 0.1, min_per_s: 0.5, ttl: SimDuration::from_secs(10) });
        let t0 = SimTime::ZERO;
        for _ in 0..100 {
            b.on_request(t0);
        }
        // 0.1 * 100 + 0.5 * 10 = 15 retries.
        let granted = (0..40).filter(|_| b.try_retry(t0)).count();
        assert_eq!(granted, 15);
        // Ten seconds later the window is empty again: only the floor.
        let later = t0 + SimDuration::from_secs(10);
        assert_eq!((0..40).filter(|_| b.try_retry(later)).count(), 5);
    }

    proptest! {
        /// Whatever the traffic, whenever a retry is granted, the retries granted in the ttl window ending
        /// then (it included) are within the allowance of that window.
        #[test]
        fn retries_never_exceed_the_budget(events in proptest::collection::vec((0u64..20_000, any::<bool>()), 1..400)) {
            let cfg = BudgetConfig { ratio: 0.2, min_per_s: 1.0, ttl: SimDuration::from_secs(5) };
            let mut b = RetryBudget::new(cfg.clone());
            let mut events = events;
            events.sort();
            let mut granted_at = Vec::new();
            let mut requests_at = Vec::new();
            for (ms_at, is_retry) in events {
                let now = SimTime::ZERO + SimDuration::from_millis(ms_at);
                if !is_retry {
                    b.on_request(now);
                    requests_at.push(now);
                } else if b.try_retry(now) {
                    granted_at.push(now);
                    let in_window = |v: &Vec<SimTime>| v.iter().filter(|t| **t + cfg.ttl > now).count() as f64;
                    let allowance = cfg.ratio * in_window(&requests_at) + cfg.min_per_s * cfg.ttl.as_secs_f64();
                    prop_assert!(in_window(&granted_at) <= allowance);
                }
            }
        }
    }
}
