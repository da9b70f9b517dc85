//! A service: a FIFO queue in front of `workers` workers. A worker takes a request, spends the service's
//! own processing time on it, then calls its dependencies one after the other (held while it waits), and
//! answers. Callers with a timeout give up at their deadline; the work goes on regardless.
//!
//! Calls to dependencies go through the resilience mechanisms configured on the callee (breaker, bulkhead,
//! retry with budget: [`calls`]); the service's own ingress may be rate limited.

mod calls;
mod consumer;

use std::collections::VecDeque;

use rand::RngExt;
use slotmap::{DefaultKey, SlotMap};

use super::{
    AutoscaleMsg, CallResult, Caller, ChaosMsg, Event, NodeMsg, RequestFaults, SimLab, SupervisorMsg, key, token,
};
use crate::metrics::{Outcome, ServiceMeter, ServiceMetrics};
use crate::resilience::RateLimiter;
use crate::scenario::{FaultEffect, Scenario, Service, ServiceId};
use crate::sim::{Behavior, SimDuration, SimRng, SimTime, TimerId};

pub(crate) use calls::DepStats;
use calls::{Awaiting, Dependency};
pub(crate) use consumer::ConsumerMsg;

/// Messages to a request/response service of its own (answers of its dependencies, its timers, the
/// autoscaler).
#[derive(Debug)]
pub(crate) enum ServiceMsg {
    /// The answer of a dependency.
    Reply {
        /// The token this service gave.
        token: u64,
        /// Which call (and attempt) of the request it answers.
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
        /// Which call and attempt.
        tag: u32,
    },
    /// Time to make a (possibly retried) call attempt.
    CallDue {
        /// The request.
        token: u64,
        /// Which call and attempt.
        tag: u32,
    },
    /// A call waited for a bulkhead slot for `max_wait` in vain.
    BulkheadTimeout {
        /// The request.
        token: u64,
        /// Which call and attempt.
        tag: u32,
    },
    /// An automatic half-open transition of the breaker towards dependency `dep` may be due.
    BreakerTimer {
        /// Index of the dependency.
        dep: u32,
    },
    /// The autoscaler asks for the utilisation since its last question.
    LoadReport,
    /// The autoscaler resizes the worker pool.
    SetWorkers {
        /// The new number of workers.
        workers: u32,
    },
}

/// What a service takes: what every node takes, its own messages, and, if it consumes from an event bus,
/// the consumer's.
#[derive(Debug)]
pub(crate) enum ServiceInbox {
    /// From the rest of the run.
    Node(NodeMsg),
    /// Its own.
    Own(ServiceMsg),
    /// As an event-bus consumer.
    Consumer(ConsumerMsg),
}

impl ServiceInbox {
    /// The event that delivers it to service `id` again.
    fn to(self, id: ServiceId) -> Event {
        match self {
            ServiceInbox::Node(m) => Event::Node(id, m),
            ServiceInbox::Own(m) => Event::Service(id, m),
            ServiceInbox::Consumer(m) => Event::Consumer(id, m),
        }
    }
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
    /// The call being made (or retried, or waiting for a bulkhead slot).
    awaiting: Option<Awaiting>,
    /// The first call, scheduled for the end of processing (cancelled if the service crashes first).
    deferred: Option<TimerId>,
}

/// What a service hands back after the run.
#[derive(Clone, Debug)]
pub(crate) struct ServiceReport {
    /// Server-side metrics.
    pub metrics: ServiceMetrics,
    /// Client-side figures of its calls, per callee.
    pub deps: Vec<(ServiceId, DepStats)>,
    /// Requests refused by the ingress rate limiter (also counted as rejected).
    pub rate_limited: u64,
}

/// The behaviour of one service actor.
pub(crate) struct ServiceActor {
    spec: Service,
    deps: Vec<Dependency>,
    /// Dependency index of each entry of `spec.calls`.
    call_dep: Vec<usize>,
    latency_rng: SimRng,
    error_rng: SimRng,
    retry_rng: SimRng,
    up: bool,
    /// In rotation: no readiness probe, or it passes. Out of rotation every request is refused at once.
    ready: bool,
    /// Starting (its `startup` time after a (re)start) until then: it refuses requests and answers no
    /// probe.
    starting_until: SimTime,
    workers: u32,
    busy: u32,
    waiting: VecDeque<Request>,
    active: SlotMap<DefaultKey, Active>,
    faults: RequestFaults,
    rate_limiter: Option<RateLimiter>,
    rate_limited: u64,
    /// Faults waiting for this service's next success.
    recovery_watch: Vec<u32>,
    /// An injected panic waiting for the next request.
    panic_armed: Option<Box<str>>,
    /// Consumer group membership, if any.
    consumer: Option<consumer::Consumer>,
    /// Messages that arrived while the service was hung.
    stash: Vec<ServiceInbox>,
    meter: ServiceMeter,
}

