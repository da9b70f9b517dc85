//! Metrics kept by the actors themselves: counters, HdrHistograms (3 significant digits, nanoseconds) and
//! time-weighted levels (busy workers, queue length), per window and for the whole run.
//!
//! Windows are rolled lazily: a meter closes every window that ended before the instant it is told about,
//! so an idle service costs nothing between requests and late windows still get their (empty) rows.

pub(crate) use crate::model::summary::{Counts, LatencySummary};
use hdrhistogram::Histogram;

use crate::sim::{SimDuration, SimTime};

/// Significant digits of every latency histogram.
pub(crate) const SIGFIG: u8 = 3;

/// How one request ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Success, with its latency.
    Ok(SimDuration),
    /// Failure.
    Failed,
    /// The caller gave up.
    TimedOut,
    /// Queue full.
    Rejected,
}

impl Counts {
    /// Counts one outcome.
    pub fn add(&mut self, o: Outcome) {
        self.requests += 1;
        match o {
            Outcome::Ok(_) => self.ok += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::TimedOut => self.timed_out += 1,
            Outcome::Rejected => self.rejected += 1,
        }
    }
}

/// A latency histogram with an exact sum, min and max alongside.
#[derive(Clone, Debug)]
pub struct Latency {
    hist: Histogram<u64>,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            hist: Histogram::new(SIGFIG).expect("invariant: 3 significant digits is a valid histogram"),
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }
}

/// Nanoseconds to milliseconds, rounded to the nanosecond so that printed figures carry no float noise.
pub(crate) fn ns_to_ms(ns: f64) -> f64 {
    ns.round() / 1e6
}

impl Latency {
    /// Records one latency.
    #[inline]
    pub fn record(&mut self, d: SimDuration) {
        let ns = d.as_nanos();
        // Auto-resizing histogram: `record` grows it; only an absurd value (> 2^63 ns) could fail.
        if self.hist.record(ns.max(1)).is_err() {
            self.hist.saturating_record(ns);
        }
        self.sum_ns += u128::from(ns);
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// Number of recorded values.
    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The value at quantile `q` (0..1) in ms; `None` when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        self.quantile_ns(q).map(|ns| ns_to_ms(ns as f64))
    }

    /// The value at quantile `q` (0..1) in ns (the histogram's, at most the exact maximum); `None` when empty.
    fn quantile_ns(&self, q: f64) -> Option<u64> {
        (!self.is_empty()).then(|| self.hist.value_at_quantile(q).min(self.max_ns))
    }

    /// The exact maximum in ms; `None` when empty.
    pub fn max_ms(&self) -> Option<f64> {
        self.max_ns().map(|ns| ns_to_ms(ns as f64))
    }

    /// The exact maximum in ns; `None` when empty.
    fn max_ns(&self) -> Option<u64> {
        (!self.is_empty()).then_some(self.max_ns)
    }

    /// Mean, percentiles and max (all zero when empty).
    pub fn summary(&self) -> LatencySummary {
        if self.is_empty() {
            return LatencySummary::default();
        }
        let q = |x| self.quantile_ms(x).unwrap_or(0.0);
        LatencySummary {
            min: ns_to_ms(self.min_ns as f64),
            mean: ns_to_ms(self.sum_ns as f64 / self.len() as f64),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: self.max_ms().unwrap_or(0.0),
        }
    }

