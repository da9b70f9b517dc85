//! A small Schroeder/Freeverb-style reverb: four damped comb filters in parallel, two all-passes in series.

/// Delay lengths at 44.1 kHz (Freeverb's), scaled to the sample rate.
const COMBS: [usize; 4] = [1116, 1188, 1277, 1356];
const ALLPASSES: [usize; 2] = [556, 441];

/// Delay lines side by side in one ring: slot s holds what each of the `N` lines took at one sample, and
/// line k gives back what it took `delay[k]` samples before. One store a sample for all the lines (the
/// loop's stores, not its recursions, bounded it with a buffer per line).
#[derive(Clone, Debug)]
struct Lines<const N: usize> {
    ring: Vec<[f64; N]>,
    delay: [usize; N],
    /// The slot the next sample goes to.
    w: usize,
}

impl<const N: usize> Lines<N> {
    fn new(delay: [usize; N]) -> Self {
        let len = delay.iter().copied().max().unwrap_or(1);
        Lines { ring: vec![[0.0; N]; len], delay, w: 0 }
    }

    /// The slot line k reads at the next sample.
    #[inline(always)]
    fn read_at(&self, k: usize) -> usize {
        (self.w + self.ring.len() - self.delay[k]) % self.ring.len()
    }

    /// Samples from the next one on before a line's reading or the writing wraps.
    #[inline(always)]
    fn run(&self) -> usize {
        (0..N).fold(self.ring.len() - self.w, |m, k| m.min(self.ring.len() - self.read_at(k)))
    }

    /// The lines' outputs at the next sample (before it is written).
    #[inline(always)]
    fn outputs(&self) -> [f64; N] {
        std::array::from_fn(|k| self.ring[self.read_at(k)][k])
    }

    /// Writes the next sample's inputs and moves on.
    #[inline(always)]
    fn push(&mut self, v: [f64; N]) {
        self.ring[self.w] = v;
        self.advance(1);
    }

    #[inline(always)]
    fn advance(&mut self, n: usize) {
        self.w = (self.w + n) % self.ring.len();
    }
}

/// The reverb.
#[derive(Clone, Debug)]
pub struct Reverb {
    /// The four combs' delay lines.
    combs: Lines<4>,
    /// Each comb's damping filter's output.
    filt: [f64; 4],
    /// The two all-passes' delay lines.
    allpasses: Lines<2>,
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
            combs: Lines::new(COMBS.map(len)),
            filt: [0.0; 4],
            allpasses: Lines::new(ALLPASSES.map(len)),
            feedback: 0.7 + 0.28 * room_size,
            damp: 0.4 * damping,
            mix,
        }
    }

    /// Processes one sample.
    #[inline]
    pub fn tick(&mut self, x: f64) -> f64 {
        let input = x * 0.25;
        let y = self.combs.outputs();
        let mut wet = 0.0;
        let mut to_lines = [0.0; 4];
        for k in 0..4 {
            self.filt[k] = y[k] * (1.0 - self.damp) + self.filt[k] * self.damp;
            to_lines[k] = input + self.filt[k] * self.feedback;
            wet += y[k];
        }
        self.combs.push(to_lines);
        let old = self.allpasses.outputs();
        let mut to_allpasses = [0.0; 2];
        for k in 0..2 {
            to_allpasses[k] = wet + old[k] * 0.5;
            wet = old[k] - wet;
        }
        self.allpasses.push(to_allpasses);
        x * (1.0 - self.mix) + wet * self.mix
    }

    /// Processes a block in place: the same arithmetic as [`Reverb::tick`] sample by sample, so the
    /// same bits, arranged in segments that end where a line's reading or writing wraps, each in one loop:
    /// the four combs side by side (four independent recursions per sample, no index arithmetic), then the
    /// all-passes and the mix of the same sample (no recursion of their own: they fill the time the combs'
    /// recursion leaves).
    #[inline(always)]
    pub fn process(&mut self, x: &mut [f64]) {
        use std::cell::Cell;
        let (damp, feedback, mix) = (self.damp, self.feedback, self.mix);
        let mut f = self.filt;
        let mut start = 0;
        while start < x.len() {
            let len = (x.len() - start).min(self.combs.run()).min(self.allpasses.run());
            let seg = &mut x[start..start + len];
            let (cw, cr) = (self.combs.w, std::array::from_fn::<_, 4, _>(|k| self.combs.read_at(k)));
            let (aw, ar) = (self.allpasses.w, [self.allpasses.read_at(0), self.allpasses.read_at(1)]);
            // A line's slot read at a sample may be the one written at that sample (the longest line), so
            // the ring is read and written through cells, in the order `tick` does.
            let combs = Cell::from_mut(&mut self.combs.ring[..]).as_slice_of_cells();
            let allpasses = Cell::from_mut(&mut self.allpasses.ring[..]).as_slice_of_cells();
            let (c_out, a_out) = (&combs[cw..cw + len], &allpasses[aw..aw + len]);
            let c_in: [&[Cell<[f64; 4]>]; 4] = std::array::from_fn(|k| &combs[cr[k]..cr[k] + len]);
            let a_in = [&allpasses[ar[0]..ar[0] + len], &allpasses[ar[1]..ar[1] + len]];
            for j in 0..len {
                let dry = seg[j];
                let input = dry * 0.25;
                let y = [c_in[0][j].get()[0], c_in[1][j].get()[1], c_in[2][j].get()[2], c_in[3][j].get()[3]];
                for k in 0..4 {
                    f[k] = y[k] * (1.0 - damp) + f[k] * damp;
                }
                c_out[j].set(std::array::from_fn(|k| input + f[k] * feedback));
                let mut wet = 0.0 + y[0] + y[1] + y[2] + y[3];
                let old = [a_in[0][j].get()[0], a_in[1][j].get()[1]];
                let mut to_allpasses = [0.0; 2];
                for k in 0..2 {
                    to_allpasses[k] = wet + old[k] * 0.5;
                    wet = old[k] - wet;
                }
                a_out[j].set(to_allpasses);
                seg[j] = dry * (1.0 - mix) + wet * mix;
            }
            self.combs.advance(len);
            self.allpasses.advance(len);
            start += len;
        }
        self.filt = f;
    }
}
