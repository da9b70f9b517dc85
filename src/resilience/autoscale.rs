//! Autoscaling decisions with Kubernetes' HPA semantics, a pure function of time and measured utilisation.
//!
//! Every sync period (`interval`, 15 s) the autoscaler compares the utilisation of the *ready* workers with
//! the target, as the HPA's replica calculator does (`pkg/controller/podautoscaler/replica_calculator.go`,
//! `GetResourceReplicas`): ratio = utilisation / target; within `tolerance` (0.1) of 1 nothing changes;
//! otherwise desired = ceil(ratio × ready). Workers asked for but not yet up (still provisioning, like
//! pending pods) are conservative: on a scale-up they count as using nothing (ratio × ready / replicas),
//! and if that cancels the scale-up nothing changes; on a scale-down they are ignored. Evaluation goes on
//! every period whatever is still provisioning, from the replicas asked for so far.
//!
//! The recommendation is then normalised as `horizontal.go` does with the default behaviour: scale-down to
//! the highest recommendation of the last `scale_down_stabilization` (5 min), scale-up without
//! stabilisation but at most max(+100%, +4 workers) per 15 s, clamped to `[min_workers, max_workers]`.
//! `cooldown` (0 by default) is ours, not Kubernetes': quiet time after any change.

use std::collections::VecDeque;

pub use crate::model::summary::ScaleMetric;
use crate::sim::{SimDuration, SimTime};

/// Autoscaler configuration. Defaults are Kubernetes'.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscaleConfig {
    /// Utilisation of the ready workers to aim for (0..1].
    pub target_utilization: f64,
    /// What utilisation means. Default CPU: a worker's own processing time.
    pub metric: ScaleMetric,
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
    /// Quiet time after a change (not Kubernetes'). Default 0.
    pub cooldown: SimDuration,
    /// Time for new workers to come up. Default 30 s.
    pub provisioning_delay: SimDuration,
}

/// The period of the default scale-up policies (Kubernetes: 100% or 4 pods per 15 s, whichever is more).
const SCALE_UP_PERIOD: SimDuration = SimDuration::from_secs(15);

/// What to do after an evaluation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Keep the workers asked for.
    Hold,
    /// Ask for more workers: `to` in all once they are provisioned.
    Up {
        /// The new number of workers asked for.
        to: u32,
    },
    /// Ask for fewer workers: `to` in all.
    Down {
        /// The new number of workers asked for.
        to: u32,
    },
}

/// The HPA replica calculator for resource utilisation: the replicas wanted when `ready` of `replicas`
/// workers are up and measured at `utilization` (averaged over the ready ones) against `target`.
pub fn replicas_for(replicas: u32, ready: u32, utilization: f64, target: f64, tolerance: f64) -> u32 {
    if ready == 0 {
        // No metrics from any ready worker: the HPA leaves the scale alone.
        return replicas;
    }
    let ratio = utilization / target;
    let unready = replicas.saturating_sub(ready);
    if unready == 0 || ratio <= 1.0 {
        if (1.0 - ratio).abs() <= tolerance {
            return replicas;
        }
        return (ratio * f64::from(ready)).ceil() as u32;
    }
    // A scale-up with workers not yet up: they count as using nothing.
    let rebalanced = ratio * f64::from(ready) / f64::from(replicas);
    if (1.0 - rebalanced).abs() <= tolerance || rebalanced < 1.0 {
        return replicas;
    }
    (rebalanced * f64::from(replicas)).ceil() as u32
}

/// The autoscaler of one service.
#[derive(Clone, Debug)]
pub struct Autoscaler {
    cfg: AutoscaleConfig,
    /// Workers asked for so far (the Deployment's replicas), provisioned or not.
    replicas: u32,
    recommendations: VecDeque<(SimTime, u32)>,
    /// Scale-ups within the last [`SCALE_UP_PERIOD`]: when, and how many workers they added.
    ups: VecDeque<(SimTime, u32)>,
    last_change: Option<SimTime>,
}

impl Autoscaler {
    /// An autoscaler with `cfg` over a service starting with `workers`.
    pub fn new(cfg: AutoscaleConfig, workers: u32) -> Self {
        Autoscaler { cfg, replicas: workers, recommendations: VecDeque::new(), ups: VecDeque::new(), last_change: None }
    }

    /// The configuration.
    pub fn config(&self) -> &AutoscaleConfig {
        &self.cfg
    }

    /// The workers asked for so far.
    pub fn replicas(&self) -> u32 {
        self.replicas
    }

