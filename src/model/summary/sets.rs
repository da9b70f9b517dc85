//! The closed sets of `summary.json`: verdict, mode, SLI, fault kind, severity and the rest, each
//! with its names in one place.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::closed_set;

closed_set! {
    /// Pass or fail.
    pub enum Verdict {
        /// Every objective held (and the hypothesis, if any, completed).
        Pass = "pass",
        /// An objective failed, the hypothesis deviated or the run was aborted.
        Fail = "fail",
    }
}

closed_set! {
    /// The clock a run followed.
    pub enum Mode {
        /// Virtual time, as fast as the CPU allows.
        Simulated = "simulated",
        /// Real time, the device on a real interface.
        Live = "live",
    }
}

closed_set! {
    /// What an objective measures.
    pub enum Sli {
        /// ok / requests of a service.
        Availability = "availability",
        /// Successes within a threshold / requests.
        Latency = "latency",
        /// Device periods on time / periods.
        AudioAvailability = "audio-availability",
        /// Device xruns per hour (lower is better).
        XrunsPerHour = "xruns-per-hour",
        /// The longest dropout [ms] (lower is better).
        MaxDropout = "max-dropout",
    }
}

impl Sli {
    /// Whether a lower achieved value is better (a rate or a duration, not a ratio).
    pub fn lower_is_better(self) -> bool {
        matches!(self, Sli::XrunsPerHour | Sli::MaxDropout)
    }
}

closed_set! {
    /// Fault kinds: the names of `[[chaos]]` `kind`, of `summary.json` `faults[].kind` and of fault events.
    pub enum FaultKind {
        /// Crash the service actor: in-flight and queued requests fail, arrivals fail fast while it is
        /// down, its supervisor restarts it after `for` (default: the service's `restart_delay`).
        Kill = "kill",
        /// Add `add` to every request's processing time while active.
        Latency = "latency",
        /// Fail requests with probability `rate` while active (on top of the service's own `error_rate`).
        Errors = "errors",
        /// Stop the service normally (a graceful shutdown: in-flight requests fail as with kill).
        /// Permanent services are restarted after `for`; transient and temporary ones stay down.
        Stop = "stop",
        /// A bug: the service's handler panics when it next starts a request. The supervisor handles the
        /// crash like a kill (downtime: the service's `restart_delay`).
        Panic = "panic",
        /// Device: USB unplugged for `for`; its supervisor reopens the stream afterwards.
        DeviceDisconnect = "device-disconnect",
        /// Device: each period is an xrun with probability `rate`.
        XrunStorm = "xrun-storm",
        /// Device: every block's processing takes `add` longer. Service: processing takes `factor` times
        /// longer.
        CpuStall = "cpu-stall",
        /// Device: the host runs at `host_rate_hz` while the device runs at its own rate.
        SampleRateMismatch = "sample-rate-mismatch",
        /// Device: its clock runs `ppm` parts per million fast (or slow, if negative).
        ClockDrift = "clock-drift",
        /// Device: the computer captures bit-exact zeros (denied permission, wrong device).
        Silence = "silence",
        /// The service stops answering: it holds its workers and every message waits until the fault ends.
        Hang = "hang",
        /// Calls from the target to the `to` services (and their answers) are lost: callers time out.
        Partition = "partition",
        /// The load generator's arrival rate is multiplied by `multiplier` (target = "load").
        LoadSpike = "load-spike",
        /// Device: `gain_db` more input gain: the converters clip.
        Clipping = "clipping",
    }
}

impl FaultKind {
    /// Whether the kind acts on the audio device only.
    pub fn device_only(self) -> bool {
        matches!(
            self,
            FaultKind::DeviceDisconnect
                | FaultKind::XrunStorm
                | FaultKind::SampleRateMismatch
                | FaultKind::ClockDrift
                | FaultKind::Silence
                | FaultKind::Clipping
        )
    }

