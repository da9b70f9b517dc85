//! The live vocal chain of the seed system, on CH1: HPF → gate → 3-band EQ → compressor → reverb →
//! limiter. Every stage is configurable and can be bypassed (`None`). Defaults are the seed's settings.

use super::biquad::{Biquad, Lanes4};
use super::dynamics::{CONTROL_EVERY, Compressor, Detector, Gate, Limiter};
use super::reverb::{Reverb, Segment};

/// Gate settings.
#[derive(Clone, Debug, PartialEq)]
pub struct GateParams {
    /// Threshold [dBFS]. Default -45.
    pub threshold_db: f64,
    /// Opening time [s]. Default 3 ms.
    pub attack_s: f64,
    /// Closing time [s]. Default 180 ms.
    pub release_s: f64,
}

/// One peaking EQ band.
#[derive(Clone, Debug, PartialEq)]
pub struct EqBand {
    /// Centre frequency [Hz].
    pub freq_hz: f64,
    /// Gain [dB].
    pub gain_db: f64,
    /// Quality. Default 1.
    pub q: f64,
}

/// Compressor settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CompParams {
    /// Threshold [dBFS, RMS]. Default -22.
    pub threshold_db: f64,
    /// Ratio. Default 3.5.
    pub ratio: f64,
    /// Attack [s]. Default 8 ms.
    pub attack_s: f64,
    /// Release [s]. Default 140 ms.
    pub release_s: f64,
    /// Make-up gain [dB]. Default +5.
    pub makeup_db: f64,
}

/// Reverb settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ReverbParams {
    /// Wet mix 0..1. Default 0.28.
    pub mix: f64,
    /// Room size 0..1. Default 0.5.
    pub room_size: f64,
    /// Damping 0..1. Default 0.5.
    pub damping: f64,
}

/// Limiter settings.
#[derive(Clone, Debug, PartialEq)]
pub struct LimiterParams {
    /// Ceiling [dBFS]. Default -1.
    pub ceiling_dbfs: f64,
    /// Release [s]. Default 50 ms.
    pub release_s: f64,
}

/// The chain's configuration; `None` (or no EQ band) bypasses a stage.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainConfig {
    /// High-pass corner [Hz]. Default 80.
    pub hpf_hz: Option<f64>,
    /// Noise gate.
    pub gate: Option<GateParams>,
    /// EQ bands. Default 250 Hz -1.5 dB, 2.6 kHz +2 dB, 8 kHz +3 dB.
    pub eq: Vec<EqBand>,
    /// Compressor (feed-forward, soft knee); none: bypassed.
    pub compressor: Option<CompParams>,
    /// Reverb send; none: dry.
    pub reverb: Option<ReverbParams>,
    /// Output limiter (look-ahead peak limiter); none: bypassed.
    pub limiter: Option<LimiterParams>,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig {
            hpf_hz: Some(80.0),
            gate: Some(GateParams { threshold_db: -45.0, attack_s: 0.003, release_s: 0.180 }),
            eq: vec![
                EqBand { freq_hz: 250.0, gain_db: -1.5, q: 1.0 },
                EqBand { freq_hz: 2600.0, gain_db: 2.0, q: 1.0 },
                EqBand { freq_hz: 8000.0, gain_db: 3.0, q: 1.0 },
            ],
            compressor: Some(CompParams {
                threshold_db: -22.0,
                ratio: 3.5,
                attack_s: 0.008,
                release_s: 0.140,
                makeup_db: 5.0,
            }),
            reverb: Some(ReverbParams { mix: 0.28, room_size: 0.5, damping: 0.5 }),
            limiter: Some(LimiterParams { ceiling_dbfs: -1.0, release_s: 0.050 }),
        }
    }
}

impl ChainConfig {
    /// Every stage bypassed.
    pub fn bypassed() -> Self {
        ChainConfig { hpf_hz: None, gate: None, eq: Vec::new(), compressor: None, reverb: None, limiter: None }
    }
}

