//! The audio path's figures in `summary.json`, and what live mode measured of the interface.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DeviceModel;

/// The audio path's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AudioSummary {
    /// Device model.
    pub model: DeviceModel,
    /// Sample rate [Hz].
    pub sample_rate_hz: u32,
    /// Frames per period.
    pub buffer_frames: u32,
    /// Period [ms].
    pub period_ms: f64,
    /// Periods that elapsed.
    pub periods: u64,
    /// Periods delivered late.
    pub xruns: u64,
    /// Periods missing (device gone).
    pub missing: u64,
    /// Runs of consecutive late or missing periods.
    pub dropouts: u64,
    /// The longest such run [ms].
    pub max_dropout_ms: f64,
    /// Clipped samples, each counted once where it clipped: at an input's converter (reaching full
    /// scale) or on the bus the computer captures (beyond full scale, clamped by the fixed-point USB
    /// stream).
    pub clipped_samples: u64,
    /// Delivered output periods of bit-exact zeros (what a denied permission looks like).
    pub silent_output_periods: u64,
    /// Integrated loudness (EBU R128) of what the computer captured [LUFS]; null if too short or silent.
    pub output_lufs: Option<f64>,
    /// Mean modelled DSP load (processing time / period).
    pub dsp_load_mean: f64,
    /// Highest modelled DSP load.
    pub dsp_load_max: f64,
    /// Times the stream was reopened.
    pub restarts: u64,
    /// Time the stream was gone [s].
    pub downtime_s: f64,
    /// Per channel: ch1.., out_l, out_r.
    pub channels: IndexMap<String, ChannelSummary>,
}

/// One channel's levels over the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelSummary {
    /// Peak [dBFS] (null for silence).
    pub peak_dbfs: Option<f64>,
    /// RMS [dBFS] (null for silence).
    pub rms_dbfs: Option<f64>,
    /// Samples clipped at this channel: an input at its converter, out_l/out_r by the USB stream's clamp.
    pub clipped: u64,
    /// Blocks of bit-exact zeros.
    pub zero_blocks: u64,
    /// Blocks below -60 dBFS RMS.
    pub quiet_blocks: u64,
}

/// Names and host-side counters of a live audio backend.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BackendInfo {
    /// The audio host (e.g. "ALSA").
    pub host: String,
    /// The device opened.
    pub device: String,
    /// Errors the host reported on the streams.
    pub stream_errors: u64,
    /// Of those, xruns.
    pub host_xruns: u64,
    /// Captured frames dropped because the callback side was behind.
    pub capture_overflow_frames: u64,
}

/// Percentiles of a live figure [ms, or a ratio for loads].
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// Live figures of the audio path, in `summary.json` `live`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LiveReport {
    /// Host and device, and what the host reported.
    #[serde(flatten)]
    pub info: BackendInfo,
    /// Sample rate [Hz].
    pub sample_rate_hz: u32,
    /// Frames per callback asked for.
    pub buffer_frames: u32,
    /// Output callbacks seen.
    pub callbacks: u64,
    /// Callbacks counted as xruns: a gap over 1.5 periods since the previous one, or a host-reported xrun.
    pub xruns: u64,
    /// Callbacks that found less captured input than they needed.
    pub input_underruns: u64,
    /// Time between callbacks [ms].
    pub callback_interval_ms: Spread,
    /// |interval − period| [ms].
    pub jitter_ms: Spread,
    /// Time in the callback / period.
    pub dsp_load: Spread,
    /// Callbacks per second of wall time over the run.
    pub callbacks_per_s: f64,
}
