//! The modelled AG06: its sources, its converters and the clock of its USB stream.

use rand::RngExt;

use super::{Core, Effects, Stream};
use crate::actors::audio::{AudioBlock, MixerMsg};
use crate::actors::{Event, SimLab};
use crate::dsp::source::Source;
use crate::scenario::device::Device;
use crate::sim::{SimDuration, SimRng, SimTime};

/// The device of a simulated run, with the semantics of an audio callback (JACK, ALSA, CoreAudio). Period
/// n spans [n × frames / rate, (n + 1) × frames / rate) on the device's clock. A callback starts at a
/// period boundary, takes its modelled processing time (`dsp_time` plus injected stalls), and must finish
/// by the next boundary, its deadline. One that finishes late is an xrun; the boundaries that pass while
/// it runs are missing periods (nothing was delivered for them), and the host calls again as soon as it
/// returns, so slow callbacks go back to back: at 13 ms a callback and a 5.333 ms period, one xrun and
/// about 1.44 missing periods per callback. A period is produced when it ends (on time) or when its late
/// callback returns, with the faults in force when its callback began, so a run never processes a period
/// past its end. An xrun storm or a slip of the host and device clocks by a whole buffer (sample-rate
/// mismatch, clock drift) also makes a period an xrun.
pub(crate) struct Modelled {
    sources: Vec<Source>,
    playback: Source,
    gains: Vec<f64>,
    /// Clock anchor: period `anchor_n` started at `anchor_t`; the clock's rate factor since then.
    anchor_n: u64,
    anchor_t: SimTime,
    /// Frames by which host and device have slipped since the last slip xrun.
    slip: f64,
    /// The callback in progress.
    callback: Option<Callback>,
    /// When the next tick is due (an earlier-scheduled one at another time is stale).
    next_tick: SimTime,
    dsp_rng: SimRng,
    storm_rng: SimRng,
}

/// A callback in progress.
struct Callback {
    /// The period it produces.
    n: u64,
    /// Its processing time.
    dsp: SimDuration,
    /// When it returns.
    returns: SimTime,
    /// Its deadline: the end of period `n`.
    deadline: SimTime,
    /// The period's length.
    period: SimDuration,
    /// The faults when it began.
    effects: Effects,
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
            callback: None,
            next_tick: SimTime::ZERO,
            dsp_rng: crate::sim::stream(seed, "device/dsp_time"),
            storm_rng: crate::sim::stream(seed, "device/xrun_storm"),
        }
    }

    /// When period `n` starts on the device's clock (running `ppm` fast since the anchor; a period just
    /// before the anchor is counted back from it).
    fn period_start(&self, spec: &Device, n: u64, ppm: f64) -> SimTime {
        let scale = |ns: u64| if ppm == 0.0 { ns } else { (ns as f64 / (1.0 + ppm * 1e-6)).round() as u64 };
        if n >= self.anchor_n {
            self.anchor_t + SimDuration::from_nanos(scale(spec.period_start(n - self.anchor_n).as_nanos()))
        } else {
            let back = scale(spec.period_start(self.anchor_n - n).as_nanos());
            SimTime::from_nanos(self.anchor_t.as_nanos().saturating_sub(back))
        }
    }

    /// The period in progress at `t`: the last one starting at or before it.
    fn period_at(&self, spec: &Device, t: SimTime, ppm: f64) -> u64 {
        if t < self.anchor_t {
            // Only between a re-anchoring and the end of the period in progress: the one before the anchor.
            return self.anchor_n.saturating_sub(1);
        }
        let since = (t - self.anchor_t).as_nanos() as f64 * (1.0 + ppm * 1e-6);
        let per = spec.period_start(1).as_nanos().max(1) as f64;
        let mut n = self.anchor_n + (since / per) as u64;
        while self.period_start(spec, n + 1, ppm) <= t {
            n += 1;
        }
        while n > self.anchor_n && self.period_start(spec, n, ppm) > t {
            n -= 1;
        }
        n
    }

    /// Fills the inputs and the playback of period `n`: the converters saturate at full scale, and the
    /// samples that reached it are counted as clipped.
    fn fill(&mut self, core: &Core, e: &Effects, n: u64, b: &mut AudioBlock) {
        crate::dsp::simd::wide(
            #[inline(always)]
            || self.fill_block(core, e, n, b),
        )
    }

    /// [`Modelled::fill`], inlined into each build of [`crate::dsp::simd::wide`].
    #[inline(always)]
    fn fill_block(&mut self, core: &Core, e: &Effects, n: u64, b: &mut AudioBlock) {
        let rate = f64::from(core.spec.rate_hz);
        let n0 = n * u64::from(core.spec.frames);
        b.clipped.clear();
        b.clipped.resize(b.inputs.len() + 2, 0);
        b.silent.clear();
        b.silent.resize(b.inputs.len(), false);
        let frames = core.spec.frames as usize;
        for (ch, buf) in b.inputs.iter_mut().enumerate() {
            let g = (self.gains[ch] * e.clip_gain) as f32;
            // Silence through a finite gain of + sign is +0.0, within full scale: nothing for the converters
            // to do, and no samples to keep but CH1's (its vocal chain reads them).
            if self.sources[ch].is_silence() && g.is_finite() && g.is_sign_positive() {
                b.silent[ch] = true;
                if ch == 0 {
                    buf.resize(frames, 0.0);
                    buf.fill(0.0);
                } else {
                    buf.clear();
                }
                continue;
            }
            buf.resize(frames, 0.0);
            self.sources[ch].fill(n0, rate, buf);
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
        self.playback.fill(n0, rate, &mut b.playback);
    }

    /// Whether the period of `cb`, ending at `now`, is an xrun besides being late: a storm hits it, or the
    /// clocks have slipped by a whole buffer.
    fn other_xrun(&mut self, core: &Core, e: &Effects) -> bool {
        let frames = f64::from(core.spec.frames);
        let mut xrun = e.storm > 0.0 && self.storm_rng.random::<f64>() < e.storm;
        // Host and device clocks: every buffer the host consumes `ratio` × frames while the device
        // produced frames; a whole buffer of slip is an over- or underrun.
        let ratio = e.ratio * (1.0 + e.ppm * 1e-6);
        self.slip += frames * (ratio - 1.0);
        if self.slip.abs() >= frames {
            self.slip -= frames * self.slip.signum();
            xrun = true;
        }
        xrun
    }

    fn schedule(&mut self, at: SimTime, lab: &SimLab) {
        self.next_tick = at;
        lab.schedule_daemon(at, Event::Device(super::DeviceMsg::Tick));
    }

    /// The next period is missing. It goes through the mixer, as the blocks do, so that the monitor sees
    /// a late block before the periods its callback overran.
    fn missing(&self, core: &mut Core, lab: &SimLab) {
        lab.send(Event::Mixer(MixerMsg::Missing(core.missing())));
    }

    /// The callback `cb` returns at `now`: its period goes to the mixer.
    fn deliver(&mut self, core: &mut Core, cb: Callback, lab: &SimLab) {
        let now = lab.now();
        let frames = core.spec.frames as usize;
        let channels = core.spec.inputs.len();
        let mut b = core.block(|| AudioBlock {
            n: 0,
            // The inputs known to be silent (but CH1) keep no samples: `fill` sizes the others.
            inputs: vec![Vec::new(); channels],
            playback: vec![0.0; frames],
            out: [vec![0.0; frames], vec![0.0; frames]],
            xrun: false,
            mirrored: false,
            dsp_load: 0.0,
            captured_silence: false,
            clipped: vec![0; channels + 2],
            silent: vec![false; channels],
        });
        b.n = cb.n;
        self.fill(core, &cb.effects, cb.n, &mut b);
        let late = now > cb.deadline;
        b.xrun = self.other_xrun(core, &cb.effects) || late;
        b.dsp_load = cb.dsp.as_nanos() as f64 / cb.period.as_nanos().max(1) as f64;
        b.captured_silence = cb.effects.silence;
        core.n = cb.n + 1;
        if !b.xrun {
            core.on_time(lab);
        }
        lab.send(Event::Mixer(MixerMsg::Block(b)));
    }
}

