//! Audio DSP: pure, block-size-independent processors over `f32` sample blocks (state carried across
//! blocks; anything computed at a control rate is aligned on absolute sample indices, so processing a
//! signal in blocks of 64 or of 1024 frames gives bit-identical output).

pub mod biquad;
pub mod chain;
pub mod dynamics;
pub mod loudness;
pub mod meter;
pub mod mixer;
pub mod reverb;
pub(crate) mod simd;
pub mod source;

/// Decibels to a linear gain: 10^(db/20), as `exp` (cheaper than `powf`; the compressor's gain computer
/// calls it at the control rate).
#[inline]
pub fn db_to_lin(db: f64) -> f64 {
    (db * (std::f64::consts::LN_10 / 20.0)).exp()
}

/// A linear level to decibels (-inf for 0).
#[inline]
pub fn lin_to_db(x: f64) -> f64 {
    20.0 * x.log10()
}

/// A time constant to a one-pole smoothing coefficient at `rate_hz` (0 for an instant response).
#[inline]
pub fn one_pole(time_s: f64, rate_hz: f64) -> f64 {
    if time_s <= 0.0 { 0.0 } else { (-1.0 / (time_s * rate_hz)).exp() }
}

#[cfg(test)]
mod tests {
    use super::biquad::Biquad;
    use super::chain::{ChainConfig, VocalChain};
    use super::dynamics::{Compressor, Ducker, Limiter};
    use super::meter::ChannelMeter;
    use super::mixer::{Mixer, MixerConfig, Strip, ToPc};
    use super::source::Source;
    use super::{db_to_lin, lin_to_db, one_pole};
    use proptest::prelude::*;

    const RATE: f64 = 48_000.0;

    fn sine(freq_hz: f64, level_dbfs: f64, frames: usize) -> Vec<f32> {
        let mut s = Source::sine(freq_hz, db_to_lin(level_dbfs));
        let mut buf = vec![0.0; frames];
        s.fill(0, RATE, &mut buf);
        buf
    }

    #[test]
    fn a_sine_at_minus_6_dbfs_measures_minus_6_peak_and_minus_9_01_rms() {
        // 997 Hz (not a divisor of the rate, so the samples sweep the whole period), one second.
        let mut m = ChannelMeter::default();
        for block in sine(997.0, -6.0, 48_000).chunks(256) {
            m.add(block);
        }
        let peak = m.peak_dbfs().unwrap();
        let rms = m.rms_dbfs().unwrap();
        assert!((peak + 6.0).abs() <= 0.05, "peak {peak}");
        assert!((rms + 9.0103).abs() <= 0.05, "rms {rms}");
        // Full scale: RMS -3.01 dBFS.
        let mut m = ChannelMeter::default();
        m.add(&sine(997.0, 0.0, 48_000));
        assert!((m.rms_dbfs().unwrap() + 3.0103).abs() < 0.05);
    }

    /// Steady-state gain of `f` for a sine at `freq_hz` (RMS out / RMS in over the last half second).
    fn measured_gain(mut f: impl FnMut(u64, f64) -> f64, freq_hz: f64, level_dbfs: f64) -> f64 {
        let x = sine(freq_hz, level_dbfs, 96_000);
        let y: Vec<f64> = x.iter().enumerate().map(|(n, s)| f(n as u64, f64::from(*s))).collect();
        let rms = |v: &mut dyn Iterator<Item = f64>| {
            let (s, n) = v.fold((0.0, 0.0), |(s, n), x| (s + x * x, n + 1.0));
            (s / n).sqrt()
        };
        let out = rms(&mut y[48_000..].iter().copied());
        let inp = rms(&mut x[48_000..].iter().map(|v| f64::from(*v)));
        out / inp
    }

