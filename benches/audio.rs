//! Audio benchmarks (criterion): the mixer's real-time factor with the full vocal chain, the loudness
//! meter's, the cost of a simulated minute with the audio path in the engine, and the whole simulated
//! audio path end to end against a naive per-sample loop of the same chain, measured in the same run.
//!
//! `cargo bench --bench audio` ends with a summary: the real-time factors (simulated audio seconds per
//! wall second) of the whole path and of the naive loop, and their ratio.

use criterion::{Criterion, Throughput, criterion_group};

use ag06_lab::dsp::chain::ChainConfig;
use ag06_lab::dsp::mixer::{Mixer, MixerConfig, Strip, ToPc};
use ag06_lab::dsp::source::Source;

const RATE: f64 = 48_000.0;

fn mixer_rtf(c: &mut Criterion) {
    let mut g = c.benchmark_group("mixer");
    for frames in [128usize, 256] {
        let strip = |pan: f64| Strip { gain_db: 0.0, pad: false, phantom: false, mute: false, pan };
        let cfg = MixerConfig {
            strips: vec![strip(0.0), strip(0.0), strip(-1.0), strip(1.0), strip(-1.0), strip(1.0)],
            to_pc: ToPc::Loopback,
            chain: ChainConfig::default(),
            ducking_db: Some(-5.0),
        };
        let mut m = Mixer::new(cfg, RATE);
        // The mixer alone: its inputs are computed before the measurement (one second of distinct blocks,
        // cycled: the mixer's cost does not depend on which samples), so no source is timed with it.
        let mut voice = Source::noise(0.3, ag06_lab::sim::stream(1, "bench"));
        let mut tone = Source::sine(440.0, 0.3);
        let blocks: Vec<Vec<Vec<f32>>> = (0..48_000 / frames as u64)
            .map(|p| {
                let n0 = p * frames as u64;
                let mut inputs: Vec<Vec<f32>> = (0..6).map(|_| vec![0.0; frames]).collect();
                voice.fill(n0, RATE, &mut inputs[0]);
                tone.fill(n0, RATE, &mut inputs[1]);
                for (i, ch) in inputs.iter_mut().enumerate().skip(2) {
                    Source::sine(200.0 * i as f64, 0.2).fill(n0, RATE, ch);
                }
                inputs
            })
            .collect();
        let pb = vec![0.1f32; frames];
        let (mut l, mut r) = (vec![0.0; frames], vec![0.0; frames]);
        let mut p = 0usize;
        // Throughput in frames: real-time factor = (frames/s measured) / 48000.
        g.throughput(Throughput::Elements(frames as u64));
        g.bench_function(format!("six_channels_vocal_chain_{frames}_frames"), |b| {
            b.iter(|| {
                let n0 = (p * frames) as u64;
                m.process(n0, &blocks[p % blocks.len()], [&pb, &pb], [&mut l, &mut r]);
                p += 1;
            })
        });
    }
    g.finish();
}

/// The loudness meter alone over 256-frame blocks of noise: both channels the same slice (a mirrored
/// bus, as karaoke-night's), and two different channels.
fn loudness(c: &mut Criterion) {
    const FRAMES: usize = 256;
    let mut g = c.benchmark_group("loudness");
    let noise = |name: &str| {
        let mut s = Source::noise(0.3, ag06_lab::sim::stream(2, name));
        let mut buf = vec![0.0f32; 48_000];
        s.fill(0, RATE, &mut buf);
        buf
    };
    let (left, right) = (noise("left"), noise("right"));
    // Throughput in frames: real-time factor = (frames/s measured) / 48000.
    g.throughput(Throughput::Elements(FRAMES as u64));
    let mut m = ag06_lab::dsp::loudness::Loudness::new(48_000);
    let mut p = 0usize;
    g.bench_function("mirrored_256_frames", |b| {
        b.iter(|| {
            let at = (p % (48_000 / FRAMES)) * FRAMES;
            let block = &left[at..at + FRAMES];
            m.add(block, block);
            p += 1;
        })
    });
    let mut m = ag06_lab::dsp::loudness::Loudness::new(48_000);
    g.bench_function("stereo_256_frames", |b| {
        b.iter(|| {
            let at = (p % (48_000 / FRAMES)) * FRAMES;
            m.add(&left[at..at + FRAMES], &right[at..at + FRAMES]);
            p += 1;
        })
    });
    g.finish();
}

