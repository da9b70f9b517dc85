//! A service as a member of an event-bus consumer group (Kafka semantics). It joins the group, heartbeats
//! every [`HEARTBEAT`], and processes the partitions the coordinator assigns it: the messages of each
//! partition in order, as requests of its own (queue, workers, dependencies). Its positions live in
//! memory.
//!
//! Commits: every `commit_interval` (Kafka's auto.commit.interval.ms, 5 s) and when partitions are revoked
//! in a rebalance, the member commits the position of each partition it owns: the offset after the last
//! message it processed. That is Kafka's auto-commit with a synchronous poll loop (the offsets of the
//! previous poll, i.e. what was processed). So at least once: a crash, or a rebalance that moves a
//! partition, replays from the last commit what was processed since (duplicates, counted as redelivered),
//! and skips nothing. At most once commits past a message when it arrives: a crash loses it.
//!
//! A message that fails is retried after [`REPOLL_AFTER`]; after `max_attempts` failures it goes to the
//! dead-letter bus if there is one (its partition moves on once the dead-letter bus has it), otherwise it
//! keeps blocking its partition, as a Kafka consumer without a dead-letter topic.

use std::collections::BTreeMap;

use super::{Request, ServiceActor};
use crate::actors::{BusMsg, CallResult, Caller, Event, NodeMsg, SimLab, bus::HEARTBEAT};
use crate::scenario::{Consumes, ServiceId};
use crate::sim::{SimDuration, SimTime};

/// Wait before polling a partition again after a failed processing.
pub(super) const REPOLL_AFTER: SimDuration = SimDuration::from_millis(100);

/// The tag of a consumer's own processing of a message.
const PROCESS: u32 = 0;
/// The tag of a consumer's produce of a message to the dead-letter bus.
const DEAD_LETTER: u32 = 1;

/// Messages to a service as a member of an event-bus consumer group (from the bus and itself).
#[derive(Debug)]
pub(crate) enum ConsumerMsg {
    /// Start consuming (at the start of the run).
    Start,
    /// Join the group again (the coordinator restarted, or no longer knows this member).
    Rejoin,
    /// A rebalance completed: the member is in `generation` and owns, besides what it kept, these
    /// partitions from these offsets.
    Assigned {
        /// The group's generation.
        generation: u32,
        /// (partition, committed offset).
        partitions: Box<[(u32, u64)]>,
    },
    /// A rebalance takes these partitions away: commit them and stop.
    Revoked {
        /// The partitions.
        partitions: Box<[u32]>,
    },
    /// The message at `offset` of `partition` is available.
    Records { partition: u32, offset: u64 },
    /// The processing of a message (`tag` 0), or its produce to the dead-letter bus (`tag` 1), ended.
    Consumed {
        /// Partition × 2^40 + offset.
        token: u64,
        /// What it was.
        tag: u32,
        /// How it ended.
        result: CallResult,
    },
    /// Poll `partition` again (after a failed processing).
    RePoll { partition: u32 },
    /// Time to commit positions.
    CommitDue,
    /// Time to heartbeat (if `epoch` is still the member's).
    HeartbeatDue { epoch: u32 },
}

/// A partition the member owns.
#[derive(Clone, Copy, Debug)]
struct Owned {
    /// The next offset to process.
    position: u64,
    /// A message of it is being processed (or dead-lettered).
    busy: bool,
    /// Failures of the message at `position`.
    failures: u32,
}

/// The member side of a service.
pub(super) struct Consumer {
    spec: Consumes,
    /// The group's index at its bus.
    group: u32,
    generation: u32,
    owned: BTreeMap<u32, Owned>,
    joined: bool,
    commit_armed: bool,
    /// Bumped at every join: older heartbeat timers stop.
    epoch: u32,
}

impl Consumer {
    pub(super) fn new(spec: Consumes, group: u32) -> Self {
        Consumer { spec, group, generation: 0, owned: BTreeMap::new(), joined: false, commit_armed: false, epoch: 0 }
    }

    /// Loses the in-memory state (a crash).
    pub(super) fn forget(&mut self) {
        self.joined = false;
        self.owned.clear();
        self.epoch += 1;
    }

