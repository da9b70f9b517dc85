//! The scenario file as written (serde + JSON Schema). [`super::validate`] turns it into checked types.
//!
//! Every key here is part of the v1 contract: keys may be added, never renamed. Defaults are stated in the
//! doc comments, which also become the JSON Schema's descriptions (`ag06-lab schema`).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::sim::SimDuration;

pub mod chaos;
mod device;
pub mod explore;
mod service;
pub use chaos::{FaultKind, ModeName, RawChaos};
pub use device::*;
pub use service::*;

/// A duration written as a string: "250ms", "5s", "2m 30s", "1h" (humantime syntax).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dur(#[serde(serialize_with = "ser_dur")] pub SimDuration);

fn ser_dur<S: serde::Serializer>(d: &SimDuration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"250ms\", \"5s\" or \"2m 30s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                humantime::parse_duration(v).map(|d| Dur(d.into())).map_err(|e| {
                    E::custom(format!(
                        "invalid duration \"{v}\": {e} (write e.g. \"250ms\", \"5s\", \"2m 30s\", \"1h\")"
                    ))
                })
            }
        }
        d.deserialize_str(V)
    }
}

impl JsonSchema for Dur {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A duration: a number and a unit (ns, us, ms, s, m, h, d), several allowed, e.g. \"250ms\", \"5s\", \"2m 30s\", \"1h\".",
            "pattern": r"^\s*(\d+(\.\d+)?\s*[a-zA-Zµ]+\s*)+$",
            "examples": ["250ms", "5s", "2m 30s", "1h"]
        })
    }
}

/// A scenario file: topology, load, chaos and objectives.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ag06-lab scenario (format v1)")]
pub struct RawScenario {
    /// Name of the scenario, used for the report directory. Default: the file's stem.
    pub name: Option<String>,
    /// Master seed of every random stream. Default 0; `--seed` overrides it.
    #[serde(default)]
    pub seed: u64,
    /// Simulated length of the arrival process, e.g. "1h". Default: the sum of the load stages'
    /// durations; required when there are no stages.
    pub duration: Option<Dur>,
    /// Metrics window (one timeseries row per window and service). Default "5s".
    pub window: Option<Dur>,
    /// Time allowed after arrivals stop for in-flight work to finish. Default "30s".
    pub drain: Option<Dur>,
    /// The load generator.
    pub load: Option<RawLoad>,
    /// The services, each an actor with a queue and workers.
    #[serde(default)]
    pub services: Vec<RawService>,
    /// Objectives; the run passes when every one is met.
    #[serde(default)]
    pub slo: Vec<RawSlo>,
    /// Faults to inject.
    #[serde(default)]
    pub chaos: Vec<RawChaos>,
    /// The supervision tree: the root and the services subtree.
    pub supervision: Option<RawSupervision>,
    /// The audio path: a Yamaha AG06/AG03 and its mixer. No section: no audio path.
    pub device: Option<RawDevice>,
    /// Phases of the steady-state hypothesis.
    pub experiment: Option<RawExperiment>,
    /// Steady-state probes (Chaos Toolkit), checked before, during and after the faults.
    #[serde(default)]
    pub hypothesis: Vec<RawProbe>,
    /// The release gate: margins, critical figures and weights `compare` judges a candidate with.
    pub gate: Option<crate::model::compare::Gate>,
    /// The fault space `ag06-lab explore` draws schedules from (ignored by `run`).
    pub explore: Option<explore::RawExplore>,
}

/// The experiment's phases.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    /// Length of the baseline phase before the first fault. Default "1m".
    pub baseline: Option<Dur>,
    /// Length of the recovery phase after the last fault. Default "1m".
    pub recovery: Option<Dur>,
    /// Pause between the end of the last fault and the recovery phase (stragglers of the fault finish in
    /// it). Default "0s".
    pub settle: Option<Dur>,
}

/// A probe metric.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MetricName {
    /// ok / requests.
    Availability,
    /// 1 − availability.
    ErrorRate,
    /// Median latency [ms].
    P50Ms,
    /// 99th percentile latency [ms].
    P99Ms,
    /// Maximum latency [ms].
    MaxMs,
    /// Requests per second.
    ThroughputPerS,
    /// Busy worker share.
    Utilization,
    /// Mean waiting requests.
    QueueDepth,
    /// Device periods on time / periods (service = "device").
    AudioAvailability,
    /// Device xruns per hour (service = "device").
    XrunsPerHour,
}

/// A steady-state probe.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProbe {
    /// Name.
    pub name: String,
    /// The service (or "device").
    pub service: String,
    /// What to measure.
    pub metric: MetricName,
    /// Lowest tolerated value.
    pub min: Option<f64>,
    /// Highest tolerated value.
    pub max: Option<f64>,
    /// Stop the run when the probe has been out of tolerance for longer than this (k6 abortOnFail).
    pub abort_after: Option<Dur>,
}

