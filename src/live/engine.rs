//! The real-time side of live mode: what runs inside the audio callbacks. No allocation, no lock, no
//! blocking, no logging: buffers are allocated up front, blocks and telemetry leave through lock-free SPSC
//! rings (rtrb), and the actors steer it through atomics ([`Controls`]).
//!
//! ```text
//!  input callback ──Capture::push──▶ [capture ring] ──▶ Engine::process (output callback):
//!                                                         chaos (silence, clipping, cpu-stall)
//!                                                         mixer + vocal chain (the AG06's DSP)
//!                                                         ├──▶ output buffer (played)
//!                                                         ├──▶ [meter ring]     ch1, ch2, out_l, out_r
//!                                                         └──▶ [telemetry ring] one Period per callback
//! ```
//!
//! The DSP runs in the output callback: measured at 13.7 µs per 256-frame callback for the full chain
//! (`cargo bench --bench callback`), 0.26% of the 5.33 ms period, so a hand-off to another thread would
//! only add a period of latency and a second deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

pub use crate::actors::audio::backend::Period;
use crate::dsp::mixer::{Mixer, MixerConfig};
use crate::dsp::source::Source;

/// What the actors change while the stream runs (faults), read by the callback without locking.
#[derive(Debug, Default)]
pub struct Controls {
    /// Busy-wait this long inside every callback [ns] (the cpu-stall fault).
    pub stall_ns: AtomicU64,
    /// Zero the captured input (the silence fault: what a denied microphone permission looks like).
    pub silence: AtomicBool,
    /// Extra input gain before the converters clip, as f32 bits (the clipping fault); 1.0 when unset.
    pub clip_gain_bits: AtomicU32,
    /// Stream errors reported by the host (cpal's error callback), xruns among them.
    pub stream_errors: AtomicU64,
    /// Of those, the ones the host called an xrun.
    pub host_xruns: AtomicU64,
}

impl Controls {
    /// Controls with no fault active.
    pub fn new() -> Arc<Controls> {
        let c = Controls::default();
        c.clip_gain_bits.store(1.0f32.to_bits(), Ordering::Relaxed);
        Arc::new(c)
    }

    /// Sets the faults.
    pub fn set(&self, stall_ns: u64, silence: bool, clip_gain: f32) {
        self.stall_ns.store(stall_ns, Ordering::Relaxed);
        self.silence.store(silence, Ordering::Relaxed);
        self.clip_gain_bits.store(clip_gain.to_bits(), Ordering::Relaxed);
    }
}

/// Floats per frame in the meter ring: ch1, ch2, out_l, out_r.
pub const METER_STRIDE: usize = 4;

/// The input callback's half: interleaved captured samples into the capture ring.
pub struct Capture {
    ring: rtrb::Producer<f32>,
    channels: usize,
    /// Frames that found the ring full and were dropped.
    pub overflow_frames: Arc<AtomicU64>,
}

impl Capture {
    /// Pushes one input callback's interleaved samples (`channels` per frame; the first two are kept).
    #[inline]
    pub fn push(&mut self, data: &[f32]) {
        let frames = data.len() / self.channels.max(1);
        for f in 0..frames {
            if self.ring.slots() < 2 {
                self.overflow_frames.fetch_add((frames - f) as u64, Ordering::Relaxed);
                return;
            }
            let l = data[f * self.channels];
            let r = if self.channels > 1 { data[f * self.channels + 1] } else { l };
            // Two slots are free: neither push can fail.
            let _ = self.ring.push(l);
            let _ = self.ring.push(r);
        }
    }
}

/// The actors' half: telemetry and metered audio out of the rings.
pub struct Taps {
    /// One record per output callback.
    pub telemetry: rtrb::Consumer<Period>,
    /// [`METER_STRIDE`] floats per frame.
    pub meter: rtrb::Consumer<f32>,
}

/// The output callback's state: buffers, the mixer, the playback source and the rings.
pub struct Engine {
    capture: rtrb::Consumer<f32>,
    telemetry: rtrb::Producer<Period>,
    meter: rtrb::Producer<f32>,
    controls: Arc<Controls>,
    mixer: Mixer,
    playback_source: Source,
    rate_hz: f64,
    out_channels: usize,
    inputs: Vec<Vec<f32>>,
    playback: [Vec<f32>; 2],
    out: [Vec<f32>; 2],
    period_ns: u64,
    n: u64,
    frame: u64,
    last_at: Option<u64>,
    errors_seen: u64,
    /// Two periods of input have arrived (the input stream starts a little after the output).
    primed: bool,
}

