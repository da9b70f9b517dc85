//! The event bus: a partitioned, durable log (Kafka-like). A call to it produces one message: the
//! message's key (the producer and its request) picks the partition by a stable hash, the append takes
//! the bus's `latency`, and the producer gets its acknowledgement once the message is durable. The bus is
//! also the group coordinator of its consumer groups ([`group`]: members, assignments, rebalances,
//! committed offsets; the consumers are in `service::consumer`). The log and the committed offsets
//! survive a crash of the bus; appends in flight and the group membership do not (members rejoin).
//!
//! The bus also keeps the lab's ledger of successful processing per group and offset, from which the
//! summary counts consumed, redelivered, dead-lettered and lost messages, and samples every group's lag
//! per partition at each window's end (`bus.csv`).

mod assign;
mod group;

use group::Group;
pub(crate) use group::HEARTBEAT;

pub(crate) use crate::model::summary::BusReport;
use rand::RngExt;
use slotmap::{DefaultKey, SlotMap};

use super::{
    CallResult, Caller, ChaosMsg, ConsumerMsg, Event, NodeMsg, RequestFaults, ServiceReport, SimLab, SupervisorMsg, key,
};
use crate::metrics::{Outcome, ServiceMeter};
use crate::scenario::{Scenario, Service, ServiceId, ServiceKind};
use crate::sim::{Behavior, SimDuration, SimRng, SimTime};

/// Messages to an event bus of its own (from its consumers and itself).
#[derive(Debug)]
pub(crate) enum BusMsg {
    /// A member joins its group (at its start, after a restart, or when told to rejoin).
    Join {
        /// Group index at the bus.
        group: u32,
        member: ServiceId,
    },
    /// A member leaves its group (a clean stop).
    Leave {
        /// Group index at the bus.
        group: u32,
        member: ServiceId,
    },
    /// A member is alive.
    Heartbeat {
        /// Group index at the bus.
        group: u32,
        member: ServiceId,
    },
    /// The session of `member` ends unless it heartbeated after `heartbeat` (the bus, to itself).
    SessionCheck {
        /// Group index at the bus.
        group: u32,
        member: ServiceId,
        heartbeat: SimTime,
    },
    /// A rebalance completes (the bus, to itself).
    RebalanceDone {
        /// Group index at the bus.
        group: u32,
    },
    /// A member asks for the message at `offset` of `partition` (answered when it exists).
    Poll {
        /// Group index at the bus.
        group: u32,
        member: ServiceId,
        /// The member's generation.
        generation: u32,
        partition: u32,
        /// Offset wanted.
        offset: u64,
    },
    /// A member commits its positions (next offset to process) of the partitions it owns.
    Commit {
        /// Group index at the bus.
        group: u32,
        member: ServiceId,
        /// The member's generation.
        generation: u32,
        /// (partition, position).
        offsets: Box<[(u32, u64)]>,
    },
    /// A member processed a message successfully, or sent it to the dead-letter bus (the lab's ledger,
    /// to count losses and redeliveries).
    Processed {
        /// Group index at the bus.
        group: u32,
        partition: u32,
        offset: u64,
        /// It went to the dead-letter bus.
        dead_letter: bool,
    },
    /// An append is durable (the bus, to itself).
    Appended {
        /// The produce request.
        token: u64,
    },
    /// A window ended: sample the groups' lag (the bus, to itself).
    Sample,
}

/// What an event bus takes: what every node takes, and its own messages.
#[derive(Debug)]
pub(crate) enum BusInbox {
    /// From the rest of the run.
    Node(NodeMsg),
    /// Its own.
    Own(BusMsg),
}

struct Append {
    from: Caller,
    token: u64,
    tag: u32,
    deadline: SimTime,
    arrived: SimTime,
    partition: u32,
    fails: bool,
}

/// The behaviour of an event bus.
pub(crate) struct EventBus {
    spec: Service,
    rng: SimRng,
    up: bool,
    /// In rotation (a readiness probe has passed, or there is none).
    ready: bool,
    logs: Vec<u64>,
    groups: Vec<Group>,
    /// Every service's name (members are named in events).
    names: Vec<String>,
    /// The services consuming from this bus, in scenario order.
    consumers: Vec<ServiceId>,
    window: SimDuration,
    rows: Vec<crate::model::rows::BusRow>,
    appends: SlotMap<DefaultKey, Append>,
    faults: RequestFaults,
    panic_armed: Option<Box<str>>,
    recovery_watch: Vec<u32>,
    meter: ServiceMeter,
}

