//! Calls from a service to its dependencies, through the resilience mechanisms configured on each callee:
//! retry (outermost) → circuit breaker → bulkhead → timeout → the call, as resilience4j decorates them.
//!
//! - A call the breaker rejects never reaches the callee and is not retried (fail fast).
//! - A full bulkhead (after `max_wait`) fails the attempt; as in resilience4j the breaker records it as a
//!   failure and the retry policy may retry it.
//! - A retry waits for its backoff, may be refused by the retry budget, and counts in `retries`.
//!
//! The wire tag of a call is `call index × 256 + attempt`, so an answer to an abandoned attempt is ignored.

use rand::RngExt;
use slotmap::DefaultKey;

use super::{Active, ServiceActor, ServiceMsg};
use crate::actors::NodeMsg;
use crate::actors::{CallResult, Caller, Event, SimLab, record, token};
use crate::model::event::Event as Ev;
use crate::resilience::{Bulkhead, CircuitBreaker, Entry, Permit, RetryBudget, RetryConfig, Transition};
use crate::scenario::{Service, ServiceId};
use crate::sim::{SimDuration, SimTime, TimerId};

/// Client-side figures of a caller's calls to one dependency.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DepStats {
    /// Attempts sent to the callee (first attempts and retries).
    pub attempts: u64,
    /// Retries scheduled.
    pub retries: u64,
    /// Retries the retry budget refused.
    pub retries_denied: u64,
    /// Calls the breaker rejected (never sent).
    pub rejected_by_breaker: u64,
    /// Calls the bulkhead rejected (never sent).
    pub rejected_by_bulkhead: u64,
    /// Times the breaker opened.
    pub breaker_opens: u64,
    /// Failed calls the caller carried on without (the callee is optional).
    pub fallbacks: u64,
}

impl DepStats {
    /// Adds `other`'s figures.
    pub fn add(&mut self, other: &DepStats) {
        self.attempts += other.attempts;
        self.retries += other.retries;
        self.retries_denied += other.retries_denied;
        self.rejected_by_breaker += other.rejected_by_breaker;
        self.rejected_by_bulkhead += other.rejected_by_bulkhead;
        self.breaker_opens += other.breaker_opens;
        self.fallbacks += other.fallbacks;
    }
}

/// What a call in progress is doing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for its start or a retry backoff.
    Scheduled,
    /// Waiting for a bulkhead slot.
    WaitingSlot,
    /// Sent; waiting for the answer or the timeout.
    InFlight,
}

/// The call a request is making.
pub(super) struct Awaiting {
    pub(super) tag: u32,
    pub(super) phase: Phase,
    /// Timeout, backoff or bulkhead-wait timer.
    pub(super) timer: Option<TimerId>,
    permit: Option<Permit>,
    sent_at: SimTime,
}

/// One dependency of a service, with the caller-side resilience state towards it.
pub(super) struct Dependency {
    pub(super) callee: ServiceId,
    name: String,
    timeout: Option<SimDuration>,
    spec: Service,
    breaker: Option<CircuitBreaker>,
    retry: Option<RetryConfig>,
    budget: Option<RetryBudget>,
    bulkhead: Option<Bulkhead<(u64, u32)>>,
    /// A fault may hang the caller or cut the link: calls must go through the caller at send time.
    guarded: bool,
    pub(super) stats: DepStats,
}

impl Dependency {
    pub(super) fn new(callee: &Service, guarded: bool) -> Self {
        let mut d = Dependency {
            callee: callee.id,
            name: callee.name.clone(),
            timeout: callee.timeout,
            spec: callee.clone(),
            breaker: None,
            retry: callee.retry.clone(),
            budget: None,
            bulkhead: None,
            guarded,
            stats: DepStats::default(),
        };
        d.reset();
        d
    }

    /// Fresh resilience state (after a crash of the caller: it was in memory).
    pub(super) fn reset(&mut self) {
        self.breaker = self.spec.breaker.clone().map(CircuitBreaker::new);
        self.budget = self.spec.retry.as_ref().and_then(|r| r.budget.clone()).map(RetryBudget::new);
        self.bulkhead = self.spec.bulkhead.clone().map(Bulkhead::new);
    }

