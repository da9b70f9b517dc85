//! Integrated loudness of a stereo signal, ITU-R BS.1770-4 / EBU R128 (what `ebur128`'s mode I
//! measures): K-weighting (the standard's pre-filter and RLB high-pass, as one 4th-order filter with
//! the coefficients libebur128 derives for any rate), 400 ms gating blocks every 100 ms, an absolute
//! gate at -70 LUFS and a relative gate 10 LU below the mean of the blocks above it.
//!
//! Written for the simulated audio path, where it runs on every period: the filter's recursion runs
//! apart from its outputs, with one fused multiply-add on its loop-carried path, in four segments side
//! by side (each corrected by the zero-input response of the state it starts from); the outputs'
//! squares go in vector registers, a channel that is the other's samples through the same state is
//! filtered once, and the energy is summed once per 100 ms step (a gating block is the sum of four
//! steps) instead of once per block. `ebur128` computes the same figure (a test holds them to 0.001 LU).

/// Energy of the absolute gate: -70 LUFS.
fn absolute_gate() -> f64 {
    10f64.powf((-70.0 + 0.691) / 10.0)
}

/// Loudness [LUFS] of a mean-square energy.
fn energy_to_lufs(energy: f64) -> f64 {
    10.0 * energy.log10() - 0.691
}

/// The K-weighting filter's coefficients at `rate` (numerator, denominator; libebur128's derivation).
#[allow(non_snake_case)]
fn k_weighting(rate: f64) -> ([f64; 5], [f64; 5]) {
    let (f0, G, Q) = (1681.974450955533, 3.999843853973347, 0.7071752369554196);
    let K = (std::f64::consts::PI * f0 / rate).tan();
    let Vh = 10f64.powf(G / 20.0);
    let Vb = Vh.powf(0.4996667741545416);
    let a0 = 1.0 + K / Q + K * K;
    let pb = [(Vh + Vb * K / Q + K * K) / a0, 2.0 * (K * K - Vh) / a0, (Vh - Vb * K / Q + K * K) / a0];
    let pa = [1.0, 2.0 * (K * K - 1.0) / a0, (1.0 - K / Q + K * K) / a0];
    let (f0, Q) = (38.13547087602444, 0.5003270373238773);
    let K = (std::f64::consts::PI * f0 / rate).tan();
    let rb = [1.0, -2.0, 1.0];
    let ra = [1.0, 2.0 * (K * K - 1.0) / (1.0 + K / Q + K * K), (1.0 - K / Q + K * K) / (1.0 + K / Q + K * K)];
    let conv = |p: [f64; 3], r: [f64; 3]| {
        [
            p[0] * r[0],
            p[0] * r[1] + p[1] * r[0],
            p[0] * r[2] + p[1] * r[1] + p[2] * r[0],
            p[1] * r[2] + p[2] * r[1],
            p[2] * r[2],
        ]
    };
    (conv(pb, rb), conv(pa, ra))
}

/// Frames of one channel filtered at a time: the recursion's outputs wait on the stack for the output
/// stage.
const CHUNK: usize = 256;

/// Segments a chunk's recursion is cut into, run side by side (see [`filter_channel`]).
const SEGMENTS: usize = 4;

/// Chunks shorter than this run their recursion in one piece (a segment at least 16 frames long).
const SEGMENTED_FROM: usize = 64;

/// Samples of the zero-input responses: the longest segment, a quarter of a chunk and what the division
/// leaves over.
const RESPONSE: usize = CHUNK / SEGMENTS + SEGMENTS;

