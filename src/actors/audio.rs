//! The audio path: the AG06 device (its converters and its USB stream), the mixer (the DSP), the audio
//! monitor (levels, xruns, dropouts, loudness, recording) and the device's supervisor.
//!
//! ```text
//!  Device ──Block──▶ Mixer ──Block──▶ AudioMonitor ──Returned──▶ Device   (one cycle per period)
//! ```
//! One period is `buffer_frames / sample_rate` of simulated time, exact to the nanosecond. Its block is
//! an xrun when its modelled processing time (`dsp_time` plus injected stalls) exceeds the period, when an
//! xrun storm hits it, or when host and device clocks have slipped by a whole buffer (sample-rate mismatch,
//! clock drift). While the device is unplugged its periods are missing.

pub mod backend;

use std::path::PathBuf;

use rand::RngExt;

use super::{ChaosMsg, Event, SimLab, record};
use crate::dsp::mixer::Mixer;
use crate::dsp::source::Source;
use crate::dsp::{db_to_lin, meter::ChannelMeter};
use crate::model::event::Event as Ev;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::gauges::Gauges;
use crate::model::summary::LiveReport;
use crate::scenario::device::Device;
use crate::scenario::{FaultEffect, Scenario};
use crate::sim::{Behavior, SimDuration, SimRng, SimTime};
use crate::supervision::{Decision, RestartType, Supervisor};
use backend::{AudioBackend, LiveMeter};

/// One period of audio on its way through the path.
#[derive(Debug)]
pub struct AudioBlock {
    /// Period number.
    pub n: u64,
    /// Input channels after the converters.
    pub inputs: Vec<Vec<f32>>,
    /// The computer's playback (stereo).
    pub playback: [Vec<f32>; 2],
    /// What the computer captures (stereo).
    pub out: [Vec<f32>; 2],
    /// The period missed its deadline.
    pub xrun: bool,
    /// Modelled processing time / period.
    pub dsp_load: f64,
    /// The computer captured bit-exact zeros (silence fault).
    pub captured_silence: bool,
}

/// Messages to the device.
#[derive(Debug)]
pub enum DeviceMsg {
    /// Period boundary.
    Tick {
        /// Guards against ticks of an earlier stream (before a reopen).
        epoch: u32,
    },
    /// A block comes back for reuse.
    Returned(Box<AudioBlock>),
    /// A device fault starts.
    FaultOn {
        /// Fault index.
        fault: u32,
        /// Effect.
        effect: FaultEffect,
    },
    /// A device fault ends.
    FaultOff {
        /// Fault index.
        fault: u32,
    },
    /// USB unplugged: the stream is gone for at least `down_for`.
    Disconnect {
        /// Minimum downtime.
        down_for: SimDuration,
    },
    /// The supervisor reopens the stream.
    Reopen,
    /// Report the first on-time period after now to the chaos injector (fault `fault` ended).
    WatchRecovery {
        /// Fault index.
        fault: u32,
    },
}

/// Messages to the mixer.
#[derive(Debug)]
pub enum MixerMsg {
    /// Mix a block.
    Block(Box<AudioBlock>),
}

/// Messages to the audio monitor.
#[derive(Debug)]
pub enum MonitorMsg {
    /// A delivered block.
    Block(Box<AudioBlock>),
    /// Period `n` is missing (the device is gone).
    Missing(u64),
    /// The experiment monitor asks for a probe's value in the window that just ended.
    ReportWindow {
        /// Probe index (echoed).
        probe: u32,
        /// What to measure.
        metric: crate::model::summary::ProbeMetric,
    },
}

/// Messages to the device supervisor.
#[derive(Debug)]
pub enum DeviceSupMsg {
    /// The stream died.
    Crashed {
        /// Why.
        reason: Box<str>,
        /// Minimum downtime.
        down_for: SimDuration,
    },
    /// Reopen now.
    ReopenDue,
    /// The root restarts the device subtree.
    RestartSubtree,
}