    #[test]
    fn hpf_minus_3_db_point_is_at_80_hz() {
        let gain_db = |f: f64| {
            let mut h = Biquad::highpass(RATE, 80.0, std::f64::consts::FRAC_1_SQRT_2);
            lin_to_db(measured_gain(|_, x| h.tick(x), f, -6.0))
        };
        // The measured response at 80 Hz is -3.01 dB, and bisection on the measured gain finds the
        // -3.01 dB point within 2% of 80 Hz.
        assert!((gain_db(80.0) + 3.0103).abs() < 0.05, "{}", gain_db(80.0));
        let (mut lo, mut hi) = (40.0, 160.0);
        for _ in 0..20 {
            let mid = (lo + hi) / 2.0;
            if gain_db(mid) < -3.0103 { lo = mid } else { hi = mid }
        }
        assert!(((lo + hi) / 2.0 / 80.0 - 1.0).abs() < 0.02, "corner at {}", (lo + hi) / 2.0);
        // Far above the corner it passes, far below it cuts by 12 dB per octave.
        assert!(gain_db(2000.0).abs() < 0.05);
        assert!((gain_db(20.0) - gain_db(40.0) + 12.0).abs() < 0.5);
    }

    #[test]
    fn compressor_follows_its_static_curve() {
        // Threshold -22 dB, ratio 3.5, make-up +5 dB (the seed chain). Levels are RMS: a sine at P dBFS
        // peak is at P - 3.01 dB RMS.
        for peak_dbfs in [-40.0, -30.0, -20.0, -12.0, -6.0, -1.0] {
            let mut c = Compressor::new(RATE, -22.0, 3.5, 0.008, 0.140, 5.0);
            let in_rms = peak_dbfs - 3.0103;
            let want = c.static_curve(in_rms) - in_rms;
            let got = lin_to_db(measured_gain(|n, x| c.tick(n, x), 1000.0, peak_dbfs));
            assert!((got - want).abs() < 0.1, "{peak_dbfs} dBFS: gain {got} dB, static curve {want} dB");
        }
        let c = Compressor::new(RATE, -22.0, 3.5, 0.008, 0.140, 5.0);
        // 12 dB over the threshold comes out 12/3.5 dB over it, plus make-up.
        assert!((c.static_curve(-10.0) - (-22.0 + 12.0 / 3.5 + 5.0)).abs() < 1e-12);
    }

    proptest! {
        /// Whatever goes in (up to +40 dBFS), nothing comes out above the ceiling.
        #[test]
        fn limiter_never_exceeds_its_ceiling(xs in proptest::collection::vec(-100.0f64..100.0, 1..2000), ceiling in -20.0f64..0.0) {
            let mut l = Limiter::new(RATE, ceiling, 0.05);
            let c = db_to_lin(ceiling);
            for x in xs {
                let y = l.tick(x);
                prop_assert!(y.abs() <= c, "{y} > {c}");
            }
        }
    }

    /// Two seconds quiet (long enough for a one-pole of 250 ms to settle in floating point), then half a
    /// second of loud noise (peaks near +9.5 dBFS), over and over: (sample, loud).
    fn bursts(len: usize) -> Vec<(f64, bool)> {
        let mut noise = Source::noise(1.0, crate::sim::stream(8, "bursts"));
        let mut x = vec![0.0f32; len];
        noise.fill(0, RATE, &mut x);
        x.iter()
            .enumerate()
            .map(|(n, s)| (n % 120_000 >= 96_000, f64::from(*s)))
            .map(|(loud, s)| (if loud { 3.0 * s } else { 0.1 * s }, loud))
            .collect()
    }

    /// Blocks of every size from 1 to 300 frames, cycled, over `len` samples: (start, length).
    fn uneven_blocks(len: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let (mut n0, mut k) = (0, 0);
        while n0 < len {
            let n = (k % 300 + 1).min(len - n0);
            out.push((n0, n));
            n0 += n;
            k += 37;
        }
        out
    }

    #[test]
    fn the_limiter_at_rest_gives_the_same_bits_block_by_block_as_sample_by_sample() {
        let x = bursts(480_000);
        let mut one = Limiter::new(RATE, -1.0, 0.05);
        let expected: Vec<f32> = x.iter().map(|(s, _)| one.tick(*s) as f32).collect();
        let mut l = Limiter::new(RATE, -1.0, 0.05);
        let (mut out, mut rested, mut limiting) = (vec![0.0f32; x.len()], 0, 0);
        for (n0, n) in uneven_blocks(x.len()) {
            if l.at_rest() {
                rested += 1;
            } else {
                limiting += 1;
            }
            let block: Vec<f64> = x[n0..n0 + n].iter().map(|(s, _)| *s).collect();
            l.process(&block, &mut out[n0..n0 + n]);
        }
        assert!(expected.iter().zip(&out).all(|(a, b)| a.to_bits() == b.to_bits()));
        // Both paths ran: the bursts pull the gain down (it recovers sample by sample), and the quiet
        // seconds let it settle back at rest.
        assert!(rested > 100 && limiting > 100, "{rested} blocks at rest, {limiting} recovering");
    }

