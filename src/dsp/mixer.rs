//! The AG06's mixer: per-channel gain, pad, mute and pan into a stereo bus, the vocal chain on CH1, and
//! the TO PC switch that decides what the computer records.

use super::chain::{ChainConfig, VocalChain};
use super::db_to_lin;
use super::dynamics::Ducker;

/// The PAD switch of CH1/CH2 [dB].
pub const PAD_DB: f64 = -26.0;

/// What the TO PC switch sends to the computer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ToPc {
    /// CH1 to the left, CH2 to the right, dry (no effects, no pan).
    DryCh12,
    /// The mix of the inputs, with DSP, without the computer's playback.
    InputMix,
    /// The inputs' mix plus the computer's playback (the classic echo in calls).
    Loopback,
}

/// One input channel's strip.
#[derive(Clone, Debug, PartialEq)]
pub struct Strip {
    /// Input gain [dB].
    pub gain_db: f64,
    /// PAD engaged (CH1/CH2).
    pub pad: bool,
    /// Phantom power (CH1/CH2): no effect on the modelled signal.
    pub phantom: bool,
    /// Muted.
    pub mute: bool,
    /// Pan -1 (left) .. 1 (right).
    pub pan: f64,
}

impl Strip {
    /// The linear input gain (gain and pad).
    pub fn input_gain(&self) -> f64 {
        db_to_lin(self.gain_db + if self.pad { PAD_DB } else { 0.0 })
    }
}

/// The mixer's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct MixerConfig {
    /// One strip per input channel (6 on the AG06, 3 on the AG03).
    pub strips: Vec<Strip>,
    /// The TO PC switch.
    pub to_pc: ToPc,
    /// The vocal chain on CH1.
    pub chain: ChainConfig,
    /// Lower the playback by this much while a voice is present [dB, negative]; `None`: no ducking.
    pub ducking_db: Option<f64>,
}

/// The mixer, with its DSP state.
pub struct Mixer {
    cfg: MixerConfig,
    chain: VocalChain,
    ducker: Option<Ducker>,
    /// (left, right) gain of each channel into the bus; 0 when muted.
    pans: Vec<(f64, f64)>,
    /// Per frame of the current block: a voice on CH1.
    voice: Vec<bool>,
}

/// Constant-power pan law: (left, right) gains for `pan` in -1..1 (-3 dB each at the centre).
pub fn pan_gains(pan: f64) -> (f64, f64) {
    let a = (pan.clamp(-1.0, 1.0) + 1.0) * std::f64::consts::FRAC_PI_4;
    (a.cos(), a.sin())
}

impl Mixer {
    /// A mixer at `rate_hz`.
    pub fn new(cfg: MixerConfig, rate_hz: f64) -> Self {
        let pans = cfg.strips.iter().map(|s| if s.mute { (0.0, 0.0) } else { pan_gains(s.pan) }).collect();
        Mixer {
            chain: VocalChain::new(&cfg.chain, rate_hz),
            ducker: cfg.ducking_db.map(|d| Ducker::new(rate_hz, d)),
            pans,
            voice: Vec::new(),
            cfg,
        }
    }

    /// Reserves room for blocks of up to `frames`, so that [`Mixer::process`] never allocates (the
    /// live audio callback).
    pub fn reserve(&mut self, frames: usize) {
        self.voice.reserve(frames.saturating_sub(self.voice.len()));
    }

    /// Mixes one block. `inputs` are the channels after the input stage (gain, pad, converter),
    /// `playback` the computer's stereo playback; the stereo result goes to `out` (what the computer
    /// records). `n0` is the absolute index of the block's first frame. CH1 is processed in place.
    pub fn process(&mut self, n0: u64, inputs: &mut [Vec<f32>], playback: [&[f32]; 2], out: [&mut [f32]; 2]) {
        let frames = out[0].len();
        let [out_l, out_r] = out;
        if self.cfg.to_pc == ToPc::DryCh12 {
            // Dry: straight from the converters, no DSP.
            out_l.copy_from_slice(&inputs[0][..frames]);
            match inputs.get(1) {
                Some(ch2) => out_r.copy_from_slice(&ch2[..frames]),
                None => out_r.fill(0.0),
            }
            return;
        }
        self.voice.resize(frames, false);
        let ch1_muted = self.cfg.strips.first().is_some_and(|s| s.mute);
        if ch1_muted {
            self.voice.fill(false);
        } else {
            self.chain.process(n0, &mut inputs[0][..frames], &mut self.voice);
        }
        out_l.fill(0.0);
        out_r.fill(0.0);
        for (ch, &(gl, gr)) in inputs.iter().zip(&self.pans) {
            if gl == 0.0 && gr == 0.0 {
                continue;
            }
            let (gl, gr) = (gl as f32, gr as f32);
            for i in 0..frames {
                out_l[i] += ch[i] * gl;
                out_r[i] += ch[i] * gr;
            }
        }
        if self.cfg.to_pc == ToPc::Loopback {
            for i in 0..frames {
                let g = match &mut self.ducker {
                    Some(d) => d.gain(self.voice[i]) as f32,
                    None => 1.0,
                };
                out_l[i] += playback[0][i] * g;
                out_r[i] += playback[1][i] * g;
            }
        }
    }
}