    /// No mechanism at all: the call can be scheduled straight to the callee.
    fn plain(&self) -> bool {
        self.breaker.is_none()
            && self.retry.is_none()
            && self.bulkhead.is_none()
            && !self.spec.optional
            && !self.guarded
    }
}

/// Why an attempt failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Failure {
    /// The callee answered with an error or refused the call.
    Error,
    /// No answer within the timeout.
    Timeout,
    /// The caller's own breaker (open) or bulkhead (full) did not let the call out.
    Rejected,
}

fn tag_of(call: usize, attempt: u32) -> u32 {
    (call as u32) << 8 | attempt
}

fn split(tag: u32) -> (usize, u32) {
    ((tag >> 8) as usize, tag & 0xff)
}

impl ServiceActor {
    /// Makes the request's next call at `at` (now, or the end of its processing), or answers if there is
    /// none left.
    pub(super) fn call(&mut self, k: DefaultKey, at: SimTime, lab: &SimLab) {
        let id = self.id();
        let a: &mut Active = self.active.get_mut(k).expect("invariant: call on an active request");
        let i = a.next_call as usize;
        if i >= self.spec.calls.len() {
            self.finish(k, CallResult::Ok, lab);
            return;
        }
        a.next_call += 1;
        let dep = &mut self.deps[self.call_dep[i]];
        let t = token(k);
        let tag = tag_of(i, 1);
        if dep.plain() {
            // No mechanism: schedule the call itself for `at` and its timeout.
            dep.stats.attempts += 1;
            let (deadline, timer) = match dep.timeout {
                Some(timeout) => {
                    let deadline = at + timeout;
                    (deadline, Some(lab.timer(deadline, Event::Service(id, ServiceMsg::CallTimeout { token: t, tag }))))
                }
                None => (SimTime::MAX, None),
            };
            a.awaiting = Some(Awaiting { tag, phase: Phase::InFlight, timer, permit: None, sent_at: at });
            let call = Event::Node(dep.callee, NodeMsg::Call { from: Caller::Service(id), token: t, tag, deadline });
            if at > lab.now() {
                a.deferred = Some(lab.timer(at, call));
            } else {
                lab.send(call);
            }
        } else {
            a.awaiting = Some(Awaiting { tag, phase: Phase::Scheduled, timer: None, permit: None, sent_at: at });
            if at > lab.now() {
                a.deferred = Some(lab.timer(at, Event::Service(id, ServiceMsg::CallDue { token: t, tag })));
            } else {
                self.attempt(k, lab);
            }
        }
    }

    /// The call of `k` in the given phase with the given tag, if it is still that one.
    fn awaiting_mut(&mut self, k: DefaultKey, tag: u32, phase: Phase) -> Option<&mut Awaiting> {
        self.active.get_mut(k)?.awaiting.as_mut().filter(|w| w.tag == tag && w.phase == phase)
    }

    /// Makes the current attempt of `k`'s call now: breaker, then bulkhead, then send.
    fn attempt(&mut self, k: DefaultKey, lab: &SimLab) {
        let now = lab.now();
        let id = self.id();
        let t = token(k);
        let aw = self.active[k].awaiting.as_mut().expect("invariant: attempt of a call in progress");
        let (i, attempt) = split(aw.tag);
        let tag = aw.tag;
        let d = self.call_dep[i];
        let dep = &mut self.deps[d];
        if attempt == 1 {
            if let Some(b) = dep.budget.as_mut() {
                b.on_request(now);
            }
        }
        let mut permit = None;
        if let Some(br) = dep.breaker.as_mut() {
            let (p, tr) = br.try_acquire(now);
            if let Some(tr) = tr {
                self.log_transition(d, tr, lab);
            }
            match p {
                Some(p) => permit = Some(p),
                None => {
                    self.deps[d].stats.rejected_by_breaker += 1;
                    self.call_failed(k, Failure::Rejected, lab);
                    return;
                }
            }
        }
        let aw = self.active[k].awaiting.as_mut().expect("invariant: still in progress");
        aw.permit = permit;
        let dep = &mut self.deps[d];
        if let Some(bh) = dep.bulkhead.as_mut() {
            match bh.enter((t, tag)) {
                Entry::Admitted => {}
                Entry::Queued => {
                    let wait = bh.config().max_wait;
                    aw.phase = Phase::WaitingSlot;
                    aw.timer =
                        Some(lab.timer(now + wait, Event::Service(id, ServiceMsg::BulkheadTimeout { token: t, tag })));
                    return;
                }
                Entry::Rejected => {
                    dep.stats.rejected_by_bulkhead += 1;
                    self.record_breaker(d, permit, true, SimDuration::ZERO, lab);
                    self.call_failed(k, Failure::Rejected, lab);
                    return;
                }
            }
        }
        self.send(k, lab);
    }

