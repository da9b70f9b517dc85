//! Signal sources for the device inputs and the computer playback. A source is a function of the
//! absolute sample index (sine, WAV) or a seeded stream consumed in order (noise), so blocks of any size
//! give the same samples.

use std::sync::Arc;

use rand::Rng;

use crate::sim::SimRng;

/// Samples between two exact re-evaluations of a sine oscillator (on absolute sample indices).
const RESYNC_EVERY: u64 = 1024;

/// Lanes of the sine oscillator: samples 8g .. 8g + 7 are computed side by side.
const LANES: usize = 8;

/// A sine oscillator: eight phasors side by side, one per sample of an aligned group of eight, each
/// rotated by eight samples' phase per group (two multiply-adds per sample, vectorised across the lanes),
/// and re-evaluated exactly with `sin`/`cos` at every multiple of [`RESYNC_EVERY`] of the absolute sample
/// index. Sample n is always computed the same way (from the anchor before it, in the same number of
/// rotations), so rounding never accumulates and any block size gives the same samples.
#[derive(Debug, Clone)]
pub struct Sine {
    freq_hz: f64,
    amp: f64,
    rate_hz: f64,
    /// The phasors of group `group` (samples 8 group + lane).
    c: [f64; LANES],
    s: [f64; LANES],
    /// The rotation by eight samples.
    cr: f64,
    sr: f64,
    group: u64,
}

impl Sine {
    /// Sets the phasors of `group` exactly (a multiple of the resync interval) or by rotating from the
    /// anchor before it, as sequential processing would have.
    fn seek(&mut self, group: u64, rate_hz: f64) {
        if rate_hz != self.rate_hz {
            self.rate_hz = rate_hz;
            let w = std::f64::consts::TAU * self.freq_hz * LANES as f64 / rate_hz;
            (self.sr, self.cr) = w.sin_cos();
        }
        let per = RESYNC_EVERY / LANES as u64;
        let anchor = group - group % per;
        for k in 0..LANES {
            let n = anchor * LANES as u64 + k as u64;
            let phase = (n as f64 * self.freq_hz / rate_hz).fract();
            (self.s[k], self.c[k]) = (std::f64::consts::TAU * phase).sin_cos();
        }
        self.group = anchor;
        while self.group < group {
            self.advance();
        }
    }

    /// Moves the phasors on to the next group.
    #[inline(always)]
    fn advance(&mut self) {
        self.group += 1;
        if self.group % (RESYNC_EVERY / LANES as u64) == 0 {
            let rate = self.rate_hz;
            self.seek(self.group, rate);
            return;
        }
        for k in 0..LANES {
            let (s, c) = (self.s[k], self.c[k]);
            self.s[k] = s * self.cr + c * self.sr;
            self.c[k] = c * self.cr - s * self.sr;
        }
    }

    #[inline(always)]
    fn fill(&mut self, n0: u64, rate_hz: f64, buf: &mut [f32]) {
        let lanes = LANES as u64;
        if n0 / lanes != self.group || rate_hz != self.rate_hz {
            self.seek(n0 / lanes, rate_hz);
        }
        let amp = self.amp;
        // The rest of the group that n0 falls in, then whole groups, then the start of the last one.
        let from = (n0 % lanes) as usize;
        let head = if from == 0 { 0 } else { (LANES - from).min(buf.len()) };
        let (head_out, rest) = buf.split_at_mut(head);
        for (o, s) in head_out.iter_mut().zip(&self.s[from..]) {
            *o = (amp * s) as f32;
        }
        if from > 0 && from + head == LANES {
            self.advance();
        }
        let mut groups = rest.chunks_exact_mut(LANES);
        let per = RESYNC_EVERY / LANES as u64;
        loop {
            // The groups followed by a rotation (the next group is not an anchor), with the phasors in
            // registers: the same arithmetic as `advance`.
            let run = (per - 1 - self.group % per) as usize;
            let (mut s, mut c, (cr, sr)) = (self.s, self.c, (self.cr, self.sr));
            let mut done = 0;
            for out in groups.by_ref().take(run) {
                for (o, s) in out.iter_mut().zip(&s) {
                    *o = (amp * s) as f32;
                }
                for k in 0..LANES {
                    (s[k], c[k]) = (s[k] * cr + c[k] * sr, c[k] * cr - s[k] * sr);
                }
                done += 1;
            }
            (self.s, self.c) = (s, c);
            self.group += done as u64;
            if done < run {
                break;
            }
            // The group before an anchor: the next one's phasors are evaluated exactly.
            let Some(out) = groups.next() else { break };
            for (o, s) in out.iter_mut().zip(&self.s) {
                *o = (amp * s) as f32;
            }
            self.advance();
        }
        for (o, s) in groups.into_remainder().iter_mut().zip(&self.s) {
            *o = (amp * s) as f32;
        }
    }
}

