//! What a live run exposes while it lasts: atomics the actors update and the metrics endpoint
//! (`crate::live::metrics`) reads.

use std::sync::atomic::AtomicU64;

/// What a live run exposes, updated by the actors.
#[derive(Debug, Default)]
pub struct Gauges {
    /// Lab time [ns] (the real time since the start, in live mode).
    pub now_ns: AtomicU64,
    /// Output callbacks.
    pub callbacks: AtomicU64,
    /// Callbacks that were xruns.
    pub xruns: AtomicU64,
    /// Periods never played (late callbacks, a disconnected device).
    pub missing: AtomicU64,
    /// Callbacks short of captured input.
    pub underruns: AtomicU64,
    /// The last callback's DSP load, in millionths of the period.
    pub dsp_load_ppm: AtomicU64,
    /// The highest DSP load so far, in millionths of the period.
    pub dsp_load_max_ppm: AtomicU64,
    /// End-to-end outcomes: ok, failed, timed out, rejected.
    pub requests: [AtomicU64; 4],
}