/// Callbacks at the start of a stream whose gaps are not xruns (the host is filling its buffers).
pub const SETTLING_CALLBACKS: u64 = 4;

/// Sizes of the rings, in periods.
const CAPTURE_PERIODS: usize = 8;
const METER_PERIODS: usize = 256;

impl Engine {
    /// An engine for `frames`-frame periods at `rate_hz`, mixing with `mixer` and playing `playback` into
    /// `out_channels` interleaved output channels. Returns it with the input callback's [`Capture`]
    /// (`in_channels` interleaved) and the actors' [`Taps`]. Everything is allocated here.
    pub fn new(
        mixer: MixerConfig,
        playback: Source,
        rate_hz: u32,
        frames: u32,
        in_channels: usize,
        out_channels: usize,
        controls: Arc<Controls>,
    ) -> (Engine, Capture, Taps) {
        // Room for hosts that hand out more frames than asked now and then.
        let max = frames as usize * 4;
        let (cap_tx, cap_rx) = rtrb::RingBuffer::new(2 * max * CAPTURE_PERIODS);
        let (tel_tx, tel_rx) = rtrb::RingBuffer::new(METER_PERIODS * 4);
        let (met_tx, met_rx) = rtrb::RingBuffer::new(METER_STRIDE * frames as usize * METER_PERIODS);
        let mut mixer = Mixer::new(mixer, f64::from(rate_hz));
        mixer.reserve(max);
        let engine = Engine {
            capture: cap_rx,
            telemetry: tel_tx,
            meter: met_tx,
            controls,
            mixer,
            playback_source: playback,
            rate_hz: f64::from(rate_hz),
            out_channels: out_channels.max(1),
            inputs: vec![vec![0.0; max]; 2],
            playback: [vec![0.0; max], vec![0.0; max]],
            out: [vec![0.0; max], vec![0.0; max]],
            period_ns: (u64::from(frames) * 1_000_000_000) / u64::from(rate_hz.max(1)),
            n: 0,
            frame: 0,
            last_at: None,
            errors_seen: 0,
            primed: false,
        };
        let overflow = Arc::new(AtomicU64::new(0));
        (
            engine,
            Capture { ring: cap_tx, channels: in_channels.max(1), overflow_frames: overflow },
            Taps { telemetry: tel_rx, meter: met_rx },
        )
    }

    /// The nominal period [ns].
    pub fn period_ns(&self) -> u64 {
        self.period_ns
    }

