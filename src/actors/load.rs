//! The load generator: the client side of the lab.
//!
//! - **Open model** (the default): arrivals at a rate (constant, ramping, or a stress test's steps),
//!   scheduled ahead in batches and delivered to the entry service at their exact instant; latency counts
//!   from that scheduled instant, so a slow system cannot slow the arrivals down (no coordinated omission).
//!   With `users`, each arrival needs a free virtual user (busy until its answer plus think time); an
//!   arrival finding none is dropped (k6's arrival-rate executors with maxVUs).
//! - **Closed model**: `users` virtual users, each sending a request, waiting for the answer, thinking,
//!   and asking again, until the end of the arrival period.
//! - **Mix**: each request goes to an entry picked by weight.
//! - **Stress**: at the end of every step the previous step's error ratio is checked; above the stop
//!   threshold the rate stops rising and arrivals stop.

use rand::RngExt;
use slotmap::{DefaultKey, SlotMap};

use super::{CallResult, Caller, Event, SimLab, key, record, token};
use crate::arrivals::ArrivalClock;
use crate::dist::Dist;
use crate::metrics::{ClientMeter, Latency, Outcome, StepReport};
use crate::scenario::{Indicator, Scenario, ServiceId, Stress, Target};
use crate::sim::{Behavior, SimDuration, SimRng, SimTime, TimerId};

/// Arrivals generated per wake-up of the load generator.
pub(crate) const BATCH: usize = 32;

/// Messages to the load generator.
#[derive(Debug)]
pub(crate) enum LoadMsg {
    /// Generate the next batch of arrivals.
    Tick,
    /// An arrival that needs a free user (open model with `users`).
    Arrive {
        /// Its scheduled instant.
        at: SimTime,
    },
    /// A user of the closed model sends its next request.
    UserNext,
    /// A user of the open model's pool is free again.
    UserFree,
    /// A stress step ended.
    StepEnd {
        /// The step that ended.
        step: u32,
    },
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
    step: u32,
}

/// Per-step figures of a stress test.
#[derive(Default, Clone, Debug)]
struct Step {
    outcomes: crate::metrics::Counts,
    latency: Latency,
    within: Vec<u64>,
}

/// The behaviour of the load generator.
pub(crate) struct LoadGenerator {
    /// Entries, their cumulative weights and their timeouts.
    mix: Vec<(ServiceId, f64, Option<SimDuration>)>,
    mix_rng: SimRng,
    think: Option<Dist>,
    think_rng: SimRng,
    clock: Option<ArrivalClock>,
    next: Option<SimTime>,
    /// Open model with a user pool: arrivals pass through the generator.
    gated: bool,
    free_users: u32,
    closed_users: u32,
    end: SimTime,
    stress: Option<Stress>,
    steps: Vec<Step>,
    /// Latency thresholds of the entry's latency objectives (for the stress steps).
    thresholds: Vec<SimDuration>,
    stopped: Option<SimTime>,
    outstanding: SlotMap<DefaultKey, Outstanding>,
    meter: ClientMeter,
    /// Live mode: the metrics endpoint's counters.
    gauges: Option<std::sync::Arc<super::gauges::Gauges>>,
}

impl LoadGenerator {
    /// The load generator of `sc`, its streams derived from `seed`, over `clock` (the arrival profile).
    pub(crate) fn new(sc: &Scenario, seed: u64, mut clock: ArrivalClock) -> Self {
        let l = &sc.load;
        let total: f64 = l.mix.iter().map(|(_, w)| w).sum();
        let mut acc = 0.0;
        let mix = l
            .mix
            .iter()
            .map(|(id, w)| {
                acc += w / total;
                (*id, acc, sc.service(*id).timeout)
            })
            .collect();
        let next = if l.closed { None } else { clock.next_arrival() };
        let thresholds = sc
            .slos
            .iter()
            .filter(|s| s.target == Target::Service(l.entry))
            .filter_map(|s| match s.indicator {
                Indicator::Latency { threshold } => Some(threshold),
                _ => None,
            })
            .collect();
        LoadGenerator {
            mix,
            mix_rng: crate::sim::stream(seed, "load/mix"),
            think: l.think_time.clone(),
            think_rng: crate::sim::stream(seed, "load/think"),
            clock: (!l.closed).then_some(clock),
            next,
            gated: !l.closed && l.users.is_some(),
            free_users: if l.closed { 0 } else { l.users.unwrap_or(0) },
            closed_users: if l.closed { l.users.unwrap_or(0) } else { 0 },
            end: SimTime::ZERO + sc.duration,
            stress: l.stress.clone(),
            steps: Vec::new(),
            thresholds,
            stopped: None,
            outstanding: SlotMap::new(),
            meter: {
                let mut m = ClientMeter::with_windows(sc.window);
                m.reserve_until(sc.stop_at());
                m
            },
            gauges: None,
        }
    }

