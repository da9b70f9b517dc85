//! The load generator: an open-model client. Arrivals are scheduled ahead in batches, each delivered to
//! the entry service at its exact instant; latency counts from that scheduled instant, so a slow system
//! cannot slow the arrivals down (no coordinated omission).

use slotmap::{DefaultKey, SlotMap};

use super::{CallResult, Caller, Event, SimLab, key, token};
use crate::arrivals::ArrivalClock;
use crate::metrics::{ClientMeter, Outcome};
use crate::scenario::ServiceId;
use crate::sim::{Behavior, SimDuration, SimTime, TimerId};

/// Arrivals generated per wake-up of the load generator.
pub const BATCH: usize = 32;

/// Messages to the load generator.
#[derive(Debug)]
pub enum LoadMsg {
    /// Generate the next batch of arrivals.
    Tick,
    /// The entry service answered.
    Reply {
        /// The request.
        token: u64,
        /// The answer.
        result: CallResult,
    },
    /// The client gives up on a request.
    Timeout {
        /// The request.
        token: u64,
    },
}

struct Outstanding {
    scheduled: SimTime,
    timer: Option<TimerId>,
}

/// The behaviour of the load generator.
pub struct LoadGenerator {
    entry: ServiceId,
    timeout: Option<SimDuration>,
    clock: ArrivalClock,
    next: Option<SimTime>,
    outstanding: SlotMap<DefaultKey, Outstanding>,
    meter: ClientMeter,
}

impl LoadGenerator {
    /// A generator sending to `entry`, giving up after `timeout` (the entry's timeout).
    pub fn new(entry: ServiceId, timeout: Option<SimDuration>, mut clock: ArrivalClock) -> Self {
        let next = clock.next_arrival();
        LoadGenerator { entry, timeout, clock, next, outstanding: SlotMap::new(), meter: ClientMeter::default() }
    }

    fn batch(&mut self, lab: &SimLab) {
        let mut last = None;
        for _ in 0..BATCH {
            let Some(at) = self.next else { break };
            let timer_at = self.timeout.map(|t| at + t);
            let k = self.outstanding.insert(Outstanding { scheduled: at, timer: None });
            let t = token(k);
            if let Some(deadline) = timer_at {
                self.outstanding[k].timer = Some(lab.timer(deadline, Event::Load(LoadMsg::Timeout { token: t })));
            }
            let call = super::ServiceMsg::Call {
                from: Caller::Load,
                token: t,
                tag: 0,
                deadline: timer_at.unwrap_or(SimTime::MAX),
            };
            lab.schedule(at, Event::Service(self.entry, call));
            last = Some(at);
            self.next = self.clock.next_arrival();
        }
        // Wake up at the last arrival of this batch (after it: it was scheduled first) to make the next.
        if let (Some(at), Some(_)) = (last, self.next) {
            lab.schedule(at, Event::Load(LoadMsg::Tick));
        }
    }
}

impl Behavior for LoadGenerator {
    type Msg = LoadMsg;
    type Event = Event;
    type Report = ClientMeter;

    fn handle(&mut self, msg: LoadMsg, lab: &SimLab) {
        match msg {
            LoadMsg::Tick => self.batch(lab),
            LoadMsg::Reply { token, result } => {
                if let Some(o) = self.outstanding.remove(key(token)) {
                    if let Some(timer) = o.timer {
                        lab.cancel(timer);
                    }
                    self.meter.record(match result {
                        CallResult::Ok => Outcome::Ok(lab.now() - o.scheduled),
                        CallResult::Failed => Outcome::Failed,
                        CallResult::Rejected => Outcome::Rejected,
                    });
                }
            }
            LoadMsg::Timeout { token } => {
                if self.outstanding.remove(key(token)).is_some() {
                    self.meter.record(Outcome::TimedOut);
                }
            }
        }
    }

    fn finish(&mut self, lab: &SimLab) -> ClientMeter {
        // Arrivals already scheduled past the end of the run never happened; requests that arrived and got
        // no answer count as timed out.
        let now = lab.now();
        let mut unfinished = 0;
        for (_, o) in self.outstanding.drain() {
            if o.scheduled <= now {
                unfinished += 1;
                self.meter.record(Outcome::TimedOut);
            }
        }
        self.meter.unfinished = unfinished;
        std::mem::take(&mut self.meter)
    }
}
