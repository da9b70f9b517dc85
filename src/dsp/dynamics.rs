//! Dynamics: noise gate, compressor, limiter, ducker. Sample by sample; the compressor's gain computer
//! runs every [`CONTROL_EVERY`] samples, on absolute sample indices.

use super::{db_to_lin, lin_to_db, one_pole};

/// Samples between two evaluations of a gain computer (aligned on absolute sample indices): 0.67 ms at
/// 48 kHz, a twelfth of the compressor's default attack. Its one-pole smoothing is derived for this
/// control rate, so its time constants do not depend on it; 32 rather than 16 halves the logarithms and
/// exponentials (karaoke-night's loudness and RMS levels the same to 0.001, its output peak 0.001 dB apart).
pub const CONTROL_EVERY: u64 = 32;

/// Noise gate: open while the signal's envelope is above the threshold.
#[derive(Clone, Copy, Debug)]
pub struct Gate {
    threshold: f64,
    env_rel: f64,
    /// 1 − `env_rel`, the input's share in the envelope's fall.
    env_in: f64,
    gain_att: f64,
    /// (1 − `gain_att`) × 1, the opening target's share in the gain.
    att_in: f64,
    gain_rel: f64,
    env: f64,
    gain: f64,
}

impl Gate {
    /// A gate at `threshold_db` with `attack_s` (opening) and `release_s` (closing) times.
    pub fn new(rate_hz: f64, threshold_db: f64, attack_s: f64, release_s: f64) -> Self {
        // The detector follows peaks at once and falls in 20 ms; attack and release shape the gain.
        let (env_rel, gain_att) = (one_pole(0.020, rate_hz), one_pole(attack_s, rate_hz));
        Gate {
            threshold: db_to_lin(threshold_db),
            env_rel,
            env_in: 1.0 - env_rel,
            gain_att,
            att_in: (1.0 - gain_att) * 1.0,
            gain_rel: one_pole(release_s, rate_hz),
            env: 0.0,
            gain: 0.0,
        }
    }

    /// Whether the gate is (mostly) open.
    #[inline]
    pub fn is_open(&self) -> bool {
        self.gain > 0.5
    }

    /// Processes one sample: the envelope goes up at once and falls with its release (the fall never goes
    /// below the input, so the larger of the two is the envelope); the gain moves by a one-pole toward 1
    /// (attack) while the envelope is at the threshold or above, toward 0 (release) below it. The closing
    /// target's share, (1 − `gain_rel`) × 0, is +0, which adds nothing to a gain that is never negative;
    /// a NaN input gives a NaN envelope.
    #[inline]
    pub fn tick(&mut self, x: f64) -> f64 {
        let a = x.abs();
        let fall = self.env_rel * self.env + self.env_in * a;
        self.env = if fall > a { fall } else { a };
        let (c, share) = if self.env >= self.threshold { (self.gain_att, self.att_in) } else { (self.gain_rel, 0.0) };
        self.gain = c * self.gain + share;
        x * self.gain
    }
}

/// The compressor's level detector: the mean square of its input, smoothed by a one-pole (10 ms).
#[derive(Clone, Copy, Debug)]
pub struct Detector {
    coef: f64,
    ms: f64,
}

impl Detector {
    /// A detector whose levels nobody reads (a chain without a compressor runs one so as to have a single
    /// path).
    pub const UNUSED: Detector = Detector { coef: 0.0, ms: 0.0 };

    /// Takes sample `x` in; returns the mean square.
    #[inline]
    pub fn add(&mut self, x: f64) -> f64 {
        self.ms = self.coef * self.ms + (1.0 - self.coef) * x * x;
        self.ms
    }
}

/// Feed-forward compressor: an RMS detector (time constant `rms_s`), a static curve with threshold,
/// ratio and make-up gain, and attack/release smoothing of the gain reduction.
#[derive(Clone, Debug)]
pub struct Compressor {
    threshold_db: f64,
    slope: f64,
    makeup_db: f64,
    att: f64,
    rel: f64,
    detector: Detector,
    reduction_db: f64,
    target_db: f64,
    gain: f64,
}

impl Compressor {
    /// A compressor. `ratio` >= 1; times in seconds.
    pub fn new(rate_hz: f64, threshold_db: f64, ratio: f64, attack_s: f64, release_s: f64, makeup_db: f64) -> Self {
        let control_rate = rate_hz / CONTROL_EVERY as f64;
        Compressor {
            threshold_db,
            slope: 1.0 - 1.0 / ratio,
            makeup_db,
            att: one_pole(attack_s, control_rate),
            rel: one_pole(release_s, control_rate),
            detector: Detector { coef: one_pole(0.010, rate_hz), ms: 0.0 },
            reduction_db: 0.0,
            target_db: 0.0,
            gain: db_to_lin(makeup_db),
        }
    }

    /// The static curve: output level for a steady input level (both in dB, RMS).
    pub fn static_curve(&self, in_db: f64) -> f64 {
        in_db + self.makeup_db - (in_db - self.threshold_db).max(0.0) * self.slope
    }

    /// Processes sample number `n` (absolute index) `x`.
    #[inline]
    pub fn tick(&mut self, n: u64, x: f64) -> f64 {
        let ms = self.detector.add(x);
        if n % CONTROL_EVERY == 0 {
            self.control(ms);
        }
        x * self.gain
    }

    /// The gain computer, on the detector's mean square `ms` (at each sample whose absolute index is a
    /// multiple of [`CONTROL_EVERY`], after the detector took it in).
    pub fn control(&mut self, ms: f64) {
        let level_db = ms.max(1e-20).ln() * (10.0 / std::f64::consts::LN_10);
        self.target_db = (level_db - self.threshold_db).max(0.0) * self.slope;
        let c = if self.target_db > self.reduction_db { self.att } else { self.rel };
        self.reduction_db = c * self.reduction_db + (1.0 - c) * self.target_db;
        self.gain = db_to_lin(self.makeup_db - self.reduction_db);
    }

