//! The audio lane: the audio path's sample work (the mixer's DSP, the monitor's meters, loudness and
//! recording) on a thread of its own, in the order the actors hand it over.
//!
//! The mixer and the monitor decide everything that shapes the run on the lab's thread: which periods are
//! late or missing, when a window closes, what goes to whom. What they do to the samples feeds nothing back
//! into the run but the window a probe asks for, so it can run beside the lab: the monitor hands each
//! step to the lane through a bounded queue (the lab waits when the lane is that far behind) and the lane
//! does the steps one after the other, in the order they were sent. The results are the same bits as doing
//! them on the lab's thread, whatever the two threads' timing: one thread does all the sample work, in one
//! order. A probe's question waits for the lane to have done every step before it; the run's end waits for
//! all of them.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use super::{AudioBlock, AudioRow};
use crate::dsp::loudness::Loudness;
use crate::dsp::meter::ChannelMeter;
use crate::dsp::mixer::Mixer;
use crate::model::rows::{AudioRow as CsvRow, CsvSpool};
use crate::scenario::device::Device;

/// Steps handed over at a time: the two threads meet once a batch, not once a step.
const BATCH: usize = 16;

/// Batches the lane may be behind the lab before the lab waits: at most (QUEUE + 2) × BATCH blocks in
/// flight (0.4 MB for two inputs at 256 frames, 2.6 MB for six at 1024).
const QUEUE: usize = 2;

/// One step of the sample work.
pub(crate) enum Step {
    /// A delivered period: mix it first if `mix` (a modelled device's block, not yet through the DSP),
    /// then measure it: its inputs always, its outputs and what the computer captured if it was on time
    /// (a late period captured silence).
    Block {
        /// The period.
        b: Box<AudioBlock>,
        /// Run the mixer on it.
        mix: bool,
    },
    /// The computer captured `frames` of silence (a missing period).
    Silence {
        /// Its length.
        frames: usize,
    },
    /// The window that started at `t_s` closes, with the device-wide figures the monitor counted.
    Close {
        /// Its start [s].
        t_s: f64,
        /// Xruns in it.
        xruns: u64,
        /// Missing periods in it.
        missing: u64,
        /// The mean DSP load of its delivered periods.
        dsp_load: Option<f64>,
    },
    /// Send back the last window's row of the first channel (a probe asks).
    Last,
}

/// What the lane measured over the run.
pub(crate) struct Measured {
    /// Whole-run measures per channel.
    pub meters: Vec<ChannelMeter>,
    /// One row per window, of the first channel.
    pub windows: Vec<AudioRow>,
    /// `audio.csv`.
    pub csv: CsvSpool<CsvRow>,
    /// Integrated loudness of what the computer captured, or why it is unknown.
    pub output_lufs: std::io::Result<Option<f64>>,
    /// A recording problem, if any.
    pub record_error: Option<String>,
}

/// The lab's end of the lane.
pub(crate) enum Lane {
    /// On a thread of its own.
    Thread(Remote),
    /// On the lab's thread, step by step as they come: where the run shares the cores with other runs
    /// (a sweep's, an exploration's), or the machine has one.
    Inline(Box<Plane>),
}

/// A lane on a thread of its own.
pub(crate) struct Remote {
    /// The steps not handed over yet.
    batch: Vec<Step>,
    steps: Option<SyncSender<Vec<Step>>>,
    rows: Receiver<Option<AudioRow>>,
    thread: Option<JoinHandle<Option<Measured>>>,
}

impl Lane {
    /// Starts the lane of `device`, with windows of `window_rows` rows reserved, recording to `record` if
    /// given; the blocks it is done with go back on `done`. On a thread of its own where the run has a
    /// core to spare: not in a pool of runs (which has a thread per core), not on a one-core machine.
    pub(crate) fn start(
        device: &Device,
        window_rows: usize,
        record: Option<PathBuf>,
        done: Sender<Box<AudioBlock>>,
    ) -> Lane {
        let plane = Box::new(Plane::new(device, window_rows, record, done));
        let spare =
            rayon::current_thread_index().is_none() && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        if !spare {
            return Lane::Inline(plane);
        }
        let (steps, inbox) = sync_channel::<Vec<Step>>(QUEUE);
        let (rows_tx, rows) = channel();
        // The plane goes over once the thread runs, so that it stays here if no thread can be had.
        let (plane_tx, plane_rx) = channel::<Box<Plane>>();
        let spawned = std::thread::Builder::new().name("audio-lane".into()).spawn(move || {
            let mut plane = plane_rx.recv().ok()?;
            for batch in inbox {
                for step in batch {
                    if let Some(row) = plane.step(step) {
                        // The monitor waits for it; gone only if the lab is being torn down.
                        let _ = rows_tx.send(row);
                    }
                }
            }
            Some(plane.finish())
        });
        match spawned {
            Ok(thread) => {
                let _ = plane_tx.send(plane);
                Lane::Thread(Remote {
                    batch: Vec::with_capacity(BATCH),
                    steps: Some(steps),
                    rows,
                    thread: Some(thread),
                })
            }
            // No thread to be had: the lane on this one (the same bits, only slower).
            Err(e) => {
                tracing::debug!(error = %e, "no thread for the audio lane: the audio path runs on the lab's");
                Lane::Inline(plane)
            }
        }
    }