/// The chain's processors, with their state.
#[derive(Clone, Debug)]
pub struct VocalChain {
    hpf: Option<Biquad>,
    gate: Option<Gate>,
    eq: Vec<Biquad>,
    comp: Option<Compressor>,
    reverb: Option<Reverb>,
    limiter: Option<Limiter>,
    /// The block between passes.
    scratch: Vec<f64>,
    /// The compressor's detector after each sample of the block (the pipelined front).
    levels: Vec<f64>,
}

impl VocalChain {
    /// The chain for `cfg` at `rate_hz`.
    pub fn new(cfg: &ChainConfig, rate_hz: f64) -> Self {
        VocalChain {
            hpf: cfg.hpf_hz.map(|f| Biquad::highpass(rate_hz, f, std::f64::consts::FRAC_1_SQRT_2)),
            gate: cfg.gate.as_ref().map(|g| Gate::new(rate_hz, g.threshold_db, g.attack_s, g.release_s)),
            eq: cfg.eq.iter().map(|b| Biquad::peaking(rate_hz, b.freq_hz, b.q, b.gain_db)).collect(),
            comp: cfg
                .compressor
                .as_ref()
                .map(|c| Compressor::new(rate_hz, c.threshold_db, c.ratio, c.attack_s, c.release_s, c.makeup_db)),
            reverb: cfg.reverb.as_ref().map(|r| Reverb::new(rate_hz, r.room_size, r.damping, r.mix)),
            limiter: cfg.limiter.as_ref().map(|l| Limiter::new(rate_hz, l.ceiling_dbfs, l.release_s)),
            scratch: Vec::new(),
            levels: Vec::new(),
        }
    }

    /// Whether a voice is present (the gate is open, or there is no gate).
    pub fn voice_present(&self) -> bool {
        self.gate.as_ref().is_none_or(Gate::is_open)
    }

    /// Processes sample number `n` (absolute index).
    #[inline]
    pub fn tick(&mut self, n: u64, x: f64) -> f64 {
        let mut y = self.tick_to_compressor(n, x);
        if let Some(r) = &mut self.reverb {
            y = r.tick(y);
        }
        if let Some(l) = &mut self.limiter {
            y = l.tick(y);
        }
        y
    }

    /// Sample `n` through the stages before the reverb.
    #[inline]
    fn tick_to_compressor(&mut self, n: u64, x: f64) -> f64 {
        let mut y = x;
        if let Some(h) = &mut self.hpf {
            y = h.tick(y);
        }
        if let Some(g) = &mut self.gate {
            y = g.tick(y);
        }
        for b in &mut self.eq {
            y = b.tick(y);
        }
        if let Some(c) = &mut self.comp {
            y = c.tick(n, y);
        }
        y
    }

