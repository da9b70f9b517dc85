//! What the HTML report of a run is drawn from: the run directory's files, read back into the output
//! model (so that `ag06-lab report DIR` renders the same page as the run did).

use crate::model::event::{EventRecord, from_jsonl};
use crate::model::rows::{AudioRow, ClientRow, SloRow, TimeseriesRow, for_each_csv};
use crate::model::summary::{Counts, Summary};

/// The files of a run directory the report reads.
pub const FILES: [&str; 7] =
    ["summary.json", "timeseries.csv", "client.csv", "slo.csv", "events.jsonl", "audio.csv", "latency.hdr"];

/// Everything the report of one run is drawn from.
#[derive(Debug)]
pub struct RunData {
    /// summary.json.
    pub summary: Summary,
    /// timeseries.csv rows by service (scenario order).
    pub by_service: Vec<(String, Vec<ServiceWindow>)>,
    /// client.csv.
    pub client: Vec<ClientRow>,
    /// slo.csv by objective, in the order the file first names them: each window's events.
    pub slo: Vec<(String, Vec<SloWindow>)>,
    /// events.jsonl (empty for a run directory written before it existed).
    pub events: Vec<EventRecord>,
    /// audio.csv (empty without a device).
    pub audio: AudioSeries,
    /// latency.hdr, decoded.
    pub latency: Option<hdrhistogram::Histogram<u64>>,
}

/// A row of timeseries.csv as the report keeps it: without the service's name (the series it is in says
/// it) and with a missing latency as NaN inside (8 bytes where `Option<f64>` takes 16). A day of 5 s
/// windows is 17,280 rows a service: 104 bytes a row, where the row read takes 160 and its name another 32.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ServiceWindow {
    /// Window start [s].
    pub t_s: f64,
    /// Outcomes decided in the window.
    pub counts: Counts,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    wait_p99_ms: f64,
    /// Busy worker share over the window.
    pub utilization: f64,
    /// Time-averaged queue length over the window.
    pub queue_depth: f64,
    /// Time-averaged workers over the window.
    pub workers: f64,
}

/// `None` as NaN. The lab never writes a NaN latency; a file edited to hold one reads as no latency.
fn nan_none(x: Option<f64>) -> f64 {
    x.unwrap_or(f64::NAN)
}

fn none_nan(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

impl ServiceWindow {
    /// Median latency of the window's successes [ms].
    pub fn p50_ms(&self) -> Option<f64> {
        none_nan(self.p50_ms)
    }

    /// 99th percentile [ms].
    pub fn p99_ms(&self) -> Option<f64> {
        none_nan(self.p99_ms)
    }

    /// Maximum [ms].
    pub fn max_ms(&self) -> Option<f64> {
        none_nan(self.max_ms)
    }

    /// 99th percentile of the queue wait of the requests that started in the window [ms].
    pub fn wait_p99_ms(&self) -> Option<f64> {
        none_nan(self.wait_p99_ms)
    }
}

impl From<&TimeseriesRow> for ServiceWindow {
    fn from(r: &TimeseriesRow) -> Self {
        ServiceWindow {
            t_s: r.t_s,
            counts: Counts {
                requests: r.requests,
                ok: r.ok,
                failed: r.failed,
                timed_out: r.timed_out,
                rejected: r.rejected,
            },
            p50_ms: nan_none(r.p50_ms),
            p99_ms: nan_none(r.p99_ms),
            max_ms: nan_none(r.max_ms),
            wait_p99_ms: nan_none(r.wait_p99_ms),
            utilization: r.utilization,
            queue_depth: r.queue_depth,
            workers: r.workers,
        }
    }
}

/// audio.csv as the report draws it: each channel's levels per window, and the device's figures per window
/// (which audio.csv repeats on every channel's row: taken from the first channel's). A day of 5 s windows
/// is 17,280 rows a channel: 24 bytes a level, where a row read takes 120 and its channel's name another 32.
#[derive(Debug, Default)]
pub struct AudioSeries {
    /// The channels in the order the file first names them, each with its levels per window.
    pub channels: Vec<(String, Vec<AudioLevel>)>,
    /// The device's figures per window.
    pub device: Vec<DeviceWindow>,
}

impl AudioSeries {
    /// Whether there is no audio (a run without a device).
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// Adds a row of audio.csv.
    fn add(&mut self, r: &AudioRow) {
        let k = match self.channels.iter().position(|(name, _)| *name == r.channel) {
            Some(k) => k,
            None => {
                self.channels.push((r.channel.clone(), with_room(self.device.capacity())));
                self.channels.len() - 1
            }
        };
        let level = AudioLevel { t_s: r.t_s, rms_dbfs: nan_none(r.rms_dbfs), peak_dbfs: nan_none(r.peak_dbfs) };
        self.channels[k].1.push(level);
        if k == 0 {
            self.device.push(DeviceWindow { t_s: r.t_s, xruns: r.xruns, missing: r.missing, dsp_load: r.dsp_load });
        }
    }
}

/// A channel's levels in a window (a level of bit-exact silence, none, as NaN inside).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AudioLevel {
    /// Window start [s].
    pub t_s: f64,
    rms_dbfs: f64,
    peak_dbfs: f64,
}

