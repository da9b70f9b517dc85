//! The device actor's backend: what a real audio interface (live mode, `crate::live`) implements so that
//! the same device actor runs on it, and the meter of its callbacks.

use hdrhistogram::Histogram;

use crate::model::summary::{BackendInfo, LiveReport, Spread};
use crate::sim::SimDuration;

/// One callback of the output stream, as the actors see it.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Period {
    /// Callback number (from 0).
    pub n: u64,
    /// Frames in the callback.
    pub frames: u32,
    /// When the callback was invoked [ns, the stream's clock].
    pub at_ns: u64,
    /// Since the previous callback [ns] (0 for the first).
    pub interval_ns: u64,
    /// Time spent in the callback [ns], cpu-stall included.
    pub proc_ns: u64,
    /// An xrun: the gap since the previous callback exceeded 1.5 periods, or the host reported one.
    pub xrun: bool,
    /// Fewer captured frames were waiting than the callback needed (the rest was silence).
    pub underrun: bool,
    /// Meter frames the actors had no room for (dropped, not played differently).
    pub meter_dropped: bool,
    /// Clipped samples of ch1 and ch2 (at full scale at the converters) and of the two sides of the bus
    /// (beyond full scale, clamped by the stream).
    pub clipped: [u32; 4],
}

/// A real audio interface behind the device actor: what live mode swaps in for the modelled device.
pub trait AudioBackend {
    /// Hands every period the interface completed since the last call to `f`, with its metered frames
    /// (ch1, ch2, out_l, out_r).
    fn poll(&mut self, f: &mut dyn FnMut(Period, &[Vec<f32>; 4]));
    /// Sets the faults the audio callback implements: a busy-wait of `stall` per callback, silence (the
    /// input zeroed), and an input gain before the converters clip.
    fn set_faults(&mut self, stall: SimDuration, silence: bool, clip_gain: f64);
    /// Drops the streams (a device disconnect).
    fn close(&mut self);
    /// Opens the streams again; the error says why not.
    fn reopen(&mut self) -> Result<(), String>;
    /// What the interface is and what its host reported.
    fn info(&self) -> BackendInfo;
    /// A stream error the host reported that ends the stream (device gone, backend failure), if any since
    /// the streams were opened.
    fn fatal_error(&self) -> Option<String> {
        None
    }
}

/// Accumulates [`LiveReport`] from the periods.
#[derive(Debug)]
pub struct LiveMeter {
    period_ns: u64,
    interval: Histogram<u64>,
    jitter: Histogram<u64>,
    load_ppm: Histogram<u64>,
    /// Time in each callback [ns]: what `calibrate` measures, and what a simulation can replay.
    proc_ns: Histogram<u64>,
    report: LiveReport,
    first_ns: Option<u64>,
    last_ns: u64,
}

impl LiveMeter {
    /// A meter for periods of `frames` at `rate_hz`.
    pub fn new(rate_hz: u32, frames: u32) -> Self {
        let h = || Histogram::new(3).expect("invariant: 3 significant digits is valid");
        LiveMeter {
            period_ns: u64::from(frames) * 1_000_000_000 / u64::from(rate_hz.max(1)),
            interval: h(),
            jitter: h(),
            load_ppm: h(),
            proc_ns: h(),
            report: LiveReport { sample_rate_hz: rate_hz, buffer_frames: frames, ..LiveReport::default() },
            first_ns: None,
            last_ns: 0,
        }
    }

    /// Counts one period.
    pub fn add(&mut self, p: &Period) {
        let _ = self.proc_ns.record(p.proc_ns.max(1));
        let r = &mut self.report;
        r.callbacks += 1;
        r.xruns += u64::from(p.xrun);
        r.input_underruns += u64::from(p.underrun);
        if p.interval_ns > 0 {
            let _ = self.interval.record(p.interval_ns);
            let _ = self.jitter.record(p.interval_ns.abs_diff(self.period_ns).max(1));
        }
        let _ = self.load_ppm.record((p.proc_ns as f64 / self.period_ns.max(1) as f64 * 1e6) as u64 + 1);
        self.first_ns.get_or_insert(p.at_ns);
        self.last_ns = self.last_ns.max(p.at_ns);
    }

    /// The time spent in each callback [ns].
    pub fn processing(&self) -> &Histogram<u64> {
        &self.proc_ns
    }

    /// The report, with the backend's `info`, over `wall` seconds.
    pub fn finish(&self, info: BackendInfo, wall: f64) -> LiveReport {
        let ms = |h: &Histogram<u64>| {
            if h.is_empty() {
                return Spread::default();
            }
            let f = |v: u64| (v as f64 / 1e3).round() / 1e3;
            Spread { p50: f(h.value_at_quantile(0.5)), p99: f(h.value_at_quantile(0.99)), max: f(h.max()) }
        };
        let load = |h: &Histogram<u64>| {
            if h.is_empty() {
                return Spread::default();
            }
            let f = |v: u64| ((v as f64 - 1.0) / 1e6 * 1e4).round() / 1e4;
            Spread { p50: f(h.value_at_quantile(0.5)), p99: f(h.value_at_quantile(0.99)), max: f(h.max()) }
        };
        LiveReport {
            info,
            callback_interval_ms: ms(&self.interval),
            jitter_ms: ms(&self.jitter),
            dsp_load: load(&self.load_ppm),
            callbacks_per_s: if wall > 0.0 { self.report.callbacks as f64 / wall } else { 0.0 },
            ..self.report.clone()
        }
    }
}