/// The K-weighting recursion's zero-input responses, to a state given by its backward differences:
/// `g[k][i]` = w[i] with no input, from the state whose k-th backward difference at w[−1] is 1 and the
/// others 0 (w[−1 − j] = (−1)^k C(j, k)). The recursion is linear, so a segment run from a zero state
/// plus Σ_k g[k][i] × d_k, the differences of its true state, is the segment run from that state. In
/// differences, not in the state's four values: the RLB high-pass's poles lie near 1, so at low
/// frequencies the state is large and its four values nearly equal; the responses to them are large and
/// of both signs, and their sum would cancel away digits (a 20 Hz tone's energy 4e-8 off the plain
/// recursion that way, 3e-10 this way).
#[derive(Debug, Clone)]
struct ZeroInput {
    g: [[f64; RESPONSE]; 4],
}

impl ZeroInput {
    fn new(a: &[f64; 5]) -> Self {
        let na = a.map(|a| -a);
        let binomial = |j: usize, k: usize| -> f64 {
            if k > j { 0.0 } else { (0..k).fold(1.0, |c, i| c * (j - i) as f64 / (i + 1) as f64) }
        };
        let mut g = [[0.0; RESPONSE]; 4];
        for (k, g) in g.iter_mut().enumerate() {
            let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
            let [mut w1, mut w2, mut w3, mut w4] = std::array::from_fn(|j| sign * binomial(j, k));
            for v in g.iter_mut() {
                let w0 = na[1].mul_add(w1, na[2].mul_add(w2, na[3].mul_add(w3, na[4] * w4)));
                *v = w0;
                (w4, w3, w2, w1) = (w3, w2, w1, w0);
            }
        }
        ZeroInput { g }
    }

    /// The backward differences at w[−1] of the state `e` (e[j] = w[−1 − j]).
    #[inline(always)]
    fn differences(e: [f64; 4]) -> [f64; 4] {
        let d1 = [e[0] - e[1], e[1] - e[2], e[2] - e[3]];
        let d2 = [d1[0] - d1[1], d1[1] - d1[2]];
        [e[0], d1[0], d2[0], d2[0] - d2[1]]
    }
}

