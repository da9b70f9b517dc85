//! Live mode: the lab in real time, with the device backed by a real audio interface (cpal, behind the
//! `live` feature). The real-time engine that runs inside the audio callbacks is plain Rust and is built
//! (and tested for zero allocations) in every configuration; only the cpal glue needs the feature.
//!
//! This is the only module that reads the wall clock (`std::time::Instant`) or touches cpal.

pub use crate::model::summary::{BackendInfo, LiveReport, Spread};
#[cfg(feature = "live")]
pub mod device;
pub mod engine;
pub mod metrics;

use std::time::Instant;

use hdrhistogram::Histogram;

use crate::sim::{SimDuration, SimTime};
use engine::Period;

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
}

/// The real time since `start` as lab time: the clock a live run follows.
pub fn clock_since(start: Instant) -> impl Fn() -> SimTime + 'static {
    move || SimTime::from_nanos(start.elapsed().as_nanos() as u64)
}

/// The wall clock now, as an instant to measure from (live mode only).
pub fn now() -> Instant {
    Instant::now()
}

/// Accumulates [`LiveReport`] from the periods.
#[derive(Debug)]
pub struct LiveMeter {
    period_ns: u64,
    interval: Histogram<u64>,
    jitter: Histogram<u64>,
    load_ppm: Histogram<u64>,
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
            report: LiveReport { sample_rate_hz: rate_hz, buffer_frames: frames, ..LiveReport::default() },
            first_ns: None,
            last_ns: 0,
        }
    }

    /// Counts one period.
    pub fn add(&mut self, p: &Period) {
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

#[cfg(feature = "live")]
pub mod preflight;

/// Live mode is not in this build.
pub const NOT_BUILT: &str = "live mode is not in this build: rebuild with `cargo build --release --features live` (on Linux it needs the packages libasound2-dev and pkg-config)";

/// Device faults a real interface cannot be given (they are properties of the modelled device's clock).
pub fn unsupported_faults(sc: &crate::scenario::Scenario) -> Vec<String> {
    sc.chaos
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let kind = f.effect.kind();
            if kind.runs_live() {
                return None;
            }
            Some(format!(
                "chaos[{i}] (\"{}\"): fault \"{kind}\" cannot be injected into a real interface (live: {})",
                f.name,
                live_kinds()
            ))
        })
        .collect()
}

/// The fault kinds live mode injects, in words.
fn live_kinds() -> String {
    use crate::model::summary::FaultKind;
    let device: Vec<&str> = FaultKind::ALL
        .iter()
        .filter(|k| k.device_only() || **k == FaultKind::CpuStall)
        .filter(|k| k.runs_live())
        .map(|k| k.name())
        .collect();
    format!("{}, and every service fault", device.join(", "))
}

/// Opens the scenario's device (if it has one) on the interface matching `device` and returns what
/// [`crate::run::run_live`] needs; the clock starts now.
#[cfg(feature = "live")]
pub fn setup(
    sc: &crate::scenario::Scenario,
    seed: u64,
    device: Option<&str>,
) -> Result<crate::run::LiveSetup, device::LiveError> {
    let backend: Option<Box<dyn AudioBackend>> = match &sc.device {
        Some(d) => {
            let (host, dev) = device::find(device)?;
            Some(Box::new(device::CpalBackend::open(
                host,
                dev,
                d.mixer(),
                d.playback.clone(),
                seed,
                d.rate_hz,
                d.frames,
            )?))
        }
        None => None,
    };
    Ok(crate::run::LiveSetup { clock: Box::new(clock_since(now())), backend, gauges: None })
}
