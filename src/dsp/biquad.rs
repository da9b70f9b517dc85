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