/// One channel's samples `x` through the K-weighting filter (numerator `b`, denominator `a`; direct form
/// II, state `s[k]` = w[n − 1 − k]); returns the sum of the squares of its outputs. In two passes over
/// each chunk: the recursion, w[n] = x[n] − a1 w[n−1] − … − a4 w[n−4], each term a fused multiply-add
/// (one rounding; the oldest first, so that w[n−1] is one operation from w[n]); then the outputs,
/// b0 w[n] + … + b4 w[n−4], and their squares summed into eight partial sums, a loop without a recursion
/// that goes in vector registers.
///
/// The recursion is bound by the latency of that one FMA a sample, so a chunk of [`SEGMENTED_FROM`]
/// frames or more is cut into [`SEGMENTS`] segments run side by side, the first from the chunk's state,
/// the others from a zero state (the lanes of one vector register: a step takes the latency once for
/// four samples); then each segment in turn gets the zero-input response ([`ZeroInput`]) of the true
/// state it starts from, the end of the segment before it once corrected (exact in real arithmetic, by
/// linearity; in floating point within a few units in the last place of w, as the recursion itself is).
/// The arithmetic depends on the chunks' lengths only. Plain loops, no closures in the recursion: a
/// closure not inlined would lose the vector build's target features (its `mul_add` a call).
#[inline(always)]
fn filter_channel(b: &[f64; 5], a: &[f64; 5], h: &ZeroInput, s: &mut [f64; 4], x: &[f32]) -> f64 {
    let na = a.map(|a| -a);
    // One step of the recursion from the state (w1, w2, w3, w4) = (w[n − 1], …, w[n − 4]).
    #[inline(always)]
    fn step(na: &[f64; 5], x: f64, w1: f64, w2: f64, w3: f64, w4: f64) -> f64 {
        na[1].mul_add(w1, na[2].mul_add(w2, na[3].mul_add(w3, na[4].mul_add(w4, x))))
    }
    let mut energy = 0.0;
    // w[n − 4 ..] over the chunk: its first four are the state before it.
    let mut w = [0.0f64; CHUNK + 4];
    for x in x.chunks(CHUNK) {
        let n = x.len();
        w[..4].copy_from_slice(&[s[3], s[2], s[1], s[0]]);
        if n >= SEGMENTED_FROM {
            let m = n / SEGMENTS;
            // Step i: sample k m + i of segment k in lane k, in, through the recursion and out, then back
            // in order.
            let mut lanes = [[0.0f64; SEGMENTS]; CHUNK / SEGMENTS];
            for (i, v) in lanes[..m].iter_mut().enumerate() {
                for (k, v) in v.iter_mut().enumerate() {
                    *v = f64::from(x[k * m + i]);
                }
            }
            let mut st = [[0.0f64; SEGMENTS]; 4];
            for (st, s) in st.iter_mut().zip(*s) {
                st[0] = s;
            }
            let [mut w1, mut w2, mut w3, mut w4] = st;
            for v in &mut lanes[..m] {
                for k in 0..SEGMENTS {
                    v[k] = step(&na, v[k], w1[k], w2[k], w3[k], w4[k]);
                }
                (w4, w3, w2, w1) = (w3, w2, w1, *v);
            }
            for (i, v) in lanes[..m].iter().enumerate() {
                for (k, v) in v.iter().enumerate() {
                    w[k * m + i + 4] = *v;
                }
            }
            // The last segment's leftover samples (fewer than SEGMENTS), from its own state.
            let k = SEGMENTS - 1;
            let [mut v1, mut v2, mut v3, mut v4] = [w1[k], w2[k], w3[k], w4[k]];
            for i in SEGMENTS * m..n {
                let v0 = step(&na, f64::from(x[i]), v1, v2, v3, v4);
                w[i + 4] = v0;
                (v4, v3, v2, v1) = (v3, v2, v1, v0);
            }
            // Each segment after the first: plus the zero-input response of its true state.
            let g = &h.g;
            for k in 1..SEGMENTS {
                let from = k * m;
                let to = if k == SEGMENTS - 1 { n } else { from + m };
                let d = ZeroInput::differences([w[from + 3], w[from + 2], w[from + 1], w[from]]);
                for (i, v) in w[from + 4..to + 4].iter_mut().enumerate() {
                    *v += g[3][i].mul_add(d[3], g[2][i].mul_add(d[2], g[1][i].mul_add(d[1], g[0][i] * d[0])));
                }
            }
        } else {
            let [mut w1, mut w2, mut w3, mut w4] = *s;
            for (i, x) in x.iter().enumerate() {
                let w0 = step(&na, f64::from(*x), w1, w2, w3, w4);
                w[i + 4] = w0;
                (w4, w3, w2, w1) = (w3, w2, w1, w0);
            }
        }
        for (k, s) in s.iter_mut().enumerate() {
            *s = w[n + 3 - k];
        }
        let mut sums = [0.0f64; 8];
        let output = |j: usize| {
            let past = b[4].mul_add(w[j], b[3].mul_add(w[j + 1], b[2].mul_add(w[j + 2], b[1] * w[j + 3])));
            b[0].mul_add(w[j + 4], past)
        };
        let whole = n - n % 8;
        for j in (0..whole).step_by(8) {
            for (k, sum) in sums.iter_mut().enumerate() {
                let y = output(j + k);
                *sum = y.mul_add(y, *sum);
            }
        }
        for (k, sum) in sums.iter_mut().enumerate().take(n - whole) {
            let y = output(whole + k);
            *sum = y.mul_add(y, *sum);
        }
        energy += ((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7]));
    }
    energy
}

/// An integrated-loudness meter for two channels (left, right; weight 1 each).
#[derive(Debug)]
pub struct Loudness {
    b: [f64; 5],
    a: [f64; 5],
    /// The recursion's zero-input responses (for its segments).
    h: ZeroInput,
    /// Each channel's filter state (left, right): s[c][k] = w[n − 1 − k] (direct form II).
    s: [[f64; 4]; 2],
    /// Frames in a 100 ms step.
    step_frames: usize,
    /// Frames into the current step, and its energy so far (both channels).
    in_step: usize,
    step_energy: f64,
    /// The last three complete steps' energies (a block is these and the current one).
    last: [f64; 3],
    /// Complete steps so far.
    steps: u64,
    /// Energies of the gating blocks above the absolute gate.
    blocks: Blocks,
    gate: f64,
}