    /// The gain on the samples from the last control point on.
    #[inline(always)]
    pub fn gain(&self) -> f64 {
        self.gain
    }

    /// The detector, to run apart (see [`Compressor::apply`]).
    pub fn detector(&self) -> Detector {
        self.detector
    }

    /// The rest of [`Compressor::tick`] over the block `x` from sample `n0`, in place, once `detector` has
    /// taken the whole block in (as it is after it) and `levels[i]` holds its mean square after sample i:
    /// the gain computer at each multiple of [`CONTROL_EVERY`], the gain on every sample. The same
    /// arithmetic as [`Compressor::tick`] sample by sample, so the same bits.
    #[inline(always)]
    pub fn apply(&mut self, n0: u64, x: &mut [f64], detector: Detector, levels: &[f64]) {
        self.detector = detector;
        let every = CONTROL_EVERY as usize;
        let first = ((CONTROL_EVERY - n0 % CONTROL_EVERY) % CONTROL_EVERY) as usize;
        let (head, rest) = x.split_at_mut(first.min(x.len()));
        for s in head {
            *s *= self.gain;
        }
        let levels = levels.get(first..).unwrap_or_default();
        for (chunk, ms) in rest.chunks_mut(every).zip(levels.iter().step_by(every)) {
            self.control(*ms);
            for s in chunk {
                *s *= self.gain;
            }
        }
    }
}

/// Peak limiter: never lets a sample exceed the ceiling (instant attack), recovers with `release_s`.
#[derive(Clone, Debug)]
pub struct Limiter {
    ceiling: f64,
    rel: f64,
    gain: f64,
}

impl Limiter {
    /// A limiter at `ceiling_dbfs`.
    pub fn new(rate_hz: f64, ceiling_dbfs: f64, release_s: f64) -> Self {
        Limiter { ceiling: db_to_lin(ceiling_dbfs), rel: one_pole(release_s, rate_hz), gain: 1.0 }
    }

    /// The ceiling as a linear level.
    pub fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// Processes one sample.
    #[inline]
    pub fn tick(&mut self, x: f64) -> f64 {
        let a = x.abs();
        let recovered = self.rel * self.gain + (1.0 - self.rel);
        self.gain = if a * recovered > self.ceiling { self.ceiling / a } else { recovered };
        (x * self.gain).clamp(-self.ceiling, self.ceiling)
    }

    /// Whether the gain is at the fixed point of its release (where the iteration, monotone, converges).
    pub fn at_rest(&self) -> bool {
        self.rel * self.gain + (1.0 - self.rel) == self.gain
    }

    /// [`Limiter::tick`] over a block, into f32: the same bits. At rest (the gain at the fixed point of its
    /// release, where it stays while no sample needs limiting) and with no sample of the block above the
    /// ceiling at that gain (products by a positive gain keep the order of |x|, so the block's peak tells),
    /// every sample is x × gain: a loop without a recursion.
    #[inline(always)]
    pub fn process(&mut self, x: &[f64], out: &mut [f32]) {
        if self.at_rest() {
            let (g, c) = (self.gain, self.ceiling);
            let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if peak * g <= c {
                for (o, v) in out.iter_mut().zip(x) {
                    *o = (v * g).clamp(-c, c) as f32;
                }
                return;
            }
        }
        let mut local = self.clone();
        for (o, v) in out.iter_mut().zip(x) {
            *o = local.tick(*v) as f32;
        }
        *self = local;
    }
}

/// Ducking: lowers a signal by `depth_db` while a key (the voice) is present, smoothly.
#[derive(Clone, Debug)]
pub struct Ducker {
    depth: f64,
    att: f64,
    rel: f64,
    gain: f64,
}

impl Ducker {
    /// A ducker of `depth_db` (negative), 10 ms down, 250 ms up.
    pub fn new(rate_hz: f64, depth_db: f64) -> Self {
        Ducker { depth: db_to_lin(depth_db), att: one_pole(0.010, rate_hz), rel: one_pole(0.250, rate_hz), gain: 1.0 }
    }

    /// Whether the gain is at the fixed point of its one-pole toward the target of `key_present` (the
    /// iteration gets there in floating point too: it is monotone, so it converges).
    pub fn at_rest(&self, key_present: bool) -> bool {
        let (target, c) = if key_present { (self.depth, self.att) } else { (1.0, self.rel) };
        c * self.gain + (1.0 - c) * target == self.gain
    }

    /// The gains of a block, given whether the key is present at each sample: the same as
    /// a one-pole toward the key's target, sample by sample, with the state in a register.
    #[inline(always)]
    pub fn gains(&mut self, key_present: &[bool], out: &mut [f32]) {
        let mut g = self.gain;
        // At rest and the key the same all block long: every sample would compute the same gain again, so
        // the block is that gain.
        if let Some(&k) = key_present.first() {
            if self.at_rest(k) && key_present.iter().all(|p| *p == k) {
                let n = key_present.len().min(out.len());
                out[..n].fill(g as f32);
                return;
            }
        }
        for (k, o) in key_present.iter().zip(out.iter_mut()) {
            let (target, c) = if *k { (self.depth, self.att) } else { (1.0, self.rel) };
            g = c * g + (1.0 - c) * target;
            *o = g as f32;
        }
        self.gain = g;
    }
}

/// The level in dB of a linear amplitude (helper for tests and reports).
pub fn level_db(x: f64) -> f64 {
    lin_to_db(x)
}