impl ServiceActor {
    /// Service `id` of `sc`, with its random streams derived from `seed`, measured by `meter`.
    pub(crate) fn new(sc: &Scenario, id: ServiceId, seed: u64, meter: ServiceMeter) -> Self {
        let spec = sc.service(id).clone();
        // Hangs and partitions must see every call when it is made, not have it pre-scheduled.
        let guarded = sc.chaos.iter().any(|f| {
            f.targets.contains(&crate::scenario::Target::Service(id))
                && matches!(f.effect, FaultEffect::Hang | FaultEffect::Partition { .. })
        });
        let mut deps: Vec<Dependency> = Vec::new();
        let mut call_dep = Vec::with_capacity(spec.calls.len());
        for callee in &spec.calls {
            let i = match deps.iter().position(|d| d.callee == *callee) {
                Some(i) => i,
                None => {
                    deps.push(Dependency::new(sc.service(*callee), guarded));
                    deps.len() - 1
                }
            };
            call_dep.push(i);
        }
        let stream = |what: &str| crate::sim::stream(seed, &format!("service/{}/{what}", spec.name));
        ServiceActor {
            latency_rng: stream("latency"),
            error_rng: stream("errors"),
            retry_rng: stream("retry"),
            faults: RequestFaults::new(spec.error_rate, sc.fault_dists.clone().into()),
            workers: spec.workers,
            rate_limiter: spec.rate_limit.clone().map(RateLimiter::new),
            spec,
            deps,
            call_dep,
            up: true,
            ready: !super::bus::has_readiness(sc.service(id)),
            starting_until: SimTime::ZERO + sc.service(id).startup,
            busy: 0,
            waiting: VecDeque::new(),
            active: SlotMap::new(),
            rate_limited: 0,
            recovery_watch: Vec::new(),
            panic_armed: None,
            consumer: consumer::consumer_of(sc, id),
            stash: Vec::new(),
            meter,
        }
    }

    fn id(&self) -> ServiceId {
        self.spec.id
    }

    fn on_call(&mut self, req: Request, lab: &SimLab) {
        let now = lab.now();
        if !self.up {
            self.record(&req, now, Outcome::Failed);
            lab.send(req.from.reply(req.token, req.tag, CallResult::Failed));
        } else if now < self.starting_until || (!self.ready && req.from != Caller::Health) {
            // Not listening yet, or out of rotation: the connection is refused at once.
            self.record(&req, now, Outcome::Rejected);
            lab.send(req.from.reply(req.token, req.tag, CallResult::Rejected));
        } else if req.from != Caller::Health && self.rate_limiter.as_mut().is_some_and(|r| !r.try_acquire(now)) {
            self.rate_limited += 1;
            self.record(&req, now, Outcome::Rejected);
            lab.send(req.from.reply(req.token, req.tag, CallResult::Rejected));
        } else if self.busy < self.workers {
            self.start(req, lab);
        } else if self.waiting.len() < self.spec.queue as usize {
            self.waiting.push_back(req);
            self.meter.levels(now, self.busy, self.waiting.len() as u32);
        } else {
            self.record(&req, now, Outcome::Rejected);
            lab.send(req.from.reply(req.token, req.tag, CallResult::Rejected));
        }
    }