impl Loudness {
    /// A meter at `rate_hz`.
    pub fn new(rate_hz: u32) -> Self {
        let (b, a) = k_weighting(f64::from(rate_hz));
        Loudness {
            b,
            a,
            h: ZeroInput::new(&a),
            s: [[0.0; 4]; 2],
            step_frames: ((rate_hz as usize + 5) / 10).max(1),
            in_step: 0,
            step_energy: 0.0,
            last: [0.0; 3],
            steps: 0,
            blocks: Blocks::default(),
            gate: absolute_gate(),
        }
    }

    /// Adds one block of the left and right channels (equal lengths). The same slice twice (a mirrored
    /// bus, silence) is filtered once while the two channels' filter states are the same bits: the other
    /// channel would compute the same bits.
    pub fn add(&mut self, left: &[f32], right: &[f32]) {
        super::simd::wide(
            #[inline(always)]
            || self.add_block(left, right),
        )
    }

    /// [`Loudness::add`], inlined into each build of [`super::simd::wide`].
    #[inline(always)]
    fn add_block(&mut self, left: &[f32], right: &[f32]) {
        let n = left.len().min(right.len());
        let mut i = 0;
        while i < n {
            let take = (self.step_frames - self.in_step).min(n - i);
            self.step_energy += self.filter(&left[i..i + take], &right[i..i + take]);
            self.in_step += take;
            i += take;
            if self.in_step == self.step_frames {
                self.end_step();
            }
        }
        // Flush what has decayed below the normal range (as libebur128 does without flush-to-zero).
        for lane in &mut self.s {
            for v in lane {
                if v.abs() < f64::MIN_POSITIVE {
                    *v = 0.0;
                }
            }
        }
    }

    /// Filters `l` and `r`; returns the sum of the squares of both filtered channels.
    #[inline(always)]
    fn filter(&mut self, l: &[f32], r: &[f32]) -> f64 {
        let (b, a, h) = (&self.b, &self.a, &self.h);
        let [left, right] = &mut self.s;
        if std::ptr::eq(l, r) && left.iter().zip(&*right).all(|(u, v)| u.to_bits() == v.to_bits()) {
            // The right channel: the same samples through the same state, so the same bits as the left.
            let e = filter_channel(b, a, h, left, l);
            *right = *left;
            return e + e;
        }
        let e = filter_channel(b, a, h, left, l);
        e + filter_channel(b, a, h, right, r)
    }

    fn end_step(&mut self) {
        let step = self.step_energy;
        self.steps += 1;
        if self.steps >= 4 {
            let block = (self.last[0] + self.last[1] + self.last[2] + step) / (4 * self.step_frames) as f64;
            if block >= self.gate {
                self.blocks.push(block);
            }
        }
        self.last = [self.last[1], self.last[2], step];
        self.step_energy = 0.0;
        self.in_step = 0;
    }

    /// The integrated loudness so far [LUFS]; `None` when no gating block is above the absolute gate.
    /// An error: the gating blocks spilled to a temporary file could not be read back.
    pub fn integrated(&self) -> std::io::Result<Option<f64>> {
        if self.blocks.len() == 0 {
            return Ok(None);
        }
        let mut sum = 0.0;
        self.blocks.for_each(|e| sum += e)?;
        let relative = sum / self.blocks.len() as f64 * 0.1;
        let (mut sum, mut count) = (0.0, 0u64);
        self.blocks.for_each(|e| {
            if e >= relative {
                sum += e;
                count += 1;
            }
        })?;
        Ok((count > 0).then(|| energy_to_lufs(sum / count as f64)))
    }
}

