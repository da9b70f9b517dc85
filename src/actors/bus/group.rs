//! The group coordinator of one consumer group (Kafka's, in the broker): its live members, which member
//! owns which partition, committed offsets, rebalances, and the lab's ledger of processed messages.
//!
//! Membership: a member joins (at its start and after every restart), heartbeats every
//! [`HEARTBEAT`], and is removed when no heartbeat came for the session timeout (a crash) or when it
//! leaves (a clean stop). Each change starts a rebalance that completes one heartbeat interval later (the
//! members learn of it on their next heartbeat). Eager assignors revoke every partition at the start (every
//! member pauses; a live member commits what it processed on revocation, as Kafka's auto-commit does);
//! the cooperative one revokes only the partitions that move. On completion the assignor divides the
//! partitions among the live members and each new owner starts from the committed offset, so what was
//! processed but not committed is processed again. Commits and polls are fenced by generation and owner.

use std::collections::BTreeSet;

use super::assign::{Assignor, assign};
use crate::actors::{BusMsg, ConsumerMsg, Event, SimLab, record};
use crate::model::event::Event as Ev;
use crate::model::rows::BusRow;
use crate::model::summary::{GroupReport, RebalanceCause};
use crate::scenario::ServiceId;
use crate::sim::{SimDuration, SimTime};

/// Kafka's heartbeat.interval.ms default: members heartbeat, and learn of a rebalance, this often.
pub(crate) const HEARTBEAT: SimDuration = SimDuration::from_secs(3);

struct Member {
    service: ServiceId,
    last_heartbeat: SimTime,
}

/// One consumer group at its bus.
pub(super) struct Group {
    pub(super) name: String,
    index: u32,
    bus: ServiceId,
    assignor: Assignor,
    session_timeout: SimDuration,
    /// The configured members' names, for the report.
    member_names: Vec<String>,
    /// Live members, by service id.
    members: Vec<Member>,
    pub(super) committed: Vec<u64>,
    /// Per partition and offset: successful processings (dead-lettered ones included).
    processed: Vec<Vec<u32>>,
    dead: Vec<BTreeSet<u64>>,
    /// Per partition: the member waiting for an offset.
    waiting: Vec<Option<(ServiceId, u64)>>,
    owner: Vec<Option<ServiceId>>,
    /// Revoked and not reassigned yet: no poll is served.
    revoking: Vec<bool>,
    generation: u32,
    rebalancing: bool,
    rebalances: u64,
    max_lag: u64,
}

impl Group {
    /// Group `index` of `bus` (with `partitions`), named `name`, of the configured `members`.
    pub(super) fn new(
        name: String,
        index: u32,
        bus: ServiceId,
        partitions: usize,
        assignor: Assignor,
        session_timeout: SimDuration,
        member_names: Vec<String>,
    ) -> Self {
        Group {
            name,
            index,
            bus,
            assignor,
            session_timeout,
            member_names,
            members: Vec::new(),
            committed: vec![0; partitions],
            processed: vec![Vec::new(); partitions],
            dead: vec![BTreeSet::new(); partitions],
            waiting: vec![None; partitions],
            owner: vec![None; partitions],
            revoking: vec![false; partitions],
            generation: 0,
            rebalancing: false,
            rebalances: 0,
            max_lag: 0,
        }
    }

    fn event(&self, lab: &SimLab, bus: &str, member: ServiceId, cause: RebalanceCause, names: &[String]) {
        let ev = Ev::Rebalance {
            group: self.name.clone(),
            member: names.get(member.index()).cloned().unwrap_or_default(),
            cause,
            members: self.members.len() as u32,
        };
        record(lab, bus, ev);
    }

    /// A member joins, or rejoins after a restart (its partitions' positions are gone with it).
    pub(super) fn join(&mut self, member: ServiceId, lab: &SimLab, bus: &str, names: &[String]) {
        let now = lab.now();
        let cause = match self.members.iter_mut().find(|m| m.service == member) {
            Some(m) => {
                m.last_heartbeat = now;
                for p in 0..self.owner.len() {
                    if self.owner[p] == Some(member) {
                        self.revoking[p] = true;
                        self.waiting[p] = None;
                    }
                }
                RebalanceCause::Rejoined
            }
            None => {
                let at = self.members.partition_point(|m| m.service < member);
                self.members.insert(at, Member { service: member, last_heartbeat: now });
                RebalanceCause::Joined
            }
        };
        self.session_check(member, now, lab);
        self.event(lab, bus, member, cause, names);
        self.start_rebalance(lab);
    }

