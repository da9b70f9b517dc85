//! The cpal side of live mode: finding the interface, checking what it supports, opening its input and
//! output streams at the scenario's rate with a fixed buffer size, and the callbacks that run the
//! [`Engine`].

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample, SupportedBufferSize, SupportedStreamConfigRange};

use super::engine::{Capture, Controls, Engine, Period, Taps, enter_callback, leave_callback};
use super::{AudioBackend, BackendInfo};
use crate::dsp::mixer::MixerConfig;
use crate::scenario::device::SourceSpec;
use crate::sim::SimDuration;

/// Why the interface could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// Nothing matched.
    #[error("no audio device matches {query}; devices found:\n{list}")]
    NoDevice {
        /// What was looked for.
        query: String,
        /// What there is.
        list: String,
    },
    /// The device cannot do what the scenario asks.
    #[error("{device} does not support {what}; it supports:\n{supported}")]
    Unsupported {
        /// Device name.
        device: String,
        /// What was asked.
        what: String,
        /// What it offers.
        supported: String,
    },
    /// Another application has the device.
    #[error("{device} is busy: another application has it open (close it, or choose another device with --device)")]
    Busy {
        /// Device name.
        device: String,
    },
    /// Any other host error.
    #[error("{device}: {message}")]
    Host {
        /// Device name.
        device: String,
        /// The host's message.
        message: String,
    },
}

/// Whether a device name is an AG06 or AG03 (any OS's spelling).
pub fn is_ag06(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("ag06") || n.contains("ag03")
}

/// One device as listed.
#[derive(Clone, Debug)]
pub struct Listed {
    /// Host name.
    pub host: String,
    /// Device id (`alsa:hw:CARD=...`).
    pub id: String,
    /// Description.
    pub name: String,
    /// Supported input configurations.
    pub inputs: Vec<String>,
    /// Supported output configurations.
    pub outputs: Vec<String>,
    /// An AG06/AG03.
    pub ag06: bool,
}

fn name_of(d: &cpal::Device) -> String {
    d.description().map(|x| x.name().to_string()).unwrap_or_else(|_| "?".into())
}

fn id_of(d: &cpal::Device) -> String {
    d.id().map(|i| i.to_string()).unwrap_or_else(|_| name_of(d))
}

/// Configurations sharing a format and rate range: (format, min rate, max rate, min channels, max
/// channels, buffer range).
type Group = (SampleFormat, u32, u32, u16, u16, Option<(u32, u32)>);

