//! Supervision as a pure state machine, with Erlang/OTP semantics (time is passed in).
//!
//! A supervisor has ordered children, each with a restart type. When a child exits:
//! - `temporary` children are never restarted; `transient` ones only after an abnormal exit; `permanent`
//!   ones always;
//! - a restart counts against the supervisor's *intensity*: more than `intensity` restarts within
//!   `period` and the supervisor gives up: it shuts down all its children and escalates to its parent;
//! - the *strategy* says who restarts: `one-for-one` the exited child only, `one-for-all` every child,
//!   `rest-for-one` the exited child and the children started after it. The running siblings concerned
//!   are terminated first, in reverse start order, then all are restarted in start order; temporary
//!   siblings are terminated and not restarted (OTP does the same). This holds at every level: the root's
//!   children are the subtrees.
//!
//! Defaults are OTP's: one-for-one, intensity 1 within 5 s, restarts at once. Where we add to OTP: a
//! restart may be delayed, by a child's `restart_delay` or a backoff (Akka's restart-with-backoff: `min`
//! doubling up to `max`, randomised by `jitter`).

use std::collections::VecDeque;

use crate::sim::{SimDuration, SimTime};

/// Who restarts when a child exits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Only the exited child. The default.
    #[default]
    OneForOne,
    /// Every child.
    OneForAll,
    /// The exited child and those started after it.
    RestForOne,
}

/// Whether a child is restarted.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum RestartType {
    /// Always. The default.
    #[default]
    Permanent,
    /// Only after an abnormal exit (a crash, not a normal stop).
    Transient,
    /// Never.
    Temporary,
}

/// Restart delay growing with the restarts in the current period.
#[derive(Clone, Debug, PartialEq)]
pub struct RestartBackoff {
    /// Delay of the first restart.
    pub min: SimDuration,
    /// Longest delay.
    pub max: SimDuration,
    /// Randomisation factor 0..1.
    pub jitter: f64,
}

impl RestartBackoff {
    /// The delay of the `n`-th restart within the period (n >= 1), given a uniform draw `u` in [0, 1).
    pub fn delay(&self, n: u32, u: f64) -> SimDuration {
        let base = (self.min.as_secs_f64() * 2f64.powi(n.saturating_sub(1).min(62) as i32)).min(self.max.as_secs_f64());
        SimDuration::from_secs_f64(base * (1.0 + self.jitter * (2.0 * u - 1.0)))
    }
}

/// A supervisor's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct SupervisorSpec {
    /// Strategy. Default one-for-one.
    pub strategy: Strategy,
    /// Restarts allowed within `period`. Default 1.
    pub intensity: u32,
    /// Default 5 s.
    pub period: SimDuration,
    /// Optional restart backoff. Default: none (each child's own restart delay).
    pub backoff: Option<RestartBackoff>,
}

impl Default for SupervisorSpec {
    fn default() -> Self {
        SupervisorSpec { strategy: Strategy::OneForOne, intensity: 1, period: SimDuration::from_secs(5), backoff: None }
    }
}

/// What the supervisor does about an exit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Nothing: the child stays down (temporary, or transient after a normal exit).
    LeaveDown,
    /// Shut down `shutdown` (running siblings), then restart `restart` (in start order) after the delay.
    /// `nth` is the number of restarts in the current period, this one included.
    Restart {
        /// Running siblings to shut down first.
        shutdown: Vec<usize>,
        /// Children to restart, in start order.
        restart: Vec<usize>,
        /// Restarts within the period so far.
        nth: u32,
    },
    /// Too many restarts: shut down every running child and escalate to the parent.
    Escalate {
        /// Running children to shut down.
        shutdown: Vec<usize>,
        /// Restarts within the period when it gave up.
        restarts: u32,
    },
}

/// The state of one supervisor.
#[derive(Clone, Debug)]
pub(crate) struct Supervisor {
    spec: SupervisorSpec,
    types: Vec<RestartType>,
    running: Vec<bool>,
    restarts: VecDeque<SimTime>,
}

impl Supervisor {
    /// A supervisor whose children (in start order) have the given restart types, all running.
    pub(crate) fn new(spec: SupervisorSpec, types: Vec<RestartType>) -> Self {
        let running = vec![true; types.len()];
        Supervisor { spec, types, running, restarts: VecDeque::new() }
    }

    /// The configuration.
    pub(crate) fn spec(&self) -> &SupervisorSpec {
        &self.spec
    }

    /// Whether child `i` is running.
    pub(crate) fn is_running(&self, i: usize) -> bool {
        self.running[i]
    }

    /// Child `i` exited at `now` (`abnormal`: a crash rather than a normal stop).
    pub(crate) fn on_exit(&mut self, now: SimTime, i: usize, abnormal: bool) -> Decision {
        self.running[i] = false;
        let restart_it = match self.types[i] {
            RestartType::Permanent => true,
            RestartType::Transient => abnormal,
            RestartType::Temporary => false,
        };
        if !restart_it {
            return Decision::LeaveDown;
        }
        while self.restarts.front().is_some_and(|t| *t + self.spec.period <= now) {
            self.restarts.pop_front();
        }
        if self.restarts.len() as u32 >= self.spec.intensity {
            let mut shutdown = self.running_children();
            shutdown.reverse();
            for c in &shutdown {
                self.running[*c] = false;
            }
            return Decision::Escalate { shutdown, restarts: self.restarts.len() as u32 + 1 };
        }
        self.restarts.push_back(now);
        let affected: Vec<usize> = match self.spec.strategy {
            Strategy::OneForOne => vec![i],
            Strategy::OneForAll => (0..self.types.len()).collect(),
            Strategy::RestForOne => (i..self.types.len()).collect(),
        };
        // Terminated in reverse start order, restarted in start order.
        let shutdown: Vec<usize> = affected.iter().rev().copied().filter(|c| *c != i && self.running[*c]).collect();
        for c in &shutdown {
            self.running[*c] = false;
        }
        // Siblings come back unless temporary; the exited child itself is restarted (checked above).
        let restart: Vec<usize> = affected
            .into_iter()
            .filter(|c| *c == i || (self.types[*c] != RestartType::Temporary && shutdown.contains(c)))
            .collect();
        Decision::Restart { shutdown, restart, nth: self.restarts.len() as u32 }
    }

