//! The lab: the clock, the event queue and the message accounting that let actix actors run in virtual time.
//!
//! Actors are reactive: a handler reads [`Lab::now`], updates its state, schedules future events with
//! [`Lab::schedule`] / [`Lab::timer`] and sends zero-delay messages with [`Lab::send`]. It never awaits.
//! Every message sent through the lab counts as *in flight* until its handler has run ([`Lab::handled`]).
//! When nothing is in flight the current instant is over: the lab pops every event due at the next
//! instant, moves the clock there and delivers them. No tokio timer is involved, so time has nanosecond
//! resolution and a simulated hour costs only the messages it contains.
//!
//! The advance happens inline, at the end of the handler that brought the in-flight count to zero, so an
//! instant costs no extra task wake-up. [`Lab::run`] only kicks the first instant and waits for the end.

use std::cell::{Cell, OnceCell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::queue::{EventQueue, TimerId};
use super::time::{SimDuration, SimTime};

/// Why a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Arrivals were over and no work was left: everything in flight finished.
    Drained,
    /// The hard stop (arrivals end + drain) was reached with work still pending.
    Horizon,
    /// An actor asked to stop the run (a supervisor gave up, an actor panicked, an abort condition).
    Aborted(String),
    /// The user interrupted the run (Ctrl-C or SIGTERM, see [`crate::interrupt`]): it stopped where it was.
    Interrupted,
}

/// When a run may and must end.
#[derive(Copy, Clone, Debug)]
pub struct Limits {
    /// The run does not end before this instant (the end of the arrival process).
    pub work_until: SimTime,
    /// The run ends at this instant whatever is still pending (arrivals end + drain).
    pub stop_at: SimTime,
}

type Router<E> = Box<dyn Fn(E)>;
type Progress = Box<dyn FnMut(SimTime)>;

/// Counters describing how much work the engine did.
#[derive(Copy, Clone, Debug, Default)]
pub struct EngineStats {
    /// Distinct instants the clock visited.
    pub instants: u64,
    /// Messages delivered to actors (scheduled events and zero-delay sends).
    pub messages: u64,
}

/// The lab's clock and event queue, shared by every actor of one run on one thread.
pub struct Lab<E> {
    now: Cell<SimTime>,
    queue: RefCell<EventQueue<E>>,
    in_flight: Cell<usize>,
    router: OnceCell<Router<E>>,
    limits: Limits,
    ending: RefCell<Option<Ending>>,
    waker: Cell<Option<Waker>>,
    stats: Cell<EngineStats>,
    progress: RefCell<Option<Progress>>,
    /// Live mode: the real time since the start of the run. The lab then never runs ahead of it.
    pace: OnceCell<Box<dyn Fn() -> SimTime>>,
    /// Live mode: quiescent, waiting for the real clock to reach this instant.
    idle_until: Cell<Option<SimTime>>,
}

/// What a live run's driver sees when the lab has nothing to do right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Idle {
    /// The next instant is in the future: sleep until then, then [`Lab::resume`].
    Until(SimTime),
    /// The run is over.
    Ended(Ending),
}

/// How many instants pass between two calls of the progress callback.
const PROGRESS_EVERY: u64 = 1 << 16;

