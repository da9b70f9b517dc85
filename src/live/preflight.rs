//! `ag06-lab preflight`: the checks to run before a show, for the failures the seed system kept hitting
//! (DOMAIN.md F1–F6): the right device present, the rate supported (44.1/48 kHz), input that is not
//! bit-exact zeros, no clipping, and no xruns at the chosen buffer size.

use std::fmt::Write as _;
use std::time::Duration;

use cpal::traits::DeviceTrait;

use super::AudioBackend;
use super::device::{CpalBackend, StreamSpec, find, is_ag06, list, list_text};
use crate::dsp::chain::ChainConfig;
use crate::dsp::mixer::{MixerConfig, Strip, ToPc};
use crate::scenario::device::SourceSpec;

/// What to check.
#[derive(Clone, Debug)]
pub struct Options {
    /// Device substring (default: the first AG06/AG03).
    pub device: Option<String>,
    /// Sample rate [Hz].
    pub rate_hz: u32,
    /// Frames per buffer.
    pub frames: u32,
    /// Seconds of input to look at for silence and clipping.
    pub listen_s: f64,
    /// Seconds to count xruns over.
    pub xrun_s: f64,
}

/// The verdict of one check.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Fine.
    Ok,
    /// Worth a look; does not fail the preflight.
    Warn,
    /// Fails the preflight.
    Fail,
    /// Not checked (an earlier check failed).
    Skipped,
}

/// One line of the table.
#[derive(Clone, Debug)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// The verdict.
    pub status: Status,
    /// The figures.
    pub detail: String,
}

/// The checks, in order.
pub fn run(opts: &Options) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut push = |name, status, detail: String| checks.push(Check { name, status, detail });
    let (host, device) = match find(opts.device.as_deref()) {
        Ok(x) => x,
        Err(e) => {
            push("device", Status::Fail, e.to_string());
            for name in ["sample rate", "input not silent", "no clipping", "xruns"] {
                push(name, Status::Skipped, "no device".into());
            }
            return checks;
        }
    };
    let name = device.description().map(|d| d.name().to_string()).unwrap_or_else(|_| "?".into());
    let id = device.id().map(|i| i.to_string()).unwrap_or_default();
    let ag06 = is_ag06(&name) || is_ag06(&id);
    push(
        "device",
        if ag06 || opts.device.is_some() { Status::Ok } else { Status::Warn },
        format!("{name} ({id}) on {host}{}", if ag06 { ", an AG06/AG03" } else { "" }),
    );
    // The rate: what the device runs at by default, and whether it can do the requested one.
    let default_rate = device.default_input_config().ok().map(|c| c.sample_rate());
    let mismatch = default_rate.is_some_and(|r| r != opts.rate_hz);
    let rate_note = match default_rate {
        Some(r) if mismatch && (r == 44_100 || r == 48_000) => format!(
            "; its default is {r} Hz: an app that opens it at its default rate must resample, or it plays {:.1}% off pitch (F3)",
            (f64::from(opts.rate_hz) / f64::from(r) - 1.0).abs() * 100.0
        ),
        Some(r) if mismatch => format!("; its default is {r} Hz"),
        _ => String::new(),
    };
    let mixer = MixerConfig {
        strips: vec![Strip { gain_db: 0.0, pad: false, phantom: false, mute: false, pan: 0.0 }; 2],
        to_pc: ToPc::DryCh12,
        chain: ChainConfig::bypassed(),
        ducking_db: None,
    };
    let query = opts.device.clone();
    let spec = StreamSpec { mixer, playback: SourceSpec::Silence, seed: 0, rate_hz: opts.rate_hz, frames: opts.frames };
    let mut backend = match CpalBackend::open(host, query, device, spec) {
        Ok(b) => {
            push(
                "sample rate",
                if mismatch { Status::Warn } else { Status::Ok },
                format!("{} Hz with {}-frame buffers opened{rate_note}", opts.rate_hz, opts.frames),
            );
            b
        }
        Err(e) => {
            push("sample rate", Status::Fail, e.to_string());
            for name in ["input not silent", "no clipping", "xruns"] {
                push(name, Status::Skipped, "the streams did not open".into());
            }
            return checks;
        }
    };
    let heard = listen(&mut backend, opts);
    let info = backend.info();
    backend.close();
    checks.extend(input_checks(&heard, opts));
    checks.push(xrun_check(&heard, opts, info.stream_errors));
    checks
}

/// What the input sounded like while preflight listened, and the callbacks it counted.
#[derive(Default)]
struct Heard {
    frames: u64,
    nonzero: u64,
    clipped: u64,
    peak: f32,
    sum_sq: f64,
    xruns: u64,
    xrun_callbacks: u64,
}

