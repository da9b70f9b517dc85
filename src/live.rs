//! Live mode: the lab in real time, with the device backed by a real audio interface (cpal, behind the
//! `live` feature). The real-time engine that runs inside the audio callbacks is plain Rust and is built
//! (and tested for zero allocations) in every configuration; only the cpal glue needs the feature.
//!
//! This is the only module that reads the wall clock (`std::time::Instant`) or touches cpal.

pub use crate::actors::audio::backend::{AudioBackend, LiveMeter, Period};
pub use crate::model::summary::{BackendInfo, LiveReport, Spread};
#[cfg(feature = "live")]
pub mod device;
pub mod engine;
pub mod metrics;

use std::time::Instant;

use crate::sim::SimTime;

/// The real time since `start` as lab time: the clock a live run follows.
pub fn clock_since(start: Instant) -> impl Fn() -> SimTime + 'static {
    move || SimTime::from_nanos(start.elapsed().as_nanos() as u64)
}

/// The wall clock now, as an instant to measure from (live mode only).
pub fn now() -> Instant {
    Instant::now()
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
