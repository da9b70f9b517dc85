//! A service as the consumer of an event-bus group (Kafka semantics, at least once): it owns every
//! partition, processes the messages of each partition in order as requests of its own (queue, workers,
//! dependencies), and commits its positions every `commit_interval`. Its positions live in memory: after a
//! crash it rejoins the group from the last committed positions, so the messages processed since that
//! commit are processed again (redelivered), and none is skipped.

use super::{Request, ServiceActor};
use crate::actors::{BusMsg, CallResult, Caller, Event, SimLab};
use crate::scenario::ServiceId;
use crate::sim::{SimDuration, SimTime};

/// Wait before polling a partition again after a failed processing.
pub(super) const REPOLL_AFTER: SimDuration = SimDuration::from_millis(100);

/// Messages to a service as the consumer of an event-bus group (from the bus and itself).
#[derive(Debug)]
pub(crate) enum ConsumerMsg {
    /// Start consuming (at the start of the run).
    Start,
    /// The bus restarted: join again.
    Rebalance,
    /// The bus assigns every partition to the consumer, from the group's committed positions.
    Assigned {
        /// Committed positions per partition.
        committed: Box<[u64]>,
    },
    /// The message at `offset` of `partition` is available.
    Records { partition: u32, offset: u64 },
    /// The consumer's processing of a message ended.
    Consumed {
        /// Partition × 2^40 + offset.
        token: u64,
        /// How it ended.
        result: CallResult,
    },
    /// Poll `partition` again (after a failed processing).
    RePoll { partition: u32 },
    /// Time to commit positions.
    CommitDue,
}

/// The consumer side of a service.
pub(super) struct Consumer {
    pub(super) bus: ServiceId,
    pub(super) group: u32,
    pub(super) commit_interval: SimDuration,
    at_most_once: bool,
    positions: Vec<u64>,
    joined: bool,
    commit_armed: bool,
}

impl Consumer {
    pub(super) fn new(bus: ServiceId, group: u32, commit_interval: SimDuration, at_most_once: bool) -> Self {
        Consumer {
            bus,
            group,
            commit_interval,
            at_most_once,
            positions: Vec::new(),
            joined: false,
            commit_armed: false,
        }
    }

    /// Loses the in-memory positions (a crash).
    pub(super) fn forget(&mut self) {
        self.joined = false;
        self.positions.clear();
    }
}

fn split(token: u64) -> (u32, u64) {
    ((token >> 40) as u32, token & ((1 << 40) - 1))
}

impl ServiceActor {
    /// Joins (again) the group, if this service is a consumer and up.
    pub(super) fn join(&mut self, lab: &SimLab) {
        if !self.up {
            return;
        }
        if let Some(c) = self.consumer.as_mut() {
            c.forget();
            lab.send(Event::Bus(c.bus, BusMsg::Join { group: c.group }));
        }
    }

    fn poll(&self, partition: u32, lab: &SimLab) {
        if let Some(c) = &self.consumer {
            let offset = c.positions[partition as usize];
            lab.send(Event::Bus(c.bus, BusMsg::Poll { group: c.group, partition, offset }));
        }
    }

    /// Handles a consumer message.
    pub(super) fn on_consumer_msg(&mut self, msg: ConsumerMsg, lab: &SimLab) {
        let now = lab.now();
        let id = self.id();
        let Some(c) = self.consumer.as_mut() else { return };
        match msg {
            ConsumerMsg::Start | ConsumerMsg::Rebalance => self.join(lab),
            ConsumerMsg::Assigned { committed } => {
                if !self.up {
                    return;
                }
                tracing::debug!(t = now.as_secs_f64(), ?committed, "assigned");
                c.positions = committed.to_vec();
                c.joined = true;
                if !c.commit_armed {
                    c.commit_armed = true;
                    lab.schedule_daemon(now + c.commit_interval, Event::Consumer(id, ConsumerMsg::CommitDue));
                }
                for p in 0..committed.len() as u32 {
                    self.poll(p, lab);
                }
            }
            ConsumerMsg::Records { partition, offset } => {
                if self.up && c.joined && c.positions.get(partition as usize) == Some(&offset) {
                    if c.at_most_once {
                        // Commit past the message before the work is done: a crash now loses it.
                        c.positions[partition as usize] += 1;
                        let offsets = c.positions.clone().into_boxed_slice();
                        lab.send(Event::Bus(c.bus, BusMsg::Commit { group: c.group, offsets }));
                    }
                    let token = u64::from(partition) << 40 | offset;
                    let req =
                        Request { from: Caller::Consumer(id), token, tag: 0, deadline: SimTime::MAX, arrived: now };
                    self.on_call(req, lab);
                }
            }
            ConsumerMsg::Consumed { token, result } => {
                let (p, offset) = split(token);
                let expected = if c.at_most_once { offset + 1 } else { offset };
                if !(self.up && c.joined && c.positions.get(p as usize) == Some(&expected)) {
                    return;
                }
                if c.at_most_once {
                    if result == CallResult::Ok {
                        lab.send(Event::Bus(c.bus, BusMsg::Processed { group: c.group, partition: p, offset }));
                    }
                    self.poll(p, lab);
                } else if result == CallResult::Ok {
                    lab.send(Event::Bus(c.bus, BusMsg::Processed { group: c.group, partition: p, offset }));
                    c.positions[p as usize] += 1;
                    self.poll(p, lab);
                } else {
                    lab.schedule(now + REPOLL_AFTER, Event::Consumer(id, ConsumerMsg::RePoll { partition: p }));
                }
            }
            ConsumerMsg::RePoll { partition } => {
                if self.up && c.joined {
                    self.poll(partition, lab);
                }
            }
            ConsumerMsg::CommitDue => {
                if self.up && c.joined {
                    let offsets = c.positions.clone().into_boxed_slice();
                    tracing::debug!(t = now.as_secs_f64(), ?offsets, "commit");
                    lab.send(Event::Bus(c.bus, BusMsg::Commit { group: c.group, offsets }));
                }
                lab.schedule_daemon(now + c.commit_interval, Event::Consumer(id, ConsumerMsg::CommitDue));
            }
        }
    }
}