    /// Counts the outcomes into `gauges` too (the live metrics endpoint).
    pub(crate) fn with_gauges(mut self, gauges: std::sync::Arc<super::gauges::Gauges>) -> Self {
        self.gauges = Some(gauges);
        self
    }

    /// Puts the first events on the calendar.
    pub(crate) fn schedule(&self, lab: &SimLab) {
        lab.schedule(SimTime::ZERO, Event::Load(LoadMsg::Tick));
        if let Some(st) = &self.stress {
            lab.schedule_daemon(SimTime::ZERO + st.step, Event::Load(LoadMsg::StepEnd { step: 0 }));
        }
    }

    fn pick(&mut self) -> (ServiceId, Option<SimDuration>) {
        if self.mix.len() == 1 {
            return (self.mix[0].0, self.mix[0].2);
        }
        let u: f64 = self.mix_rng.random();
        let i = self.mix.iter().position(|(_, c, _)| u < *c).unwrap_or(self.mix.len() - 1);
        (self.mix[i].0, self.mix[i].2)
    }

    fn step_of(&self, at: SimTime) -> u32 {
        match &self.stress {
            Some(st) => (at.as_nanos() / st.step.as_nanos().max(1)) as u32,
            None => 0,
        }
    }

    /// Creates a request scheduled at `at` and delivers it to its entry then (now, or later when `defer`).
    fn request(&mut self, at: SimTime, lab: &SimLab) {
        let (entry, timeout) = self.pick();
        let deadline = timeout.map(|t| at + t);
        let step = self.step_of(at);
        let k = self.outstanding.insert(Outstanding { scheduled: at, timer: None, step });
        let t = token(k);
        if let Some(d) = deadline {
            self.outstanding[k].timer = Some(lab.timer(d, Event::Load(LoadMsg::Timeout { token: t })));
        }
        let call =
            super::NodeMsg::Call { from: Caller::Load, token: t, tag: 0, deadline: deadline.unwrap_or(SimTime::MAX) };
        if at > lab.now() {
            lab.schedule(at, Event::Node(entry, call));
        } else {
            lab.send(Event::Node(entry, call));
        }
    }

    fn batch(&mut self, lab: &SimLab) {
        if self.stopped.is_some() {
            return;
        }
        if self.closed_users > 0 {
            // Closed model: start every user, each after a first think time.
            for _ in 0..std::mem::take(&mut self.closed_users) {
                let wait = self.think.as_ref().map(|d| d.sample(&mut self.think_rng)).unwrap_or(SimDuration::ZERO);
                lab.schedule(lab.now() + wait, Event::Load(LoadMsg::UserNext));
            }
            return;
        }
        let mut last = None;
        for _ in 0..BATCH {
            let Some(at) = self.next else { break };
            if self.gated {
                lab.schedule(at, Event::Load(LoadMsg::Arrive { at }));
            } else {
                self.request(at, lab);
            }
            last = Some(at);
            self.next = self.clock.as_mut().and_then(|c| c.next_arrival());
        }
        // Wake up at the last arrival of this batch (after it: it was scheduled first) to make the next.
        if let (Some(at), Some(_)) = (last, self.next) {
            lab.schedule(at, Event::Load(LoadMsg::Tick));
        }
    }

