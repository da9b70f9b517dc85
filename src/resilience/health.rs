//! Health checks: consecutive-failure and consecutive-success thresholds per component, and the overall
//! status by the share of passing components (the seed system's thresholds).

pub use crate::model::summary::Status;
use crate::sim::SimDuration;

/// What a probe checks.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ProbeKind {
    /// The component is up and answers (answered by the actor itself, without a worker). The default.
    #[default]
    Liveness,
    /// The component is up and would accept a request (its queue is not full).
    Readiness,
}

/// Health check configuration of one component.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthConfig {
    /// Time between probes. Default 10 s.
    pub interval: SimDuration,
    /// A probe not answered within this fails. Default 1 s.
    pub timeout: SimDuration,
    /// Consecutive failed probes that fail the check. Default 3.
    pub failure_threshold: u32,
    /// Consecutive passed probes that pass a failed check again. Default 1.
    pub success_threshold: u32,
    /// What the probe checks. Default liveness.
    pub probe: ProbeKind,
    /// Ask the supervisor to restart the component when its check fails. Default true.
    pub remediate: bool,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            interval: SimDuration::from_secs(10),
            timeout: SimDuration::from_secs(1),
            failure_threshold: 3,
            success_threshold: 1,
            probe: ProbeKind::Liveness,
            remediate: true,
        }
    }
}

/// A change of a component's check.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CheckChange {
    /// The check failed (`failure_threshold` consecutive failures).
    Failed,
    /// The check passes again (`success_threshold` consecutive successes).
    Recovered,
}

/// The check of one component.
#[derive(Clone, Debug)]
pub struct Check {
    cfg: HealthConfig,
    passing: bool,
    fails: u32,
    oks: u32,
}

impl Check {
    /// A passing check.
    pub fn new(cfg: HealthConfig) -> Self {
        Check { cfg, passing: true, fails: 0, oks: 0 }
    }

    /// The configuration.
    pub fn config(&self) -> &HealthConfig {
        &self.cfg
    }

    /// Whether the check passes.
    pub fn passing(&self) -> bool {
        self.passing
    }

    /// Records a probe's result.
    pub fn on_probe(&mut self, ok: bool) -> Option<CheckChange> {
        if ok {
            self.oks += 1;
            self.fails = 0;
            if !self.passing && self.oks >= self.cfg.success_threshold {
                self.passing = true;
                return Some(CheckChange::Recovered);
            }
        } else {
            self.fails += 1;
            self.oks = 0;
            if self.passing && self.fails >= self.cfg.failure_threshold {
                self.passing = false;
                return Some(CheckChange::Failed);
            }
        }
        None
    }
}

/// The overall status when `passing` of `total` checks pass.
pub fn overall(passing: usize, total: usize) -> Status {
    if total == 0 {
        return Status::Healthy;
    }
    let r = passing as f64 / total as f64;
    if r >= 0.8 {
        Status::Healthy
    } else if r >= 0.5 {
        Status::Degraded
    } else if r >= 0.2 {
        Status::Unhealthy
    } else {
        Status::Critical
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_consecutive() {
        let mut c = Check::new(HealthConfig { failure_threshold: 3, success_threshold: 2, ..HealthConfig::default() });
        assert_eq!(c.on_probe(false), None);
        assert_eq!(c.on_probe(false), None);
        assert_eq!(c.on_probe(true), None, "a success resets the failure count");
        assert_eq!(c.on_probe(false), None);
        assert_eq!(c.on_probe(false), None);
        assert_eq!(c.on_probe(false), Some(CheckChange::Failed));
        assert_eq!(c.on_probe(false), None, "already failed");
        assert_eq!(c.on_probe(true), None);
        assert_eq!(c.on_probe(true), Some(CheckChange::Recovered));
    }

    #[test]
    fn overall_status_by_passing_ratio() {
        assert_eq!(overall(10, 10), Status::Healthy);
        assert_eq!(overall(8, 10), Status::Healthy);
        assert_eq!(overall(7, 10), Status::Degraded);
        assert_eq!(overall(5, 10), Status::Degraded);
        assert_eq!(overall(4, 10), Status::Unhealthy);
        assert_eq!(overall(2, 10), Status::Unhealthy);
        assert_eq!(overall(1, 10), Status::Critical);
    }
}
