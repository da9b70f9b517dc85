//! The supervision tree: the root supervisor, whose child is the services subtree, and the services
//! supervisor, whose children are the service actors in scenario order. The decisions are the pure state
//! machine of [`crate::supervision`]; these actors carry them out and log them.

use std::collections::BTreeMap;

use rand::RngExt;

use super::{Event, NodeMsg, SimLab, record};
use crate::model::event::Event as Ev;
use crate::scenario::{Scenario, ServiceId};
use crate::sim::{Behavior, SimDuration, SimRng, SimTime};
use crate::supervision::{Decision, RestartType, Supervisor, SupervisorSpec};

/// Delay before the root restarts a subtree that gave up, when the root has no backoff configured: none,
/// as in OTP.
pub(crate) const DEFAULT_SUBTREE_RESTART: SimDuration = SimDuration::ZERO;

/// Messages to the services supervisor.
#[derive(Debug)]
pub(crate) enum SupervisorMsg {
    /// A child exited and must stay down for at least `down_for`.
    ChildCrashed {
        /// The child.
        service: ServiceId,
        /// Why.
        reason: Box<str>,
        /// Minimum downtime (a kill fault's `for`).
        down_for: SimDuration,
        /// A crash (true) or a normal stop (false).
        abnormal: bool,
    },
    /// A batch of restarts is due.
    RestartDue { batch: u32 },
    /// The health checker asks for a restart of a failing child.
    Remediate {
        /// The child.
        service: ServiceId,
        /// Why.
        reason: Box<str>,
    },
    /// The root restarts the whole subtree.
    RestartSubtree,
    /// The root terminates the whole subtree (a one-for-all or rest-for-one restart of the root).
    TerminateSubtree {
        /// Why.
        reason: Box<str>,
    },
}

/// Messages to the root supervisor.
#[derive(Debug)]
pub(crate) enum RootMsg {
    /// A subtree supervisor gave up.
    Escalate {
        /// Which: 0 services, 1 device.
        subtree: u32,
        /// Why.
        reason: Box<str>,
    },
    /// Restart a subtree now.
    SubtreeRestartDue {
        /// Which.
        subtree: u32,
    },
}

/// Per-child restart figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChildStats {
    /// Crashes and stops (including shutdowns by the supervisor).
    pub crashes: u64,
    pub restarts: u64,
    /// Total time down (a child still down at the end counts until the end).
    pub downtime: SimDuration,
    down_since: Option<SimTime>,
}

/// The behaviour of the services supervisor.
pub(crate) struct ServiceSupervisor {
    names: Vec<String>,
    delays: Vec<SimDuration>,
    state: Supervisor,
    rng: SimRng,
    pending: BTreeMap<u32, Vec<usize>>,
    next_batch: u32,
    stats: Vec<ChildStats>,
}

impl ServiceSupervisor {
    /// The supervisor of `sc`'s services.
    pub(crate) fn new(sc: &Scenario, seed: u64) -> Self {
        let types: Vec<RestartType> = sc.services.iter().map(|s| s.restart).collect();
        ServiceSupervisor {
            names: sc.services.iter().map(|s| s.name.clone()).collect(),
            delays: sc.services.iter().map(|s| s.restart_delay).collect(),
            state: Supervisor::new(sc.services_supervisor.clone(), types),
            rng: crate::sim::stream(seed, "supervisor/services"),
            pending: BTreeMap::new(),
            next_batch: 0,
            stats: vec![ChildStats::default(); sc.services.len()],
        }
    }

    fn mark_down(&mut self, i: usize, now: SimTime) {
        let s = &mut self.stats[i];
        s.crashes += 1;
        if s.down_since.is_none() {
            s.down_since = Some(now);
        }
    }

