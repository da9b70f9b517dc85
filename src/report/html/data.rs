//! What the HTML report of a run is drawn from: the run directory's files, read back into the output
//! model (so that `ag06-lab report DIR` renders the same page as the run did).

use crate::model::event::{EventRecord, from_jsonl};
use crate::model::rows::{AudioRow, ClientRow, SloRow, TimeseriesRow, for_each_csv, from_csv};
use crate::model::summary::Summary;

/// The files of a run directory the report reads.
pub const FILES: [&str; 7] =
    ["summary.json", "timeseries.csv", "client.csv", "slo.csv", "events.jsonl", "audio.csv", "latency.hdr"];

/// Everything the report of one run is drawn from.
#[derive(Debug)]
pub struct RunData {
    /// summary.json.
    pub summary: Summary,
    /// timeseries.csv rows by service (scenario order).
    pub by_service: Vec<(String, Vec<TimeseriesRow>)>,
    /// client.csv.
    pub client: Vec<ClientRow>,
    /// slo.csv.
    pub slo_rows: Vec<SloRow>,
    /// events.jsonl (empty for a run directory written before it existed).
    pub events: Vec<EventRecord>,
    /// audio.csv (empty without a device).
    pub audio: Vec<AudioRow>,
    /// latency.hdr, decoded.
    pub latency: Option<hdrhistogram::Histogram<u64>>,
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

fn csv_rows<T: for<'de> serde::Deserialize<'de>>(name: &str, bytes: Option<&[u8]>) -> Result<Vec<T>, DataError> {
    let Some(bytes) = bytes else { return Ok(Vec::new()) };
    from_csv(bytes).map_err(|why| DataError { file: name.into(), why })
}

impl RunData {
    /// Reads the run's files through `file` (name to contents; `None` when missing). `summary.json` is
    /// required; the files that a run without a device or an older version did not write may be missing.
    pub fn from_files<'a>(file: impl Fn(&str) -> Option<&'a [u8]>) -> Result<RunData, DataError> {
        let bytes = file("summary.json").ok_or(DataError { file: "summary.json".into(), why: "missing".into() })?;
        let summary =
            Summary::from_json(bytes).map_err(|e| DataError { file: "summary.json".into(), why: e.to_string() })?;
        // Read row by row into each service's series (a day of windows is tens of thousands of rows),
        // each series sized for its share of the file's lines up front.
        let ts = file("timeseries.csv").unwrap_or_default();
        let lines = ts.iter().filter(|b| **b == b'\n').count();
        let share = lines / summary.services.len().max(1);
        let mut by_service: Vec<(String, Vec<TimeseriesRow>)> =
            summary.services.keys().map(|n| (n.clone(), Vec::with_capacity(share))).collect();
        for_each_csv(ts, |w: TimeseriesRow| {
            if let Some(i) = summary.services.get_index_of(&w.service) {
                by_service[i].1.push(w);
            }
        })
        .map_err(|why| DataError { file: "timeseries.csv".into(), why })?;
        let latency = match file("latency.hdr") {
            Some(b) => {
                Some(crate::report::read_latency_hdr(b).map_err(|why| DataError { file: "latency.hdr".into(), why })?)
            }
            None => None,
        };
        let events = match file("events.jsonl") {
            Some(b) => from_jsonl(b).map_err(|why| DataError { file: "events.jsonl".into(), why })?,
            None => Vec::new(),
        };
        Ok(RunData {
            client: csv_rows("client.csv", file("client.csv"))?,
            slo_rows: csv_rows("slo.csv", file("slo.csv"))?,
            events,
            audio: csv_rows("audio.csv", file("audio.csv"))?,
            summary,
            by_service,
            latency,
        })
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