    fn offsets(&self) -> Box<[(u32, u64)]> {
        self.owned.iter().map(|(p, o)| (*p, o.position)).collect()
    }
}

fn split(token: u64) -> (u32, u64) {
    ((token >> 40) as u32, token & ((1 << 40) - 1))
}

impl ServiceActor {
    /// Joins (again) the group, if this service is a consumer and up, and starts heartbeating.
    pub(super) fn join(&mut self, lab: &SimLab) {
        if !self.up {
            return;
        }
        let id = self.id();
        if let Some(c) = self.consumer.as_mut() {
            c.forget();
            c.joined = true;
            lab.send(Event::Bus(c.spec.bus, BusMsg::Join { group: c.group, member: id }));
            let epoch = c.epoch;
            lab.schedule_daemon(lab.now() + HEARTBEAT, Event::Consumer(id, ConsumerMsg::HeartbeatDue { epoch }));
        }
    }

    /// Leaves the group (a clean stop).
    pub(super) fn leave(&mut self, lab: &SimLab) {
        let id = self.id();
        if let Some(c) = self.consumer.as_mut().filter(|c| c.joined) {
            lab.send(Event::Bus(c.spec.bus, BusMsg::Leave { group: c.group, member: id }));
        }
    }

    fn poll(&self, partition: u32, lab: &SimLab) {
        if let Some(c) = &self.consumer
            && let Some(o) = c.owned.get(&partition)
        {
            let msg = BusMsg::Poll {
                group: c.group,
                member: self.id(),
                generation: c.generation,
                partition,
                offset: o.position,
            };
            lab.send(Event::Bus(c.spec.bus, msg));
        }
    }

    fn commit(&self, lab: &SimLab) {
        if let Some(c) = self.consumer.as_ref().filter(|c| c.joined && !c.owned.is_empty()) {
            let msg =
                BusMsg::Commit { group: c.group, member: self.id(), generation: c.generation, offsets: c.offsets() };
            lab.send(Event::Bus(c.spec.bus, msg));
        }
    }

    /// Handles a consumer message.
    pub(super) fn on_consumer_msg(&mut self, msg: ConsumerMsg, lab: &SimLab) {
        let now = lab.now();
        let id = self.id();
        let Some(c) = self.consumer.as_mut() else { return };
        match msg {
            ConsumerMsg::Start | ConsumerMsg::Rejoin => self.join(lab),
            ConsumerMsg::HeartbeatDue { epoch } => {
                if self.up && c.joined && epoch == c.epoch {
                    lab.send(Event::Bus(c.spec.bus, BusMsg::Heartbeat { group: c.group, member: id }));
                    lab.schedule_daemon(now + HEARTBEAT, Event::Consumer(id, ConsumerMsg::HeartbeatDue { epoch }));
                }
            }
            ConsumerMsg::Assigned { generation, partitions } => {
                if !(self.up && c.joined) {
                    return;
                }
                c.generation = generation;
                for &(p, offset) in partitions.iter() {
                    c.owned.insert(p, Owned { position: offset, busy: false, failures: 0 });
                }
                if !c.commit_armed {
                    c.commit_armed = true;
                    lab.schedule_daemon(now + c.spec.commit_interval, Event::Consumer(id, ConsumerMsg::CommitDue));
                }
                // Every partition it owns, kept ones too: polls of the previous generation are not served.
                let owned: Vec<u32> = c.owned.keys().copied().collect();
                for p in owned {
                    self.poll(p, lab);
                }
            }
            ConsumerMsg::Revoked { partitions } => {
                if !(self.up && c.joined) {
                    return;
                }
                // Kafka's auto-commit commits before the partitions go (onJoinPrepare).
                let offsets: Box<[(u32, u64)]> =
                    partitions.iter().filter_map(|p| c.owned.get(p).map(|o| (*p, o.position))).collect();
                let msg = BusMsg::Commit { group: c.group, member: id, generation: c.generation, offsets };
                lab.send(Event::Bus(c.spec.bus, msg));
                for p in partitions.iter() {
                    c.owned.remove(p);
                }
            }
            ConsumerMsg::Records { partition, offset } => {
                if !(self.up && c.joined) {
                    return;
                }
                let Some(o) = c.owned.get_mut(&partition) else { return };
                if o.position != offset || o.busy {
                    return;
                }
                o.busy = true;
                if c.spec.at_most_once {
                    // Commit past the message before the work is done: a crash now loses it.
                    o.position += 1;
                    let offsets = c.offsets();
                    lab.send(Event::Bus(
                        c.spec.bus,
                        BusMsg::Commit { group: c.group, member: id, generation: c.generation, offsets },
                    ));
                }
                let token = u64::from(partition) << 40 | offset;
                let req =
                    Request { from: Caller::Consumer(id), token, tag: PROCESS, deadline: SimTime::MAX, arrived: now };
                self.on_call(req, lab);
            }
            ConsumerMsg::Consumed { token, tag, result } => self.consumed(token, tag, result, lab),
            ConsumerMsg::RePoll { partition } => {
                if self.up && c.joined {
                    self.poll(partition, lab);
                }
            }
            ConsumerMsg::CommitDue => {
                lab.schedule_daemon(now + c.spec.commit_interval, Event::Consumer(id, ConsumerMsg::CommitDue));
                if self.up {
                    self.commit(lab);
                }
            }
        }
    }