    fn on_exit(&mut self, i: usize, reason: &str, down_for: SimDuration, abnormal: bool, lab: &SimLab) {
        let now = lab.now();
        self.mark_down(i, now);
        let reason = reason.to_string();
        record(lab, &self.names[i], if abnormal { Ev::ActorCrash { reason } } else { Ev::ActorStop { reason } });
        match self.state.on_exit(now, i, abnormal) {
            Decision::LeaveDown => record(lab, &self.names[i], Ev::ActorLeftDown),
            Decision::Restart { shutdown, restart, nth } => {
                let why = format!(
                    "shut down by the supervisor ({:?} after {} exited)",
                    self.state.spec().strategy,
                    self.names[i]
                );
                for c in shutdown {
                    lab.send(Event::Node(ServiceId(c as u32), NodeMsg::Shutdown));
                    self.mark_down(c, now);
                    record(lab, &self.names[c], Ev::ActorStop { reason: why.clone() });
                }
                let backoff = match &self.state.spec().backoff {
                    Some(b) => b.delay(nth, self.rng.random::<f64>()),
                    None => self.delays[i],
                };
                let batch = self.next_batch;
                self.next_batch += 1;
                self.pending.insert(batch, restart);
                lab.schedule(now + backoff.max(down_for), Event::Supervisor(SupervisorMsg::RestartDue { batch }));
            }
            Decision::Escalate { shutdown, restarts } => {
                for c in shutdown {
                    lab.send(Event::Node(ServiceId(c as u32), NodeMsg::Shutdown));
                    self.mark_down(c, now);
                }
                let spec = self.state.spec();
                let reason = format!(
                    "{restarts} restarts within {} exceed the intensity {}: services supervisor gives up",
                    spec.period, spec.intensity
                );
                record(lab, "services", Ev::SupervisorEscalate { reason: reason.clone() });
                self.pending.clear();
                lab.send(Event::Root(RootMsg::Escalate { subtree: 0, reason: reason.into() }));
            }
        }
    }

    fn restart(&mut self, children: &[usize], lab: &SimLab) {
        let now = lab.now();
        let mut done = Vec::new();
        for &c in children {
            if self.state.is_running(c) {
                continue;
            }
            let s = &mut self.stats[c];
            let since = s.down_since.take().unwrap_or(now);
            s.restarts += 1;
            s.downtime = s.downtime + (now - since);
            record(lab, &self.names[c], Ev::ActorRestart { downtime: now - since, stream_reopened: false });
            lab.send(Event::Node(ServiceId(c as u32), NodeMsg::Restart));
            // A new container: its probes start afresh (the kubelet's worker sees a new container ID).
            lab.send(Event::Health(super::health::HealthMsg::Restarted { service: ServiceId(c as u32) }));
            done.push(c);
        }
        self.state.on_restarted(&done);
    }
}

impl Behavior for ServiceSupervisor {
    type Msg = SupervisorMsg;
    type Event = Event;
    type Report = Vec<ChildStats>;

    fn handle(&mut self, msg: SupervisorMsg, lab: &SimLab) {
        match msg {
            SupervisorMsg::ChildCrashed { service, reason, down_for, abnormal } => {
                self.on_exit(service.index(), &reason, down_for, abnormal, lab)
            }
            SupervisorMsg::RestartDue { batch } => {
                if let Some(children) = self.pending.remove(&batch) {
                    self.restart(&children, lab);
                }
            }
            SupervisorMsg::Remediate { service, reason } => {
                let i = service.index();
                if self.state.is_running(i) {
                    record(lab, &self.names[i], Ev::Remediation { reason: reason.to_string(), already_down: false });
                    lab.send(Event::Node(service, NodeMsg::Shutdown));
                    self.on_exit(i, &format!("remediation: {reason}"), SimDuration::ZERO, true, lab);
                } else {
                    record(lab, &self.names[i], Ev::Remediation { reason: reason.to_string(), already_down: true });
                }
            }
            SupervisorMsg::RestartSubtree => {
                let children = self.state.restart_all();
                self.restart(&children, lab);
            }
            SupervisorMsg::TerminateSubtree { reason } => {
                let now = lab.now();
                // Every running child, in reverse start order; nothing pending is restarted by itself.
                self.pending.clear();
                let running: Vec<usize> = (0..self.names.len()).rev().filter(|c| self.state.is_running(*c)).collect();
                for c in running {
                    lab.send(Event::Node(ServiceId(c as u32), NodeMsg::Shutdown));
                    self.mark_down(c, now);
                    record(lab, &self.names[c], Ev::ActorStop { reason: reason.to_string() });
                }
                self.state.terminate_all();
            }
        }
    }

