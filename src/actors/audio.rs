//! The audio path: the AG06 device (its converters and its USB stream), the mixer (the DSP), the audio
//! monitor (levels, xruns, dropouts, loudness, recording) and the device's supervisor.
//!
//! ```text
//!  Device ──Block──▶ Mixer ──Block──▶ AudioMonitor ══steps══▶ lane ──done blocks──▶ Device
//!         ─Missing─▶       ─Missing─▶                 (one cycle per period; a missing period: a step)
//! ```
//! One period is `buffer_frames / sample_rate` of simulated time, exact to the nanosecond. The device
//! ([`device`]) produces it from the modelled AG06 or, in live mode, from a real interface; while the
//! device is unplugged its periods are missing. The actors decide, on the lab's thread, everything that
//! shapes the run; the sample work they hand over (the mixer's DSP, the monitor's meters, loudness and
//! recording) runs on the monitor's lane ([`lane`]), beside the lab where the run has a core to spare,
//! in the order it was handed over, so with the same bits either way.

pub(crate) mod backend;
pub(crate) mod device;
mod lane;

pub(crate) use device::{DeviceActor, DeviceMsg};

use std::path::PathBuf;

use rand::RngExt;

use super::{Event, SimLab, record};
use crate::dsp::meter::ChannelMeter;
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
    /// Input channels after the converters. One known to be silent (see `silent`) other than CH1 may have
    /// no samples: its frames are the outputs' count.
    pub inputs: Vec<Vec<f32>>,
    /// The computer's playback, the same on both sides (its sources are mono).
    pub playback: Vec<f32>,
    /// What the computer captures (stereo; if `mirrored`, the left side only).
    pub out: [Vec<f32>; 2],
    /// The bus's two sides are the same bits ([`crate::dsp::mixer::Mixer::mirrored`]): only `out[0]`
    /// was written, and it stands for both.
    pub mirrored: bool,
    /// The period missed its deadline.
    pub xrun: bool,
    /// Modelled processing time / period.
    pub dsp_load: f64,
    /// The computer captured bit-exact zeros (silence fault).
    pub captured_silence: bool,
    /// Clipped samples per channel: each input at its converter, then the two sides of the bus (beyond
    /// full scale, clamped by the USB stream). Each clipped sample is counted once, where it clipped.
    pub clipped: Vec<u32>,
    /// The inputs known to be digital silence (every sample +0.0) without reading them: a silent source
    /// through the converters. The mixer leaves them out of the bus and the meters count them unread (the
    /// same bits either way). Inputs past its end are not known to be.
    pub silent: Vec<bool>,
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
    /// A delivered block: `mixed` if the DSP already ran on it (live mode: in the callback).
    Block {
        /// The period.
        b: Box<AudioBlock>,
        /// Whether the mixer's DSP ran on it.
        mixed: bool,
    },
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

/// The behaviour of the mixer: it passes each period on to the monitor, and the monitor hands it to the
/// audio lane ([`lane`]), which runs the mixer's DSP on it before measuring it. The mixer's DSP does not
/// feed back into the run, so it runs beside the lab, in the order of the periods.
pub(crate) struct MixerActor;

impl Behavior for MixerActor {
    type Msg = MixerMsg;
    type Event = Event;
    type Report = ();

    fn handle(&mut self, msg: MixerMsg, lab: &SimLab) {
        match msg {
            MixerMsg::Block(b) => lab.send(Event::Monitor(MonitorMsg::Block { b, mixed: false })),
            MixerMsg::Missing(n) => lab.send(Event::Monitor(MonitorMsg::Missing(n))),
        }
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

/// The behaviour of the audio monitor: it counts periods, xruns, missing periods and dropouts and closes
/// the windows, on the lab's thread; its audio lane ([`lane`]) mixes, meters, measures the loudness and
/// records, step by step in the same order.
pub(crate) struct AudioMonitor {
    window: SimDuration,
    period_starts: Device,
    win: u64,
    win_xruns: u64,
    win_missing: u64,
    win_load: (f64, u64),
    report: AudioReport,
    run: u64,
    /// Taken when the run is over.
    lane: Option<lane::Lane>,
    load_sum: f64,
    delivered: u64,
}

impl AudioMonitor {
    /// A monitor of `device`, with windows of `window` until `end`, recording to `record` if given; the
    /// blocks it is done with go back to the device on `done`.
    pub(crate) fn new(
        device: &Device,
        window: SimDuration,
        end: SimTime,
        record: Option<PathBuf>,
        done: std::sync::mpsc::Sender<Box<AudioBlock>>,
    ) -> Self {
        // The meters, windows, audio.csv and loudness come from the lane when the run is over.
        let report = AudioReport {
            channels: device.channel_names(),
            period_s: device.period().as_secs_f64(),
            ..AudioReport::default()
        };
        let rows = crate::metrics::windows_until(end, window);
        AudioMonitor {
            window,
            period_starts: device.clone(),
            win: 0,
            win_xruns: 0,
            win_missing: 0,
            win_load: (0.0, 0),
            report,
            run: 0,
            lane: Some(lane::Lane::start(device, rows, record, done)),
            load_sum: 0.0,
            delivered: 0,
        }
    }

    fn lane(&mut self) -> &mut lane::Lane {
        self.lane.as_mut().expect("invariant: the monitor takes no message once finished")
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
        let dsp_load = (self.win_load.1 > 0).then(|| self.win_load.0 / self.win_load.1 as f64);
        let close = lane::Step::Close { t_s, xruns: self.win_xruns, missing: self.win_missing, dsp_load };
        self.lane().send(close);
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
                // The lane has the window's meters: waits for it to have measured every period before.
                let value = self.lane().last_row().and_then(|r| metric.of_audio_window(&r, ws));
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
                self.lane().send(lane::Step::Silence { frames });
            }
            MonitorMsg::Block { b, mixed } => {
                let w = self.window_of(b.n);
                self.roll_to(w);
                self.report.periods += 1;
                self.win_load.0 += b.dsp_load;
                self.win_load.1 += 1;
                self.load_sum += b.dsp_load;
                self.delivered += 1;
                self.report.dsp_load_max = self.report.dsp_load_max.max(b.dsp_load);
                if b.xrun {
                    self.report.xruns += 1;
                    self.win_xruns += 1;
                    self.bad_period();
                } else {
                    self.run = 0;
                }
                self.lane().send(lane::Step::Block { b, mix: !mixed });
            }
        }
    }

    fn finish(&mut self, lab: &SimLab) -> AudioReport {
        let end = lab.now().as_nanos();
        let w = end.div_ceil(self.window.as_nanos().max(1));
        self.roll_to(w);
        self.report.dsp_load_mean = if self.delivered > 0 { self.load_sum / self.delivered as f64 } else { 0.0 };
        let m = self.lane.take().expect("invariant: the monitor finishes once").finish();
        self.report.meters = m.meters;
        self.report.windows = m.windows;
        self.report.csv = Some(m.csv);
        match m.output_lufs {
            Ok(lufs) => self.report.output_lufs = lufs.filter(|v| v.is_finite()),
            Err(e) => self.report.loudness_error = Some(e),
        }
        self.report.record_error = m.record_error;
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