impl Stream for Modelled {
    /// The callback in progress (if any) returns, the periods that ended without one are missing, and the
    /// next callback starts, for the period in progress now: at a boundary after an on-time callback, at
    /// once after a late one.
    fn tick(&mut self, core: &mut Core, lab: &SimLab) {
        let now = lab.now();
        if now != self.next_tick {
            return;
        }
        if let Some(cb) = self.callback.take() {
            if core.up || cb.returns <= core.down_at {
                self.deliver(core, cb, lab);
            } else {
                // The device went away during the callback: nothing was delivered.
                self.missing(core, lab);
            }
        }
        // No period starts past the hard end of the run (arrivals end + drain).
        if now >= lab.limits().stop_at {
            return;
        }
        let ppm = core.effects.ppm;
        let n = self.period_at(&core.spec, now, ppm);
        while core.n < n {
            self.missing(core, lab);
        }
        let deadline = self.period_start(&core.spec, n + 1, ppm);
        if !core.up {
            // Gone: the next boundary, where the period in progress will have passed.
            self.schedule(deadline, lab);
            return;
        }
        let dsp = core.spec.dsp_time.sample(&mut self.dsp_rng) + core.effects.stall;
        let period = deadline - self.period_start(&core.spec, n, ppm);
        self.callback = Some(Callback { n, dsp, returns: now + dsp, deadline, period, effects: core.effects });
        self.schedule((now + dsp).max(deadline), lab);
    }

    /// The stream is back: the host calls at once, for the period in progress.
    fn reopened(&mut self, core: &mut Core, lab: &SimLab) {
        if self.callback.is_none() && lab.now() < lab.limits().stop_at {
            self.next_tick = lab.now();
            self.tick(core, lab);
        }
    }

    /// Re-anchors the clock at the end of the period in progress (before its rate changes).
    fn faults_changed(&mut self, core: &Core, before: &Effects) {
        let n = self.callback.as_ref().map_or(core.n, |cb| cb.n) + 1;
        let next = self.period_start(&core.spec, n, before.ppm);
        self.anchor_n = n;
        self.anchor_t = next;
    }

    fn close(&mut self) {}

    fn reopen(&mut self) -> Result<(), String> {
        self.slip = 0.0;
        Ok(())
    }

    fn finish(&mut self, _now: SimTime) -> Option<super::LiveOutput> {
        None
    }
}
