//! Checks of the `[device]` section.

use std::path::Path;
use std::sync::Arc;

use super::Checker;
use crate::dist::Dist;
use crate::dsp::chain::{ChainConfig, CompParams, EqBand, GateParams, LimiterParams, ReverbParams};
use crate::dsp::db_to_lin;
use crate::dsp::mixer::{Strip, ToPc};
use crate::scenario::device::{Device, InputSpec, RATES, SourceSpec};
use crate::scenario::raw::{DeviceModel, RawChain, RawDevice, RawInput, RawSource, ToPcName};
use crate::sim::SimDuration;

pub(super) fn device(c: &mut Checker, d: &RawDevice, base: &Path) -> Option<Device> {
    let rate_hz = d.sample_rate_hz.unwrap_or(48_000);
    if !RATES.contains(&rate_hz) {
        c.err(
            "device.sample_rate_hz",
            format!("{rate_hz} Hz is not a rate the device runs at (one of 44100, 48000, 88200, 96000, 192000)"),
        );
    }
    let frames = d.buffer_frames.unwrap_or(256);
    if !(16..=8192).contains(&frames) {
        c.err("device.buffer_frames", format!("{frames} frames: expected 16 to 8192"));
    }
    let dsp_time = match &d.dsp_time {
        Some(raw) => super::dist(c, "device.dsp_time", raw),
        None => Some(Dist::constant(SimDuration::from_nanos(200_000))),
    };
    let channels = if d.model == DeviceModel::Ag03 { 3 } else { 6 };
    let raw_inputs = [&d.inputs.ch1, &d.inputs.ch2, &d.inputs.ch3, &d.inputs.ch4, &d.inputs.ch5, &d.inputs.ch6];
    let mut inputs = Vec::new();
    for (i, raw) in raw_inputs.iter().enumerate() {
        let p = format!("device.inputs.ch{}", i + 1);
        if i >= channels {
            if raw.is_some() {
                c.err(p, "the AG03 has three channels: ch1 (mic), ch2/ch3 (stereo line)");
            }
            continue;
        }
        inputs.push(input(c, &p, i, channels, raw.as_ref(), rate_hz, base));
    }
    let playback = match &d.playback {
        Some(s) => source(c, "device.playback", s, rate_hz, base),
        None => Some(SourceSpec::Silence),
    };
    if let Some(db) = d.ducking_db {
        if !(db.is_finite() && db <= 0.0) {
            c.err("device.ducking_db", format!("{db}: how much to lower the playback, in dB (<= 0), e.g. -5"));
        }
    }
    let chain = chain(c, d.vocal_chain.as_ref());
    let inputs: Option<Vec<InputSpec>> = inputs.into_iter().collect();
    Some(Device {
        model: d.model,
        rate_hz,
        frames,
        dsp_time: dsp_time?,
        playback: playback?,
        inputs: inputs?,
        to_pc: match d.to_pc {
            ToPcName::DryCh12 => ToPc::DryCh12,
            ToPcName::InputMix => ToPc::InputMix,
            ToPcName::Loopback => ToPc::Loopback,
        },
        chain,
        ducking_db: d.ducking_db,
        live_capture: false,
    })
}

fn input(
    c: &mut Checker,
    p: &str,
    i: usize,
    channels: usize,
    raw: Option<&RawInput>,
    rate_hz: u32,
    base: &Path,
) -> Option<InputSpec> {
    // Default pan: mono channels in the centre, stereo pairs left/right.
    let default_pan = match (channels, i) {
        (_, 0) => 0.0,
        (6, 1) => 0.0,
        (6, 2) | (6, 4) | (3, 1) => -1.0,
        _ => 1.0,
    };
    let Some(raw) = raw else {
        return Some(InputSpec {
            source: SourceSpec::Silence,
            strip: Strip { gain_db: 0.0, pad: false, phantom: false, mute: false, pan: default_pan },
        });
    };
    let mic = i < 2 && channels == 6 || i == 0;
    for (key, present) in [("pad", raw.pad.is_some()), ("phantom", raw.phantom.is_some())] {
        if present && !mic {
            c.err(format!("{p}.{key}"), "only the mic channels (CH1, CH2) have this switch");
        }
    }
    let gain_db = raw.gain_db.unwrap_or(0.0);
    if !gain_db.is_finite() || gain_db.abs() > 80.0 {
        c.err(format!("{p}.gain_db"), format!("{gain_db} dB: expected -80 to 80"));
    }
    let pan = raw.pan.unwrap_or(default_pan);
    if !(-1.0..=1.0).contains(&pan) {
        c.err(format!("{p}.pan"), format!("{pan}: expected -1 (left) to 1 (right)"));
    }
    let source = match &raw.source {
        Some(s) => source(c, &format!("{p}.source"), s, rate_hz, base),
        None => Some(SourceSpec::Silence),
    };
    Some(InputSpec {
        source: source?,
        strip: Strip {
            gain_db,
            pad: raw.pad.unwrap_or(false),
            phantom: raw.phantom.unwrap_or(false),
            mute: raw.mute.unwrap_or(false),
            pan,
        },
    })
}

fn level(c: &mut Checker, p: &str, db: f64) -> f64 {
    if !db.is_finite() || db > 20.0 {
        c.err(format!("{p}.level_dbfs"), format!("{db} dBFS: expected a finite level up to +20 dBFS"));
    }
    db_to_lin(db)
}