    #[test]
    fn the_ducker_at_rest_gives_the_same_bits_block_by_block_as_sample_by_sample() {
        let x = bursts(480_000);
        let key: Vec<bool> = x.iter().map(|(_, loud)| *loud).collect();
        // The one-pole of the ducker, written out sample by sample (10 ms down to -5 dB, 250 ms up).
        let (depth, att, rel) = (db_to_lin(-5.0), one_pole(0.010, RATE), one_pole(0.250, RATE));
        let mut g = 1.0f64;
        let expected: Vec<f32> = key
            .iter()
            .map(|k| {
                let (target, c) = if *k { (depth, att) } else { (1.0, rel) };
                g = c * g + (1.0 - c) * target;
                g as f32
            })
            .collect();
        let mut d = Ducker::new(RATE, -5.0);
        let (mut out, mut rested, mut moving) = (vec![0.0f32; x.len()], 0, 0);
        for (n0, n) in uneven_blocks(x.len()) {
            if d.at_rest(key[n0]) {
                rested += 1;
            } else {
                moving += 1;
            }
            d.gains(&key[n0..n0 + n], &mut out[n0..n0 + n]);
        }
        assert!(expected.iter().zip(&out).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(rested > 100 && moving > 100, "{rested} blocks at rest, {moving} moving");
    }

    #[test]
    fn the_whole_chain_never_exceeds_minus_1_dbfs() {
        let mut chain = VocalChain::new(&ChainConfig::default(), RATE);
        let x = sine(440.0, 0.0, 48_000);
        let mut noise = Source::noise(1.0, crate::sim::stream(1, "t"));
        let mut n = vec![0.0; 48_000];
        noise.fill(0, RATE, &mut n);
        let ceiling = db_to_lin(-1.0);
        for (i, (a, b)) in x.iter().zip(&n).enumerate() {
            let y = chain.tick(i as u64, f64::from(*a + *b) * 4.0);
            assert!(y.abs() <= ceiling);
        }
    }

    fn mixer() -> Mixer {
        let strip = |pan: f64| Strip { gain_db: 0.0, pad: false, phantom: false, mute: false, pan };
        let cfg = MixerConfig {
            strips: vec![strip(0.0), strip(-0.5), strip(-1.0), strip(1.0), strip(-1.0), strip(1.0)],
            to_pc: ToPc::Loopback,
            chain: ChainConfig::default(),
            ducking_db: Some(-5.0),
        };
        Mixer::new(cfg, RATE)
    }

    /// Runs 2 s of a voice-like signal through the mixer in blocks of `block` frames.
    fn run_mixer(block: usize) -> Vec<f32> {
        run_mixer_told(block, &[])
    }

    /// [`run_mixer`], the mixer told that the inputs flagged in `silent` are digital silence (CH3 to CH6
    /// are; CH1 pauses).
    fn run_mixer_told(block: usize, silent: &[bool]) -> Vec<f32> {
        let mut m = mixer();
        let total = 96_000;
        let mut voice = Source::noise(0.3, crate::sim::stream(9, "voice"));
        let mut tone = Source::sine(220.0, 0.2);
        let mut music = Source::sine(330.0, 0.25);
        let mut out = Vec::with_capacity(total * 2);
        let mut n0 = 0u64;
        while (n0 as usize) < total {
            let frames = block.min(total - n0 as usize);
            let mut inputs: Vec<Vec<f32>> = (0..6).map(|_| vec![0.0; frames]).collect();
            voice.fill(n0, RATE, &mut inputs[0]);
            // The voice pauses every other half second: the gate and the ducking move.
            for (i, s) in inputs[0].iter_mut().enumerate() {
                if ((n0 + i as u64) / 24_000) % 2 == 1 {
                    *s = 0.0;
                }
            }
            tone.fill(n0, RATE, &mut inputs[1]);
            let mut pb = vec![0.0; frames];
            music.fill(n0, RATE, &mut pb);
            let (mut l, mut r) = (vec![0.0; frames], vec![0.0; frames]);
            // CH1 is silent in its pauses: the flag must not keep its chain (and its reverb's tail) out.
            let ch1_silent = inputs[0].iter().all(|x| x.to_bits() == 0);
            let told: Vec<bool> =
                silent.iter().enumerate().map(|(k, s)| if k == 0 { *s && ch1_silent } else { *s }).collect();
            m.process_known(n0, &inputs, &told, [&pb, &pb], [&mut l, &mut r]);
            out.extend(l.iter().zip(&r).flat_map(|(a, b)| [*a, *b]));
            n0 += frames as u64;
        }
        out
    }

    #[test]
    fn block_size_does_not_change_a_single_bit() {
        let a = run_mixer(64);
        let b = run_mixer(1024);
        let c = run_mixer(256);
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "64 vs 1024 frames differ");
        assert!(a.iter().zip(&c).all(|(x, y)| x.to_bits() == y.to_bits()), "64 vs 256 frames differ");
        assert!(a.iter().any(|x| *x != 0.0));
    }