    /// The end of the processing of a message, or of its produce to the dead-letter bus.
    fn consumed(&mut self, token: u64, tag: u32, result: CallResult, lab: &SimLab) {
        let now = lab.now();
        let id = self.id();
        let up = self.up;
        let Some(c) = self.consumer.as_mut() else { return };
        let (p, offset) = split(token);
        let expected = if c.spec.at_most_once && tag == PROCESS { offset + 1 } else { offset };
        let Some(o) = c.owned.get_mut(&p).filter(|o| up && c.joined && o.position == expected && o.busy) else {
            return;
        };
        let (bus, group) = (c.spec.bus, c.group);
        if c.spec.at_most_once {
            // Whatever happened, the position moved on when the message arrived.
            o.busy = false;
            if result == CallResult::Ok {
                lab.send(Event::Bus(bus, BusMsg::Processed { group, partition: p, offset, dead_letter: false }));
            }
            self.poll(p, lab);
            return;
        }
        if result == CallResult::Ok {
            o.position += 1;
            o.busy = false;
            o.failures = 0;
            let dead_letter = tag == DEAD_LETTER;
            lab.send(Event::Bus(bus, BusMsg::Processed { group, partition: p, offset, dead_letter }));
            self.poll(p, lab);
            return;
        }
        if tag == PROCESS {
            o.failures += 1;
        }
        match (c.spec.dead_letter, c.spec.max_attempts) {
            (Some(dlq), Some(max)) if o.failures >= max => {
                // Produce it to the dead-letter bus; the partition moves on once it is there.
                let call =
                    NodeMsg::Call { from: Caller::Consumer(id), token, tag: DEAD_LETTER, deadline: SimTime::MAX };
                lab.send(Event::Node(dlq, call));
            }
            _ => {
                o.busy = false;
                lab.schedule(now + REPOLL_AFTER, Event::Consumer(id, ConsumerMsg::RePoll { partition: p }));
            }
        }
    }
}

/// The member state of service `id`, if it consumes: its group's index at the bus is the order in which
/// the group's first member appears among the bus's consumers.
pub(super) fn consumer_of(sc: &crate::scenario::Scenario, id: ServiceId) -> Option<Consumer> {
    let cons = sc.service(id).consumes.as_ref()?;
    let mut groups: Vec<&str> = Vec::new();
    for s in &sc.services {
        if let Some(c) = s.consumes.as_ref().filter(|c| c.bus == cons.bus)
            && !groups.contains(&c.group.as_str())
        {
            groups.push(&c.group);
        }
    }
    let group = groups.iter().position(|g| *g == cons.group).expect("invariant: its own group is listed");
    Some(Consumer::new(cons.clone(), group as u32))
}
