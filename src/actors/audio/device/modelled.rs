//! The modelled AG06: its sources, its converters and the clock of its USB stream.

use rand::RngExt;

use super::{Core, Effects, Stream};
use crate::actors::audio::{AudioBlock, MixerMsg};
use crate::actors::{Event, SimLab};
use crate::dsp::source::Source;
use crate::model::summary::LiveReport;
use crate::scenario::device::Device;
use crate::sim::{SimDuration, SimRng, SimTime};

/// The device of a simulated run. One period is `buffer_frames / sample_rate` of simulated time on the
/// device's clock, produced when it ends (so a run never processes a period past its end), with the
/// faults in force when it began; its block is an xrun when its modelled processing time (`dsp_time` plus
/// injected stalls) exceeds the period, when an xrun storm hits it, or when host and device clocks have
/// slipped by a whole buffer (sample-rate mismatch, clock drift).
pub(crate) struct Modelled {
    sources: Vec<Source>,
    playback: Source,
    gains: Vec<f64>,
    /// Clock anchor: period `anchor_n` started at `anchor_t`; the clock's rate factor since then.
    anchor_n: u64,
    anchor_t: SimTime,
    /// Frames by which host and device have slipped since the last slip xrun.
    slip: f64,
    /// When the period in progress began (`None` before the first tick), and the faults then.
    began: Option<(SimTime, Effects)>,
    dsp_rng: SimRng,
    storm_rng: SimRng,
}

impl Modelled {
    /// The modelled `spec`, its random streams derived from `seed`.
    pub(crate) fn new(spec: &Device, seed: u64) -> Self {
        Modelled {
            sources: spec
                .inputs
                .iter()
                .enumerate()
                .map(|(i, s)| s.source.build(seed, &format!("device/ch{}", i + 1)))
                .collect(),
            playback: spec.playback.build(seed, "device/playback"),
            gains: spec.inputs.iter().map(|i| i.strip.input_gain()).collect(),
            anchor_n: 0,
            anchor_t: SimTime::ZERO,
            slip: 0.0,
            began: None,
            dsp_rng: crate::sim::stream(seed, "device/dsp_time"),
            storm_rng: crate::sim::stream(seed, "device/xrun_storm"),
        }
    }

    /// When period `n` starts on the device's clock (running `ppm` fast since the anchor).
    fn period_start(&self, spec: &Device, n: u64, ppm: f64) -> SimTime {
        let nominal = spec.period_start(n - self.anchor_n).as_nanos();
        let scaled = if ppm == 0.0 { nominal } else { (nominal as f64 / (1.0 + ppm * 1e-6)).round() as u64 };
        self.anchor_t + SimDuration::from_nanos(scaled)
    }

    /// Fills the inputs and the playback of period `n`: the converters saturate at full scale, and the
    /// samples that reached it are counted as clipped.
    fn fill(&mut self, core: &Core, e: &Effects, n: u64, b: &mut AudioBlock) {
        let rate = f64::from(core.spec.rate_hz);
        let n0 = n * u64::from(core.spec.frames);
        b.clipped.clear();
        b.clipped.resize(b.inputs.len() + 2, 0);
        for (ch, buf) in b.inputs.iter_mut().enumerate() {
            self.sources[ch].fill(n0, rate, buf);
            let g = (self.gains[ch] * e.clip_gain) as f32;
            if g != 1.0 {
                for s in buf.iter_mut() {
                    *s *= g;
                }
            }
            let mut clipped = 0u32;
            for s in buf.iter_mut() {
                clipped += u32::from(crate::dsp::mixer::at_full_scale(*s));
                *s = s.clamp(-1.0, 1.0);
            }
            b.clipped[ch] = clipped;
        }
        self.playback.fill(n0, rate, &mut b.playback[0]);
        let (pl, pr) = b.playback.split_at_mut(1);
        pr[0].copy_from_slice(&pl[0]);
    }

    /// Whether a period of `period_ns` is an xrun: its processing is too slow, a storm hits it, or the
    /// clocks have slipped by a whole buffer. Returns the processing time / period as well.
    fn xrun(&mut self, core: &Core, e: &Effects, period_ns: u64) -> (bool, f64) {
        let frames = f64::from(core.spec.frames);
        let dsp = core.spec.dsp_time.sample(&mut self.dsp_rng) + e.stall;
        let mut xrun = dsp.as_nanos() > period_ns;
        if e.storm > 0.0 && self.storm_rng.random::<f64>() < e.storm {
            xrun = true;
        }
        // Host and device clocks: every buffer the host consumes `ratio` × frames while the device
        // produced frames; a whole buffer of slip is an over- or underrun.
        let ratio = e.ratio * (1.0 + e.ppm * 1e-6);
        self.slip += frames * (ratio - 1.0);
        if self.slip.abs() >= frames {
            self.slip -= frames * self.slip.signum();
            xrun = true;
        }
        (xrun, dsp.as_nanos() as f64 / period_ns as f64)
    }
}

impl Stream for Modelled {
    /// A period boundary: the period in progress ends now and the next begins. The first tick, at zero,
    /// only starts the first period.
    fn tick(&mut self, core: &mut Core, lab: &SimLab) {
        let now = lab.now();
        let ppm = core.effects.ppm;
        let Some((began, e)) = self.began.replace((now, core.effects)) else {
            lab.schedule_daemon(self.period_start(&core.spec, core.n + 1, ppm), Event::Device(super::DeviceMsg::Tick));
            return;
        };
        // No period ends past the hard end of the run (arrivals end + drain).
        if now > lab.limits().stop_at {
            return;
        }
        let n = core.n;
        lab.schedule_daemon(self.period_start(&core.spec, n + 2, ppm), Event::Device(super::DeviceMsg::Tick));
        if !core.up {
            core.missing(lab);
            return;
        }
        core.n += 1;
        let frames = core.spec.frames as usize;
        let channels = core.spec.inputs.len();
        let mut b = core.block(|| AudioBlock {
            n: 0,
            inputs: vec![vec![0.0; frames]; channels],
            playback: [vec![0.0; frames], vec![0.0; frames]],
            out: [vec![0.0; frames], vec![0.0; frames]],
            xrun: false,
            dsp_load: 0.0,
            captured_silence: false,
            clipped: vec![0; channels + 2],
        });
        b.n = n;
        self.fill(core, &e, n, &mut b);
        let period = (now - began).as_nanos().max(1);
        let (xrun, load) = self.xrun(core, &e, period);
        b.xrun = xrun;
        b.dsp_load = load;
        b.captured_silence = e.silence;
        if !xrun {
            core.on_time(lab);
        }
        lab.send(Event::Mixer(MixerMsg::Block(b)));
    }

    /// Re-anchors the clock at the end of the period in progress (before its rate changes).
    fn faults_changed(&mut self, core: &Core, before: &Effects) {
        let next = self.period_start(&core.spec, core.n + 1, before.ppm);
        self.anchor_n = core.n + 1;
        self.anchor_t = next;
    }

    fn close(&mut self) {}

    fn reopen(&mut self) -> Result<(), String> {
        self.slip = 0.0;
        Ok(())
    }

    fn finish(&mut self, _now: SimTime) -> Option<LiveReport> {
        None
    }
}