    #[test]
    fn inputs_known_to_be_silent_are_left_out_with_the_same_bits() {
        // The bus starts at +0.0 and a silent input adds +0.0 x a pan gain (>= 0): no bit changes.
        let all = run_mixer(256);
        let told = run_mixer_told(256, &[true, false, true, true, true, true]);
        assert_eq!(all.len(), told.len());
        assert!(all.iter().zip(&told).all(|(x, y)| x.to_bits() == y.to_bits()), "leaving them out changed the mix");
        assert!(all.iter().any(|x| *x != 0.0));
    }

    #[test]
    fn a_mirrored_bus_mixes_once_with_the_same_bits() {
        let strip = |pan: f64| Strip { gain_db: 0.0, pad: false, phantom: false, mute: false, pan };
        let cfg = |pans: [f64; 3]| MixerConfig {
            strips: pans.iter().map(|p| strip(*p)).collect(),
            to_pc: ToPc::Loopback,
            chain: ChainConfig::default(),
            ducking_db: Some(-5.0),
        };
        // CH3 panned hard left: mirrored only while it is known to be silent.
        let (mut stereo, mut mono) = (Mixer::new(cfg([0.0, 0.0, -1.0]), RATE), Mixer::new(cfg([0.0, 0.0, -1.0]), RATE));
        assert!(!stereo.mirrored(&[]));
        assert!(!stereo.mirrored(&[false, false, false]));
        let silent = [false, false, true];
        assert!(stereo.mirrored(&silent));
        assert!(!Mixer::new(cfg([0.0, 0.3, 0.0]), RATE).mirrored(&silent), "CH2 off centre");
        let mut voice = Source::noise(0.3, crate::sim::stream(3, "voice"));
        let mut tone = Source::sine(220.0, 0.2);
        let mut music = Source::sine(330.0, 0.25);
        let frames = 256;
        let mut loud = 0;
        for n in 0..400u64 {
            let n0 = n * frames as u64;
            let mut inputs = vec![vec![0.0f32; frames], vec![0.0; frames], Vec::new()];
            voice.fill(n0, RATE, &mut inputs[0]);
            tone.fill(n0, RATE, &mut inputs[1]);
            let mut pb = vec![0.0; frames];
            music.fill(n0, RATE, &mut pb);
            let (mut l, mut r, mut m) = (vec![0.0; frames], vec![0.0; frames], vec![0.0; frames]);
            let both = stereo.process_known(n0, &inputs, &silent, [&pb, &pb], [&mut l, &mut r]);
            let once = mono.process_mirrored(n0, &inputs, &silent, &pb, &mut m);
            assert!(l.iter().zip(&r).all(|(a, b)| a.to_bits() == b.to_bits()), "the two sides differ");
            assert!(l.iter().zip(&m).all(|(a, b)| a.to_bits() == b.to_bits()), "mixed once, the left side differs");
            assert_eq!(both, [once; 2]);
            loud += usize::from(l.iter().any(|x| x.abs() > 0.1));
        }
        assert!(loud > 300, "the bus carried the signal");
    }