    /// Children `restarted` are running again.
    pub(crate) fn on_restarted(&mut self, restarted: &[usize]) {
        for c in restarted {
            self.running[*c] = true;
        }
    }

    /// The parent restarts this whole subtree: every child but temporary ones comes back and the restart
    /// history is forgotten. Returns the children to restart.
    pub(crate) fn restart_all(&mut self) -> Vec<usize> {
        self.restarts.clear();
        (0..self.types.len()).filter(|c| self.types[*c] != RestartType::Temporary).collect()
    }

    /// The parent terminates this whole subtree: no child runs any more.
    pub(crate) fn terminate_all(&mut self) {
        self.running.iter_mut().for_each(|r| *r = false);
    }

    fn running_children(&self) -> Vec<usize> {
        (0..self.types.len()).filter(|c| self.running[*c]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    fn sup(strategy: Strategy, intensity: u32) -> Supervisor {
        let spec = SupervisorSpec { strategy, intensity, period: SimDuration::from_secs(10), backoff: None };
        Supervisor::new(spec, vec![RestartType::Permanent; 4])
    }

    #[test]
    fn one_for_one_restarts_only_the_crashed_child() {
        let mut s = sup(Strategy::OneForOne, 5);
        assert_eq!(s.on_exit(at(0), 2, true), Decision::Restart { shutdown: vec![], restart: vec![2], nth: 1 });
    }

    #[test]
    fn one_for_all_restarts_every_child() {
        let mut s = sup(Strategy::OneForAll, 5);
        assert_eq!(
            s.on_exit(at(0), 2, true),
            Decision::Restart { shutdown: vec![3, 1, 0], restart: vec![0, 1, 2, 3], nth: 1 }
        );
    }

    #[test]
    fn rest_for_one_restarts_the_child_and_those_started_after_it() {
        let mut s = sup(Strategy::RestForOne, 5);
        assert_eq!(
            s.on_exit(at(0), 1, true),
            Decision::Restart { shutdown: vec![3, 2], restart: vec![1, 2, 3], nth: 1 }
        );
        // Children already down are not shut down again, but come back with the others.
        let mut s = sup(Strategy::RestForOne, 5);
        s.on_exit(at(0), 3, true);
        assert_eq!(s.on_exit(at(1), 1, true), Decision::Restart { shutdown: vec![2], restart: vec![1, 2], nth: 2 });
    }

    #[test]
    fn restart_types() {
        let spec = SupervisorSpec { strategy: Strategy::OneForAll, intensity: 5, ..SupervisorSpec::default() };
        let types = vec![RestartType::Permanent, RestartType::Transient, RestartType::Temporary];
        let mut s = Supervisor::new(spec.clone(), types.clone());
        assert_eq!(s.on_exit(at(0), 2, true), Decision::LeaveDown, "temporary: never restarted");
        let mut s = Supervisor::new(spec.clone(), types.clone());
        assert_eq!(s.on_exit(at(0), 1, false), Decision::LeaveDown, "transient: not after a normal exit");
        let mut s = Supervisor::new(spec, types);
        // Transient after a crash: restarted; the temporary sibling is shut down and stays down.
        assert_eq!(s.on_exit(at(0), 1, true), Decision::Restart { shutdown: vec![2, 0], restart: vec![0, 1], nth: 1 });
    }

    #[test]
    fn exceeding_the_intensity_escalates() {
        let mut s = sup(Strategy::OneForOne, 2);
        assert!(matches!(s.on_exit(at(0), 0, true), Decision::Restart { nth: 1, .. }));
        s.on_restarted(&[0]);
        assert!(matches!(s.on_exit(at(3), 1, true), Decision::Restart { nth: 2, .. }));
        s.on_restarted(&[1]);
        // A third restart within 10 s: give up, shutting down everything still running.
        assert_eq!(s.on_exit(at(9), 0, true), Decision::Escalate { shutdown: vec![3, 2, 1], restarts: 3 });
        // Outside the period the count starts over.
        let mut s = sup(Strategy::OneForOne, 1);
        assert!(matches!(s.on_exit(at(0), 0, true), Decision::Restart { .. }));
        s.on_restarted(&[0]);
        assert!(matches!(s.on_exit(at(10), 0, true), Decision::Restart { nth: 1, .. }));
    }

    #[test]
    fn otp_defaults_and_backoff() {
        let d = SupervisorSpec::default();
        assert_eq!((d.strategy, d.intensity, d.period), (Strategy::OneForOne, 1, SimDuration::from_secs(5)));
        let b = RestartBackoff { min: SimDuration::from_secs(1), max: SimDuration::from_secs(5), jitter: 0.0 };
        let d: Vec<u64> = (1..=5).map(|n| b.delay(n, 0.5).as_nanos() / 1_000_000_000).collect();
        assert_eq!(d, vec![1, 2, 4, 5, 5]);
    }
}
