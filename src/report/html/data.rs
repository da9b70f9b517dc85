//! What the HTML report of a run is drawn from: the run directory's files, read back into the output
//! model (so that `ag06-lab report DIR` renders the same page as the run did).

use crate::model::event::{EventRecord, from_jsonl};
use crate::model::rows::{AudioRow, ClientRow, SloRow, TimeseriesRow, for_each_csv};
use crate::model::summary::{Counts, Summary};

/// The files of a run directory the report reads.
pub const FILES: [&str; 7] =
    ["summary.json", "timeseries.csv", "client.csv", "slo.csv", "events.jsonl", "audio.csv", "latency.hdr"];

/// Everything the report of one run is drawn from. The files with a row per window (timeseries.csv,
/// client.csv, slo.csv, audio.csv: a day of windows is tens of thousands of rows) are read again, a row
/// at a time, by each chart drawn from them; what else the page needs of them is gathered in one pass
/// when the data is read.
#[derive(Debug)]
pub struct RunData<'a> {
    /// summary.json.
    pub summary: Summary,
    /// timeseries.csv.
    timeseries: Option<RunFile<'a>>,
    /// timeseries.csv summed up by service (scenario order).
    pub services: Vec<ServiceFacts>,
    /// client.csv, when it has rows.
    client: Option<RunFile<'a>>,
    /// Which end-to-end outcomes (ok, failed, timed out, rejected) some row of client.csv has.
    client_outcomes: [bool; 4],
    /// slo.csv.
    slo_file: Option<RunFile<'a>>,
    /// slo.csv's objectives, in the order the file first names them.
    slo: Vec<SloTotals>,
    /// events.jsonl (empty for a run directory written before it existed).
    pub events: Vec<EventRecord>,
    /// audio.csv.
    audio_file: Option<RunFile<'a>>,
    /// audio.csv's channels, in the order the file first names them (none without a device).
    pub audio_channels: Vec<String>,
    /// latency.hdr, decoded.
    pub latency: Option<hdrhistogram::Histogram<u64>>,
}

/// The share of busy workers at which a service window counts as saturated.
pub const SATURATED: f64 = 0.9;

/// A service's rows of timeseries.csv, summed up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceFacts {
    /// The service.
    pub name: String,
    /// Its saturated windows ([`ServiceWindow::saturated`]), in time order.
    pub hot: Vec<ServiceWindow>,
    /// Its highest window p99 [ms], with that window's start [s] (the last of equals).
    pub slowest: Option<(f64, f64)>,
    /// Whether its workers changed from one window to the next.
    pub workers_vary: bool,
    /// Its workers in the last window read.
    last_workers: Option<f64>,
}

impl ServiceFacts {
    fn add(&mut self, r: &ServiceWindow, end_s: f64, window_s: f64) {
        if r.saturated(end_s, window_s) {
            self.hot.push(*r);
        }
        if let Some(p) = r.p99_ms()
            && self.slowest.is_none_or(|(_, q)| p.total_cmp(&q).is_ge())
        {
            self.slowest = Some((r.t_s, p));
        }
        self.workers_vary |= self.last_workers.is_some_and(|w| (w - r.workers).abs() > 1e-9);
        self.last_workers = Some(r.workers);
    }
}

/// An objective's rows of slo.csv, summed up.
#[derive(Clone, Debug, PartialEq)]
pub struct SloTotals {
    /// The objective.
    pub name: String,
    /// Events over the run.
    pub total: u64,
    /// The window with the most bad events (the last of equals), among those with events.
    pub worst: Option<SloWindow>,
}

/// One window of end-to-end figures (a row of client.csv): start [s], latency p50/p99/max [ms],
/// ok/failed/timed out/rejected.
pub type ClientWindow = (f64, [Option<f64>; 3], [u64; 4]);

/// A row of timeseries.csv as the report keeps it: without the service's name (the service it is of says
/// it) and with a missing latency as NaN inside (8 bytes where `Option<f64>` takes 16): 104 bytes a row,
/// where the row read takes 160 and its name another 32.
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
    /// Whether the window is saturated: workers busy [`SATURATED`] of the time or more, over at least
    /// half a window of a run that ended at `end_s` (its last window may be a sliver).
    pub fn saturated(&self, end_s: f64, window_s: f64) -> bool {
        self.workers > 0.0 && self.utilization >= SATURATED && end_s - self.t_s >= 0.5 * window_s
    }

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

/// The whole file `name`, if there is one.
fn whole<'a>(name: &str, file: Option<RunFile<'a>>) -> Result<Option<std::borrow::Cow<'a, [u8]>>, DataError> {
    file.map(|f| f.bytes().map_err(|e| DataError { file: name.into(), why: e.to_string() })).transpose()
}

