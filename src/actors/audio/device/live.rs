//! The live device: a real interface's callbacks ([`AudioBackend`]), collected every [`LIVE_POLL`].

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Core, Effects, Stream};
use crate::actors::audio::backend::{AudioBackend, LiveMeter, Period};
use crate::actors::audio::{AudioBlock, DeviceSupMsg, MonitorMsg};
use crate::actors::gauges::Gauges;
use crate::actors::{Event, SimLab, record};
use crate::model::event::Event as Ev;
use crate::scenario::device::Device;
use crate::sim::{SimDuration, SimTime};

/// How often live mode collects the periods the audio callbacks completed.
pub(super) const LIVE_POLL: SimDuration = SimDuration::from_millis(2);

/// The device of live mode: its periods come from the callbacks of a real interface, and the DSP has
/// already run in them.
///
/// Missing periods are the periods of the stream's own clock (the callbacks' timestamps) that had no
/// callback: the deficit of callbacks against the clock, taken once the host has caught up (a callback
/// that comes late and is followed by early ones, as a sleep-timed host does, loses nothing).
///
/// The interface is **lost** when the host reports an error that ends the stream, or when no callback
/// came for max(4 periods, [`SILENT_FOR`]) while the stream should run: from then the periods that pass
/// by the real clock are missing, the device crashes into its supervisor, which reopens the stream (the
/// device found again by name) with its backoff until the run ends, and the first callback after that
/// restores it.
pub(crate) struct Live {
    backend: Box<dyn AudioBackend>,
    meter: LiveMeter,
    /// The metrics endpoint's counters.
    gauges: Option<Arc<Gauges>>,
    /// The stream clock since the stream (re)started: its first callback's timestamp.
    origin: Option<u64>,
    /// Callbacks since the stream (re)started.
    received: u64,
    /// The deficit of the last callback, counted once the host is no longer catching up.
    pending_deficit: u64,
    /// Of the deficit, what is already counted as missing.
    counted: u64,
    /// When the last callback arrived (lab time), to see a stream that stopped.
    last_callback: SimTime,
    /// Lost at this instant; restored at the first callback after a reopen.
    lost_at: Option<SimTime>,
}

/// No callback for this long (or 4 periods, if longer) while the stream should run: the device is lost (a
/// stream that has not delivered its first few callbacks yet gets a second).
pub(crate) const SILENT_FOR: SimDuration = SimDuration::from_millis(50);

impl Live {
    /// `spec` on `backend`, counted in `gauges`.
    pub(crate) fn new(spec: &Device, backend: Box<dyn AudioBackend>, gauges: Option<Arc<Gauges>>) -> Self {
        Live {
            backend,
            meter: LiveMeter::new(spec.rate_hz, spec.frames),
            gauges,
            origin: None,
            received: 0,
            pending_deficit: 0,
            counted: 0,
            last_callback: SimTime::ZERO,
            lost_at: None,
        }
    }

