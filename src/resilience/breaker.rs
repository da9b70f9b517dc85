//! Circuit breaker: a pure state machine with resilience4j's semantics (time is passed in).
//!
//! CLOSED records the outcome of every call in a sliding window (the last `window_size` calls, or the
//! calls of the last `window_size` of time). Once the window holds at least `minimum_calls` outcomes (at
//! most the window's size when it counts calls), a failure rate >= `failure_rate_threshold` or a slow-call
//! rate >= `slow_call_rate_threshold` opens the breaker. OPEN rejects every call until its wait
//! (`wait_in_open`, growing by `wait_multiplier` with each consecutive opening, up to `max_wait_in_open`)
//! is over, and admits the first call strictly after it (resilience4j's `OpenState`:
//! `clock.instant().isAfter(retryAfterWaitDuration)`), moving to HALF_OPEN; with `automatic_half_open` it
//! moves on its own when the wait ends. HALF_OPEN admits `half_open_calls` calls and rejects the rest; it
//! decides as soon as min(`minimum_calls`, `half_open_calls`) outcomes are in (resilience4j's
//! `CircuitBreakerMetrics.forHalfOpen`, issue #1523): closed, or open again if a rate reaches its threshold.
//!
//! As in resilience4j, an outcome counts in the state the breaker is in when the call completes, whatever
//! state admitted it (`CircuitBreakerStateMachine.onError` hands it to the current state): a call admitted
//! while CLOSED that completes during HALF_OPEN is part of the trial sample, and outcomes that complete
//! while OPEN change nothing. Where we differ: the time-based window is exact, not bucketed by the second.

use std::collections::VecDeque;

use crate::sim::{SimDuration, SimTime};

/// How the sliding window is measured.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum WindowKind {
    /// The last `n` calls.
    Count(u32),
    /// The calls that completed in the last span of time.
    Time(SimDuration),
}

/// Breaker configuration. Defaults are resilience4j's.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerConfig {
    /// Sliding window. Default: the last 100 calls.
    pub window: WindowKind,
    /// Outcomes needed in the window before rates are evaluated. Default 100.
    pub minimum_calls: u32,
    /// Failure rate [percent] that opens the breaker. Default 50.
    pub failure_rate_threshold: f64,
    /// A call lasting longer than this is slow. Default 60 s.
    pub slow_call_duration: SimDuration,
    /// Slow-call rate [percent] that opens the breaker. Default 100.
    pub slow_call_rate_threshold: f64,
    /// Time spent OPEN before trying HALF_OPEN. Default 60 s.
    pub wait_in_open: SimDuration,
    /// Growth of the wait with each consecutive opening (1 = constant). Default 1.
    pub wait_multiplier: f64,
    /// Upper bound of the grown wait. Default: none.
    pub max_wait_in_open: Option<SimDuration>,
    /// Calls admitted in HALF_OPEN. Default 10.
    pub half_open_calls: u32,
    /// Move to HALF_OPEN when the wait is over without waiting for a call. Default false.
    pub automatic_half_open: bool,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            window: WindowKind::Count(100),
            minimum_calls: 100,
            failure_rate_threshold: 50.0,
            slow_call_duration: SimDuration::from_secs(60),
            slow_call_rate_threshold: 100.0,
            wait_in_open: SimDuration::from_secs(60),
            wait_multiplier: 1.0,
            max_wait_in_open: None,
            half_open_calls: 10,
            automatic_half_open: false,
        }
    }
}

/// The breaker's state.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum BreakerState {
    /// Calls pass and are measured.
    Closed,
    /// Calls are rejected until `until`.
    Open {
        /// When HALF_OPEN becomes possible.
        until: SimTime,
    },
    /// A limited number of trial calls pass.
    HalfOpen,
}

/// A state change, to be logged.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Transition {
    /// To OPEN, with the rates that tripped it [percent] and how long it stays open.
    Opened {
        /// Failure rate of the evaluated sample.
        failure_rate: f64,
        /// Slow-call rate of the evaluated sample.
        slow_rate: f64,
        /// Calls in the evaluated sample.
        calls: u32,
        /// Time until HALF_OPEN.
        wait: SimDuration,
    },
    /// To HALF_OPEN.
    HalfOpened,
    /// To CLOSED, with the rates of the half-open sample.
    Closed {
        /// Failure rate of the trial calls.
        failure_rate: f64,
    },
}