    /// Evaluates at `now`: `ready` workers are up, at `utilization` since the last evaluation.
    pub fn evaluate(&mut self, now: SimTime, ready: u32, utilization: f64) -> Scale {
        let current = self.replicas;
        let desired = replicas_for(current, ready, utilization, self.cfg.target_utilization, self.cfg.tolerance);
        // Stabilisation: scale down only to the highest recommendation of the window.
        self.recommendations.push_back((now, desired));
        while self.recommendations.front().is_some_and(|(t, _)| *t + self.cfg.scale_down_stabilization <= now) {
            self.recommendations.pop_front();
        }
        let highest = self.recommendations.iter().map(|(_, w)| *w).max().unwrap_or(desired);
        let stabilised = if desired > current { desired } else { highest.min(current) };
        // Rate of scale-up: max(+100%, +4) over the replicas at the start of the policy period.
        while self.ups.front().is_some_and(|(t, _)| *t + SCALE_UP_PERIOD <= now) {
            self.ups.pop_front();
        }
        let at_period_start = current - self.ups.iter().map(|(_, n)| *n).sum::<u32>().min(current);
        let up_limit = (2 * at_period_start).max(at_period_start + 4);
        let to = stabilised.min(up_limit.max(current)).clamp(self.cfg.min_workers, self.cfg.max_workers);
        if to == current || self.last_change.is_some_and(|t| now < t + self.cfg.cooldown) {
            return Scale::Hold;
        }
        self.last_change = Some(now);
        self.replicas = to;
        if to > current {
            self.ups.push_back((now, to - current));
            Scale::Up { to }
        } else {
            Scale::Down { to }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AutoscaleConfig {
        AutoscaleConfig {
            target_utilization: 0.5,
            metric: ScaleMetric::Cpu,
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

    /// Kubernetes' own cases (`replica_calculator_test.go`), with CPU requests of 1 core a pod: the usage of
    /// the ready pods (in millicores) over their requests is the utilisation.
    #[test]
    fn kubernetes_replica_calculator_cases() {
        let u = |milli: &[u64]| milli.iter().sum::<u64>() as f64 / (1000.0 * milli.len() as f64);
        // TestReplicaCalcScaleUp: 3 ready at 300, 500, 700 against 30%: 5.
        assert_eq!(replicas_for(3, 3, u(&[300, 500, 700]), 0.3, 0.1), 5);
        // TestReplicaCalcScaleUpUnreadyLessScale: the unready pod counts as 0: 4, not 6.
        assert_eq!(replicas_for(3, 2, u(&[500, 700]), 0.3, 0.1), 4);
        // TestReplicaCalcScaleUpUnreadyNoScale: 1 ready at 400 and 2 unready: the scale-up cancels out: 3.
        assert_eq!(replicas_for(3, 1, u(&[400]), 0.3, 0.1), 3);
        // TestReplicaCalcScaleDown: 5 ready at 28% against 50%: 3.
        assert_eq!(replicas_for(5, 5, u(&[100, 300, 500, 250, 250]), 0.5, 0.1), 3);
        // TestReplicaCalcScaleDownIncludeUnreadyPods: 3 ready at 30%, 2 unready (ignored): 2.
        assert_eq!(replicas_for(5, 3, u(&[100, 300, 500]), 0.5, 0.1), 2);
        // TestReplicaCalcScaleDownExcludeUnscheduledPods: 1 running at 10%, 4 pending: 1.
        assert_eq!(replicas_for(5, 1, u(&[100]), 0.5, 0.1), 1);
        // Within the tolerance: unchanged.
        assert_eq!(replicas_for(4, 4, 0.54, 0.5, 0.1), 4);
    }

    #[test]
    fn evaluation_goes_on_while_workers_are_provisioning() {
        let mut a = Autoscaler::new(AutoscaleConfig { target_utilization: 0.25, max_workers: 100, ..cfg() }, 4);
        // 4 workers at 0.9 against 0.25 want ceil(4 x 3.6) = 15; at most max(2 x 4, 4 + 4) = 8 for now.
        assert_eq!(a.evaluate(at(0), 4, 0.9), Scale::Up { to: 8 });
        // 15 s later the 4 new workers are not up yet and the 4 old ones are saturated: ratio 4. The 4
        // pending count as idle: 4 x 4 / 8 = 2 > 1.1, so the HPA asks for ceil(4 x 4) = 16 now (the policy
        // period has rolled: up to max(2 x 8, 8 + 4) = 16) instead of waiting for the first scale-up.
        assert_eq!(a.evaluate(at(15), 4, 1.0), Scale::Up { to: 16 });
        // Pending workers that would cancel the scale-up hold it: 1 ready at 0.3 of 16 asked for.
        assert_eq!(a.evaluate(at(30), 1, 0.3), Scale::Hold);
    }

    #[test]
    fn scale_up_is_limited_to_double_or_four_more_per_15_s() {
        let mut a = Autoscaler::new(AutoscaleConfig { max_workers: 100, ..cfg() }, 2);
        // Utilisation 1.0 against 0.5 on 2 workers wants 4: max(2 x 2, 2 + 4) = 6 allows it.
        assert_eq!(a.evaluate(at(0), 2, 1.0), Scale::Up { to: 4 });
        // 10 saturated workers against 0.25 want 40, but the limit is max(2 x 10, 10 + 4) = 20.
        let mut b = Autoscaler::new(AutoscaleConfig { target_utilization: 0.25, max_workers: 100, ..cfg() }, 10);
        assert_eq!(b.evaluate(at(0), 10, 1.0), Scale::Up { to: 20 });
        // Within the same 15 s period, no more: the period started at 10 workers.
        assert_eq!(b.evaluate(at(5), 10, 1.0), Scale::Hold);
        // The next period starts at 20: up to 40.
        assert_eq!(b.evaluate(at(15), 10, 1.0), Scale::Up { to: 40 });
    }

    #[test]
    fn scale_down_is_stabilised() {
        let mut a = Autoscaler::new(cfg(), 8);
        // Load drops: recommendations 4 (t=0) ... but the window still holds earlier, higher ones.
        assert_eq!(a.evaluate(at(0), 8, 0.5), Scale::Hold, "on target");
        assert_eq!(a.evaluate(at(15), 8, 0.25), Scale::Hold, "the 8 of t=0 is in the 60 s window");
        assert_eq!(a.evaluate(at(45), 8, 0.2), Scale::Hold);
        // At t=60 the recommendation of t=0 has left the window: the highest left is 4 (t=15).
        assert_eq!(a.evaluate(at(60), 8, 0.2), Scale::Down { to: 4 });
        assert_eq!(a.replicas(), 4);
    }
}