/// FNV-1a of the message key: stable across runs and platforms.
fn partition_of(from: Caller, token: u64, partitions: u32) -> u32 {
    let producer = match from {
        Caller::Service(id) | Caller::Consumer(id) => u64::from(id.0),
        Caller::Load => u64::MAX,
        Caller::Health => u64::MAX - 1,
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in producer.to_le_bytes().into_iter().chain(token.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % u64::from(partitions)) as u32
}

impl EventBus {
    /// Bus `id` of `sc`.
    pub(crate) fn new(sc: &Scenario, id: ServiceId, seed: u64, meter: ServiceMeter) -> Self {
        let spec = sc.service(id).clone();
        let ServiceKind::EventBus { partitions } = spec.kind else {
            panic!("invariant: {} is an event bus", spec.name)
        };
        let n = partitions as usize;
        // Groups in the order their first member appears in the scenario.
        let mut groups: Vec<Group> = Vec::new();
        for s in sc.services.iter() {
            let Some(c) = s.consumes.as_ref().filter(|c| c.bus == id) else { continue };
            match groups.iter().position(|g| g.name == c.group) {
                Some(_) => {}
                None => {
                    let members = sc
                        .services
                        .iter()
                        .filter(|m| m.consumes.as_ref().is_some_and(|k| k.bus == id && k.group == c.group))
                        .map(|m| m.name.clone())
                        .collect();
                    let index = groups.len() as u32;
                    groups.push(Group::new(c.group.clone(), index, id, n, c.assignor, c.session_timeout, members));
                }
            }
        }
        EventBus {
            rng: crate::sim::stream(seed, &format!("bus/{}", spec.name)),
            spec,
            up: true,
            ready: !has_readiness(sc.service(id)),
            logs: vec![0; n],
            groups,
            names: sc.services.iter().map(|s| s.name.clone()).collect(),
            consumers: sc
                .services
                .iter()
                .filter(|s| s.consumes.as_ref().is_some_and(|c| c.bus == id))
                .map(|s| s.id)
                .collect(),
            window: sc.window,
            rows: Vec::new(),
            appends: SlotMap::new(),
            faults: RequestFaults::new(0.0, sc.fault_dists.clone().into()),
            panic_armed: None,
            recovery_watch: Vec::new(),
            meter,
        }
    }

    fn record(&mut self, now: SimTime, a: &Append, result: CallResult) {
        let outcome = if now >= a.deadline {
            Outcome::TimedOut
        } else {
            match result {
                CallResult::Ok => Outcome::Ok(now - a.arrived),
                CallResult::Failed => Outcome::Failed,
                CallResult::Rejected => Outcome::Rejected,
            }
        };
        self.meter.record(now, outcome);
    }

    fn go_down(&mut self, lab: &SimLab) -> bool {
        if !self.up {
            return false;
        }
        let now = lab.now();
        self.up = false;
        let appends: Vec<Append> = self.appends.drain().map(|(_, a)| a).collect();
        for a in appends {
            self.record(now, &a, CallResult::Failed);
            lab.send(a.from.reply(a.token, a.tag, CallResult::Failed));
        }
        for g in &mut self.groups {
            g.forget();
        }
        self.meter.levels(now, 0, 0);
        true
    }

    fn exit(&mut self, reason: Box<str>, down_for: SimDuration, abnormal: bool, lab: &SimLab) {
        if self.go_down(lab) {
            let service = self.spec.id;
            lab.send(Event::Supervisor(SupervisorMsg::ChildCrashed { service, reason, down_for, abnormal }));
        }
    }
}

impl EventBus {
    fn on_node(&mut self, msg: NodeMsg, lab: &SimLab) {
        let now = lab.now();
        match msg {
            NodeMsg::Call { from, token, tag, deadline } => {
                let partition = partition_of(from, token, self.logs.len() as u32);
                let fails = self.faults.fail_prob > 0.0 && self.rng.random::<f64>() < self.faults.fail_prob;
                let a = Append { from, token, tag, deadline, arrived: now, partition, fails };
                if !self.up {
                    self.record(now, &a, CallResult::Failed);
                    lab.send(from.reply(token, tag, CallResult::Failed));
                    return;
                }
                if !self.ready {
                    // Out of rotation: refused at once.
                    self.record(now, &a, CallResult::Rejected);
                    lab.send(from.reply(token, tag, CallResult::Rejected));
                    return;
                }
                let k = self.appends.insert(a);
                if let Some(fault) = self.panic_armed.take() {
                    panic!("injected panic (fault {fault})");
                }
                self.meter.levels(now, self.appends.len() as u32, 0);
                let own = self.spec.latency.sample(&mut self.rng);
                let done = now + self.faults.processing(own, &mut self.rng);
                lab.schedule(done, Event::Bus(self.spec.id, BusMsg::Appended { token: super::token(k) }));
            }
            NodeMsg::FaultOn { fault, effect } => self.faults.on(fault, effect),
            NodeMsg::FaultOff { fault } => self.faults.off(fault),
            NodeMsg::Kill { reason, down_for } => self.exit(reason, down_for, true, lab),
            NodeMsg::Stop { reason, down_for } => self.exit(reason, down_for, false, lab),
            NodeMsg::ArmPanic { fault } => self.panic_armed = Some(fault),
            NodeMsg::Shutdown => {
                self.go_down(lab);
            }
            NodeMsg::Restart => {
                self.up = true;
                self.ready = !has_readiness(&self.spec);
                // The coordinator is back without its members: every consumer of the bus rejoins.
                for s in self.consumers.iter() {
                    lab.send(Event::Consumer(*s, ConsumerMsg::Rejoin));
                }
            }
            NodeMsg::WatchRecovery { fault } => self.recovery_watch.push(fault),
            NodeMsg::ReportWindow { probe, metric } => {
                let w = self.meter.window().as_secs_f64();
                let value = super::experiment::window_value(metric, self.meter.last_row(now), w);
                lab.send(Event::Experiment(super::experiment::ExperimentMsg::Value { probe, value }));
            }
            // Every probe alike: the bus answers if it is up.
            NodeMsg::Probe { token, .. } => {
                if self.up {
                    lab.send(Caller::Health.reply(token, 0, CallResult::Ok));
                }
            }
            NodeMsg::SetReady { ready } => self.ready = ready,
        }
    }

    fn on_own(&mut self, msg: BusMsg, lab: &SimLab) {
        let now = lab.now();
        match msg {
            BusMsg::Appended { token } => {
                let Some(a) = self.appends.remove(key(token)) else { return };
                self.meter.levels(now, self.appends.len() as u32, 0);
                if a.fails {
                    self.record(now, &a, CallResult::Failed);
                    lab.send(a.from.reply(a.token, a.tag, CallResult::Failed));
                    return;
                }
                let p = a.partition as usize;
                self.logs[p] += 1;
                self.record(now, &a, CallResult::Ok);
                lab.send(a.from.reply(a.token, a.tag, CallResult::Ok));
                for fault in self.recovery_watch.drain(..) {
                    lab.send(Event::Chaos(ChaosMsg::Recovered { fault }));
                }
                for g in &mut self.groups {
                    g.appended(p, self.logs[p], lab);
                }
            }
            // The lab's own bookkeeping, whether the bus is up or not.
            BusMsg::Processed { group, partition, offset, dead_letter } => {
                self.groups[group as usize].processed(partition, offset, dead_letter);
            }
            BusMsg::Sample => {
                let t = lab.now();
                for g in &mut self.groups {
                    g.sample(t, &self.spec.name, &self.logs, &mut self.rows);
                }
                if !self.groups.is_empty() {
                    lab.schedule_daemon(t + self.window, Event::Bus(self.spec.id, BusMsg::Sample));
                }
            }
            // While the bus is down its coordinator answers nothing (its members' messages are lost).
            _ if !self.up => {}
            BusMsg::Join { group, member } => {
                self.groups[group as usize].join(member, lab, &self.spec.name, &self.names);
            }
            BusMsg::Leave { group, member } => {
                self.groups[group as usize].leave(member, lab, &self.spec.name, &self.names);
            }
            BusMsg::Heartbeat { group, member } => self.groups[group as usize].heartbeat(member, lab),
            BusMsg::SessionCheck { group, member, heartbeat } => {
                self.groups[group as usize].session_due(member, heartbeat, lab, &self.spec.name, &self.names);
            }
            BusMsg::RebalanceDone { group } => self.groups[group as usize].rebalance_done(lab),
            BusMsg::Poll { group, member, generation, partition, offset } => {
                let log = self.logs[partition as usize];
                self.groups[group as usize].poll(member, generation, partition, offset, log, lab);
            }
            BusMsg::Commit { group, member, generation, offsets } => {
                self.groups[group as usize].commit(member, generation, &offsets);
            }
        }
    }
}

impl Behavior for EventBus {
    type Msg = BusInbox;
    type Event = Event;
    type Report = (ServiceReport, BusReport, Vec<crate::model::rows::BusRow>);

    fn handle(&mut self, msg: BusInbox, lab: &SimLab) {
        match msg {
            BusInbox::Node(m) => self.on_node(m, lab),
            BusInbox::Own(m) => self.on_own(m, lab),
        }
    }

    fn on_panic(&mut self, what: String, lab: &SimLab) {
        self.exit(format!("panic: {what}").into(), SimDuration::ZERO, true, lab);
    }

    fn finish(&mut self, lab: &SimLab) -> (ServiceReport, BusReport, Vec<crate::model::rows::BusRow>) {
        let now = lab.now();
        for _ in 0..self.appends.len() {
            self.meter.record(now, Outcome::TimedOut);
        }
        let produced: u64 = self.logs.iter().sum();
        let groups = self.groups.iter().map(|g| g.report(&self.logs)).collect();
        let report = ServiceReport { metrics: self.meter.finish(now), deps: Vec::new(), rate_limited: 0 };
        (report, BusReport { produced, partitions: self.logs.clone(), groups }, std::mem::take(&mut self.rows))
    }
}

/// Whether `s` has a readiness probe: then it starts out of rotation until the probe passes.
pub(crate) fn has_readiness(s: &crate::scenario::Service) -> bool {
    s.health.iter().any(|h| h.probe == crate::resilience::ProbeKind::Readiness)
}

impl EventBus {
    /// Puts the first lag sample on the calendar (one per window, with consumer groups only).
    pub(crate) fn schedule(&self, lab: &SimLab) {
        if !self.groups.is_empty() {
            lab.schedule_daemon(SimTime::ZERO + self.window, Event::Bus(self.spec.id, BusMsg::Sample));
        }
    }
}