/// The generator of a noise source: xoshiro256++ (Blackman and Vigna; `rand_xoshiro`'s, a fixed algorithm
/// whose outputs the crate's tests pin to the reference implementation's), seeded from the source's
/// named stream. A noise source draws 24 bits a sample, so each 64-bit output gives two samples (in a
/// profile of karaoke-night the sources' time went from 0.31 s an hour, ChaCha8's keystream 0.16 s of it,
/// to 0.23 s).
type NoiseRng = rand_xoshiro::Xoshiro256PlusPlus;

/// A noise source's generator, and the second sample of its last output if a block ended between the two.
#[derive(Debug, Clone)]
pub struct NoiseStream {
    rng: NoiseRng,
    spare: Option<u32>,
}

impl NoiseStream {
    /// The next output's two 24-bit draws: its top 24 bits, then the 24 below them.
    #[inline(always)]
    fn pair(&mut self) -> [u32; 2] {
        let x = self.rng.next_u64();
        [(x >> 40) as u32, ((x >> 16) & 0xFF_FFFF) as u32]
    }

    /// Fills `buf` with `map` of the next draws, in order (blocks of any size take the same draws).
    #[inline(always)]
    fn fill(&mut self, buf: &mut [f32], map: impl Fn(u32) -> f32) {
        let mut buf = buf;
        if !buf.is_empty() {
            if let Some(u) = self.spare.take() {
                buf[0] = map(u);
                buf = &mut buf[1..];
            }
        }
        let mut pairs = buf.chunks_exact_mut(2);
        for out in &mut pairs {
            let [a, b] = self.pair();
            out[0] = map(a);
            out[1] = map(b);
        }
        if let [last] = pairs.into_remainder() {
            let [a, b] = self.pair();
            *last = map(a);
            self.spare = Some(b);
        }
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
        rng: Box<NoiseStream>,
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
        Source::Sine(Sine {
            freq_hz,
            amp,
            rate_hz: 0.0,
            c: [1.0; LANES],
            s: [0.0; LANES],
            cr: 1.0,
            sr: 0.0,
            group: u64::MAX,
        })
    }

    /// Uniform white noise of peak amplitude `amp`, drawn in order from a generator seeded by `rng`.
    pub fn noise(amp: f64, mut rng: SimRng) -> Self {
        use rand::SeedableRng;
        Source::Noise { amp, rng: Box::new(NoiseStream { rng: NoiseRng::from_rng(&mut rng), spare: None }) }
    }

    /// Whether this is the silent source (its blocks are all +0.0).
    pub fn is_silence(&self) -> bool {
        matches!(self, Source::Silence)
    }

    /// Fills `buf` with samples `n0, n0 + 1, ...` at `rate_hz`.
    pub fn fill(&mut self, n0: u64, rate_hz: f64, buf: &mut [f32]) {
        super::simd::wide(
            #[inline(always)]
            || self.fill_block(n0, rate_hz, buf),
        )
    }

    /// [`Source::fill`], inlined into each build of [`super::simd::wide`].
    #[inline(always)]
    fn fill_block(&mut self, n0: u64, rate_hz: f64, buf: &mut [f32]) {
        match self {
            Source::Sine(osc) => osc.fill(n0, rate_hz, buf),
            Source::Noise { amp, rng } => {
                // Each sample takes the next 24 bits of the stream as a uniform u in [0, 1): amp × (2u − 1).
                let scale = (2.0 * *amp / f64::from(1u32 << 24)) as f32;
                let offset = *amp as f32;
                rng.fill(
                    buf,
                    #[inline(always)]
                    |u| u as f32 * scale - offset,
                );
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
