//! Live mode: the lab in real time, with the device backed by a real audio interface (cpal, behind the
//! `live` feature). The real-time engine that runs inside the audio callbacks is plain Rust and is built
//! (and tested for zero allocations) in every configuration; only the cpal glue needs the feature.
//!
//! This is the only module that reads the wall clock (`std::time::Instant`) or touches cpal.

pub use crate::actors::audio::backend::{AudioBackend, LiveMeter, Period};
pub use crate::model::summary::{BackendInfo, LiveReport, Spread};
pub mod calibrate;
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
            let spec = device::StreamSpec {
                mixer: d.mixer(),
                playback: d.playback.clone(),
                seed,
                rate_hz: d.rate_hz,
                frames: d.frames,
            };
            Some(Box::new(device::CpalBackend::open(host, device.map(str::to_string), dev, spec)?))
        }
        None => None,
    };
    Ok(crate::run::LiveSetup { clock: Box::new(clock_since(now())), backend, gauges: None })
}

/// The scenario's `[device]` settings that have no effect in live mode, as TOML paths: the input gains,
/// PAD and phantom power are knobs on the hardware, the sources are what is plugged into it, and CH3..CH6
/// reach the computer only inside the interface's TO PC mix. (The lab's own mixer still mixes the two
/// captured channels with CH1's and CH2's mute and pan, and runs the vocal chain on the first.)
pub fn ignored_live(sc: &crate::scenario::Scenario) -> Vec<String> {
    use crate::scenario::device::SourceSpec;
    let Some(d) = &sc.device else { return Vec::new() };
    let mut out = Vec::new();
    for (i, input) in d.inputs.iter().enumerate() {
        let at = format!("device.inputs.ch{}", i + 1);
        let s = &input.strip;
        let sourced = !matches!(input.source, SourceSpec::Silence);
        if i >= 2 {
            if sourced || s.gain_db != 0.0 || s.pad || s.phantom || s.mute {
                out.push(at);
            }
            continue;
        }
        if sourced {
            out.push(format!("{at}.source"));
        }
        if s.gain_db != 0.0 {
            out.push(format!("{at}.gain_db"));
        }
        if s.pad {
            out.push(format!("{at}.pad"));
        }
        if s.phantom {
            out.push(format!("{at}.phantom"));
        }
    }
    out
}