impl<E: 'static> Lab<E> {
    /// A lab at time zero with an empty queue.
    pub fn new(limits: Limits) -> Rc<Self> {
        Rc::new(Lab {
            now: Cell::new(SimTime::ZERO),
            queue: RefCell::new(EventQueue::new()),
            in_flight: Cell::new(0),
            router: OnceCell::new(),
            limits,
            ending: RefCell::new(None),
            waker: Cell::new(None),
            stats: Cell::new(EngineStats::default()),
            progress: RefCell::new(None),
            pace: OnceCell::new(),
            idle_until: Cell::new(None),
        })
    }

    /// Installs the function that delivers an event to its actor (usually an actix `do_send`).
    /// Must be called once, before [`Lab::run`].
    pub fn set_router(&self, router: impl Fn(E) + 'static) {
        if self.router.set(Box::new(router)).is_err() {
            panic!("invariant: the lab's router is set once");
        }
    }

    /// Installs a callback called with the current time every few tens of thousands of instants.
    pub fn set_progress(&self, f: impl FnMut(SimTime) + 'static) {
        *self.progress.borrow_mut() = Some(Box::new(f));
    }

    /// Live mode: the lab follows `clock` (the real time since the start of the run): an instant is
    /// delivered only once the clock has reached it, and the driver ([`Lab::poll_idle`]) sleeps meanwhile.
    pub fn set_pace(&self, clock: impl Fn() -> SimTime + 'static) {
        if self.pace.set(Box::new(clock)).is_err() {
            panic!("invariant: the lab's pace is set once");
        }
    }

    /// Whether the lab follows a real clock.
    pub fn is_live(&self) -> bool {
        self.pace.get().is_some()
    }

    /// Live mode: resolves when nothing is in flight, with the instant to wait for or the run's end.
    pub fn poll_idle(&self, cx: &mut Context<'_>) -> Poll<Idle> {
        if self.in_flight.get() == 0 {
            if let Some(ending) = self.ending.borrow().clone() {
                return Poll::Ready(Idle::Ended(ending));
            }
            if let Some(t) = self.idle_until.take() {
                return Poll::Ready(Idle::Until(t));
            }
        }
        let w = self.waker.take();
        match w {
            Some(w) if w.will_wake(cx.waker()) => self.waker.set(Some(w)),
            _ => self.waker.set(Some(cx.waker().clone())),
        }
        Poll::Pending
    }

    /// Live mode: goes on after the driver has waited (starts the run the first time).
    pub fn resume(&self) {
        if self.in_flight.get() == 0 {
            self.advance();
        }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now.get()
    }

    /// The run's limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Messages sent or delivered and not yet handled.
    pub fn in_flight(&self) -> usize {
        self.in_flight.get()
    }

    /// Work counters so far.
    pub fn stats(&self) -> EngineStats {
        self.stats.get()
    }

    /// Sends `event` now: it is delivered in the current instant, after the messages already in flight to
    /// the same actor.
    #[inline]
    pub fn send(&self, event: E) {
        self.in_flight.set(self.in_flight.get() + 1);
        self.deliver(event);
    }

    #[inline]
    fn deliver(&self, event: E) {
        let mut s = self.stats.get();
        s.messages += 1;
        self.stats.set(s);
        (self.router.get().expect("invariant: router set before the run starts"))(event);
    }

    /// Schedules `event` for delivery at `at` (clamped to now: the past cannot be changed).
    #[inline]
    pub fn schedule(&self, at: SimTime, event: E) {
        self.queue.borrow_mut().push(at.max(self.now()), event, false);
    }

    /// Schedules `event` for delivery after `delay`.
    #[inline]
    pub fn schedule_in(&self, delay: SimDuration, event: E) {
        self.schedule(self.now() + delay, event);
    }

    /// Schedules a periodic housekeeping event (a probe, a tick) that does not keep the run alive.
    pub fn schedule_daemon(&self, at: SimTime, event: E) {
        self.queue.borrow_mut().push(at.max(self.now()), event, true);
    }

    /// Schedules a cancellable `event` at `at`.
    #[inline]
    pub fn timer(&self, at: SimTime, event: E) -> TimerId {
        self.queue.borrow_mut().push_timer(at.max(self.now()), event, false)
    }

    /// Cancels a timer; a timer that already fired is left alone. Returns whether it was pending.
    #[inline]
    pub fn cancel(&self, id: TimerId) -> bool {
        self.queue.borrow_mut().cancel(id)
    }

    /// Ends the run at the current instant. Messages already in flight are still handled.
    pub fn abort(&self, reason: impl Into<String>) {
        let mut ending = self.ending.borrow_mut();
        if ending.is_none() {
            *ending = Some(Ending::Aborted(reason.into()));
        }
    }

    /// Whether the run has ended (or is ending).
    pub fn is_over(&self) -> bool {
        self.ending.borrow().is_some()
    }

    /// Called by every actor as the last action of handling a message sent or scheduled through the lab.
    #[inline]
    pub fn handled(&self) {
        let n = self.in_flight.get() - 1;
        self.in_flight.set(n);
        if n == 0 {
            self.advance();
        }
    }

    /// Moves the clock to the next instant with events and delivers them; ends the run when nothing is
    /// left or the hard stop is reached.
    fn advance(&self) {
        if self.ending.borrow().is_some() {
            self.wake();
            return;
        }
        if crate::interrupt::requested() {
            *self.ending.borrow_mut() = Some(Ending::Interrupted);
            self.wake();
            return;
        }
        let limits = self.limits;
        let next = {
            let mut q = self.queue.borrow_mut();
            let next = q.peek_time();
            let no_work = q.pending_work() == 0;
            match next {
                Some(t) if t > limits.stop_at => Err((Ending::Horizon, limits.stop_at)),
                Some(t) if no_work && t > limits.work_until => {
                    Err((Ending::Drained, self.now().max(limits.work_until)))
                }
                None => Err((Ending::Drained, self.now().max(limits.work_until).min(limits.stop_at))),
                Some(t) => Ok(t),
            }
        };
        // Live: never ahead of the real clock. The driver sleeps until the instant and comes back.
        if let Some(clock) = self.pace.get() {
            let due = match &next {
                Ok(t) => *t,
                Err((_, at)) => *at,
            };
            if due > clock() {
                self.idle_until.set(Some(due));
                self.wake();
                return;
            }
        }
        let t = match next {
            Ok(t) => t,
            Err((ending, at)) => {
                self.now.set(at);
                *self.ending.borrow_mut() = Some(ending);
                self.wake();
                return;
            }
        };
        self.now.set(t);
        let mut s = self.stats.get();
        s.instants += 1;
        self.stats.set(s);
        if s.instants % PROGRESS_EVERY == 0 {
            if let Some(p) = self.progress.borrow_mut().as_mut() {
                p(t);
            }
        }
        // Count every event of the instant before delivering the first, so that a fast handler cannot
        // bring the count to zero while events of this instant are still waiting in the queue.
        let mut popped = 0usize;
        loop {
            let ev = self.queue.borrow_mut().pop_at(t);
            match ev {
                Some(ev) => {
                    popped += 1;
                    self.in_flight.set(self.in_flight.get() + 1);
                    self.deliver(ev);
                }
                None => break,
            }
        }
        debug_assert!(popped > 0, "peek_time returned a live event");
    }

    fn wake(&self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Starts the first instant and resolves when the run has ended.
    pub fn run(self: &Rc<Self>) -> impl Future<Output = Ending> + use<E> {
        if self.in_flight.get() == 0 {
            self.advance();
        }
        Finished { lab: Rc::clone(self) }
    }
}

struct Finished<E> {
    lab: Rc<Lab<E>>,
}

impl<E> Future for Finished<E> {
    type Output = Ending;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Ending> {
        let lab = &self.lab;
        if lab.in_flight.get() == 0 {
            if let Some(ending) = lab.ending.borrow().clone() {
                return Poll::Ready(ending);
            }
        }
        let w = lab.waker.take();
        match w {
            Some(w) if w.will_wake(cx.waker()) => lab.waker.set(Some(w)),
            _ => lab.waker.set(Some(cx.waker().clone())),
        }
        Poll::Pending
    }
}
