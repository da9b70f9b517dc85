//! The floor for the engine benchmark: workload W as a plain event loop (a binary heap of timestamped
//! events, no actors, no supervision, no metrics but the end-to-end latency), the same model as
//! `scenarios/workload-w.toml`: Poisson arrivals at 500/s into gateway (64 workers, exponential 2 ms),
//! which calls mixer (16, 8 ms), which calls storage (8, 12 ms); calls are synchronous, after the
//! caller's own processing, and hold the caller's worker; queues are FIFO and unbounded.
//!
//! `ag06-lab bench --reference` runs it beside the lab's W and prints the ratio of their wall times; the
//! integration tests check that both give the same latency distribution (they are the same model, with
//! different random draws).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand::RngExt;

use crate::sim::stream;

/// W's services: (workers, mean processing time [s]), in call order.
pub const W_SERVICES: [(usize, f64); 3] = [(64, 0.002), (16, 0.008), (8, 0.012)];
/// W's arrival rate [1/s].
pub const W_RATE: f64 = 500.0;

/// What the reference run measured.
#[derive(Clone, Debug)]
pub struct Reference {
    /// Requests that arrived.
    pub requests: u64,
    /// Requests answered.
    pub answered: u64,
    /// Events processed.
    pub events: u64,
    /// End-to-end latency [ms]: mean and p99.
    pub mean_ms: f64,
    /// See `mean_ms`.
    pub p99_ms: f64,
}

/// An event: a request arrives, or service `svc` finished processing the request that arrived at
/// `arrived` (a request is known by its arrival time: nothing else about it is kept).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrive,
    Done { svc: u8, arrived: u64 },
}

type Heap = BinaryHeap<Reverse<(u64, u64, Ev)>>;

/// The loop's state.
struct Loop {
    heap: Heap,
    seq: u64,
    busy: [usize; 3],
    queues: [VecDeque<u64>; 3],
    service: crate::sim::SimRng,
}

/// An exponential draw of mean `mean_s`, in nanoseconds.
fn exp(rng: &mut crate::sim::SimRng, mean_s: f64) -> u64 {
    let u: f64 = rng.random::<f64>();
    (-(1.0 - u).ln() * mean_s * 1e9) as u64
}

impl Loop {
    fn push(&mut self, t: u64, e: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, e)));
    }

    /// Starts the request that arrived at `arrived` at `svc` at `now` if a worker is free, else queues it.
    fn start(&mut self, now: u64, svc: usize, arrived: u64) {
        if self.busy[svc] < W_SERVICES[svc].0 {
            self.busy[svc] += 1;
            let done = now + exp(&mut self.service, W_SERVICES[svc].1);
            self.push(done, Ev::Done { svc: svc as u8, arrived });
        } else {
            self.queues[svc].push_back(arrived);
        }
    }

    /// A worker of `svc` is free at `now`: the next queued request starts.
    fn release(&mut self, now: u64, svc: usize) {
        self.busy[svc] -= 1;
        if let Some(next) = self.queues[svc].pop_front() {
            self.start(now, svc, next);
        }
    }
}

/// Runs W for `duration_s` of arrivals (then until every request is answered), its draws from `seed`.
pub fn workload_w(duration_s: f64, seed: u64) -> Reference {
    let mut arrivals = stream(seed, "reference/arrivals");
    let end_ns = (duration_s * 1e9) as u64;
    let mut l = Loop {
        heap: BinaryHeap::new(),
        seq: 0,
        busy: [0; 3],
        queues: Default::default(),
        service: stream(seed, "reference/service"),
    };
    let mut requests = 0u64;
    let mut latency = hdrhistogram::Histogram::<u64>::new(3).expect("invariant: 3 digits is valid");
    let (mut events, mut answered) = (0u64, 0u64);
    let first = exp(&mut arrivals, 1.0 / W_RATE);
    if first < end_ns {
        l.push(first, Ev::Arrive);
    }
    while let Some(Reverse((now, _, ev))) = l.heap.pop() {
        events += 1;
        match ev {
            Ev::Arrive => {
                requests += 1;
                l.start(now, 0, now);
                let next = now + exp(&mut arrivals, 1.0 / W_RATE);
                if next < end_ns {
                    l.push(next, Ev::Arrive);
                }
            }
            Ev::Done { svc, arrived } => {
                let svc = svc as usize;
                if svc + 1 < W_SERVICES.len() {
                    // Processing done: call the next service, holding this worker.
                    l.start(now, svc + 1, arrived);
                } else {
                    // The last one answers: the chain's workers are released, innermost first.
                    answered += 1;
                    let _ = latency.record((now - arrived).max(1));
                    for s in (0..W_SERVICES.len()).rev() {
                        l.release(now, s);
                    }
                }
            }
        }
    }
    Reference {
        requests,
        answered,
        events,
        mean_ms: latency.mean() / 1e6,
        p99_ms: latency.value_at_quantile(0.99) as f64 / 1e6,
    }
}