    /// A latency from a histogram read back from disk; its exact mean and max come from the run's
    /// summary (`latency_ms`), since the histogram only keeps 3 significant digits.
    pub fn from_histogram(hist: Histogram<u64>, summary_ms: &LatencySummary) -> Self {
        let n = hist.len();
        let mean_ns = summary_ms.mean * 1e6;
        let max_ns = (summary_ms.max * 1e6).round() as u64;
        let min_ns = if n > 0 { (summary_ms.min * 1e6).round() as u64 } else { u64::MAX };
        Latency { hist, sum_ns: (mean_ns * n as f64).round() as u128, min_ns, max_ns }
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Latency) {
        if other.is_empty() {
            return;
        }
        if self.hist.add(&other.hist).is_err() {
            // Only possible if auto-resize were off; every histogram here auto-resizes.
            for v in other.hist.iter_recorded() {
                self.hist.saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
        self.sum_ns += other.sum_ns;
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    /// Clears the values, keeping the allocation.
    pub fn reset(&mut self) {
        self.hist.reset();
        self.sum_ns = 0;
        self.min_ns = u64::MAX;
        self.max_ns = 0;
    }

    /// Counts per bucket: one per edge [ms] (values above the previous edge, up to and including this one),
    /// and a last one above the highest edge. Histogram resolution: values within 0.1% of an edge may fall
    /// on either side of it.
    pub fn buckets(&self, edges_ms: &[f64]) -> Vec<u64> {
        let mut counts = vec![0; edges_ms.len() + 1];
        for v in self.hist.iter_recorded() {
            let ms = self.hist.median_equivalent(v.value_iterated_to()) as f64 / 1e6;
            let k = edges_ms.iter().position(|e| ms <= *e).unwrap_or(edges_ms.len());
            counts[k] += v.count_at_value();
        }
        counts
    }

    /// The underlying histogram.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }
}

/// One timeseries row: a window of one service. A day of 5 s windows is 17,280 rows per service, so a row
/// keeps its latencies as the histogram's nanoseconds (8 bytes each, where `Option<f64>` takes 16) and its
/// per-threshold counts stay with the meter ([`ServiceMetrics::within_by_window`]): 104 bytes, no allocation.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct WindowRow {
    /// Window start [s].
    pub t_s: f64,
    /// Outcomes decided in the window.
    pub counts: Counts,
    p50: WindowNs,
    p99: WindowNs,
    max: WindowNs,
    wait_p99: WindowNs,
    /// Busy worker-seconds / worker-seconds.
    pub utilization: f64,
    /// Time-averaged number of waiting requests.
    pub queue_depth: f64,
    /// Time-averaged number of workers (changes with autoscaling).
    pub workers: f64,
}

impl WindowRow {
    /// Median latency of successes in the window [ms].
    pub fn p50_ms(&self) -> Option<f64> {
        self.p50.ms()
    }

    /// 99th percentile [ms].
    pub fn p99_ms(&self) -> Option<f64> {
        self.p99.ms()
    }

    /// Maximum [ms].
    pub fn max_ms(&self) -> Option<f64> {
        self.max.ms()
    }

    /// 99th percentile of the queue wait of the requests that started in the window [ms].
    pub fn wait_p99_ms(&self) -> Option<f64> {
        self.wait_p99.ms()
    }
}

/// A latency of a window in nanoseconds, or none (no value in the window). `u64::MAX` ns (584 years) is
/// the none; a latency that long is kept one nanosecond shorter.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct WindowNs(u64);

impl WindowNs {
    const NONE: WindowNs = WindowNs(u64::MAX);

    fn of(ns: Option<u64>) -> WindowNs {
        ns.map_or(WindowNs::NONE, |ns| WindowNs(ns.min(u64::MAX - 1)))
    }

    /// In ms, exactly as [`Latency::quantile_ms`] and [`Latency::max_ms`] give it.
    fn ms(self) -> Option<f64> {
        (self != WindowNs::NONE).then(|| ns_to_ms(self.0 as f64))
    }
}

/// Levels integrated over time.
#[derive(Copy, Clone, Debug, Default)]
struct Areas {
    busy: u128,
    capacity: u128,
    queue: u128,
    /// Workers in their own processing (CPU), when tracked.
    cpu: u128,
}

impl Areas {
    fn add(&mut self, busy: u32, capacity: u32, queue: u32, cpu: u32, dt: u64) {
        let dt = u128::from(dt);
        self.busy += u128::from(busy) * dt;
        self.capacity += u128::from(capacity) * dt;
        self.queue += u128::from(queue) * dt;
        self.cpu += u128::from(cpu) * dt;
    }
}

/// The server-side meter of one service.
#[derive(Clone, Debug)]
pub(crate) struct ServiceMeter {
    window: SimDuration,
    index: u64,
    window_end: SimTime,
    last: SimTime,
    busy: u32,
    capacity: u32,
    queued: u32,
    /// CPU tracking (an autoscaler on CPU needs it): workers in their own processing, and when each of
    /// them finishes it.
    cpu: Option<Cpu>,
    win_counts: Counts,
    win_latency: Latency,
    win_wait: Latency,
    win_areas: Areas,
    rows: Vec<WindowRow>,
    /// Per closed window, the successes within each threshold (`thresholds.len()` a window).
    rows_within: Vec<u64>,
    counts: Counts,
    latency: Latency,
    wait: Latency,
    areas: Areas,
    /// Whole-run areas at the last [`ServiceMeter::take_utilization`].
    taken: Areas,
    thresholds: Vec<(SimDuration, u64)>,
    win_within: Vec<u64>,
}

/// Workers in their own processing, ending at known instants.
#[derive(Clone, Debug, Default)]
struct Cpu {
    level: u32,
    ends: std::collections::BinaryHeap<std::cmp::Reverse<SimTime>>,
}

/// What a service meter hands back at the end.
#[derive(Clone, Debug)]
pub struct ServiceMetrics {
    /// Whole-run counters.
    pub counts: Counts,
    /// Whole-run latency of successes (server side: arrival at the service to its answer).
    pub latency: Latency,
    /// Whole-run queue wait: arrival at the service to the start of its processing, per request started.
    pub queue_wait: Latency,
    /// Busy worker-seconds / worker-seconds over the run.
    pub utilization: f64,
    /// Time-averaged queue length over the run.
    pub queue_depth: f64,
    /// Successes within each threshold asked for, in the order given.
    pub within: Vec<(SimDuration, u64)>,
    /// One row per window.
    pub rows: Vec<WindowRow>,
    /// Successes within each threshold of `within` in each window: window `i`'s count for threshold `k`
    /// is at `i * within.len() + k`.
    pub within_by_window: Vec<u64>,
}

impl ServiceMetrics {
    /// Successes within the `k`th threshold of `within`, window by window.
    pub fn within_per_window(&self, k: usize) -> impl Iterator<Item = u64> + '_ {
        let stride = self.within.len();
        (0..self.rows.len()).map(move |i| if k < stride { self.within_by_window[i * stride + k] } else { 0 })
    }
}

/// The windows of `window` a run ending at `end` closes (the last one partial), plus one.
pub(crate) fn windows_until(end: SimTime, window: SimDuration) -> usize {
    usize::try_from(end.as_nanos().div_ceil(window.as_nanos().max(1))).unwrap_or(usize::MAX).saturating_add(1)
}

/// The most rows a series makes room for up front: 2^18 windows (15 days of 5 s windows). A longer run's
/// series grow beyond as their rows come.
pub(crate) const MAX_RESERVED_WINDOWS: usize = 1 << 18;

/// Makes room in `rows` for `per_window` rows of each of `windows` windows, up to
/// [`MAX_RESERVED_WINDOWS`] windows, where the memory can be had (and otherwise leaves the rows to grow
/// as they come): a run of years does not ask for all its rows at the start.
pub(crate) fn reserve_windows<T>(rows: &mut Vec<T>, windows: usize, per_window: usize) {
    let total = windows.min(MAX_RESERVED_WINDOWS) * per_window;
    let _ = rows.try_reserve_exact(total.saturating_sub(rows.len()));
}

impl ServiceMeter {
    /// A meter with `workers` workers, counting successes within each of `thresholds`.
    pub(crate) fn new(window: SimDuration, workers: u32, thresholds: Vec<SimDuration>) -> Self {
        ServiceMeter {
            window,
            index: 0,
            window_end: SimTime::ZERO + window,
            last: SimTime::ZERO,
            busy: 0,
            capacity: workers,
            queued: 0,
            cpu: None,
            win_counts: Counts::default(),
            win_latency: Latency::default(),
            win_wait: Latency::default(),
            win_areas: Areas::default(),
            rows: Vec::new(),
            rows_within: Vec::new(),
            counts: Counts::default(),
            latency: Latency::default(),
            wait: Latency::default(),
            areas: Areas::default(),
            taken: Areas::default(),
            win_within: vec![0; thresholds.len()],
            thresholds: thresholds.into_iter().map(|t| (t, 0)).collect(),
        }
    }