/// Gating blocks held in memory before the oldest are spilled (64 KiB).
const SPILL_CHUNK: usize = 8192;

/// The energies of the gating blocks, in order: the latest in memory, the others spilled in chunks to an
/// unnamed temporary file (in `$TMPDIR`, gone when dropped), since the gating needs them all at the end
/// and a day's run has 864,000 of them. Where no temporary file can be made or written, they stay in
/// memory.
#[derive(Debug, Default)]
struct Blocks {
    memory: Vec<f64>,
    file: Option<std::fs::File>,
    /// Blocks in the file (whole chunks, written in full).
    spilled: u64,
    /// Spilling failed: the rest stay in memory.
    in_memory: bool,
}

impl Blocks {
    fn push(&mut self, energy: f64) {
        self.memory.push(energy);
        if self.memory.len() >= SPILL_CHUNK && !self.in_memory {
            self.in_memory = self.spill().is_err();
        }
    }

    /// Appends the blocks in memory to the file.
    fn spill(&mut self) -> std::io::Result<()> {
        use std::io::{Seek, Write};
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(tempfile::tempfile()?),
        };
        let bytes: Vec<u8> = self.memory.iter().flat_map(|e| e.to_le_bytes()).collect();
        // After what was written in full (a failed write may have left part of a chunk).
        file.seek(std::io::SeekFrom::Start(self.spilled * 8))?;
        file.write_all(&bytes)?;
        self.spilled += self.memory.len() as u64;
        self.memory.clear();
        Ok(())
    }

    fn len(&self) -> u64 {
        self.spilled + self.memory.len() as u64
    }

    /// Every block's energy, in order.
    fn for_each(&self, mut each: impl FnMut(f64)) -> std::io::Result<()> {
        use std::io::{Read, Seek};
        if let Some(mut file) = self.file.as_ref().filter(|_| self.spilled > 0) {
            file.seek(std::io::SeekFrom::Start(0))?;
            let mut from = std::io::BufReader::new(file).take(self.spilled * 8);
            let mut e = [0u8; 8];
            for _ in 0..self.spilled {
                from.read_exact(&mut e)?;
                each(f64::from_le_bytes(e));
            }
        }
        self.memory.iter().for_each(|e| each(*e));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Blocks, Loudness, SPILL_CHUNK, ZeroInput, filter_channel, k_weighting};

    #[test]
    fn a_channel_filtered_once_for_both_sides_gives_the_bits_of_two() {
        // The same slice twice takes the one-channel path while the states agree; a copy takes the
        // two-channel path. Each channel's arithmetic is the same in both, so the loudness is the same bits,
        // and a stereo stretch between them (the states part) changes nothing to that.
        let sig: Vec<f32> =
            (0..96_000u32).map(|i| ((i as f32 * 0.0371).sin() * 0.4) * ((i % 977) as f32 / 977.0)).collect();
        let other: Vec<f32> = sig.iter().map(|x| x * 0.5).collect();
        let (mut once, mut twice) = (Loudness::new(48_000), Loudness::new(48_000));
        let copy = sig.clone();
        let mut at = 0;
        for (i, len) in [1usize, 3, 64, 255, 1024, 7].iter().cycle().enumerate() {
            let end = (at + len).min(sig.len());
            // Blocks 200 to 209 carry another signal on the right.
            let (same, apart) = if (200..210).contains(&i) { (&other, &other) } else { (&sig, &copy) };
            once.add(&sig[at..end], &same[at..end]);
            twice.add(&sig[at..end], &apart[at..end]);
            at = end;
            if at == sig.len() {
                break;
            }
        }
        let (a, b) = (once.integrated().unwrap().unwrap(), twice.integrated().unwrap().unwrap());
        assert_eq!(a.to_bits(), b.to_bits(), "{a} vs {b}");
    }

    /// The K-weighting of `x` from a zero state the plain way, sample after sample (direct form II, the
    /// textbook recursion and sum, no segments): the sum of the squares of its outputs, and its state.
    fn plain(x: &[f32]) -> (f64, [f64; 4]) {
        let (b, a) = k_weighting(48_000.0);
        let mut w = [0.0f64; 4];
        let mut e = 0.0;
        for &v in x {
            let w0 = f64::from(v) - a[1] * w[0] - a[2] * w[1] - a[3] * w[2] - a[4] * w[3];
            let y = b[0] * w0 + b[1] * w[0] + b[2] * w[1] + b[3] * w[2] + b[4] * w[3];
            e += y * y;
            w = [w0, w[0], w[1], w[2]];
        }
        (e, w)
    }

    #[test]
    fn the_segmented_recursion_is_the_plain_one_to_rounding() {
        // Linearity: a segment from a zero state plus the zero-input response of its true state is the
        // segment from that state. Against the plain recursion, over chunks of every kind (shorter than
        // SEGMENTED_FROM, a division that leaves samples over, whole chunks and more), for a 20 Hz tone
        // (the RLB high-pass's state is then large next to its output), a 1 kHz one and noise.
        let lens = [1usize, 15, 63, 64, 67, 130, 255, 256, 257, 1000, 4801];
        let total: usize = lens.iter().sum::<usize>() * 3;
        let mut noise = crate::dsp::source::Source::noise(0.5, crate::sim::stream(9, "k"));
        let mut nz = vec![0.0f32; total];
        noise.fill(0, 48_000.0, &mut nz);
        let tone = |f: f64| -> Vec<f32> {
            (0..total).map(|i| (0.7 * (std::f64::consts::TAU * f * i as f64 / 48_000.0).sin()) as f32).collect()
        };
        for (name, sig) in [("20 Hz", tone(20.0)), ("1 kHz", tone(1000.0)), ("noise", nz)] {
            let (ba, aa) = k_weighting(48_000.0);
            let h = ZeroInput::new(&aa);
            let mut st = [0.0f64; 4];
            let mut e = 0.0;
            let mut at = 0;
            for len in lens.iter().cycle().take(3 * lens.len()) {
                e += filter_channel(&ba, &aa, &h, &mut st, &sig[at..at + len]);
                at += len;
                let (want, state) = plain(&sig[..at]);
                let scale = state.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
                // The plain recursion and the fused one in one piece (no segments) part by up to 8e-11 of
                // the state and 4e-10 of the energy over these signals (rounding, amplified by the RLB
                // high-pass's poles near 1); the segments stay within a few times that.
                for (g, w) in st.iter().zip(&state) {
                    assert!((g - w).abs() <= 2e-9 * scale, "{name} at {at}: state {st:?} vs {state:?}");
                }
                assert!((e - want).abs() <= 1e-9 * want, "{name} at {at}: energy {e} vs {want}");
            }
        }
    }

    #[test]
    fn blocks_spilled_to_a_file_come_back_in_order_bit_for_bit() {
        let values: Vec<f64> = (0..3 * SPILL_CHUNK + 5).map(|i| (i as f64 * 0.731).sin().abs() * 1e-3 + 1e-9).collect();
        let mut b = Blocks::default();
        for v in &values {
            b.push(*v);
        }
        assert_eq!(b.len(), values.len() as u64);
        assert_eq!(b.spilled, 3 * SPILL_CHUNK as u64, "the older chunks went to the file");
        assert_eq!(b.memory.len(), 5);
        // Twice: reading back does not disturb what follows.
        for _ in 0..2 {
            let mut back = Vec::new();
            b.for_each(|e| back.push(e)).unwrap();
            assert!(back.iter().map(|e| e.to_bits()).eq(values.iter().map(|e| e.to_bits())));
        }
        b.push(0.5);
        let mut back = Vec::new();
        b.for_each(|e| back.push(e)).unwrap();
        assert_eq!(back.len(), values.len() + 1);
        assert_eq!(back.last(), Some(&0.5));
    }
}
