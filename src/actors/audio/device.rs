//! The device actor: the AG06's stream as the rest of the run sees it (periods, faults, disconnects),
//! over one of two [`Stream`]s: the [`Modelled`] device of a simulated run (sources, converters, the
//! stream's clock) or the [`Live`] device of live mode (a real interface's callbacks).

mod live;
mod modelled;

use std::sync::Arc;

use super::{AudioBlock, DeviceSupMsg};
use crate::actors::gauges::Gauges;
use crate::actors::{ChaosMsg, Event, SimLab};
use crate::dsp::db_to_lin;
use crate::model::summary::LiveReport;
use crate::scenario::device::Device;
use crate::scenario::{FaultEffect, Scenario};
use crate::sim::{Behavior, SimDuration, SimTime};

use super::backend::AudioBackend;
pub(crate) use live::Live;
pub(crate) use modelled::Modelled;

/// Messages to the device.
#[derive(Debug)]
pub(crate) enum DeviceMsg {
    /// Period boundary (live mode: time to collect the completed periods).
    Tick,
    /// A device fault starts.
    FaultOn {
        /// Index of the fault in the scenario.
        fault: u32,
        /// What it does.
        effect: FaultEffect,
    },
    /// A device fault ends.
    FaultOff {
        /// Index of the fault in the scenario.
        fault: u32,
    },
    /// USB unplugged: the stream is gone for at least `down_for`.
    Disconnect {
        /// Minimum downtime.
        down_for: SimDuration,
    },
    /// The supervisor reopens the stream.
    Reopen,
    /// The supervisor closes the stream (its parent terminates the subtree).
    Shutdown,
    /// Report the first on-time period after now to the chaos injector (fault `fault` ended).
    WatchRecovery {
        /// Index of the fault in the scenario.
        fault: u32,
    },
}

/// What the active device faults add up to.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Effects {
    /// Busy time added to every period's processing.
    pub stall: SimDuration,
    /// Probability that a period is an xrun regardless of its processing time.
    pub storm: f64,
    /// Host frames consumed per device frame produced (1 = in sync).
    pub ratio: f64,
    /// The device clock's error [ppm, positive: fast].
    pub ppm: f64,
    /// The computer captures bit-exact zeros.
    pub silence: bool,
    /// Gain before the converters clip.
    pub clip_gain: f64,
}

impl Effects {
    const NONE: Effects =
        Effects { stall: SimDuration::ZERO, storm: 0.0, ratio: 1.0, ppm: 0.0, silence: false, clip_gain: 1.0 };

    fn of(active: &[(u32, FaultEffect)], device_rate: u32) -> Effects {
        let mut e = Effects::NONE;
        let mut ok = 1.0;
        for (_, f) in active {
            match f {
                FaultEffect::CpuStall { add } => e.stall = e.stall + *add,
                FaultEffect::XrunStorm { rate } => ok *= 1.0 - rate,
                FaultEffect::SampleRateMismatch { host_rate_hz } => {
                    e.ratio *= f64::from(*host_rate_hz) / f64::from(device_rate)
                }
                FaultEffect::ClockDrift { ppm } => e.ppm += ppm,
                FaultEffect::Silence => e.silence = true,
                FaultEffect::Clipping { gain_db } => e.clip_gain *= db_to_lin(*gain_db),
                _ => {}
            }
        }
        e.storm = 1.0 - ok;
        e
    }
}

/// The device's state that does not depend on where its periods come from.
pub(crate) struct Core {
    /// The device of the scenario.
    pub spec: Device,
    /// The stream is open (not unplugged).
    pub up: bool,
    /// When the stream last went away.
    pub down_at: SimTime,
    /// The next period's number.
    pub n: u64,
    active: Vec<(u32, FaultEffect)>,
    /// What the active faults add up to.
    pub effects: Effects,
    /// Blocks the audio lane is done with, for reuse (they travel as boxes).
    done: std::sync::mpsc::Receiver<Box<AudioBlock>>,
    watch: Vec<u32>,
}

impl Core {
    /// A block for the next period: one the audio lane is done with, or one made by `make`.
    pub(crate) fn block(&mut self, make: impl FnOnce() -> AudioBlock) -> Box<AudioBlock> {
        let mut b = self.done.try_recv().unwrap_or_else(|_| Box::new(make()));
        b.xrun = false;
        b.mirrored = false;
        b.captured_silence = false;
        b
    }

    /// The period just produced was on time: the faults waiting for that have recovered.
    pub(crate) fn on_time(&mut self, lab: &SimLab) {
        for fault in self.watch.drain(..) {
            lab.send(Event::Chaos(ChaosMsg::Recovered { fault }));
        }
    }

    /// The next period is missing: its number, for the stream to report on the path its blocks take (so
    /// that the monitor sees every period in order).
    pub(crate) fn missing(&mut self) -> u64 {
        self.n += 1;
        self.n - 1
    }
}