    fn finish(&mut self, lab: &SimLab) -> Vec<ChildStats> {
        let now = lab.now();
        for c in &mut self.stats {
            if let Some(since) = c.down_since.take() {
                c.downtime = c.downtime + (now - since);
            }
        }
        std::mem::take(&mut self.stats)
    }
}

/// The subtrees under the root.
pub(crate) const SUBTREES: [&str; 2] = ["services", "device"];

/// The behaviour of the root supervisor. Its children are the subtrees: services, and the device when
/// the scenario has one.
pub(crate) struct RootSupervisor {
    state: Supervisor,
    rng: SimRng,
}

impl RootSupervisor {
    /// A root with `spec` over the services subtree and, if `device`, the device subtree.
    pub(crate) fn new(spec: SupervisorSpec, seed: u64, device: bool) -> Self {
        let children = if device { 2 } else { 1 };
        RootSupervisor {
            state: Supervisor::new(spec, vec![RestartType::Permanent; children]),
            rng: crate::sim::stream(seed, "supervisor/root"),
        }
    }
}

impl Behavior for RootSupervisor {
    type Msg = RootMsg;
    type Event = Event;
    type Report = ();

    fn handle(&mut self, msg: RootMsg, lab: &SimLab) {
        let now = lab.now();
        match msg {
            RootMsg::Escalate { subtree, reason } => match self.state.on_exit(now, subtree as usize, true) {
                Decision::Restart { nth, restart, shutdown } => {
                    // The running subtrees the strategy takes along are terminated first (reverse start
                    // order), then every one of them restarts (start order).
                    let why = format!(
                        "terminated by the root supervisor ({:?} after the {} subtree gave up)",
                        self.state.spec().strategy,
                        SUBTREES[subtree as usize]
                    );
                    for s in shutdown {
                        // Each subtree's supervisor records the stop of its own children.
                        match s {
                            0 => lab.send(Event::Supervisor(SupervisorMsg::TerminateSubtree {
                                reason: why.clone().into(),
                            })),
                            _ => lab.send(Event::DeviceSup(super::audio::DeviceSupMsg::TerminateSubtree {
                                reason: why.clone().into(),
                            })),
                        }
                    }
                    let delay = match &self.state.spec().backoff {
                        Some(b) => b.delay(nth, self.rng.random::<f64>()),
                        None => DEFAULT_SUBTREE_RESTART,
                    };
                    for s in restart {
                        lab.schedule(now + delay, Event::Root(RootMsg::SubtreeRestartDue { subtree: s as u32 }));
                    }
                }
                Decision::Escalate { .. } | Decision::LeaveDown => {
                    let spec = self.state.spec();
                    let why = format!(
                        "the root supervisor gave up: its subtrees failed more than {} time(s) within {} (last: the {} subtree: {reason})",
                        spec.intensity, spec.period, SUBTREES[subtree as usize]
                    );
                    record(lab, "root", Ev::SupervisorEscalate { reason: why.clone() });
                    lab.abort(why);
                }
            },
            RootMsg::SubtreeRestartDue { subtree } => {
                let name = SUBTREES[subtree as usize];
                record(lab, name, Ev::SupervisorRestart);
                self.state.on_restarted(&[subtree as usize]);
                match subtree {
                    0 => lab.send(Event::Supervisor(SupervisorMsg::RestartSubtree)),
                    _ => lab.send(Event::DeviceSup(super::audio::DeviceSupMsg::RestartSubtree)),
                }
            }
        }
    }

    fn finish(&mut self, _lab: &SimLab) {}
}
