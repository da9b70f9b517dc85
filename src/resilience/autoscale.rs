//! Autoscaling decisions (Kubernetes HPA semantics), a pure function of time and measured utilisation.
//!
//! Every evaluation: desired = ceil(workers × utilisation / target), unless the ratio is within
//! `tolerance` of 1 (HPA's default 10%), clamped to `[min_workers, max_workers]`. Scaling up is acted on
//! at once (then takes `provisioning_delay` to take effect); scaling down uses the highest recommendation
//! of the last `scale_down_stabilization` (HPA's stabilisation window), so a short dip does not shed
//! capacity. After any change, nothing happens for `cooldown`.

use std::collections::VecDeque;

use crate::sim::{SimDuration, SimTime};

/// Autoscaler configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscaleConfig {
    /// Busy workers / workers to aim for (0..1].
    pub target_utilization: f64,
    /// Lower bound.
    pub min_workers: u32,
    /// Upper bound.
    pub max_workers: u32,
    /// Evaluation period. Default 15 s (HPA's sync period).
    pub interval: SimDuration,
    /// No change while |utilisation / target - 1| <= tolerance. Default 0.1.
    pub tolerance: f64,
    /// Scale-down stabilisation window. Default 5 min (HPA's default).
    pub scale_down_stabilization: SimDuration,
    /// Quiet time after a change. Default 0.
    pub cooldown: SimDuration,
    /// Time for new workers to come up. Default 30 s.
    pub provisioning_delay: SimDuration,
}

/// What to do after an evaluation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Keep the workers.
    Hold,
    /// Add workers: `to` of them once provisioned.
    Up {
        /// The new number of workers.
        to: u32,
    },
    /// Remove workers now.
    Down {
        /// The new number of workers.
        to: u32,
    },
}

/// The autoscaler of one service.
#[derive(Clone, Debug)]
pub struct Autoscaler {
    cfg: AutoscaleConfig,
    recommendations: VecDeque<(SimTime, u32)>,
    last_change: Option<SimTime>,
    provisioning: bool,
}

impl Autoscaler {
    /// An autoscaler with `cfg`.
    pub fn new(cfg: AutoscaleConfig) -> Self {
        Autoscaler { cfg, recommendations: VecDeque::new(), last_change: None, provisioning: false }
    }

    /// The configuration.
    pub fn config(&self) -> &AutoscaleConfig {
        &self.cfg
    }

    /// The recommendation for `workers` running at `utilization`, without memory.
    pub fn desired(&self, workers: u32, utilization: f64) -> u32 {
        let ratio = utilization / self.cfg.target_utilization;
        let want = if (ratio - 1.0).abs() <= self.cfg.tolerance {
            workers
        } else {
            (f64::from(workers) * ratio).ceil() as u32
        };
        want.clamp(self.cfg.min_workers, self.cfg.max_workers)
    }

    /// Evaluates at `now` with the utilisation measured since the last evaluation.
    pub fn evaluate(&mut self, now: SimTime, workers: u32, utilization: f64) -> Scale {
        let want = self.desired(workers, utilization);
        self.recommendations.push_back((now, want));
        while self.recommendations.front().is_some_and(|(t, _)| *t + self.cfg.scale_down_stabilization <= now) {
            self.recommendations.pop_front();
        }
        if self.provisioning || self.last_change.is_some_and(|t| now < t + self.cfg.cooldown) {
            return Scale::Hold;
        }
        if want > workers {
            self.provisioning = true;
            self.last_change = Some(now);
            return Scale::Up { to: want };
        }
        let stable = self.recommendations.iter().map(|(_, w)| *w).max().unwrap_or(workers);
        if stable < workers {
            self.last_change = Some(now);
            return Scale::Down { to: stable };
        }
        Scale::Hold
    }

    /// The workers asked for by the last scale-up are running.
    pub fn provisioned(&mut self) {
        self.provisioning = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AutoscaleConfig {
        AutoscaleConfig {
            target_utilization: 0.5,
            min_workers: 2,
            max_workers: 20,
            interval: SimDuration::from_secs(15),
            tolerance: 0.1,
            scale_down_stabilization: SimDuration::from_secs(60),
            cooldown: SimDuration::ZERO,
            provisioning_delay: SimDuration::from_secs(30),
        }
    }

    fn at(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    #[test]
    fn hpa_formula_tolerance_and_bounds() {
        let a = Autoscaler::new(cfg());
        assert_eq!(a.desired(4, 0.9), 8, "ceil(4 x 0.9 / 0.5) = ceil(7.2)");
        assert_eq!(a.desired(4, 0.54), 4, "within 10% of the target");
        assert_eq!(a.desired(4, 0.1), 2, "clamped to min_workers");
        assert_eq!(a.desired(10, 1.0), 20, "clamped to max_workers");
    }

    #[test]
    fn scale_up_waits_for_provisioning_and_scale_down_is_stabilised() {
        let mut a = Autoscaler::new(cfg());
        assert_eq!(a.evaluate(at(0), 4, 0.9), Scale::Up { to: 8 });
        assert_eq!(a.evaluate(at(15), 4, 0.95), Scale::Hold, "still provisioning");
        a.provisioned();
        // Load drops: recommendations 4, 3, ... but the window still holds the 8 from t=0 and t=15.
        assert_eq!(a.evaluate(at(30), 8, 0.25), Scale::Hold);
        assert_eq!(a.evaluate(at(45), 8, 0.2), Scale::Hold);
        // At t=75 the recommendations of t=0 and t=15 have left the 60 s window: the highest left is 4.
        assert_eq!(a.evaluate(at(75), 8, 0.2), Scale::Down { to: 4 });
    }
}