    /// The audio path (sources, mixer and chain, meters, loudness) over 2 s: its output's bits, the
    /// meter's figures and the loudness.
    fn audio_path() -> (Vec<u32>, ChannelMeter, Option<f64>) {
        let out = run_mixer(128);
        let (l, r): (Vec<f32>, Vec<f32>) = out.chunks_exact(2).map(|f| (f[0], f[1])).unzip();
        let mut meter = ChannelMeter::default();
        let mut lufs = super::loudness::Loudness::new(48_000);
        for (a, b) in l.chunks(128).zip(r.chunks(128)) {
            meter.add(a);
            lufs.add(a, b);
        }
        (out.iter().map(|x| x.to_bits()).collect(), meter, lufs.integrated().expect("in memory"))
    }

    #[test]
    fn the_avx2_build_gives_the_same_bits_as_the_baseline_build() {
        // IEEE arithmetic is the same operation by operation in both builds: Rust never fuses a multiply
        // and an add on its own, and a `mul_add` has one rounding whether an FMA instruction or the C
        // library's `fma` computes it. The wider registers change the speed, not one bit.
        let wide = audio_path();
        let base = super::simd::baseline(audio_path);
        if !super::simd::processor_has_them() {
            eprintln!("this processor lacks AVX2 or FMA: both runs took the baseline build");
        }
        assert_eq!(wide.0.len(), base.0.len());
        assert!(wide.0 == base.0, "the mixer's output differs");
        assert_eq!(wide.1, base.1);
        assert_eq!(wide.2.map(f64::to_bits), base.2.map(f64::to_bits));
        assert!(wide.1.peak > 0.0 && wide.2.is_some());
    }

    #[test]
    fn block_processing_equals_sample_by_sample_processing() {
        // The seed's chain (its front pipelined), the same without a compressor, and a chain of another
        // shape (two EQ bands: the front sample by sample).
        let no_comp = ChainConfig { compressor: None, ..ChainConfig::default() };
        let two_bands = ChainConfig { eq: ChainConfig::default().eq[..2].to_vec(), ..ChainConfig::default() };
        for cfg in [ChainConfig::default(), no_comp, two_bands] {
            let mut a = VocalChain::new(&cfg, RATE);
            let mut b = VocalChain::new(&cfg, RATE);
            let mut noise = Source::noise(0.5, crate::sim::stream(4, "n"));
            let mut x = vec![0.0f32; 20_000];
            noise.fill(0, RATE, &mut x);
            let (one_by_one, voiced): (Vec<f32>, Vec<bool>) =
                x.iter().enumerate().map(|(n, s)| (a.tick(n as u64, f64::from(*s)) as f32, a.voice_present())).unzip();
            let mut block = x.clone();
            let mut voice = vec![false; block.len()];
            b.process(0, &mut block, &mut voice);
            assert!(one_by_one.iter().zip(&block).all(|(p, q)| p.to_bits() == q.to_bits()));
            assert_eq!(voice, voiced);
            assert!(voiced.iter().any(|v| *v) && voiced.iter().any(|v| !*v), "the gate both opens and closes");
            // Blocks of any length, down to one sample (the pipelined stages fill and drain in each block).
            let mut c = VocalChain::new(&cfg, RATE);
            let mut pieces = Vec::new();
            let mut n0 = 0;
            for len in [1usize, 2, 3, 4, 5, 6, 7, 64, 1000, 8, 9].iter().cycle() {
                if n0 >= x.len() {
                    break;
                }
                let len = (*len).min(x.len() - n0);
                let mut buf = x[n0..n0 + len].to_vec();
                let mut voice = vec![false; len];
                c.process(n0 as u64, &mut buf, &mut voice);
                pieces.extend(buf);
                n0 += len;
            }
            assert!(one_by_one.iter().zip(&pieces).all(|(p, q)| p.to_bits() == q.to_bits()));
        }
    }