fn engine_with_audio(c: &mut Criterion) {
    let text = std::fs::read_to_string("scenarios/ag06-vocal-chain.toml").expect("the scenario exists");
    let text = text.replace("duration = \"10m\"", "duration = \"1m\"");
    let text = &text[..text.find("[[chaos]]").expect("it has faults")];
    let sc = ag06_lab::scenario::Scenario::from_toml(text, "scenarios/ag06-vocal-chain.toml", "v").expect("valid");
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.bench_function("audio_path_1_simulated_minute", |b| {
        b.iter(|| ag06_lab::run::simulate(&sc, 1, None).expect("runs"))
    });
    g.finish();
}

/// Simulated seconds of audio per iteration of the end-to-end benchmarks.
const E2E_SECONDS: f64 = 20.0;
/// Frames per period in the end-to-end benchmarks.
const E2E_FRAMES: usize = 128;

fn six_inputs() -> ag06_lab::scenario::Scenario {
    let text = include_str!("six-inputs.toml");
    ag06_lab::scenario::Scenario::from_toml(text, "benches/six-inputs.toml", "v").expect("valid")
}

/// The whole simulated path once: sources, converters, mixer, vocal chain, meters, loudness, the device,
/// mixer and monitor actors, 20 simulated seconds at 128 frames (plus the service's trickle of requests).
fn whole_path(sc: &ag06_lab::scenario::Scenario) {
    let out = ag06_lab::run::simulate(sc, 1, None).expect("runs");
    assert!(out.audio.as_ref().is_some_and(|a| a.periods >= (E2E_SECONDS * 48_000.0) as u64 / 128));
}

/// The reference: a naive per-sample loop of the same chain in f32, written the textbook way (each
/// stage's formula every sample, the compressor's gain computed every sample), over the six inputs
/// (precomputed: no sources) into the stereo bus with ducking and the stream's clamp (no meters, no
/// loudness, no actors).
mod naive {
    use std::f32::consts::PI;

    #[derive(Default, Clone, Copy)]
    pub(super) struct Biquad {
        b: [f32; 3],
        a: [f32; 2],
        z: [f32; 2],
    }

    impl Biquad {
        fn new(b: [f32; 3], a0: f32, a: [f32; 2]) -> Self {
            Biquad { b: b.map(|x| x / a0), a: a.map(|x| x / a0), z: [0.0; 2] }
        }
        pub(super) fn highpass(rate: f32, f: f32, q: f32) -> Self {
            let w = 2.0 * PI * f / rate;
            let (s, c) = w.sin_cos();
            let al = s / (2.0 * q);
            Self::new([(1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0], 1.0 + al, [-2.0 * c, 1.0 - al])
        }
        pub(super) fn peaking(rate: f32, f: f32, q: f32, db: f32) -> Self {
            let a = 10f32.powf(db / 40.0);
            let w = 2.0 * PI * f / rate;
            let (s, c) = w.sin_cos();
            let al = s / (2.0 * q);
            Self::new([1.0 + al * a, -2.0 * c, 1.0 - al * a], 1.0 + al / a, [-2.0 * c, 1.0 - al / a])
        }
        fn tick(&mut self, x: f32) -> f32 {
            let y = self.b[0] * x + self.z[0];
            self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
            self.z[1] = self.b[2] * x - self.a[1] * y;
            y
        }
    }

    fn pole(t: f32, rate: f32) -> f32 {
        (-1.0 / (t * rate)).exp()
    }

    pub(super) struct Chain {
        hpf: Biquad,
        eq: [Biquad; 3],
        gate: (f32, f32, f32, f32, f32, f32),
        comp: (f32, f32, f32, f32, f32),
        combs: Vec<(Vec<f32>, usize, f32)>,
        allpasses: Vec<(Vec<f32>, usize)>,
        lim: (f32, f32, f32),
        duck: (f32, f32, f32, f32),
        pans: [(f32, f32); 6],
    }

