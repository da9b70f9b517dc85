//! The live audio callback never allocates: the real-time engine (capture push, chaos, mixer with the full
//! vocal chain, metering and telemetry rings) runs thousands of periods under a counting global allocator
//! that counts every allocation made on this thread while armed. (The same allocator counts on the real
//! cpal callback thread in `tests/live.rs`.)

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use ag06_lab::live::engine::{Controls, Engine};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards to the system allocator; counting touches only an atomic and a const thread-local.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ARMED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counted(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

const SCENARIO: &str = include_str!("../scenarios/ag06-vocal-chain.toml");

#[test]
fn the_callback_path_never_allocates() {
    // The counter works: a Vec allocates.
    assert!(counted(|| drop(std::hint::black_box(vec![1u8; 64]))) >= 1);
    let sc = ag06_lab::scenario::Scenario::from_toml(SCENARIO, "scenarios/ag06-vocal-chain.toml", "x").unwrap();
    let d = sc.device.as_ref().unwrap();
    let controls = Controls::new();
    for frames in [64u32, 128, 256, 1024] {
        let (mut engine, mut capture, mut taps) =
            Engine::new(d.mixer(), d.playback.build(1, "playback"), 48_000, frames, 2, 2, controls.clone());
        let input: Vec<f32> = (0..frames as usize * 2).map(|i| ((i as f32) * 0.01).sin() * 0.5).collect();
        let mut output = vec![0.0f32; frames as usize * 2];
        let period = engine.period_ns();
        let mut scratch: [Vec<f32>; 4] = Default::default();
        let mut t = 0;
        let mut run = |engine: &mut Engine, capture: &mut ag06_lab::live::engine::Capture, periods: u32| {
            for _ in 0..periods {
                capture.push(&input);
                engine.process(&mut output, t);
                t += period;
            }
        };
        // Warm up, then count: plain periods, then with every fault the callback implements.
        run(&mut engine, &mut capture, 8);
        taps.drain(&mut scratch, |_, _| {});
        let n = counted(|| run(&mut engine, &mut capture, 200));
        assert_eq!(n, 0, "{n} allocations in 200 periods of {frames} frames");
        controls.set(50_000, true, 4.0);
        let n = counted(|| run(&mut engine, &mut capture, 50));
        controls.set(0, false, 1.0);
        assert_eq!(n, 0, "{n} allocations with faults at {frames} frames");
        // The rings filled up (nobody drained them): the callback drops telemetry, it does not grow.
        let n = counted(|| run(&mut engine, &mut capture, 2000));
        assert_eq!(n, 0, "{n} allocations with full rings at {frames} frames");
        let mut periods = 0;
        taps.drain(&mut scratch, |p, _| {
            assert_eq!(p.frames, frames);
            periods += 1;
        });
        assert!(periods > 0);
    }
}

#[test]
fn the_engine_mixes_what_it_captured_and_reports_each_period() {
    let sc = ag06_lab::scenario::Scenario::from_toml(SCENARIO, "scenarios/ag06-vocal-chain.toml", "x").unwrap();
    let mut d = sc.device.clone().unwrap();
    d.to_pc = ag06_lab::dsp::mixer::ToPc::DryCh12;
    let controls = Controls::new();
    let (mut engine, mut capture, mut taps) =
        Engine::new(d.mixer(), d.playback.build(1, "playback"), 48_000, 256, 2, 2, controls.clone());
    // DRY CH 1-2: what comes in goes out unchanged, left to left and right to right.
    let input: Vec<f32> = (0..512).map(|i| if i % 2 == 0 { 0.25 } else { -0.5 }).collect();
    let mut out = vec![0.0f32; 512];
    // Two periods prime the engine (one is kept in reserve).
    capture.push(&input);
    capture.push(&input);
    engine.process(&mut out, 0);
    assert!(out.chunks(2).all(|f| f == [0.25, -0.5]), "{:?}", &out[..4]);
    // Silence: bit-exact zeros; clipping: +12 dB drives 0.25 to full scale at most.
    controls.set(0, true, 1.0);
    capture.push(&input);
    engine.process(&mut out, 5_333_333);
    assert!(out.iter().all(|x| *x == 0.0));
    controls.set(0, false, 8.0);
    capture.push(&input);
    engine.process(&mut out, 10_666_666);
    assert!(out.chunks(2).all(|f| f == [1.0, -1.0]), "{:?}", &out[..4]);
    // A late callback (2 periods after the previous) is an xrun; on time is not (after the stream's
    // settling callbacks).
    controls.set(0, false, 1.0);
    capture.push(&input);
    engine.process(&mut out, 16_000_000);
    capture.push(&input);
    engine.process(&mut out, 16_000_000 + 2 * 5_333_333);
    let mut seen = Vec::new();
    let mut scratch: [Vec<f32>; 4] = Default::default();
    taps.drain(&mut scratch, |p, m| {
        assert_eq!(m[0].len(), 256);
        seen.push(p);
    });
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().map(|p| p.xrun).collect::<Vec<_>>(), vec![false, false, false, false, true]);
    assert_eq!(seen[1].interval_ns, 5_333_333);
    // The reserve period plays next; then nothing is waiting: an underrun.
    engine.process(&mut out, 32_000_000);
    engine.process(&mut out, 37_333_333);
    let mut underruns = Vec::new();
    taps.drain(&mut scratch, |p, _| underruns.push(p.underrun));
    assert_eq!(underruns, vec![false, true]);
}
