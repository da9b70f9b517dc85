//! The live device: a real interface's callbacks ([`AudioBackend`]), collected every [`LIVE_POLL`].

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Core, Effects, Stream};
use crate::actors::audio::backend::{AudioBackend, LiveMeter};
use crate::actors::audio::{AudioBlock, MonitorMsg};
use crate::actors::gauges::Gauges;
use crate::actors::{Event, SimLab};
use crate::model::summary::LiveReport;
use crate::scenario::device::Device;
use crate::sim::{SimDuration, SimTime};

/// How often live mode collects the periods the audio callbacks completed.
pub(super) const LIVE_POLL: SimDuration = SimDuration::from_millis(2);

/// The device of live mode: its periods come from the callbacks of a real interface, and the DSP has
/// already run in them.
pub(crate) struct Live {
    backend: Box<dyn AudioBackend>,
    meter: LiveMeter,
    /// Periods the late callbacks skipped, not yet counted as missing.
    lag: f64,
    /// The metrics endpoint's counters.
    gauges: Option<Arc<Gauges>>,
}

impl Live {
    /// `spec` on `backend`, counted in `gauges`.
    pub(crate) fn new(spec: &Device, backend: Box<dyn AudioBackend>, gauges: Option<Arc<Gauges>>) -> Self {
        Live { backend, meter: LiveMeter::new(spec.rate_hz, spec.frames), lag: 0.0, gauges }
    }

    fn missing(&self, core: &mut Core, lab: &SimLab) {
        core.missing(lab);
        if let Some(g) = &self.gauges {
            g.missing.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Stream for Live {
    fn tick(&mut self, core: &mut Core, lab: &SimLab) {
        if lab.now() >= lab.limits().stop_at {
            return;
        }
        lab.schedule_daemon(lab.now() + LIVE_POLL, Event::Device(super::DeviceMsg::Tick));
        if let Some(g) = &self.gauges {
            g.now_ns.store(lab.now().as_nanos(), Ordering::Relaxed);
        }
        let period_ns = core.spec.period().as_nanos().max(1);
        if !core.up {
            // Gone: every period that should have been played is missing.
            let due = lab.now().as_nanos() / period_ns;
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
        let period_ns = period_ns as f64;
        for (p, [c1, c2, l, r]) in periods {
            self.meter.add(&p);
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
                self.lag += p.interval_ns as f64 / period_ns - 1.0;
                while self.lag >= 1.0 {
                    self.lag -= 1.0;
                    self.missing(core, lab);
                }
            }
            let mut b = core.block(|| AudioBlock {
                n: 0,
                inputs: vec![Vec::new(); 2],
                playback: [Vec::new(), Vec::new()],
                out: [Vec::new(), Vec::new()],
                xrun: false,
                dsp_load: 0.0,
                captured_silence: false,
                clipped: vec![0; 4],
            });
            b.n = core.n;
            core.n += 1;
            b.inputs.resize(2, Vec::new());
            b.inputs[0] = c1;
            b.inputs[1] = c2;
            b.out = [l, r];
            b.xrun = p.xrun || p.underrun;
            b.dsp_load = p.proc_ns as f64 / period_ns;
            b.captured_silence = core.effects.silence;
            b.clipped.clear();
            b.clipped.extend(p.clipped);
            if !b.xrun {
                core.on_time(lab);
            }
            lab.send(Event::Monitor(MonitorMsg::Block(b)));
        }
    }

    /// Hands the faults the callback implements to it.
    fn faults_changed(&mut self, core: &Core, _before: &Effects) {
        let e = &core.effects;
        self.backend.set_faults(e.stall, e.silence, e.clip_gain);
    }

    fn close(&mut self) {
        self.backend.close();
    }

    fn reopen(&mut self) -> Result<(), String> {
        self.backend.reopen()
    }

    fn finish(&mut self, now: SimTime) -> Option<LiveReport> {
        let info = self.backend.info();
        self.backend.close();
        Some(self.meter.finish(info, now.as_secs_f64()))
    }
}