    /// Records a request's outcome in the meter; health probes are not requests and are not measured.
    fn record(&mut self, req: &Request, now: SimTime, outcome: Outcome) {
        if req.from != Caller::Health {
            self.meter.record(now, outcome);
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
        let probe = req.from == Caller::Health;
        if !probe {
            self.meter.waited(now, now - req.arrived);
        }
        let k = self.active.insert(Active { req, next_call: 0, awaiting: None, deferred: None });
        if let Some(fault) = self.panic_armed.take() {
            panic!("injected panic (fault {fault})");
        }
        if probe {
            lab.send(Event::Service(self.id(), ServiceMsg::WorkDone { token: token(k), failed: false }));
            return;
        }
        let own = self.spec.latency.sample(&mut self.latency_rng);
        let done = now + self.faults.processing(own, &mut self.latency_rng);
        self.meter.processing(now, done);
        let failed = self.faults.fail_prob > 0.0 && self.error_rng.random::<f64>() < self.faults.fail_prob;
        if failed || self.spec.calls.is_empty() {
            lab.schedule(done, Event::Service(self.id(), ServiceMsg::WorkDone { token: token(k), failed }));
        } else {
            self.call(k, done, lab);
        }
    }

    fn finish(&mut self, k: DefaultKey, result: CallResult, lab: &SimLab) {
        let now = lab.now();
        let a = self.active.remove(k).expect("invariant: finish on an active request");
        let outcome = classify(now, &a.req, result);
        self.record(&a.req, now, outcome);
        if !self.recovery_watch.is_empty() && matches!(outcome, Outcome::Ok(_)) {
            for fault in self.recovery_watch.drain(..) {
                lab.send(Event::Chaos(ChaosMsg::Recovered { fault }));
            }
        }
        lab.send(a.req.from.reply(a.req.token, a.req.tag, result));
        self.busy -= 1;
        match self.waiting.pop_front() {
            // After a scale-down, a finishing worker may be one too many: it retires instead.
            Some(next) if self.busy < self.workers => self.start(next, lab),
            Some(next) => {
                self.waiting.push_front(next);
                self.meter.levels(now, self.busy, self.waiting.len() as u32);
            }
            None => self.meter.levels(now, self.busy, 0),
        }
    }

    /// Goes down: every request in the service fails now (callers see a reset connection) and all its
    /// state is gone, resilience state included. Returns whether it was up.
    fn go_down(&mut self, lab: &SimLab) -> bool {
        if !self.up {
            return false;
        }
        let now = lab.now();
        self.up = false;
        if let Some(c) = self.consumer.as_mut() {
            c.forget();
        }
        // Requests that waited in a hung process get a reset connection; other waiting messages are moot.
        for m in std::mem::take(&mut self.stash) {
            if let ServiceInbox::Node(NodeMsg::Call { from, token, tag, .. }) = m {
                if from != Caller::Health {
                    self.meter.record(now, Outcome::Failed);
                }
                lab.send(from.reply(token, tag, CallResult::Failed));
            }
        }
        // `drain` keeps the slot versions, so tokens of these requests never match a later request.
        let active: Vec<Active> = self.active.drain().map(|(_, a)| a).collect();
        for a in active {
            for timer in a.awaiting.iter().filter_map(|w| w.timer).chain(a.deferred) {
                lab.cancel(timer);
            }
            self.record(&a.req, now, classify(now, &a.req, CallResult::Failed));
            lab.send(a.req.from.reply(a.req.token, a.req.tag, CallResult::Failed));
        }
        for r in std::mem::take(&mut self.waiting) {
            self.record(&r, now, classify(now, &r, CallResult::Failed));
            lab.send(r.from.reply(r.token, r.tag, CallResult::Failed));
        }
        for d in &mut self.deps {
            d.reset();
        }
        self.rate_limiter = self.spec.rate_limit.clone().map(RateLimiter::new);
        self.busy = 0;
        self.meter.levels(now, 0, 0);
        self.meter.abort_processing(now);
        true
    }

    /// Exits (a crash, or a normal stop) and tells the supervisor. A normal stop leaves its consumer
    /// group first (a crash just stops heartbeating).
    fn exit(&mut self, reason: Box<str>, down_for: SimDuration, abnormal: bool, lab: &SimLab) {
        if !abnormal && self.up {
            self.leave(lab);
        }
        if self.go_down(lab) {
            let service = self.id();
            lab.send(Event::Supervisor(SupervisorMsg::ChildCrashed { service, reason, down_for, abnormal }));
        }
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

impl ServiceActor {
    fn on_node(&mut self, msg: NodeMsg, lab: &SimLab) {
        match msg {
            NodeMsg::Call { from, token, tag, deadline } => {
                self.on_call(Request { from, token, tag, deadline, arrived: lab.now() }, lab)
            }
            NodeMsg::FaultOn { fault, effect } => self.faults.on(fault, effect),
            NodeMsg::FaultOff { fault } => {
                self.faults.off(fault);
                if !self.faults.hung {
                    // Back from a hang: everything that waited is handled now, in arrival order.
                    let id = self.id();
                    for m in std::mem::take(&mut self.stash) {
                        lab.send(m.to(id));
                    }
                }
            }
            NodeMsg::Kill { reason, down_for } => self.exit(reason, down_for, true, lab),
            NodeMsg::Stop { reason, down_for } => self.exit(reason, down_for, false, lab),
            NodeMsg::ArmPanic { fault } => self.panic_armed = Some(fault),
            NodeMsg::Shutdown => {
                self.go_down(lab);
            }
            NodeMsg::Restart => {
                self.up = true;
                self.ready = !super::bus::has_readiness(&self.spec);
                self.starting_until = lab.now() + self.spec.startup;
                self.join(lab);
            }
            NodeMsg::SetReady { ready } => self.ready = ready,
            NodeMsg::WatchRecovery { fault } => self.recovery_watch.push(fault),
            NodeMsg::Probe { token, probe } => {
                if probe != crate::resilience::ProbeKind::Readiness {
                    // Liveness and startup: the process itself answers, once it is up and has started.
                    if self.up && lab.now() >= self.starting_until {
                        lab.send(Caller::Health.reply(token, 0, CallResult::Ok));
                    }
                } else {
                    // Readiness: served like a request (no work of its own), so it waits in the queue.
                    let now = lab.now();
                    self.on_call(
                        Request { from: Caller::Health, token, tag: 0, deadline: SimTime::MAX, arrived: now },
                        lab,
                    );
                }
            }
            NodeMsg::ReportWindow { probe, metric } => {
                let w = self.meter.window().as_secs_f64();
                let value = super::experiment::window_value(metric, self.meter.last_row(lab.now()), w);
                lab.send(Event::Experiment(super::experiment::ExperimentMsg::Value { probe, value }));
            }
        }
    }

    fn on_own(&mut self, msg: ServiceMsg, lab: &SimLab) {
        match msg {
            ServiceMsg::WorkDone { token, failed } => {
                let k = key(token);
                if self.active.contains_key(k) {
                    self.finish(k, if failed { CallResult::Failed } else { CallResult::Ok }, lab);
                }
            }
            ServiceMsg::Reply { token, tag, result } => self.on_reply(key(token), tag, result, lab),
            ServiceMsg::CallTimeout { token, tag } => self.on_call_timeout(key(token), tag, lab),
            ServiceMsg::CallDue { token, tag } => self.on_call_due(key(token), tag, lab),
            ServiceMsg::BulkheadTimeout { token, tag } => self.on_bulkhead_timeout(key(token), tag, lab),
            ServiceMsg::BreakerTimer { dep } => self.on_breaker_timer(dep as usize, lab),
            ServiceMsg::LoadReport => {
                let (concurrency, cpu) = self.meter.take_utilization(lab.now());
                let utilization = match self.spec.autoscale.as_ref().map(|a| a.metric) {
                    Some(crate::resilience::ScaleMetric::Concurrency) => concurrency,
                    _ => cpu,
                };
                let (service, workers) = (self.id(), self.workers);
                lab.send(Event::Autoscale(AutoscaleMsg::Load { service, utilization, workers }));
            }
            ServiceMsg::SetWorkers { workers } => {
                let now = lab.now();
                self.workers = workers;
                self.meter.workers(now, workers);
                while self.busy < self.workers {
                    let Some(next) = self.waiting.pop_front() else { break };
                    self.start(next, lab);
                }
            }
        }
    }
}

impl Behavior for ServiceActor {
    type Msg = ServiceInbox;
    type Event = Event;
    type Report = ServiceReport;

    fn handle(&mut self, msg: ServiceInbox, lab: &SimLab) {
        if self.faults.hung && !matches!(&msg, ServiceInbox::Node(m) if m.is_control()) {
            // A hung process handles nothing: its messages wait until the hang ends.
            self.stash.push(msg);
            return;
        }
        match msg {
            ServiceInbox::Node(m) => self.on_node(m, lab),
            ServiceInbox::Own(m) => self.on_own(m, lab),
            ServiceInbox::Consumer(m) => self.on_consumer_msg(m, lab),
        }
    }

    fn on_panic(&mut self, what: String, lab: &SimLab) {
        self.exit(format!("panic: {what}").into(), SimDuration::ZERO, true, lab);
    }

    fn finish(&mut self, lab: &SimLab) -> ServiceReport {
        let now = lab.now();
        // Requests still in the service when the run ended: their callers never got an answer.
        let is_request = |r: &Request| r.from != Caller::Health;
        let unfinished = self.active.values().filter(|a| is_request(&a.req)).count()
            + self.waiting.iter().filter(|r| is_request(r)).count();
        for _ in 0..unfinished {
            self.meter.record(now, Outcome::TimedOut);
        }
        ServiceReport {
            metrics: self.meter.finish(now),
            deps: self.deps.iter().map(|d| (d.callee, d.stats.clone())).collect(),
            rate_limited: self.rate_limited,
        }
    }
}
