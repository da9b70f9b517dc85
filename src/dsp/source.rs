//! Signal sources for the device inputs and the computer playback. A source is a function of the
//! absolute sample index (sine, WAV) or a seeded stream consumed in order (noise), so blocks of any size
//! give the same samples.

use std::sync::Arc;

use rand::RngExt;

use crate::sim::SimRng;

/// Samples between two exact re-evaluations of a sine oscillator (on absolute sample indices).
const RESYNC_EVERY: u64 = 1024;

/// A sine oscillator: a rotating phasor (two multiply-adds per sample), re-evaluated exactly with
/// `sin`/`cos` every [`RESYNC_EVERY`] samples of absolute index, so rounding never accumulates and any
/// block size gives the same samples.
#[derive(Debug, Clone)]
pub struct Sine {
    freq_hz: f64,
    amp: f64,
    rate_hz: f64,
    c: f64,
    s: f64,
    cr: f64,
    sr: f64,
    next_n: u64,
}

impl Sine {
    fn sync(&mut self, n: u64, rate_hz: f64) {
        if rate_hz != self.rate_hz {
            self.rate_hz = rate_hz;
            let w = std::f64::consts::TAU * self.freq_hz / rate_hz;
            (self.sr, self.cr) = w.sin_cos();
        }
        let phase = (n as f64 * self.freq_hz / rate_hz).fract();
        (self.s, self.c) = (std::f64::consts::TAU * phase).sin_cos();
        self.next_n = n;
    }

    fn fill(&mut self, n0: u64, rate_hz: f64, buf: &mut [f32]) {
        if n0 != self.next_n || rate_hz != self.rate_hz {
            self.sync(n0, rate_hz);
        }
        for (i, out) in buf.iter_mut().enumerate() {
            let n = n0 + i as u64;
            if n % RESYNC_EVERY == 0 {
                self.sync(n, rate_hz);
            }
            *out = (self.amp * self.s) as f32;
            let (s, c) = (self.s * self.cr + self.c * self.sr, self.c * self.cr - self.s * self.sr);
            (self.s, self.c) = (s, c);
        }
        self.next_n = n0 + buf.len() as u64;
    }
}

/// A signal source.
#[derive(Debug)]
pub enum Source {
    /// A sine: `amp × sin(2π f n / rate)`.
    Sine(Sine),
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
    /// A sine of `freq_hz` with peak amplitude `amp`.
    pub fn sine(freq_hz: f64, amp: f64) -> Self {
        Source::Sine(Sine { freq_hz, amp, rate_hz: 0.0, c: 1.0, s: 0.0, cr: 1.0, sr: 0.0, next_n: u64::MAX })
    }

    /// Fills `buf` with samples `n0, n0 + 1, ...` at `rate_hz`.
    pub fn fill(&mut self, n0: u64, rate_hz: f64, buf: &mut [f32]) {
        match self {
            Source::Sine(osc) => osc.fill(n0, rate_hz, buf),
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
