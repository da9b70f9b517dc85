//! Signal sources for the device inputs and the computer playback. A source is a function of the
//! absolute sample index (sine, WAV) or a seeded stream consumed in order (noise), so blocks of any size
//! give the same samples.

use std::sync::Arc;

use rand::RngExt;

use crate::sim::SimRng;

/// A signal source.
#[derive(Debug)]
pub enum Source {
    /// A sine: `amp × sin(2π f n / rate)`.
    Sine {
        /// Frequency [Hz].
        freq_hz: f64,
        /// Peak amplitude (linear).
        amp: f64,
    },
    /// Uniform white noise in [-amp, amp] (RMS = amp / sqrt 3).
    Noise {
        /// Peak amplitude (linear).
        amp: f64,
        /// Its own stream.
        rng: Box<SimRng>,
    },
    /// Bit-exact zeros.
    Silence,
    /// A WAV file's first channel, looped.
    Wav {
        /// Samples in -1..1.
        samples: Arc<[f32]>,
    },
}

impl Source {
    /// Fills `buf` with samples `n0, n0 + 1, ...` at `rate_hz`.
    pub fn fill(&mut self, n0: u64, rate_hz: f64, buf: &mut [f32]) {
        match self {
            Source::Sine { freq_hz, amp } => {
                let step = *freq_hz / rate_hz;
                for (i, s) in buf.iter_mut().enumerate() {
                    let phase = ((n0 + i as u64) as f64 * step).fract();
                    *s = (*amp * (std::f64::consts::TAU * phase).sin()) as f32;
                }
            }
            Source::Noise { amp, rng } => {
                for s in buf.iter_mut() {
                    *s = (*amp * (2.0 * rng.random::<f64>() - 1.0)) as f32;
                }
            }
            Source::Silence => buf.fill(0.0),
            Source::Wav { samples } => {
                let len = samples.len() as u64;
                if len == 0 {
                    buf.fill(0.0);
                    return;
                }
                for (i, s) in buf.iter_mut().enumerate() {
                    *s = samples[((n0 + i as u64) % len) as usize];
                }
            }
        }
    }
}