    impl Chain {
        pub(super) fn new(rate: f32, pans: [f32; 6]) -> Self {
            let scale = rate / 44_100.0;
            let len = |n: f32| (n * scale).round() as usize;
            let pan = |p: f32| {
                let a = (p + 1.0) * PI / 4.0;
                (a.cos(), a.sin())
            };
            Chain {
                hpf: Biquad::highpass(rate, 80.0, std::f32::consts::FRAC_1_SQRT_2),
                eq: [
                    Biquad::peaking(rate, 250.0, 1.0, -1.5),
                    Biquad::peaking(rate, 2600.0, 1.0, 2.0),
                    Biquad::peaking(rate, 8000.0, 1.0, 3.0),
                ],
                // threshold, release coefficient of the detector, attack, release, envelope, gain
                gate: (10f32.powf(-45.0 / 20.0), pole(0.020, rate), pole(0.003, rate), pole(0.180, rate), 0.0, 0.0),
                // mean-square coefficient, attack, release, mean square, reduction
                comp: (pole(0.010, rate), pole(0.008, rate), pole(0.140, rate), 0.0, 0.0),
                combs: [1116.0, 1188.0, 1277.0, 1356.0].iter().map(|n| (vec![0.0; len(*n)], 0, 0.0)).collect(),
                allpasses: [556.0, 441.0].iter().map(|n| (vec![0.0; len(*n)], 0)).collect(),
                lim: (10f32.powf(-1.0 / 20.0), pole(0.050, rate), 1.0),
                duck: (10f32.powf(-5.0 / 20.0), pole(0.010, rate), pole(0.250, rate), 1.0),
                pans: pans.map(pan),
            }
        }

        /// One sample of CH1 through the chain; returns it and whether a voice is present.
        fn tick(&mut self, x: f32) -> (f32, bool) {
            let mut y = self.hpf.tick(x);
            let g = &mut self.gate;
            let a = y.abs();
            g.4 = if a > g.4 { a } else { g.1 * g.4 + (1.0 - g.1) * a };
            let (target, c) = if g.4 >= g.0 { (1.0, g.2) } else { (0.0, g.3) };
            g.5 = c * g.5 + (1.0 - c) * target;
            y *= g.5;
            for b in &mut self.eq {
                y = b.tick(y);
            }
            let k = &mut self.comp;
            k.3 = k.0 * k.3 + (1.0 - k.0) * y * y;
            let level = 10.0 * k.3.max(1e-20).log10();
            let target = (level + 22.0).max(0.0) * (1.0 - 1.0 / 3.5);
            let c = if target > k.4 { k.1 } else { k.2 };
            k.4 = c * k.4 + (1.0 - c) * target;
            y *= 10f32.powf((5.0 - k.4) / 20.0);
            let input = y * 0.25;
            let mut wet = 0.0;
            for (buf, i, filt) in &mut self.combs {
                let o = buf[*i];
                *filt = o * 0.8 + *filt * 0.2;
                buf[*i] = input + *filt * 0.84;
                *i = (*i + 1) % buf.len();
                wet += o;
            }
            for (buf, i) in &mut self.allpasses {
                let b = buf[*i];
                buf[*i] = wet + b * 0.5;
                wet = b - wet;
                *i = (*i + 1) % buf.len();
            }
            y = y * 0.72 + wet * 0.28;
            let l = &mut self.lim;
            let rec = l.1 * l.2 + (1.0 - l.1);
            l.2 = if y.abs() * rec > l.0 { l.0 / y.abs() } else { rec };
            ((y * l.2).clamp(-l.0, l.0), g.5 > 0.5)
        }