/// Each row of a CSV file (none when it is missing), read from its start; an error names the row.
fn each_row<T: for<'de> serde::Deserialize<'de>>(file: Option<RunFile>, each: impl FnMut(T)) -> Result<(), String> {
    let Some(file) = file else { return Ok(()) };
    for_each_csv(file.reader().map_err(|e| e.to_string())?, each)
}

impl<'a> RunData<'a> {
    /// Reads the run's files through `file` (name to contents; `None` when missing). `summary.json` is
    /// required; the files that a run without a device or an older version did not write may be missing.
    pub fn from_files(file: impl Fn(&str) -> Option<RunFile<'a>>) -> Result<RunData<'a>, DataError> {
        let bytes = whole("summary.json", file("summary.json"))?
            .ok_or(DataError { file: "summary.json".into(), why: "missing".into() })?;
        let summary =
            Summary::from_json(&bytes).map_err(|e| DataError { file: "summary.json".into(), why: e.to_string() })?;
        let (end_s, window_s) = (summary.simulated_s, summary.window_s);
        let mut services: Vec<ServiceFacts> =
            summary.services.keys().map(|n| ServiceFacts { name: n.clone(), ..ServiceFacts::default() }).collect();
        each_row(file("timeseries.csv"), |r: TimeseriesRow| {
            if let Some(i) = summary.services.get_index_of(&r.service) {
                services[i].add(&ServiceWindow::from(&r), end_s, window_s);
            }
        })
        .map_err(|why| DataError { file: "timeseries.csv".into(), why })?;
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
        let mut client_outcomes = [false; 4];
        let mut client_rows = 0usize;
        each_row(file("client.csv"), |r: ClientRow| {
            client_rows += 1;
            for (seen, n) in client_outcomes.iter_mut().zip([r.ok, r.failed, r.timed_out, r.rejected]) {
                *seen |= n > 0;
            }
        })
        .map_err(|why| DataError { file: "client.csv".into(), why })?;
        let mut slo: Vec<SloTotals> = Vec::new();
        each_row(file("slo.csv"), |r: SloRow| {
            let k = match slo.iter().position(|o| o.name == r.slo) {
                Some(k) => k,
                None => {
                    slo.push(SloTotals { name: r.slo, total: 0, worst: None });
                    slo.len() - 1
                }
            };
            let o = &mut slo[k];
            o.total += r.total;
            let w = SloWindow { t_s: r.t_s, good: r.good, total: r.total };
            if w.total > 0 && o.worst.is_none_or(|x| w.total - w.good >= x.total - x.good) {
                o.worst = Some(w);
            }
        })
        .map_err(|why| DataError { file: "slo.csv".into(), why })?;
        let mut audio_channels: Vec<String> = Vec::new();
        each_row(file("audio.csv"), |r: AudioRow| {
            if !audio_channels.contains(&r.channel) {
                audio_channels.push(r.channel);
            }
        })
        .map_err(|why| DataError { file: "audio.csv".into(), why })?;
        Ok(RunData {
            client: file("client.csv").filter(|_| client_rows > 0),
            client_outcomes,
            slo_file: file("slo.csv"),
            slo,
            events,
            audio_file: file("audio.csv"),
            audio_channels,
            timeseries: file("timeseries.csv"),
            services,
            summary,
            latency,
        })
    }

    /// Each end-to-end window, in time order: client.csv's rows, or for a run directory from before
    /// client.csv the entry service's own figures.
    pub fn each_client(&self, mut each: impl FnMut(ClientWindow)) -> Result<(), String> {
        match self.client {
            Some(f) => each_row(Some(f), |r: ClientRow| {
                each((r.t_s, [r.p50_ms, r.p99_ms, r.max_ms], [r.ok, r.failed, r.timed_out, r.rejected]))
            })
            .map_err(|why| format!("client.csv: {why}")),
            None => {
                let entry = self.services.iter().position(|s| s.name == self.summary.entry);
                self.each_service(|i, r| {
                    if Some(i) == entry {
                        let c = r.counts;
                        each((r.t_s, [r.p50_ms(), r.p99_ms(), r.max_ms()], [c.ok, c.failed, c.timed_out, c.rejected]));
                    }
                })
            }
        }
    }

    /// Whether some end-to-end window has outcome `k` (0 ok, 1 failed, 2 timed out, 3 rejected).
    pub fn has_client_outcome(&self, k: usize) -> Result<bool, String> {
        if self.client.is_some() {
            return Ok(self.client_outcomes[k]);
        }
        let mut seen = false;
        self.each_client(|c| seen |= c.2[k] > 0)?;
        Ok(seen)
    }

    /// Each row of timeseries.csv, in file order, with the index of its service in
    /// [`RunData::services`] (rows of services the run does not have are skipped).
    pub fn each_service(&self, mut each: impl FnMut(usize, &ServiceWindow)) -> Result<(), String> {
        each_row(self.timeseries, |r: TimeseriesRow| {
            if let Some(i) = self.summary.services.get_index_of(&r.service) {
                each(i, &ServiceWindow::from(&r));
            }
        })
        .map_err(|why| format!("timeseries.csv: {why}"))
    }

    /// Every window of service `i` ([`RunData::services`]), in time order.
    pub fn service_rows(&self, i: usize) -> Result<Vec<ServiceWindow>, String> {
        let mut rows = Vec::new();
        self.each_service(|k, r| {
            if k == i {
                rows.push(*r);
            }
        })?;
        Ok(rows)
    }

    /// Each row of slo.csv, in file order, with the index of its objective in [`RunData::slos`].
    pub fn each_slo(&self, mut each: impl FnMut(usize, SloWindow)) -> Result<(), String> {
        each_row(self.slo_file, |r: SloRow| {
            if let Some(k) = self.slo.iter().position(|o| o.name == r.slo) {
                each(k, SloWindow { t_s: r.t_s, good: r.good, total: r.total });
            }
        })
        .map_err(|why| format!("slo.csv: {why}"))
    }

    /// slo.csv's objectives, summed up, in the order the file first names them.
    pub fn slos(&self) -> &[SloTotals] {
        &self.slo
    }

    /// The objective `name` summed up (none when slo.csv has no row of it).
    pub fn slo_totals(&self, name: &str) -> Option<&SloTotals> {
        self.slo.iter().find(|o| o.name == name)
    }

    /// Each row of audio.csv, in file order, with the index of its channel in [`RunData::audio_channels`].
    pub fn each_audio(&self, mut each: impl FnMut(usize, &AudioRow)) -> Result<(), String> {
        each_row(self.audio_file, |r: AudioRow| {
            if let Some(k) = self.audio_channels.iter().position(|c| *c == r.channel) {
                each(k, &r);
            }
        })
        .map_err(|why| format!("audio.csv: {why}"))
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

    fn summary_end(json: &[u8]) -> f64 {
        Summary::from_json(json).unwrap().simulated_s
    }

    /// client.csv, slo.csv and audio.csv are read once for what the page needs of them (the audio
    /// channels in file order, each objective's events and worst window, the outcomes seen), then again,
    /// row by row and as often as asked, by the charts drawn from them; an error names the file and row.
    #[test]
    fn the_streamed_files_are_summed_up_once_and_read_again_row_by_row() {
        let sc = crate::scenario::Scenario::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small.toml"),
        )
        .unwrap();
        let out = crate::run::simulate(&sc, sc.seed, None).unwrap();
        let summary = crate::report::Summary::new(&sc, &out, crate::model::summary::Mode::Simulated, 0.0).to_json();
        let audio = "t_s,channel,peak_dbfs,rms_dbfs,clipped,xruns,dsp_load,missing,zero_blocks\n\
                     0,ch1,-10,-14.78,0,1,0.208697,0,0\n\
                     0,out_l,,,0,1,0.208697,0,938\n\
                     5,ch1,-11,-15.5,0,0,,2,0\n\
                     5,out_l,-3,-9.25,4,0,,2,0\n";
        // Two windows of "a" with 3 bad events each: the later one is the worst (the last of equals).
        let slo = "t_s,slo,good,total\n0,a,7,10\n0,b,0,0\n5,a,2,5\n10,a,9,12\n15,a,0,0\n";
        let client = "t_s,requests,ok,failed,timed_out,rejected,p50_ms,p99_ms,max_ms\n\
                      0,3,2,0,1,0,1.5,2.5,3\n5,0,0,0,0,0,,,\n";
        let files: [(&str, &[u8]); 4] = [
            ("summary.json", &summary),
            ("audio.csv", audio.as_bytes()),
            ("slo.csv", slo.as_bytes()),
            ("client.csv", client.as_bytes()),
        ];
        let d = RunData::from_files(|n| files.iter().find(|f| f.0 == n).map(|f| RunFile::Bytes(f.1))).unwrap();
        assert_eq!(d.audio_channels, ["ch1", "out_l"]);
        let totals: Vec<(&str, u64, Option<SloWindow>)> =
            d.slos().iter().map(|o| (o.name.as_str(), o.total, o.worst)).collect();
        assert_eq!(
            totals,
            [("a", 27, Some(SloWindow { t_s: 10.0, good: 9, total: 12 })), ("b", 0, None)],
            "the worst window of \"a\": 3 bad at 0 s, 3 bad at 5 s, 3 bad at 10 s, the last of equals"
        );
        assert_eq!(d.slo_totals("b").map(|o| o.total), Some(0));
        assert_eq!(d.slo_totals("c"), None);
        assert_eq!((0..4).map(|k| d.has_client_outcome(k).unwrap()).collect::<Vec<_>>(), [true, false, true, false]);
        for _ in 0..2 {
            let mut rows = Vec::new();
            d.each_audio(|k, r| rows.push((k, r.t_s, r.rms_dbfs, r.xruns, r.missing, r.dsp_load))).unwrap();
            assert_eq!(
                rows,
                [
                    (0, 0.0, Some(-14.78), 1, 0, Some(0.208697)),
                    (1, 0.0, None, 1, 0, Some(0.208697)),
                    (0, 5.0, Some(-15.5), 0, 2, None),
                    (1, 5.0, Some(-9.25), 0, 2, None),
                ]
            );
            let mut slo_rows = Vec::new();
            d.each_slo(|k, w| slo_rows.push((k, w.t_s, w.good, w.total))).unwrap();
            assert_eq!(slo_rows, [(0, 0.0, 7, 10), (1, 0.0, 0, 0), (0, 5.0, 2, 5), (0, 10.0, 9, 12), (0, 15.0, 0, 0)]);
            let mut client_rows = Vec::new();
            d.each_client(|c| client_rows.push(c)).unwrap();
            assert_eq!(client_rows, [(0.0, [Some(1.5), Some(2.5), Some(3.0)], [2, 0, 1, 0]), (5.0, [None; 3], [0; 4])]);
        }
        // timeseries.csv: each service's saturated windows (not the last sliver of a window), its slowest
        // window (the last of equals), whether its workers changed; without client.csv, the entry
        // service's own windows.
        let end = (summary_end(&summary) - 1.0).floor();
        let ts = format!(
            "t_s,service,requests,ok,failed,timed_out,rejected,p50_ms,p99_ms,max_ms,utilization,queue_depth,workers,wait_p99_ms\n\
             0,front,3,2,1,0,0,1.5,2.25,3.125,0.5,0.25,8,0.75\n\
             0,back,9,9,0,0,0,1,2,3,0.5,0,4,\n\
             10,front,1,0,0,0,1,,,,0.95,0,8,\n\
             10,back,9,9,0,0,0,1,1,3,0.9,0,6,\n\
             20,front,2,2,0,0,0,1,2.25,3,0.2,0,8,\n\
             {end},front,2,2,0,0,0,1,1,3,0.99,0,8,\n"
        );
        let d = RunData::from_files(|n| match n {
            "summary.json" => Some(RunFile::Bytes(&summary)),
            "timeseries.csv" => Some(RunFile::Bytes(ts.as_bytes())),
            _ => None,
        })
        .unwrap();
        assert_eq!(d.summary.entry, "front");
        let facts: Vec<_> = d
            .services
            .iter()
            .map(|f| (f.name.as_str(), f.hot.iter().map(|r| r.t_s).collect(), f.slowest, f.workers_vary))
            .collect();
        assert_eq!(
            facts,
            [("front", vec![10.0], Some((20.0, 2.25)), false), ("back", vec![10.0], Some((0.0, 2.0)), true)]
        );
        assert_eq!(d.service_rows(1).unwrap().iter().map(|r| r.workers).collect::<Vec<_>>(), [4.0, 6.0]);
        let mut entry = Vec::new();
        d.each_client(|c| entry.push((c.0, c.2))).unwrap();
        assert_eq!(entry, [(0.0, [2, 1, 0, 0]), (10.0, [0, 0, 0, 1]), (20.0, [2, 0, 0, 0]), (end, [2, 0, 0, 0])]);
        assert_eq!((0..4).map(|k| d.has_client_outcome(k).unwrap()).collect::<Vec<_>>(), [true, true, false, true]);
        let bad = "t_s,channel,peak_dbfs,rms_dbfs,clipped,xruns,dsp_load,missing,zero_blocks\n0,ch1,loud,,0,0,,0,0\n";
        let e = RunData::from_files(|n| match n {
            "summary.json" => Some(RunFile::Bytes(&summary)),
            "audio.csv" => Some(RunFile::Bytes(bad.as_bytes())),
            _ => None,
        })
        .unwrap_err();
        assert_eq!(e.file, "audio.csv");
        assert!(e.why.starts_with("row 2:"), "{}", e.why);
    }
}
