//! The live audio callback's cost (criterion): the real-time engine with the full vocal chain
//! (scenarios/ag06-vocal-chain.toml: HPF, gate, EQ, compressor, reverb, limiter, loopback with ducking)
//! at 128 and 256 frames, 48 kHz. Target: at most 10% of the period (267 µs at 128, 533 µs at 256).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use ag06_lab::live::engine::{Controls, Engine};

fn callback(c: &mut Criterion) {
    let text = include_str!("../scenarios/ag06-vocal-chain.toml");
    let sc = ag06_lab::scenario::Scenario::from_toml(text, "scenarios/ag06-vocal-chain.toml", "bench").unwrap();
    let d = sc.device.as_ref().unwrap();
    let mut g = c.benchmark_group("callback");
    for frames in [128u32, 256] {
        let (mut engine, mut capture, mut taps) =
            Engine::new(d.mixer(), d.playback.build(1, "playback"), 48_000, frames, 2, 2, Controls::new());
        let input: Vec<f32> = (0..frames as usize * 2).map(|i| ((i as f32) * 0.013).sin() * 0.3).collect();
        let mut output = vec![0.0f32; frames as usize * 2];
        let mut scratch: [Vec<f32>; 4] = Default::default();
        let period = engine.period_ns();
        let mut t = 0;
        g.bench_with_input(BenchmarkId::new("vocal_chain", frames), &frames, |b, _| {
            b.iter(|| {
                capture.push(&input);
                engine.process(&mut output, t);
                t += period;
                // Keep the rings from filling up, as the actors do (outside the callback).
                taps.drain(&mut scratch, |_, _| {});
            })
        });
    }
    g.finish();
}

criterion_group!(benches, callback);
criterion_main!(benches);
