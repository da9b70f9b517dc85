//! `ag06-lab calibrate`: measures the time the live audio callback takes with a scenario's own mixer and
//! vocal chain on this machine (no hardware: the callback is driven by hand, its inputs fed from the
//! scenario's CH1 and CH2 sources), and keeps every callback's time in an HdrHistogram: what a simulation
//! replays with `dsp_time = { dist = "empirical", file = "dsp_time.hdr" }`, so that its xruns come from the
//! chain that actually runs.

use hdrhistogram::Histogram;

use super::engine::{Controls, Engine};
use crate::scenario::Scenario;

/// What a calibration measured.
#[derive(Debug)]
pub struct Calibration {
    /// Time in each callback [ns].
    pub histogram: Histogram<u64>,
    /// The period [ns].
    pub period_ns: u64,
    /// Frames per callback.
    pub frames: u32,
    /// Sample rate [Hz].
    pub rate_hz: u32,
}

/// Runs `callbacks` callbacks of `frames` frames at `rate_hz` through the engine with the mixer, vocal
/// chain and playback of `sc`'s device (which it must have), fed by its CH1 and CH2 sources.
pub fn calibrate(sc: &Scenario, seed: u64, frames: u32, rate_hz: u32, callbacks: u64) -> Option<Calibration> {
    let d = sc.device.as_ref()?;
    let (mut engine, mut capture, mut taps) =
        Engine::new(d.mixer(), d.playback.build(seed, "device/playback"), rate_hz, frames, 2, 2, Controls::new());
    let mut sources: Vec<_> = d
        .inputs
        .iter()
        .take(2)
        .enumerate()
        .map(|(i, s)| s.source.build(seed, &format!("device/ch{}", i + 1)))
        .collect();
    let n = frames as usize;
    let mut ch = [vec![0.0f32; n], vec![0.0f32; n]];
    let mut interleaved = vec![0.0f32; 2 * n];
    let mut output = vec![0.0f32; 2 * n];
    let mut scratch: [Vec<f32>; 4] = Default::default();
    let mut histogram = Histogram::new(3).expect("invariant: 3 significant digits is valid");
    let period_ns = engine.period_ns();
    for k in 0..callbacks {
        for (i, s) in sources.iter_mut().enumerate() {
            s.fill(k * u64::from(frames), f64::from(rate_hz), &mut ch[i]);
        }
        for f in 0..n {
            interleaved[2 * f] = ch[0][f];
            interleaved[2 * f + 1] = ch[1][f];
        }
        capture.push(&interleaved);
        engine.process(&mut output, k * period_ns);
        taps.drain(&mut scratch, |p, _| {
            let _ = histogram.record(p.proc_ns.max(1));
        });
    }
    Some(Calibration { histogram, period_ns, frames, rate_hz })
}
