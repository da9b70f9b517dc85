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
    /// same bits, arranged in segments that end where a line's reading or writing wraps
    /// ([`Reverb::segments`]).
    #[inline(always)]
    pub fn process(&mut self, x: &mut [f64]) {
        self.segments(
            x.len(),
            #[inline(always)]
            |seg, range, f| {
                for (j, s) in x[range].iter_mut().enumerate() {
                    *s = seg.tick(j, f, *s);
                }
            },
        );
    }

    /// Runs the reverb over the next `n` samples in segments that end where a line's reading or writing
    /// wraps: `f(segment, range, filt)` is to call [`Segment::tick`] once for each sample of `range` (the
    /// samples' indices among the `n`), in order, with j = 0, 1, … (no index arithmetic in the segment's
    /// loop: the four combs side by side, four independent recursions per sample). A caller can fuse
    /// other work into that loop, so that its recursions and the combs' overlap.
    #[inline(always)]
    pub fn segments(&mut self, n: usize, mut f: impl FnMut(&Segment<'_>, std::ops::Range<usize>, &mut [f64; 4])) {
        use std::cell::Cell;
        let (damp, feedback, mix) = (self.damp, self.feedback, self.mix);
        let mut filt = self.filt;
        let mut start = 0;
        while start < n {
            let len = (n - start).min(self.combs.run()).min(self.allpasses.run());
            let (cw, cr) = (self.combs.w, std::array::from_fn::<_, 4, _>(|k| self.combs.read_at(k)));
            let (aw, ar) = (self.allpasses.w, [self.allpasses.read_at(0), self.allpasses.read_at(1)]);
            // A line's slot read at a sample may be the one written at that sample (the longest line), so
            // the ring is read and written through cells, in the order `tick` does.
            let combs = Cell::from_mut(&mut self.combs.ring[..]).as_slice_of_cells();
            let allpasses = Cell::from_mut(&mut self.allpasses.ring[..]).as_slice_of_cells();
            let seg = Segment {
                c_out: &combs[cw..cw + len],
                a_out: &allpasses[aw..aw + len],
                c_in: std::array::from_fn(|k| &combs[cr[k]..cr[k] + len]),
                a_in: [&allpasses[ar[0]..ar[0] + len], &allpasses[ar[1]..ar[1] + len]],
                damp,
                feedback,
                mix,
            };
            f(&seg, start..start + len, &mut filt);
            self.combs.advance(len);
            self.allpasses.advance(len);
            start += len;
        }
        self.filt = filt;
    }
}

/// A stretch of samples over which no line's reading or writing wraps ([`Reverb::segments`]).
pub struct Segment<'a> {
    c_out: &'a [std::cell::Cell<[f64; 4]>],
    c_in: [&'a [std::cell::Cell<[f64; 4]>]; 4],
    a_out: &'a [std::cell::Cell<[f64; 2]>],
    a_in: [&'a [std::cell::Cell<[f64; 2]>]; 2],
    damp: f64,
    feedback: f64,
    mix: f64,
}

impl Segment<'_> {
    /// Sample j of the segment: [`Reverb::tick`]'s arithmetic on `dry`, with the combs' damping filters'
    /// outputs in `filt`.
    #[inline(always)]
    pub fn tick(&self, j: usize, filt: &mut [f64; 4], dry: f64) -> f64 {
        let (damp, feedback, mix) = (self.damp, self.feedback, self.mix);
        let input = dry * 0.25;
        let c_in = &self.c_in;
        let y = [c_in[0][j].get()[0], c_in[1][j].get()[1], c_in[2][j].get()[2], c_in[3][j].get()[3]];
        for k in 0..4 {
            filt[k] = y[k] * (1.0 - damp) + filt[k] * damp;
        }
        self.c_out[j].set(std::array::from_fn(|k| input + filt[k] * feedback));
        let mut wet = 0.0 + y[0] + y[1] + y[2] + y[3];
        let old = [self.a_in[0][j].get()[0], self.a_in[1][j].get()[1]];
        let mut to_allpasses = [0.0; 2];
        for k in 0..2 {
            to_allpasses[k] = wet + old[k] * 0.5;
            wet = old[k] - wet;
        }
        self.a_out[j].set(to_allpasses);
        dry * (1.0 - mix) + wet * mix
    }
}