    /// A member leaves: a clean stop (`SessionTimeout`: it stopped heartbeating).
    fn remove(&mut self, member: ServiceId, cause: RebalanceCause, lab: &SimLab, bus: &str, names: &[String]) {
        let Some(i) = self.members.iter().position(|m| m.service == member) else { return };
        self.members.remove(i);
        for p in 0..self.owner.len() {
            if self.owner[p] == Some(member) {
                self.revoking[p] = true;
                self.waiting[p] = None;
            }
        }
        self.event(lab, bus, member, cause, names);
        self.start_rebalance(lab);
    }

    /// A member left the group.
    pub(super) fn leave(&mut self, member: ServiceId, lab: &SimLab, bus: &str, names: &[String]) {
        self.remove(member, RebalanceCause::Left, lab, bus, names);
    }

    /// A heartbeat; a member the group does not know (removed meanwhile) is told to rejoin.
    pub(super) fn heartbeat(&mut self, member: ServiceId, lab: &SimLab) {
        let now = lab.now();
        match self.members.iter_mut().find(|m| m.service == member) {
            Some(m) => {
                m.last_heartbeat = now;
                self.session_check(member, now, lab);
            }
            None => lab.send(Event::Consumer(member, ConsumerMsg::Rejoin)),
        }
    }

    fn session_check(&self, member: ServiceId, now: SimTime, lab: &SimLab) {
        let msg = BusMsg::SessionCheck { group: self.index, member, heartbeat: now };
        lab.schedule_daemon(now + self.session_timeout, Event::Bus(self.bus, msg));
    }

    /// The session of `member` may have expired (`heartbeat` was its last heartbeat then).
    pub(super) fn session_due(
        &mut self,
        member: ServiceId,
        heartbeat: SimTime,
        lab: &SimLab,
        bus: &str,
        names: &[String],
    ) {
        if self.members.iter().any(|m| m.service == member && m.last_heartbeat == heartbeat) {
            self.remove(member, RebalanceCause::SessionTimeout, lab, bus, names);
        }
    }

    /// Live members' indexes of the current owners (`None`: unowned, or owned by a member that left).
    fn owner_indexes(&self) -> Vec<Option<usize>> {
        self.owner.iter().map(|o| o.and_then(|s| self.members.iter().position(|m| m.service == s))).collect()
    }

    /// Starts a rebalance (or folds this change into the one under way): revokes the partitions that
    /// will move (eager: all) from their live owners, which commit them.
    fn start_rebalance(&mut self, lab: &SimLab) {
        let moving: Vec<bool> = if self.members.is_empty() {
            vec![true; self.owner.len()]
        } else if self.assignor == Assignor::CooperativeSticky {
            let target = assign(self.assignor, self.owner.len() as u32, self.members.len(), &self.owner_indexes());
            (0..self.owner.len()).map(|p| self.owner[p] != Some(self.members[target[p]].service)).collect()
        } else {
            vec![true; self.owner.len()]
        };
        let mut revoked: Vec<(ServiceId, Vec<u32>)> = Vec::new();
        for (p, m) in moving.iter().enumerate() {
            if !*m || self.revoking[p] {
                continue;
            }
            self.revoking[p] = true;
            self.waiting[p] = None;
            if let Some(o) = self.owner[p].filter(|o| self.members.iter().any(|m| m.service == *o)) {
                match revoked.iter_mut().find(|(s, _)| *s == o) {
                    Some((_, ps)) => ps.push(p as u32),
                    None => revoked.push((o, vec![p as u32])),
                }
            }
        }
        for (member, partitions) in revoked {
            lab.send(Event::Consumer(member, ConsumerMsg::Revoked { partitions: partitions.into() }));
        }
        if !self.rebalancing {
            self.rebalancing = true;
            self.rebalances += 1;
            // Work, not housekeeping: the run goes on until the partitions have owners again.
            let msg = BusMsg::RebalanceDone { group: self.index };
            lab.schedule(lab.now() + HEARTBEAT, Event::Bus(self.bus, msg));
        }
    }

    /// The rebalance completes: a new generation, each live member told what it owns now.
    pub(super) fn rebalance_done(&mut self, lab: &SimLab) {
        self.rebalancing = false;
        self.generation += 1;
        if self.members.is_empty() {
            self.owner.iter_mut().for_each(|o| *o = None);
            return;
        }
        let target = assign(self.assignor, self.owner.len() as u32, self.members.len(), &self.owner_indexes());
        let mut added: Vec<Vec<(u32, u64)>> = vec![Vec::new(); self.members.len()];
        let mut again = false;
        for p in 0..self.owner.len() {
            let m = self.members[target[p]].service;
            if self.owner[p] == Some(m) && !self.revoking[p] {
                continue;
            }
            let still_owned = self.owner[p].is_some_and(|o| self.members.iter().any(|x| x.service == o));
            if !self.revoking[p] && still_owned {
                // Cooperative: it must be revoked from its owner first, in a follow-up rebalance.
                again = true;
                continue;
            }
            self.owner[p] = Some(m);
            self.revoking[p] = false;
            self.waiting[p] = None;
            added[target[p]].push((p as u32, self.committed[p]));
        }
        for (i, partitions) in added.into_iter().enumerate() {
            let member = self.members[i].service;
            let msg = ConsumerMsg::Assigned { generation: self.generation, partitions: partitions.into() };
            lab.send(Event::Consumer(member, msg));
        }
        if again {
            self.start_rebalance(lab);
        }
    }

