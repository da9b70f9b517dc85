//! `summary.json`: the verdict and headline figures of one run.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod audio;
mod sets;

pub use audio::{AudioSummary, BackendInfo, ChannelSummary, LiveReport, Spread};
pub use sets::*;

/// The summary of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Schema version.
    pub schema: u32,
    /// Scenario name.
    pub scenario: String,
    /// The scenario file, as given on the command line (what `ag06-lab run` needs to reproduce the run).
    pub scenario_file: String,
    /// The metrics window [s] (rows of `timeseries.csv`, `client.csv`, `slo.csv`).
    pub window_s: f64,
    /// Seed used.
    pub seed: u64,
    /// The entry service (where the load goes).
    pub entry: String,
    /// The clock the run followed.
    pub mode: Mode,
    /// Simulated seconds covered by the run.
    pub simulated_s: f64,
    /// Wall-clock seconds the run took (the only field that differs between same-seed runs).
    pub wall_s: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// How the run ended.
    pub ended: Ended,
    /// End-to-end outcomes seen by the load generator.
    pub requests: Requests,
    /// End-to-end latency of successful requests, from their scheduled arrival [ms].
    pub latency_ms: LatencySummary,
    /// Server-side figures per service, in scenario order.
    pub services: IndexMap<String, ServiceSummary>,
    /// Objectives.
    pub slos: Vec<SloResult>,
    /// Injected faults.
    pub faults: Vec<FaultSummary>,
    /// Health checks (`status` is null when no service has a health check).
    pub health: HealthReport,
    /// Event buses by name: messages produced, and per consumer group consumed, redelivered, lost
    /// (must be 0) and pending.
    pub event_buses: IndexMap<String, BusReport>,
    /// The audio path (absent without a device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioSummary>,
    /// The steady-state hypothesis (absent without probes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypothesis: Option<HypothesisSummary>,
    /// The stress test (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stress: Option<StressSummary>,
    /// Live mode: the real interface's figures (callbacks, xruns, jitter, DSP load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveReport>,
    /// Engine work: distinct instants visited and messages delivered.
    pub engine: EngineSummary,
    /// The scenario's `[gate]`: how `compare` judges this run as a candidate (absent when not set).
    #[serde(default, skip_serializing_if = "super::compare::Gate::is_default")]
    pub gate: super::compare::Gate,
}

impl Summary {
    /// The JSON text (pretty, with a final newline).
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("invariant: the summary serializes");
        v.push(b'\n');
        v
    }

    /// Reads a summary written by [`Summary::to_json`].
    pub fn from_json(bytes: &[u8]) -> Result<Summary, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Fault windows `(start, end, name)` that happened (a fault still active at the end ends there).
    pub fn fault_spans(&self) -> Vec<(f64, f64, &str)> {
        self.faults
            .iter()
            .filter_map(|f| Some((f.start_s?, f.end_s.unwrap_or(self.simulated_s), f.name.as_str())))
            .collect()
    }
}

/// Outcome counters. `total = ok + failed + timed_out + rejected`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    /// Requests whose outcome was decided.
    #[serde(rename = "total")]
    pub requests: u64,
    /// Succeeded in time.
    pub ok: u64,
    /// Failed (an error, a failed or timed-out dependency, a crash, a fast failure while down).
    pub failed: u64,
    /// The caller gave up before the answer (or the run ended first).
    pub timed_out: u64,
    /// Refused at the door: the queue was full.
    pub rejected: u64,
}

/// Latency figures [ms].
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencySummary {
    /// Exact minimum.
    pub min: f64,
    /// Exact mean.
    pub mean: f64,
    /// Median (histogram resolution: 0.1%).
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Exact maximum.
    pub max: f64,
}

/// End-to-end request counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Requests {
    /// Counts (`total = ok + failed + timed_out + rejected`).
    #[serde(flatten)]
    pub counts: Counts,
    /// Of `timed_out`: requests with no answer when the run ended.
    pub unfinished: u64,
    /// Arrivals that found no free virtual user (not counted in `total`).
    pub dropped: u64,
}