fn source(c: &mut Checker, p: &str, s: &RawSource, rate_hz: u32, base: &Path) -> Option<SourceSpec> {
    match s {
        RawSource::Sine { freq_hz, level_dbfs } => {
            let nyquist = f64::from(rate_hz) / 2.0;
            if !(*freq_hz > 0.0 && *freq_hz < nyquist) {
                c.err(
                    format!("{p}.freq_hz"),
                    format!("{freq_hz} Hz: expected above 0 and below the Nyquist frequency ({nyquist} Hz)"),
                );
            }
            Some(SourceSpec::Sine { freq_hz: *freq_hz, amp: level(c, p, *level_dbfs) })
        }
        RawSource::Noise { level_dbfs } => Some(SourceSpec::Noise { amp: level(c, p, *level_dbfs) }),
        RawSource::Silence => Some(SourceSpec::Silence),
        RawSource::Wav { path } => {
            let full = base.join(path);
            let at = format!("{p}.path");
            let mut reader = match hound::WavReader::open(&full) {
                Ok(r) => r,
                Err(e) => {
                    c.err(at, format!("cannot read WAV `{}`: {e}", full.display()));
                    return None;
                }
            };
            let spec = reader.spec();
            if spec.sample_rate != rate_hz {
                c.err(
                    at,
                    format!(
                        "`{path}` is at {} Hz but the device runs at {rate_hz} Hz: resample the file (the lab does not resample silently: that is the 44.1/48 kHz failure)",
                        spec.sample_rate
                    ),
                );
                return None;
            }
            let ch = usize::from(spec.channels.max(1));
            let samples: Result<Vec<f32>, _> = match spec.sample_format {
                hound::SampleFormat::Float => reader.samples::<f32>().step_by(ch).collect(),
                hound::SampleFormat::Int => {
                    let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
                    reader.samples::<i32>().step_by(ch).map(|s| s.map(|v| v as f32 * scale)).collect()
                }
            };
            match samples {
                Ok(v) => Some(SourceSpec::Wav { path: path.clone(), samples: Arc::from(v) }),
                Err(e) => {
                    c.err(at, format!("cannot read WAV `{}`: {e}", full.display()));
                    None
                }
            }
        }
    }
}

fn secs(d: Option<crate::scenario::raw::Dur>, default: f64) -> f64 {
    d.map(|x| x.0.as_secs_f64()).unwrap_or(default)
}

fn chain(c: &mut Checker, raw: Option<&RawChain>) -> ChainConfig {
    let d = ChainConfig::default();
    let Some(r) = raw else { return d };
    let p = "device.vocal_chain";
    let unit = |c: &mut Checker, key: &str, v: f64| {
        if !(0.0..=1.0).contains(&v) {
            c.err(format!("{p}.{key}"), format!("{v}: expected 0 to 1"));
        }
        v
    };
    let hpf_hz = match &r.hpf {
        Some(h) if h.bypass => None,
        Some(h) => {
            let f = h.freq_hz.unwrap_or(80.0);
            if !(f > 0.0 && f < 20_000.0) {
                c.err(format!("{p}.hpf.freq_hz"), format!("{f} Hz: expected 0 to 20000"));
            }
            Some(f)
        }
        None => d.hpf_hz,
    };
    let gate = match &r.gate {
        Some(g) if g.bypass => None,
        Some(g) => Some(GateParams {
            threshold_db: g.threshold_db.unwrap_or(-45.0),
            attack_s: secs(g.attack, 0.003),
            release_s: secs(g.release, 0.180),
        }),
        None => d.gate.clone(),
    };
    let eq = match &r.eq {
        Some(e) if e.bypass => Vec::new(),
        Some(e) => match &e.bands {
            Some(bands) => bands
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let q = b.q.unwrap_or(1.0);
                    if !(b.freq_hz > 0.0 && b.freq_hz < 24_000.0 && q > 0.0) {
                        c.err(format!("{p}.eq.bands[{i}]"), "expected 0 < freq_hz < 24000 and q > 0");
                    }
                    EqBand { freq_hz: b.freq_hz, gain_db: b.gain_db, q }
                })
                .collect(),
            None => d.eq.clone(),
        },
        None => d.eq.clone(),
    };
    let compressor = match &r.compressor {
        Some(k) if k.bypass => None,
        Some(k) => {
            let ratio = k.ratio.unwrap_or(3.5);
            if !(ratio >= 1.0 && ratio.is_finite()) {
                c.err(format!("{p}.compressor.ratio"), format!("{ratio}: expected >= 1"));
            }
            Some(CompParams {
                threshold_db: k.threshold_db.unwrap_or(-22.0),
                ratio,
                attack_s: secs(k.attack, 0.008),
                release_s: secs(k.release, 0.140),
                makeup_db: k.makeup_db.unwrap_or(5.0),
            })
        }
        None => d.compressor.clone(),
    };
    let reverb = match &r.reverb {
        Some(v) if v.bypass => None,
        Some(v) => Some(ReverbParams {
            mix: unit(c, "reverb.mix", v.mix.unwrap_or(0.28)),
            room_size: unit(c, "reverb.room_size", v.room_size.unwrap_or(0.5)),
            damping: unit(c, "reverb.damping", v.damping.unwrap_or(0.5)),
        }),
        None => d.reverb.clone(),
    };
    let limiter = match &r.limiter {
        Some(l) if l.bypass => None,
        Some(l) => {
            let ceiling = l.ceiling_dbfs.unwrap_or(-1.0);
            if !(ceiling <= 0.0 && ceiling > -60.0) {
                c.err(format!("{p}.limiter.ceiling_dbfs"), format!("{ceiling}: expected -60 to 0 dBFS"));
            }
            Some(LimiterParams { ceiling_dbfs: ceiling, release_s: secs(l.release, 0.050) })
        }
        None => d.limiter.clone(),
    };
    ChainConfig { hpf_hz, gate, eq, compressor, reverb, limiter }
}
