//! What the HTML report of a run is drawn from: the run directory's files, read back (so that `ag06-lab
//! report DIR` renders the same page as the run did).

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

/// A JSON object read in file order (summary.json keeps services in scenario order).
#[derive(Debug, Clone, Default)]
pub struct InOrder<T>(pub Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for InOrder<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = InOrder<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = m.next_entry()? {
                    v.push((k, x));
                }
                Ok(InOrder(v))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// `summary.json`, the parts the report shows.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Summary {
    pub scenario: String,
    #[serde(default)]
    pub scenario_file: String,
    pub seed: u64,
    pub entry: String,
    pub mode: String,
    pub simulated_s: f64,
    pub wall_s: f64,
    pub verdict: String,
    pub ended: String,
    #[serde(default)]
    pub window_s: Option<f64>,
    pub requests: Requests,
    pub latency_ms: Latency,
    pub services: InOrder<Service>,
    pub slos: Vec<Slo>,
    pub faults: Vec<Fault>,
    #[serde(default)]
    pub hypothesis: Option<Hypothesis>,
    #[serde(default)]
    pub stress: Option<Stress>,
    #[serde(default)]
    pub audio: Option<Audio>,
    #[serde(default)]
    pub live: Option<Live>,
}

/// Live figures of the interface.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Live {
    pub host: String,
    pub device: String,
    pub callbacks: u64,
    pub xruns: u64,
    pub input_underruns: u64,
    pub stream_errors: u64,
    pub callback_interval_ms: Spread,
    pub jitter_ms: Spread,
    pub dsp_load: Spread,
}

/// p50, p99, max.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Spread {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// End-to-end counts.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Requests {
    pub total: u64,
    pub ok: u64,
    pub failed: u64,
    pub timed_out: u64,
    pub rejected: u64,
    pub unfinished: u64,
    pub dropped: u64,
}

/// Latency figures [ms].
#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[allow(missing_docs)]
pub struct Latency {
    #[serde(default)]
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// One service.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Service {
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    pub timed_out: u64,
    pub rejected: u64,
    pub latency_ms: Latency,
    #[serde(default)]
    pub latency_buckets: Vec<Bucket>,
    pub utilization: f64,
    pub queue_depth: f64,
    pub crashes: u64,
    pub restarts: u64,
    pub downtime_s: f64,
    pub breaker_opens: u64,
    pub rejected_by_breaker: u64,
    pub rejected_by_bulkhead: u64,
    pub retries: u64,
    pub retries_denied: u64,
    pub fallbacks: u64,
    pub rate_limited: u64,
    pub scale_ups: u64,
    pub scale_downs: u64,
    pub workers: f64,
    #[serde(default)]
    pub config: Option<Config>,
}

/// A response-time bucket.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Bucket {
    pub le_ms: Option<f64>,
    pub count: u64,
}

/// A service's configuration.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Config {
    pub kind: String,
    pub workers: u32,
    pub queue: u32,
    pub timeout_ms: Option<f64>,
    pub calls: Vec<String>,
    pub optional: bool,
    pub breaker: Option<Breaker>,
    pub retry_max_attempts: Option<u32>,
    pub retry_budget: bool,
    pub bulkhead_max_concurrent: Option<u32>,
    pub autoscale_workers: Option<[u32; 2]>,
}

/// A breaker's configuration.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Breaker {
    pub window: String,
    pub window_size: f64,
    pub minimum_calls: u32,
    pub failure_rate_threshold: f64,
}

/// One objective.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Slo {
    pub name: String,
    pub service: String,
    pub sli: String,
    pub threshold_ms: Option<f64>,
    pub objective: f64,
    pub achieved: Option<f64>,
    pub good: u64,
    pub total: u64,
    pub met: bool,
    #[serde(default)]
    pub budget: Option<Budget>,
    #[serde(default)]
    pub alerts: Vec<Alert>,
    #[serde(default)]
    pub paged: bool,
}