pub use crate::model::summary::DeviceModel;

/// The TO PC switch.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ToPcName {
    /// CH1 left, CH2 right, dry.
    DryCh12,
    /// The mix of the inputs, with DSP, without the computer's playback. The default.
    #[default]
    InputMix,
    /// The inputs plus the computer's playback.
    Loopback,
}

/// Supervision settings per subtree.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSupervision {
    /// The supervisor of every service.
    pub services: Option<RawSupervisor>,
    /// The root supervisor (its children are the subtrees).
    pub root: Option<RawSupervisor>,
    /// The supervisor of the audio device (it reopens the stream after a disconnect).
    pub device: Option<RawSupervisor>,
}

/// A supervisor (Erlang/OTP semantics; defaults are OTP's).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSupervisor {
    /// "one-for-one", "one-for-all" or "rest-for-one". Default "one-for-one".
    pub strategy: Option<StrategyName>,
    /// Restarts allowed within `period`; one more and the supervisor gives up and escalates. Default 1.
    pub intensity: Option<u32>,
    /// Default "5s".
    pub period: Option<Dur>,
    /// Restart delay growing with the restarts in the period (Akka-style). Default: none.
    pub backoff: Option<RawRestartBackoff>,
}

/// Supervision strategy.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyName {
    /// Restart only the child that exited.
    OneForOne,
    /// Restart every child.
    OneForAll,
    /// Restart the child that exited and those started after it.
    RestForOne,
}

/// Restart backoff.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRestartBackoff {
    /// Delay of the first restart in a period.
    pub min: Dur,
    /// Longest delay (it doubles with each restart in the period).
    pub max: Dur,
    /// Randomisation factor 0..1. Default 0.
    pub jitter: Option<f64>,
}

/// Child restart type.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RestartName {
    /// Always restarted. The default.
    #[default]
    Permanent,
    /// Restarted after a crash, not after a normal stop.
    Transient,
    /// Never restarted.
    Temporary,
}

/// How requests arrive.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Arrivals {
    /// A Poisson process (exponential gaps): an open model. The default.
    #[default]
    Poisson,
    /// Evenly spaced arrivals at the current rate.
    Constant,
}

/// The open-model load generator (k6's constant- and ramping-arrival-rate).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLoad {
    /// The service that receives the requests (or give `mix`).
    pub entry: Option<String>,
    /// Arrival process. Default "poisson".
    #[serde(default)]
    pub arrivals: Arrivals,
    /// Arrival rate [requests/s]; with `stages`, the starting rate (may then be 0). Not with
    /// model = "closed" or `stress`.
    pub rate_per_s: Option<f64>,
    /// "open" (arrivals at a rate, the default) or "closed" (`users` each sending a request, waiting for
    /// the answer, thinking, and again).
    #[serde(default)]
    pub model: LoadModel,
    /// Virtual users: the population of a closed model, or the pool an open model's arrivals need (an
    /// arrival finding no free user is dropped, as in k6's arrival-rate executors).
    pub users: Option<u32>,
    /// Think time of a user between an answer and its next request. Default: none.
    pub think_time: Option<RawDist>,
    /// A weighted request mix: each request goes to one of these entries (instead of `entry`).
    #[serde(default)]
    pub mix: Vec<RawMix>,
    /// Stress test: raise the rate step by step until the error ratio of a step exceeds the stop
    /// threshold; the summary reports the breaking point (instead of `rate_per_s` and `stages`).
    pub stress: Option<RawStress>,
    /// Ramping arrival rate: each stage moves linearly from the previous rate to its target over its
    /// duration. After the last stage the last target holds until `duration`.
    #[serde(default)]
    pub stages: Vec<RawStage>,
}

/// Open or closed load model.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LoadModel {
    /// Arrivals at a rate, whatever the system does. The default.
    #[default]
    Open,
    /// A fixed population of users, each waiting for its answer before thinking and asking again.
    Closed,
}

/// One entry of a request mix.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMix {
    /// The service.
    pub entry: String,
    /// Relative weight (> 0).
    pub weight: f64,
}

/// A stress (step) test.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStress {
    /// Rate of the first step [requests/s].
    pub start_per_s: f64,
    /// Added at every step [requests/s].
    pub step_per_s: f64,
    /// Length of a step.
    pub step_duration: Dur,
    /// Highest rate tried. Default: no limit but the scenario's duration.
    pub max_per_s: Option<f64>,
    /// Stop raising once a step's error ratio (failed, timed out or rejected) exceeds this. Default 0.5.
    pub stop_error_rate: Option<f64>,
}