/// Configurations condensed: one line per sample format and rate range, channels and buffer sizes as
/// ranges over the configurations that share them.
fn condense(ranges: impl Iterator<Item = SupportedStreamConfigRange>) -> Vec<String> {
    let mut groups: Vec<Group> = Vec::new();
    for r in ranges {
        let buf = match r.buffer_size() {
            SupportedBufferSize::Range { min, max } => Some((*min, *max)),
            SupportedBufferSize::Unknown => None,
        };
        let key = (r.sample_format(), r.min_sample_rate(), r.max_sample_rate());
        match groups.iter_mut().find(|g| (g.0, g.1, g.2) == key) {
            Some(g) => {
                g.3 = g.3.min(r.channels());
                g.4 = g.4.max(r.channels());
                g.5 = match (g.5, buf) {
                    (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
                    (a, b) => a.or(b),
                };
            }
            None => groups.push((key.0, key.1, key.2, r.channels(), r.channels(), buf)),
        }
    }
    groups
        .into_iter()
        .map(|(fmt, lo, hi, cmin, cmax, buf)| {
            let ch = if cmin == cmax { format!("{cmin} ch") } else { format!("{cmin}..{cmax} ch") };
            let rate = if lo == hi { format!("{lo} Hz") } else { format!("{lo}..{hi} Hz") };
            let buf =
                buf.map(|(a, b)| format!("buffer {a}..{b} frames")).unwrap_or_else(|| "buffer size unknown".into());
            format!("{ch}, {rate}, {fmt}, {buf}")
        })
        .collect()
}

/// Keeps ALSA's messages about plug-ins it cannot load (a server that is not running, a missing card)
/// off stderr while devices are probed, on this thread.
fn quiet_alsa() -> Option<Box<dyn std::any::Any>> {
    #[cfg(target_os = "linux")]
    {
        alsa::Output::local_error_handler().ok().map(|g| Box::new(g) as Box<dyn std::any::Any>)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Every device of every available host, with its configurations.
pub fn list() -> Vec<Listed> {
    let _quiet = quiet_alsa();
    let mut out = Vec::new();
    for host_id in cpal::available_hosts() {
        let Ok(host) = cpal::host_from_id(host_id) else { continue };
        let Ok(devices) = host.devices() else { continue };
        for d in devices {
            let (name, id) = (name_of(&d), id_of(&d));
            let inputs = d.supported_input_configs().map(condense).unwrap_or_default();
            let outputs = d.supported_output_configs().map(condense).unwrap_or_default();
            let ag06 = is_ag06(&name) || is_ag06(&id);
            out.push(Listed { host: host_id.name().to_string(), id, name, inputs, outputs, ag06 });
        }
    }
    out
}

/// The device list as text (what `ag06-lab devices` prints, and errors quote).
pub fn list_text(devices: &[Listed]) -> String {
    let mut t = String::new();
    if devices.is_empty() {
        t.push_str("  (none: no audio host found a device)\n");
    }
    for d in devices {
        let _ = writeln!(t, "  {} {} — {}{}", d.host, d.id, d.name, if d.ag06 { "  [AG06/AG03]" } else { "" });
        for c in &d.inputs {
            let _ = writeln!(t, "      in:  {c}");
        }
        for c in &d.outputs {
            let _ = writeln!(t, "      out: {c}");
        }
    }
    t
}

/// Finds the device: the first whose id or name contains `query` (case-insensitive), or without a query
/// the first AG06/AG03; it must have both input and output.
pub fn find(query: Option<&str>) -> Result<(String, cpal::Device), LiveError> {
    let _quiet = quiet_alsa();
    let wanted = query.map(str::to_ascii_lowercase);
    for host_id in cpal::available_hosts() {
        let Ok(host) = cpal::host_from_id(host_id) else { continue };
        let Ok(devices) = host.devices() else { continue };
        for d in devices {
            let (name, id) = (name_of(&d), id_of(&d));
            let hit = match &wanted {
                Some(q) => name.to_ascii_lowercase().contains(q) || id.to_ascii_lowercase().contains(q),
                None => is_ag06(&name) || is_ag06(&id),
            };
            if hit && d.supports_input() && d.supports_output() {
                return Ok((host_id.name().to_string(), d));
            }
        }
    }
    Err(LiveError::NoDevice {
        query: match query {
            Some(q) => format!("\"{q}\" (with input and output)"),
            None => "AG06/AG03 (pass --device to choose another)".into(),
        },
        list: list_text(&list()),
    })
}

fn host_err(device: &str, e: cpal::Error) -> LiveError {
    match e.kind() {
        cpal::ErrorKind::DeviceBusy => LiveError::Busy { device: device.into() },
        _ => LiveError::Host { device: device.into(), message: e.to_string() },
    }
}

/// Picks a supported configuration with `rate_hz`, at least `min_channels` channels, and `frames` within
/// its buffer range; f32 preferred.
fn pick(
    device: &str,
    ranges: Vec<SupportedStreamConfigRange>,
    rate_hz: u32,
    frames: u32,
    direction: &str,
) -> Result<(cpal::StreamConfig, SampleFormat), LiveError> {
    let fits_rate = |r: &SupportedStreamConfigRange| r.min_sample_rate() <= rate_hz && rate_hz <= r.max_sample_rate();
    let fits_frames = |r: &SupportedStreamConfigRange| match r.buffer_size() {
        SupportedBufferSize::Range { min, max } => *min <= frames && frames <= *max,
        SupportedBufferSize::Unknown => true,
    };
    let supported = condense(ranges.iter().cloned()).iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n");
    let rated: Vec<&SupportedStreamConfigRange> = ranges.iter().filter(|r| fits_rate(r)).collect();
    if rated.is_empty() {
        let mut what = format!("{direction} at {rate_hz} Hz");
        if ranges.iter().any(|r| r.min_sample_rate() <= 44_100 && 44_100 <= r.max_sample_rate()) && rate_hz == 48_000 {
            what.push_str(" (it runs at 44.1 kHz: set sample_rate_hz = 44100, or switch the interface to 48 kHz)");
        }
        return Err(LiveError::Unsupported { device: device.into(), what, supported });
    }
    let sized: Vec<&&SupportedStreamConfigRange> = rated.iter().filter(|r| fits_frames(r)).collect();
    if sized.is_empty() {
        return Err(LiveError::Unsupported {
            device: device.into(),
            what: format!("{direction} buffers of {frames} frames at {rate_hz} Hz"),
            supported,
        });
    }
    let rank = |f: SampleFormat| match f {
        SampleFormat::F32 => 0,
        SampleFormat::I32 => 1,
        SampleFormat::I16 => 2,
        _ => 9,
    };
    let best = sized
        .iter()
        .filter(|r| rank(r.sample_format()) < 9)
        .min_by_key(|r| (rank(r.sample_format()), r.channels() < 2, r.channels()))
        .ok_or_else(|| LiveError::Unsupported {
            device: device.into(),
            what: format!("{direction} in f32, i32 or i16"),
            supported: supported.clone(),
        })?;
    let config = cpal::StreamConfig {
        channels: best.channels(),
        sample_rate: rate_hz,
        buffer_size: cpal::BufferSize::Fixed(frames),
    };
    Ok((config, best.sample_format()))
}

/// What opening the streams needs, kept to reopen them after a disconnect.
/// What a stream is opened with.
#[derive(Clone, Debug)]
pub struct StreamSpec {
    /// The DSP run in the callback.
    pub mixer: MixerConfig,
    /// The computer's playback.
    pub playback: SourceSpec,
    /// The playback's random stream derives from it.
    pub seed: u64,
    /// The sample rate.
    pub rate_hz: u32,
    /// Frames per buffer.
    pub frames: u32,
}

/// A real interface: its two streams and the rings to the actors.
pub struct CpalBackend {
    host: String,
    name: String,
    /// What it was found by (`--device`), to find it again after it was lost: it may come back under
    /// another index.
    query: Option<String>,
    device: cpal::Device,
    /// The first error that ended a stream since they were opened (the error callback's, outside the
    /// audio callback).
    fatal: Arc<std::sync::Mutex<Option<String>>>,
    spec: StreamSpec,
    controls: Arc<Controls>,
    streams: Option<(cpal::Stream, cpal::Stream)>,
    taps: Option<Taps>,
    scratch: [Vec<f32>; 4],
    overflow: Arc<std::sync::atomic::AtomicU64>,
}

impl CpalBackend {
    /// Opens `device` of `host` (found by [`find`] with `query`) as `spec` says.
    pub fn open(
        host: String,
        query: Option<String>,
        device: cpal::Device,
        spec: StreamSpec,
    ) -> Result<CpalBackend, LiveError> {
        let name = format!("{} ({})", name_of(&device), id_of(&device));
        let mut b = CpalBackend {
            host,
            name,
            query,
            device,
            fatal: Arc::default(),
            spec,
            controls: Controls::new(),
            streams: None,
            taps: None,
            scratch: Default::default(),
            overflow: Arc::default(),
        };
        b.start()?;
        Ok(b)
    }

    fn start(&mut self) -> Result<(), LiveError> {
        let name = self.name.clone();
        let ins = self.device.supported_input_configs().map_err(|e| host_err(&name, e))?.collect();
        let outs = self.device.supported_output_configs().map_err(|e| host_err(&name, e))?.collect();
        let (in_cfg, in_fmt) = pick(&name, ins, self.spec.rate_hz, self.spec.frames, "input")?;
        let (out_cfg, out_fmt) = pick(&name, outs, self.spec.rate_hz, self.spec.frames, "output")?;
        let (engine, capture, taps) = Engine::new(
            self.spec.mixer.clone(),
            self.spec.playback.build(self.spec.seed, "device/playback"),
            self.spec.rate_hz,
            self.spec.frames,
            usize::from(in_cfg.channels),
            usize::from(out_cfg.channels),
            self.controls.clone(),
        );
        self.overflow = capture.overflow_frames.clone();
        let max = self.spec.frames as usize * 4;
        let input = match in_fmt {
            SampleFormat::I16 => self.input::<i16>(&in_cfg, capture, max)?,
            SampleFormat::I32 => self.input::<i32>(&in_cfg, capture, max)?,
            _ => self.input::<f32>(&in_cfg, capture, max)?,
        };
        let output = match out_fmt {
            SampleFormat::I16 => self.output::<i16>(&out_cfg, engine, max)?,
            SampleFormat::I32 => self.output::<i32>(&out_cfg, engine, max)?,
            _ => self.output::<f32>(&out_cfg, engine, max)?,
        };
        output.play().map_err(|e| host_err(&name, e))?;
        input.play().map_err(|e| host_err(&name, e))?;
        self.streams = Some((input, output));
        self.taps = Some(taps);
        Ok(())
    }

    fn errors(&self) -> impl FnMut(cpal::Error) + Send + 'static {
        let c = self.controls.clone();
        let fatal = self.fatal.clone();
        move |e| {
            c.stream_errors.fetch_add(1, Ordering::Relaxed);
            if e.kind() == cpal::ErrorKind::Xrun {
                c.host_xruns.fetch_add(1, Ordering::Relaxed);
            } else if let Ok(mut f) = fatal.try_lock() {
                // Any other error ends the stream (device not available, backend failure): keep the first.
                f.get_or_insert_with(|| e.to_string());
            }
        }
    }

    fn input<T>(&self, cfg: &cpal::StreamConfig, mut capture: Capture, max: usize) -> Result<cpal::Stream, LiveError>
    where
        T: SizedSample + Send + 'static,
        f32: FromSample<T>,
    {
        let mut buf = vec![0.0f32; max * usize::from(cfg.channels)];
        self.device
            .build_input_stream::<T, _, _>(
                *cfg,
                move |data: &[T], _info: &cpal::InputCallbackInfo| {
                    enter_callback();
                    let n = data.len().min(buf.len());
                    for (o, s) in buf[..n].iter_mut().zip(data) {
                        *o = f32::from_sample(*s);
                    }
                    capture.push(&buf[..n]);
                    leave_callback();
                },
                self.errors(),
                None,
            )
            .map_err(|e| host_err(&self.name, e))
    }

    fn output<T>(&self, cfg: &cpal::StreamConfig, mut engine: Engine, max: usize) -> Result<cpal::Stream, LiveError>
    where
        T: SizedSample + FromSample<f32> + Send + 'static,
    {
        let mut buf = vec![0.0f32; max * usize::from(cfg.channels)];
        self.device
            .build_output_stream::<T, _, _>(
                *cfg,
                move |data: &mut [T], info: &cpal::OutputCallbackInfo| {
                    enter_callback();
                    let n = data.len().min(buf.len());
                    let at = info.timestamp().callback.as_nanos() as u64;
                    engine.process(&mut buf[..n], at);
                    for (o, s) in data.iter_mut().zip(&buf[..n]) {
                        *o = s.to_sample::<T>();
                    }
                    leave_callback();
                },
                self.errors(),
                None,
            )
            .map_err(|e| host_err(&self.name, e))
    }
}

impl AudioBackend for CpalBackend {
    fn poll(&mut self, f: &mut dyn FnMut(Period, &[Vec<f32>; 4])) {
        if let Some(t) = self.taps.as_mut() {
            t.drain(&mut self.scratch, |p, m| f(p, m));
        }
    }

    fn set_faults(&mut self, stall: SimDuration, silence: bool, clip_gain: f64) {
        self.controls.set(stall.as_nanos(), silence, clip_gain as f32);
    }

    fn close(&mut self) {
        self.streams = None;
        self.taps = None;
    }

    /// Opens the streams again, on the device found again by name among the host's devices.
    fn reopen(&mut self) -> Result<(), String> {
        self.close();
        if let Ok(mut f) = self.fatal.lock() {
            *f = None;
        }
        let (host, device) = find(self.query.as_deref()).map_err(|e| e.to_string())?;
        self.host = host;
        self.device = device;
        self.start().map_err(|e| e.to_string())
    }

    fn fatal_error(&self) -> Option<String> {
        self.fatal.lock().ok().and_then(|f| f.clone())
    }

    fn info(&self) -> BackendInfo {
        BackendInfo {
            host: self.host.clone(),
            device: self.name.clone(),
            stream_errors: self.controls.stream_errors.load(Ordering::Relaxed),
            host_xruns: self.controls.host_xruns.load(Ordering::Relaxed),
            capture_overflow_frames: self.overflow.load(Ordering::Relaxed),
        }
    }
}