    #[test]
    fn noise_is_uniform_and_the_same_for_any_block_size() {
        let n = 1_000_000;
        let amp = 0.5;
        let mut whole = vec![0.0f32; n];
        Source::noise(amp, crate::sim::stream(11, "n")).fill(0, RATE, &mut whole);
        // Odd block sizes end between the two draws of a 64-bit output.
        let mut b = Source::noise(amp, crate::sim::stream(11, "n"));
        let mut pieces = Vec::with_capacity(n);
        for len in [1usize, 3, 64, 255, 1024, 7].iter().cycle() {
            if pieces.len() >= n {
                break;
            }
            let mut buf = vec![0.0f32; (*len).min(n - pieces.len())];
            b.fill(pieces.len() as u64, RATE, &mut buf);
            pieces.extend(buf);
        }
        assert!(whole.iter().zip(&pieces).all(|(x, y)| x.to_bits() == y.to_bits()));
        // Uniform on [-amp, amp): mean 0 and variance amp²/3. Over n samples the mean's standard error is
        // amp/sqrt(3n) = 2.9e-4, the variance's sqrt(4/45)·amp²/sqrt(n) = 7.5e-5: within 5 of each.
        let mean = whole.iter().map(|x| f64::from(*x)).sum::<f64>() / n as f64;
        let var = whole.iter().map(|x| (f64::from(*x) - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 5.0 * amp / (3.0 * n as f64).sqrt(), "mean {mean}");
        assert!(
            (var - amp * amp / 3.0).abs() < 5.0 * (4.0f64 / 45.0).sqrt() * amp * amp / (n as f64).sqrt(),
            "var {var}"
        );
        assert!(whole.iter().all(|x| (-amp as f32..amp as f32).contains(x)));
        // Ten bins of equal width, each 1/10 of the samples: chi-squared with 9 degrees of freedom, whose
        // 0.999 quantile is 27.88.
        let mut bins = [0f64; 10];
        for x in &whole {
            bins[(((f64::from(*x) + amp) / (2.0 * amp) * 10.0) as usize).min(9)] += 1.0;
        }
        let e = n as f64 / 10.0;
        let chi2: f64 = bins.iter().map(|o| (o - e).powi(2) / e).sum();
        assert!(chi2 < 27.88, "chi² {chi2}, bins {bins:?}");
    }

    #[test]
    fn the_sine_oscillator_matches_sin_and_any_block_size() {
        let mut a = Source::sine(997.0, 0.5);
        let mut whole = vec![0.0f32; 100_000];
        a.fill(0, RATE, &mut whole);
        for (n, s) in whole.iter().enumerate() {
            let exact = 0.5 * (std::f64::consts::TAU * 997.0 * n as f64 / RATE).sin();
            assert!((f64::from(*s) - exact).abs() < 1e-6, "sample {n}");
        }
        let mut b = Source::sine(997.0, 0.5);
        let mut pieces = Vec::new();
        let mut n0 = 0;
        for len in [1usize, 63, 1000, 4096, 7].iter().cycle() {
            if n0 >= whole.len() {
                break;
            }
            let len = (*len).min(whole.len() - n0);
            let mut buf = vec![0.0f32; len];
            b.fill(n0 as u64, RATE, &mut buf);
            pieces.extend(buf);
            n0 += len;
        }
        assert!(whole.iter().zip(&pieces).all(|(x, y)| x.to_bits() == y.to_bits()));
        // Sample by sample, every group moves on by `advance` alone (never the block loop's registers).
        let mut c = Source::sine(997.0, 0.5);
        for (n, x) in whole.iter().enumerate().take(20_000) {
            let mut one = [0.0f32];
            c.fill(n as u64, RATE, &mut one);
            assert_eq!(one[0].to_bits(), x.to_bits(), "sample {n}");
        }
    }

    /// Integrated loudness of `l`, `r` by our meter (fed in blocks of `block`) and by `ebur128` (the
    /// port of libebur128, an independent implementation of BS.1770).
    fn both_meters(l: &[f32], r: &[f32], block: usize) -> (Option<f64>, f64) {
        both_meters_at(48_000, l, r, block)
    }

    /// [`both_meters`] at `rate` Hz.
    fn both_meters_at(rate: u32, l: &[f32], r: &[f32], block: usize) -> (Option<f64>, f64) {
        let mut ours = super::loudness::Loudness::new(rate);
        for (a, b) in l.chunks(block).zip(r.chunks(block)) {
            ours.add(a, b);
        }
        let mut theirs = ebur128::EbuR128::new(2, rate, ebur128::Mode::I).unwrap();
        let inter: Vec<f32> = l.iter().zip(r).flat_map(|(a, b)| [*a, *b]).collect();
        theirs.add_frames_f32(&inter).unwrap();
        (ours.integrated().expect("read back"), theirs.loudness_global().unwrap())
    }

    #[test]
    fn loudness_agrees_with_libebur128_and_the_standards_closed_forms() {
        // BS.1770-4: a 997 Hz sine at 0 dBFS in one channel reads -3.01 LUFS (the K-weighting is within
        // 0.01 dB of flat there); at -23 dBFS in both channels, -23.0 LUFS (EBU Tech 3341, case 1).
        let s = sine(997.0, 0.0, 480_000);
        let z = vec![0.0f32; s.len()];
        let (ours, theirs) = both_meters(&s, &z, 256);
        assert!((ours.unwrap() + 3.01).abs() < 0.05, "{ours:?}");
        assert!((ours.unwrap() - theirs).abs() < 0.001, "{ours:?} vs {theirs}");
        let s = sine(1000.0, -23.0, 480_000);
        let (ours, theirs) = both_meters(&s, &s, 128);
        assert!((ours.unwrap() + 23.0).abs() < 0.1, "{ours:?}");
        assert!((ours.unwrap() - theirs).abs() < 0.001, "{ours:?} vs {theirs}");
        // Gating: noise with loud and quiet stretches (the relative gate drops the quiet ones), any
        // block size, an uneven length.
        let mut noise = Source::noise(0.5, crate::sim::stream(3, "l"));
        let mut l = vec![0.0f32; 1_234_567];
        noise.fill(0, RATE, &mut l);
        for (i, x) in l.iter_mut().enumerate() {
            if (i / 100_000) % 3 == 1 {
                *x *= 0.01;
            }
        }
        let r: Vec<f32> = l.iter().map(|x| x * 0.5).collect();
        for block in [64, 256, 1000, 4800] {
            let (ours, theirs) = both_meters(&l, &r, block);
            assert!((ours.unwrap() - theirs).abs() < 0.001, "block {block}: {ours:?} vs {theirs}");
        }
        // Silence: no gating block above -70 LUFS.
        let (ours, _) = both_meters(&z, &z, 256);
        assert_eq!(ours, None);
    }

    #[test]
    fn loudness_over_more_gating_blocks_than_memory_holds_agrees_with_libebur128() {
        // 25 minutes at 8 kHz: 15,000 gating blocks (one per 100 ms), more than the meter keeps in memory
        // (the older ones are spilled to a temporary file and read back for the gating), with loud and
        // quiet stretches so that the relative gate drops some.
        let rate = 8_000;
        let mut noise = Source::noise(0.5, crate::sim::stream(5, "long"));
        let mut l = vec![0.0f32; 25 * 60 * rate as usize];
        noise.fill(0, f64::from(rate), &mut l);
        for (i, x) in l.iter_mut().enumerate() {
            if (i / 1_000_003) % 3 == 1 {
                *x *= 0.01;
            }
        }
        let r: Vec<f32> = l.iter().map(|x| x * 0.5).collect();
        let (ours, theirs) = both_meters_at(rate, &l, &r, 1000);
        assert!((ours.unwrap() - theirs).abs() < 0.001, "{ours:?} vs {theirs}");
    }

    #[test]
    fn gate_closes_on_silence_and_opens_on_voice() {
        let mut chain = VocalChain::new(&ChainConfig { reverb: None, ..ChainConfig::default() }, RATE);
        let loud = sine(300.0, -12.0, 4_800);
        for (i, s) in loud.iter().enumerate() {
            chain.tick(i as u64, f64::from(*s));
        }
        assert!(chain.voice_present());
        let quiet = sine(300.0, -70.0, 48_000);
        let mut last = 0.0;
        for (i, s) in quiet.iter().enumerate() {
            last = chain.tick(4_800 + i as u64, f64::from(*s));
        }
        assert!(!chain.voice_present());
        // The gate's gain falls with its 180 ms release: after a second it is well below -20 dB (the
        // input is at 3.2e-4 peak; the make-up gain adds 5 dB).
        assert!(last.abs() < 3.2e-4 * 0.1, "{last}");
    }
}
