//! A service: a FIFO queue in front of `workers` workers. A worker takes a request, spends the service's
//! own processing time on it, then calls its dependencies one after the other (held while it waits), and
//! answers. Callers with a timeout give up at their deadline; the work goes on regardless.

use std::collections::VecDeque;

use rand::RngExt;
use slotmap::{DefaultKey, SlotMap};

use super::{CallResult, Caller, Event, SimLab, SupervisorMsg, key, token};
use crate::metrics::{Outcome, ServiceMeter, ServiceMetrics};
use crate::scenario::{FaultEffect, Service, ServiceId};
use crate::sim::{Behavior, SimDuration, SimRng, SimTime, TimerId};

/// Messages to a service.
#[derive(Debug)]
pub enum ServiceMsg {
    /// A request.
    Call {
        /// Who to answer.
        from: Caller,
        /// The caller's token, echoed in the reply.
        token: u64,
        /// The caller's tag, echoed in the reply.
        tag: u32,
        /// When the caller gives up (`SimTime::MAX`: never).
        deadline: SimTime,
    },
    /// The answer of a dependency.
    Reply {
        /// The token this service gave.
        token: u64,
        /// Which call of the request it answers.
        tag: u32,
        /// The answer.
        result: CallResult,
    },
    /// Own processing of a request that calls nothing further (or failed) is over.
    WorkDone {
        /// The request.
        token: u64,
        /// Whether its processing failed.
        failed: bool,
    },
    /// A dependency did not answer in time.
    CallTimeout {
        /// The request.
        token: u64,
        /// Which call.
        tag: u32,
    },
    /// A latency or error fault starts.
    FaultOn {
        /// Index of the fault in the scenario.
        fault: u32,
        /// Its effect.
        effect: FaultEffect,
    },
    /// A fault ends.
    FaultOff {
        /// Index of the fault in the scenario.
        fault: u32,
    },
    /// Crash now; stay down for `down_for`.
    Kill {
        /// Why (shown in the event log).
        reason: Box<str>,
        /// Downtime before the supervisor restarts the service.
        down_for: SimDuration,
    },
    /// The supervisor restarts the service.
    Restart,
}

struct Request {
    from: Caller,
    token: u64,
    tag: u32,
    deadline: SimTime,
    arrived: SimTime,
}

struct Active {
    req: Request,
    next_call: u32,
    /// The call being waited for: its tag and timeout timer.
    awaiting: Option<(u32, Option<TimerId>)>,
    /// The first call, scheduled for the end of processing (cancelled if the service crashes first).
    deferred: Option<TimerId>,
}

/// The behaviour of one service actor.
pub struct ServiceActor {
    spec: Service,
    callee_timeouts: Vec<Option<SimDuration>>,
    latency_rng: SimRng,
    error_rng: SimRng,
    up: bool,
    busy: u32,
    waiting: VecDeque<Request>,
    active: SlotMap<DefaultKey, Active>,
    faults: Vec<(u32, FaultEffect)>,
    extra_latency: SimDuration,
    fail_prob: f64,
    meter: ServiceMeter,
}

impl ServiceActor {
    /// A service with its scenario spec, the timeouts of its callees (in call order), its random streams
    /// and its meter.
    pub fn new(spec: Service, callee_timeouts: Vec<Option<SimDuration>>, seed: u64, meter: ServiceMeter) -> Self {
        let latency_rng = crate::sim::stream(seed, &format!("service/{}/latency", spec.name));
        let error_rng = crate::sim::stream(seed, &format!("service/{}/errors", spec.name));
        let fail_prob = spec.error_rate;
        ServiceActor {
            spec,
            callee_timeouts,
            latency_rng,
            error_rng,
            up: true,
            busy: 0,
            waiting: VecDeque::new(),
            active: SlotMap::new(),
            faults: Vec::new(),
            extra_latency: SimDuration::ZERO,
            fail_prob,
            meter,
        }
    }

    fn id(&self) -> ServiceId {
        self.spec.id
    }