/// Where the device's periods come from.
pub(crate) trait Stream {
    /// A [`DeviceMsg::Tick`]: produce the periods that are due and schedule the next tick.
    fn tick(&mut self, core: &mut Core, lab: &SimLab);
    /// The active faults changed from `before` to `core.effects`.
    fn faults_changed(&mut self, core: &Core, before: &Effects);
    /// The stream is unplugged.
    fn close(&mut self);
    /// The supervisor reopens the stream; the error says why it cannot.
    fn reopen(&mut self) -> Result<(), String>;
    /// The stream is open again (callbacks resume at once).
    fn reopened(&mut self, _core: &mut Core, _lab: &SimLab) {}
    /// What live mode measured (nothing for the modelled device).
    fn finish(&mut self, now: SimTime) -> Option<LiveOutput>;
}

/// What live mode measured: the report, and the time of each callback (for `dsp_time.hdr`).
#[derive(Debug)]
pub(crate) struct LiveOutput {
    pub report: LiveReport,
    pub dsp_time: hdrhistogram::Histogram<u64>,
}

/// The behaviour of the device.
pub(crate) struct DeviceActor {
    core: Core,
    stream: Box<dyn Stream>,
}

impl DeviceActor {
    /// The modelled device of `sc` (which has one), its random streams derived from `seed`; the blocks
    /// the audio lane is done with come back on `done`.
    pub(crate) fn new(sc: &Scenario, seed: u64, done: std::sync::mpsc::Receiver<Box<AudioBlock>>) -> Self {
        let spec = sc.device.clone().expect("invariant: the device actor exists only with a [device] section");
        let stream = Box::new(Modelled::new(&spec, seed));
        DeviceActor {
            core: Core {
                spec,
                up: true,
                down_at: SimTime::ZERO,
                n: 0,
                active: Vec::new(),
                effects: Effects::NONE,
                done,
                watch: Vec::new(),
            },
            stream,
        }
    }

    /// The device backed by a real interface (live mode): its periods come from `backend`'s callbacks,
    /// and the DSP has already run in them.
    pub(crate) fn with_backend(mut self, backend: Box<dyn AudioBackend>, gauges: Option<Arc<Gauges>>) -> Self {
        self.stream = Box::new(Live::new(&self.core.spec, backend, gauges));
        self
    }

    /// Puts the first tick on the calendar.
    pub(crate) fn schedule(&self, lab: &SimLab) {
        lab.schedule_daemon(SimTime::ZERO, Event::Device(DeviceMsg::Tick));
    }

    fn change_faults(&mut self, change: impl FnOnce(&mut Vec<(u32, FaultEffect)>)) {
        let before = self.core.effects;
        change(&mut self.core.active);
        self.core.effects = Effects::of(&self.core.active, self.core.spec.rate_hz);
        self.stream.faults_changed(&self.core, &before);
    }
}

impl Behavior for DeviceActor {
    type Msg = DeviceMsg;
    type Event = Event;
    type Report = Option<LiveOutput>;

    fn handle(&mut self, msg: DeviceMsg, lab: &SimLab) {
        match msg {
            DeviceMsg::Tick => self.stream.tick(&mut self.core, lab),
            DeviceMsg::FaultOn { fault, effect } => self.change_faults(|a| a.push((fault, effect))),
            DeviceMsg::FaultOff { fault } => self.change_faults(|a| a.retain(|(f, _)| *f != fault)),
            DeviceMsg::Disconnect { down_for } => {
                if self.core.up {
                    self.core.up = false;
                    self.core.down_at = lab.now();
                    self.stream.close();
                    let reason = "USB disconnected: the stream is gone".into();
                    lab.send(Event::DeviceSup(DeviceSupMsg::Crashed { reason, down_for }));
                }
            }
            DeviceMsg::Shutdown => {
                if self.core.up {
                    self.core.up = false;
                    self.core.down_at = lab.now();
                    self.stream.close();
                }
            }
            DeviceMsg::Reopen => match self.stream.reopen() {
                Ok(()) => {
                    self.core.up = true;
                    lab.send(Event::DeviceSup(DeviceSupMsg::Reopened));
                    self.stream.reopened(&mut self.core, lab);
                }
                Err(e) => {
                    // Still gone: the supervisor tries again.
                    let reason = format!("cannot reopen the stream: {e}").into();
                    lab.send(Event::DeviceSup(DeviceSupMsg::ReopenFailed { reason }));
                }
            },
            DeviceMsg::WatchRecovery { fault } => self.core.watch.push(fault),
        }
    }

    fn finish(&mut self, lab: &SimLab) -> Option<LiveOutput> {
        self.stream.finish(lab.now())
    }
}