fn check(name: &'static str, status: Status, detail: String) -> Check {
    Check { name, status, detail }
}

/// Listens to the captured input for `listen_s`, counting xruns over `xrun_s` after half a second of
/// settling.
fn listen(backend: &mut CpalBackend, opts: &Options) -> Heard {
    // Xruns are counted after half a second of settling.
    let total = opts.listen_s.max(opts.xrun_s + 0.5);
    let start = super::now();
    let mut h = Heard::default();
    while start.elapsed().as_secs_f64() < total {
        std::thread::sleep(Duration::from_millis(20));
        let t = start.elapsed().as_secs_f64();
        backend.poll(&mut |p, m| {
            // The first half second is the streams settling; xruns are counted after it.
            if t > 0.5 && t <= opts.xrun_s + 0.5 {
                h.xrun_callbacks += 1;
                h.xruns += u64::from(p.xrun);
            }
            if t <= opts.listen_s {
                for ch in &m[..2] {
                    for &x in ch {
                        h.frames += 1;
                        h.nonzero += u64::from(x != 0.0);
                        h.clipped += u64::from(x.abs() >= 0.999);
                        h.peak = h.peak.max(x.abs());
                        h.sum_sq += f64::from(x) * f64::from(x);
                    }
                }
            }
        });
    }
    h
}

/// "input not silent" and "no clipping".
fn input_checks(h: &Heard, opts: &Options) -> Vec<Check> {
    let mut checks = Vec::with_capacity(2);
    if h.frames == 0 {
        checks.push(check(
            "input not silent",
            Status::Fail,
            format!("no input arrived in {:.0} s: the input stream is not running", opts.listen_s),
        ));
    } else if h.nonzero == 0 {
        checks.push(check(
            "input not silent",
            Status::Fail,
            format!(
                "{} samples over {:.0} s, every one bit-exact zero: a denied microphone permission (F5), a stale device (F1) or nothing connected",
                h.frames, opts.listen_s
            ),
        ));
    } else {
        let rms = (h.sum_sq / h.frames as f64).sqrt();
        let rms_db = 20.0 * rms.max(1e-12).log10();
        checks.push(check(
            "input not silent",
            if rms_db < -60.0 { Status::Warn } else { Status::Ok },
            format!(
                "RMS {rms_db:.1} dBFS, peak {:.1} dBFS{}",
                20.0 * f64::from(h.peak).max(1e-12).log10(),
                if rms_db < -60.0 { ": nearly silent, check the gain and the LOOPBACK level (F2)" } else { "" }
            ),
        ));
    }
    checks.push(check(
        "no clipping",
        if h.clipped > 0 {
            Status::Fail
        } else if h.frames == 0 {
            Status::Skipped
        } else {
            Status::Ok
        },
        if h.clipped > 0 {
            format!("{} samples at full scale: lower the gain or engage PAD", h.clipped)
        } else {
            format!("peak {:.1} dBFS", 20.0 * f64::from(h.peak).max(1e-12).log10())
        },
    ));
    checks
}

/// "xruns": none in `xrun_s`, and as many callbacks as the rate asks for.
fn xrun_check(h: &Heard, opts: &Options, stream_errors: u64) -> Check {
    let period_s = f64::from(opts.frames) / f64::from(opts.rate_hz);
    let expected = opts.xrun_s / period_s;
    let mut detail = format!(
        "{} xruns in {} callbacks over {:.0} s at {} frames (expected ~{expected:.0} callbacks); host reported {} stream errors",
        h.xruns, h.xrun_callbacks, opts.xrun_s, opts.frames, stream_errors
    );
    let slow = (h.xrun_callbacks as f64) < 0.9 * expected;
    if slow {
        let _ = write!(detail, "; callbacks are slower than the rate: the stream is not paced as asked");
    }
    check(
        "xruns",
        if h.xruns > 0 {
            Status::Fail
        } else if slow {
            Status::Warn
        } else {
            Status::Ok
        },
        detail,
    )
}

/// The checks as the terminal table: check, result, detail.
pub fn table(checks: &[Check]) -> String {
    let mut t = format!("{:<18} {:<7} detail\n", "check", "result");
    for c in checks {
        let status = match c.status {
            Status::Ok => "ok",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skipped => "skipped",
        };
        let mut lines = c.detail.lines();
        let _ = writeln!(t, "{:<18} {:<7} {}", c.name, status, lines.next().unwrap_or(""));
        for l in lines {
            let _ = writeln!(t, "{:<27}{l}", "");
        }
    }
    t
}

/// `ag06-lab devices`.
pub fn devices() -> String {
    let d = list();
    let ag = d.iter().filter(|x| x.ag06).count();
    format!("{}{} devices, {ag} AG06/AG03\n", list_text(&d), d.len())
}
