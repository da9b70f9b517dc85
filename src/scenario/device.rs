//! The validated `[device]` section: the AG06/AG03, its inputs and its mixer.

use std::sync::Arc;

use crate::dist::Dist;
use crate::dsp::chain::ChainConfig;
use crate::dsp::mixer::{MixerConfig, Strip, ToPc};
use crate::dsp::source::Source;
use crate::sim::{SimDuration, SimTime, stream};

pub use super::raw::DeviceModel;

/// Sample rates the lab accepts.
pub const RATES: [u32; 5] = [44_100, 48_000, 88_200, 96_000, 192_000];

/// A signal source as configured (the running [`Source`] is built from it).
#[derive(Clone, Debug)]
pub enum SourceSpec {
    /// A sine wave.
    Sine {
        /// Frequency [Hz].
        freq_hz: f64,
        /// Peak amplitude.
        amp: f64,
    },
    /// Seeded white noise.
    Noise {
        /// Peak amplitude.
        amp: f64,
    },
    /// Zeros.
    Silence,
    /// A WAV file's samples.
    Wav {
        /// The path as written.
        path: String,
        /// First channel, -1..1.
        samples: Arc<[f32]>,
    },
}

impl SourceSpec {
    /// The running source; noise draws from the stream `name` of `seed`.
    pub fn build(&self, seed: u64, name: &str) -> Source {
        match self {
            SourceSpec::Sine { freq_hz, amp } => Source::sine(*freq_hz, *amp),
            SourceSpec::Noise { amp } => Source::noise(*amp, stream(seed, name)),
            SourceSpec::Silence => Source::Silence,
            SourceSpec::Wav { samples, .. } => Source::Wav { samples: samples.clone() },
        }
    }
}

/// One input channel.
#[derive(Clone, Debug)]
pub struct InputSpec {
    /// What is plugged in.
    pub source: SourceSpec,
    /// Gain, pad, mute, pan.
    pub strip: Strip,
}

/// The validated device.
#[derive(Clone, Debug)]
pub struct Device {
    /// AG06, AG06MK2 or AG03 (their channel counts differ).
    pub model: DeviceModel,
    /// Sample rate [Hz].
    pub rate_hz: u32,
    /// Frames per period.
    pub frames: u32,
    /// Modelled processing time per block.
    pub dsp_time: Dist,
    /// The computer's playback.
    pub playback: SourceSpec,
    /// Inputs (6, or 3 on the AG03).
    pub inputs: Vec<InputSpec>,
    /// TO PC switch.
    pub to_pc: ToPc,
    /// Vocal chain on CH1.
    pub chain: ChainConfig,
    /// Playback ducking [dB].
    pub ducking_db: Option<f64>,
    /// Live mode: the inputs are the interface's captured stream (to_pc_l, to_pc_r), not its channels.
    pub live_capture: bool,
}

impl Device {
    /// The nominal period: frames / rate.
    pub fn period(&self) -> SimDuration {
        SimDuration::from_nanos(self.period_start(1).as_nanos())
    }

    /// When period `n` starts at the nominal rate: n × frames / rate, exact to the nanosecond (never
    /// accumulated, so no drift).
    pub fn period_start(&self, n: u64) -> SimTime {
        let ns = u128::from(n) * u128::from(self.frames) * 1_000_000_000 / u128::from(self.rate_hz);
        SimTime::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// The mixer's configuration.
    pub fn mixer(&self) -> MixerConfig {
        MixerConfig {
            strips: self.inputs.iter().map(|i| i.strip.clone()).collect(),
            to_pc: self.to_pc,
            chain: self.chain.clone(),
            ducking_db: self.ducking_db,
        }
    }

    /// Channel names: ch1..ch6 (or ch1..ch3), then out_l, out_r.
    pub fn channel_names(&self) -> Vec<String> {
        if self.live_capture {
            // Live: what the interface sends the computer (the AG06's TO PC stream), not its channels.
            return ["to_pc_l", "to_pc_r", "out_l", "out_r"].map(String::from).to_vec();
        }
        (1..=self.inputs.len()).map(|i| format!("ch{i}")).chain(["out_l".to_string(), "out_r".to_string()]).collect()
    }
}