    fn missing(&self, core: &mut Core, lab: &SimLab) {
        // The callbacks' blocks go straight to the monitor (the DSP ran in them): so does a missing period.
        lab.send(Event::Monitor(MonitorMsg::Missing(core.missing())));
        if let Some(g) = &self.gauges {
            g.missing.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts as missing the deficit not counted yet.
    fn commit_deficit(&mut self, core: &mut Core, lab: &SimLab) {
        while self.counted < self.pending_deficit {
            self.counted += 1;
            self.missing(core, lab);
        }
    }

    /// The stream is gone: close it and crash into the supervisor.
    fn lose(&mut self, core: &mut Core, cause: String, lab: &SimLab) {
        let now = lab.now();
        self.commit_deficit(core, lab);
        core.up = false;
        core.down_at = now;
        self.origin = None;
        self.backend.close();
        // A stream reopened that never delivered is the same loss going on: one device_lost, its start kept.
        if self.lost_at.is_none() {
            self.lost_at = Some(now);
            record(lab, "device", Ev::DeviceLost { cause: cause.clone() });
        }
        let reason = format!("device lost: {cause}").into();
        lab.send(Event::DeviceSup(DeviceSupMsg::Crashed { reason, down_for: SimDuration::ZERO }));
    }

    /// One callback's period, `p`, with its metered samples.
    fn period(&mut self, core: &mut Core, p: Period, m: [Vec<f32>; 4], lab: &SimLab) {
        let period_ns = core.spec.period().as_nanos().max(1);
        self.meter.add(&p);
        if let Some(g) = &self.gauges {
            let load = (p.proc_ns as f64 / period_ns as f64 * 1e6) as u64;
            g.callbacks.fetch_add(1, Ordering::Relaxed);
            g.xruns.fetch_add(u64::from(p.xrun), Ordering::Relaxed);
            g.underruns.fetch_add(u64::from(p.underrun), Ordering::Relaxed);
            g.dsp_load_ppm.store(load, Ordering::Relaxed);
            g.dsp_load_max_ppm.fetch_max(load, Ordering::Relaxed);
        }
        // The periods of the stream's clock that had no callback: count the deficit once the host is
        // not catching up (this callback came at least half a period after the previous one).
        let t0 = *self.origin.get_or_insert(p.at_ns);
        let elapsed = p.at_ns.saturating_sub(t0) / period_ns;
        let steady = p.interval_ns * 2 >= period_ns;
        if steady {
            self.commit_deficit(core, lab);
        }
        self.pending_deficit = elapsed.saturating_sub(self.received).max(self.counted);
        self.received += 1;
        let [c1, c2, l, r] = m;
        let mut b = core.block(|| AudioBlock {
            n: 0,
            inputs: vec![Vec::new(); 2],
            playback: Vec::new(),
            out: [Vec::new(), Vec::new()],
            xrun: false,
            mirrored: false,
            dsp_load: 0.0,
            captured_silence: false,
            clipped: vec![0; 4],
            silent: Vec::new(),
        });
        b.n = core.n;
        b.silent.clear();
        core.n += 1;
        b.inputs.resize(2, Vec::new());
        b.inputs[0] = c1;
        b.inputs[1] = c2;
        b.out = [l, r];
        b.xrun = p.xrun || p.underrun;
        b.dsp_load = p.proc_ns as f64 / period_ns as f64;
        b.captured_silence = core.effects.silence;
        b.clipped.clear();
        b.clipped.extend(p.clipped);
        if !b.xrun {
            core.on_time(lab);
        }
        lab.send(Event::Monitor(MonitorMsg::Block { b, mixed: true }));
    }
}

impl Stream for Live {
    fn tick(&mut self, core: &mut Core, lab: &SimLab) {
        let now = lab.now();
        if now >= lab.limits().stop_at {
            self.commit_deficit(core, lab);
            return;
        }
        lab.schedule_daemon(now + LIVE_POLL, Event::Device(super::DeviceMsg::Tick));
        if let Some(g) = &self.gauges {
            g.now_ns.store(now.as_nanos(), Ordering::Relaxed);
        }
        let period = core.spec.period();
        // Every period that should have been played by now.
        let due = now.as_nanos() / period.as_nanos().max(1);
        if !core.up {
            // Gone: every period that passes is missing.
            while core.n < due {
                self.missing(core, lab);
            }
            return;
        }
        let mut periods = Vec::new();
        self.backend.poll(&mut |p, m| {
            // A period whose samples the meter ring had no room for is metered as silence (the ring holds
            // over a second and is drained every LIVE_POLL, so this takes a stalled lab thread).
            let take =
                |b: &Vec<f32>| if b.len() == p.frames as usize { b.clone() } else { vec![0.0; p.frames as usize] };
            periods.push((p, [take(&m[0]), take(&m[1]), take(&m[2]), take(&m[3])]));
        });
        if !periods.is_empty() {
            self.last_callback = now;
            if let Some(lost) = self.lost_at.take() {
                // Audio again: the periods of the clock before these callbacks were missing (reopening
                // may have held this actor for a while).
                let behind = due.saturating_sub(periods.len() as u64);
                while core.n < behind {
                    self.missing(core, lab);
                }
                record(lab, "device", Ev::DeviceRestored { downtime: now - lost });
            }
        }
        if periods.is_empty() && self.lost_at.is_some() {
            // Reopened, but no audio yet: the loss goes on until the first callback.
            while core.n < due {
                self.missing(core, lab);
            }
        }
        for (p, m) in periods {
            self.period(core, p, m, lab);
        }
        // A stream that is starting (before its first few callbacks) gets a second: hosts take a while to
        // fill their buffers, with gaps between the first callbacks.
        let settling = self.received < crate::live::engine::SETTLING_CALLBACKS;
        let silent_for = if settling {
            SimDuration::from_secs(1)
        } else {
            SimDuration::from_nanos(period.as_nanos() * 4).max(SILENT_FOR)
        };
        if let Some(e) = self.backend.fatal_error() {
            self.lose(core, format!("the host reported: {e}"), lab);
        } else if now - self.last_callback > silent_for {
            let cause = format!("no callback for {} (the stream stopped)", now - self.last_callback);
            self.lose(core, cause, lab);
        }
    }

    /// Hands the faults the callback implements to it.
    fn faults_changed(&mut self, core: &Core, _before: &Effects) {
        let e = &core.effects;
        self.backend.set_faults(e.stall, e.silence, e.clip_gain);
    }

    fn close(&mut self) {
        self.origin = None;
        self.backend.close();
    }

    fn reopen(&mut self) -> Result<(), String> {
        self.backend.reopen()
    }

    /// Reopened: callbacks should come from now on (the silence check starts over).
    fn reopened(&mut self, core: &mut Core, lab: &SimLab) {
        self.origin = None;
        self.received = 0;
        self.pending_deficit = 0;
        self.counted = 0;
        self.last_callback = lab.now();
        let _ = core;
    }

    fn finish(&mut self, now: SimTime) -> Option<super::LiveOutput> {
        let info = self.backend.info();
        self.backend.close();
        let report = self.meter.finish(info, now.as_secs_f64());
        Some(super::LiveOutput { report, dsp_time: self.meter.processing().clone() })
    }
}