/// Active device faults.
#[derive(Default)]
struct Faults {
    active: Vec<(u32, FaultEffect)>,
    stall: SimDuration,
    storm: f64,
    /// Host frames consumed per device frame produced (1 = in sync).
    ratio: f64,
    ppm: f64,
    silence: bool,
    clip_gain: f64,
}

impl Faults {
    fn recompute(&mut self, device_rate: u32) {
        self.stall = SimDuration::ZERO;
        self.storm = 0.0;
        self.ratio = 1.0;
        self.ppm = 0.0;
        self.silence = false;
        self.clip_gain = 1.0;
        let mut ok = 1.0;
        for (_, e) in &self.active {
            match e {
                FaultEffect::CpuStall { add } => self.stall = self.stall + *add,
                FaultEffect::XrunStorm { rate } => ok *= 1.0 - rate,
                FaultEffect::SampleRateMismatch { host_rate_hz } => {
                    self.ratio *= f64::from(*host_rate_hz) / f64::from(device_rate)
                }
                FaultEffect::ClockDrift { ppm } => self.ppm += ppm,
                FaultEffect::Silence => self.silence = true,
                FaultEffect::Clipping { gain_db } => self.clip_gain *= db_to_lin(*gain_db),
                _ => {}
            }
        }
        self.storm = 1.0 - ok;
    }
}

/// The behaviour of the device: sources, converters, the stream's clock.
pub struct DeviceActor {
    spec: Device,
    sources: Vec<Source>,
    playback: Source,
    gains: Vec<f64>,
    up: bool,
    epoch: u32,
    n: u64,
    /// Clock anchor: period `anchor_n` started at `anchor_t`; the clock's rate factor since then.
    anchor_n: u64,
    anchor_t: SimTime,
    faults: Faults,
    /// Frames by which host and device have slipped since the last slip xrun.
    slip: f64,
    dsp_rng: SimRng,
    storm_rng: SimRng,
    /// Blocks back from the monitor, kept boxed: they travel in messages as boxes.
    #[allow(clippy::vec_box)]
    pool: Vec<Box<AudioBlock>>,
    watch: Vec<u32>,
    /// Live mode: the real interface, polled every [`LIVE_POLL`].
    backend: Option<Box<dyn AudioBackend>>,
    live: Option<LiveMeter>,
    /// Live mode: periods the late callbacks skipped, not yet counted as missing.
    live_lag: f64,
    /// Live mode: the metrics endpoint's counters.
    gauges: Option<Arc<Gauges>>,
}

/// How often live mode collects the periods the audio callbacks completed.
pub const LIVE_POLL: SimDuration = SimDuration::from_millis(2);

impl DeviceActor {
    /// The device of `sc` (which has one).
    pub fn new(sc: &Scenario, seed: u64) -> Self {
        let spec = sc.device.clone().expect("invariant: the device actor exists only with a [device] section");
        let sources =
            spec.inputs.iter().enumerate().map(|(i, s)| s.source.build(seed, &format!("device/ch{}", i + 1))).collect();
        let playback = spec.playback.build(seed, "device/playback");
        let gains = spec.inputs.iter().map(|i| i.strip.input_gain()).collect();
        let mut faults = Faults::default();
        faults.recompute(spec.rate_hz);
        DeviceActor {
            spec,
            sources,
            playback,
            gains,
            up: true,
            epoch: 0,
            n: 0,
            anchor_n: 0,
            anchor_t: SimTime::ZERO,
            faults,
            slip: 0.0,
            dsp_rng: crate::sim::stream(seed, "device/dsp_time"),
            storm_rng: crate::sim::stream(seed, "device/xrun_storm"),
            pool: Vec::new(),
            watch: Vec::new(),
            backend: None,
            live: None,
            live_lag: 0.0,
            gauges: None,
        }
    }