/// An error budget.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Budget {
    pub period_days: f64,
    pub allowed_bad: f64,
    pub bad: u64,
    pub consumed: Option<f64>,
    pub consumed_of_period: Option<f64>,
}

/// A burn-rate alert that fired.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Alert {
    pub severity: String,
    pub long_s: f64,
    pub short_s: f64,
    pub burn_rate: f64,
    pub burn_rate_at_fire: f64,
    pub fired_at_s: f64,
    pub resolved_at_s: Option<f64>,
}

/// An injected fault.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Fault {
    pub name: String,
    pub kind: String,
    pub target: String,
    pub detail: String,
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    pub recovered_after_s: Option<f64>,
}

/// The steady-state hypothesis.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Hypothesis {
    pub result: String,
    pub phases: Vec<Phase>,
    pub probes: Vec<Probe>,
}

/// A phase of the experiment.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Phase {
    pub name: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// A probe and its verdict per phase.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Probe {
    pub name: String,
    pub target: String,
    pub metric: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub phases: Vec<PhaseCheck>,
}

/// A probe in a phase.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct PhaseCheck {
    pub phase: String,
    pub value: Option<f64>,
    pub windows: usize,
    pub ok: bool,
}

/// A stress test.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Stress {
    pub steps: Vec<Step>,
    pub breaking_point_per_s: Option<f64>,
    pub stopped_at_s: Option<f64>,
}

/// A stress step.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Step {
    pub rate_per_s: f64,
    pub requests: u64,
    pub error_rate: f64,
    pub p99_ms: f64,
    pub met: bool,
}

/// The audio path's figures.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Audio {
    pub model: String,
    pub sample_rate_hz: u32,
    pub buffer_frames: u32,
    pub period_ms: f64,
    pub periods: u64,
    pub xruns: u64,
    pub missing: u64,
    pub dropouts: u64,
    pub max_dropout_ms: f64,
    pub clipped_samples: u64,
    pub output_lufs: Option<f64>,
    pub dsp_load_mean: f64,
    pub dsp_load_max: f64,
    pub restarts: u64,
    pub downtime_s: f64,
}

/// A row of `timeseries.csv`.
#[derive(Debug, Deserialize, Clone)]
#[allow(missing_docs)]
pub struct WindowRow {
    pub t_s: f64,
    pub service: String,
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    pub timed_out: u64,
    pub rejected: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub utilization: f64,
    pub queue_depth: f64,
    pub workers: f64,
}

/// A row of `client.csv`.
#[derive(Debug, Deserialize, Clone)]
#[allow(missing_docs)]
pub struct ClientRow {
    pub t_s: f64,
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    pub timed_out: u64,
    pub rejected: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// A row of `slo.csv`.
#[derive(Debug, Deserialize, Clone)]
#[allow(missing_docs)]
pub struct SloRow {
    pub t_s: f64,
    pub slo: String,
    pub good: u64,
    pub total: u64,
}

/// A row of `events.csv`.
#[derive(Debug, Deserialize, Clone)]
#[allow(missing_docs)]
pub struct EventRow {
    pub t_s: f64,
    pub kind: String,
    pub target: String,
    pub detail: String,
}

/// A row of `audio.csv`.
#[derive(Debug, Deserialize, Clone)]
#[allow(missing_docs)]
pub struct AudioRow {
    pub t_s: f64,
    pub channel: String,
    pub peak_dbfs: Option<f64>,
    pub rms_dbfs: Option<f64>,
    pub clipped: u64,
    pub xruns: u64,
    pub dsp_load: Option<f64>,
    pub missing: u64,
    pub zero_blocks: u64,
}

/// Everything the report of one run is drawn from.
#[derive(Debug)]
pub struct RunData {
    /// summary.json.
    pub summary: Summary,
    /// timeseries.csv.
    pub windows: Vec<WindowRow>,
    /// timeseries.csv rows by service (scenario order).
    pub by_service: Vec<(String, Vec<WindowRow>)>,
    /// client.csv (empty for a run directory written before it existed).
    pub client: Vec<ClientRow>,
    /// slo.csv.
    pub slo_rows: Vec<SloRow>,
    /// events.csv.
    pub events: Vec<EventRow>,
    /// audio.csv (empty without a device).
    pub audio: Vec<AudioRow>,
    /// latency.hdr, decoded.
    pub latency: Option<hdrhistogram::Histogram<u64>>,
}

/// A file of the run that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {why}")]
pub struct DataError {
    /// The file.
    pub file: String,
    /// What was wrong.
    pub why: String,
}

fn csv_rows<T: for<'de> Deserialize<'de>>(name: &str, bytes: Option<&[u8]>) -> Result<Vec<T>, DataError> {
    let Some(bytes) = bytes else { return Ok(Vec::new()) };
    let mut rdr = csv::Reader::from_reader(bytes);
    rdr.deserialize()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| DataError { file: name.into(), why: format!("row {}: {e}", i + 2) }))
        .collect()
}