/// Server-side figures of one service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceSummary {
    /// Requests received whose outcome was decided.
    pub requests: u64,
    /// Answered successfully before the caller's deadline.
    pub ok: u64,
    /// Failed.
    pub failed: u64,
    /// Answered at or after the caller's deadline, or never.
    pub timed_out: u64,
    /// Refused (queue full).
    pub rejected: u64,
    /// Latency of successes, arrival at the service to answer [ms].
    pub latency_ms: LatencySummary,
    /// Queue wait of every request that started processing, arrival at the service to the start [ms].
    #[serde(default)]
    pub queue_wait_ms: LatencySummary,
    /// Successes by latency: one bucket per edge of [`BUCKET_EDGES_MS`] (latency up to and including the
    /// edge, above the previous one) and a last one above the highest edge (`le_ms` null).
    pub latency_buckets: Vec<Bucket>,
    /// Busy worker-seconds / worker-seconds.
    pub utilization: f64,
    /// Time-averaged queue length.
    pub queue_depth: f64,
    /// Crashes.
    pub crashes: u64,
    /// Restarts by the supervisor.
    pub restarts: u64,
    /// Time spent down [s].
    pub downtime_s: f64,
    /// Mean time to recovery: downtime per restart [s] (`null` without restarts).
    pub mttr_s: Option<f64>,
    /// Calls its callers sent to this service, retries included (attempts rejected by a caller's breaker
    /// or bulkhead are not sent: calls + retries = call_attempts + rejected_by_breaker +
    /// rejected_by_bulkhead).
    #[serde(default)]
    pub call_attempts: u64,
    /// Times the breakers of this service's callers opened.
    pub breaker_opens: u64,
    /// Calls to this service its callers' breakers rejected (never sent).
    pub rejected_by_breaker: u64,
    /// Calls to this service its callers' bulkheads rejected (never sent).
    pub rejected_by_bulkhead: u64,
    /// Retries of calls to this service by its callers.
    pub retries: u64,
    /// Retries of calls to this service that the retry budget refused.
    pub retries_denied: u64,
    /// Failed calls to this service its callers carried on without (it is optional).
    pub fallbacks: u64,
    /// Requests refused by this service's rate limiter (included in `rejected`).
    pub rate_limited: u64,
    /// Autoscaler scale-ups that took effect.
    pub scale_ups: u64,
    /// Autoscaler scale-downs.
    pub scale_downs: u64,
    /// Workers at the end of the run.
    pub workers: f64,
    /// The service's configuration as the scenario set it (what the report's findings reason about).
    pub config: ServiceConfig,
}

/// Upper edges [ms] of the response-time buckets of every service.
pub const BUCKET_EDGES_MS: [f64; 6] = [10.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

/// One response-time bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bucket {
    /// Upper edge [ms] (`null`: above the highest edge).
    pub le_ms: Option<f64>,
    /// Successes in the bucket.
    pub count: u64,
}

/// The configuration of one service, as run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceConfig {
    /// What it is.
    pub kind: ServiceKind,
    /// Workers at the start.
    pub workers: u32,
    /// Maximum waiting requests.
    pub queue: u32,
    /// How long callers wait [ms] (`null`: forever).
    pub timeout_ms: Option<f64>,
    /// Dependencies, in call order.
    pub calls: Vec<String>,
    /// Callers carry on without it.
    pub optional: bool,
    /// The callers' circuit breaker.
    pub breaker: Option<BreakerSummary>,
    /// The callers' retry policy: attempts in all (`null`: no retries).
    pub retry_max_attempts: Option<u32>,
    /// Whether the retries have a budget.
    pub retry_budget: bool,
    /// The callers' bulkhead: concurrent calls (`null`: none).
    pub bulkhead_max_concurrent: Option<u32>,
    /// Autoscaler bounds `[min, max]` workers (`null`: not autoscaled).
    pub autoscale_workers: Option<[u32; 2]>,
}