impl AudioLevel {
    /// RMS [dBFS]; none for bit-exact silence.
    pub fn rms_dbfs(&self) -> Option<f64> {
        none_nan(self.rms_dbfs)
    }

    /// Peak [dBFS]; none for bit-exact silence.
    pub fn peak_dbfs(&self) -> Option<f64> {
        none_nan(self.peak_dbfs)
    }
}

/// The device's figures in a window.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct DeviceWindow {
    /// Window start [s].
    pub t_s: f64,
    /// Late periods.
    pub xruns: u64,
    /// Missing periods.
    pub missing: u64,
    /// Mean modelled DSP load of the delivered periods.
    pub dsp_load: Option<f64>,
}

/// An objective's events in a window (a row of slo.csv without the objective's name, which the series
/// it is in says: 24 bytes a row, where the row read takes 56 and its name another allocation).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SloWindow {
    /// Window start [s].
    pub t_s: f64,
    /// Good events.
    pub good: u64,
    /// All events.
    pub total: u64,
}

/// A file of a run as the report reads it: bytes in memory, or a file read from its start.
#[derive(Copy, Clone, Debug)]
pub enum RunFile<'a> {
    /// In memory.
    Bytes(&'a [u8]),
    /// On disk (a run's spooled file, or one of a run directory).
    File(&'a std::fs::File),
}

impl<'a> RunFile<'a> {
    /// A reader from the start of the file.
    pub fn reader(self) -> std::io::Result<Box<dyn std::io::Read + 'a>> {
        match self {
            RunFile::Bytes(b) => Ok(Box::new(b)),
            RunFile::File(mut f) => {
                std::io::Seek::rewind(&mut f)?;
                Ok(Box::new(std::io::BufReader::new(f)))
            }
        }
    }

    /// The whole file.
    pub fn bytes(self) -> std::io::Result<std::borrow::Cow<'a, [u8]>> {
        match self {
            RunFile::Bytes(b) => Ok(std::borrow::Cow::Borrowed(b)),
            RunFile::File(_) => {
                let mut v = Vec::new();
                self.reader()?.read_to_end(&mut v)?;
                Ok(std::borrow::Cow::Owned(v))
            }
        }
    }
}

/// A file of the run that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {why}")]
pub struct DataError {
    /// The file, relative to the run directory.
    pub file: String,
    /// What was wrong.
    pub why: String,
}

/// The rows of the CSV file `name`, room made for `expected` of them up front (a day's rows are not
/// doubled as they are read).
fn csv_rows<T: for<'de> serde::Deserialize<'de>>(
    name: &str,
    file: Option<RunFile>,
    expected: usize,
) -> Result<Vec<T>, DataError> {
    let Some(file) = file else { return Ok(Vec::new()) };
    let mut rows = with_room(expected);
    for_each_csv(file.reader().map_err(|e| DataError { file: name.into(), why: e.to_string() })?, |r| rows.push(r))
        .map_err(|why| DataError { file: name.into(), why })?;
    Ok(rows)
}

