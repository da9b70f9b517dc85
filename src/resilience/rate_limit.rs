//! Rate limiter (resilience4j's AtomicRateLimiter): `limit` permits per `period`, refreshed at the start of
//! every period (periods are aligned on the start of the run). A request finding no permit is rejected.

use crate::sim::{SimDuration, SimTime};

/// Rate limiter configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimitConfig {
    /// Permits per period. Default 50 (resilience4j's limitForPeriod).
    pub limit: u32,
    /// Refresh period. Default 1 s (resilience4j's default is 500 ns, which no one uses).
    pub period: SimDuration,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig { limit: 50, period: SimDuration::from_secs(1) }
    }
}

/// A fixed-window rate limiter.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    cfg: RateLimitConfig,
    cycle: u64,
    used: u32,
}

impl RateLimiter {
    /// A full limiter.
    pub fn new(cfg: RateLimitConfig) -> Self {
        RateLimiter { cfg, cycle: 0, used: 0 }
    }

    /// Takes a permit at `now` if one is left in the current period.
    pub fn try_acquire(&mut self, now: SimTime) -> bool {
        let cycle = now.as_nanos() / self.cfg.period.as_nanos().max(1);
        if cycle != self.cycle {
            self.cycle = cycle;
            self.used = 0;
        }
        if self.used < self.cfg.limit {
            self.used += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_per_period() {
        let mut r = RateLimiter::new(RateLimitConfig { limit: 3, period: SimDuration::from_millis(100) });
        let at = |ms| SimTime::ZERO + SimDuration::from_millis(ms);
        let got: Vec<bool> =
            [0, 10, 20, 30, 99, 100, 101, 150, 160, 250].iter().map(|t| r.try_acquire(at(*t))).collect();
        assert_eq!(got, vec![true, true, true, false, false, true, true, true, false, true]);
    }
}
