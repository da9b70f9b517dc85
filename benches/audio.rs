//! Audio benchmarks (criterion): the mixer's real-time factor with the full vocal chain, and the cost
//! of a simulated minute with the audio path in the engine.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

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
        let mut voice = Source::Noise { amp: 0.3, rng: Box::new(ag06_lab::sim::stream(1, "bench")) };
        let mut inputs: Vec<Vec<f32>> = (0..6).map(|_| vec![0.0; frames]).collect();
        let mut tone = Source::sine(440.0, 0.3);
        for (i, ch) in inputs.iter_mut().enumerate().skip(1) {
            Source::sine(200.0 * i as f64, 0.2).fill(0, RATE, ch);
        }
        let pb = vec![0.1f32; frames];
        let (mut l, mut r) = (vec![0.0; frames], vec![0.0; frames]);
        let mut n0 = 0u64;
        // Throughput in frames: real-time factor = (frames/s measured) / 48000.
        g.throughput(Throughput::Elements(frames as u64));
        g.bench_function(format!("six_channels_vocal_chain_{frames}_frames"), |b| {
            b.iter(|| {
                voice.fill(n0, RATE, &mut inputs[0]);
                tone.fill(n0, RATE, &mut inputs[1]);
                m.process(n0, &inputs, [&pb, &pb], [&mut l, &mut r]);
                n0 += frames as u64;
            })
        });
    }
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

criterion_group!(benches, mixer_rtf, engine_with_audio);
criterion_main!(benches);