        /// One block: six inputs and the playback into `out`.
        pub(super) fn process(&mut self, inputs: &[Vec<f32>], playback: &[f32], out: &mut [[f32; 2]]) {
            for (i, o) in out.iter_mut().enumerate() {
                let (ch1, voice) = self.tick(inputs[0][i]);
                let (mut l, mut r) = (ch1 * self.pans[0].0, ch1 * self.pans[0].1);
                for (ch, (gl, gr)) in inputs.iter().zip(&self.pans).skip(1) {
                    l += ch[i] * gl;
                    r += ch[i] * gr;
                }
                let d = &mut self.duck;
                let (target, c) = if voice { (d.0, d.1) } else { (1.0, d.2) };
                d.3 = c * d.3 + (1.0 - c) * target;
                let duck = d.3;
                o[0] = (l + playback[i] * duck).clamp(-1.0, 1.0);
                o[1] = (r + playback[i] * duck).clamp(-1.0, 1.0);
            }
        }
    }
}

/// Six inputs like the scenario's, `frames` long from frame `n0`.
fn naive_inputs(n0: u64, frames: usize, noise: &mut [Source; 2]) -> Vec<Vec<f32>> {
    let mut inputs: Vec<Vec<f32>> = (0..6).map(|_| vec![0.0; frames]).collect();
    noise[0].fill(n0, RATE, &mut inputs[0]);
    noise[1].fill(n0, RATE, &mut inputs[4]);
    for (k, f) in [(1, 196.0), (2, 523.25), (3, 659.25), (5, 110.0)] {
        Source::sine(f, 0.1).fill(n0, RATE, &mut inputs[k]);
    }
    inputs
}

/// The naive loop over `E2E_SECONDS` of audio in blocks of `E2E_FRAMES`, on precomputed blocks.
fn naive_loop(blocks: &[Vec<Vec<f32>>], playback: &[f32]) -> f32 {
    let mut chain = naive::Chain::new(RATE as f32, [0.0, -0.3, -1.0, 1.0, -1.0, 1.0]);
    let mut out = vec![[0.0f32; 2]; E2E_FRAMES];
    let periods = (E2E_SECONDS * RATE) as usize / E2E_FRAMES;
    let mut acc = 0.0;
    for p in 0..periods {
        chain.process(&blocks[p % blocks.len()], playback, &mut out);
        acc += out[0][0];
    }
    acc
}

fn naive_blocks() -> (Vec<Vec<Vec<f32>>>, Vec<f32>) {
    let mut noise = [
        Source::noise(0.4, ag06_lab::sim::stream(1, "naive/ch1")),
        Source::noise(0.03, ag06_lab::sim::stream(1, "naive/ch5")),
    ];
    // One second of distinct blocks, cycled (the loop's cost does not depend on which samples).
    let blocks = (0..375).map(|p| naive_inputs(p * E2E_FRAMES as u64, E2E_FRAMES, &mut noise)).collect();
    let mut playback = vec![0.0; E2E_FRAMES];
    Source::sine(220.0, 0.1).fill(0, RATE, &mut playback);
    (blocks, playback)
}

fn end_to_end(c: &mut Criterion) {
    let sc = six_inputs();
    let (blocks, playback) = naive_blocks();
    let mut g = c.benchmark_group("end_to_end");
    g.sample_size(10);
    // Throughput in frames: real-time factor = (frames/s measured) / 48000.
    g.throughput(Throughput::Elements((E2E_SECONDS * RATE) as u64));
    g.bench_function("whole_path_six_inputs_128_frames", |b| b.iter(|| whole_path(&sc)));
    g.bench_function("naive_loop_six_inputs_128_frames", |b| b.iter(|| naive_loop(&blocks, &playback)));
    g.finish();
}

/// The median wall time of `runs` calls of `f` [s].
fn median_secs(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let start = std::time::Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

/// The summary: both real-time factors, measured back to back in this run, and their ratio (the goal:
/// the whole path at least twice the naive loop's).
fn summary() {
    let sc = six_inputs();
    let (blocks, playback) = naive_blocks();
    let whole = median_secs(7, || whole_path(&sc));
    let naive = median_secs(7, || {
        std::hint::black_box(naive_loop(&blocks, &playback));
    });
    let (rw, rn) = (E2E_SECONDS / whole, E2E_SECONDS / naive);
    println!(
        "end to end, 6 inputs, 128 frames, 48 kHz: whole simulated path {rw:.0}x real time, naive per-sample \
         loop {rn:.0}x real time: {:.2}x the naive loop",
        rw / rn
    );
}

criterion_group!(benches, mixer_rtf, loudness, engine_with_audio, end_to_end);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