    /// Makes room for the rows of every window up to `end` (a run's last instant), so that the rows are
    /// not reallocated as they grow (a reallocation holds the old rows and the new beside each other, and
    /// leaves up to twice the room needed).
    pub(crate) fn reserve_until(&mut self, end: SimTime) {
        let windows = windows_until(end, self.window);
        reserve_windows(&mut self.rows, windows, 1);
        reserve_windows(&mut self.rows_within, windows, self.thresholds.len());
    }

    /// Integrates the levels up to `now`, closing every window that ended on the way.
    #[inline]
    fn sync(&mut self, now: SimTime) {
        while now >= self.window_end {
            let end = self.window_end;
            self.integrate(end);
            self.close_window(self.window.as_nanos());
        }
        self.integrate(now);
    }

    #[inline]
    fn integrate(&mut self, to: SimTime) {
        if self.cpu.is_some() {
            // The processing that ended on the way lowers the CPU level at its own instant.
            while let Some(end) = self.cpu.as_ref().and_then(|c| c.ends.peek()).map(|e| e.0).filter(|e| *e <= to) {
                self.integrate_levels(end);
                let cpu = self.cpu.as_mut().expect("invariant: tracked");
                cpu.ends.pop();
                cpu.level -= 1;
            }
        }
        self.integrate_levels(to);
    }