    /// Sends the current attempt of `k`'s call.
    fn send(&mut self, k: DefaultKey, lab: &SimLab) {
        let now = lab.now();
        let id = self.id();
        let t = token(k);
        let aw = self.active[k].awaiting.as_mut().expect("invariant: send of a call in progress");
        let (i, _) = split(aw.tag);
        let tag = aw.tag;
        let dep = &mut self.deps[self.call_dep[i]];
        dep.stats.attempts += 1;
        let deadline = dep.timeout.map(|to| now + to).unwrap_or(SimTime::MAX);
        aw.phase = Phase::InFlight;
        aw.sent_at = now;
        aw.timer =
            dep.timeout.map(|_| lab.timer(deadline, Event::Service(id, ServiceMsg::CallTimeout { token: t, tag })));
        // Across a partition the call is lost: only the timeout (if any) ends the wait.
        if !self.faults.partitioned(dep.callee) {
            lab.send(Event::Node(dep.callee, NodeMsg::Call { from: Caller::Service(id), token: t, tag, deadline }));
        }
    }

    pub(super) fn on_reply(&mut self, k: DefaultKey, tag: u32, result: CallResult, lab: &SimLab) {
        let now = lab.now();
        if let Some(callee) = self.spec.calls.get(split(tag).0) {
            if self.faults.partitioned(*callee) {
                return; // the answer is lost on the way back
            }
        }
        let Some(aw) = self.awaiting_mut(k, tag, Phase::InFlight) else {
            return;
        };
        if let Some(timer) = aw.timer.take() {
            lab.cancel(timer);
        }
        let (permit, sent_at) = (aw.permit, aw.sent_at);
        let d = self.call_dep[split(tag).0];
        let failed = result != CallResult::Ok;
        self.record_breaker(d, permit, failed, now - sent_at, lab);
        self.release_slot(d, lab);
        if failed {
            self.call_failed(k, Failure::Error, lab);
        } else {
            self.active[k].awaiting = None;
            self.call(k, now, lab);
        }
    }

    pub(super) fn on_call_timeout(&mut self, k: DefaultKey, tag: u32, lab: &SimLab) {
        let now = lab.now();
        let Some(aw) = self.awaiting_mut(k, tag, Phase::InFlight) else {
            return;
        };
        aw.timer = None;
        let (permit, sent_at) = (aw.permit, aw.sent_at);
        let d = self.call_dep[split(tag).0];
        self.record_breaker(d, permit, true, now - sent_at, lab);
        self.release_slot(d, lab);
        self.call_failed(k, Failure::Timeout, lab);
    }

    pub(super) fn on_call_due(&mut self, k: DefaultKey, tag: u32, lab: &SimLab) {
        let Some(aw) = self.awaiting_mut(k, tag, Phase::Scheduled) else {
            return;
        };
        aw.timer = None;
        if let Some(a) = self.active.get_mut(k) {
            a.deferred = None;
        }
        self.attempt(k, lab);
    }

    pub(super) fn on_bulkhead_timeout(&mut self, k: DefaultKey, tag: u32, lab: &SimLab) {
        let Some(aw) = self.awaiting_mut(k, tag, Phase::WaitingSlot) else {
            return;
        };
        aw.timer = None;
        let permit = aw.permit;
        let d = self.call_dep[split(tag).0];
        let dep = &mut self.deps[d];
        if let Some(bh) = dep.bulkhead.as_mut() {
            bh.abandon(&(token(k), tag));
        }
        dep.stats.rejected_by_bulkhead += 1;
        self.record_breaker(d, permit, true, SimDuration::ZERO, lab);
        self.call_failed(k, Failure::Rejected, lab);
    }