/// A breaker's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BreakerSummary {
    /// Its sliding window.
    pub window: BreakerWindow,
    /// Calls (count window) or seconds (time window).
    pub window_size: f64,
    /// Outcomes needed before rates are evaluated.
    pub minimum_calls: u32,
    /// Failure rate [%] that opens it.
    pub failure_rate_threshold: f64,
}

/// The result of one objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SloResult {
    /// Name.
    pub name: String,
    /// The service, or `device`.
    pub service: String,
    /// What it measures.
    pub sli: Sli,
    /// Latency threshold [ms] (latency and max-dropout objectives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_ms: Option<f64>,
    /// Target fraction (xruns-per-hour: the highest rate).
    pub objective: f64,
    /// Achieved fraction (`null` when the service saw no requests); for xruns-per-hour the rate, for
    /// max-dropout the longest dropout [ms].
    pub achieved: Option<f64>,
    /// Good events (successes, or successes within the threshold).
    pub good: u64,
    /// All requests.
    pub total: u64,
    /// Whether `achieved >= objective` (xruns-per-hour: `achieved <= objective`; max-dropout:
    /// `achieved <= threshold_ms`).
    pub met: bool,
    /// Error budget over the SLO period (not for xruns-per-hour and max-dropout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Burn-rate alerts that fired.
    pub alerts: Vec<AlertSummary>,
    /// Whether a page-severity alert fired.
    pub paged: bool,
}

/// Error-budget figures of an objective over a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Budget {
    /// The SLO period [days].
    pub period_days: f64,
    /// Bad events the run was allowed: (1 − objective) × its events.
    pub allowed_bad: f64,
    /// Bad events in the run.
    pub bad: u64,
    /// bad / allowed_bad: the share of the budget the run burned at its own traffic.
    pub consumed: Option<f64>,
    /// The share of a whole period's budget the run burned, if the period's traffic were like the run's:
    /// consumed × run length / period.
    pub consumed_of_period: Option<f64>,
}

/// A burn-rate alert that fired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertSummary {
    /// Severity.
    pub severity: Severity,
    /// Long window [s].
    pub long_s: f64,
    /// Short window [s].
    pub short_s: f64,
    /// Threshold.
    pub burn_rate: f64,
    /// Long-window burn rate when it fired.
    pub burn_rate_at_fire: f64,
    /// When it fired [s].
    pub fired_at_s: f64,
    /// When it resolved [s] (`null`: still firing at the end).
    pub resolved_at_s: Option<f64>,
}

/// One injected fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaultSummary {
    /// Label (the `[[chaos]]` name; `#N` is appended to the occurrences of a repeated or multi-target
    /// fault).
    pub name: String,
    /// The `[[chaos]]` entry's name (the same for every occurrence and target of that entry; empty in a
    /// summary written before it existed: see [`FaultSummary::entry`]).
    #[serde(default)]
    pub chaos: String,
    /// Kind.
    pub kind: FaultKind,
    /// Target.
    pub target: String,
    /// Parameters in words.
    pub detail: String,
    /// Start [s] (`null`: the run ended first).
    pub start_s: Option<f64>,
    /// End [s] (`null`: still active at the end).
    pub end_s: Option<f64>,
    /// From the fault's start until its target next answered a request successfully after the fault
    /// ended (for a kill: after the restart) [s]; `null` if it never did.
    pub recovered_after_s: Option<f64>,
}

impl FaultSummary {
    /// The `[[chaos]]` entry it comes from (its own name in a summary written before `chaos` existed).
    pub fn entry(&self) -> &str {
        if self.chaos.is_empty() { &self.name } else { &self.chaos }
    }
}

