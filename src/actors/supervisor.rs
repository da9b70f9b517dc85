//! The root supervisor: restarts a crashed service after its downtime and logs crashes and restarts.
//!
//! Issue 4 brings OTP-grade supervision (strategies, intensity, escalation); this one restarts a crashed
//! child once its downtime is over, like a `permanent` child of a `one_for_one` supervisor without limits.

use super::{Event, ServiceMsg, SimLab, record};
use crate::scenario::ServiceId;
use crate::sim::{Behavior, SimDuration, SimTime};

/// Messages to the supervisor.
#[derive(Debug)]
pub enum SupervisorMsg {
    /// A child crashed and must stay down for `down_for`.
    ChildCrashed {
        /// The child.
        service: ServiceId,
        /// Why.
        reason: Box<str>,
        /// Downtime before the restart.
        down_for: SimDuration,
    },
    /// A restart is due.
    RestartDue {
        /// The child.
        service: ServiceId,
        /// When it crashed.
        crashed_at: SimTime,
    },
}

/// Per-child restart figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChildStats {
    /// Crashes.
    pub crashes: u64,
    /// Restarts.
    pub restarts: u64,
    /// Total time down (a child still down at the end counts until the end).
    pub downtime: SimDuration,
    /// Down since (while down).
    down_since: Option<SimTime>,
}

/// The behaviour of the root supervisor.
pub struct RootSupervisor {
    names: Vec<String>,
    children: Vec<ChildStats>,
}

impl RootSupervisor {
    /// A supervisor of the services named `names` (by id).
    pub fn new(names: Vec<String>) -> Self {
        let children = vec![ChildStats::default(); names.len()];
        RootSupervisor { names, children }
    }
}

impl Behavior for RootSupervisor {
    type Msg = SupervisorMsg;
    type Event = Event;
    type Report = Vec<ChildStats>;

    fn handle(&mut self, msg: SupervisorMsg, lab: &SimLab) {
        let now = lab.now();
        match msg {
            SupervisorMsg::ChildCrashed {
                service,
                reason,
                down_for,
            } => {
                let c = &mut self.children[service.index()];
                c.crashes += 1;
                c.down_since = Some(now);
                record(lab, "actor_crash", &self.names[service.index()], reason.into());
                lab.schedule(
                    now + down_for,
                    Event::Supervisor(SupervisorMsg::RestartDue {
                        service,
                        crashed_at: now,
                    }),
                );
            }
            SupervisorMsg::RestartDue { service, crashed_at } => {
                let c = &mut self.children[service.index()];
                c.restarts += 1;
                c.down_since = None;
                c.downtime = c.downtime + (now - crashed_at);
                record(
                    lab,
                    "actor_restart",
                    &self.names[service.index()],
                    format!("downtime {}", now - crashed_at),
                );
                lab.send(Event::Service(service, ServiceMsg::Restart));
            }
        }
    }

    fn finish(&mut self, lab: &SimLab) -> Vec<ChildStats> {
        let now = lab.now();
        for c in &mut self.children {
            if let Some(since) = c.down_since.take() {
                c.downtime = c.downtime + (now - since);
            }
        }
        std::mem::take(&mut self.children)
    }
}
