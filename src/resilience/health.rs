//! Health checks with Kubernetes' probe semantics: consecutive-failure and consecutive-success thresholds
//! per probe, and the overall status by the share of passing checks (the seed system's thresholds).
//!
//! As the kubelet's prober (`pkg/kubelet/prober/worker.go`): a liveness check starts passing, a readiness
//! check starts failing (a container is not ready until its probe has passed), a startup check starts
//! not passed; a check changes state after `failure_threshold` consecutive failures or
//! `success_threshold` consecutive successes; after a liveness or startup failure the probe is on hold
//! until the container restarts, and a restart starts every probe of it afresh.

pub use crate::model::summary::{ProbeKind, Status};
use crate::sim::SimDuration;

/// Health check configuration of one probe. Defaults are Kubernetes'.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthConfig {
    /// Time between probes (periodSeconds). Default 10 s.
    pub interval: SimDuration,
    /// Time from a (re)start of the service to its first probe (initialDelaySeconds). Default 0.
    pub initial_delay: SimDuration,
    /// A probe not answered within this fails (timeoutSeconds). Default 1 s.
    pub timeout: SimDuration,
    /// Consecutive failed probes that fail the check (failureThreshold). Default 3.
    pub failure_threshold: u32,
    /// Consecutive passed probes that pass a failed check again (successThreshold; 1 for liveness and
    /// startup). Default 1.
    pub success_threshold: u32,
    /// What the probe checks. Default liveness.
    pub probe: ProbeKind,
    /// Liveness and startup: ask the supervisor to restart the service when its check fails (the kubelet
    /// kills the container); false only reports it. Readiness never restarts. Default true.
    pub remediate: bool,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            interval: SimDuration::from_secs(10),
            initial_delay: SimDuration::ZERO,
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
    /// A check in its initial state: passing for liveness, failing for readiness and startup.
    pub fn new(cfg: HealthConfig) -> Self {
        let passing = cfg.probe == ProbeKind::Liveness;
        Check { cfg, passing, fails: 0, oks: 0 }
    }

    /// Back to the initial state, as when the service (re)starts.
    pub fn reset(&mut self) {
        *self = Check::new(self.cfg.clone());
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
            // A startup check that has not passed yet fails once its threshold is reached.
            if self.cfg.probe == ProbeKind::Startup && !self.passing && self.fails == self.cfg.failure_threshold {
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
    fn initial_states_are_the_kubelets() {
        // worker.go: readiness starts at Failure, liveness at Success, startup at Unknown (not passed).
        let c = |probe| Check::new(HealthConfig { probe, ..HealthConfig::default() });
        assert!(c(ProbeKind::Liveness).passing());
        assert!(!c(ProbeKind::Readiness).passing());
        assert!(!c(ProbeKind::Startup).passing());
        // A readiness check needs success_threshold consecutive successes to pass the first time.
        let mut r =
            Check::new(HealthConfig { probe: ProbeKind::Readiness, success_threshold: 2, ..HealthConfig::default() });
        assert_eq!(r.on_probe(true), None);
        assert_eq!(r.on_probe(true), Some(CheckChange::Recovered));
        r.reset();
        assert!(!r.passing(), "a restart makes it not ready again");
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