/// Health figures at the end of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealthReport {
    /// Overall status at the end (`null` without health checks).
    pub status: Option<Status>,
    /// Components checked.
    pub components: usize,
    /// Probes sent.
    pub probes: u64,
    /// Probes that failed.
    pub failed_probes: u64,
    /// Checks that failed.
    pub checks_failed: u64,
    /// Remediations asked for.
    pub remediations: u64,
    /// Simulated seconds spent degraded.
    pub degraded_s: f64,
    /// Simulated seconds unhealthy.
    pub unhealthy_s: f64,
    /// Simulated seconds critical.
    pub critical_s: f64,
}

/// Figures of one consumer group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GroupReport {
    /// Group name.
    pub group: String,
    /// Its member services, in scenario order.
    #[serde(default)]
    pub members: Vec<String>,
    /// How it divides its partitions.
    #[serde(default)]
    pub assignor: Assignor,
    /// Rebalances (joins, leaves, session timeouts, rejoins after restarts).
    #[serde(default)]
    pub rebalances: u64,
    /// Messages processed successfully at least once.
    pub consumed: u64,
    /// Extra successful processings of messages already processed (after a crash or a rebalance).
    pub redelivered: u64,
    /// Messages that failed `max_attempts` times and went to the dead-letter bus.
    #[serde(default)]
    pub dead_lettered: u64,
    /// Messages below the committed position that were never processed nor dead-lettered: 0 with at
    /// least once.
    pub lost: u64,
    /// Messages not processed yet when the run ended.
    pub pending: u64,
    /// The largest lag (log end offset − committed offset) of a partition, sampled at every window's end.
    #[serde(default)]
    pub max_lag: u64,
}

/// Figures of one event bus.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BusReport {
    /// Messages appended.
    pub produced: u64,
    /// Messages per partition.
    pub partitions: Vec<u64>,
    /// Per consumer group.
    pub groups: Vec<GroupReport>,
}

/// A stress test's steps and breaking point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StressSummary {
    /// Per step, in order.
    pub steps: Vec<StepSummary>,
    /// The highest rate of the steps that met the entry's objectives from the first step on (`null`: not
    /// even the first did).
    pub breaking_point_per_s: Option<f64>,
    /// When the rate stopped rising (`null`: it reached the last step).
    pub stopped_at_s: Option<f64>,
}

/// One step of a stress test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StepSummary {
    /// Arrival rate [1/s].
    pub rate_per_s: f64,
    /// Requests that arrived in the step.
    pub requests: u64,
    /// Their error ratio (failed, timed out, rejected).
    pub error_rate: f64,
    /// Their p99 latency [ms].
    pub p99_ms: f64,
    /// Whether the step met every objective of the entry service and the stop threshold.
    pub met: bool,
}

/// The steady-state hypothesis' verdicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HypothesisSummary {
    /// The outcome.
    pub result: HypothesisResult,
    /// The phases.
    pub phases: Vec<Phase>,
    /// Per probe, per phase.
    pub probes: Vec<ProbeResult>,
}

/// A phase of the experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Phase {
    /// Which phase.
    pub name: PhaseName,
    /// Start [s].
    pub start_s: f64,
    /// End [s].
    pub end_s: f64,
}

/// One probe in one phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseCheck {
    /// The phase.
    pub phase: PhaseName,
    /// The worst window's value (`null`: no data in the phase).
    pub value: Option<f64>,
    /// Windows checked.
    pub windows: usize,
    /// Whether every window was within tolerance.
    pub ok: bool,
}

/// One probe's verdicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeResult {
    /// Probe name.
    pub name: String,
    /// Target name.
    pub target: String,
    /// What it measures.
    pub metric: ProbeMetric,
    /// Lowest tolerated value.
    pub min: Option<f64>,
    /// Highest tolerated value.
    pub max: Option<f64>,
    /// Per phase.
    pub phases: Vec<PhaseCheck>,
}

/// Engine work counters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EngineSummary {
    /// Distinct instants visited.
    pub instants: u64,
    /// Messages delivered.
    pub messages: u64,
}
