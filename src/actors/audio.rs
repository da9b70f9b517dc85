//! The audio path: the AG06 device (its converters and its USB stream), the mixer (the DSP), the audio
//! monitor (levels, xruns, dropouts, loudness, recording) and the device's supervisor.
//!
//! ```text
//!  Device ──Block──▶ Mixer ──Block──▶ AudioMonitor ──Returned──▶ Device   (one cycle per period)
//!         ─Missing─▶       ─Missing─▶                                   (a period the device missed)
//! ```
//! One period is `buffer_frames / sample_rate` of simulated time, exact to the nanosecond. The device
//! ([`device`]) produces it from the modelled AG06 or, in live mode, from a real interface; while the
//! device is unplugged its periods are missing.

pub(crate) mod backend;
pub(crate) mod device;

pub(crate) use device::{DeviceActor, DeviceMsg};

use std::path::PathBuf;

use rand::RngExt;

use super::{Event, SimLab, record};
use crate::dsp::meter::ChannelMeter;
use crate::dsp::mixer::Mixer;
use crate::model::event::Event as Ev;
use crate::scenario::Scenario;
use crate::scenario::device::Device;
use crate::sim::{Behavior, SimDuration, SimRng, SimTime};
use crate::supervision::{Decision, RestartType, Supervisor};

/// One period of audio on its way through the path.
#[derive(Debug)]
pub(crate) struct AudioBlock {
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
    /// Clipped samples per channel: each input at its converter, then the two sides of the bus (beyond
    /// full scale, clamped by the USB stream). Each clipped sample is counted once, where it clipped.
    pub clipped: Vec<u32>,
}

/// Messages to the mixer.
#[derive(Debug)]
pub(crate) enum MixerMsg {
    /// Mix a block.
    Block(Box<AudioBlock>),
    /// Period `n` is missing: passed on to the monitor, behind the blocks before it.
    Missing(u64),
}

/// Messages to the audio monitor.
#[derive(Debug)]
pub(crate) enum MonitorMsg {
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
pub(crate) enum DeviceSupMsg {
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
    /// The stream is open again.
    Reopened,
    /// A reopen failed (the interface is still gone): try again after the retry delay, without counting
    /// it as a new crash.
    ReopenFailed {
        /// Why.
        reason: Box<str>,
    },
    /// The root terminates the subtree: the stream is closed until the root restarts it.
    TerminateSubtree {
        /// Why.
        reason: Box<str>,
    },
}

/// The behaviour of the mixer.
pub(crate) struct MixerActor {
    mixer: Mixer,
}

impl MixerActor {
    /// The mixer of `device`.
    pub(crate) fn new(device: &Device) -> Self {
        MixerActor { mixer: Mixer::new(device.mixer(), f64::from(device.rate_hz)) }
    }
}

impl Behavior for MixerActor {
    type Msg = MixerMsg;
    type Event = Event;
    type Report = ();

    fn handle(&mut self, msg: MixerMsg, lab: &SimLab) {
        let mut b = match msg {
            MixerMsg::Block(b) => b,
            MixerMsg::Missing(n) => return lab.send(Event::Monitor(MonitorMsg::Missing(n))),
        };
        let n0 = b.n * b.out[0].len() as u64;
        let AudioBlock { inputs, playback, out, clipped, .. } = &mut *b;
        let [l, r] = out;
        let bus = self.mixer.process(n0, inputs, [&playback[0], &playback[1]], [l, r]);
        let k = inputs.len();
        clipped.resize(k + 2, 0);
        clipped[k] = bus[0];
        clipped[k + 1] = bus[1];
        if b.captured_silence {
            b.out[0].fill(0.0);
            b.out[1].fill(0.0);
        }
        lab.send(Event::Monitor(MonitorMsg::Block(b)));
    }

