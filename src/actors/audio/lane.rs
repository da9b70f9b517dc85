//! The audio lane: the audio path's sample work (the mixer's DSP, the monitor's meters, loudness and
//! recording) beside the lab, in the order the actors hand it over.
//!
//! The mixer and the monitor decide everything that shapes the run on the lab's thread: which periods are
//! late or missing, when a window closes, what goes to whom. What they do to the samples feeds nothing back
//! into the run but the window a probe asks for, so it can run beside the lab. The work is two stages, each
//! with its own state, each taking the steps one after the other in the order they were sent: mixing (the
//! mixer's DSP) and measuring (meters, windows, loudness, recording). The monitor hands the steps to the
//! lane's thread through a bounded queue; the lane mixes them and leaves them to be measured. Whichever
//! thread has nothing better to do measures the next batch: the lab while it would otherwise wait for the
//! lane (its queue to the lane full), the lane while it has nothing to mix or too many batches wait. One
//! thread at a time measures, the batches in order, so the results are the same bits as doing all the work
//! on the lab's thread, whatever the two threads' timing. A probe's question waits for every step before
//! it to be measured; the run's end waits for all of them.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{Sender, SyncSender, TryRecvError, channel, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::thread::JoinHandle;

use super::{AudioBlock, AudioRow};
use crate::dsp::loudness::Loudness;
use crate::dsp::meter::ChannelMeter;
use crate::dsp::mixer::Mixer;
use crate::model::rows::{AudioRow as CsvRow, CsvSpool};
use crate::scenario::device::Device;

/// Steps handed over at a time: the two threads meet once a batch, not once a step.
const BATCH: usize = 16;

/// Batches the lab may be ahead of the lane's mixing before it waits (or measures meanwhile).
const QUEUE: usize = 2;

/// Batches mixed and waiting to be measured before the lane measures one itself rather than mix on. At
/// most (QUEUE + MIXED + 3) × BATCH blocks are in flight (0.7 MB for two inputs at 256 frames, 4.6 MB for
/// six at 1024): the batch the lab fills, those in its queue to the lane, the one being mixed, those
/// mixed and waiting, the one being measured.
const MIXED: usize = 2;

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
}

impl Step {
    /// The mixing stage: the mixer's DSP on a block that asks for it (then marked mixed).
    fn mix(&mut self, mixer: &mut Mixer) {
        if let Step::Block { b, mix } = self {
            if *mix {
                mix_block(mixer, b);
                *mix = false;
            }
        }
    }

    /// Asks for the samples the next stage reads of this step to be brought into the caches (see
    /// [`crate::dsp::simd::prefetch`]): the inputs and the playback and, for writing, the left output
    /// (`mix`); or the inputs and the outputs the measuring reads (the left alone if mirrored).
    fn prefetch(&self, mix: bool) {
        use crate::dsp::simd::prefetch;
        let Step::Block { b, mix: to_mix } = self else { return };
        for ch in &b.inputs {
            prefetch(ch, false);
        }
        if mix && *to_mix {
            prefetch(&b.playback, false);
            prefetch(&b.out[0], true);
        } else if !mix {
            prefetch(&b.out[0], false);
            if !b.mirrored {
                prefetch(&b.out[1], false);
            }
        }
    }
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
    /// Mixing on a thread of its own, measuring on whichever thread is free.
    Thread(Remote),
    /// Both stages on the lab's thread, step by step as they come: where the run shares the cores with
    /// other runs (a sweep's, an exploration's), or the machine has one.
    Inline(Box<(Mixer, Measure)>),
}

