//! The `[device]` section as written: the AG06, its inputs and the vocal chain.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{DeviceModel, Dur, RawDist, ToPcName};

/// The `[device]` section.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    /// "ag06", "ag06mk2" or "ag03". Default "ag06mk2".
    #[serde(default)]
    pub model: DeviceModel,
    /// 44100, 48000, 88200, 96000 or 192000. Default 48000.
    pub sample_rate_hz: Option<u32>,
    /// Frames per period (block). Default 256.
    pub buffer_frames: Option<u32>,
    /// "dry-ch12", "input-mix" or "loopback". Default "input-mix".
    #[serde(default)]
    pub to_pc: ToPcName,
    /// Modelled processing time of one block (a distribution). Default constant "200us".
    pub dsp_time: Option<RawDist>,
    /// The computer's playback (heard in loopback). Default silence.
    pub playback: Option<RawSource>,
    /// Lower the playback by this much while a voice is on CH1 [dB, negative]. Default: no ducking.
    pub ducking_db: Option<f64>,
    /// The input channels.
    #[serde(default)]
    pub inputs: RawInputs,
    /// The vocal chain on CH1 (the seed system's settings by default).
    pub vocal_chain: Option<RawChain>,
}

/// The input channels (`ch4`..`ch6` do not exist on the AG03).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInputs {
    /// CH1: mic/line (XLR combo, phantom power, PAD); the vocal chain runs on it.
    pub ch1: Option<RawInput>,
    /// CH2: mic/line (PAD, phantom power).
    pub ch2: Option<RawInput>,
    /// CH3: line (left of CH3/4).
    pub ch3: Option<RawInput>,
    /// CH4: line (right of CH3/4).
    pub ch4: Option<RawInput>,
    /// CH5: line (left of CH5/6).
    pub ch5: Option<RawInput>,
    /// CH6: line (right of CH5/6).
    pub ch6: Option<RawInput>,
}

/// One input channel.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    /// What is plugged in. Default silence.
    pub source: Option<RawSource>,
    /// Input gain [dB]. Default 0.
    pub gain_db: Option<f64>,
    /// PAD switch (-26 dB; CH1/CH2 only). Default false.
    pub pad: Option<bool>,
    /// +48 V phantom power (CH1/CH2 only; no effect on the modelled signal). Default false.
    pub phantom: Option<bool>,
    /// Muted. Default false.
    pub mute: Option<bool>,
    /// Pan -1 (left) .. 1 (right). Default: centre for CH1/CH2, left for CH3/CH5, right for CH4/CH6.
    pub pan: Option<f64>,
}

/// A signal source, tagged by `kind`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawSource {
    /// A sine; `level_dbfs` is its peak.
    Sine {
        /// Frequency [Hz].
        freq_hz: f64,
        /// Peak level [dBFS].
        level_dbfs: f64,
    },
    /// Seeded uniform white noise; `level_dbfs` is its peak.
    Noise {
        /// Peak level [dBFS].
        level_dbfs: f64,
    },
    /// Bit-exact zeros.
    Silence,
    /// A WAV file (first channel, looped). Its rate must be the device's: no silent resampling.
    Wav {
        /// Path, relative to the scenario file.
        path: String,
    },
}

/// The vocal chain; every stage defaults to the seed system's settings and has `bypass`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChain {
    /// High-pass filter.
    pub hpf: Option<RawHpf>,
    /// Noise gate.
    pub gate: Option<RawGate>,
    /// Three-band EQ.
    pub eq: Option<RawEq>,
    /// Compressor.
    pub compressor: Option<RawCompressor>,
    /// Reverb.
    pub reverb: Option<RawReverb>,
    /// Limiter.
    pub limiter: Option<RawLimiter>,
}

/// High-pass filter settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHpf {
    /// Corner [Hz] (-3 dB). Default 80.
    pub freq_hz: Option<f64>,
    /// Skip the stage. Default false.
    #[serde(default)]
    pub bypass: bool,
}

/// Gate settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    /// Threshold [dBFS]. Default -45.
    pub threshold_db: Option<f64>,
    /// Opening time. Default "3ms".
    pub attack: Option<Dur>,
    /// Closing time. Default "180ms".
    pub release: Option<Dur>,
    /// Skip the stage. Default false.
    #[serde(default)]
    pub bypass: bool,
}

/// EQ settings: three peaking bands.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEq {
    /// Bands. Default 250 Hz -1.5 dB, 2.6 kHz +2 dB, 8 kHz +3 dB (Q 1).
    pub bands: Option<Vec<RawBand>>,
    /// Skip the stage. Default false.
    #[serde(default)]
    pub bypass: bool,
}

/// One EQ band.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBand {
    /// Centre [Hz].
    pub freq_hz: f64,
    /// Gain [dB].
    pub gain_db: f64,
    /// Quality. Default 1.
    pub q: Option<f64>,
}

/// Compressor settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCompressor {
    /// Threshold [dBFS RMS]. Default -22.
    pub threshold_db: Option<f64>,
    /// Ratio >= 1. Default 3.5.
    pub ratio: Option<f64>,
    /// Default "8ms".
    pub attack: Option<Dur>,
    /// Default "140ms".
    pub release: Option<Dur>,
    /// Make-up gain [dB]. Default 5.
    pub makeup_db: Option<f64>,
    /// Skip the stage. Default false.
    #[serde(default)]
    pub bypass: bool,
}

/// Reverb settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReverb {
    /// Wet mix 0..1. Default 0.28.
    pub mix: Option<f64>,
    /// Room size 0..1. Default 0.5.
    pub room_size: Option<f64>,
    /// Damping 0..1. Default 0.5.
    pub damping: Option<f64>,
    /// Skip the stage. Default false.
    #[serde(default)]
    pub bypass: bool,
}

/// Limiter settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLimiter {
    /// Ceiling [dBFS]. Default -1.
    pub ceiling_dbfs: Option<f64>,
    /// Default "50ms".
    pub release: Option<Dur>,
    /// Skip the stage. Default false.
    #[serde(default)]
    pub bypass: bool,
}