    /// The device backed by a real interface (live mode): its periods come from `backend`'s callbacks,
    /// and the DSP has already run in them.
    pub fn with_backend(mut self, backend: Box<dyn AudioBackend>, gauges: Option<Arc<Gauges>>) -> Self {
        self.live = Some(LiveMeter::new(self.spec.rate_hz, self.spec.frames));
        self.backend = Some(backend);
        self.gauges = gauges;
        self
    }

    /// Live mode: collects the completed periods and sends them to the monitor.
    fn live_tick(&mut self, lab: &SimLab) {
        if lab.now() >= lab.limits().stop_at {
            return;
        }
        lab.schedule_daemon(lab.now() + LIVE_POLL, Event::Device(DeviceMsg::Tick { epoch: self.epoch }));
        let Some(backend) = self.backend.as_mut() else { return };
        if let Some(g) = &self.gauges {
            g.now_ns.store(lab.now().as_nanos(), Ordering::Relaxed);
        }
        if !self.up {
            // Gone: every period that should have been played is missing.
            let due = lab.now().as_nanos() / self.spec.period().as_nanos().max(1);
            while self.n < due {
                lab.send(Event::Monitor(MonitorMsg::Missing(self.n)));
                self.n += 1;
                if let Some(g) = &self.gauges {
                    g.missing.fetch_add(1, Ordering::Relaxed);
                }
            }
            return;
        }
        let mut periods = Vec::new();
        backend.poll(&mut |p, m| {
            // A period whose samples the meter ring had no room for is metered as silence (the ring holds
            // over a second and is drained every LIVE_POLL, so this takes a stalled lab thread).
            let take =
                |b: &Vec<f32>| if b.len() == p.frames as usize { b.clone() } else { vec![0.0; p.frames as usize] };
            periods.push((p, [take(&m[0]), take(&m[1]), take(&m[2]), take(&m[3])]));
        });
        let period_ns = self.spec.period().as_nanos().max(1) as f64;
        for (p, [c1, c2, l, r]) in periods {
            if let Some(m) = self.live.as_mut() {
                m.add(&p);
            }
            if let Some(g) = &self.gauges {
                let load = (p.proc_ns as f64 / period_ns * 1e6) as u64;
                g.callbacks.fetch_add(1, Ordering::Relaxed);
                g.xruns.fetch_add(u64::from(p.xrun), Ordering::Relaxed);
                g.underruns.fetch_add(u64::from(p.underrun), Ordering::Relaxed);
                g.dsp_load_ppm.store(load, Ordering::Relaxed);
                g.dsp_load_max_ppm.fetch_max(load, Ordering::Relaxed);
            }
            // A late callback means the periods in between were never played: they are missing, and the
            // period count keeps following the real clock (the windows of audio.csv).
            if p.xrun && p.interval_ns > 0 {
                self.live_lag += p.interval_ns as f64 / period_ns - 1.0;
                while self.live_lag >= 1.0 {
                    self.live_lag -= 1.0;
                    lab.send(Event::Monitor(MonitorMsg::Missing(self.n)));
                    self.n += 1;
                    if let Some(g) = &self.gauges {
                        g.missing.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            let mut b = self.pool.pop().unwrap_or_else(|| {
                Box::new(AudioBlock {
                    n: 0,
                    inputs: vec![Vec::new(); 2],
                    playback: [Vec::new(), Vec::new()],
                    out: [Vec::new(), Vec::new()],
                    xrun: false,
                    dsp_load: 0.0,
                    captured_silence: false,
                })
            });
            b.n = self.n;
            self.n += 1;
            b.inputs.resize(2, Vec::new());
            b.inputs[0] = c1;
            b.inputs[1] = c2;
            b.out = [l, r];
            b.xrun = p.xrun || p.underrun;
            b.dsp_load = p.proc_ns as f64 / period_ns;
            b.captured_silence = self.faults.silence;
            if !b.xrun && !self.watch.is_empty() {
                for fault in self.watch.drain(..) {
                    lab.send(Event::Chaos(ChaosMsg::Recovered { fault }));
                }
            }
            lab.send(Event::Monitor(MonitorMsg::Block(b)));
        }
    }

    /// Live mode: hands the faults the callback implements to it.
    fn push_faults(&mut self) {
        if let Some(b) = self.backend.as_mut() {
            b.set_faults(self.faults.stall, self.faults.silence, self.faults.clip_gain);
        }
    }

    /// When period `n` starts on the device's clock (running `ppm` fast since the anchor).
    fn period_start(&self, n: u64) -> SimTime {
        let nominal = self.spec.period_start(n - self.anchor_n).as_nanos();
        let scaled = if self.faults.ppm == 0.0 {
            nominal
        } else {
            (nominal as f64 / (1.0 + self.faults.ppm * 1e-6)).round() as u64
        };
        self.anchor_t + SimDuration::from_nanos(scaled)
    }

    /// Re-anchors the clock at the next period (before its rate changes).
    fn reanchor(&mut self) {
        let next = self.period_start(self.n);
        self.anchor_n = self.n;
        self.anchor_t = next;
    }

    /// Puts the first period on the calendar.
    pub fn schedule(&self, lab: &SimLab) {
        lab.schedule_daemon(SimTime::ZERO, Event::Device(DeviceMsg::Tick { epoch: self.epoch }));
    }

    fn block(&mut self) -> Box<AudioBlock> {
        let frames = self.spec.frames as usize;
        let mut b = self.pool.pop().unwrap_or_else(|| {
            Box::new(AudioBlock {
                n: 0,
                inputs: vec![vec![0.0; frames]; self.spec.inputs.len()],
                playback: [vec![0.0; frames], vec![0.0; frames]],
                out: [vec![0.0; frames], vec![0.0; frames]],
                xrun: false,
                dsp_load: 0.0,
                captured_silence: false,
            })
        });
        b.xrun = false;
        b.captured_silence = false;
        b
    }

    fn tick(&mut self, lab: &SimLab) {
        // Periods start before the end of the run (arrivals end + drain); none starts at the end.
        if lab.now() >= lab.limits().stop_at {
            return;
        }
        let n = self.n;
        self.n += 1;
        let next = self.period_start(self.n);
        lab.schedule_daemon(next, Event::Device(DeviceMsg::Tick { epoch: self.epoch }));
        if !self.up {
            lab.send(Event::Monitor(MonitorMsg::Missing(n)));
            return;
        }
        let rate = f64::from(self.spec.rate_hz);
        let frames = self.spec.frames as usize;
        let n0 = n * frames as u64;
        let mut b = self.block();
        b.n = n;
        for (ch, buf) in b.inputs.iter_mut().enumerate() {
            self.sources[ch].fill(n0, rate, buf);
            let g = (self.gains[ch] * self.faults.clip_gain) as f32;
            if g != 1.0 {
                for s in buf.iter_mut() {
                    *s *= g;
                }
            }
            // The converter saturates at full scale.
            for s in buf.iter_mut() {
                *s = s.clamp(-1.0, 1.0);
            }
        }
        self.playback.fill(n0, rate, &mut b.playback[0]);
        let (pl, pr) = b.playback.split_at_mut(1);
        pr[0].copy_from_slice(&pl[0]);
        let period = (next - self.period_start(n)).as_nanos().max(1);
        let dsp = self.spec.dsp_time.sample(&mut self.dsp_rng) + self.faults.stall;
        b.dsp_load = dsp.as_nanos() as f64 / period as f64;
        let mut xrun = dsp.as_nanos() > period;
        if self.faults.storm > 0.0 && self.storm_rng.random::<f64>() < self.faults.storm {
            xrun = true;
        }
        // Host and device clocks: every buffer the host consumes `ratio` × frames while the device
        // produced frames; a whole buffer of slip is an over- or underrun.
        let ratio = self.faults.ratio * (1.0 + self.faults.ppm * 1e-6);
        self.slip += frames as f64 * (ratio - 1.0);
        if self.slip.abs() >= frames as f64 {
            self.slip -= frames as f64 * self.slip.signum();
            xrun = true;
        }
        b.xrun = xrun;
        b.captured_silence = self.faults.silence;
        if !xrun && !self.watch.is_empty() {
            for fault in self.watch.drain(..) {
                lab.send(Event::Chaos(ChaosMsg::Recovered { fault }));
            }
        }
        lab.send(Event::Mixer(MixerMsg::Block(b)));
    }
}

impl Behavior for DeviceActor {
    type Msg = DeviceMsg;
    type Event = Event;
    type Report = Option<LiveReport>;

    fn handle(&mut self, msg: DeviceMsg, lab: &SimLab) {
        match msg {
            DeviceMsg::Tick { epoch } if epoch == self.epoch && self.backend.is_some() => self.live_tick(lab),
            DeviceMsg::Tick { epoch } if epoch == self.epoch => self.tick(lab),
            DeviceMsg::Tick { .. } => {}
            DeviceMsg::Returned(b) => self.pool.push(b),
            DeviceMsg::FaultOn { fault, effect } => {
                self.reanchor();
                self.faults.active.push((fault, effect));
                self.faults.recompute(self.spec.rate_hz);
                self.push_faults();
            }
            DeviceMsg::FaultOff { fault } => {
                self.reanchor();
                self.faults.active.retain(|(f, _)| *f != fault);
                self.faults.recompute(self.spec.rate_hz);
                self.push_faults();
            }
            DeviceMsg::Disconnect { down_for } => {
                if self.up {
                    self.up = false;
                    if let Some(b) = self.backend.as_mut() {
                        b.close();
                    }
                    let reason = "USB disconnected: the stream is gone".into();
                    lab.send(Event::DeviceSup(DeviceSupMsg::Crashed { reason, down_for }));
                }
            }
            DeviceMsg::Reopen => {
                if let Some(b) = self.backend.as_mut()
                    && let Err(e) = b.reopen()
                {
                    // Still gone: the supervisor tries again.
                    let reason = format!("cannot reopen the stream: {e}").into();
                    lab.send(Event::DeviceSup(DeviceSupMsg::Crashed { reason, down_for: SimDuration::from_secs(1) }));
                    return;
                }
                self.up = true;
                self.slip = 0.0;
            }
            DeviceMsg::WatchRecovery { fault } => self.watch.push(fault),
        }
    }

    fn finish(&mut self, lab: &SimLab) -> Option<LiveReport> {
        let backend = self.backend.as_mut()?;
        let info = backend.info();
        backend.close();
        Some(self.live.as_ref()?.finish(info, lab.now().as_secs_f64()))
    }
}

/// The behaviour of the mixer.
pub struct MixerActor {
    mixer: Mixer,
}

impl MixerActor {
    /// The mixer of `device`.
    pub fn new(device: &Device) -> Self {
        MixerActor { mixer: Mixer::new(device.mixer(), f64::from(device.rate_hz)) }
    }
}

impl Behavior for MixerActor {
    type Msg = MixerMsg;
    type Event = Event;
    type Report = ();

    fn handle(&mut self, msg: MixerMsg, lab: &SimLab) {
        let MixerMsg::Block(mut b) = msg;
        let n0 = b.n * b.out[0].len() as u64;
        let AudioBlock { inputs, playback, out, .. } = &mut *b;
        let [l, r] = out;
        self.mixer.process(n0, inputs, [&playback[0], &playback[1]], [l, r]);
        if b.captured_silence {
            b.out[0].fill(0.0);
            b.out[1].fill(0.0);
        }
        lab.send(Event::Monitor(MonitorMsg::Block(b)));
    }

    fn finish(&mut self, _lab: &SimLab) {}
}

/// One row of audio.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioRow {
    /// Window start [s].
    pub t_s: f64,
    /// Channel name.
    pub channel: usize,
    /// The measures.
    pub meter: ChannelMeter,
    /// Xruns in the window (device-wide).
    pub xruns: u64,
    /// Missing periods in the window (device-wide).
    pub missing: u64,
    /// Mean modelled DSP load of the window's delivered periods (device-wide).
    pub dsp_load: Option<f64>,
}

/// What the audio monitor hands back.
#[derive(Clone, Debug, Default)]
pub struct AudioReport {
    /// Channel names: ch1.., out_l, out_r.
    pub channels: Vec<String>,
    /// Whole-run measures per channel (outputs: delivered periods only).
    pub meters: Vec<ChannelMeter>,
    /// Periods that should have been delivered.
    pub periods: u64,
    /// Delivered late.
    pub xruns: u64,
    /// Not delivered (device gone).
    pub missing: u64,
    /// Runs of consecutive late or missing periods.
    pub dropouts: u64,
    /// The longest such run [periods].
    pub max_dropout_periods: u64,
    /// The period [s].
    pub period_s: f64,
    /// Mean and max modelled DSP load over delivered periods.
    pub dsp_load_mean: f64,
    /// Max DSP load.
    pub dsp_load_max: f64,
    /// Integrated loudness of what the computer captured [LUFS] (`None`: too short or silent).
    pub output_lufs: Option<f64>,
    /// One row per window per channel.
    pub rows: Vec<AudioRow>,
    /// A recording problem, if any.
    pub record_error: Option<String>,
}

/// The behaviour of the audio monitor.
pub struct AudioMonitor {
    window: SimDuration,
    period_starts: Device,
    channels: usize,
    win: u64,
    win_meters: Vec<ChannelMeter>,
    win_xruns: u64,
    win_missing: u64,
    win_load: (f64, u64),
    report: AudioReport,
    run: u64,
    loudness: Option<ebur128::EbuR128>,
    interleaved: Vec<f32>,
    recorder: Option<hound::WavWriter<std::io::BufWriter<std::fs::File>>>,
    load_sum: f64,
    delivered: u64,
}

impl AudioMonitor {
    /// A monitor of `device`, with windows of `window`, recording to `record` if given.
    pub fn new(device: &Device, window: SimDuration, record: Option<PathBuf>) -> Self {
        let channels = device.inputs.len() + 2;
        let loudness = ebur128::EbuR128::new(2, device.rate_hz, ebur128::Mode::I).ok();
        let mut report = AudioReport {
            channels: device.channel_names(),
            meters: vec![ChannelMeter::default(); channels],
            period_s: device.period().as_secs_f64(),
            ..AudioReport::default()
        };
        let recorder = record.and_then(|p| {
            let spec = hound::WavSpec {
                channels: 2,
                sample_rate: device.rate_hz,
                bits_per_sample: 32,
                sample_format: hound::SampleFormat::Float,
            };
            match hound::WavWriter::create(&p, spec) {
                Ok(w) => Some(w),
                Err(e) => {
                    report.record_error = Some(format!("cannot create `{}`: {e}", p.display()));
                    None
                }
            }
        });
        AudioMonitor {
            window,
            period_starts: device.clone(),
            channels,
            win: 0,
            win_meters: vec![ChannelMeter::default(); channels],
            win_xruns: 0,
            win_missing: 0,
            win_load: (0.0, 0),
            report,
            run: 0,
            loudness,
            interleaved: Vec::new(),
            recorder,
            load_sum: 0.0,
            delivered: 0,
        }
    }

    fn window_of(&self, n: u64) -> u64 {
        self.period_starts.period_start(n).as_nanos() / self.window.as_nanos().max(1)
    }

    fn roll_to(&mut self, w: u64) {
        while self.win < w {
            self.close_window();
        }
    }

    fn close_window(&mut self) {
        let t_s = self.win as f64 * self.window.as_secs_f64();
        let load = (self.win_load.1 > 0).then(|| self.win_load.0 / self.win_load.1 as f64);
        for (ch, m) in self.win_meters.iter_mut().enumerate() {
            self.report.rows.push(AudioRow {
                t_s,
                channel: ch,
                meter: std::mem::take(m),
                xruns: self.win_xruns,
                missing: self.win_missing,
                dsp_load: load,
            });
        }
        self.win_xruns = 0;
        self.win_missing = 0;
        self.win_load = (0.0, 0);
        self.win += 1;
    }

    fn bad_period(&mut self) {
        if self.run == 0 {
            self.report.dropouts += 1;
        }
        self.run += 1;
        self.report.max_dropout_periods = self.report.max_dropout_periods.max(self.run);
    }

    /// Feeds what the computer captured to the loudness meter and the recording.
    fn captured(&mut self, l: &[f32], r: &[f32]) {
        self.interleaved.clear();
        self.interleaved.extend(l.iter().zip(r).flat_map(|(a, b)| [*a, *b]));
        if let Some(m) = &mut self.loudness {
            let _ = m.add_frames_f32(&self.interleaved);
        }
        if let Some(w) = &mut self.recorder {
            for s in &self.interleaved {
                if let Err(e) = w.write_sample(*s) {
                    self.report.record_error = Some(format!("cannot write the recording: {e}"));
                    self.recorder = None;
                    break;
                }
            }
        }
    }
}

impl Behavior for AudioMonitor {
    type Msg = MonitorMsg;
    type Event = Event;
    type Report = AudioReport;

    fn handle(&mut self, msg: MonitorMsg, lab: &SimLab) {
        match msg {
            MonitorMsg::ReportWindow { probe, metric } => {
                let w = lab.now().as_nanos() / self.window.as_nanos().max(1);
                self.roll_to(w);
                let ws = self.window.as_secs_f64();
                let value =
                    self.report.rows.iter().rev().find(|r| r.channel == 0).and_then(|r| metric.of_audio_window(r, ws));
                lab.send(Event::Experiment(super::experiment::ExperimentMsg::Value { probe, value }));
            }
            MonitorMsg::Missing(n) => {
                let w = self.window_of(n);
                self.roll_to(w);
                self.report.periods += 1;
                self.report.missing += 1;
                self.win_missing += 1;
                self.bad_period();
                let frames = self.period_starts.frames as usize;
                let zeros = vec![0.0; frames];
                self.captured(&zeros, &zeros);
            }
            MonitorMsg::Block(b) => {
                let w = self.window_of(b.n);
                self.roll_to(w);
                self.report.periods += 1;
                let inputs = b.inputs.len();
                for (ch, buf) in b.inputs.iter().enumerate() {
                    self.win_meters[ch].add(buf);
                    self.report.meters[ch].add(buf);
                }
                self.win_load.0 += b.dsp_load;
                self.win_load.1 += 1;
                self.load_sum += b.dsp_load;
                self.delivered += 1;
                self.report.dsp_load_max = self.report.dsp_load_max.max(b.dsp_load);
                if b.xrun {
                    self.report.xruns += 1;
                    self.win_xruns += 1;
                    self.bad_period();
                    let zeros = vec![0.0; b.out[0].len()];
                    self.captured(&zeros, &zeros);
                } else {
                    self.run = 0;
                    for k in 0..2 {
                        self.win_meters[inputs + k].add(&b.out[k]);
                        self.report.meters[inputs + k].add(&b.out[k]);
                    }
                    self.captured(&b.out[0], &b.out[1]);
                }
                lab.send(Event::Device(DeviceMsg::Returned(b)));
            }
        }
    }

    fn finish(&mut self, lab: &SimLab) -> AudioReport {
        let end = lab.now().as_nanos();
        let w = end.div_ceil(self.window.as_nanos().max(1));
        self.roll_to(w);
        self.report.dsp_load_mean = if self.delivered > 0 { self.load_sum / self.delivered as f64 } else { 0.0 };
        self.report.output_lufs =
            self.loudness.as_ref().and_then(|m| m.loudness_global().ok()).filter(|v| v.is_finite());
        if let Some(w) = self.recorder.take() {
            if let Err(e) = w.finalize() {
                self.report.record_error = Some(format!("cannot finish the recording: {e}"));
            }
        }
        let _ = self.channels;
        std::mem::take(&mut self.report)
    }
}

/// The device's supervisor: reopens the stream after a disconnect, escalates to the root when it fails
/// too often.
pub struct DeviceSupervisor {
    state: Supervisor,
    rng: SimRng,
    down_since: Option<SimTime>,
    /// Reopens and the total time the stream was gone.
    pub stats: (u64, SimDuration),
}

impl DeviceSupervisor {
    /// The supervisor of the device of `sc`.
    pub fn new(sc: &Scenario, seed: u64) -> Self {
        DeviceSupervisor {
            state: Supervisor::new(sc.device_supervisor.clone(), vec![RestartType::Permanent]),
            rng: crate::sim::stream(seed, "supervisor/device"),
            down_since: None,
            stats: (0, SimDuration::ZERO),
        }
    }

    fn reopen(&mut self, lab: &SimLab) {
        let now = lab.now();
        let since = self.down_since.take().unwrap_or(now);
        self.stats.0 += 1;
        self.stats.1 = self.stats.1 + (now - since);
        record(lab, "device", Ev::ActorRestart { downtime: now - since, stream_reopened: true });
        self.state.on_restarted(&[0]);
        lab.send(Event::Device(DeviceMsg::Reopen));
    }
}

impl Behavior for DeviceSupervisor {
    type Msg = DeviceSupMsg;
    type Event = Event;
    type Report = (u64, SimDuration);

    fn handle(&mut self, msg: DeviceSupMsg, lab: &SimLab) {
        let now = lab.now();
        match msg {
            DeviceSupMsg::Crashed { reason, down_for } => {
                self.down_since.get_or_insert(now);
                record(lab, "device", Ev::ActorCrash { reason: reason.to_string() });
                match self.state.on_exit(now, 0, true) {
                    Decision::Restart { nth, .. } => {
                        let delay = match &self.state.spec().backoff {
                            Some(b) => b.delay(nth, self.rng.random::<f64>()),
                            None => SimDuration::ZERO,
                        };
                        lab.schedule(now + delay.max(down_for), Event::DeviceSup(DeviceSupMsg::ReopenDue));
                    }
                    Decision::Escalate { restarts, .. } => {
                        let spec = self.state.spec();
                        let reason = format!(
                            "{restarts} reopens within {} exceed the intensity {}: device supervisor gives up",
                            spec.period, spec.intensity
                        );
                        record(lab, "device", Ev::SupervisorEscalate { reason: reason.clone() });
                        lab.send(Event::Root(super::RootMsg::Escalate { subtree: 1, reason: reason.into() }));
                    }
                    Decision::LeaveDown => {}
                }
            }
            DeviceSupMsg::ReopenDue => self.reopen(lab),
            DeviceSupMsg::RestartSubtree => {
                self.state.restart_all();
                if self.down_since.is_some() {
                    self.reopen(lab);
                }
            }
        }
    }

    fn finish(&mut self, lab: &SimLab) -> (u64, SimDuration) {
        if let Some(since) = self.down_since.take() {
            self.stats.1 = self.stats.1 + (lab.now() - since);
        }
        self.stats
    }
}