/// One stage of a ramping arrival rate.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    /// Length of the stage.
    pub duration: Dur,
    /// Rate at the end of the stage [requests/s].
    pub target_per_s: f64,
}

/// A distribution of durations, tagged by `dist`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawDist {
    /// Always `value`.
    Constant {
        /// The duration.
        value: Dur,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// Lower bound.
        min: Dur,
        /// Upper bound.
        max: Dur,
    },
    /// Exponential with mean `mean`.
    Exponential {
        /// The mean.
        mean: Dur,
    },
    /// Lognormal with the given median and 99th percentile.
    Lognormal {
        /// The median.
        median: Dur,
        /// The 99th percentile (greater than the median).
        p99: Dur,
    },
    /// Normal with `mean` and `stddev`, truncated at zero (negative draws are redrawn).
    Normal {
        /// Mean of the untruncated normal.
        mean: Dur,
        /// Standard deviation of the untruncated normal.
        stddev: Dur,
    },
    /// The values of a file, drawn by inverse CDF: an HdrHistogram (`.hdr`: as the lab writes
    /// `latency.hdr`, or a histogram log of the HdrHistogram tools, its intervals added up) or samples in a
    /// CSV column (`.csv`). Relative to the scenario file.
    Empirical {
        /// The file.
        file: String,
        /// The CSV column (default: the only one).
        column: Option<String>,
        /// The unit of the values: "ns", "us", "ms" or "s". Default: nanoseconds for a histogram (what
        /// the lab records), and the column name's suffix for a CSV (`latency_ms`: milliseconds).
        unit: Option<TimeUnit>,
    },
}

/// A unit of time for the values of a file.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TimeUnit {
    /// Nanoseconds.
    Ns,
    /// Microseconds.
    Us,
    /// Milliseconds.
    Ms,
    /// Seconds.
    S,
}

impl TimeUnit {
    /// Nanoseconds per unit.
    pub fn ns(self) -> f64 {
        match self {
            TimeUnit::Ns => 1.0,
            TimeUnit::Us => 1e3,
            TimeUnit::Ms => 1e6,
            TimeUnit::S => 1e9,
        }
    }
}

/// Which service level indicator an objective is about.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SliKind {
    /// Successful requests / all requests.
    Availability,
    /// Requests that succeeded within `threshold` / all requests.
    Latency,
    /// Audio periods delivered on time / all periods (service = "device").
    AudioAvailability,
    /// Xruns per simulated hour; `objective` is the maximum (service = "device").
    XrunsPerHour,
    /// The longest dropout must not exceed `threshold` (service = "device").
    MaxDropout,
}

/// A service level objective.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    /// Name, unique among objectives.
    pub name: String,
    /// The service it is about ("device" for the audio indicators).
    pub service: String,
    /// The indicator.
    pub sli: SliKind,
    /// The fraction that must be achieved (0..1), e.g. 0.999; for xruns-per-hour the maximum rate; not
    /// used by max-dropout.
    pub objective: Option<f64>,
    /// Latency threshold (latency), or longest allowed dropout (max-dropout).
    pub threshold: Option<Dur>,
    /// The SLO period of the error budget. Default "30d".
    pub period: Option<Dur>,
    /// Burn-rate alert rules. Default: the SRE workbook's, as shares of the budget: 2% in 1h (short window
    /// 5m) page, 5% in 6h (30m) page, 10% in 3d (6h) ticket; their burn rates follow `period` (30 days:
    /// 14.4, 6, 1). `alerts = []` turns them off.
    pub alerts: Option<Vec<RawAlert>>,
    /// What an alert window sees of the time before the run, until it has elapsed: "none" (only the run
    /// so far) or "good" (good events at the rate seen so far: the run starts from a period that met its
    /// objective). Default "none".
    #[serde(default)]
    pub history: HistoryName,
}

/// What an alert window sees of the time before the run.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum HistoryName {
    /// Only the part of the run it has seen.
    #[default]
    None,
    /// A clean past at the rate seen so far.
    Good,
}

/// A multi-window burn-rate alert rule: a threshold as a burn rate or as the share of the budget that
/// burns within the long window (exactly one of `burn_rate` and `budget_share`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlert {
    /// Long window, e.g. "1h".
    pub long: Dur,
    /// Short window, e.g. "5m".
    pub short: Dur,
    /// Burn-rate threshold, e.g. 14.4.
    pub burn_rate: Option<f64>,
    /// Share of the period's budget (0..1) that burns within `long`, e.g. 0.02: the threshold is
    /// share × period / long.
    pub budget_share: Option<f64>,
    /// "page" or "ticket". Default "page".
    pub severity: Option<SeverityName>,
}

/// Alert severity.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SeverityName {
    /// Wake someone up.
    Page,
    /// Look at it tomorrow.
    Ticket,
}