    fn on_call(&mut self, req: Request, lab: &SimLab) {
        let now = lab.now();
        if !self.up {
            self.meter.record(now, Outcome::Failed);
            lab.send(req.from.reply(req.token, req.tag, CallResult::Failed));
        } else if self.busy < self.spec.workers {
            self.start(req, lab);
        } else if self.waiting.len() < self.spec.queue as usize {
            self.waiting.push_back(req);
            self.meter.levels(now, self.busy, self.waiting.len() as u32);
        } else {
            self.meter.record(now, Outcome::Rejected);
            lab.send(req.from.reply(req.token, req.tag, CallResult::Rejected));
        }
    }

    /// Starts processing `req`. Its processing time and whether it fails are drawn now. If it succeeds
    /// and has dependencies, the first call is scheduled for the end of processing right away (the worker
    /// stays busy until the answers are in, so nothing else happens to it in between); otherwise the
    /// service wakes up at the end of processing to answer.
    fn start(&mut self, req: Request, lab: &SimLab) {
        let now = lab.now();
        self.busy += 1;
        self.meter.levels(now, self.busy, self.waiting.len() as u32);
        let k = self.active.insert(Active {
            req,
            next_call: 0,
            awaiting: None,
            deferred: None,
        });
        let done = now + self.spec.latency.sample(&mut self.latency_rng) + self.extra_latency;
        let failed = self.fail_prob > 0.0 && self.error_rng.random::<f64>() < self.fail_prob;
        if failed || self.spec.calls.is_empty() {
            lab.schedule(
                done,
                Event::Service(
                    self.id(),
                    ServiceMsg::WorkDone {
                        token: token(k),
                        failed,
                    },
                ),
            );
        } else {
            self.call(k, done, lab);
        }
    }

    /// Calls the request's next dependency at `at` (now, or the end of its processing), or answers if
    /// there is none left.
    fn call(&mut self, k: DefaultKey, at: SimTime, lab: &SimLab) {
        let id = self.id();
        let a = self.active.get_mut(k).expect("invariant: call on an active request");
        let i = a.next_call as usize;
        let Some(&callee) = self.spec.calls.get(i) else {
            self.finish(k, CallResult::Ok, lab);
            return;
        };
        let tag = a.next_call;
        a.next_call += 1;
        let t = token(k);
        let (deadline, timer) = match self.callee_timeouts[i] {
            Some(timeout) => {
                let deadline = at + timeout;
                (
                    deadline,
                    Some(lab.timer(deadline, Event::Service(id, ServiceMsg::CallTimeout { token: t, tag }))),
                )
            }
            None => (SimTime::MAX, None),
        };
        a.awaiting = Some((tag, timer));
        let call = Event::Service(
            callee,
            ServiceMsg::Call {
                from: Caller::Service(id),
                token: t,
                tag,
                deadline,
            },
        );
        if at > lab.now() {
            a.deferred = Some(lab.timer(at, call));
        } else {
            lab.send(call);
        }
    }

    /// The active request a reply or timeout with this token and tag is about, if it still waits for it.
    fn awaiting(&mut self, t: u64, tag: u32) -> Option<(DefaultKey, Option<TimerId>)> {
        let k = key(t);
        let a = self.active.get_mut(k)?;
        match a.awaiting {
            Some((want, timer)) if want == tag => {
                a.awaiting = None;
                Some((k, timer))
            }
            _ => None,
        }
    }

    fn finish(&mut self, k: DefaultKey, result: CallResult, lab: &SimLab) {
        let now = lab.now();
        let a = self.active.remove(k).expect("invariant: finish on an active request");
        let outcome = classify(now, &a.req, result);
        self.meter.record(now, outcome);
        lab.send(a.req.from.reply(a.req.token, a.req.tag, result));
        self.busy -= 1;
        match self.waiting.pop_front() {
            Some(next) => self.start(next, lab),
            None => self.meter.levels(now, self.busy, 0),
        }
    }

    fn recompute_faults(&mut self) {
        let mut extra = SimDuration::ZERO;
        let mut ok = 1.0 - self.spec.error_rate;
        for (_, e) in &self.faults {
            match e {
                FaultEffect::Latency { add } => extra = extra + *add,
                FaultEffect::Errors { rate } => ok *= 1.0 - rate,
                FaultEffect::Kill => {}
            }
        }
        self.extra_latency = extra;
        self.fail_prob = 1.0 - ok;
    }

