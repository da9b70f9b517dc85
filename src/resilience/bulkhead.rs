//! Bulkhead (resilience4j's semaphore bulkhead): at most `max_concurrent` calls in flight from one caller to
//! one dependency; a call beyond that waits up to `max_wait` for a slot (FIFO), or is rejected.

use std::collections::VecDeque;

use crate::sim::SimDuration;

/// Bulkhead configuration. Defaults are resilience4j's.
#[derive(Clone, Debug, PartialEq)]
pub struct BulkheadConfig {
    /// Calls in flight at most. Default 25.
    pub max_concurrent: u32,
    /// How long a call may wait for a slot. Default 0 (reject at once).
    pub max_wait: SimDuration,
}

impl Default for BulkheadConfig {
    fn default() -> Self {
        BulkheadConfig { max_concurrent: 25, max_wait: SimDuration::ZERO }
    }
}

/// What happens to a call that asks to enter.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// It goes ahead.
    Admitted,
    /// It waits (at most `max_wait`) for a slot; call [`Bulkhead::release`] to hand slots on.
    Queued,
    /// It is rejected.
    Rejected,
}

/// A bulkhead over calls identified by `T`.
#[derive(Clone, Debug)]
pub struct Bulkhead<T> {
    cfg: BulkheadConfig,
    active: u32,
    waiting: VecDeque<T>,
}

impl<T: PartialEq> Bulkhead<T> {
    /// An empty bulkhead.
    pub fn new(cfg: BulkheadConfig) -> Self {
        Bulkhead { cfg, active: 0, waiting: VecDeque::new() }
    }

    /// The configuration.
    pub fn config(&self) -> &BulkheadConfig {
        &self.cfg
    }

    /// Calls in flight.
    pub fn active(&self) -> u32 {
        self.active
    }

    /// Asks to enter with call `id`.
    pub fn enter(&mut self, id: T) -> Entry {
        if self.active < self.cfg.max_concurrent {
            self.active += 1;
            Entry::Admitted
        } else if !self.cfg.max_wait.is_zero() {
            self.waiting.push_back(id);
            Entry::Queued
        } else {
            Entry::Rejected
        }
    }

    /// A call in flight is done; returns the waiting call admitted in its place, if any.
    pub fn release(&mut self) -> Option<T> {
        debug_assert!(self.active > 0, "release without a call in flight");
        match self.waiting.pop_front() {
            Some(next) => Some(next),
            None => {
                self.active = self.active.saturating_sub(1);
                None
            }
        }
    }

    /// A waiting call gave up (its `max_wait` is over, or its request is gone). Returns whether it was
    /// still waiting.
    pub fn abandon(&mut self, id: &T) -> bool {
        match self.waiting.iter().position(|w| w == id) {
            Some(i) => {
                self.waiting.remove(i);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn admits_queues_and_rejects() {
        let mut b = Bulkhead::new(BulkheadConfig { max_concurrent: 2, max_wait: SimDuration::ZERO });
        assert_eq!(b.enter(1), Entry::Admitted);
        assert_eq!(b.enter(2), Entry::Admitted);
        assert_eq!(b.enter(3), Entry::Rejected);
        assert_eq!(b.release(), None);
        assert_eq!(b.enter(4), Entry::Admitted);
        let mut w = Bulkhead::new(BulkheadConfig { max_concurrent: 1, max_wait: SimDuration::from_millis(5) });
        assert_eq!(w.enter(1), Entry::Admitted);
        assert_eq!(w.enter(2), Entry::Queued);
        assert_eq!(w.enter(3), Entry::Queued);
        assert!(w.abandon(&2));
        assert_eq!(w.release(), Some(3), "the slot goes to the next waiter");
        assert_eq!(w.active(), 1);
        assert_eq!(w.release(), None);
        assert_eq!(w.active(), 0);
    }

    proptest! {
        /// Never more than `max_concurrent` calls in flight, whatever the order of entries, releases and
        /// abandons.
        #[test]
        fn never_more_than_the_limit_in_flight(ops in proptest::collection::vec(0u8..3, 1..500), limit in 1u32..8, wait in any::<bool>()) {
            let mut b = Bulkhead::new(BulkheadConfig { max_concurrent: limit, max_wait: SimDuration::from_millis(u64::from(wait)) });
            let mut in_flight = 0u32;
            let mut next_id = 0u32;
            let mut waiting: Vec<u32> = Vec::new();
            for op in ops {
                match op {
                    0 => {
                        next_id += 1;
                        match b.enter(next_id) {
                            Entry::Admitted => in_flight += 1,
                            Entry::Queued => waiting.push(next_id),
                            Entry::Rejected => {}
                        }
                    }
                    1 if in_flight > 0 => {
                        if let Some(admitted) = b.release() {
                            waiting.retain(|w| *w != admitted);
                        } else {
                            in_flight -= 1;
                        }
                    }
                    2 if !waiting.is_empty() => {
                        let w = waiting.remove(0);
                        prop_assert!(b.abandon(&w));
                    }
                    _ => {}
                }
                prop_assert!(in_flight <= limit);
                prop_assert_eq!(in_flight, b.active());
            }
        }
    }
}