    /// Whether `member` of `generation` may read or commit partition `p` (revoked: commit only).
    fn owns(&self, member: ServiceId, generation: u32, p: usize) -> bool {
        generation == self.generation && self.owner.get(p) == Some(&Some(member))
    }

    /// A poll: the message at `offset` now if it exists, or when it is appended.
    pub(super) fn poll(&mut self, member: ServiceId, generation: u32, p: u32, offset: u64, log: u64, lab: &SimLab) {
        let pi = p as usize;
        if !self.owns(member, generation, pi) || self.revoking[pi] {
            return;
        }
        if offset < log {
            lab.send(Event::Consumer(member, ConsumerMsg::Records { partition: p, offset }));
        } else {
            self.waiting[pi] = Some((member, offset));
        }
    }

    /// A message was appended to partition `p`, which now holds `log`.
    pub(super) fn appended(&mut self, p: usize, log: u64, lab: &SimLab) {
        if let Some((member, offset)) = self.waiting[p]
            && offset < log
        {
            self.waiting[p] = None;
            lab.send(Event::Consumer(member, ConsumerMsg::Records { partition: p as u32, offset }));
        }
    }

    /// A commit of positions (next offset to process), per partition the member owns in `generation`.
    pub(super) fn commit(&mut self, member: ServiceId, generation: u32, offsets: &[(u32, u64)]) {
        for &(p, off) in offsets {
            if self.owns(member, generation, p as usize) {
                self.committed[p as usize] = off;
            }
        }
    }

    /// The lab's ledger: the message at `offset` of `p` was processed (or dead-lettered).
    pub(super) fn processed(&mut self, p: u32, offset: u64, dead_letter: bool) {
        let counts = &mut self.processed[p as usize];
        let i = offset as usize;
        if counts.len() <= i {
            counts.resize(i + 1, 0);
        }
        counts[i] += 1;
        if dead_letter {
            self.dead[p as usize].insert(offset);
        }
    }

    /// The coordinator lost its state (the bus crashed): members must rejoin; commits are durable.
    pub(super) fn forget(&mut self) {
        self.members.clear();
        self.waiting.iter_mut().for_each(|w| *w = None);
        self.owner.iter_mut().for_each(|o| *o = None);
        self.revoking.iter_mut().for_each(|r| *r = false);
        self.rebalancing = false;
    }

    /// One `bus.csv` row per partition at `t`, and the largest lag so far.
    pub(super) fn sample(&mut self, t: SimTime, bus: &str, logs: &[u64], rows: &mut Vec<BusRow>) {
        for (p, &end) in logs.iter().enumerate() {
            let lag = end.saturating_sub(self.committed[p]);
            self.max_lag = self.max_lag.max(lag);
            rows.push(BusRow {
                t_s: t.as_secs_f64(),
                bus: bus.to_string(),
                group: self.name.clone(),
                partition: p as u32,
                end_offset: end,
                committed: self.committed[p],
                lag,
            });
        }
    }

    /// The group's figures at the end of a run over `logs`.
    pub(super) fn report(&self, logs: &[u64]) -> GroupReport {
        let produced: u64 = logs.iter().sum();
        let (mut consumed, mut redelivered, mut lost, mut dead_lettered) = (0, 0, 0, 0);
        for (p, len) in logs.iter().enumerate() {
            let counts = &self.processed[p];
            for off in 0..*len {
                let n = counts.get(off as usize).copied().unwrap_or(0);
                if self.dead[p].contains(&off) {
                    dead_lettered += 1;
                    redelivered += u64::from(n.saturating_sub(1));
                } else if n > 0 {
                    consumed += 1;
                    redelivered += u64::from(n - 1);
                } else if off < self.committed[p] {
                    lost += 1;
                }
            }
        }
        let max_lag = logs.iter().zip(&self.committed).map(|(e, c)| e.saturating_sub(*c)).fold(self.max_lag, u64::max);
        GroupReport {
            group: self.name.clone(),
            members: self.member_names.clone(),
            assignor: self.assignor,
            rebalances: self.rebalances,
            consumed,
            redelivered,
            dead_lettered,
            lost,
            pending: produced - consumed - dead_lettered - lost,
            max_lag,
        }
    }
}