    #[inline]
    fn integrate_levels(&mut self, to: SimTime) {
        let dt = (to - self.last).as_nanos();
        if dt > 0 {
            let cpu = self.cpu.as_ref().map_or(0, |c| c.level);
            self.win_areas.add(self.busy, self.capacity, self.queued, cpu, dt);
            self.last = to;
        }
    }

    /// Tracks CPU: the time workers spend in their own processing ([`ServiceMeter::processing`]).
    pub(crate) fn track_cpu(mut self) -> Self {
        self.cpu = Some(Cpu::default());
        self
    }

    /// A worker is in its own processing from `now` until `until` (tracked only with CPU tracking).
    #[inline]
    pub(crate) fn processing(&mut self, now: SimTime, until: SimTime) {
        if self.cpu.is_some() {
            self.sync(now);
            let cpu = self.cpu.as_mut().expect("invariant: tracked");
            cpu.level += 1;
            cpu.ends.push(std::cmp::Reverse(until));
        }
    }

    /// Every processing stops at `now` (the service went down).
    pub(crate) fn abort_processing(&mut self, now: SimTime) {
        if self.cpu.is_some() {
            self.sync(now);
            self.cpu = Some(Cpu::default());
        }
    }

    /// Closes the current window, which covered `span_ns` (less than a window only at the end of the run).
    fn close_window(&mut self, span_ns: u64) {
        let start = self.window_end.as_nanos() - self.window.as_nanos();
        let mut row = window_row(start, span_ns, &self.win_counts, &self.win_latency, &self.win_areas);
        row.wait_p99 = WindowNs::of(self.win_wait.quantile_ns(0.99));
        self.rows_within.extend_from_slice(&self.win_within);
        self.wait.merge(&self.win_wait);
        self.win_wait.reset();
        self.win_within.iter_mut().for_each(|n| *n = 0);
        self.rows.push(row);
        let a = self.win_areas;
        self.areas.busy += a.busy;
        self.areas.capacity += a.capacity;
        self.areas.queue += a.queue;
        self.areas.cpu += a.cpu;
        self.latency.merge(&self.win_latency);
        self.win_counts = Counts::default();
        self.win_latency.reset();
        self.win_areas = Areas::default();
        self.index += 1;
        self.window_end += self.window;
    }

    /// Sets the number of busy workers and waiting requests from `now` on.
    #[inline]
    pub(crate) fn levels(&mut self, now: SimTime, busy: u32, queued: u32) {
        self.sync(now);
        self.busy = busy;
        self.queued = queued;
    }

    /// Sets the number of workers from `now` on.
    pub(crate) fn workers(&mut self, now: SimTime, workers: u32) {
        self.sync(now);
        self.capacity = workers;
    }

    /// The metrics window.
    pub(crate) fn window(&self) -> SimDuration {
        self.window
    }

    /// The last window closed by `now` (`None` before the first one ends).
    pub(crate) fn last_row(&mut self, now: SimTime) -> Option<&WindowRow> {
        self.sync(now);
        self.rows.last()
    }

    /// Since the previous call (or the start), measured at `now`: busy worker-seconds / worker-seconds
    /// (concurrency) and processing worker-seconds / worker-seconds (CPU; 0 without CPU tracking).
    pub(crate) fn take_utilization(&mut self, now: SimTime) -> (f64, f64) {
        self.sync(now);
        let total = Areas {
            busy: self.areas.busy + self.win_areas.busy,
            capacity: self.areas.capacity + self.win_areas.capacity,
            queue: self.areas.queue + self.win_areas.queue,
            cpu: self.areas.cpu + self.win_areas.cpu,
        };
        let capacity = total.capacity - self.taken.capacity;
        let u = (ratio(total.busy - self.taken.busy, capacity), ratio(total.cpu - self.taken.cpu, capacity));
        self.taken = total;
        u
    }