    /// Whether live mode can inject it (a real interface's xruns, rate and clock are the hardware's).
    pub fn runs_live(self) -> bool {
        !matches!(self, FaultKind::XrunStorm | FaultKind::SampleRateMismatch | FaultKind::ClockDrift)
    }
}

closed_set! {
    /// How loudly a burn-rate alert calls.
    pub enum Severity {
        /// Wake someone up.
        Page = "page",
        /// Look at it tomorrow.
        Ticket = "ticket",
    }
}

closed_set! {
    /// What a health probe checks, and what its failure does (Kubernetes' container probes).
    pub enum ProbeKind {
        /// The service is up and answers (answered by the process itself); failing restarts it.
        Liveness = "liveness",
        /// The service would serve a request (the probe waits in its queue); failing takes it out of
        /// rotation until it passes again, never restarts it.
        Readiness = "readiness",
        /// The service has started; until it passes once after each (re)start the other probes are held
        /// off; failing restarts it.
        Startup = "startup",
    }
}

closed_set! {
    /// How a consumer group divides its partitions among its members (Kafka's
    /// `partition.assignment.strategy`).
    pub enum Assignor {
        /// Consecutive ranges, the first members one more (Kafka's default `RangeAssignor`); eager
        /// rebalances.
        Range = "range",
        /// One by one in turn (`RoundRobinAssignor`); eager rebalances.
        RoundRobin = "round-robin",
        /// Balanced, keeping current owners (`CooperativeStickyAssignor`); cooperative rebalances: only
        /// the partitions that move pause.
        CooperativeSticky = "cooperative-sticky",
    }
}

impl Default for Assignor {
    /// Kafka's default.
    fn default() -> Self {
        Assignor::Range
    }
}

closed_set! {
    /// Why a consumer group rebalanced.
    pub enum RebalanceCause {
        /// A member joined.
        Joined = "joined",
        /// A member rejoined after a restart (its old positions are gone).
        Rejoined = "rejoined",
        /// A member left the group (a clean stop).
        Left = "left",
        /// A member stopped heartbeating for the session timeout (a crash).
        SessionTimeout = "session-timeout",
        /// A partition that had to move was still owned: a follow-up rebalance.
        FollowUp = "follow-up",
    }
}

closed_set! {
    /// What an autoscaler's utilisation measures.
    pub enum ScaleMetric {
        /// CPU: the share of time the workers spend in their own processing (a worker waiting for a
        /// dependency uses no CPU), Kubernetes' default resource metric.
        Cpu = "cpu",
        /// Concurrency: the share of workers held by a request, processing or waiting for a dependency.
        Concurrency = "concurrency",
    }
}

closed_set! {
    /// Overall health of the checked components.
    pub enum Status {
        /// At least 80% of the checks pass.
        Healthy = "healthy",
        /// At least 50%.
        Degraded = "degraded",
        /// At least 20%.
        Unhealthy = "unhealthy",
        /// Fewer.
        Critical = "critical",
    }
}

closed_set! {
    /// The outcome of a steady-state hypothesis.
    pub enum HypothesisResult {
        /// Every probe held in every phase.
        Completed = "completed",
        /// A probe was out of tolerance in a phase.
        Deviated = "deviated",
        /// The run was aborted (`abort_after`, or the root supervisor gave up).
        Aborted = "aborted",
    }
}

closed_set! {
    /// What a scenario entry is.
    pub enum ServiceKind {
        /// A service with workers and a queue.
        Service = "service",
        /// An event bus (partitions, consumer groups).
        EventBus = "event-bus",
    }
}

closed_set! {
    /// A breaker's sliding window.
    pub enum BreakerWindow {
        /// The last N calls.
        Count = "count",
        /// The calls of the last N seconds.
        Time = "time",
    }
}

closed_set! {
    /// The audio interface.
    #[derive(Default)]
    pub enum DeviceModel {
        /// Yamaha AG06 (MK1): 6 channels.
        Ag06 = "ag06",
        /// Yamaha AG06MK2: 6 channels. The default.
        #[default]
        Ag06mk2 = "ag06mk2",
        /// Yamaha AG03: 3 channels (CH1 mic, CH2/3 stereo line).
        Ag03 = "ag03",
    }
}

