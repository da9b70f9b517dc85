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
    /// CH1 through the vocal chain (the inputs stay as the converters delivered them, for metering).
    ch1: Vec<f32>,
    /// Per frame of the current block: the playback's ducking gain.
    duck: Vec<f32>,
}

/// Whether a converter sample reached full scale: the largest 24-bit code, 1 − 2⁻²³, or beyond (what a
/// clipping ADC delivers, and what an interface's captured stream shows when it clipped).
#[inline]
pub fn at_full_scale(x: f32) -> bool {
    x.abs() >= FULL_SCALE
}

/// The largest sample of a 24-bit stream: 8388607 / 8388608.
pub const FULL_SCALE: f32 = 1.0 - 1.0 / 8_388_608.0;

/// Clamps `buf` to full scale as a fixed-point stream does; returns the samples that were beyond it
/// (clipped by the clamp).
#[inline]
pub fn clamp_to_full_scale(buf: &mut [f32]) -> u32 {
    let mut clipped = 0u32;
    for s in buf.iter_mut() {
        clipped += u32::from(s.abs() > 1.0);
        *s = s.clamp(-1.0, 1.0);
    }
    clipped
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
            ch1: Vec::new(),
            duck: Vec::new(),
            cfg,
        }
    }

    /// Reserves room for blocks of up to `frames`, so that [`Mixer::process`] never allocates (the
    /// live audio callback).
    pub fn reserve(&mut self, frames: usize) {
        self.voice.reserve(frames.saturating_sub(self.voice.len()));
        self.ch1.reserve(frames.saturating_sub(self.ch1.len()));
        self.duck.reserve(frames.saturating_sub(self.duck.len()));
        self.chain.reserve(frames);
    }

    /// Mixes one block. `inputs` are the channels after the input stage (gain, pad, converter), left as
    /// they are; `playback` the computer's stereo playback; the stereo result goes to `out` (what the
    /// computer records), clamped to full scale as the fixed-point USB stream does. `n0` is the absolute
    /// index of the block's first frame. Returns the samples of each side of the bus beyond full scale
    /// (clipped by the stream).
    pub fn process(&mut self, n0: u64, inputs: &[Vec<f32>], playback: [&[f32]; 2], out: [&mut [f32]; 2]) -> [u32; 2] {
        self.process_known(n0, inputs, &[], playback, out)
    }

    /// [`Mixer::process`], told which inputs are digital silence (`silent[k]`: every sample of input `k`
    /// is +0.0, and but for CH1 its buffer may be empty; a shorter `silent` says nothing of the inputs past
    /// its end). Those other than CH1 (whose vocal chain runs on, its reverb ringing out) are left out of
    /// the bus: adding +0.0 × a pan gain (≥ 0) to a bus that starts at +0.0 changes none of its bits, so
    /// the result is the same.
    pub fn process_known(
        &mut self,
        n0: u64,
        inputs: &[Vec<f32>],
        silent: &[bool],
        playback: [&[f32]; 2],
        out: [&mut [f32]; 2],
    ) -> [u32; 2] {
        let [l, r] = out;
        super::simd::wide(
            #[inline(always)]
            || self.process_block(n0, inputs, silent, playback, l, Some(r)),
        )
    }

    /// Whether the bus's two sides are the same bits, for inputs of which those flagged in `silent` are
    /// digital silence and a playback the same on both sides: every input that reaches the bus goes to
    /// both sides with the same gain (a centred pan, or muted), and the computer does not record the dry
    /// channels. Each side's sample is then the same sum of the same products, in the same order.
    pub fn mirrored(&self, silent: &[bool]) -> bool {
        self.cfg.to_pc != ToPc::DryCh12
            && self.pans.iter().enumerate().all(|(k, &(gl, gr))| {
                (k > 0 && silent.get(k) == Some(&true)) || (gl as f32).to_bits() == (gr as f32).to_bits()
            })
    }

    /// [`Mixer::process_known`] where the bus is [`Mixer::mirrored`] for `silent`, with `playback` on
    /// both sides: only the left side, into `out` (the right is the same bits); returns its samples beyond
    /// full scale.
    pub fn process_mirrored(
        &mut self,
        n0: u64,
        inputs: &[Vec<f32>],
        silent: &[bool],
        playback: &[f32],
        out: &mut [f32],
    ) -> u32 {
        debug_assert!(self.mirrored(silent), "a bus whose sides differ");
        super::simd::wide(
            #[inline(always)]
            || self.process_block(n0, inputs, silent, [playback, playback], out, None)[0],
        )
    }

    /// [`Mixer::process`], inlined into each build of [`super::simd::wide`]; the left side alone if
    /// `out_r` is `None` (a mirrored bus: its count of clipped samples is then given for both sides).
    #[inline(always)]
    fn process_block(
        &mut self,
        n0: u64,
        inputs: &[Vec<f32>],
        silent: &[bool],
        playback: [&[f32]; 2],
        out_l: &mut [f32],
        out_r: Option<&mut [f32]>,
    ) -> [u32; 2] {
        let frames = out_l.len();
        let Some(out_r) = out_r else {
            let clipped = self.bus(n0, inputs, silent, playback[0], out_l, None);
            return [clipped; 2];
        };
        if self.cfg.to_pc == ToPc::DryCh12 {
            // Dry: straight from the converters, no DSP (already within full scale).
            out_l.copy_from_slice(&inputs[0][..frames]);
            match inputs.get(1) {
                Some(ch2) if silent.get(1) != Some(&true) => out_r.copy_from_slice(&ch2[..frames]),
                _ => out_r.fill(0.0),
            }
            return [clamp_to_full_scale(out_l), clamp_to_full_scale(out_r)];
        }
        let l = self.bus(n0, inputs, silent, playback[0], out_l, Some((playback[1], &mut *out_r)));
        [l, clamp_to_full_scale(out_r)]
    }

    /// The bus (not the dry channels): CH1 through the vocal chain, every input panned into `out_l` and,
    /// if given, the right side, the playback (`playback_l`, and the right side's) ducked under the voice;
    /// the left side clamped to full scale, its samples beyond it counted (the right side is left for the
    /// caller to clamp).
    #[inline(always)]
    fn bus(
        &mut self,
        n0: u64,
        inputs: &[Vec<f32>],
        silent: &[bool],
        playback_l: &[f32],
        out_l: &mut [f32],
        mut right: Option<(&[f32], &mut [f32])>,
    ) -> u32 {
        let frames = out_l.len();
        self.voice.resize(frames, false);
        self.ch1.resize(frames, 0.0);
        self.ch1.copy_from_slice(&inputs[0][..frames]);
        let ch1_muted = self.cfg.strips.first().is_some_and(|s| s.mute);
        if ch1_muted {
            self.voice.fill(false);
        } else {
            self.chain.process(n0, &mut self.ch1, &mut self.voice);
        }
        out_l.fill(0.0);
        if let Some((_, out_r)) = &mut right {
            out_r.fill(0.0);
        }
        for (k, (ch, &(gl, gr))) in inputs.iter().zip(&self.pans).enumerate() {
            if (gl == 0.0 && gr == 0.0) || (k > 0 && silent.get(k) == Some(&true)) {
                continue;
            }
            let ch: &[f32] = if k == 0 { &self.ch1 } else { &ch[..frames] };
            let (gl, gr) = (gl as f32, gr as f32);
            match &mut right {
                Some((_, out_r)) => {
                    for ((l, r), x) in out_l.iter_mut().zip(out_r.iter_mut()).zip(ch) {
                        *l += x * gl;
                        *r += x * gr;
                    }
                }
                None => {
                    for (l, x) in out_l.iter_mut().zip(ch) {
                        *l += x * gl;
                    }
                }
            }
        }
        if self.cfg.to_pc == ToPc::Loopback {
            self.duck.resize(frames, 1.0);
            if let Some(d) = &mut self.ducker {
                d.gains(&self.voice, &mut self.duck);
            }
            let pl = &playback_l[..frames];
            match &mut right {
                Some((pr, out_r)) => {
                    let pr = &pr[..frames];
                    for (((l, r), g), (a, b)) in
                        out_l.iter_mut().zip(out_r.iter_mut()).zip(&self.duck).zip(pl.iter().zip(pr))
                    {
                        *l += a * g;
                        *r += b * g;
                    }
                }
                None => {
                    for ((l, g), a) in out_l.iter_mut().zip(&self.duck).zip(pl) {
                        *l += a * g;
                    }
                }
            }
        }
        clamp_to_full_scale(out_l)
    }
}