    /// Hands `step` to the lane (on a thread of its own, in a batch of [`BATCH`], waiting while the lane
    /// is [`QUEUE`] batches behind).
    pub(crate) fn send(&mut self, step: Step) {
        match self {
            Lane::Inline(plane) => {
                plane.step(step);
            }
            Lane::Thread(r) => {
                r.batch.push(step);
                if r.batch.len() >= BATCH {
                    r.flush();
                }
            }
        }
    }

    /// The last window's row of the first channel, once the lane has done every step sent before.
    pub(crate) fn last_row(&mut self) -> Option<AudioRow> {
        match self {
            Lane::Inline(plane) => plane.windows.last().cloned(),
            Lane::Thread(r) => {
                r.batch.push(Step::Last);
                r.flush();
                match r.rows.recv() {
                    Ok(row) => row,
                    Err(_) => r.lane_died(),
                }
            }
        }
    }

    /// Waits for the lane to do every step sent, and takes what it measured.
    pub(crate) fn finish(self) -> Measured {
        match self {
            Lane::Inline(plane) => plane.finish(),
            Lane::Thread(mut r) => {
                r.flush();
                r.steps = None;
                match r.thread.take().map(JoinHandle::join) {
                    Some(Ok(Some(m))) => m,
                    Some(Err(panic)) => std::panic::resume_unwind(panic),
                    Some(Ok(None)) | None => panic!("the audio lane's thread panicked earlier in the run"),
                }
            }
        }
    }
}

impl Remote {
    /// Hands the steps not handed over yet to the lane.
    fn flush(&mut self) {
        let mut batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        let Some(steps) = &self.steps else { self.lane_died() };
        loop {
            match steps.try_send(batch) {
                Ok(()) => return,
                Err(std::sync::mpsc::TrySendError::Full(b)) => {
                    batch = b;
                    // The lane is behind: give the core away until it has taken a batch (parking
                    // here would make the lane wake this thread, a system call, at every batch).
                    std::thread::yield_now();
                }
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => self.lane_died(),
            }
        }
    }