    /// Records the outcome of one request at `now`.
    #[inline]
    pub(crate) fn record(&mut self, now: SimTime, outcome: Outcome) {
        self.sync(now);
        self.win_counts.add(outcome);
        self.counts.add(outcome);
        if let Outcome::Ok(d) = outcome {
            // The whole-run histogram gets the window's values when the window closes.
            self.win_latency.record(d);
            for (i, (t, n)) in self.thresholds.iter_mut().enumerate() {
                if d <= *t {
                    *n += 1;
                    self.win_within[i] += 1;
                }
            }
        }
    }

    /// Records the queue wait `d` of a request that starts processing at `now`.
    #[inline]
    pub(crate) fn waited(&mut self, now: SimTime, d: SimDuration) {
        self.sync(now);
        self.win_wait.record(d);
    }

    /// Closes the meter at `end` (the last window may be partial).
    pub(crate) fn finish(&mut self, end: SimTime) -> ServiceMetrics {
        self.sync(end);
        let start = self.window_end.as_nanos() - self.window.as_nanos();
        if end.as_nanos() > start {
            self.close_window(end.as_nanos() - start);
        }
        let util = ratio(self.areas.busy, self.areas.capacity);
        let span = (end - SimTime::ZERO).as_nanos();
        ServiceMetrics {
            counts: self.counts,
            latency: std::mem::take(&mut self.latency),
            queue_wait: std::mem::take(&mut self.wait),
            utilization: util,
            queue_depth: ratio(self.areas.queue, u128::from(span)),
            within: self.thresholds.clone(),
            rows: std::mem::take(&mut self.rows),
            within_by_window: std::mem::take(&mut self.rows_within),
        }
    }
}

fn ratio(a: u128, b: u128) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn window_row(start_ns: u64, span_ns: u64, counts: &Counts, lat: &Latency, a: &Areas) -> WindowRow {
    WindowRow {
        t_s: start_ns as f64 / 1e9,
        counts: *counts,
        p50: WindowNs::of(lat.quantile_ns(0.5)),
        p99: WindowNs::of(lat.quantile_ns(0.99)),
        max: WindowNs::of(lat.max_ns()),
        wait_p99: WindowNs::NONE,
        utilization: ratio(a.busy, a.capacity),
        queue_depth: ratio(a.queue, u128::from(span_ns)),
        workers: ratio(a.capacity, u128::from(span_ns)),
    }
}

/// The client-side meter of the load generator: end-to-end outcomes and latency.
#[derive(Clone, Debug, Default)]
pub struct ClientMeter {
    /// Counters.
    pub counts: Counts,
    /// End-to-end latency of successes, from the scheduled arrival.
    pub latency: Latency,
    /// Requests still unanswered when the run ended (counted as timed out).
    pub unfinished: u64,
    /// Arrivals that found no free virtual user (not requests: not in `counts`).
    pub dropped: u64,
    /// Stress test: per step.
    pub steps: Vec<StepReport>,
    /// Stress test: when the rate stopped rising.
    pub stress_stopped_at: Option<SimTime>,
    /// End-to-end outcomes and latency per window (worker levels stay zero), after [`ClientMeter::finish`].
    pub rows: Vec<WindowRow>,
    /// The windowed meter, until the run ends (`None` for a meter without windows).
    windows: Option<ServiceMeter>,
}

/// One step of a stress test, at the client.
#[derive(Clone, Debug, Default)]
pub struct StepReport {
    /// The step's arrival rate [1/s].
    pub rate_per_s: f64,
    /// Outcomes of the requests that arrived in the step.
    pub counts: Counts,
    /// Their latency [ms].
    pub latency: LatencySummary,
    /// Successes within each latency threshold of the entry's objectives.
    pub within: Vec<u64>,
}

impl ClientMeter {
    /// A meter keeping a row per `window` as well as the whole-run figures.
    pub fn with_windows(window: SimDuration) -> Self {
        ClientMeter { windows: Some(ServiceMeter::new(window, 0, Vec::new())), ..ClientMeter::default() }
    }

