//! A small Schroeder/Freeverb-style reverb: four damped comb filters in parallel, two all-passes in series.

/// Delay lengths at 44.1 kHz (Freeverb's), scaled to the sample rate.
const COMBS: [usize; 4] = [1116, 1188, 1277, 1356];
const ALLPASSES: [usize; 2] = [556, 441];

#[derive(Clone, Debug)]
struct Comb {
    buf: Vec<f64>,
    i: usize,
    filt: f64,
}

#[derive(Clone, Debug)]
struct Allpass {
    buf: Vec<f64>,
    i: usize,
}

/// The reverb.
#[derive(Clone, Debug)]
pub struct Reverb {
    combs: [Comb; 4],
    allpasses: [Allpass; 2],
    feedback: f64,
    damp: f64,
    mix: f64,
}

impl Reverb {
    /// A reverb with `room_size` and `damping` in 0..1 and a wet `mix` in 0..1.
    pub fn new(rate_hz: f64, room_size: f64, damping: f64, mix: f64) -> Self {
        let scale = rate_hz / 44_100.0;
        let len = |n: usize| ((n as f64 * scale).round() as usize).max(1);
        Reverb {
            combs: COMBS.map(|n| Comb { buf: vec![0.0; len(n)], i: 0, filt: 0.0 }),
            allpasses: ALLPASSES.map(|n| Allpass { buf: vec![0.0; len(n)], i: 0 }),
            feedback: 0.7 + 0.28 * room_size,
            damp: 0.4 * damping,
            mix,
        }
    }

    /// Processes one sample.
    #[inline]
    pub fn tick(&mut self, x: f64) -> f64 {
        let input = x * 0.25;
        let mut wet = 0.0;
        for c in &mut self.combs {
            let y = c.buf[c.i];
            c.filt = y * (1.0 - self.damp) + c.filt * self.damp;
            c.buf[c.i] = input + c.filt * self.feedback;
            c.i += 1;
            if c.i == c.buf.len() {
                c.i = 0;
            }
            wet += y;
        }
        for a in &mut self.allpasses {
            let b = a.buf[a.i];
            a.buf[a.i] = wet + b * 0.5;
            wet = b - wet;
            a.i += 1;
            if a.i == a.buf.len() {
                a.i = 0;
            }
        }
        x * (1.0 - self.mix) + wet * self.mix
    }

    /// Processes a block in place: the same arithmetic as [`Reverb::tick`] sample by sample, so the
    /// same bits, arranged in segments that end where a delay line wraps and are no longer than the
    /// shortest line (so no slot is read after being written in the same segment), each in one loop: the
    /// four combs side by side (four independent recursions per sample, no index arithmetic), then the
    /// all-passes and the mix of the same sample (no recursion of their own: they fill the time the
    /// combs' recursion leaves).
    #[inline(always)]
    pub fn process(&mut self, x: &mut [f64]) {
        let (damp, feedback, mix) = (self.damp, self.feedback, self.mix);
        let mut start = 0;
        while start < x.len() {
            let mut len = x.len() - start;
            for c in &self.combs {
                len = len.min(c.buf.len() - c.i);
            }
            for a in &self.allpasses {
                len = len.min(a.buf.len() - a.i);
            }
            let seg = &mut x[start..start + len];
            let [c0, c1, c2, c3] = &mut self.combs;
            let (b0, b1) = (&mut c0.buf[c0.i..c0.i + len], &mut c1.buf[c1.i..c1.i + len]);
            let (b2, b3) = (&mut c2.buf[c2.i..c2.i + len], &mut c3.buf[c3.i..c3.i + len]);
            let [p0, p1] = &mut self.allpasses;
            let (a0, a1) = (&mut p0.buf[p0.i..p0.i + len], &mut p1.buf[p1.i..p1.i + len]);
            let mut f = [c0.filt, c1.filt, c2.filt, c3.filt];
            for j in 0..len {
                let dry = seg[j];
                let input = dry * 0.25;
                let y = [b0[j], b1[j], b2[j], b3[j]];
                for k in 0..4 {
                    f[k] = y[k] * (1.0 - damp) + f[k] * damp;
                }
                b0[j] = input + f[0] * feedback;
                b1[j] = input + f[1] * feedback;
                b2[j] = input + f[2] * feedback;
                b3[j] = input + f[3] * feedback;
                let mut wet = 0.0 + y[0] + y[1] + y[2] + y[3];
                for a in [&mut a0[j], &mut a1[j]] {
                    let old = *a;
                    *a = wet + old * 0.5;
                    wet = old - wet;
                }
                seg[j] = dry * (1.0 - mix) + wet * mix;
            }
            for (c, f) in self.combs.iter_mut().zip(f) {
                c.filt = f;
                c.i += len;
                if c.i == c.buf.len() {
                    c.i = 0;
                }
            }
            for a in &mut self.allpasses {
                a.i += len;
                if a.i == a.buf.len() {
                    a.i = 0;
                }
            }
            start += len;
        }
    }
}