/// Permission to make one call; hand it back with the outcome.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Permit(());

#[derive(Default, Clone, Debug)]
struct Sample {
    calls: u32,
    failed: u32,
    slow: u32,
}

impl Sample {
    fn rates(&self) -> (f64, f64) {
        if self.calls == 0 {
            return (0.0, 0.0);
        }
        let n = f64::from(self.calls);
        (f64::from(self.failed) * 100.0 / n, f64::from(self.slow) * 100.0 / n)
    }
}

/// A circuit breaker.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    cfg: BreakerConfig,
    state: BreakerState,
    /// CLOSED: outcomes in the window (time of completion, failed, slow).
    window: VecDeque<(SimTime, bool, bool)>,
    sample: Sample,
    /// HALF_OPEN: permits left to hand out, and the trial sample.
    half_open_left: u32,
    trial: Sample,
    opens_in_a_row: u32,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(cfg: BreakerConfig) -> Self {
        CircuitBreaker {
            cfg,
            state: BreakerState::Closed,
            window: VecDeque::new(),
            sample: Sample::default(),
            half_open_left: 0,
            trial: Sample::default(),
            opens_in_a_row: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BreakerConfig {
        &self.cfg
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Asks to make a call at `now`. OPEN strictly past its wait moves to HALF_OPEN first (reported as the
    /// transition). `None` means the call is rejected and must not reach the callee.
    pub fn try_acquire(&mut self, now: SimTime) -> (Option<Permit>, Option<Transition>) {
        let mut transition = None;
        if let BreakerState::Open { until } = self.state {
            if now > until {
                transition = Some(self.enter_half_open());
            }
        }
        let permit = match self.state {
            BreakerState::Closed => Some(Permit(())),
            BreakerState::Open { .. } => None,
            BreakerState::HalfOpen if self.half_open_left > 0 => {
                self.half_open_left -= 1;
                Some(Permit(()))
            }
            BreakerState::HalfOpen => None,
        };
        (permit, transition)
    }

    /// When an automatic move to HALF_OPEN is due (only with `automatic_half_open`, while OPEN).
    pub fn half_open_due(&self) -> Option<SimTime> {
        match self.state {
            BreakerState::Open { until } if self.cfg.automatic_half_open => Some(until),
            _ => None,
        }
    }

    /// The automatic move to HALF_OPEN, if it is due at `now`.
    pub fn on_timer(&mut self, now: SimTime) -> Option<Transition> {
        match self.half_open_due() {
            Some(due) if now >= due => Some(self.enter_half_open()),
            _ => None,
        }
    }

    /// Records the outcome of a call made with `permit` that took `duration` and completed at `now`, in
    /// the state the breaker is in now.
    pub fn on_result(
        &mut self,
        now: SimTime,
        _permit: Permit,
        failed: bool,
        duration: SimDuration,
    ) -> Option<Transition> {
        let slow = duration > self.cfg.slow_call_duration;
        match self.state {
            BreakerState::Closed => {
                self.window.push_back((now, failed, slow));
                self.sample.calls += 1;
                self.sample.failed += u32::from(failed);
                self.sample.slow += u32::from(slow);
                self.prune(now);
                if self.sample.calls >= self.cfg.minimum_calls.min(self.capacity()) {
                    let (failure_rate, slow_rate) = self.sample.rates();
                    if self.trips(failure_rate, slow_rate) {
                        let calls = self.sample.calls;
                        return Some(self.enter_open(now, failure_rate, slow_rate, calls));
                    }
                }
                None
            }
            BreakerState::HalfOpen => {
                self.trial.calls += 1;
                self.trial.failed += u32::from(failed);
                self.trial.slow += u32::from(slow);
                if self.trial.calls < self.cfg.minimum_calls.min(self.cfg.half_open_calls) {
                    return None;
                }
                let (failure_rate, slow_rate) = self.trial.rates();
                if self.trips(failure_rate, slow_rate) {
                    let calls = self.trial.calls;
                    Some(self.enter_open(now, failure_rate, slow_rate, calls))
                } else {
                    Some(self.enter_closed(failure_rate))
                }
            }
            BreakerState::Open { .. } => None,
        }
    }

    fn capacity(&self) -> u32 {
        match self.cfg.window {
            WindowKind::Count(n) => n,
            WindowKind::Time(_) => u32::MAX,
        }
    }

    fn trips(&self, failure_rate: f64, slow_rate: f64) -> bool {
        failure_rate >= self.cfg.failure_rate_threshold || slow_rate >= self.cfg.slow_call_rate_threshold
    }

    fn prune(&mut self, now: SimTime) {
        loop {
            let drop = match (self.cfg.window, self.window.front()) {
                (WindowKind::Count(n), Some(_)) => self.window.len() > n as usize,
                (WindowKind::Time(span), Some((t, _, _))) => *t + span <= now,
                (_, None) => false,
            };
            if !drop {
                break;
            }
            let (_, failed, slow) = self.window.pop_front().expect("invariant: front exists");
            self.sample.calls -= 1;
            self.sample.failed -= u32::from(failed);
            self.sample.slow -= u32::from(slow);
        }
    }

    fn enter_open(&mut self, now: SimTime, failure_rate: f64, slow_rate: f64, calls: u32) -> Transition {
        let grown = self.cfg.wait_in_open.as_secs_f64() * self.cfg.wait_multiplier.powi(self.opens_in_a_row as i32);
        let mut wait = SimDuration::from_secs_f64(grown);
        if let Some(max) = self.cfg.max_wait_in_open {
            wait = wait.min(max);
        }
        self.opens_in_a_row += 1;
        self.state = BreakerState::Open { until: now + wait };
        self.window.clear();
        self.sample = Sample::default();
        Transition::Opened { failure_rate, slow_rate, calls, wait }
    }

    fn enter_half_open(&mut self) -> Transition {
        self.state = BreakerState::HalfOpen;
        self.half_open_left = self.cfg.half_open_calls;
        self.trial = Sample::default();
        Transition::HalfOpened
    }

    fn enter_closed(&mut self, failure_rate: f64) -> Transition {
        self.state = BreakerState::Closed;
        self.opens_in_a_row = 0;
        self.window.clear();
        self.sample = Sample::default();
        Transition::Closed { failure_rate }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> SimDuration {
        SimDuration::from_millis(x)
    }
    fn at(x: u64) -> SimTime {
        SimTime::ZERO + ms(x)
    }

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            window: WindowKind::Count(10),
            minimum_calls: 5,
            failure_rate_threshold: 50.0,
            wait_in_open: ms(1000),
            half_open_calls: 3,
            ..BreakerConfig::default()
        }
    }

    /// Makes a call at `t` that fails or not and takes 1 ms.
    fn call(b: &mut CircuitBreaker, t: u64, failed: bool) -> Option<Transition> {
        let (p, _) = b.try_acquire(at(t));
        b.on_result(at(t), p.expect("admitted"), failed, ms(1))
    }

    #[test]
    fn defaults_are_resilience4j_defaults() {
        let d = BreakerConfig::default();
        assert_eq!(d.window, WindowKind::Count(100));
        assert_eq!(d.minimum_calls, 100);
        assert_eq!(d.failure_rate_threshold, 50.0);
        assert_eq!(d.slow_call_rate_threshold, 100.0);
        assert_eq!(d.slow_call_duration, SimDuration::from_secs(60));
        assert_eq!(d.wait_in_open, SimDuration::from_secs(60));
        assert_eq!(d.half_open_calls, 10);
        assert!(!d.automatic_half_open);
    }

    #[test]
    fn opens_at_the_threshold_only_once_minimum_calls_is_reached() {
        let mut b = CircuitBreaker::new(cfg());
        // 4 failures: 100% failure rate, but only 4 < 5 calls recorded.
        for t in 0..4 {
            assert_eq!(call(&mut b, t, true), None);
        }
        // The fifth call (a success) makes 4/5 = 80% >= 50%: open.
        match call(&mut b, 4, false) {
            Some(Transition::Opened { failure_rate, calls, wait, .. }) => {
                assert_eq!(failure_rate, 80.0);
                assert_eq!(calls, 5);
                assert_eq!(wait, ms(1000));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(b.state(), BreakerState::Open { until: at(1004) });
    }

    #[test]
    fn below_the_threshold_stays_closed_and_the_window_slides() {
        let mut b = CircuitBreaker::new(cfg());
        // Alternate 2 successes, 1 failure: 33% < 50%.
        for t in 0..30 {
            assert_eq!(call(&mut b, t, t % 3 == 2), None);
        }
        // Now 10 successes then failures: the window holds the last 10, so it takes 5 failures to reach 50%.
        for t in 30..40 {
            call(&mut b, t, false);
        }
        for t in 40..44 {
            assert_eq!(call(&mut b, t, true), None, "{} failures in the window", t - 39);
        }
        assert!(
            matches!(call(&mut b, 44, true), Some(Transition::Opened { failure_rate, .. }) if failure_rate == 50.0)
        );
    }

    #[test]
    fn open_rejects_then_half_open_admits_exactly_half_open_calls() {
        let mut b = CircuitBreaker::new(cfg());
        for t in 0..5 {
            call(&mut b, t, true);
        }
        assert!(matches!(b.state(), BreakerState::Open { .. }));
        // Rejected while open, and at the very end of the wait (resilience4j's OpenState admits a call only
        // when `clock.instant().isAfter(retryAfterWaitDuration)`).
        assert_eq!(b.try_acquire(at(500)), (None, None));
        assert_eq!(b.try_acquire(at(1004)), (None, None));
        // The first attempt strictly after the wait moves to HALF_OPEN and is admitted.
        let (p1, tr) = b.try_acquire(at(1004) + SimDuration::from_nanos(1));
        assert_eq!(tr, Some(Transition::HalfOpened));
        let p2 = b.try_acquire(at(1005)).0;
        let p3 = b.try_acquire(at(1006)).0;
        assert!(p1.is_some() && p2.is_some() && p3.is_some());
        assert_eq!(b.try_acquire(at(1007)).0, None, "a fourth call is rejected");
        // Two successes and one failure: 33% < 50%: closed once all three are in.
        assert_eq!(b.on_result(at(1010), p1.unwrap(), false, ms(1)), None);
        assert_eq!(b.on_result(at(1011), p2.unwrap(), true, ms(1)), None);
        let closed = b.on_result(at(1012), p3.unwrap(), false, ms(1));
        assert!(matches!(closed, Some(Transition::Closed { .. })), "{closed:?}");
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn failed_trial_calls_reopen_with_a_growing_wait() {
        let mut c = cfg();
        c.wait_multiplier = 2.0;
        c.max_wait_in_open = Some(ms(3000));
        let mut b = CircuitBreaker::new(c);
        for t in 0..5 {
            call(&mut b, t, true);
        }
        let mut t = 1005;
        for want_wait in [2000, 3000, 3000] {
            let perms: Vec<_> = (0..3).map(|i| b.try_acquire(at(t + i)).0.unwrap()).collect();
            let mut last = None;
            for p in perms {
                last = b.on_result(at(t + 10), p, true, ms(1));
            }
            match last {
                Some(Transition::Opened { wait, failure_rate, .. }) => {
                    assert_eq!(wait, ms(want_wait));
                    assert_eq!(failure_rate, 100.0);
                }
                other => panic!("{other:?}"),
            }
            t += 10 + want_wait + 1;
        }
    }

    #[test]
    fn slow_calls_count_towards_the_slow_call_rate() {
        let mut c = cfg();
        c.slow_call_duration = ms(100);
        c.slow_call_rate_threshold = 60.0;
        let mut b = CircuitBreaker::new(c);
        // Successful but slow (150 ms > 100 ms): 3 of 5 = 60%.
        for (t, d) in [(0, 150), (1, 10), (2, 150), (3, 10)] {
            let (p, _) = b.try_acquire(at(t));
            assert_eq!(b.on_result(at(t), p.unwrap(), false, ms(d)), None);
        }
        let (p, _) = b.try_acquire(at(4));
        let tr = b.on_result(at(4), p.unwrap(), false, ms(150));
        assert!(
            matches!(tr, Some(Transition::Opened { slow_rate, failure_rate, .. }) if slow_rate == 60.0 && failure_rate == 0.0),
            "{tr:?}"
        );
        // Exactly the threshold duration is not slow.
        let mut b =
            CircuitBreaker::new(BreakerConfig { slow_call_duration: ms(100), slow_call_rate_threshold: 1.0, ..cfg() });
        for t in 0..10 {
            let (p, _) = b.try_acquire(at(t));
            assert_eq!(b.on_result(at(t), p.unwrap(), false, ms(100)), None);
        }
    }

    #[test]
    fn time_window_forgets_old_outcomes() {
        let mut b = CircuitBreaker::new(BreakerConfig { window: WindowKind::Time(ms(100)), minimum_calls: 4, ..cfg() });
        // Three failures, then a long pause: they leave the window.
        for t in 0..3 {
            call(&mut b, t, true);
        }
        for t in 200..203 {
            assert_eq!(call(&mut b, t, false), None);
        }
        // Window now: 3 successes; a failure makes 1/4 = 25%.
        assert_eq!(call(&mut b, 203, true), None);
    }

    proptest::proptest! {
        /// Whatever happens, no permit is handed out while the breaker is open, and never more than
        /// `half_open_calls` while half-open.
        #[test]
        fn no_call_passes_an_open_breaker(ops in proptest::collection::vec((0u64..50, proptest::bool::ANY, 0u8..3), 1..400)) {
            let mut b = CircuitBreaker::new(BreakerConfig { automatic_half_open: false, ..cfg() });
            let mut t = 0u64;
            let mut outstanding: Vec<Permit> = Vec::new();
            let mut half_open_permits = 0u32;
            for (dt, failed, op) in ops {
                t += dt;
                let now = at(t);
                match op {
                    0 | 1 => {
                        let before = b.state();
                        let (p, tr) = b.try_acquire(now);
                        if tr == Some(Transition::HalfOpened) {
                            half_open_permits = 0;
                        }
                        if let BreakerState::Open { until } = before {
                            if now <= until {
                                proptest::prop_assert!(p.is_none(), "a permit while open");
                            }
                        }
                        if let Some(p) = p {
                            if b.state() == BreakerState::HalfOpen {
                                half_open_permits += 1;
                                proptest::prop_assert!(half_open_permits <= b.config().half_open_calls);
                            }
                            outstanding.push(p);
                        }
                    }
                    _ => {
                        if !outstanding.is_empty() {
                            let p = outstanding.remove(0);
                            b.on_result(now, p, failed, ms(1));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn automatic_half_open_and_late_outcomes_count_where_they_land() {
        let mut b = CircuitBreaker::new(BreakerConfig { automatic_half_open: true, ..cfg() });
        let (early, _) = b.try_acquire(at(0));
        for t in 0..5 {
            call(&mut b, t, true);
        }
        assert_eq!(b.half_open_due(), Some(at(1004)));
        // An outcome that completes while OPEN changes nothing.
        assert_eq!(b.on_result(at(500), Permit(()), false, ms(1)), None);
        assert_eq!(b.on_timer(at(1003)), None);
        assert_eq!(b.on_timer(at(1004)), Some(Transition::HalfOpened));
        // A call admitted while CLOSED and answered now is part of the trial sample, as in resilience4j
        // (`CircuitBreakerStateMachine.onError` hands every outcome to the current state): 1 of 3.
        assert_eq!(b.on_result(at(1005), early.unwrap(), true, ms(1)), None);
        let p1 = b.try_acquire(at(1006)).0.unwrap();
        let p2 = b.try_acquire(at(1007)).0.unwrap();
        assert_eq!(b.on_result(at(1010), p1, false, ms(1)), None);
        let closed = b.on_result(at(1011), p2, false, ms(1));
        assert!(
            matches!(closed, Some(Transition::Closed { failure_rate }) if (failure_rate - 100.0 / 3.0).abs() < 1e-9)
        );
    }

    /// resilience4j's own `CircuitBreakerStateMachineTest` configuration: time window of 20 s, minimum 5
    /// calls, 4 permitted in HALF_OPEN, failure and slow-call thresholds 50%, slow above 4 s, wait 5 s.
    fn r4j() -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            window: WindowKind::Time(SimDuration::from_secs(20)),
            minimum_calls: 5,
            failure_rate_threshold: 50.0,
            slow_call_duration: SimDuration::from_secs(4),
            slow_call_rate_threshold: 50.0,
            wait_in_open: SimDuration::from_secs(5),
            half_open_calls: 4,
            ..BreakerConfig::default()
        })
    }

    /// Opens `b` at `t` ms (five failures) and moves it to HALF_OPEN strictly after its wait.
    fn to_half_open(b: &mut CircuitBreaker) -> SimTime {
        for _ in 0..5 {
            call(b, 0, true);
        }
        let t = at(5000) + SimDuration::from_nanos(1);
        assert_eq!(b.try_acquire(t).1, Some(Transition::HalfOpened));
        t
    }

    /// Ported from `shouldTransitionBackToOpenStateWhenFailureRateIsAboveThreshold`: 3 failures of the 4
    /// permitted calls reopen the breaker at 75%.
    #[test]
    fn r4j_half_open_reopens_above_the_failure_threshold() {
        let mut b = r4j();
        let t = to_half_open(&mut b);
        // The first permit was taken by the transition; three more are left.
        let perms: Vec<_> = (0..3).map(|_| b.try_acquire(t).0.expect("permitted")).collect();
        let first = Permit(());
        assert_eq!(b.on_result(t, first, true, ms(0)), None);
        assert_eq!(b.on_result(t, perms[0], true, ms(0)), None);
        assert_eq!(b.on_result(t, perms[1], false, ms(0)), None);
        let tr = b.on_result(t, perms[2], true, ms(0));
        assert!(
            matches!(tr, Some(Transition::Opened { failure_rate, calls: 4, .. }) if failure_rate == 75.0),
            "{tr:?}"
        );
    }

    /// Ported from `shouldTransitionBackToOpenStateWhenSlowCallRateIsAboveThreshold`: 3 slow calls (5 s >
    /// 4 s) of 4 reopen it at a slow-call rate of 75% with no failure.
    #[test]
    fn r4j_half_open_reopens_above_the_slow_call_threshold() {
        let mut b = r4j();
        let t = to_half_open(&mut b);
        let mut last = None;
        for took in [5000, 5000, 5000, 1000] {
            last = b.on_result(t, Permit(()), false, ms(took));
        }
        assert!(
            matches!(last, Some(Transition::Opened { slow_rate, failure_rate, .. }) if slow_rate == 75.0 && failure_rate == 0.0),
            "{last:?}"
        );
    }

    /// Ported from `shouldTransitionBackToClosedStateWhenFailureIsBelowThreshold`: 1 failure of 4 closes it,
    /// although `minimum_calls` (5) exceeds the calls permitted in HALF_OPEN (4): the decision needs
    /// min(5, 4) outcomes.
    #[test]
    fn r4j_half_open_closes_below_the_threshold_with_minimum_calls_above_the_permitted() {
        let mut b = r4j();
        let t = to_half_open(&mut b);
        let mut last = None;
        for failed in [true, false, false, false] {
            last = b.on_result(t, Permit(()), failed, ms(0));
        }
        assert_eq!(last, Some(Transition::Closed { failure_rate: 25.0 }));
        assert_eq!(b.state(), BreakerState::Closed);
    }

    /// resilience4j issue #1523 ("expected behaviour"): with minimumNumberOfCalls 2 and 10 calls permitted
    /// in HALF_OPEN, the decision is taken after 2 outcomes, not 10.
    #[test]
    fn half_open_decides_once_minimum_calls_outcomes_are_in() {
        let mut b = CircuitBreaker::new(BreakerConfig { minimum_calls: 2, half_open_calls: 10, ..cfg() });
        for t in 0..2 {
            call(&mut b, t, true);
        }
        let t = at(2000);
        assert_eq!(b.try_acquire(t).1, Some(Transition::HalfOpened));
        let p = b.try_acquire(t).0.unwrap();
        assert_eq!(b.on_result(t, p, true, ms(1)), None);
        let tr = b.on_result(t, p, true, ms(1));
        assert!(matches!(tr, Some(Transition::Opened { calls: 2, .. })), "{tr:?}");
    }
}