closed_set! {
    /// What a hypothesis probe measures.
    pub enum ProbeMetric {
        /// ok / requests.
        Availability = "availability",
        /// 1 − availability.
        ErrorRate = "error_rate",
        /// Median latency [ms].
        P50Ms = "p50_ms",
        /// 99th percentile [ms].
        P99Ms = "p99_ms",
        /// Maximum [ms].
        MaxMs = "max_ms",
        /// Requests per second.
        ThroughputPerS = "throughput_per_s",
        /// Busy worker share.
        Utilization = "utilization",
        /// Mean waiting requests.
        QueueDepth = "queue_depth",
        /// Device periods on time / periods.
        AudioAvailability = "audio_availability",
        /// Device xruns per hour.
        XrunsPerHour = "xruns_per_hour",
    }
}

/// How a run ended; written as `"drained"`, `"horizon"`, `"interrupted"` or `"aborted: <reason>"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// All work done.
    Drained,
    /// Stopped at arrivals end + drain with work pending.
    Horizon,
    /// Stopped early: the reason.
    Aborted(String),
    /// Stopped where it was by the user (Ctrl-C, SIGTERM): the results cover the run up to then.
    Interrupted,
}

const ABORTED: &str = "aborted: ";

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Drained => f.write_str("drained"),
            Ended::Horizon => f.write_str("horizon"),
            Ended::Aborted(why) => write!(f, "{ABORTED}{why}"),
            Ended::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl Serialize for Ended {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ended {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "drained" => Ok(Ended::Drained),
            "horizon" => Ok(Ended::Horizon),
            "interrupted" => Ok(Ended::Interrupted),
            _ => match s.strip_prefix(ABORTED) {
                Some(why) => Ok(Ended::Aborted(why.to_string())),
                None => Err(serde::de::Error::custom(format!(
                    "unknown ending `{s}` (expected drained, horizon, interrupted or \"aborted: <reason>\")"
                ))),
            },
        }
    }
}

impl JsonSchema for Ended {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Ended".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "How the run ended: \"drained\" (all work done), \"horizon\" (stopped at arrivals end + drain with work pending), \"interrupted\" (stopped where it was by Ctrl-C or SIGTERM: the results cover the run up to then) or \"aborted: <reason>\".",
            "type": "string",
            "pattern": "^(drained|horizon|interrupted|aborted: .*)$"
        })
    }
}

/// A phase of a chaos experiment; written as `"steady"`, `"baseline"`, `"fault: <name>"` or `"recovery"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhaseName {
    /// A run without faults: one phase.
    Steady,
    /// Before the first fault.
    Baseline,
    /// While the named fault is active.
    Fault(String),
    /// After the last fault and the settle time.
    Recovery,
}

const FAULT_PHASE: &str = "fault: ";

impl std::fmt::Display for PhaseName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PhaseName::Steady => f.write_str("steady"),
            PhaseName::Baseline => f.write_str("baseline"),
            PhaseName::Fault(name) => write!(f, "{FAULT_PHASE}{name}"),
            PhaseName::Recovery => f.write_str("recovery"),
        }
    }
}

impl Serialize for PhaseName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PhaseName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "steady" => Ok(PhaseName::Steady),
            "baseline" => Ok(PhaseName::Baseline),
            "recovery" => Ok(PhaseName::Recovery),
            _ => match s.strip_prefix(FAULT_PHASE) {
                Some(name) => Ok(PhaseName::Fault(name.to_string())),
                None => Err(serde::de::Error::custom(format!("unknown phase `{s}`"))),
            },
        }
    }
}

impl JsonSchema for PhaseName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PhaseName".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "\"steady\" (no faults), \"baseline\", \"fault: <name>\" or \"recovery\".",
            "type": "string",
            "pattern": "^(steady|baseline|recovery|fault: .*)$"
        })
    }
}