/// An empty series with room for `windows` rows where it can be had ([`crate::metrics::reserve_windows`]).
fn with_room<T>(windows: usize) -> Vec<T> {
    let mut rows = Vec::new();
    crate::metrics::reserve_windows(&mut rows, windows, 1);
    rows
}

/// The whole file `name`, if there is one.
fn whole<'a>(name: &str, file: Option<RunFile<'a>>) -> Result<Option<std::borrow::Cow<'a, [u8]>>, DataError> {
    file.map(|f| f.bytes().map_err(|e| DataError { file: name.into(), why: e.to_string() })).transpose()
}

impl RunData {
    /// Reads the run's files through `file` (name to contents; `None` when missing). `summary.json` is
    /// required; the files that a run without a device or an older version did not write may be missing.
    pub fn from_files<'a>(file: impl Fn(&str) -> Option<RunFile<'a>>) -> Result<RunData, DataError> {
        let bytes = whole("summary.json", file("summary.json"))?
            .ok_or(DataError { file: "summary.json".into(), why: "missing".into() })?;
        let summary =
            Summary::from_json(&bytes).map_err(|e| DataError { file: "summary.json".into(), why: e.to_string() })?;
        // Read row by row into each service's series (a day of windows is tens of thousands of rows),
        // each series sized for the run's windows up front.
        let windows = (summary.simulated_s / summary.window_s.max(1e-9)).ceil().clamp(0.0, 1e7) as usize;
        let mut by_service: Vec<(String, Vec<ServiceWindow>)> =
            summary.services.keys().map(|n| (n.clone(), with_room(windows))).collect();
        if let Some(ts) = file("timeseries.csv") {
            let from = ts.reader().map_err(|e| DataError { file: "timeseries.csv".into(), why: e.to_string() })?;
            for_each_csv(from, |w: TimeseriesRow| {
                if let Some(i) = summary.services.get_index_of(&w.service) {
                    by_service[i].1.push(ServiceWindow::from(&w));
                }
            })
            .map_err(|why| DataError { file: "timeseries.csv".into(), why })?;
        }
        let latency = match whole("latency.hdr", file("latency.hdr"))? {
            Some(b) => {
                Some(crate::report::read_latency_hdr(&b).map_err(|why| DataError { file: "latency.hdr".into(), why })?)
            }
            None => None,
        };
        let events = match whole("events.jsonl", file("events.jsonl"))? {
            Some(b) => from_jsonl(&b).map_err(|why| DataError { file: "events.jsonl".into(), why })?,
            None => Vec::new(),
        };
        let mut audio = AudioSeries { channels: Vec::new(), device: with_room(windows) };
        if let Some(f) = file("audio.csv") {
            let from = f.reader().map_err(|e| DataError { file: "audio.csv".into(), why: e.to_string() })?;
            for_each_csv(from, |r: AudioRow| audio.add(&r))
                .map_err(|why| DataError { file: "audio.csv".into(), why })?;
        }
        let mut slo: Vec<(String, Vec<SloWindow>)> = Vec::new();
        if let Some(f) = file("slo.csv") {
            let from = f.reader().map_err(|e| DataError { file: "slo.csv".into(), why: e.to_string() })?;
            for_each_csv(from, |r: SloRow| {
                let k = match slo.iter().position(|(name, _)| *name == r.slo) {
                    Some(k) => k,
                    None => {
                        slo.push((r.slo, with_room(windows)));
                        slo.len() - 1
                    }
                };
                slo[k].1.push(SloWindow { t_s: r.t_s, good: r.good, total: r.total });
            })
            .map_err(|why| DataError { file: "slo.csv".into(), why })?;
        }
        Ok(RunData {
            client: csv_rows("client.csv", file("client.csv"), windows)?,
            slo,
            events,
            audio,
            summary,
            by_service,
            latency,
        })
    }

    /// The windows of the objective `name` (none when slo.csv has no row of it).
    pub fn slo_windows(&self, name: &str) -> &[SloWindow] {
        self.slo.iter().find(|(n, _)| n == name).map_or(&[], |(_, w)| w)
    }

    /// The metrics window [s].
    pub fn window_s(&self) -> f64 {
        self.summary.window_s
    }

    /// Fault windows `(start, end, name)` that happened.
    pub fn fault_spans(&self) -> Vec<(f64, f64, &str)> {
        self.summary.fault_spans()
    }

    /// The faults overlapping `[a, b)`, by name.
    pub fn faults_during(&self, a: f64, b: f64) -> Vec<&str> {
        self.fault_spans().into_iter().filter(|(s, e, _)| *s < b && *e > a).map(|(_, _, n)| n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report's compact row keeps every figure of the row read, a missing latency as missing.
    #[test]
    fn a_service_window_keeps_the_row_it_was_read_from() {
        let text = "t_s,service,requests,ok,failed,timed_out,rejected,p50_ms,p99_ms,max_ms,utilization,queue_depth,workers,wait_p99_ms\n\
                    5,a,3,2,1,0,0,1.5,2.25,3.125,0.500000,0.250000,4.000000,0.75\n\
                    10,a,1,0,0,1,0,,,,0.100000,0.000000,4.000000,\n";
        let mut rows = Vec::new();
        for_each_csv(text.as_bytes(), |r: TimeseriesRow| rows.push((ServiceWindow::from(&r), r))).unwrap();
        assert_eq!(rows.len(), 2);
        for (w, r) in &rows {
            let c = w.counts;
            assert_eq!(
                (w.t_s, c.requests, c.ok, c.failed, c.timed_out, c.rejected),
                (r.t_s, r.requests, r.ok, r.failed, r.timed_out, r.rejected)
            );
            assert_eq!(
                (w.p50_ms(), w.p99_ms(), w.max_ms(), w.wait_p99_ms()),
                (r.p50_ms, r.p99_ms, r.max_ms, r.wait_p99_ms)
            );
            assert_eq!((w.utilization, w.queue_depth, w.workers), (r.utilization, r.queue_depth, r.workers));
        }
        assert_eq!(rows[0].0.p99_ms(), Some(2.25));
        assert_eq!(rows[1].0.p50_ms(), None);
        assert!(std::mem::size_of::<ServiceWindow>() <= 104);
    }

    /// audio.csv read into the report's series: every channel's levels in file order, silence as none, and
    /// the device's figures once per window (from the first channel's rows).
    #[test]
    fn audio_rows_become_each_channels_levels_and_the_devices_windows() {
        let text = "t_s,channel,peak_dbfs,rms_dbfs,clipped,xruns,dsp_load,missing,zero_blocks\n\
                    0,ch1,-10,-14.78,0,1,0.208697,0,0\n\
                    0,out_l,,,0,1,0.208697,0,938\n\
                    5,ch1,-11,-15.5,0,0,,2,0\n\
                    5,out_l,-3,-9.25,4,0,,2,0\n";
        let mut audio = AudioSeries::default();
        for_each_csv(text.as_bytes(), |r: AudioRow| audio.add(&r)).unwrap();
        let names: Vec<&str> = audio.channels.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["ch1", "out_l"]);
        let out = &audio.channels[1].1;
        assert_eq!((out[0].t_s, out[0].rms_dbfs(), out[0].peak_dbfs()), (0.0, None, None));
        assert_eq!((out[1].t_s, out[1].rms_dbfs(), out[1].peak_dbfs()), (5.0, Some(-9.25), Some(-3.0)));
        assert_eq!(audio.channels[0].1[1].rms_dbfs(), Some(-15.5));
        assert_eq!(
            audio.device,
            [
                DeviceWindow { t_s: 0.0, xruns: 1, missing: 0, dsp_load: Some(0.208697) },
                DeviceWindow { t_s: 5.0, xruns: 0, missing: 2, dsp_load: None },
            ]
        );
        assert!(!audio.is_empty() && AudioSeries::default().is_empty());
    }
}