    /// Processes a block starting at absolute sample index `n0`, in place; `voice[i]` tells whether a
    /// voice was present at sample i (for ducking). The same arithmetic as [`VocalChain::tick`] sample by
    /// sample (the same bits), in f64 between stages, in three passes: the stages up to the compressor
    /// sample by sample (their recursions overlap), the reverb over the block ([`Reverb::process`]), the
    /// limiter.
    #[inline(always)]
    pub fn process(&mut self, n0: u64, buf: &mut [f32], voice: &mut [bool]) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend(buf.iter().map(|x| f64::from(*x)));
        let seed_shape = self.eq.len() == 3 && self.hpf.is_some() && self.gate.is_some();
        if seed_shape && self.comp.is_some() && self.reverb.is_some() {
            self.front_fused(n0, &mut scratch, voice);
            self.limit(buf, &scratch);
            self.scratch = scratch;
            return;
        }
        match self.eq.len() {
            3 if seed_shape => self.front_pipelined(n0, &mut scratch, voice),
            0 => self.front::<0>(n0, &mut scratch, voice),
            1 => self.front::<1>(n0, &mut scratch, voice),
            2 => self.front::<2>(n0, &mut scratch, voice),
            3 => self.front::<3>(n0, &mut scratch, voice),
            4 => self.front::<4>(n0, &mut scratch, voice),
            _ => {
                for (i, (s, v)) in scratch.iter_mut().zip(voice.iter_mut()).enumerate() {
                    *s = self.tick_to_compressor(n0 + i as u64, *s);
                    *v = self.voice_present();
                }
            }
        }
        if let Some(r) = &mut self.reverb {
            r.process(&mut scratch);
        }
        self.limit(buf, &scratch);
        self.scratch = scratch;
    }

    /// The limiter (or none) from `x` into `buf`.
    #[inline(always)]
    fn limit(&mut self, buf: &mut [f32], x: &[f64]) {
        match &mut self.limiter {
            Some(l) => l.process(x, buf),
            None => {
                for (out, s) in buf.iter_mut().zip(x) {
                    *out = *s as f32;
                }
            }
        }
    }

    /// The stages before the reverb over `x` in place, for a chain of `N` EQ bands: the same arithmetic
    /// as [`VocalChain::tick_to_compressor`], with every stage's state copied into locals for the block
    /// (kept in registers, not stored and reloaded between samples).
    fn front<const N: usize>(&mut self, n0: u64, x: &mut [f64], voice: &mut [bool]) {
        let mut hpf = self.hpf.clone();
        let mut gate = self.gate;
        let mut eq: [Biquad; N] = std::array::from_fn(|k| self.eq[k].clone());
        let mut comp = self.comp.clone();
        for (i, (s, v)) in x.iter_mut().zip(voice.iter_mut()).enumerate() {
            let mut y = *s;
            if let Some(h) = &mut hpf {
                y = h.tick(y);
            }
            if let Some(g) = &mut gate {
                y = g.tick(y);
            }
            for b in &mut eq {
                y = b.tick(y);
            }
            if let Some(c) = &mut comp {
                y = c.tick(n0 + i as u64, y);
            }
            *s = y;
            *v = gate.as_ref().is_none_or(Gate::is_open);
        }
        self.hpf = hpf;
        self.gate = gate;
        self.eq.clear();
        self.eq.extend(eq);
        self.comp = comp;
    }

    /// [`VocalChain::front`] for the seed's shape of chain (HPF, gate, three EQ bands): the HPF and the
    /// three bands as a skewed pipeline of four lanes ([`Lanes4`]; at step t lane 0, the HPF, filters
    /// sample t and lanes 1 to 3 samples t − [`SKEW`], t − SKEW − 1 and t − SKEW − 2), the gate between
    /// lanes 0 and 1 and the compressor's detector after lane 3, each in sample order; the compressor's
    /// gain computer and gain after, over the block ([`Compressor::apply`]). The same arithmetic on every
    /// sample as [`VocalChain::tick_to_compressor`], so the same bits.
    #[inline(always)]
    fn front_pipelined(&mut self, n0: u64, x: &mut [f64], voice: &mut [bool]) {
        let n = x.len();
        let mut levels = self.levels_for(n);
        let [e0, e1, e2] = &mut self.eq[..] else { unreachable!("three bands") };
        let (Some(hpf), Some(gate)) = (&mut self.hpf, &mut self.gate) else { unreachable!("an HPF and a gate") };
        let voice = &mut voice[..n];
        let detector = self.comp.as_ref().map_or(Detector::UNUSED, Compressor::detector);
        let mut p = Pipeline::new(Lanes4::new([hpf, e0, e1, e2]), *gate, detector);
        // Filling: steps where lane 3 has no sample yet (all of a block shorter than the pipeline).
        for t in 0..SKEW + 2 {
            p.edge(t, x, voice, &mut levels);
        }
        if n > SKEW + 2 {
            p.steady(x, voice, &mut levels);
        }
        // Draining: steps where lane 0 has no sample left.
        for t in n.max(SKEW + 2)..n + SKEW + 2 {
            p.edge(t, x, voice, &mut levels);
        }
        p.lanes.store([hpf, e0, e1, e2]);
        *gate = p.gate;
        if let Some(c) = &mut self.comp {
            c.apply(n0, x, p.detector, &levels);
        }
        self.levels = levels;
    }

    /// [`VocalChain::front_pipelined`] with the compressor and the reverb in the same loop: at the step
    /// where lane 3 gives out sample s, the detector takes it in, the gain computer runs if s is a control
    /// point, the gain goes on and the reverb takes the sample ([`Reverb::segments`]), so that the
    /// reverb's recursions overlap the front's instead of following them. The samples lane 3 gives out
    /// while the pipeline drains go through the compressor and the reverb after it. Each stage sees its
    /// samples in order with the same arithmetic, so the same bits as [`VocalChain::tick`].
    #[inline(always)]
    fn front_fused(&mut self, n0: u64, x: &mut [f64], voice: &mut [bool]) {
        let n = x.len();
        let mut levels = self.levels_for(n);
        let [e0, e1, e2] = &mut self.eq[..] else { unreachable!("three bands") };
        let (Some(hpf), Some(gate)) = (&mut self.hpf, &mut self.gate) else { unreachable!("an HPF and a gate") };
        let (Some(comp), Some(reverb)) = (&mut self.comp, &mut self.reverb) else {
            unreachable!("a compressor and a reverb")
        };
        let voice = &mut voice[..n];
        let mut p = Pipeline::new(Lanes4::new([hpf, e0, e1, e2]), *gate, comp.detector());
        for t in 0..SKEW + 2 {
            p.edge(t, x, voice, &mut levels);
        }
        // Samples lane 3 gives out in the steady steps.
        let m = n.saturating_sub(SKEW + 2);
        if m > 0 {
            let mut c = comp.clone();
            reverb.segments(
                m,
                #[inline(always)]
                |seg, range, filt| p.steady_fused(n0, range, x, voice, &mut c, seg, filt),
            );
            *comp = c;
        }
        for t in n.max(SKEW + 2)..n + SKEW + 2 {
            p.edge(t, x, voice, &mut levels);
        }
        p.lanes.store([hpf, e0, e1, e2]);
        *gate = p.gate;
        comp.apply(n0 + m as u64, &mut x[m..], p.detector, &levels[m..]);
        reverb.process(&mut x[m..]);
        self.levels = levels;
    }

    /// The detector's levels' buffer, `n` zeros (its room kept from block to block).
    #[inline(always)]
    fn levels_for(&mut self, n: usize) -> Vec<f64> {
        let mut levels = std::mem::take(&mut self.levels);
        levels.clear();
        levels.resize(n, 0.0);
        levels
    }

    /// Reserves room for blocks of up to `frames`, so that [`VocalChain::process`] never allocates.
    pub fn reserve(&mut self, frames: usize) {
        self.scratch.reserve(frames.saturating_sub(self.scratch.len()));
        self.levels.reserve(frames.saturating_sub(self.levels.len()));
    }
}