    pub(super) fn on_breaker_timer(&mut self, d: usize, lab: &SimLab) {
        let tr = self.deps.get_mut(d).and_then(|dep| dep.breaker.as_mut()).and_then(|br| br.on_timer(lab.now()));
        if let Some(tr) = tr {
            self.log_transition(d, tr, lab);
        }
    }

    /// An attempt of `k`'s current call failed: retry it if the policy and the budget allow, else fail
    /// the request.
    fn call_failed(&mut self, k: DefaultKey, why: Failure, lab: &SimLab) {
        let now = lab.now();
        let id = self.id();
        let aw = self.active[k].awaiting.as_mut().expect("invariant: a failing call is in progress");
        let (i, attempt) = split(aw.tag);
        let dep = &mut self.deps[self.call_dep[i]];
        let wants_retry = dep.retry.as_ref().is_some_and(|r| {
            attempt < r.max_attempts
                && match why {
                    Failure::Error => r.on_errors,
                    Failure::Timeout => r.on_timeouts,
                    Failure::Rejected => r.on_rejected,
                }
        });
        let allowed = wants_retry
            && match dep.budget.as_mut() {
                Some(b) => {
                    let ok = b.try_retry(now);
                    if !ok {
                        dep.stats.retries_denied += 1;
                    }
                    ok
                }
                None => true,
            };
        if !allowed {
            if dep.spec.optional {
                // Fallback: carry on with the next call as if this one had answered.
                dep.stats.fallbacks += 1;
                self.active[k].awaiting = None;
                self.call(k, now, lab);
            } else {
                self.finish(k, CallResult::Failed, lab);
            }
            return;
        }
        dep.stats.retries += 1;
        let policy = dep.retry.as_ref().expect("invariant: a retry has a policy");
        let delay = policy.delay(attempt, self.retry_rng.random::<f64>());
        let tag = tag_of(i, attempt + 1);
        aw.tag = tag;
        aw.phase = Phase::Scheduled;
        aw.permit = None;
        aw.timer = Some(lab.timer(now + delay, Event::Service(id, ServiceMsg::CallDue { token: token(k), tag })));
    }

    fn record_breaker(&mut self, d: usize, permit: Option<Permit>, failed: bool, took: SimDuration, lab: &SimLab) {
        let tr = match (self.deps[d].breaker.as_mut(), permit) {
            (Some(br), Some(p)) => br.on_result(lab.now(), p, failed, took),
            _ => None,
        };
        if let Some(tr) = tr {
            self.log_transition(d, tr, lab);
        }
    }

    /// A call towards dependency `d` left its bulkhead: hand the slot to the next waiting call.
    fn release_slot(&mut self, d: usize, lab: &SimLab) {
        loop {
            let Some(bh) = self.deps[d].bulkhead.as_mut() else {
                return;
            };
            let Some((t, tag)) = bh.release() else { return };
            let k = crate::actors::key(t);
            match self.awaiting_mut(k, tag, Phase::WaitingSlot) {
                Some(aw) => {
                    if let Some(timer) = aw.timer.take() {
                        lab.cancel(timer);
                    }
                    self.send(k, lab);
                    return;
                }
                // The waiter is gone: the slot is free again, offer it to the next one.
                None => continue,
            }
        }
    }

    fn log_transition(&mut self, d: usize, tr: Transition, lab: &SimLab) {
        let id = self.id();
        let caller = self.spec.name.clone();
        let dep = &mut self.deps[d];
        match tr {
            Transition::Opened { failure_rate, slow_rate, calls, wait } => {
                dep.stats.breaker_opens += 1;
                let ev = Ev::BreakerOpen { caller: caller.to_string(), failure_rate, slow_rate, calls, open_for: wait };
                record(lab, &dep.name, ev);
                if let Some(due) = dep.breaker.as_ref().and_then(|b| b.half_open_due()) {
                    lab.schedule_daemon(due, Event::Service(id, ServiceMsg::BreakerTimer { dep: d as u32 }));
                }
            }
            Transition::HalfOpened => record(lab, &dep.name, Ev::BreakerHalfOpen { caller: caller.to_string() }),
            Transition::Closed { failure_rate } => {
                record(lab, &dep.name, Ev::BreakerClosed { caller: caller.to_string(), failure_rate })
            }
        }
    }
}