impl RunData {
    /// Reads the run's files through `file` (name to contents; `None` when missing). `summary.json` is
    /// required; the CSVs that a run without a device or an older version did not write may be missing.
    pub fn from_files<'a>(file: impl Fn(&str) -> Option<&'a [u8]>) -> Result<RunData, DataError> {
        let bytes = file("summary.json").ok_or(DataError { file: "summary.json".into(), why: "missing".into() })?;
        let summary: Summary =
            serde_json::from_slice(bytes).map_err(|e| DataError { file: "summary.json".into(), why: e.to_string() })?;
        let windows: Vec<WindowRow> = csv_rows("timeseries.csv", file("timeseries.csv"))?;
        let mut by_service: Vec<(String, Vec<WindowRow>)> =
            summary.services.0.iter().map(|(n, _)| (n.clone(), Vec::new())).collect();
        let index: BTreeMap<&str, usize> =
            summary.services.0.iter().enumerate().map(|(i, (n, _))| (n.as_str(), i)).collect();
        for w in &windows {
            if let Some(&i) = index.get(w.service.as_str()) {
                by_service[i].1.push(w.clone());
            }
        }
        let latency = match file("latency.hdr") {
            Some(b) => {
                Some(crate::report::read_latency_hdr(b).map_err(|why| DataError { file: "latency.hdr".into(), why })?)
            }
            None => None,
        };
        Ok(RunData {
            client: csv_rows("client.csv", file("client.csv"))?,
            slo_rows: csv_rows("slo.csv", file("slo.csv"))?,
            events: csv_rows("events.csv", file("events.csv"))?,
            audio: csv_rows("audio.csv", file("audio.csv"))?,
            summary,
            windows,
            by_service,
            latency,
        })
    }

    /// The metrics window [s] (from the summary, else from the rows).
    pub fn window_s(&self) -> f64 {
        self.summary
            .window_s
            .or_else(|| {
                let first = self.by_service.first()?.1.as_slice();
                (first.len() > 1).then(|| first[1].t_s - first[0].t_s)
            })
            .unwrap_or(5.0)
    }

    /// Fault windows `(start, end, name)` that happened.
    pub fn fault_spans(&self) -> Vec<(f64, f64, &str)> {
        self.summary
            .faults
            .iter()
            .filter_map(|f| Some((f.start_s?, f.end_s.unwrap_or(self.summary.simulated_s), f.name.as_str())))
            .collect()
    }

    /// The faults overlapping `[a, b)`, by name.
    pub fn faults_during(&self, a: f64, b: f64) -> Vec<&str> {
        self.fault_spans().into_iter().filter(|(s, e, _)| *s < b && *e > a).map(|(_, _, n)| n).collect()
    }
}