    /// The lane's thread stopped taking steps: it panicked; that panic goes on here, on the lab's thread.
    fn lane_died(&mut self) -> ! {
        self.steps = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            _ => panic!("the audio lane's thread panicked earlier in the run"),
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // A run torn down before its end: let the lane run out (it ends when its queue closes), without
        // the steps not handed over.
        self.steps = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The lane's state: the mixer, the meters, the loudness meter and the recording.
pub(crate) struct Plane {
    mixer: Mixer,
    /// Channel names: ch1.., out_l, out_r.
    channels: Vec<String>,
    win_meters: Vec<ChannelMeter>,
    meters: Vec<ChannelMeter>,
    windows: Vec<AudioRow>,
    csv: CsvSpool<CsvRow>,
    loudness: Loudness,
    interleaved: Vec<f32>,
    zeros: Vec<f32>,
    recorder: Option<hound::WavWriter<std::io::BufWriter<std::fs::File>>>,
    record_error: Option<String>,
    done: Sender<Box<AudioBlock>>,
}

impl Plane {
    fn new(device: &Device, window_rows: usize, record: Option<PathBuf>, done: Sender<Box<AudioBlock>>) -> Self {
        let channels = device.inputs.len() + 2;
        let mut record_error = None;
        let recorder = record.and_then(|p| {
            let spec = hound::WavSpec {
                channels: 2,
                sample_rate: device.rate_hz,
                bits_per_sample: 32,
                sample_format: hound::SampleFormat::Float,
            };
            match hound::WavWriter::create(&p, spec) {
                Ok(w) => Some(w),
                Err(e) => {
                    record_error = Some(format!("cannot create `{}`: {e}", p.display()));
                    None
                }
            }
        });
        let mut windows = Vec::new();
        crate::metrics::reserve_windows(&mut windows, window_rows, 1);
        Plane {
            mixer: Mixer::new(device.mixer(), f64::from(device.rate_hz)),
            channels: device.channel_names(),
            win_meters: vec![ChannelMeter::default(); channels],
            meters: vec![ChannelMeter::default(); channels],
            windows,
            csv: CsvSpool::new(),
            loudness: Loudness::new(device.rate_hz),
            interleaved: Vec::new(),
            zeros: Vec::new(),
            recorder,
            record_error,
            done,
        }
    }

    /// Does one step; [`Step::Last`] answers with a row.
    fn step(&mut self, step: Step) -> Option<Option<AudioRow>> {
        match step {
            Step::Block { mut b, mix } => {
                if mix {
                    self.mix(&mut b);
                }
                self.measure(&b);
                // The device reuses it; gone only if the device is (the run is being torn down).
                let _ = self.done.send(b);
            }
            Step::Silence { frames } => self.captured_silence(frames),
            Step::Close { t_s, xruns, missing, dsp_load } => self.close(t_s, xruns, missing, dsp_load),
            Step::Last => return Some(self.windows.last().cloned()),
        }
        None
    }

    /// The mixer's DSP on `b`: the bus's clipped samples counted after the inputs', and silence captured
    /// in place of the mix if the computer captures silence.
    fn mix(&mut self, b: &mut AudioBlock) {
        let n0 = b.n * b.out[0].len() as u64;
        let AudioBlock { inputs, playback, out, clipped, .. } = b;
        let [l, r] = out;
        let bus = self.mixer.process(n0, inputs, [&playback[0], &playback[1]], [l, r]);
        let k = inputs.len();
        clipped.resize(k + 2, 0);
        clipped[k] = bus[0];
        clipped[k + 1] = bus[1];
        if b.captured_silence {
            b.out[0].fill(0.0);
            b.out[1].fill(0.0);
        }
    }

    /// Measures a delivered period: its inputs, and if it was on time its outputs and what the computer
    /// captured (silence if it was late).
    fn measure(&mut self, b: &AudioBlock) {
        let inputs = b.inputs.len();
        for (ch, buf) in b.inputs.iter().enumerate() {
            let clipped = u64::from(b.clipped.get(ch).copied().unwrap_or(0));
            self.meter(ch, buf, clipped);
        }
        if b.xrun {
            self.captured_silence(b.out[0].len());
        } else {
            for k in 0..2 {
                let clipped = u64::from(b.clipped.get(inputs + k).copied().unwrap_or(0));
                self.meter(inputs + k, &b.out[k], clipped);
            }
            self.captured(&b.out[0], &b.out[1]);
        }
    }

    /// Measures one block of channel `ch` once, into its window's meter and the whole run's.
    fn meter(&mut self, ch: usize, buf: &[f32], clipped: u64) {
        let mut m = ChannelMeter::default();
        m.add(buf);
        m.clipped = clipped;
        self.win_meters[ch].merge(&m);
        self.meters[ch].merge(&m);
    }

    /// The window that started at `t_s` closes: a row per channel.
    fn close(&mut self, t_s: f64, xruns: u64, missing: u64, dsp_load: Option<f64>) {
        for (ch, m) in self.win_meters.iter_mut().enumerate() {
            let row = AudioRow { t_s, channel: ch, meter: std::mem::take(m), xruns, missing, dsp_load };
            self.csv.push(&row.csv_row(&self.channels[ch]));
            if ch == 0 {
                self.windows.push(row);
            }
        }
    }

    /// The computer captured `frames` of nothing (a late or missing period).
    fn captured_silence(&mut self, frames: usize) {
        let mut zeros = std::mem::take(&mut self.zeros);
        zeros.resize(frames, 0.0);
        self.captured(&zeros, &zeros);
        self.zeros = zeros;
    }

    /// Feeds what the computer captured to the loudness meter and the recording.
    fn captured(&mut self, l: &[f32], r: &[f32]) {
        self.loudness.add(l, r);
        if let Some(w) = &mut self.recorder {
            self.interleaved.clear();
            self.interleaved.extend(l.iter().zip(r).flat_map(|(a, b)| [*a, *b]));
            for s in &self.interleaved {
                if let Err(e) = w.write_sample(*s) {
                    self.record_error = Some(format!("cannot write the recording: {e}"));
                    self.recorder = None;
                    break;
                }
            }
        }
    }

    /// What the run measured.
    fn finish(mut self) -> Measured {
        if let Some(w) = self.recorder.take() {
            if let Err(e) = w.finalize() {
                self.record_error = Some(format!("cannot finish the recording: {e}"));
            }
        }
        Measured {
            meters: self.meters,
            windows: self.windows,
            csv: self.csv,
            output_lufs: self.loudness.integrated(),
            record_error: self.record_error,
        }
    }
}
