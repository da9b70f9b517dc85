//! Biquad filters (RBJ Audio EQ Cookbook), transposed direct form II, f64 state.

use std::f64::consts::PI;

/// A second-order IIR filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Biquad {
    b0: f64,
    b1: f64,
    b2: f64,
    a1: f64,
    a2: f64,
    z1: f64,
    z2: f64,
}

impl Biquad {
    fn normalized(b0: f64, b1: f64, b2: f64, a0: f64, a1: f64, a2: f64) -> Self {
        Biquad { b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: a1 / a0, a2: a2 / a0, z1: 0.0, z2: 0.0 }
    }

    /// High-pass at `freq_hz` with quality `q` (1/sqrt(2): Butterworth, -3.01 dB at `freq_hz`).
    pub fn highpass(rate_hz: f64, freq_hz: f64, q: f64) -> Self {
        let w0 = 2.0 * PI * freq_hz / rate_hz;
        let (s, c) = w0.sin_cos();
        let alpha = s / (2.0 * q);
        Self::normalized((1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0, 1.0 + alpha, -2.0 * c, 1.0 - alpha)
    }

    /// Peaking EQ: `gain_db` at `freq_hz`, bandwidth set by `q`.
    pub fn peaking(rate_hz: f64, freq_hz: f64, q: f64, gain_db: f64) -> Self {
        let a = 10f64.powf(gain_db / 40.0);
        let w0 = 2.0 * PI * freq_hz / rate_hz;
        let (s, c) = w0.sin_cos();
        let alpha = s / (2.0 * q);
        Self::normalized(1.0 + alpha * a, -2.0 * c, 1.0 - alpha * a, 1.0 + alpha / a, -2.0 * c, 1.0 - alpha / a)
    }

    /// Filters one sample.
    #[inline]
    pub fn tick(&mut self, x: f64) -> f64 {
        // Ordered so that only `a1 × y` and one subtraction stand between one sample's output and the
        // next one's (the recursion's latency bounds the whole chain).
        let y = self.b0 * x + self.z1;
        self.z1 = (self.b1 * x + self.z2) - self.a1 * y;
        self.z2 = self.b2 * x - self.a2 * y;
        y
    }

    /// The magnitude of the frequency response at `freq_hz` (closed form).
    pub fn magnitude(&self, rate_hz: f64, freq_hz: f64) -> f64 {
        let w = 2.0 * PI * freq_hz / rate_hz;
        let (c1, s1) = (w.cos(), w.sin());
        let (c2, s2) = ((2.0 * w).cos(), (2.0 * w).sin());
        let num = ((self.b0 + self.b1 * c1 + self.b2 * c2).powi(2) + (self.b1 * s1 + self.b2 * s2).powi(2)).sqrt();
        let den = ((1.0 + self.a1 * c1 + self.a2 * c2).powi(2) + (self.a1 * s1 + self.a2 * s2).powi(2)).sqrt();
        num / den
    }
}

/// Four biquads side by side, one per lane: a cascade of four run as a skewed pipeline (each lane filters,
/// at a step, a sample that the lane before it filtered at an earlier step), so that one step is four
/// independent recursions the compiler vectorises.
/// Each lane does exactly [`Biquad::tick`]'s arithmetic, so the cascade gives the same bits.
#[derive(Clone, Copy, Debug)]
pub struct Lanes4 {
    b0: [f64; 4],
    b1: [f64; 4],
    b2: [f64; 4],
    a1: [f64; 4],
    a2: [f64; 4],
    z1: [f64; 4],
    z2: [f64; 4],
}

impl Lanes4 {
    /// The lanes of `bq`, with their state.
    pub fn new(bq: [&Biquad; 4]) -> Self {
        Lanes4 {
            b0: bq.map(|b| b.b0),
            b1: bq.map(|b| b.b1),
            b2: bq.map(|b| b.b2),
            a1: bq.map(|b| b.a1),
            a2: bq.map(|b| b.a2),
            z1: bq.map(|b| b.z1),
            z2: bq.map(|b| b.z2),
        }
    }

    /// Writes each lane's state back to its biquad.
    pub fn store(&self, bq: [&mut Biquad; 4]) {
        for (k, b) in bq.into_iter().enumerate() {
            b.z1 = self.z1[k];
            b.z2 = self.z2[k];
        }
    }

    /// One step of every lane.
    #[inline]
    pub fn tick(&mut self, u: [f64; 4]) -> [f64; 4] {
        let mut y = [0.0; 4];
        for k in 0..4 {
            y[k] = self.b0[k] * u[k] + self.z1[k];
            self.z1[k] = (self.b1[k] * u[k] + self.z2[k]) - self.a1[k] * y[k];
            self.z2[k] = self.b2[k] * u[k] - self.a2[k] * y[k];
        }
        y
    }

    /// One step of lane `k` alone (filling and draining the pipeline).
    #[inline]
    pub fn tick_lane(&mut self, k: usize, u: f64) -> f64 {
        let y = self.b0[k] * u + self.z1[k];
        self.z1[k] = (self.b1[k] * u + self.z2[k]) - self.a1[k] * y;
        self.z2[k] = self.b2[k] * u - self.a2[k] * y;
        y
    }
}