/// A lane on a thread of its own.
pub(crate) struct Remote {
    /// The steps not handed over yet.
    batch: Vec<Step>,
    steps: Option<SyncSender<Vec<Step>>>,
    /// Batches handed over.
    sent: u64,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// What the two threads share: the batches mixed and not measured yet, and the measuring stage.
struct Shared {
    mixed: Mutex<VecDeque<Vec<Step>>>,
    measure: Mutex<Measure>,
}

/// The measuring stage was left half-way by a panic on the other thread.
struct Poisoned;

impl Shared {
    /// The measuring stage: waiting for it if `wait`, `None` if the other thread has it.
    fn measure(&self, wait: bool) -> Result<Option<MutexGuard<'_, Measure>>, Poisoned> {
        if wait {
            return self.measure.lock().map(Some).map_err(|_| Poisoned);
        }
        match self.measure.try_lock() {
            Ok(m) => Ok(Some(m)),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Poisoned(_)) => Err(Poisoned),
        }
    }

    /// Measures the next mixed batch, if there is one and the other thread is not measuring (or, if `wait`,
    /// once it is done); whether it measured one.
    fn measure_next(&self, wait: bool) -> Result<bool, Poisoned> {
        let Some(mut m) = self.measure(wait)? else { return Ok(false) };
        Ok(self.measure_next_with(&mut m))
    }

    /// [`Shared::measure_next`] with the measuring stage in hand.
    fn measure_next_with(&self, m: &mut Measure) -> bool {
        // Taken while the measuring stage is held: the batches are measured in the order they were mixed.
        let next = self.mixed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_front();
        let Some(batch) = next else { return false };
        let mut steps = batch.into_iter().peekable();
        while let Some(step) = steps.next() {
            if let Some(next) = steps.peek() {
                next.prefetch(false);
            }
            m.step(step);
        }
        m.batches += 1;
        true
    }

    /// Batches mixed and not measured yet.
    fn backlog(&self) -> usize {
        self.mixed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    fn push(&self, batch: Vec<Step>) {
        self.mixed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push_back(batch);
    }
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
        let mixer = Mixer::new(device.mixer(), f64::from(device.rate_hz));
        let measure = Measure::new(device, window_rows, record, done);
        let spare =
            rayon::current_thread_index().is_none() && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        if !spare {
            return Lane::Inline(Box::new((mixer, measure)));
        }
        let (steps, inbox) = sync_channel::<Vec<Step>>(QUEUE);
        // The mixer and the shared stage go over once the thread runs, so that they stay here if no thread
        // can be had.
        let (start_tx, start_rx) = channel::<(Mixer, Arc<Shared>)>();
        let spawned = std::thread::Builder::new().name("audio-lane".into()).spawn(move || {
            let Ok((mut mixer, lane)) = start_rx.recv() else { return };
            // A poisoned measuring stage: the lab's thread panicked while measuring, and is unwinding.
            let measure = |wait| lane.measure_next(wait).unwrap_or(false);
            loop {
                let mut batch = match inbox.try_recv() {
                    Ok(batch) => batch,
                    Err(TryRecvError::Empty) => {
                        // Nothing to mix: measure meanwhile, or wait for the next batch.
                        if measure(false) {
                            continue;
                        }
                        match inbox.recv() {
                            Ok(batch) => batch,
                            Err(_) => break,
                        }
                    }
                    Err(TryRecvError::Disconnected) => break,
                };
                while lane.backlog() >= MIXED && measure(true) {}
                for i in 0..batch.len() {
                    if let Some(next) = batch.get(i + 1) {
                        next.prefetch(true);
                    }
                    batch[i].mix(&mut mixer);
                }
                lane.push(batch);
            }
            while measure(true) {}
        });
        match spawned {
            Ok(thread) => {
                let shared = Arc::new(Shared { mixed: Mutex::new(VecDeque::new()), measure: Mutex::new(measure) });
                let _ = start_tx.send((mixer, Arc::clone(&shared)));
                Lane::Thread(Remote {
                    batch: Vec::with_capacity(BATCH),
                    steps: Some(steps),
                    sent: 0,
                    shared,
                    thread: Some(thread),
                })
            }
            // No thread to be had: the lane on this one (the same bits, only slower).
            Err(e) => {
                tracing::debug!(error = %e, "no thread for the audio lane: the audio path runs on the lab's");
                Lane::Inline(Box::new((mixer, measure)))
            }
        }
    }

    /// Hands `step` to the lane (on a thread of its own, in a batch of [`BATCH`], measuring or waiting
    /// while the lane's mixing is [`QUEUE`] batches behind).
    pub(crate) fn send(&mut self, mut step: Step) {
        match self {
            Lane::Inline(lane) => {
                let (mixer, measure) = &mut **lane;
                step.mix(mixer);
                measure.step(step);
            }
            Lane::Thread(r) => {
                r.batch.push(step);
                if r.batch.len() >= BATCH {
                    r.flush();
                }
            }
        }
    }

    /// The last window's row of the first channel, once every step sent before is measured.
    pub(crate) fn last_row(&mut self) -> Option<AudioRow> {
        match self {
            Lane::Inline(lane) => lane.1.windows.last().cloned(),
            Lane::Thread(r) => {
                r.flush();
                loop {
                    let shared = Arc::clone(&r.shared);
                    match shared.measure(false) {
                        Ok(Some(mut m)) => {
                            if m.batches == r.sent {
                                return m.windows.last().cloned();
                            }
                            if shared.measure_next_with(&mut m) {
                                continue;
                            }
                        }
                        Ok(None) => {}
                        Err(Poisoned) => r.lane_died(),
                    }
                    // The lane is still mixing the batches before (it only stops when its queue closes).
                    if r.thread.as_ref().is_none_or(JoinHandle::is_finished) {
                        r.lane_died();
                    }
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Waits for the lane to do every step sent, and takes what it measured.
    pub(crate) fn finish(self) -> Measured {
        match self {
            Lane::Inline(lane) => lane.1.finish(),
            Lane::Thread(mut r) => {
                r.flush();
                r.steps = None;
                match r.thread.take().map(JoinHandle::join) {
                    Some(Ok(())) => {}
                    Some(Err(panic)) => std::panic::resume_unwind(panic),
                    None => panic!("the audio lane's thread panicked earlier in the run"),
                }
                let shared = Arc::clone(&r.shared);
                drop(r);
                let Ok(shared) = Arc::try_unwrap(shared) else {
                    unreachable!("the lane's thread, joined, holds it no more")
                };
                let mut measure = match shared.measure.into_inner() {
                    Ok(m) => m,
                    Err(_) => panic!("the audio lane's thread panicked while measuring"),
                };
                // The lane measured every batch before it ended; any left (none) in order here.
                for step in
                    shared.mixed.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner).into_iter().flatten()
                {
                    measure.step(step);
                }
                measure.finish()
            }
        }
    }
}

impl Remote {
    /// Hands the steps not handed over yet to the lane; while its mixing is behind, measures what it mixed
    /// meanwhile, or gives the core away.
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let mut batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        let Some(steps) = &self.steps else { self.lane_died() };
        loop {
            match steps.try_send(batch) {
                Ok(()) => {
                    self.sent += 1;
                    return;
                }
                Err(std::sync::mpsc::TrySendError::Full(b)) => {
                    batch = b;
                    match self.shared.measure_next(false) {
                        Ok(true) => {}
                        // Nothing to measure: give the core away until the lane has taken a batch (parking
                        // here would make the lane wake this thread, a system call, at every batch).
                        Ok(false) => std::thread::yield_now(),
                        Err(Poisoned) => self.lane_died(),
                    }
                }
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => self.lane_died(),
            }
        }
    }

    /// The lane's thread stopped: it panicked; that panic goes on here, on the lab's thread.
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

/// The mixer's DSP on `b`: the bus's clipped samples counted after the inputs', and silence captured in
/// place of the mix if the computer captures silence. A bus whose sides are the same bits (the
/// playback is: the same on both sides) is mixed once, into the left side, and marked `mirrored`.
fn mix_block(mixer: &mut Mixer, b: &mut AudioBlock) {
    let n0 = b.n * b.out[0].len() as u64;
    let AudioBlock { inputs, silent, playback, out, clipped, mirrored, .. } = b;
    let [l, r] = out;
    *mirrored = mixer.mirrored(silent);
    let bus = if *mirrored {
        [mixer.process_mirrored(n0, inputs, silent, playback, l); 2]
    } else {
        mixer.process_known(n0, inputs, silent, [playback, playback], [l, r])
    };
    let k = inputs.len();
    clipped.resize(k + 2, 0);
    clipped[k] = bus[0];
    clipped[k + 1] = bus[1];
    if b.captured_silence {
        b.out[0].fill(0.0);
        b.out[1].fill(0.0);
    }
}

/// The measuring stage: the meters, the windows, the loudness meter and the recording.
pub(crate) struct Measure {
    /// Batches measured (a lane on a thread of its own).
    batches: u64,
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

impl Measure {
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
        Measure {
            batches: 0,
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

    /// Measures one step (mixed if it asked to be).
    fn step(&mut self, step: Step) {
        match step {
            Step::Block { b, .. } => {
                self.measure(&b);
                // The device reuses it; gone only if the device is (the run is being torn down).
                let _ = self.done.send(b);
            }
            Step::Silence { frames } => self.captured_silence(frames),
            Step::Close { t_s, xruns, missing, dsp_load } => self.close(t_s, xruns, missing, dsp_load),
        }
    }

    /// Measures a delivered period: its inputs, and if it was on time its outputs and what the computer
    /// captured (silence if it was late).
    fn measure(&mut self, b: &AudioBlock) {
        let inputs = b.inputs.len();
        for (ch, buf) in b.inputs.iter().enumerate() {
            let clipped = u64::from(b.clipped.get(ch).copied().unwrap_or(0));
            if b.silent.get(ch) == Some(&true) {
                self.merge(ch, ChannelMeter::silence(b.out[0].len()), clipped);
            } else {
                self.meter(ch, buf, clipped);
            }
        }
        if b.xrun {
            self.captured_silence(b.out[0].len());
        } else {
            let right = if b.mirrored { &b.out[0] } else { &b.out[1] };
            let clipped = |k: usize| u64::from(b.clipped.get(inputs + k).copied().unwrap_or(0));
            let mut left = ChannelMeter::default();
            left.add(&b.out[0]);
            self.merge(inputs, left.clone(), clipped(0));
            if b.mirrored {
                // The same samples measure the same.
                self.merge(inputs + 1, left, clipped(1));
            } else {
                self.meter(inputs + 1, right, clipped(1));
            }
            self.captured(&b.out[0], right);
        }
    }

    /// Measures one block of channel `ch` once, into its window's meter and the whole run's.
    fn meter(&mut self, ch: usize, buf: &[f32], clipped: u64) {
        let mut m = ChannelMeter::default();
        m.add(buf);
        self.merge(ch, m, clipped);
    }

    /// Adds one block's measures `m` of channel `ch`, with its `clipped` samples, to its window's meter
    /// and the whole run's.
    fn merge(&mut self, ch: usize, mut m: ChannelMeter, clipped: u64) {
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