    fn finish(&mut self, _lab: &SimLab) {}
}

/// One channel's measures over one window (a row of audio.csv).
#[derive(Clone, Debug, PartialEq)]
pub struct AudioRow {
    /// Window start [s].
    pub t_s: f64,
    /// Channel index (into [`AudioReport::channels`]).
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

impl AudioRow {
    /// The row of `audio.csv`, for the channel named `name` (levels rounded to a thousandth of a dB).
    pub fn csv_row(&self, name: &str) -> crate::model::rows::AudioRow {
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        crate::model::rows::AudioRow {
            t_s: self.t_s,
            channel: name.to_string(),
            peak_dbfs: self.meter.peak_dbfs().map(round),
            rms_dbfs: self.meter.rms_dbfs().map(round),
            clipped: self.meter.clipped,
            xruns: self.xruns,
            dsp_load: self.dsp_load,
            missing: self.missing,
            zero_blocks: self.meter.zero_blocks,
        }
    }
}

/// What the audio monitor hands back.
#[derive(Debug, Default)]
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
    pub dsp_load_max: f64,
    /// Integrated loudness of what the computer captured [LUFS] (`None`: too short or silent).
    pub output_lufs: Option<f64>,
    /// One row per window, of the first channel: its meter and the device-wide figures (xruns, missing
    /// periods, DSP load), what objectives and probes read.
    pub windows: Vec<AudioRow>,
    /// `audio.csv`, one row per window per channel, written as the run goes (not held in memory); taken
    /// by the run's bundle.
    pub csv: Option<crate::model::rows::CsvSpool<crate::model::rows::AudioRow>>,
    /// A recording problem, if any.
    pub record_error: Option<String>,
    /// The loudness meter's gating blocks, spilled to a temporary file, could not be read back (so
    /// `output_lufs` is unknown): the run's bundle reports it.
    pub loudness_error: Option<std::io::Error>,
}

/// The behaviour of the audio monitor.
pub(crate) struct AudioMonitor {
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
    loudness: crate::dsp::loudness::Loudness,
    interleaved: Vec<f32>,
    zeros: Vec<f32>,
    recorder: Option<hound::WavWriter<std::io::BufWriter<std::fs::File>>>,
    load_sum: f64,
    delivered: u64,
}

impl AudioMonitor {
    /// A monitor of `device`, with windows of `window` until `end`, recording to `record` if given.
    pub(crate) fn new(device: &Device, window: SimDuration, end: SimTime, record: Option<PathBuf>) -> Self {
        let channels = device.inputs.len() + 2;
        let loudness = crate::dsp::loudness::Loudness::new(device.rate_hz);
        let mut report = AudioReport {
            channels: device.channel_names(),
            meters: vec![ChannelMeter::default(); channels],
            period_s: device.period().as_secs_f64(),
            csv: Some(crate::model::rows::CsvSpool::new()),
            ..AudioReport::default()
        };
        // A row per window, room made up front (not reallocated as it grows).
        crate::metrics::reserve_windows(&mut report.windows, crate::metrics::windows_until(end, window), 1);
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
            zeros: Vec::new(),
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
            let row = AudioRow {
                t_s,
                channel: ch,
                meter: std::mem::take(m),
                xruns: self.win_xruns,
                missing: self.win_missing,
                dsp_load: load,
            };
            if let Some(csv) = &mut self.report.csv {
                csv.push(&row.csv_row(&self.report.channels[ch]));
            }
            if ch == 0 {
                self.report.windows.push(row);
            }
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

    /// Measures one block of channel `ch` once, into its window's meter and the whole run's.
    fn meter(&mut self, ch: usize, buf: &[f32], clipped: u64) {
        let mut m = ChannelMeter::default();
        m.add(buf);
        m.clipped = clipped;
        self.win_meters[ch].merge(&m);
        self.report.meters[ch].merge(&m);
    }

    /// The computer captured `frames` of nothing (a late or missing period).
    fn captured_silence(&mut self, frames: usize) {
        let mut zeros = std::mem::take(&mut self.zeros);
        zeros.resize(frames, 0.0);
        self.captured(&zeros, &zeros);
        self.zeros = zeros;
    }

    /// Feeds what the computer captured to the loudness meter and the recording.
    fn captured(&mut self, l: &[f32], r: &[f32]) {
        self.loudness.add(l, r);
        if let Some(w) = &mut self.recorder {
            self.interleaved.clear();
            self.interleaved.extend(l.iter().zip(r).flat_map(|(a, b)| [*a, *b]));
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
                let value = self.report.windows.last().and_then(|r| metric.of_audio_window(r, ws));
                lab.send(Event::Experiment(super::experiment::ExperimentMsg::Value { probe, value }));
            }
            MonitorMsg::Missing(n) => {
                let w = self.window_of(n);
                self.roll_to(w);
                self.report.periods += 1;
                self.report.missing += 1;
                self.win_missing += 1;
                self.bad_period();
                self.captured_silence(self.period_starts.frames as usize);
            }
            MonitorMsg::Block(b) => {
                let w = self.window_of(b.n);
                self.roll_to(w);
                self.report.periods += 1;
                let inputs = b.inputs.len();
                for (ch, buf) in b.inputs.iter().enumerate() {
                    let clipped = u64::from(b.clipped.get(ch).copied().unwrap_or(0));
                    self.meter(ch, buf, clipped);
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
                    self.captured_silence(b.out[0].len());
                } else {
                    self.run = 0;
                    for k in 0..2 {
                        let clipped = u64::from(b.clipped.get(inputs + k).copied().unwrap_or(0));
                        self.meter(inputs + k, &b.out[k], clipped);
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
        match self.loudness.integrated() {
            Ok(lufs) => self.report.output_lufs = lufs.filter(|v| v.is_finite()),
            Err(e) => self.report.loudness_error = Some(e),
        }
        if let Some(w) = self.recorder.take() {
            if let Err(e) = w.finalize() {
                self.report.record_error = Some(format!("cannot finish the recording: {e}"));
            }
        }
        let _ = self.channels;
        std::mem::take(&mut self.report)
    }
}

/// How long the device supervisor waits before trying a failed reopen again, without a backoff.
pub(crate) const REOPEN_RETRY: SimDuration = SimDuration::from_millis(250);

/// The device's supervisor: reopens the stream after a disconnect or a loss (retrying a failed reopen
/// until the run ends: a device that is still gone is not a new crash), escalates to the root when the
/// stream fails too often.
pub(crate) struct DeviceSupervisor {
    state: Supervisor,
    rng: SimRng,
    down_since: Option<SimTime>,
    /// Failed reopens in a row.
    attempts: u32,
    /// Reopens and the total time the stream was gone.
    pub stats: (u64, SimDuration),
}

impl DeviceSupervisor {
    /// The supervisor of the device of `sc`.
    pub(crate) fn new(sc: &Scenario, seed: u64) -> Self {
        DeviceSupervisor {
            state: Supervisor::new(sc.device_supervisor.clone(), vec![RestartType::Permanent]),
            rng: crate::sim::stream(seed, "supervisor/device"),
            down_since: None,
            attempts: 0,
            stats: (0, SimDuration::ZERO),
        }
    }

    /// Asks the device to reopen its stream (it answers `Reopened` or `ReopenFailed`).
    fn reopen(&mut self, lab: &SimLab) {
        lab.send(Event::Device(DeviceMsg::Reopen));
    }

    /// The stream is open again.
    fn reopened(&mut self, lab: &SimLab) {
        let now = lab.now();
        let since = self.down_since.take().unwrap_or(now);
        self.stats.0 += 1;
        self.stats.1 = self.stats.1 + (now - since);
        self.attempts = 0;
        record(lab, "device", Ev::ActorRestart { downtime: now - since, stream_reopened: true });
        self.state.on_restarted(&[0]);
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
            DeviceSupMsg::Reopened => self.reopened(lab),
            DeviceSupMsg::ReopenFailed { reason } => {
                tracing::debug!(%reason, "device reopen failed");
                self.attempts += 1;
                let delay = match &self.state.spec().backoff {
                    Some(b) => b.delay(self.attempts, self.rng.random::<f64>()),
                    None => REOPEN_RETRY,
                };
                lab.schedule_daemon(now + delay, Event::DeviceSup(DeviceSupMsg::ReopenDue));
            }
            DeviceSupMsg::RestartSubtree => {
                self.state.restart_all();
                if self.down_since.is_some() {
                    self.reopen(lab);
                }
            }
            DeviceSupMsg::TerminateSubtree { reason } => {
                if self.state.is_running(0) {
                    self.down_since.get_or_insert(now);
                    record(lab, "device", Ev::ActorStop { reason: reason.to_string() });
                    lab.send(Event::Device(DeviceMsg::Shutdown));
                }
                self.state.terminate_all();
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