    /// A request's outcome, at the client.
    fn done(&mut self, o: Outstanding, outcome: Outcome, lab: &SimLab) {
        self.meter.record(lab.now(), outcome);
        if let Some(g) = &self.gauges {
            let k = match outcome {
                Outcome::Ok(_) => 0,
                Outcome::Failed => 1,
                Outcome::TimedOut => 2,
                Outcome::Rejected => 3,
            };
            g.requests[k].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if self.stress.is_some() {
            let n = self.thresholds.len();
            let s = &mut self.steps;
            if s.len() <= o.step as usize {
                s.resize(o.step as usize + 1, Step { within: vec![0; n], ..Step::default() });
            }
            let st = &mut s[o.step as usize];
            st.outcomes.add(outcome);
            if let Outcome::Ok(d) = outcome {
                st.latency.record(d);
                for (i, t) in self.thresholds.iter().enumerate() {
                    if d <= *t {
                        st.within[i] += 1;
                    }
                }
            }
        }
        // The user that sent it thinks, then is free (pool) or asks again (closed model).
        let think = self.think.as_ref().map(|d| d.sample(&mut self.think_rng)).unwrap_or(SimDuration::ZERO);
        if self.gated {
            lab.schedule(lab.now() + think, Event::Load(LoadMsg::UserFree));
        } else if self.clock.is_none() {
            lab.schedule(lab.now() + think, Event::Load(LoadMsg::UserNext));
        }
    }

    fn step_end(&mut self, step: u32, lab: &SimLab) {
        let Some(st) = self.stress.clone() else { return };
        if self.stopped.is_none() && step >= 1 {
            // The previous step is complete: its requests had a whole step to finish (still open counts as bad).
            let prev = step - 1;
            let open = self.outstanding.values().filter(|o| o.step == prev).count() as u64;
            let c = self.steps.get(prev as usize).map(|s| s.outcomes).unwrap_or_default();
            let total = c.requests + open;
            let bad = c.failed + c.timed_out + c.rejected + open;
            if total > 0 && bad as f64 / total as f64 > st.stop_error_rate {
                self.stopped = Some(lab.now());
                self.next = None;
                let ev = crate::model::event::Event::StressStop {
                    step_rate_per_s: st.rate(prev as usize),
                    error_rate: bad as f64 / total as f64,
                    stop_error_rate: st.stop_error_rate,
                };
                record(lab, "load", ev);
            }
        }
        if self.stopped.is_none() {
            lab.schedule_daemon(lab.now() + st.step, Event::Load(LoadMsg::StepEnd { step: step + 1 }));
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
            LoadMsg::Arrive { at } => {
                if self.stopped.is_some() {
                    return;
                }
                if self.free_users == 0 {
                    self.meter.dropped += 1;
                } else {
                    self.free_users -= 1;
                    self.request(at, lab);
                }
            }
            LoadMsg::UserFree => self.free_users += 1,
            LoadMsg::UserNext => {
                if lab.now() < self.end {
                    self.request(lab.now(), lab);
                }
            }
            LoadMsg::StepEnd { step } => self.step_end(step, lab),
            LoadMsg::Reply { token, result } => {
                if let Some(o) = self.outstanding.remove(key(token)) {
                    if let Some(timer) = o.timer {
                        lab.cancel(timer);
                    }
                    let outcome = match result {
                        CallResult::Ok => Outcome::Ok(lab.now() - o.scheduled),
                        CallResult::Failed => Outcome::Failed,
                        CallResult::Rejected => Outcome::Rejected,
                    };
                    self.done(o, outcome, lab);
                }
            }
            LoadMsg::Timeout { token } => {
                if let Some(o) = self.outstanding.remove(key(token)) {
                    self.done(o, Outcome::TimedOut, lab);
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
                self.meter.record(now, Outcome::TimedOut);
                if let Some(s) = self.steps.get_mut(o.step as usize) {
                    s.outcomes.add(Outcome::TimedOut);
                }
            }
        }
        self.meter.unfinished = unfinished;
        if let Some(st) = &self.stress {
            self.meter.steps = self
                .steps
                .iter()
                .enumerate()
                .map(|(k, s)| StepReport {
                    rate_per_s: st.rate(k),
                    counts: s.outcomes,
                    latency: s.latency.summary(),
                    within: s.within.clone(),
                })
                .collect();
            self.meter.stress_stopped_at = self.stopped;
        }
        self.meter.finish(now);
        std::mem::take(&mut self.meter)
    }
}