    /// Crashes: every request in the service fails now (callers see a reset connection), its state is
    /// gone, and the supervisor is told.
    fn crash(&mut self, reason: Box<str>, down_for: SimDuration, lab: &SimLab) {
        if !self.up {
            return;
        }
        let now = lab.now();
        self.up = false;
        for (_, a) in self.active.drain() {
            if let Some((_, Some(timer))) = a.awaiting {
                lab.cancel(timer);
            }
            if let Some(call) = a.deferred {
                lab.cancel(call);
            }
            self.meter.record(now, classify(now, &a.req, CallResult::Failed));
            lab.send(a.req.from.reply(a.req.token, a.req.tag, CallResult::Failed));
        }
        for r in self.waiting.drain(..) {
            self.meter.record(now, classify(now, &r, CallResult::Failed));
            lab.send(r.from.reply(r.token, r.tag, CallResult::Failed));
        }
        self.busy = 0;
        self.meter.levels(now, 0, 0);
        lab.send(Event::Supervisor(SupervisorMsg::ChildCrashed {
            service: self.id(),
            reason,
            down_for,
        }));
    }
}

/// The server-side outcome of a request answered at `now`: an answer at or after the caller's deadline
/// is one the caller no longer waited for.
fn classify(now: SimTime, req: &Request, result: CallResult) -> Outcome {
    if now >= req.deadline {
        return Outcome::TimedOut;
    }
    match result {
        CallResult::Ok => Outcome::Ok(now - req.arrived),
        CallResult::Failed => Outcome::Failed,
        CallResult::Rejected => Outcome::Rejected,
    }
}

impl Behavior for ServiceActor {
    type Msg = ServiceMsg;
    type Event = Event;
    type Report = ServiceMetrics;

    fn handle(&mut self, msg: ServiceMsg, lab: &SimLab) {
        match msg {
            ServiceMsg::Call {
                from,
                token,
                tag,
                deadline,
            } => self.on_call(
                Request {
                    from,
                    token,
                    tag,
                    deadline,
                    arrived: lab.now(),
                },
                lab,
            ),
            ServiceMsg::WorkDone { token, failed } => {
                let k = key(token);
                if self.active.contains_key(k) {
                    self.finish(k, if failed { CallResult::Failed } else { CallResult::Ok }, lab);
                }
            }
            ServiceMsg::Reply { token, tag, result } => {
                if let Some((k, timer)) = self.awaiting(token, tag) {
                    if let Some(timer) = timer {
                        lab.cancel(timer);
                    }
                    match result {
                        CallResult::Ok => self.call(k, lab.now(), lab),
                        CallResult::Failed | CallResult::Rejected => self.finish(k, CallResult::Failed, lab),
                    }
                }
            }
            ServiceMsg::CallTimeout { token, tag } => {
                if let Some((k, _)) = self.awaiting(token, tag) {
                    self.finish(k, CallResult::Failed, lab);
                }
            }
            ServiceMsg::FaultOn { fault, effect } => {
                self.faults.push((fault, effect));
                self.recompute_faults();
            }
            ServiceMsg::FaultOff { fault } => {
                self.faults.retain(|(f, _)| *f != fault);
                self.recompute_faults();
            }
            ServiceMsg::Kill { reason, down_for } => self.crash(reason, down_for, lab),
            ServiceMsg::Restart => self.up = true,
        }
    }

    fn on_panic(&mut self, what: String, lab: &SimLab) {
        let delay = self.spec.restart_delay;
        self.crash(format!("panic: {what}").into(), delay, lab);
    }

    fn finish(&mut self, lab: &SimLab) -> ServiceMetrics {
        let now = lab.now();
        // Requests still in the service when the run ended: their callers never got an answer.
        let unfinished = self.active.len() + self.waiting.len();
        for _ in 0..unfinished {
            self.meter.record(now, Outcome::TimedOut);
        }
        self.meter.finish(now)
    }
}