/// Steps between the HPF (lane 0 of the pipelined front) and the gate: the gate takes the HPF's output of
/// SKEW steps before. With the gate's output going into lane 1, a shorter distance would put the gate's
/// recursions on the path from one step's HPF output to the next step's (the compiler packs lanes 0 and 1
/// into one SIMD register), so that a step took their latencies added up.
const SKEW: usize = 4;

/// Each lane's lag behind lane 0, in steps.
const LAG: [usize; 4] = [0, SKEW, SKEW + 1, SKEW + 2];

/// The state of the pipelined front ([`VocalChain::front_pipelined`]) over a block.
struct Pipeline {
    lanes: Lanes4,
    gate: Gate,
    /// The compressor's detector ([`Detector::UNUSED`] without a compressor).
    detector: Detector,
    /// Each lane's output at the previous step.
    prev: [f64; 4],
    /// The HPF's output of the last SKEW steps, the latest first.
    hpf_out: [f64; SKEW],
}

impl Pipeline {
    /// The pipeline at the start of a block: every lane's output and the HPF's last outputs zero.
    #[inline(always)]
    fn new(lanes: Lanes4, gate: Gate, detector: Detector) -> Self {
        Pipeline { lanes, gate, detector, prev: [0.0; 4], hpf_out: [0.0; SKEW] }
    }

    /// Lane 3's output of sample `i` to the detector (its level into `levels[i]`) and to `x[i]`.
    #[inline(always)]
    fn emit(detector: &mut Detector, i: usize, y: f64, x: &mut [f64], levels: &mut [f64]) {
        levels[i] = detector.add(y);
        x[i] = y;
    }

