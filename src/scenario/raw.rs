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
    /// The service that receives the requests.
    pub entry: String,
    /// Arrival process. Default "poisson".
    #[serde(default)]
    pub arrivals: Arrivals,
    /// Arrival rate [requests/s]; with `stages`, the starting rate (may then be 0).
    pub rate_per_s: f64,
    /// Ramping arrival rate: each stage moves linearly from the previous rate to its target over its
    /// duration. After the last stage the last target holds until `duration`.
    #[serde(default)]
    pub stages: Vec<RawStage>,
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

/// A service: a FIFO queue in front of `workers` identical workers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// Unique name.
    pub name: String,
    /// Number of workers (concurrent requests in processing), at least 1.
    pub workers: u32,
    /// Maximum number of waiting requests; an arrival finding the queue full is rejected. Default 10000.
    pub queue: Option<u32>,
    /// The service's own processing time per request.
    pub latency: RawDist,
    /// Probability that a request fails after its processing (0..1). Default 0.
    pub error_rate: Option<f64>,
    /// Services called synchronously, in order, after the service's own processing. The worker stays held
    /// while it waits; a failed call fails the request.
    #[serde(default)]
    pub calls: Vec<String>,
    /// How long a caller (or the load generator, for the entry service) waits for this service before
    /// giving up. The work goes on and keeps its worker busy. Default: callers wait without limit.
    pub timeout: Option<Dur>,
    /// How long the service stays down after a crash before its supervisor restarts it. Default "1s".
    pub restart_delay: Option<Dur>,
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
}

/// Which service level indicator an objective is about.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SliKind {
    /// Successful requests / all requests.
    Availability,
    /// Requests that succeeded within `threshold` / all requests.
    Latency,
}

/// A service level objective.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    /// Name, unique among objectives.
    pub name: String,
    /// The service it is about.
    pub service: String,
    /// The indicator.
    pub sli: SliKind,
    /// The fraction that must be achieved (0..1), e.g. 0.999.
    pub objective: f64,
    /// Latency threshold (latency objectives only).
    pub threshold: Option<Dur>,
}

/// Fault kinds (v1).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Crash the service actor: in-flight and queued requests fail, arrivals fail fast while it is down,
    /// its supervisor restarts it after `for` (default: the service's `restart_delay`).
    Kill,
    /// Add `add` to every request's processing time while active.
    Latency,
    /// Fail requests with probability `rate` while active (on top of the service's own `error_rate`).
    Errors,
}

/// A fault injected at `at` for `for`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChaos {
    /// Optional label for reports. Default "<fault>:<target>".
    pub name: Option<String>,
    /// What to inject.
    pub fault: FaultKind,
    /// The service to inject it into.
    pub target: String,
    /// When it starts (from the start of the run).
    pub at: Dur,
    /// How long it lasts. Required for latency and errors; for kill, how long the service stays down.
    #[serde(rename = "for")]
    pub for_: Option<Dur>,
    /// Added processing time (latency).
    pub add: Option<Dur>,
    /// Failure probability 0..1 (errors).
    pub rate: Option<f64>,
}
