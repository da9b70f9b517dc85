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
    combs: Vec<Comb>,
    allpasses: Vec<Allpass>,
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
            combs: COMBS.iter().map(|n| Comb { buf: vec![0.0; len(*n)], i: 0, filt: 0.0 }).collect(),
            allpasses: ALLPASSES.iter().map(|n| Allpass { buf: vec![0.0; len(*n)], i: 0 }).collect(),
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
}