    /// Makes room for the rows of every window up to `end` ([`ServiceMeter::reserve_until`]).
    pub(crate) fn reserve_until(&mut self, end: SimTime) {
        if let Some(w) = &mut self.windows {
            w.reserve_until(end);
        }
    }

    /// Records one end-to-end outcome, decided at `now`.
    #[inline]
    pub fn record(&mut self, now: SimTime, outcome: Outcome) {
        match &mut self.windows {
            // The windowed meter keeps the whole-run counts and histogram too (merged window by window).
            Some(w) => w.record(now, outcome),
            None => {
                self.counts.add(outcome);
                if let Outcome::Ok(d) = outcome {
                    self.latency.record(d);
                }
            }
        }
    }

    /// Closes the windows at `end`: fills `counts`, `latency` and `rows`.
    pub fn finish(&mut self, end: SimTime) {
        if let Some(mut w) = self.windows.take() {
            let m = w.finish(end);
            self.counts = m.counts;
            self.latency = m.latency;
            self.rows = m.rows;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_years_does_not_ask_for_all_its_rows_at_the_start() {
        // Ten years of 1 s windows: 315 million rows would be 33 GB; the meter makes room for 2^18 windows
        // and lets the rows grow beyond as they come.
        let mut m = ServiceMeter::new(SimDuration::from_secs(1), 1, vec![SimDuration::from_millis(5)]);
        m.reserve_until(SimTime::ZERO + SimDuration::from_secs(3650 * 86_400));
        assert!(m.rows.capacity() >= MAX_RESERVED_WINDOWS && m.rows.capacity() < 2 * MAX_RESERVED_WINDOWS);
        assert!(m.rows_within.capacity() < 2 * MAX_RESERVED_WINDOWS);
        // A day of 5 s windows: room for all 17,280 of them and one more (a run that ends mid-window closes a
        // partial one), so that they are never moved.
        let mut m = ServiceMeter::new(SimDuration::from_secs(5), 1, Vec::new());
        m.reserve_until(SimTime::ZERO + SimDuration::from_secs(86_400));
        assert_eq!(m.rows.capacity(), 17_281);
    }

    /// A window's row gives the latencies the window's histogram gives (the row keeps them as the
    /// histogram's nanoseconds), none for a window without successes, and the per-threshold counts of
    /// each window in order.
    #[test]
    fn window_rows_give_the_latencies_of_their_histograms() {
        let w = SimDuration::from_secs(1);
        let at = |ms: u64| SimTime::ZERO + SimDuration::from_millis(ms);
        let mut meter = ServiceMeter::new(w, 4, vec![SimDuration::from_millis(5), SimDuration::from_millis(50)]);
        let mut want = Latency::default();
        for (k, ms) in [3u64, 7, 12, 40, 41, 90, 250].into_iter().enumerate() {
            let d = SimDuration::from_millis(ms) + SimDuration::from_nanos(123_457 * k as u64);
            meter.record(at(100 + 10 * k as u64), Outcome::Ok(d));
            want.record(d);
        }
        meter.record(at(2500), Outcome::Failed);
        let m = meter.finish(at(3000));
        assert_eq!(m.rows.len(), 3);
        let r = &m.rows[0];
        assert_eq!(r.p50_ms(), want.quantile_ms(0.5));
        assert_eq!(r.p99_ms(), want.quantile_ms(0.99));
        assert_eq!(r.max_ms(), want.max_ms());
        assert_eq!(r.max_ms(), Some(250.740742), "250 ms + 6 x 123,457 ns");
        for r in &m.rows[1..] {
            assert_eq!((r.p50_ms(), r.p99_ms(), r.max_ms(), r.wait_p99_ms()), (None, None, None, None));
        }
        assert_eq!(m.within_per_window(0).collect::<Vec<_>>(), [1, 0, 0], "within 5 ms: the 3 ms one");
        assert_eq!(m.within_per_window(1).collect::<Vec<_>>(), [5, 0, 0], "within 50 ms");
        assert_eq!(m.within_per_window(2).collect::<Vec<_>>(), [0, 0, 0], "no such threshold");
        // What a day of 5 s windows costs a service: 17,280 of these.
        assert!(std::mem::size_of::<WindowRow>() <= 104);
    }
}