    /// Fills one output callback's interleaved buffer; `at_ns` is when the callback was invoked (the
    /// stream's clock).
    pub fn process(&mut self, output: &mut [f32], at_ns: u64) {
        let started = Instant::now();
        let frames = (output.len() / self.out_channels).min(self.out[0].len());
        // Captured input: what the input callback left, silence for what is missing.
        // Start consuming once two periods are waiting and keep one in reserve, so that the order in
        // which the host runs the input and output callbacks of a cycle does not matter (one period of
        // monitoring latency).
        let waiting = self.capture.slots() / 2;
        if !self.primed && waiting >= 2 * frames {
            self.primed = true;
        }
        let underrun = self.primed && waiting < frames;
        let take = if self.primed { waiting.min(frames) } else { 0 };
        let silence = self.controls.silence.load(Ordering::Relaxed);
        let gain = f32::from_bits(self.controls.clip_gain_bits.load(Ordering::Relaxed));
        let [ch1, ch2] = &mut self.inputs[..] else { unreachable!("invariant: two input channels") };
        let mut clipped = [0u32; 4];
        for i in 0..frames {
            let (l, r) = if i < take {
                (self.capture.pop().unwrap_or(0.0), self.capture.pop().unwrap_or(0.0))
            } else {
                (0.0, 0.0)
            };
            let (l, r) = if silence { (0.0, 0.0) } else { (l, r) };
            // The converters saturate at full scale: a captured sample at the largest code clipped.
            let (l, r) = (l * gain, r * gain);
            clipped[0] += u32::from(crate::dsp::mixer::at_full_scale(l));
            clipped[1] += u32::from(crate::dsp::mixer::at_full_scale(r));
            ch1[i] = l.clamp(-1.0, 1.0);
            ch2[i] = r.clamp(-1.0, 1.0);
        }
        let [pl, pr] = &mut self.playback;
        self.playback_source.fill(self.frame, self.rate_hz, &mut pl[..frames]);
        pr[..frames].copy_from_slice(&pl[..frames]);
        // The mixer takes its frame count from the output slices; the input buffers are longer.
        let [out_l, out_r] = &mut self.out;
        let [bus_l, bus_r] = self.mixer.process(
            self.frame,
            &self.inputs,
            [&pl[..frames], &pr[..frames]],
            [&mut out_l[..frames], &mut out_r[..frames]],
        );
        clipped[2] = bus_l;
        clipped[3] = bus_r;
        for i in 0..frames {
            let o = &mut output[i * self.out_channels..(i + 1) * self.out_channels];
            o[0] = out_l[i];
            if o.len() > 1 {
                o[1] = out_r[i];
            }
            for x in o.iter_mut().skip(2) {
                *x = 0.0;
            }
        }
        // Metering: the actors' copy of what came in and went out.
        let mut meter_dropped = false;
        if self.meter.slots() >= frames * METER_STRIDE {
            for i in 0..frames {
                let _ = self.meter.push(self.inputs[0][i]);
                let _ = self.meter.push(self.inputs[1][i]);
                let _ = self.meter.push(out_l[i]);
                let _ = self.meter.push(out_r[i]);
            }
        } else {
            meter_dropped = true;
        }
        // The cpu-stall fault: burn the time inside the callback, as a heavy plug-in would.
        let stall = self.controls.stall_ns.load(Ordering::Relaxed);
        if stall > 0 {
            while (started.elapsed().as_nanos() as u64) < stall {
                std::hint::spin_loop();
            }
        }
        let interval = self.last_at.map(|l| at_ns.saturating_sub(l)).unwrap_or(0);
        self.last_at = Some(at_ns);
        let errors = self.controls.host_xruns.load(Ordering::Relaxed);
        let reported = errors > self.errors_seen;
        self.errors_seen = errors;
        // The first callbacks of a stream come as the host fills its buffers: gaps there are settling.
        let gap = self.n >= SETTLING_CALLBACKS && interval * 2 > self.period_ns * 3;
        let p = Period {
            n: self.n,
            frames: frames as u32,
            at_ns,
            interval_ns: interval,
            proc_ns: started.elapsed().as_nanos() as u64,
            xrun: gap || reported,
            underrun,
            meter_dropped,
            clipped,
        };
        // A full telemetry ring means the actors are behind: the period is lost to them, not to the audio.
        let _ = self.telemetry.push(p);
        self.n += 1;
        self.frame += frames as u64;
    }
}

/// Reads what the engine published: telemetry and, for each period, its metered frames.
impl Taps {
    /// Pops every complete period waiting: `f(period, ch1, ch2, out_l, out_r)` with `scratch` buffers
    /// reused between calls.
    pub fn drain(&mut self, scratch: &mut [Vec<f32>; 4], mut f: impl FnMut(Period, &[Vec<f32>; 4])) {
        while let Ok(p) = self.telemetry.pop() {
            let frames = p.frames as usize;
            for b in scratch.iter_mut() {
                b.clear();
            }
            if !p.meter_dropped {
                for _ in 0..frames {
                    for b in scratch.iter_mut() {
                        b.push(self.meter.pop().unwrap_or(0.0));
                    }
                }
            }
            f(p, scratch);
        }
    }
}

thread_local! {
    static IN_CALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as inside an audio callback (a counting allocator in the tests reads it).
#[inline]
pub fn enter_callback() {
    IN_CALLBACK.with(|c| c.set(true));
}

/// Marks the end of an audio callback.
#[inline]
pub fn leave_callback() {
    IN_CALLBACK.with(|c| c.set(false));
}

/// Whether this thread is inside an audio callback.
#[inline]
pub fn in_callback() -> bool {
    IN_CALLBACK.with(std::cell::Cell::get)
}