    /// Step `t` while filling or draining (some lane without a sample): lane by lane.
    #[inline(always)]
    fn edge(&mut self, t: usize, x: &mut [f64], voice: &mut [bool], levels: &mut [f64]) {
        let n = x.len();
        let gated = match t.checked_sub(SKEW) {
            Some(s) if s < n => {
                let v = self.gate.tick(self.hpf_out[SKEW - 1]);
                voice[s] = self.gate.is_open();
                v
            }
            _ => 0.0,
        };
        let u = [if t < n { x[t] } else { 0.0 }, gated, self.prev[1], self.prev[2]];
        for (k, out) in self.prev.iter_mut().enumerate() {
            if t >= LAG[k] && t - LAG[k] < n {
                *out = self.lanes.tick_lane(k, u[k]);
            }
        }
        self.hpf_out.rotate_right(1);
        self.hpf_out[0] = self.prev[0];
        if let Some(i) = t.checked_sub(LAG[3]).filter(|i| *i < n) {
            Self::emit(&mut self.detector, i, self.prev[3], x, levels);
        }
    }

    /// The steady steps at which lane 3 gives out the samples of `range`, each sample then through the
    /// compressor `comp` (the gain computer at each control point) and the reverb's segment `seg` (whose
    /// sample j is sample `range.start` + j).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn steady_fused(
        &mut self,
        n0: u64,
        range: std::ops::Range<usize>,
        x: &mut [f64],
        voice: &mut [bool],
        comp: &mut Compressor,
        seg: &Segment<'_>,
        filt: &mut [f64; 4],
    ) {
        let mut lanes = self.lanes;
        let mut gate = self.gate;
        let mut detector = self.detector;
        let mut y = self.prev;
        let [mut h0, mut h1, mut h2, mut h3] = self.hpf_out;
        let base = range.start;
        let mut s = range.start;
        let every = CONTROL_EVERY as usize;
        let mut gain = comp.gain();
        macro_rules! step {
            ($s:expr) => {{
                let s = $s;
                let t = s + LAG[3];
                let gated = gate.tick(h3);
                voice[t - SKEW] = gate.is_open();
                y = lanes.tick([x[t], gated, y[1], y[2]]);
                (h3, h2, h1, h0) = (h2, h1, h0, y[0]);
                detector.add(y[3])
            }};
        }
        while s < range.end {
            // Up to the next control point: the gain computer runs at most at the chunk's first sample, so
            // that step goes apart and the loop over the others has no branch (with one, the compiler
            // no longer packs the lanes into vector registers: the mixer's 128 frames took 1.50-1.54 us
            // instead of 1.27).
            let offset = ((n0 + s as u64) % CONTROL_EVERY) as usize;
            let end = (s + every - offset).min(range.end);
            let ms = step!(s);
            if offset == 0 {
                comp.control(ms);
                gain = comp.gain();
            }
            x[s] = seg.tick(s - base, filt, y[3] * gain);
            for s in s + 1..end {
                step!(s);
                x[s] = seg.tick(s - base, filt, y[3] * gain);
            }
            s = end;
        }
        self.lanes = lanes;
        self.gate = gate;
        self.detector = detector;
        self.prev = y;
        self.hpf_out = [h0, h1, h2, h3];
    }

    /// Steps SKEW + 2 .. n (every lane busy), with the state in locals.
    #[inline(always)]
    fn steady(&mut self, x: &mut [f64], voice: &mut [bool], levels: &mut [f64]) {
        let n = x.len();
        let mut lanes = self.lanes;
        let mut gate = self.gate;
        let mut detector = self.detector;
        let mut y = self.prev;
        let [mut h0, mut h1, mut h2, mut h3] = self.hpf_out;
        for t in SKEW + 2..n {
            let gated = gate.tick(h3);
            voice[t - SKEW] = gate.is_open();
            y = lanes.tick([x[t], gated, y[1], y[2]]);
            (h3, h2, h1, h0) = (h2, h1, h0, y[0]);
            Self::emit(&mut detector, t - LAG[3], y[3], x, levels);
        }
        self.lanes = lanes;
        self.gate = gate;
        self.detector = detector;
        self.prev = y;
        self.hpf_out = [h0, h1, h2, h3];
    }
}
